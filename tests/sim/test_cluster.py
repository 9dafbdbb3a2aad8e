"""SimCluster through its ports: the pod lifecycle, admission, slowdown, eviction, views."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import simkit
from simkit import GiB, Job, OnlinePod

from colo.core.changes import ChangeKind, ClusterEvent, PodRef
from colo.core.errors import Conflict, NotFound
from colo.core.objects import Node, Pod
from colo.sim.cluster import OFFLINE_NAMESPACE, Phase, SimCluster, SimPod, complete
from colo.sim.controlplane import StockJobController
from colo.sim.engine import EventLoop
from colo.sim.scenario import Scenario

WEB = OnlinePod(node=0, cpu_milli=2000, memory_bytes=2 * GiB)


def make(
    jobs: tuple[Job, ...] = (Job(0.0, 1000, GiB, 30.0),),
    *,
    nodes: int = 2,
    node_cpu: int = 4000,
    node_memory: int = 8 * GiB,
    online: tuple[OnlinePod, ...] = (),
    pools: list[str | None] | None = None,
    sc: Scenario | None = None,
) -> tuple[EventLoop, SimCluster]:
    sc = sc or simkit.scenario(control_plane={"pod_startup": 2.0})
    wl = simkit.workload(
        sc,
        node_cpu=[node_cpu] * nodes,
        node_memory=[node_memory] * nodes,
        jobs=jobs,
        online=online,
    )
    return simkit.cluster(sc, wl, online=online, pools=pools)


def create(c: SimCluster, job: int = 0, slot: int = 0, pool: str | None = None) -> SimPod:
    """Create a pod of `job` as the job controller would."""
    jobs = c.workload.jobs
    return c.create_pod(
        job=job,
        slot=slot,
        cpu_milli=int(jobs.cpu_milli[job]),
        memory_bytes=int(jobs.memory_bytes[job]),
        duration_s=float(jobs.duration_s[job]),
        due_s=float(jobs.arrival_s[job]),
        cron=False,
        pool=pool,
    )


def phase(pod: SimPod) -> Phase:
    """The pod's phase now (a call, so type checkers do not keep an earlier narrowing)."""
    return pod.phase


def bind(c: SimCluster, pod: SimPod | PodRef, node: str = "node-0000") -> None:
    complete(c.bind(pod if isinstance(pod, PodRef) else simkit.ref(pod), node))


# ---- lifecycle ---------------------------------------------------------------------------


def test_a_bound_pod_starts_after_pod_startup_and_finishes_after_its_duration() -> None:
    loop, c = make()
    freed: list[int] = []
    c.on_freed(freed.append)
    pod = create(c)
    loop.run(5.0)
    bind(c, pod, "node-0001")
    assert pod.phase is Phase.BOUND
    assert c.requested_cpu.tolist() == [0, 1000]
    assert c.requested_memory.tolist() == [0, GiB]
    loop.run(6.999)
    assert pod.phase is Phase.BOUND
    loop.run(7.0)  # bound at 5 + pod_startup 2
    assert phase(pod) is Phase.RUNNING
    assert pod.started_s == 7.0
    assert c.slot_started.tolist() == [7.0]
    assert c.offline_cpu.tolist() == [0.0, 1000.0]
    loop.run(36.999)
    assert phase(pod) is Phase.RUNNING
    loop.run(37.0)  # + duration 30
    assert phase(pod) is Phase.SUCCEEDED
    assert pod.end_s == 37.0
    assert c.jobs_completed == 1
    assert c.jobs_pods_done.tolist() == [1]
    assert freed == [1]
    assert c.requested_cpu.tolist() == [0, 0]
    assert c.free_memory().tolist() == [8 * GiB, 8 * GiB]
    assert c.offline_cpu.tolist() == [0.0, 0.0]


def test_a_job_completes_only_when_all_its_pods_have_succeeded() -> None:
    loop, c = make((Job(0.0, 500, GiB, 10.0, pods=2),))
    first, second = create(c, slot=0), create(c, slot=1)
    bind(c, first)
    loop.run(4.0)
    bind(c, second)
    loop.run(12.0)  # first ends at 2 + 10
    assert (first.phase, second.phase) == (Phase.SUCCEEDED, Phase.RUNNING)
    assert c.jobs_completed == 0
    loop.run(16.0)  # second ends at 4 + 2 + 10
    assert c.jobs_completed == 1
    assert c.slot_started.tolist() == [2.0, 6.0]


