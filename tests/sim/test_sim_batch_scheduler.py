"""colo-batch in the simulator (`colo.sim.batch_scheduler`) decides what one batch cycle
over every pending pod would, and it reserves through the coordinator's ledger.

`SimBatchScheduler` does not hand every pending pod to every cycle: it parks shapes that
fit nowhere, wakes them only for nodes that changed, and splits a cycle into runs that
park what the runs before took the room of (`colo.sim.batch_queue`). None of that may
change a decision. With `exhaustive=True` every cycle is one run of the real
`BatchCycle` over every pending pod, oldest first; both must bind the same pods to the
same nodes at the same simulated times.
"""

from __future__ import annotations

import numpy as np
import pytest
import simkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import Case, GiB, Job, OnlinePod, random_case

from colo.core.reservation import Item
from colo.core.resources import CPU, MEMORY, PODS
from colo.sim.batch_scheduler import SimBatchScheduler
from colo.sim.cluster import SimCluster
from colo.sim.coordinator import SimCoordinator


def run(
    case: Case, *, exhaustive: bool
) -> tuple[list[simkit.Binding], SimBatchScheduler, SimCluster]:
    sc = simkit.scenario(
        duration_s=case.until_s,
        step_s=case.until_s,
        control_plane={"pod_startup": case.pod_startup_s},
    )
    wl = simkit.workload(
        sc, node_cpu=case.node_cpu, node_memory=case.node_memory, jobs=case.jobs, online=case.online
    )
    loop, c = simkit.cluster(sc, wl, online=case.online, pools=case.pools)
    c.alloc_pods[:] = case.max_pods
    bindings = simkit.record_bindings(c)
    coordinator = SimCoordinator(c)
    scheduler = SimBatchScheduler(
        c,
        loop,
        ledger=coordinator.ledger,
        qps=case.qps,
        burst=case.burst,
        cycle_s=case.round_s,
        exhaustive=exhaustive,
    )
    simkit.feed_jobs(c, loop, case.jobs)
    loop.run(case.until_s)
    return bindings, scheduler, c


def assert_same_decisions(case: Case) -> tuple[list[simkit.Binding], SimBatchScheduler]:
    fast, sched, c = run(case, exhaustive=False)
    slow, ref, _ = run(case, exhaustive=True)
    for i, (got, want) in enumerate(zip(fast, slow, strict=False)):
        assert got == want, f"binding {i} differs: with shortcuts {got}, exhaustive {want}"
    assert len(fast) == len(slow)
    # one scheduler alone: the ledger never refuses it and the kubelet never rejects
    assert sched.stats.reserve_conflicts == ref.stats.reserve_conflicts == 0
    assert c.admission_failures == 0
    return fast, sched


@pytest.mark.parametrize("seed", range(30))
def test_random_clusters_get_the_exhaustive_cycles_bindings(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    case = random_case(
        rng, jobs=int(rng.integers(5, 60)), nodes=int(rng.integers(3, 13)), until_s=300.0
    )
    bindings, _ = assert_same_decisions(case)
    assert bindings


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), jobs=st.integers(1, 40), nodes=st.integers(3, 12))
def test_any_small_case_gets_the_exhaustive_cycles_bindings(
    seed: int, jobs: int, nodes: int
) -> None:
    case = random_case(np.random.default_rng(seed), jobs=jobs, nodes=nodes, until_s=200.0)
    assert_same_decisions(case)


