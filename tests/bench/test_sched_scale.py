"""bench/sched_scale.py at a tiny size: the cluster it builds is what its docstring says,
every figure comes out positive, every pending pod is placed or reported, and `--json`
prints exactly the headline figures."""

from __future__ import annotations

import json
import math
import pickle
import sys
from collections import Counter
from pathlib import Path

import pytest

from colo.core.objects import Node, Pod
from colo.sched.requirements import GANG_LABEL

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))  # the benches import their `_common` as a sibling

import sched_scale as S  # noqa: E402

TINY = {"nodes": 50, "pods": 500, "pending": 100, "events": 200, "seed": 0, "wave": 40}


@pytest.fixture(scope="module")
def figures() -> dict[str, float]:
    got: dict[str, float] = S.run(**TINY, repeats=2)
    return got


@pytest.fixture(scope="module")
def plan() -> S.Plan:
    return S.make_plan(TINY["nodes"], TINY["pods"], TINY["pending"], TINY["seed"])


def test_every_headline_figure_is_there_and_positive(figures: dict[str, float]) -> None:
    for name in S.HEADLINE:
        assert math.isfinite(figures[name]) and figures[name] > 0, name


def test_every_pending_pod_is_placed_or_reported(figures: dict[str, float]) -> None:
    assert figures["pods_pending"] == TINY["pending"]
    assert figures["placed"] + figures["reported_unschedulable"] == TINY["pending"]
    assert figures["reported_unschedulable"] >= 1  # the job selecting a zone no node has
    assert figures["overcommitted_nodes"] == 0
    assert figures["ledger_granted"] == figures["placed"]  # the ledger agrees with the loop


def test_the_plan_has_the_shapes_the_docstring_promises(plan: S.Plan) -> None:
    assert (plan.nodes, plan.pods, plan.pods - plan.bound) == (50, 500, 100)
    assert all(n >= 0 for n in plan.pod_node[: plan.bound])
    assert all(n == -1 for n in plan.pod_node[plan.bound :])
    pending = [S.pod_obj(plan, k) for k in range(plan.bound, plan.pods)]
    kinds = Counter(
        (p["metadata"].get("ownerReferences") or [{"kind": ""}])[0]["kind"] for p in pending
    )
    assert kinds["Job"] > 0.8 * len(pending) and kinds[""] > 0
    assert sum(GANG_LABEL in p["metadata"].get("labels", {}) for p in pending) == S.GANG_SIZE
    assert all(p["spec"]["schedulerName"] == "colo-batch" for p in pending)
    assert any("nodeSelector" in p["spec"] for p in pending)
    names = [S.pod_obj(plan, k)["metadata"]["name"] for k in range(plan.pods)]
    assert len(set(names)) == len(names)


def test_no_node_is_filled_past_its_share(plan: S.Plan) -> None:
    nodes = list(S.nodes_of(plan))
    used: dict[str, Counter[str]] = {n.name: Counter() for n in nodes}
    for pod in S.pods_of(plan, range(plan.bound)):
        assert pod.node_name is not None
        used[pod.node_name].update(dict(pod.requests.items()))
    for node in nodes:
        for name, value in used[node.name].items():
            assert value <= S.FILL * node.allocatable.get(name) + 1e-9, (node.name, name)


def test_a_pickled_view_is_an_equal_copy_of_its_own(plan: S.Plan) -> None:
    """The memory runs feed unpickled copies: they must be the views, not lookalikes."""
    pod = next(S.pods_of(plan, range(plan.bound, plan.pods)))
    node = next(S.nodes_of(plan))
    for view in (pod, node):
        copy = pickle.loads(pickle.dumps(view))
        assert copy == view and copy is not view
    assert isinstance(pod, Pod) and isinstance(node, Node)
    assert pickle.loads(pickle.dumps(pod)).name is not pod.name


def test_json_prints_exactly_the_headline_figures(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sched_scale.py", "--json", "--repeats", "1"]
    argv += [x for k, v in TINY.items() for x in (f"--{k}", str(v))]
    monkeypatch.setattr(sys, "argv", argv)
    S.main()
    out = json.loads(capsys.readouterr().out)
    assert set(out) == set(S.HEADLINE)


def test_the_watch_replay_schedules_the_same_shaped_or_whole(plan: S.Plan) -> None:
    nodes = [S.ClusterEvent(S.ChangeKind.ADDED, node=n) for n in S.nodes_of(plan)]
    pods = [S.ClusterEvent(S.ChangeKind.ADDED, pod=p) for p in S.pods_of(plan, range(plan.pods))]
    lines = S.wave_lines(plan, 40)
    assert len(lines) == 6 * 40
    assert all(len(line) > 2000 for line in lines)  # as the API server sends them
    shaped = S.informer_rate(plan, nodes, pods, lines, shaped=True)
    whole = S.informer_rate(plan, nodes, pods, lines, shaped=False)
    assert shaped[0] > 0 and whole[0] > 0
    assert shaped[1] == whole[1] > 0  # the wave's pending pods were placed, alike
