"""Properties of the cpu allocator over random pod sequences, on every real machine's layout.

Each example adds and removes pods one at a time, feeding every run the previous assignment
as the agent does, and checks after every run:
- exclusive cpusets are disjoint, the right size, off reserved and kubelet-pinned cpus, and
  an LSE pod's are whole cores;
- BE never shares a physical core with an LSE pod, nor uses reserved or kubelet cpus;
- the LS pool is exactly the cpus no pod holds exclusively, and never empty;
- every LSE/LSR pod either has cpus or a refusal saying why;
- pods that stay keep their cpus unless the kubelet pins some of them, and then the
  assignment says they moved; a removed pod frees exactly its cpus;
- re-running with the previous assignment changes nothing, in any input order.
"""

from __future__ import annotations

import pytest
from cpukit import FIXTURES, load, pod
from hypothesis import given, settings
from hypothesis import strategies as st

from colo.agent.cpupick import Layout
from colo.agent.cpus import EXCLUSIVE_TIERS, CPUAllocator, CPUAssignment, CPUPod, RefusalCode
from colo.agent.kubeletcpu import KubeletCPUOwner, KubeletCPUState
from colo.core.qos import QoSTier

#: "LSR-derived": a Guaranteed pod without the colo.io/qos label
TIERS = ["LSE", "LSR", "LSE", "LSR", "LSR-derived", "LS", "BE"]
SIZES = [-1, 0, 0.5, 1, 1.5, 2, 2, 3, 4, 4, 6, 8, 12, 16, 20]
PLACEMENT_CODES = {
    RefusalCode.NOT_ENOUGH_CORES,
    RefusalCode.NOT_ENOUGH_CPUS,
    RefusalCode.NO_NUMA_FIT,
    RefusalCode.SHARED_POOL,
}

ADD = st.tuples(st.just("add"), st.sampled_from(TIERS), st.sampled_from(SIZES))
REMOVE = st.tuples(st.just("remove"), st.integers(0, 99), st.just(0))
#: the kubelet's static CPU manager pins another core (for a pod colo does not know)
PIN = st.tuples(st.just("pin"), st.integers(0, 999), st.just(0))
STEPS = st.lists(st.one_of(ADD, ADD, REMOVE, PIN), min_size=1, max_size=12)


def check(
    layout: Layout,
    reserved: frozenset[int],
    kubelet_cpus: frozenset[int],
    pods: list[CPUPod],
    result: CPUAssignment,
) -> None:
    by_uid = {p.uid: p for p in pods}
    held: list[int] = []
    for uid, got in result.exclusive.items():
        assert got.uid == uid and uid in by_uid
        held.extend(got.cpus)
        if got.owner == "kubelet":
            continue
        the_pod = by_uid[uid]
        assert the_pod.tier in EXCLUSIVE_TIERS
        assert len(got.cpus) * 1000 == the_pod.cpu_request_milli
        assert not got.cpus & reserved and not got.cpus & kubelet_cpus
        assert got.numa_nodes == layout.numa_nodes_of(got.cpus)
        if got.tier is QoSTier.LSE:
            assert layout.is_whole_cores(got.cpus), f"{uid}: {sorted(got.cpus)}"
    assert len(held) == len(set(held)), "exclusive cpusets overlap"
    assert result.shared == layout.cpus - set(held) - kubelet_cpus
    assert result.shared, "the shared pool is never empty"
    lse_cores = layout.whole_cores_cpus(
        c for p in result.exclusive.values() if p.tier is QoSTier.LSE for c in p.cpus
    )
    assert result.be == layout.cpus - lse_cores - reserved - kubelet_cpus
    refused = {r.uid for r in result.refusals}
    assert refused <= by_uid.keys() and not refused & result.exclusive.keys()
    for p in pods:
        whole = p.cpu_request_milli > 0 and p.cpu_request_milli % 1000 == 0
        if p.tier in EXCLUSIVE_TIERS and (p.tier_from_label or whole):
            assert p.uid in result.exclusive or p.uid in refused, p
        elif not p.tier_from_label:
            assert p.uid not in result.exclusive and p.uid not in refused, p


@pytest.mark.parametrize("fixture", FIXTURES)
@settings(max_examples=40, deadline=None)
@given(data=st.data(), steps=STEPS)
def test_random_pod_sequences_keep_every_invariant(
    fixture: str, data: st.DataObject, steps: list[tuple[str, object, float]]
) -> None:
    topo = load(fixture)
    cpus = sorted(topo.cpus)
    reserved = frozenset(data.draw(st.sets(st.sampled_from(cpus[:4]), max_size=2), "reserved"))
    kubelet: KubeletCPUState | None = None
    kubelet_cpus: frozenset[int] = frozenset()
    alloc = CPUAllocator(topo, reserved_cpus=reserved)
    layout = alloc.layout
    current: list[CPUPod] = []
    previous: CPUAssignment | None = None
    for i, (op, what, size) in enumerate(steps):
        removed = None
        if op == "add":
            tier, _, derived = str(what).partition("-")
            current.append(pod(f"p{i}", tier, size, labelled=not derived))
        elif op == "pin" and len(cpus) > 4:
            kubelet_cpus = topo.siblings(cpus[4:][int(str(what)) % (len(cpus) - 4)]) - reserved
            owner = KubeletCPUOwner("uid-k", kubelet_cpus, (("c", kubelet_cpus),))
            kubelet = KubeletCPUState("static", topo.cpus - kubelet_cpus, (owner,))
        elif op == "remove" and current:
            removed = current.pop(int(str(what)) % len(current))
        result = alloc.allocate(current, previous=previous, kubelet=kubelet)
        check(layout, reserved, kubelet_cpus, current, result)

        # re-running changes nothing: at once for the same input, by value in any order
        assert alloc.allocate(current, previous=result, kubelet=kubelet) is result
        shuffled = data.draw(st.permutations(current), "order")
        assert alloc.allocate(shuffled, previous=result, kubelet=kubelet) == result
        assert alloc.allocate(shuffled, previous=previous, kubelet=kubelet) == result

        if previous is not None:
            moved = set()
            staying = {p.uid for p in current}
            for uid, before in previous.exclusive.items():  # pods that stay keep their cpus
                if before.owner != "colo" or uid not in staying:
                    continue
                if before.cpus & kubelet_cpus:  # ... unless the kubelet took some
                    moved.add(uid)
                else:
                    assert result.exclusive[uid].cpus == before.cpus
            if result is previous:  # nothing changed: handed back, with its own moves
                assert not moved
            else:
                assert len(result.moves) == len(moved)
            pending = any(r.code in PLACEMENT_CODES for r in previous.refusals)
            if removed is not None and removed.uid in previous.exclusive and not pending:
                freed = previous.exclusive[removed.uid].cpus
                assert result.shared == previous.shared | freed
                assert result.exclusive == {
                    u: p for u, p in previous.exclusive.items() if u != removed.uid
                }
        previous = result