def test_a_pod_bound_where_it_does_not_fit_fails_admission_and_its_job_recreates_it() -> None:
    jobs = (Job(0.0, 3000, GiB, 30.0), Job(0.0, 2000, GiB, 30.0))
    loop, c = make(jobs)
    controller = StockJobController(c, loop, qps=20.0, burst=30, requests_per_job=3)
    lost: list[SimPod] = []
    c.on_lost(lost.append)
    controller.start()
    loop.run(0.0)
    big, small = c.records
    bind(c, big)
    loop.run(3.0)
    bind(c, small)  # 3000m + 2000m on a 4000m node: the kubelet says OutOfcpu
    assert small.phase is Phase.FAILED
    assert c.admission_failures == 1
    assert lost == [small]
    assert c.requested_cpu.tolist() == [3000, 0]  # the rejected pod holds nothing
    view = c.pod(small.key)
    assert view is not None
    assert (view.phase, view.node_name) == ("Failed", None)
    assert small.key not in {p.key for p in c.pods()}
    loop.run(3.0)
    replacement = c.records[-1]
    assert len(c.records) == 3
    assert (replacement.job, replacement.slot) == (small.job, small.slot)
    assert replacement.phase is Phase.PENDING
    assert replacement.due_s == 0.0  # the wait still counts from when the job was due
    bind(c, replacement, "node-0001")
    assert phase(replacement) is Phase.BOUND


@pytest.mark.parametrize(
    ("second", "pod_slots", "admitted"),
    [
        pytest.param(Job(0.0, 1000, GiB, 9.0), 110, True, id="room for it is admitted"),
        pytest.param(Job(0.0, 1001, GiB, 9.0), 110, False, id="one millicore short"),
        pytest.param(Job(0.0, 500, 5 * GiB, 9.0), 110, False, id="memory short"),
        pytest.param(Job(0.0, 500, GiB, 9.0), 1, False, id="no pod slot left"),
    ],
)
def test_admission_checks_cpu_memory_and_pod_slots_against_what_is_bound(
    second: Job, pod_slots: int, admitted: bool
) -> None:
    _, c = make((Job(0.0, 3000, 4 * GiB, 9.0), second), nodes=1, node_memory=8 * GiB)
    c.alloc_pods[:] = pod_slots
    first, other = create(c, job=0), create(c, job=1)
    bind(c, first)
    bind(c, other)
    assert other.phase is (Phase.BOUND if admitted else Phase.FAILED)
    assert c.admission_failures == (0 if admitted else 1)
    assert c.requested_pods.tolist() == [2 if admitted else 1]


def test_binding_a_pod_twice_is_a_conflict_and_changes_nothing() -> None:
    _, c = make()
    pod = create(c)
    bind(c, pod)
    for node in ("node-0000", "node-0001"):
        with pytest.raises(Conflict, match=pod.key):
            bind(c, pod, node)
    assert pod.node == 0
    assert c.requested_cpu.tolist() == [1000, 0]


def test_binding_with_another_pods_uid_is_a_conflict() -> None:
    _, c = make()
    pod = create(c)
    with pytest.raises(Conflict, match="uid"):
        bind(c, PodRef(OFFLINE_NAMESPACE, pod.name, "12345"))
    assert pod.phase is Phase.PENDING


def test_unknown_pods_and_nodes_are_not_found() -> None:
    _, c = make()
    pod = create(c)
    with pytest.raises(NotFound, match="batch/job-9-9"):
        bind(c, PodRef(OFFLINE_NAMESPACE, "job-9-9"))
    with pytest.raises(NotFound, match="node-9999"):
        bind(c, pod, "node-9999")
    with pytest.raises(NotFound):
        complete(c.evict(PodRef(OFFLINE_NAMESPACE, "job-9-9"), reason="test"))
    with pytest.raises(NotFound, match="node-9999"):
        complete(c.patch_extended_resources("node-9999", capacity={}, allocatable={}))
    assert pod.phase is Phase.PENDING
    assert c.pod("batch/job-9-9") is None
    assert c.node("node-9999") is None


def test_an_evicted_pod_releases_its_node_and_is_lost_to_its_owner() -> None:
    loop, c = make()
    lost: list[SimPod] = []
    freed: list[int] = []
    c.on_lost(lost.append)
    c.on_freed(freed.append)
    pod = create(c)
    bind(c, pod)
    loop.run(10.0)
    complete(c.evict(simkit.ref(pod), reason="colo: interference"))
    assert pod.phase is Phase.EVICTED
    assert c.evictions == 1
    assert (lost, freed) == ([pod], [0])
    assert c.requested_cpu.tolist() == [0, 0]
    assert c.offline_cpu.tolist() == [0.0, 0.0]
    assert c.events == [(10.0, "Pod", pod.key, "Evicted", "colo: interference")]
    loop.run(100.0)
    assert pod.phase is Phase.EVICTED  # its end was cancelled
    assert c.jobs_pods_done.tolist() == [0]
    with pytest.raises(Conflict, match="EVICTED"):
        complete(c.evict(simkit.ref(pod), reason="again"))


