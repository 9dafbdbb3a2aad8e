"""Virtual nodes: job pods prefer them and fall back to standard nodes; others stay off."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from schedkit import node, pod, snapshot

from colo.core.errors import InvalidInput
from colo.core.objects import Node
from colo.sched.cycle import BatchCycle
from colo.sched.requirements import VirtualNodePolicy, requirements_of

VIRTUAL = {"type": "virtual-kubelet"}
TAINT = [("virtual-kubelet.io/provider", "colo")]


def virtual(name: str, cpu: str = "4") -> Node:
    return node(name, cpu=cpu, labels=VIRTUAL, taints=TAINT)


def where(cycle: BatchCycle, pods: list) -> Counter[str]:  # type: ignore[type-arg]
    return Counter(n for _, n in cycle.run(pods, 0.0).assignments)


def test_job_pods_prefer_virtual_nodes_then_fall_back_when_they_are_full() -> None:
    snap = snapshot(virtual("v1", cpu="2"), node("s1", cpu="64"))
    got = where(BatchCycle(snap), [pod(f"p{i}", job="j") for i in range(4)])
    assert got == {"v1": 2, "s1": 2}


def test_not_ready_virtual_nodes_are_skipped_and_used_again_when_they_recover() -> None:
    v = virtual("v1")
    snap = snapshot(v, node("s1"))
    snap.upsert_node(dataclasses.replace(v, ready=False))
    cycle = BatchCycle(snap)
    assert where(cycle, [pod("a", job="j")]) == {"s1": 1}
    snap.upsert_node(v)
    assert where(cycle, [pod("b", job="j")]) == {"v1": 1}


def test_other_pods_avoid_virtual_nodes_and_failed_ones_too() -> None:
    snap = snapshot(virtual("v1", cpu="64"), node("s1", cpu="2"))
    cycle = BatchCycle(snap)
    plain = pod("web")  # no Job owner
    failed = pod("retry", job="j", annotations={"colo.io/virtual-failed": "ProviderFailed"})
    got = cycle.run([plain, failed, pod("web2", cpu="2")], 0.0)
    assert {p.key: n for p, n in got.assignments} == {"ns/web": "s1", "ns/retry": "s1"}
    assert got.unschedulable["ns/web2"].message == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were virtual nodes the pod avoids."
    )


def test_require_and_per_namespace_policy() -> None:
    snap = snapshot(virtual("v1", cpu="1"), node("s1", cpu="64"))
    need = pod("n", labels={"colo.io/virtual-nodes": "require"}, cpu="2")
    got = BatchCycle(snap).run([need], 0.0)
    assert got.assignments == []
    assert got.unschedulable["ns/n"].message == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were not virtual nodes."
    )
    from colo.core.builders import PodBuilder
    from colo.core.objects import Pod

    p = Pod.from_k8s(PodBuilder("x", namespace="etl").obj())
    policy = VirtualNodePolicy(namespaces=(("etl", "prefer"),))
    assert requirements_of(p, policy).virtual == "prefer"
    assert requirements_of(p).virtual == "avoid"


def test_a_bad_mode_label_names_the_field() -> None:
    with pytest.raises(InvalidInput, match=r"labels\[colo.io/virtual-nodes\]: unknown mode"):
        pod("x", labels={"colo.io/virtual-nodes": "sometimes"})
