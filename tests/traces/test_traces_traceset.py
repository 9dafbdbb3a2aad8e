"""TraceSet.locate: explicit path, COLO_TRACES, then shared/traces beside the repo."""

from __future__ import annotations

from pathlib import Path

import pytest

from colo.core.errors import InvalidInput
from colo.traces import ENV_VAR, TraceSet


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """tmp/repo/sub (a checkout) and tmp/shared/traces beside it."""
    repo = tmp_path / "repo" / "sub"
    repo.mkdir(parents=True)
    traces = tmp_path / "shared" / "traces"
    (traces / "alibaba2018").mkdir(parents=True)
    (traces / "azure2019").mkdir()
    (traces / "alibaba2018" / "machine_usage.csv.gz").write_bytes(b"")
    (traces / "azure2019" / "vmtable.csv").write_text("")
    return repo, traces


def test_walks_up_from_the_checkout(layout: tuple[Path, Path]) -> None:
    repo, traces = layout
    found = TraceSet.locate(env={}, search_from=[repo])
    assert found.root == traces.resolve()


def test_explicit_root_and_env_var_win(layout: tuple[Path, Path], tmp_path: Path) -> None:
    _, traces = layout
    assert TraceSet.locate(traces, env={ENV_VAR: "/nowhere"}).root == traces.resolve()
    assert TraceSet.locate(env={ENV_VAR: str(traces)}, search_from=[]).root == traces.resolve()


@pytest.mark.parametrize("how", ["root", "env"])
def test_bad_explicit_location_raises_without_fallback(
    layout: tuple[Path, Path], tmp_path: Path, how: str
) -> None:
    repo, _ = layout
    bogus = tmp_path / "empty"
    bogus.mkdir()
    with pytest.raises(InvalidInput) as info:
        if how == "root":
            TraceSet.locate(bogus, env={}, search_from=[repo])
        else:
            TraceSet.locate(env={ENV_VAR: str(bogus)}, search_from=[repo])
    assert str(bogus) in str(info.value)


def test_not_found_names_the_paths_tried_and_the_fix(tmp_path: Path) -> None:
    start = tmp_path / "a" / "b"
    start.mkdir(parents=True)
    with pytest.raises(InvalidInput) as info:
        TraceSet.locate(env={}, search_from=[start])
    text = str(info.value)
    assert str(start / "shared" / "traces") in text
    assert str(tmp_path / "shared" / "traces") in text
    assert "set COLO_TRACES or pass --traces" in text


def test_file_properties_prefer_gz_and_fall_back_to_plain(layout: tuple[Path, Path]) -> None:
    _, traces = layout
    ts = TraceSet(traces)
    assert ts.machine_usage == traces / "alibaba2018" / "machine_usage.csv.gz"
    assert ts.azure_vmtable == traces / "azure2019" / "vmtable.csv"
    # Missing files get their published (gzip) name; the loader reports them.
    assert ts.batch_task == traces / "alibaba2017" / "batch_task.csv.gz"
    paths = [
        ts.machine_meta,
        ts.container_snapshot,
        ts.machine_usage_snapshot,
        ts.k8s_pod_list,
        ts.k8s_node_list,
        ts.azure_readings,
    ]
    assert all(p.parent.parent == traces for p in paths)