def test_a_pending_pod_cannot_be_evicted() -> None:
    _, c = make()
    pod = create(c)
    with pytest.raises(Conflict, match="PENDING"):
        complete(c.evict(simkit.ref(pod), reason="test"))
    assert c.evictions == 0


# ---- contention ---------------------------------------------------------------------------

# One 4-core node. The online pod requests 2 cores and wants all 4; the offline pod
# requests 2 cores and, at 0.8 usage per request, wants 1600m. Offline cpu weight is 0.25
# per requested milli (a squeezed offline group): weights 2000 : 500.
#   online share = 4000 · 2000/2500 = 3200; g_on = min(4000, max(3200, 4000 − 1600)) = 3200
#   g_off = min(1600, 4000 − 3200) = 800, so the offline pod runs at 800/1600 = half speed.
# With a 10 s step it loses 5 s at every tick it is running at.


def starved_node(
    duration_s: float, *, online_usage_milli: float = 4000.0
) -> tuple[EventLoop, SimCluster, SimPod]:
    """The node above with the offline pod bound at t=0 (it starts at once) and ticking."""
    sc = simkit.scenario(
        step_s=10.0,
        control_plane={"pod_startup": 0.0},
        offline={"cpu_usage_to_request": 0.8},
    )
    web = OnlinePod(node=0, cpu_milli=2000, memory_bytes=GiB, cpu_usage_milli=online_usage_milli)
    loop, c = make((Job(0.0, 2000, GiB, duration_s),), nodes=1, online=(web,), sc=sc)
    c.offline_weight_per_milli = 0.25
    c.start_ticks()
    pod = create(c)
    bind(c, pod)
    return loop, c, pod


def test_a_pod_on_a_cpu_starved_node_runs_at_its_granted_share_of_what_it_asks() -> None:
    loop, _, pod = starved_node(20.0)
    loop.run(39.999)
    assert pod.phase is Phase.RUNNING
    loop.run(40.0)  # 20 s of work at half speed
    assert phase(pod) is Phase.SUCCEEDED
    assert pod.end_s == 40.0


@pytest.mark.parametrize(
    ("work_s", "end_s"),
    [
        pytest.param(4.0, 8.0, id="work that ends inside the first step takes twice as long"),
        pytest.param(
            12.0, 24.0, id="work that ends inside a later step is not charged a whole step"
        ),
        pytest.param(5.0, 10.0, id="work that ends exactly at a tick ends there"),
    ],
)
def test_a_starved_pod_is_charged_only_the_time_it_runs_slow(work_s: float, end_s: float) -> None:
    loop, _, pod = starved_node(work_s)
    loop.run(end_s - 0.001)
    assert pod.phase is Phase.RUNNING
    loop.run(end_s)
    assert phase(pod) is Phase.SUCCEEDED
    assert pod.end_s == pytest.approx(end_s)


def test_a_pod_on_a_node_with_cpu_to_spare_runs_at_full_speed() -> None:
    loop, _, pod = starved_node(20.0, online_usage_milli=1000.0)
    loop.run(20.0)
    assert pod.phase is Phase.SUCCEEDED
    assert pod.end_s == 20.0


def test_the_starved_node_reports_what_each_group_was_granted() -> None:
    loop, c, _ = starved_node(1000.0)
    loop.run(30.0)
    assert c.series.online_cpu_util[:4].tolist() == [0.8] * 4
    assert c.series.offline_cpu_util[:4].tolist() == [0.2] * 4
    assert c.series.cpu_util[:4].tolist() == [1.0] * 4


# ---- memory pressure -----------------------------------------------------------------------