def test_a_backlog_that_mostly_does_not_fit_is_served_oldest_first() -> None:
    # big pods that fit only a nearly empty node arrive among small ones that keep coming
    rng = np.random.default_rng(7)
    jobs = [
        Job(
            arrival_s=float(k // 10),
            cpu_milli=6000 if k % 5 == 2 else int(rng.choice([500, 1000, 1500])),
            memory_bytes=(6 if k % 5 == 2 else 1) * GiB,
            duration_s=float(rng.uniform(5, 120)),
        )
        for k in range(500)
    ]
    case = Case(
        node_cpu=(8000,) * 6,
        node_memory=(16 * GiB,) * 6,
        pools=None,
        online=tuple(OnlinePod(node=i, cpu_milli=1500, memory_bytes=GiB) for i in range(6)),
        jobs=tuple(jobs),
        qps=20.0,
        burst=20,
        until_s=600.0,
    )
    bindings, sched = assert_same_decisions(case)
    big = {f"job-{k}-0" for k in range(500) if k % 5 == 2}
    placed_big = [name for _, name, _ in bindings if name.rsplit("-", 1)[0] + "-0" in big]
    assert 0 < len(placed_big) < len(big)  # some got in, a backlog remained
    # the shortcuts did their work: far fewer pods went through cycles than a cycle
    # over every pending pod every time would have seen
    assert sched.stats.pods_in_runs < 5 * len(bindings)


def test_a_placement_the_ledger_refuses_waits_out_the_hold_and_goes_elsewhere() -> None:
    # Two equal nodes; another scheduler (not on the cluster yet) reserved all of node 0.
    # colo-batch's view shows node 0 empty, so its first cycle picks node 0, is refused,
    # keeps the request there as a placeholder and places the pod on node 1 next cycle.
    case_jobs = (Job(arrival_s=0.0, cpu_milli=1000, memory_bytes=GiB, duration_s=100.0),)
    sc = simkit.scenario(duration_s=60.0, step_s=60.0)
    wl = simkit.workload(sc, node_cpu=(4000, 4000), node_memory=(8 * GiB, 8 * GiB), jobs=case_jobs)
    loop, c = simkit.cluster(sc, wl)
    bindings = simkit.record_bindings(c)
    coordinator = SimCoordinator(c)
    held = coordinator.ledger.reserve(
        [Item("other/pod", "node-0000", {CPU: 4000, MEMORY: 8 * GiB, PODS: 1}, 0)], 0.0
    )
    assert held[0].ok
    scheduler = SimBatchScheduler(
        c, loop, ledger=coordinator.ledger, qps=100.0, burst=10, cycle_s=0.5
    )
    simkit.feed_jobs(c, loop, case_jobs)
    loop.run(60.0)
    assert scheduler.stats.reserve_conflicts == 1
    assert [(node) for _, _, node in bindings] == ["node-0001"]
    assert bindings[0][0] == pytest.approx(1.0)  # the second cycle, 0.5 s after the first
    assert c.admission_failures == 0


def test_without_a_ledger_it_binds_straight_away() -> None:
    case_jobs = (Job(arrival_s=0.0, cpu_milli=1000, memory_bytes=GiB, duration_s=100.0, pods=3),)
    sc = simkit.scenario(duration_s=60.0, step_s=60.0)
    wl = simkit.workload(sc, node_cpu=(4000, 4000), node_memory=(8 * GiB, 8 * GiB), jobs=case_jobs)
    loop, c = simkit.cluster(sc, wl)
    bindings = simkit.record_bindings(c)
    scheduler = SimBatchScheduler(c, loop, ledger=None, qps=1.0, burst=1, cycle_s=0.5)
    simkit.feed_jobs(c, loop, case_jobs)
    loop.run(60.0)
    # one cycle places all three (spread over the job's nodes); one binding per token
    assert [t for t, _, _ in bindings] == [0.5, 1.5, 2.5]
    assert sorted(node for _, _, node in bindings) == ["node-0000", "node-0000", "node-0001"]
    assert scheduler.stats.cycles == 1


def test_a_bad_cycle_delay_is_refused() -> None:
    sc = simkit.scenario()
    wl = simkit.workload(sc, node_cpu=(4000,), node_memory=(8 * GiB,))
    loop, c = simkit.cluster(sc, wl)
    with pytest.raises(ValueError, match="cycle_s"):
        SimBatchScheduler(c, loop, ledger=None, qps=1.0, burst=1, cycle_s=0.0)
