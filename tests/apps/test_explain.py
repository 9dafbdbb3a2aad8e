"""`colo explain node --sim`: a simulated node explained term by term (the cluster side
runs in tests/e2e/test_reclaim_reporting.py)."""

from __future__ import annotations

import pytest

from colo.apps.explain import SimExplainOptions, explain_sim
from colo.cli.main import main
from colo.core.errors import InvalidInput


def test_a_simulated_node_is_explained_from_its_agent_at_the_time_asked() -> None:
    explained = explain_sim(SimExplainOptions(name="node-0001", quick=True, at_s=600.0))
    assert explained.reclaim is not None
    names = [t.name for t in explained.reclaim.terms]
    assert names[0] == "capacity" and names[-1] == "reclaimable"
    assert explained.title.startswith("node-0001 in scenario default (seed 42), simulated 0.1")
    assert explained.notes[0].startswith("published: colo.io/batch-cpu ")
    # the simulated agent's protection loop, in the lines `colo explain node` prints
    assert explained.notes[1].startswith("protection: guard: NORMAL")
    assert any(n.startswith("protection: offline box: ") for n in explained.notes)


def test_a_node_the_simulated_cluster_lacks_is_named_with_the_ones_it_has() -> None:
    with pytest.raises(InvalidInput, match=r"field NAME: no such node .*node-0000 … node-"):
        explain_sim(SimExplainOptions(name="nope", quick=True, at_s=60.0))


def test_the_cli_prints_the_table_and_what_was_published(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", "node", "node-0001", "--sim", "--quick", "--at", "10m"]) == 0
    out = capsys.readouterr().out
    assert "node-0001 in scenario default" in out
    assert "reclaimable" in out and "published: colo.io/batch-cpu" in out
    assert "protection: guard:" in out


def test_a_bad_at_is_a_usage_error_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "node", "node-0001", "--sim", "--quick", "--at", "5x"]) == 2
    assert "field --at: invalid duration" in capsys.readouterr().err