def test_memory_pressure_evicts_the_newest_offline_pods_until_the_node_fits() -> None:
    # A 10 GiB node; online pods use 9.25 GiB; each offline pod requests 1 GiB and uses
    # half of it. Three offline pods use 1.5 GiB: 0.75 GiB too much, so the newest two go.
    sc = simkit.scenario(step_s=10.0, offline={"memory_usage_to_request": 0.5})
    online = (
        OnlinePod(node=0, cpu_milli=1000, memory_bytes=GiB, memory_usage_bytes=37 * GiB // 4),
    )
    loop, c = make(
        (Job(0.0, 500, GiB, 1000.0, pods=3),), nodes=1, node_memory=10 * GiB, online=online, sc=sc
    )
    StockJobController(c, loop, qps=20.0, burst=30, requests_per_job=3)  # recreates
    pods = [create(c, slot=k) for k in range(3)]
    for k, pod in enumerate(pods):  # bound at 0, 1, 2: started at 1, 2, 3
        loop.schedule(float(k), partial(bind, c, pod))
    c.start_ticks()
    loop.run(9.0)
    assert [p.phase for p in pods] == [Phase.RUNNING] * 3
    assert c.evictions == 0
    loop.run(10.0)
    assert [p.phase for p in pods] == [Phase.RUNNING, Phase.EVICTED, Phase.EVICTED]
    assert c.evictions == 2
    assert [e[2:4] for e in c.events] == [(pods[2].key, "Evicted"), (pods[1].key, "Evicted")]
    assert c.free_memory().tolist() == [8 * GiB]
    assert c.series.mem_util[1] == 1.0  # the tick saw the node full
    loop.run(11.0)
    assert [(p.job, p.slot, p.phase) for p in c.records[3:]] == [
        (0, 2, Phase.PENDING),
        (0, 1, Phase.PENDING),
    ]


# ---- views ---------------------------------------------------------------------------------


def test_node_views_carry_capacity_allocatable_and_pool_labels() -> None:
    sc = simkit.scenario(reserved_cpu=1000, reserved_memory=GiB)
    _, c = make(
        nodes=3, node_cpu=8000, node_memory=16 * GiB, pools=["online", None, "offline"], sc=sc
    )
    nodes = c.nodes()
    assert all(isinstance(n, Node) for n in nodes)
    assert [n.name for n in nodes] == ["node-0000", "node-0001", "node-0002"]
    n0 = nodes[0]
    assert (n0.capacity.cpu_milli, n0.capacity.memory_bytes, n0.capacity.pods) == (
        8000,
        16 * GiB,
        110,
    )
    assert (n0.allocatable.cpu_milli, n0.allocatable.memory_bytes, n0.allocatable.pods) == (
        7000,
        15 * GiB,
        110,
    )
    assert n0.schedulable
    assert [n.labels.get("colo.io/pool") for n in nodes] == ["online", None, "offline"]
    assert nodes[1].labels["kubernetes.io/hostname"] == "node-0001"
    assert c.node("node-0002") == nodes[2]


def test_pod_views_carry_requests_node_name_selector_and_phase() -> None:
    loop, c = make()
    pod = create(c, pool="offline")
    view = c.pod(pod.key)
    assert isinstance(view, Pod)
    assert (view.namespace, view.name, view.uid) == ("batch", "job-0-0", "0")
    assert (view.requests.cpu_milli, view.requests.memory_bytes, view.requests.pods) == (
        1000,
        GiB,
        1,
    )
    assert (view.node_name, view.phase) == (None, "Pending")
    assert view.node_selector == {"colo.io/pool": "offline"}
    assert view.labels["job-name"] == "job-0"
    bind(c, pod, "node-0001")
    bound = c.pod(pod.key)
    assert bound is not None
    assert (bound.node_name, bound.phase) == ("node-0001", "Pending")
    loop.run(2.0)
    running = c.pod(pod.key)
    assert running is not None
    assert (running.node_name, running.phase) == ("node-0001", "Running")
    assert [p.key for p in c.pods()] == [pod.key]
    loop.run(32.0)
    done = c.pod(pod.key)
    assert done is not None
    assert (done.node_name, done.phase) == (None, "Succeeded")
    assert c.pods() == []


def test_subscribers_see_pods_added_and_modified_until_they_unsubscribe() -> None:
    loop, c = make((Job(0.0, 1000, GiB, 30.0), Job(0.0, 500, GiB, 5.0)))
    seen: list[ClusterEvent] = []
    unsubscribe = c.subscribe(seen.append)
    pod = create(c)
    bind(c, pod, "node-0001")
    loop.run(40.0)
    summary = [(e.kind, e.pod.phase, e.pod.node_name) for e in seen if e.pod is not None]
    assert summary[0] == (ChangeKind.ADDED, "Pending", None)
    assert summary[1] == (ChangeKind.MODIFIED, "Pending", "node-0001")
    assert summary[-1] == (ChangeKind.MODIFIED, "Succeeded", None)
    assert all(e.node is None and e.pod is not None and e.pod.key == pod.key for e in seen)
    unsubscribe()
    count = len(seen)
    create(c, job=1)
    assert len(seen) == count


def test_subscribers_see_a_pod_start_running() -> None:
    loop, c = make()
    seen: list[ClusterEvent] = []
    c.subscribe(seen.append)
    pod = create(c)
    bind(c, pod)
    loop.run(2.0)
    view = c.pod(pod.key)
    assert view is not None and view.phase == "Running"
    assert [e.pod.phase for e in seen if e.pod is not None] == ["Pending", "Pending", "Running"]


def test_patched_extended_resources_show_in_the_node_view() -> None:
    _, c = make()
    complete(
        c.patch_extended_resources(
            "node-0001",
            capacity={"colo.io/batch-cpu": 3000},
            allocatable={"colo.io/batch-cpu": 3000, "colo.io/batch-memory": 2 * GiB},
        )
    )
    node = c.node("node-0001")
    assert node is not None
    assert node.allocatable.get("colo.io/batch-cpu") == 3000
    assert node.allocatable.get("colo.io/batch-memory") == 2 * GiB
    assert node.allocatable.cpu_milli == 4000  # the standard resources are untouched
    other = c.node("node-0000")
    assert other is not None and other.allocatable.get("colo.io/batch-cpu") == 0
    complete(
        c.patch_extended_resources(
            "node-0001",
            capacity={"colo.io/batch-cpu": 1000},
            allocatable={"colo.io/batch-cpu": 1000},
        )
    )
    node = c.node("node-0001")
    assert node is not None
    assert node.allocatable.get("colo.io/batch-cpu") == 1000
    # merge semantics, as the API server's merge patch: resources not named stay as they were
    assert node.allocatable.get("colo.io/batch-memory") == 2 * GiB


def test_patched_extended_capacity_and_allocatable_are_kept_apart() -> None:
    _, c = make()
    complete(
        c.patch_extended_resources(
            "node-0000",
            capacity={"colo.io/batch-cpu": 3000},
            allocatable={"colo.io/batch-cpu": 2500},
        )
    )
    node = c.node("node-0000")
    assert node is not None
    assert node.allocatable.get("colo.io/batch-cpu") == 2500
    assert node.capacity.get("colo.io/batch-cpu") == 3000


def test_recorded_events_carry_the_simulated_time() -> None:
    loop, c = make()
    loop.run(12.5)
    complete(c.record(kind="Node", key="node-0000", reason="Throttled", message="cpu"))
    assert c.events == [(12.5, "Node", "node-0000", "Throttled", "cpu")]


def test_a_port_call_that_suspends_is_refused() -> None:
    class Suspends:
        def __await__(self):  # type: ignore[no-untyped-def]
            yield

    async def suspending() -> None:
        await Suspends()

    with pytest.raises(RuntimeError, match="must not await"):
        complete(suspending())


def test_online_pods_hold_their_requests_on_their_nodes_from_the_start() -> None:
    _, c = make(online=(WEB, OnlinePod(node=1, cpu_milli=500, memory_bytes=GiB)))
    assert c.requested_cpu.tolist() == [2000, 500]
    assert c.requested_pods.tolist() == [1, 1]
    assert c.free_memory().tolist() == [6 * GiB, 7 * GiB]
    assert np.array_equal(c.free_cpu(), [2000, 3500])


def test_in_batch_mode_offline_pods_fit_and_score_against_batch_allocatable() -> None:
    from colo.sim.controlplane import StockScheduler

    loop, c = make(
        (Job(0.0, 5000, GiB, 600.0), Job(10.0, 1000, GiB, 600.0)), nodes=2, node_cpu=4000
    )
    c.use_batch_resources()
    for name, cpu in (("node-0000", 2000), ("node-0001", 8000)):
        batch = {"colo.io/batch-cpu": cpu, "colo.io/batch-memory": 4 * GiB}
        complete(c.patch_extended_resources(name, capacity={}, allocatable=batch))
    StockScheduler(c, loop, qps=100, burst=100, round_s=1.0)
    StockJobController(c, loop, qps=100, burst=100, requests_per_job=1, pool=None).start()
    loop.run(20.0)
    big, small = c.records
    assert big.node == 1  # 5000m of batch cpu fits only there, though plain cpu is 4000m
    # least allocated over the batch resources: node-0000 is empty, node-0001 has 3000 of
    # 8000 batch millicores free; scored over plain cpu (2000 vs 3000 of 4000 free) the
    # pod would have gone to node-0001
    assert small.node == 0
    assert c.batch_requested_cpu.tolist() == [1000, 5000]
    assert c.requested_cpu.tolist() == [0, 0]  # plain cpu untouched by offline pods
