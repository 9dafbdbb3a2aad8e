"""Virtual nodes in the simulated cluster: their views, admission, running, accounting,
colo-batch's use of them, and the cron cost figures built on that."""

from __future__ import annotations

import numpy as np
import pytest
import simkit
from simkit import GiB, Job

from colo.core.objects import Node
from colo.core.resources import BATCH_CPU, BATCH_MEMORY
from colo.sched.requirements import VirtualNodePolicy
from colo.sim.batch_scheduler import SimBatchScheduler
from colo.sim.cluster import Phase, SimCluster, SimPod, complete
from colo.sim.coordinator import SimCoordinator
from colo.sim.engine import EventLoop
from colo.sim.runner import cron_costs, cron_pool_nodes
from colo.sim.scenario import Scenario


def scenario(**cluster: object) -> Scenario:
    sc = simkit.scenario(control_plane={"pod_startup": 2.0})
    settings = {"virtual_nodes": 1, "virtual_node_cpu": 3000, "virtual_node_memory": 4 * GiB,
                "virtual_node_pods": 2, "virtual_startup": 0.5} | cluster  # fmt: skip
    return sc.model_copy(update={"cluster": sc.cluster.model_copy(update=settings)})


def make(
    jobs: tuple[Job, ...] = (Job(0.0, 1000, GiB, 30.0),), sc: Scenario | None = None
) -> tuple[EventLoop, SimCluster]:
    sc = sc or scenario()
    wl = simkit.workload(sc, node_cpu=[4000, 4000], node_memory=[8 * GiB] * 2, jobs=jobs)
    return simkit.cluster(sc, wl)


def create(c: SimCluster, job: int = 0, slot: int = 0, *, cron: bool = False) -> SimPod:
    jobs = c.workload.jobs
    return c.create_pod(
        job=job,
        slot=slot,
        cpu_milli=int(jobs.cpu_milli[job]),
        memory_bytes=int(jobs.memory_bytes[job]),
        duration_s=float(jobs.duration_s[job]),
        due_s=float(jobs.arrival_s[job]),
        cron=cron,
    )


