"""The batch cycle: filters, the unschedulable message, scoring, spread, gangs, queue."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest
from schedkit import node, pod, snapshot

from colo.core.errors import InvalidInput
from colo.sched.cycle import BatchCycle
from colo.sched.framework import CycleState
from colo.sched.plugins.allocation_score import BalancedAllocation, MostAllocated
from colo.sched.requirements import Requirements
from colo.sched.status import Code, Status


def placements(cycle: BatchCycle, pods: list[Requirements]) -> dict[str, str]:
    return {p.key.split("/")[1]: n for p, n in cycle.run(pods, 0.0).assignments}


def test_resources_including_batch_cpu_are_fitted_and_the_message_counts_reasons() -> None:
    snap = snapshot(
        node("a", batch_cpu=1000),
        node("b", batch_cpu=4000),
        node("c", batch_cpu=8000, taints=[("dedicated", "gpu")]),
    )
    cycle = BatchCycle(snap)
    got = cycle.run([pod("p1", cpu=None, batch_cpu=3000), pod("p2", cpu=None, batch_cpu=3000)], 0.0)
    assert [(p.key, n) for p, n in got.assignments] == [("ns/p1", "b")]
    status = got.unschedulable["ns/p2"]
    assert status.code is Code.UNSCHEDULABLE
    assert status.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
        "2 Insufficient colo.io/batch-cpu."
    )


def test_too_many_pods_and_pod_ip_limits() -> None:
    snap = snapshot(node("a", pods=1), node("b", annotations={"colo.io/pod-ip-limit": "0"}))
    got = BatchCycle(snap).run([pod("x"), pod("y")], 0.0)
    assert [n for _, n in got.assignments] == ["a"]
    assert got.unschedulable["ns/y"].message == (
        "0/2 nodes are available: 1 Too many pods, 1 node(s) had no free pod IPs."
    )


def test_cordoned_nodes_and_tolerations() -> None:
    snap = snapshot(
        node("a", taints=[("k", "v")]), dataclasses.replace(node("b"), unschedulable=True)
    )
    tolerant = pod("t", spec={"tolerations": [{"key": "k", "operator": "Exists"}]})
    plain = pod("p")
    got = BatchCycle(snap).run([tolerant, plain], 0.0)
    assert [(p.key, n) for p, n in got.assignments] == [("ns/t", "a")]
    assert "1 node(s) were unschedulable" in got.unschedulable["ns/p"].message


def _affinity(*exprs: dict[str, object], fields: bool = False) -> dict[str, object]:
    term = {"matchFields" if fields else "matchExpressions": list(exprs)}
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term]}}}}  # fmt: skip


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ({"key": "zone", "operator": "In", "values": ["z1", "z3"]}, {"n1", "n3"}),
        ({"key": "zone", "operator": "NotIn", "values": ["z1"]}, {"n2", "n3", "bare"}),
        ({"key": "zone", "operator": "Exists"}, {"n1", "n2", "n3"}),
        ({"key": "zone", "operator": "DoesNotExist"}, {"bare"}),
        ({"key": "gen", "operator": "Gt", "values": ["2"]}, {"n3"}),
        ({"key": "gen", "operator": "Lt", "values": ["3"]}, {"n1", "n2"}),
    ],
)
def test_required_node_affinity_operators(expr: dict[str, object], want: set[str]) -> None:
    nodes = [node(f"n{i}", labels={"zone": f"z{i}", "gen": str(i)}) for i in (1, 2, 3)]
    nodes.append(node("bare", labels={"gen": "not-a-number"}))
    pods = [pod(f"p{i}", cpu="100m", spec=_affinity(expr)) for i in range(40)]
    got = set(placements(BatchCycle(snapshot(*nodes)), pods).values())
    assert got == want


def test_match_fields_and_node_selector() -> None:
    nodes = [node("n1", labels={"disk": "ssd"}), node("n2", labels={"disk": "ssd"}), node("n3")]
    by_name = pod(
        "f",
        spec=_affinity({"key": "metadata.name", "operator": "In", "values": ["n2"]}, fields=True),
    )
    selected = pod("s", spec={"nodeSelector": {"disk": "ssd"}})
    none = pod("x", spec={"nodeSelector": {"disk": "nvme"}})
    got = BatchCycle(snapshot(*nodes)).run([by_name, selected, none], 0.0)
    where = {p.key: n for p, n in got.assignments}
    assert where["ns/f"] == "n2" and where["ns/s"] in ("n1", "n2")
    assert got.unschedulable["ns/x"].message == (
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    )
    assert got.unschedulable["ns/x"].code is Code.UNRESOLVABLE  # only a label change helps


def test_malformed_affinity_is_an_error_naming_the_field() -> None:
    with pytest.raises(InvalidInput, match=r"matchExpressions\[0\]\.operator: unknown operator"):
        pod("bad", spec=_affinity({"key": "zone", "operator": "Near", "values": ["x"]}))
    with pytest.raises(InvalidInput, match=r"values\[0\]: not an integer"):
        pod("bad", spec=_affinity({"key": "gen", "operator": "Gt", "values": ["two"]}))


def test_least_allocated_spreads_and_most_allocated_packs() -> None:
    pods = [pod(f"p{i}", cpu="1") for i in range(4)]
    spread = placements(BatchCycle(snapshot(node("a"), node("b"))), pods)
    assert Counter(spread.values()) == {"a": 2, "b": 2}
    packed = placements(BatchCycle(snapshot(node("a"), node("b")), scorers=[MostAllocated()]), pods)
    assert len(set(packed.values())) == 1


def test_balanced_allocation_scores_one_minus_the_spread_of_the_shares() -> None:
    # a pod of 1 cpu and 1 GiB: on "even" both shares become 1/8 (spread 0); on "roomy"
    # cpu 1/8 and memory 1/64 (std 7/128). Least allocated prefers roomy, balanced even.
    nodes = (node("even", cpu="8", mem="8Gi"), node("roomy", cpu="8", mem="64Gi"))
    p = pod("p", cpu="1", spec={"containers": [{"name": "c", "image": "x", "resources": {
        "requests": {"cpu": "1", "memory": "1Gi"}}}]})  # fmt: skip
    snap = snapshot(*nodes)
    vec = snap.request_vector(p.requests)
    scores = BalancedAllocation().score(CycleState(0.0), p, snap, np.array([0, 1]), vec)
    assert scores.tolist() == pytest.approx([100.0, 100.0 * (1 - 7 / 128)])
    assert placements(BatchCycle(snapshot(*nodes), scorers=[BalancedAllocation()]), [p]) == {
        "p": "even"
    }
    assert placements(BatchCycle(snapshot(*nodes)), [p]) == {"p": "roomy"}


def test_a_jobs_pods_spread_over_equal_nodes() -> None:
    snap = snapshot(*(node(f"n{i}", cpu="64") for i in range(4)))
    got = placements(BatchCycle(snap), [pod(f"p{i}", cpu="100m", job="j") for i in range(8)])
    assert Counter(got.values()) == {f"n{i}": 2 for i in range(4)}


def test_gangs_are_all_or_nothing() -> None:
    def gang(name: str, members: int, minimum: int) -> list[Requirements]:
        return [
            pod(f"{name}-{i}", cpu="3", labels={"colo.io/gang": name},
                annotations={"colo.io/gang-min-members": str(minimum)})
            for i in range(members)
        ]  # fmt: skip

    snap = snapshot(node("a", cpu="6"))  # room for two 3-core pods
    cycle = BatchCycle(snap)
    got = cycle.run(gang("big", 3, 3), 0.0)
    assert got.assignments == []
    assert got.unschedulable["ns/big-0"].code is Code.WAIT
    assert "only 2 of the minimum 3" in got.unschedulable["ns/big-0"].message
    assert snap.used[0].sum() == 0  # undone
    got = cycle.run(gang("ok", 3, 2), 0.0)
    assert len(got.assignments) == 2


def test_priority_first_but_aging_lets_an_old_low_priority_pod_through() -> None:
    fresh_high = pod("high", cpu="6", priority=100)
    old_low = pod("low", cpu="6", priority=0)
    snap = snapshot(node("a", cpu="8"))
    got = BatchCycle(snap).run([old_low, fresh_high], 0.0, waited_s=[0.0, 0.0])
    assert [p.key for p, _ in got.assignments] == ["ns/high"]
    snap = snapshot(node("a", cpu="8"))
    # after two hours the low-priority pod has gained 120 points
    got = BatchCycle(snap).run([old_low, fresh_high], 0.0, waited_s=[7200.0, 0.0])
    assert [p.key for p, _ in got.assignments] == ["ns/low"]


class Ledger:
    """A reserve plugin refusing one node, recording reserve/unreserve calls."""

    name = "Ledger"

    def __init__(self, refuse: str) -> None:
        self.refuse = refuse
        self.calls: list[tuple[str, str, str]] = []

    def reserve(self, state: CycleState, p: Requirements, n: str) -> Status:
        self.calls.append(("reserve", p.key, n))
        return Status(Code.UNSCHEDULABLE, "conflict") if n == self.refuse else Status()

    def unreserve(self, state: CycleState, p: Requirements, n: str) -> None:
        self.calls.append(("unreserve", p.key, n))


def test_a_refused_reservation_sends_the_pod_to_the_next_node() -> None:
    ledger = Ledger(refuse="big")
    snap = snapshot(node("big", cpu="64"), node("small", cpu="8"))
    got = BatchCycle(snap, reserve=ledger).run([pod("p")], 0.0)
    assert [n for _, n in got.assignments] == ["small"]
    assert ledger.calls == [("reserve", "ns/p", "big"), ("reserve", "ns/p", "small")]
    assert snap.used[snap.index["big"]].sum() == 0


def test_label_changes_reach_the_cached_masks() -> None:
    snap = snapshot(node("a"))
    want = pod("p", spec={"nodeSelector": {"pool": "batch"}})
    cycle = BatchCycle(snap)
    assert cycle.run([want], 0.0).assignments == []
    snap.upsert_node(node("a", labels={"pool": "batch"}))
    assert [n for _, n in cycle.run([want], 0.0).assignments] == ["a"]
