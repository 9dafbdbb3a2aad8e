"""The optimized `StockScheduler` decides exactly what a naive kube-scheduler would.

`StockScheduler` keeps rounds cheap with tens of thousands of pods waiting: it keeps an
unschedulable set (grouped by shape) that it checks only against nodes freed since the
last round, pre-filters fresh pods by the largest free node of their pool, and skips a
shape for the rest of a round once it found no node. None of that may change a decision.
`NaiveScheduler` below is the plain algorithm: every round, walk *all* pending pods in
FIFO order and put each on the feasible node with the most free capacity, until the
round's budget of bindings is spent. Both run on the same simulated cluster and pod
stream; the bindings (time, pod, node) must be identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import pytest
import simkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simkit import Case, GiB, Job, OnlinePod, random_case

from colo.core.ratelimit import RateLimiter
from colo.sim.cluster import Phase, SimCluster, SimPod, complete
from colo.sim.controlplane import StockJobController, StockScheduler
from colo.sim.engine import PRIO_CONTROL, PRIO_SCHEDULE, EventLoop
from colo.sim.policies.reserved import ReservedPolicy
from colo.sim.policies.stock import install_stock


class NaiveScheduler:
    """kube-scheduler as the docs describe it, with no shortcuts.

    Rounds run on the `round_s` grid: at the first grid time at or after a pod arrives,
    then every `round_s` while anything is pending. A round's budget is what the client
    limiter lets out by the end of the round; each placement holds its requests on the
    node ("assumed") until its binding goes out with the next token.
    """

    def __init__(
        self, c: SimCluster, loop: EventLoop, *, qps: float, burst: int, round_s: float
    ) -> None:
        self.c = c
        self.loop = loop
        self.round_s = round_s
        self.limiter = RateLimiter(qps, burst)
        self.pending: list[SimPod] = []
        n = len(c.node_names)
        self.assumed_cpu = [0] * n
        self.assumed_memory = [0] * n
        self.assumed_pods = [0] * n
        self.round_at: float | None = None
        c.on_pending(self._arrived)

    def _arrived(self, pod: SimPod) -> None:
        self.pending.append(pod)
        at = math.ceil(self.loop.now() / self.round_s) * self.round_s
        if self.round_at is None or self.round_at > at:
            self._round_on(at)

    def _round_on(self, at: float) -> None:
        self.round_at = at
        self.loop.schedule(at, partial(self._round, at), priority=PRIO_SCHEDULE)

    def _round(self, at: float) -> None:
        if self.round_at != at:
            return  # an earlier round took over
        self.round_at = None
        now = self.loop.now()
        c = self.c
        n = len(c.node_names)
        free_cpu = [int(c.free_cpu()[i]) - self.assumed_cpu[i] for i in range(n)]
        free_memory = [int(c.free_memory()[i]) - self.assumed_memory[i] for i in range(n)]
        free_pods = [int(c.free_pods()[i]) - self.assumed_pods[i] for i in range(n)]
        alloc_cpu = [int(v) for v in c.alloc_cpu]
        alloc_memory = [int(v) for v in c.alloc_memory]
        budget = self.limiter.available_by(now, self.round_s)
        waiting: list[SimPod] = []
        for pod in self.pending:  # FIFO
            if budget <= 0:
                waiting.append(pod)
                continue
            best, best_score = -1, -math.inf
            for i in range(n):
                feasible = (
                    (pod.pool is None or c.node_pools[i] == pod.pool)
                    and free_cpu[i] >= pod.cpu_milli
                    and free_memory[i] >= pod.memory_bytes
                    and free_pods[i] > 0
                )
                if not feasible:
                    continue
                score = free_cpu[i] / alloc_cpu[i] + free_memory[i] / alloc_memory[i]
                if score > best_score:  # strict: ties go to the lowest index
                    best, best_score = i, score
            if best < 0:
                waiting.append(pod)
                continue
            free_cpu[best] -= pod.cpu_milli
            free_memory[best] -= pod.memory_bytes
            free_pods[best] -= 1
            self._assume(pod, best, now)
            budget -= 1
        self.pending = waiting
        if waiting:
            self._round_on(now + self.round_s)

    def _assume(self, pod: SimPod, node: int, now: float) -> None:
        self.assumed_cpu[node] += pod.cpu_milli
        self.assumed_memory[node] += pod.memory_bytes
        self.assumed_pods[node] += 1
        at = self.limiter.reserve(now, 1)
        self.loop.schedule(at, partial(self._bind, pod, node), priority=PRIO_CONTROL)

    def _bind(self, pod: SimPod, node: int) -> None:
        self.assumed_cpu[node] -= pod.cpu_milli
        self.assumed_memory[node] -= pod.memory_bytes
        self.assumed_pods[node] -= 1
        complete(self.c.bind(simkit.ref(pod), self.c.node_names[node]))


@dataclass
class Outcome:
    bindings: list[simkit.Binding]
    cluster: SimCluster
    scheduler: object


def run(case: Case, *, naive: bool) -> Outcome:
    """Run `case` with the optimized scheduler, or with the naive one."""
    sc = simkit.scenario(
        duration_s=case.until_s,
        step_s=case.until_s,
        control_plane={"pod_startup": case.pod_startup_s},
    )
    wl = simkit.workload(
        sc,
        node_cpu=case.node_cpu,
        node_memory=case.node_memory,
        jobs=case.jobs,
        online=case.online,
    )
    loop, c = simkit.cluster(sc, wl, online=case.online, pools=case.pools)
    c.alloc_pods[:] = case.max_pods
    bindings = simkit.record_bindings(c)
    kind = NaiveScheduler if naive else StockScheduler
    scheduler = kind(c, loop, qps=case.qps, burst=case.burst, round_s=case.round_s)
    simkit.feed_jobs(c, loop, case.jobs)
    loop.run(case.until_s)  # no ticks: no slowdown, no eviction, only scheduling
    return Outcome(bindings, c, scheduler)


def assert_same_decisions(case: Case) -> Outcome:
    fast = run(case, naive=False)
    slow = run(case, naive=True)
    assert fast.cluster.admission_failures == 0
    for i, (got, want) in enumerate(zip(fast.bindings, slow.bindings, strict=False)):
        assert got == want, f"binding {i} differs: StockScheduler {got}, naive {want}"
    assert len(fast.bindings) == len(slow.bindings)
    return fast


# ---- randomized cases --------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_random_clusters_and_pod_streams_get_the_naive_schedulers_bindings(seed: int) -> None:
    rng = np.random.default_rng(seed)
    case = random_case(
        rng, jobs=int(rng.integers(5, 60)), nodes=int(rng.integers(3, 13)), until_s=300.0
    )
    fast = assert_same_decisions(case)
    assert fast.bindings  # every case places something


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    jobs=st.integers(1, 40),
    nodes=st.integers(3, 12),
)
def test_any_small_case_gets_the_naive_schedulers_bindings(
    seed: int, jobs: int, nodes: int
) -> None:
    case = random_case(np.random.default_rng(seed), jobs=jobs, nodes=nodes, until_s=200.0)
    assert_same_decisions(case)


# ---- named cases -----------------------------------------------------------------------


def test_a_large_backlog_that_mostly_does_not_fit_is_served_in_fifo_order() -> None:
    # 100 big pods that fit only a node with (almost) nothing else on it, arriving among
    # 400 small ones that keep coming: most of the time nearly every pending pod is one
    # that fits nowhere, and the big ones get in one by one as nodes happen to drain.
    rng = np.random.default_rng(7)
    jobs: list[Job] = []
    for k in range(500):
        big = k % 5 == 2
        jobs.append(
            Job(
                arrival_s=float(k // 10),
                cpu_milli=6000 if big else int(rng.choice([500, 1000, 1500])),
                memory_bytes=(6 if big else 1) * GiB,
                duration_s=float(rng.uniform(5, 120)),
            )
        )
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
    fast = assert_same_decisions(case)
    big = {p.name for p in fast.cluster.records if p.cpu_milli == 6000}
    placed_big = [name for _, name, _ in fast.bindings if name in big]
    assert 0 < len(placed_big) < len(big)  # some got in, and a backlog remained
    assert placed_big == sorted(placed_big, key=lambda name: int(name.rsplit("-", 1)[1]))


def test_pods_of_identical_shapes_fill_nodes_by_least_allocated_then_lowest_index() -> None:
    case = Case(
        node_cpu=(4000,) * 4,
        node_memory=(8 * GiB,) * 4,
        pools=None,
        online=(),
        jobs=(Job(arrival_s=0.0, cpu_milli=1000, memory_bytes=GiB, duration_s=50.0, pods=20),),
        qps=100.0,
        burst=100,
    )
    fast = assert_same_decisions(case)
    first_round = [node for t, _, node in fast.bindings if t == 0.0]
    # Four identical empty nodes: round-robin from the lowest index, then full at 4 each.
    assert first_round == ["node-0000", "node-0001", "node-0002", "node-0003"] * 4
    assert len(fast.bindings) == 20


def test_a_shape_that_found_no_node_does_not_hold_back_other_shapes() -> None:
    # In pool b, node-0 has cpu but little memory left and node-1 memory but little cpu:
    # 4 cores with 8 GiB fits neither (though it fits the pool's largest free cpu and its
    # largest free memory). 4 cores with 1 GiB still fits node-0, and the same 4 cores
    # with 8 GiB fits pool c's empty node, as does a pod without a selector.
    case = Case(
        node_cpu=(8000,) * 3,
        node_memory=(16 * GiB,) * 3,
        pools=("b", "b", "c"),
        online=(
            OnlinePod(node=0, cpu_milli=0, memory_bytes=14 * GiB),
            OnlinePod(node=1, cpu_milli=7000, memory_bytes=0),
        ),
        jobs=(
            Job(arrival_s=0.0, cpu_milli=4000, memory_bytes=8 * GiB, duration_s=9.0, pool="b"),
            Job(arrival_s=0.0, cpu_milli=4000, memory_bytes=GiB, duration_s=9.0, pool="b"),
            Job(arrival_s=0.0, cpu_milli=4000, memory_bytes=8 * GiB, duration_s=9.0, pool="c"),
            Job(arrival_s=0.0, cpu_milli=4000, memory_bytes=8 * GiB, duration_s=9.0),
        ),
        qps=50.0,
        burst=100,
        until_s=5.0,
    )
    fast = assert_same_decisions(case)
    assert [(name, node) for _, name, node in fast.bindings] == [
        ("job-1-1", "node-0000"),
        ("job-2-2", "node-0002"),
        ("job-3-3", "node-0002"),
    ]


def test_running_out_of_tokens_mid_round_carries_the_rest_to_later_rounds() -> None:
    case = Case(
        node_cpu=(8000,) * 5,
        node_memory=(16 * GiB,) * 5,
        pools=None,
        online=(),
        jobs=tuple(
            Job(arrival_s=float(t), cpu_milli=cpu, memory_bytes=GiB, duration_s=d, pods=pods)
            for t, cpu, d, pods in [
                (0, 500, 30.0, 12),
                (0, 3000, 5.0, 3),
                (1, 250, 2.0, 8),
                (3, 6000, 40.0, 2),
                (4, 500, 1.0, 10),
            ]
        ),
        qps=3.0,
        burst=4,
    )
    fast = assert_same_decisions(case)
    times = [t for t, _, _ in fast.bindings]
    # Round 0 has 15 pods and a budget of burst 4 + 1 s · 3 qps = 7: the burst goes out at
    # once, the other three with the tokens of the coming second. The 8th pod waits for
    # round 1, whose budget starts from an empty bucket.
    assert times[:7] == pytest.approx([0, 0, 0, 0, 1 / 3, 2 / 3, 1])
    assert times[7] == pytest.approx(4 / 3)
    assert len(fast.bindings) == 35


def test_pool_selectors_keep_pods_on_their_pool_even_when_other_nodes_are_empty() -> None:
    pools = ("online", "online", "offline", "online", "offline")
    case = Case(
        node_cpu=(8000,) * 5,
        node_memory=(16 * GiB,) * 5,
        pools=pools,
        online=(),
        jobs=(
            Job(
                arrival_s=0.0,
                cpu_milli=2000,
                memory_bytes=GiB,
                duration_s=20.0,
                pods=10,
                pool="offline",
            ),
            Job(arrival_s=0.5, cpu_milli=500, memory_bytes=GiB, duration_s=20.0, pods=3),
            Job(
                arrival_s=1.0,
                cpu_milli=4000,
                memory_bytes=GiB,
                duration_s=5.0,
                pods=4,
                pool="online",
            ),
        ),
        qps=50.0,
        burst=100,
    )
    fast = assert_same_decisions(case)
    offline_pods = {p.name for p in fast.cluster.records if p.pool == "offline"}
    for _, name, node in fast.bindings:
        if name in offline_pods:
            assert pools[int(node.removeprefix("node-"))] == "offline"


def test_the_stock_wiring_with_the_job_controller_matches_the_naive_scheduler() -> None:
    # The request-based policy's wiring: job controller (QPS 20, burst 30) + scheduler.
    rng = np.random.default_rng(3)
    jobs = tuple(
        Job(
            arrival_s=float(t),
            cpu_milli=int(rng.choice([500, 2000, 6000])),
            memory_bytes=int(rng.choice([1, 4])) * GiB,
            duration_s=float(rng.uniform(1, 30)),
            pods=int(rng.choice([1, 4])),
        )
        for t in np.sort(rng.uniform(0, 60, 80))
    )
    sc = simkit.scenario(
        duration_s=300.0,
        step_s=300.0,
        control_plane={"scheduler_qps": 5.0, "scheduler_burst": 10},
    )
    runs: list[list[simkit.Binding]] = []
    for naive in (False, True):
        wl = simkit.workload(sc, node_cpu=(8000,) * 6, node_memory=(16 * GiB,) * 6, jobs=jobs)
        loop, c = simkit.cluster(sc, wl)
        bindings = simkit.record_bindings(c)
        if naive:
            cp = sc.control_plane
            controller = StockJobController(
                c,
                loop,
                qps=cp.controller_qps,
                burst=cp.controller_burst,
                requests_per_job=cp.requests_per_job,
            )
            controller.start()
            NaiveScheduler(c, loop, qps=5.0, burst=10, round_s=cp.scheduling_round)
        else:
            install_stock(sc, c, loop, pool=None)
        loop.run(300.0)
        runs.append(bindings)
    assert runs[0] == runs[1]
    assert len(runs[0]) == sum(j.pods for j in jobs)


def test_a_long_stream_of_pods_past_a_few_unschedulable_ones_keeps_the_same_decisions() -> None:
    # Over a thousand pods go through the queue (it grows its arrays) while a few big
    # pods stay unschedulable for hundreds of rounds.
    jobs = [
        Job(arrival_s=k * 0.3, cpu_milli=500 + 250 * (k % 3), memory_bytes=GiB, duration_s=4.0)
        for k in range(1400)
    ]
    jobs += [
        Job(arrival_s=float(t), cpu_milli=7500, memory_bytes=2 * GiB, duration_s=30.0)
        for t in (2, 50, 51, 200)
    ]
    case = Case(
        node_cpu=(8000,) * 4,
        node_memory=(16 * GiB,) * 4,
        pools=None,
        online=(OnlinePod(node=0, cpu_milli=1000, memory_bytes=GiB),),
        jobs=tuple(jobs),
        qps=50.0,
        burst=100,
        until_s=600.0,
    )
    fast = assert_same_decisions(case)
    assert len(fast.bindings) >= 1400


def test_pods_selecting_a_pool_no_node_has_stay_pending() -> None:
    # What the reserved policy does with offline_pool_fraction 0: every node is
    # `colo.io/pool=online`, offline pods select `colo.io/pool=offline`.
    sc = simkit.scenario(duration_s=60.0, step_s=60.0)
    sc = sc.model_copy(
        update={
            "policies": sc.policies.model_copy(
                update={
                    "reserved": sc.policies.reserved.model_copy(
                        update={"offline_pool_fraction": 0.0}
                    )
                }
            )
        }
    )
    jobs = (Job(arrival_s=0.0, cpu_milli=500, memory_bytes=GiB, duration_s=10.0, pods=3),)
    wl = simkit.workload(sc, node_cpu=(8000,) * 3, node_memory=(16 * GiB,) * 3, jobs=jobs)
    policy = ReservedPolicy(sc)
    pools = policy.node_pools(wl)
    assert pools == ["online"] * 3
    loop, c = simkit.cluster(sc, wl, pools=pools)
    policy.install(c, loop)
    loop.run(60.0)
    assert [p.phase for p in c.records] == [Phase.PENDING] * 3


def test_the_naive_reference_itself_keeps_pool_selectors() -> None:
    """The reference must be able to fail: a pool-less node is no place for a pool pod."""
    case = Case(
        node_cpu=(8000,) * 2,
        node_memory=(16 * GiB,) * 2,
        pools=(None, "offline"),
        online=(),
        jobs=(
            Job(
                arrival_s=0.0,
                cpu_milli=500,
                memory_bytes=GiB,
                duration_s=5.0,
                pods=3,
                pool="offline",
            ),
        ),
        qps=50.0,
        burst=100,
    )
    slow = run(case, naive=True)
    assert [node for _, _, node in slow.bindings] == ["node-0001"] * 3


def many_shapes_case(rng: np.random.Generator) -> Case:
    """A backlog of many distinct shapes on a few nodes that free up one pod at a time,
    and a budget that runs out in the middle of a round."""
    nodes = int(rng.integers(2, 6))
    pools = tuple(rng.choice(np.array(["a", "b"], dtype=object), nodes).tolist())
    pod_pools: list[str | None] = [None, "a", "b"] if rng.random() < 0.5 else [None]
    arrivals = np.sort(rng.uniform(0.0, 60.0, int(rng.integers(40, 160))))
    jobs = tuple(
        Job(
            arrival_s=float(np.floor(t) if rng.random() < 0.3 else t),
            cpu_milli=int(rng.integers(1, 36)) * 250,
            memory_bytes=int(rng.integers(1, 30)) * GiB // 2,
            duration_s=float(rng.choice([1.0, 3.0, 8.0, 30.0])) * rng.uniform(0.5, 1.5),
            pods=int(rng.choice([1, 1, 2, 3])),
            pool=pod_pools[int(rng.integers(0, len(pod_pools)))],
        )
        for t in arrivals
    )
    return Case(
        node_cpu=tuple(int(rng.choice([8000, 16000])) for _ in range(nodes)),
        node_memory=(16 * GiB,) * nodes,
        pools=pools if len(pod_pools) > 1 else None,
        online=(),
        jobs=jobs,
        qps=float(rng.choice([1.0, 2.0, 5.0, 50.0])),
        burst=int(rng.choice([1, 2, 4, 100])),
        round_s=float(rng.choice([0.5, 1.0])),
        pod_startup_s=float(rng.choice([0.0, 1.0])),
        max_pods=int(rng.choice([3, 110])),
        until_s=300.0,
    )


@pytest.mark.parametrize("seed", range(30))
def test_a_backlog_of_many_shapes_freed_node_by_node_gets_the_naive_schedulers_bindings(
    seed: int,
) -> None:
    # A round checks the heads of every waiting shape against the freed nodes at once and
    # drops those the pods placed before them left no room for; that must still be the
    # naive walk over every pending pod, whoever runs out of budget where.
    fast = assert_same_decisions(many_shapes_case(np.random.default_rng(1000 + seed)))
    assert fast.bindings
