"""Builders for small hand-made simulations: a scenario, a workload, a cluster.

Everything is explicit and tiny (a few nodes, a few jobs) so a test can compute the
expected outcome by hand. Quantities are colo units: millicores, bytes, seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from colo.core.changes import PodRef
from colo.sim.cluster import OFFLINE_NAMESPACE, SimCluster, SimPod
from colo.sim.engine import PRIO_CONTROL, EventLoop
from colo.sim.scenario import Scenario
from colo.sim.workload import OfflineJobs, OnlineWorkload, Workload

GiB = 2**30
MiB = 2**20


@dataclass(frozen=True)
class Job:
    """One offline job: `pods` identical pods due at `arrival_s`."""

    arrival_s: float
    cpu_milli: int
    memory_bytes: int
    duration_s: float
    pods: int = 1
    pool: str | None = None
    """Node selector of the job's pods (only `feed_jobs` honours it)."""


@dataclass(frozen=True)
class OnlinePod:
    """One online pod pinned to `node`, with a constant CPU usage (millicores)."""

    node: int
    cpu_milli: int
    memory_bytes: int
    cpu_usage_milli: float = 0.0
    memory_usage_bytes: int = 0
    sensitivity: float = 1.0


def scenario(
    *,
    duration_s: float = 600.0,
    step_s: float = 10.0,
    reserved_cpu: int = 0,
    reserved_memory: int = 0,
    control_plane: dict[str, Any] | None = None,
    offline: dict[str, Any] | None = None,
) -> Scenario:
    """A scenario for hand-made workloads: no wave, nothing reserved unless asked."""
    base = Scenario(name="hand-made", duration=duration_s, step=step_s, wave=None)
    return base.model_copy(
        update={
            "cluster": base.cluster.model_copy(
                update={
                    "system_reserved_cpu": reserved_cpu,
                    "system_reserved_memory": reserved_memory,
                }
            ),
            "control_plane": base.control_plane.model_copy(update=control_plane or {}),
            "offline": base.offline.model_copy(update=offline or {}),
        }
    )


def workload(
    sc: Scenario,
    *,
    node_cpu: Sequence[int],
    node_memory: Sequence[int],
    jobs: Sequence[Job] = (),
    online: Sequence[OnlinePod] = (),
) -> Workload:
    """A workload of the given nodes, online pods and jobs (jobs sorted by arrival)."""
    ticks = np.arange(0.0, sc.duration, sc.step)
    ordered = sorted(jobs, key=lambda j: j.arrival_s)
    return Workload(
        node_cpu_milli=np.array(node_cpu, np.int64),
        node_memory_bytes=np.array(node_memory, np.int64),
        online=OnlineWorkload(
            cpu_milli=np.array([p.cpu_milli for p in online], np.int64),
            memory_bytes=np.array([p.memory_bytes for p in online], np.int64),
            usage=np.array(
                [np.full(len(ticks), p.cpu_usage_milli) for p in online], np.float32
            ).reshape(len(online), len(ticks)),
            memory_usage_bytes=np.array([p.memory_usage_bytes for p in online], np.int64),
            sensitivity=np.array([p.sensitivity for p in online], np.float64),
            series=["hand-made"] * len(online),
        ),
        jobs=OfflineJobs(
            arrival_s=np.array([j.arrival_s for j in ordered], np.float64),
            pods=np.array([j.pods for j in ordered], np.int64),
            cpu_milli=np.array([j.cpu_milli for j in ordered], np.int64),
            memory_bytes=np.array([j.memory_bytes for j in ordered], np.int64),
            duration_s=np.array([j.duration_s for j in ordered], np.float64),
            source=np.zeros(len(ordered), np.int8),
            cron=np.zeros(len(ordered), bool),
        ),
        tick_s=ticks,
        wave_fire_s=None,
    )


def cluster(
    sc: Scenario,
    wl: Workload,
    *,
    online: Sequence[OnlinePod] = (),
    pools: Sequence[str | None] | None = None,
) -> tuple[EventLoop, SimCluster]:
    """A fresh event loop and a cluster over `wl` (online pods where `online` pins them)."""
    loop = EventLoop()
    c = SimCluster(
        loop=loop,
        scenario=sc,
        workload=wl,
        online_pod_node=np.array([p.node for p in online], np.int64),
        node_pools=pools,
    )
    return loop, c