def test_a_virtual_node_looks_as_a_virtual_kubelet_node_does_through_from_k8s() -> None:
    _, c = make()
    c.use_batch_resources()
    views = c.nodes()
    assert [n.name for n in views] == ["node-0000", "node-0001", "virtual-node-0000"]
    quota = {"cpu": "3", "memory": "4Gi", "pods": "2"}
    quota |= {BATCH_CPU: "3000", BATCH_MEMORY: str(4 * GiB)}
    expected = Node.from_k8s(
        {
            "metadata": {"name": "virtual-node-0000", "labels": {"type": "virtual-kubelet"}},
            "spec": {
                "taints": [
                    {"key": "virtual-kubelet.io/provider", "value": "colo", "effect": "NoSchedule"}
                ]
            },
            "status": {
                "capacity": quota,
                "allocatable": quota,
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
    )
    assert views[2] == expected
    assert (views[2].labels, views[2].taints, views[2].allocatable) == (
        expected.labels,
        expected.taints,
        expected.allocatable,
    )
    assert c.node("virtual-node-0000") == expected


def test_a_pod_on_a_virtual_node_starts_after_its_start_up_and_frees_no_standard_node() -> None:
    loop, c = make()
    freed: list[int] = []
    c.on_freed(freed.append)
    pod = create(c)
    loop.run(1.0)
    complete(c.bind(simkit.ref(pod), "virtual-node-0000"))
    assert pod.phase is Phase.BOUND
    assert c.pod(pod.key).node_name == "virtual-node-0000"  # type: ignore[union-attr]
    assert c.requested_cpu.tolist() == [0, 0]  # standard nodes hold nothing of it
    loop.run(1.5)  # bound at 1 + virtual_startup 0.5
    assert pod.phase is Phase.RUNNING
    assert c.offline_cpu.tolist() == [0.0, 0.0]
    assert c.core_hours(11.5)[0, 1] == pytest.approx(1.0 * 10.0 / 3600)  # running so far
    loop.run(31.5)
    assert pod.phase is Phase.SUCCEEDED
    assert c.jobs_completed == 1
    assert freed == []
    assert c.core_s.tolist() == [[0.0, 30.0], [0.0, 0.0]]  # 1 core × 30 s, not cron
    assert c.virtual.cpu_used.tolist() == [0]


def test_a_virtual_node_admits_up_to_its_quota_and_fails_the_rest() -> None:
    jobs = (Job(0.0, 1000, GiB, 30.0, pods=3),)
    loop, c = make(jobs)
    lost: list[SimPod] = []
    c.on_lost(lost.append)
    pods = [create(c, slot=i) for i in range(3)]
    for pod in pods[:2]:
        complete(c.bind(simkit.ref(pod), "virtual-node-0000"))
    assert [p.phase for p in pods[:2]] == [Phase.BOUND, Phase.BOUND]
    complete(c.bind(simkit.ref(pods[2]), "virtual-node-0000"))  # the pod quota is 2
    assert pods[2].phase is Phase.FAILED
    assert c.admission_failures == 1
    assert lost == [pods[2]]
    # an evicted pod gives its room back
    loop.run(1.0)
    c.evict_pod(pods[0], "test")
    assert c.virtual.pods_used.tolist() == [1]
    assert c.core_s[0, 1] == pytest.approx(0.5)  # ran 0.5 s at 1 core


@pytest.mark.parametrize(
    ("mode", "node"), [("prefer", "virtual-node-0000"), ("avoid", "node-0000")]
)
def test_colo_batch_sends_jobs_to_virtual_nodes_as_its_policy_says(mode: str, node: str) -> None:
    jobs = (Job(0.0, 1000, GiB, 30.0),)
    loop, c = make(jobs)
    c.use_batch_resources()
    batch = {BATCH_CPU: 2000, BATCH_MEMORY: 4 * GiB}  # as the agent publishes it
    complete(c.patch_extended_resources("node-0000", capacity=batch, allocatable=batch))
    coordinator = SimCoordinator(c)
    bindings = simkit.record_bindings(c)
    SimBatchScheduler(
        c, loop, ledger=coordinator.ledger, qps=100.0, burst=10, cycle_s=0.5,
        virtual=VirtualNodePolicy(jobs=mode),
    )  # fmt: skip
    simkit.feed_jobs(c, loop, jobs)
    loop.run(60.0)
    assert [n for _, _, n in bindings] == [node]
    assert c.admission_failures == 0
    assert c.jobs_completed == 1


def cron_workload(sc: Scenario, jobs: tuple[Job, ...], cron: list[bool]):  # type: ignore[no-untyped-def]
    wl = simkit.workload(sc, node_cpu=[4000, 8000, 4000], node_memory=[8 * GiB] * 3, jobs=jobs)
    wl.jobs.cron[:] = np.array(cron)  # jobs are given in arrival order
    return wl


def test_the_reserved_cron_pool_holds_the_peak_of_concurrent_cron_requests() -> None:
    sc = simkit.scenario(reserved_cpu=1000, reserved_memory=0)  # a node: 3 cores allocatable
    jobs = (
        Job(0.0, 1000, GiB, 60.0, pods=4),  # 4 cores from 0 to 60
        Job(30.0, 500, GiB, 60.0, pods=6),  # + 3 cores from 30: peak 7 → 3 nodes
        Job(60.0, 3000, GiB, 10.0, pods=1),  # the first has ended: 3 + 3 = 6 → 2 nodes
        Job(100.0, 8000, GiB, 10.0, pods=9),  # not cron
    )
    assert cron_pool_nodes(sc, cron_workload(sc, jobs, [True, True, True, False])) == 3
    assert cron_pool_nodes(sc, cron_workload(sc, jobs, [False, False, True, False])) == 1
    assert cron_pool_nodes(sc, cron_workload(sc, jobs, [False] * 4)) == 0
    # memory can set the size too: 10 GiB at once over 2 GiB allocatable
    sc_mem = simkit.scenario(reserved_cpu=0, reserved_memory=6 * GiB)  # 2 GiB allocatable
    assert cron_pool_nodes(sc_mem, cron_workload(sc_mem, jobs[:2], [True, True])) == 5


def test_cron_costs_price_virtual_core_hours_against_the_pool_paid_all_run() -> None:
    sc = simkit.scenario(duration_s=3600.0, reserved_cpu=1000)
    wl = cron_workload(sc, (Job(0.0, 1000, GiB, 60.0, pods=4),), [True])
    core_h = np.array([[5.0, 0.0], [0.25, 0.75]])  # [cron][virtual]
    got = cron_costs(sc, wl, core_h)
    # 4 cores at once over 3-core nodes: 2 nodes × 4 cores × 1 h
    assert got["cron_pool_nodes"] == 2
    assert got["cron_pool_cost_core_hours"] == pytest.approx(8.0)
    assert got["cron_pool_share"] == pytest.approx(2 / 5)
    assert got["cron_core_hours"] == pytest.approx(1.0)
    assert got["cron_virtual_share"] == pytest.approx(0.75)
    assert got["cron_cost_core_hours"] == pytest.approx(0.25 + 0.75 * 1.5)
    assert got["cron_cost_saving"] == pytest.approx(1 - 1.375 / 8.0)