def feed_jobs(c: SimCluster, loop: EventLoop, jobs: Sequence[Job]) -> None:
    """Create every job's pods at its arrival, as a controller without rate limits would.

    `jobs` must be the list the workload was built from; pods keep each job's pool.
    """
    ordered = sorted(jobs, key=lambda j: j.arrival_s)

    def create(index: int, slot: int) -> None:
        job = ordered[index]
        c.create_pod(
            job=index,
            slot=slot,
            cpu_milli=job.cpu_milli,
            memory_bytes=job.memory_bytes,
            duration_s=job.duration_s,
            due_s=job.arrival_s,
            cron=False,
            pool=job.pool,
        )

    for index, job in enumerate(ordered):
        for slot in range(job.pods):
            loop.schedule(job.arrival_s, partial(create, index, slot), priority=PRIO_CONTROL)


Binding = tuple[float, str, str]


def record_bindings(c: SimCluster) -> list[Binding]:
    """Every `bind` call the cluster receives, as (time, pod name, node name), in order."""
    seen: list[Binding] = []
    bind = c.bind

    async def recording(pod: PodRef, node_name: str) -> None:
        seen.append((c.loop.now(), pod.name, node_name))
        await bind(pod, node_name)

    c.bind = recording  # type: ignore[method-assign]
    return seen


def ref(pod: SimPod) -> PodRef:
    return PodRef(OFFLINE_NAMESPACE, pod.name, str(pod.index))


@dataclass(frozen=True)
class Case:
    """A small cluster, its online pods and a stream of offline jobs."""

    node_cpu: tuple[int, ...]
    node_memory: tuple[int, ...]
    pools: tuple[str | None, ...] | None
    online: tuple[OnlinePod, ...]
    jobs: tuple[Job, ...]
    qps: float
    burst: int
    round_s: float = 1.0
    pod_startup_s: float = 1.0
    max_pods: int = 110
    until_s: float = 400.0


NODE_SHAPES = [(4000, 8 * GiB), (8000, 16 * GiB), (8000, 32 * GiB), (16000, 32 * GiB)]
POD_SHAPES = [
    (250, 512 * MiB),
    (500, 1 * GiB),
    (1000, 2 * GiB),
    (2000, 1 * GiB),
    (1000, 12 * GiB),
    (4000, 8 * GiB),
    (7000, 4 * GiB),
    (12000, 24 * GiB),  # fits only an empty big node
]


def random_case(rng: np.random.Generator, *, jobs: int, nodes: int, until_s: float) -> Case:
    """A random small cluster and job stream; most draws reuse a few shapes."""
    node_shape = rng.integers(0, len(NODE_SHAPES), nodes)
    node_cpu = tuple(NODE_SHAPES[k][0] for k in node_shape)
    node_memory = tuple(NODE_SHAPES[k][1] for k in node_shape)
    pools: tuple[str | None, ...] | None = None
    pod_pools: list[str | None] = [None]
    if rng.random() < 0.5:
        pools = tuple(rng.choice(np.array(["a", "b", ""], dtype=object), nodes).tolist())
        pools = tuple(p or None for p in pools)
        pod_pools += sorted({p for p in pools if p is not None})
    online: list[OnlinePod] = []
    for node in range(nodes):
        share = float(rng.choice([0.0, 0.25, 0.5, 0.8]))
        if share:
            online.append(
                OnlinePod(
                    node=node,
                    cpu_milli=int(node_cpu[node] * share),
                    memory_bytes=int(node_memory[node] * share),
                )
            )
    arrivals = np.sort(rng.uniform(0.0, until_s / 3, jobs))
    # A third of the arrivals on the round grid, some jobs arriving together.
    arrivals = np.where(rng.random(jobs) < 0.3, np.floor(arrivals), arrivals)
    shapes = rng.choice(len(POD_SHAPES), jobs, p=[0.2, 0.2, 0.15, 0.1, 0.1, 0.1, 0.1, 0.05])
    job_list = tuple(
        Job(
            arrival_s=float(arrivals[j]),
            cpu_milli=POD_SHAPES[shapes[j]][0],
            memory_bytes=POD_SHAPES[shapes[j]][1],
            duration_s=float(rng.choice([0.5, 3.0, 10.0, 40.0, 1000.0])) * rng.uniform(0.5, 1.5),
            pods=int(rng.choice([1, 1, 1, 2, 5])),
            pool=pod_pools[int(rng.integers(0, len(pod_pools)))],
        )
        for j in range(jobs)
    )
    return Case(
        node_cpu=node_cpu,
        node_memory=node_memory,
        pools=pools,
        online=tuple(online),
        jobs=job_list,
        qps=float(rng.choice([0.5, 1.0, 2.0, 5.0, 50.0])),
        burst=int(rng.choice([1, 2, 5, 30])),
        round_s=float(rng.choice([0.5, 1.0, 2.0])),
        pod_startup_s=float(rng.choice([0.0, 1.0])),
        max_pods=int(rng.choice([2, 4, 110])),
        until_s=until_s,
    )
