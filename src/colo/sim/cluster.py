"""A simulated Kubernetes cluster that implements colo's cluster ports.

State lives in numpy arrays over nodes (capacity, what bound pods request, what running
offline pods ask for) and in one small record per pod. Pods go through the lifecycle a
kubelet would give them: pending → bound → running (after a start-up delay) → succeeded,
or failed at admission when the node cannot fit them (as the kubelet rejects with
OutOfcpu when two schedulers over-fill a node), or evicted under memory pressure.

Every tick, the vectorized `NodeUsageModel` turns online usage curves and running offline
pods into CPU grants, memory in use and SLO violations; offline pods on CPU-starved nodes
run slower (their completion moves later). The per-tick series and the per-pod waits are
what the summary and the report are made of.

Ports: `ClusterReader` (views built on demand from the records), `Binder`, `Evictor`,
`NodeStatusPatcher`, `EventRecorder`. Their coroutines never suspend.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from colo.core.changes import ChangeKind, ClusterEvent, EventType, PodRef
from colo.core.errors import Conflict, NotFound
from colo.core.objects import Node, Pod
from colo.core.qos import QoSTier
from colo.core.resources import BATCH_CPU, BATCH_MEMORY, CPU, MEMORY, PODS, Resources
from colo.ports.cluster import Unsubscribe
from colo.sim.contention import ContentionParams
from colo.sim.engine import PRIO_MEASURE, PRIO_STATE, EventLoop, Handle
from colo.sim.scenario import Scenario
from colo.sim.usage import NodeUsageModel
from colo.sim.workload import Workload

OFFLINE_NAMESPACE = "batch"
ONLINE_NAMESPACE = "online"


class Phase(enum.IntEnum):
    PENDING = 0
    BOUND = 1
    RUNNING = 2
    SUCCEEDED = 3
    FAILED = 4
    EVICTED = 5


@dataclass(slots=True, eq=False)
class SimPod:
    """One offline pod: its job, its request and where it is in its lifecycle."""

    index: int
    job: int
    slot: int
    """Which of its job's pods this is; a replacement pod keeps the slot."""
    cpu_milli: int
    memory_bytes: int
    duration_s: float
    due_s: float
    """When the work became due (its job's arrival or the wave's fire time)."""
    created_s: float
    cron: bool
    pool: str | None = None
    """Node selector `colo.io/pool=<pool>` when set."""
    node: int = -1
    phase: Phase = Phase.PENDING
    started_s: float = float("nan")
    end_s: float = float("nan")
    end_handle: Handle | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return f"job-{self.job}-{self.index}"

    @property
    def key(self) -> str:
        return f"{OFFLINE_NAMESPACE}/{self.name}"


_PHASES = {
    Phase.PENDING: "Pending",
    Phase.BOUND: "Pending",
    Phase.RUNNING: "Running",
    Phase.SUCCEEDED: "Succeeded",
}


def _inverse(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values))
    np.divide(1.0, values, out=out, where=values > 0)
    return out


def node_names(n: int) -> list[str]:
    """The names of a simulated cluster's nodes."""
    return [f"node-{i:04d}" for i in range(n)]


@dataclass
class Series:
    """Per-tick measurements (filled in place)."""

    cpu_util: np.ndarray
    mem_util: np.ndarray
    online_cpu_util: np.ndarray
    offline_cpu_util: np.ndarray
    interference: np.ndarray


class SimCluster:
    """The simulated cluster; one per policy run."""

    def __init__(
        self,
        *,
        loop: EventLoop,
        scenario: Scenario,
        workload: Workload,
        online_pod_node: np.ndarray,
        node_pools: Sequence[str | None] | None = None,
    ) -> None:
        self.loop = loop
        self.scenario = scenario
        self.workload = workload
        n = len(workload.node_cpu_milli)
        self.node_names = node_names(n)
        self._node_index = {name: i for i, name in enumerate(self.node_names)}
        self.node_pools: list[str | None] = list(node_pools) if node_pools else [None] * n
        reserved = scenario.cluster
        self.capacity_cpu = workload.node_cpu_milli.astype(np.int64)
        self.capacity_memory = workload.node_memory_bytes.astype(np.int64)
        self.alloc_cpu = self.capacity_cpu - reserved.system_reserved_cpu
        self.alloc_memory = self.capacity_memory - reserved.system_reserved_memory
        self.alloc_pods = np.full(n, 110, np.int64)
        self.extended: list[dict[str, int]] = [{} for _ in range(n)]  # allocatable
        self.extended_capacity: list[dict[str, int]] = [{} for _ in range(n)]

        online = workload.online
        self.online_pod_node = online_pod_node
        placed = online_pod_node >= 0
        self.online_cpu_request = np.bincount(
            online_pod_node[placed], weights=online.cpu_milli[placed], minlength=n
        )
        online_memory_request = np.bincount(
            online_pod_node[placed], weights=online.memory_bytes[placed], minlength=n
        )
        # Online usage per node and tick: the sum of the curves of the pods placed there.
        self.online_usage = np.zeros((n, len(workload.tick_s)), dtype=np.float32)
        np.add.at(self.online_usage, online_pod_node[placed], online.usage[placed])
        self.requested_cpu = self.online_cpu_request.astype(np.int64)
        self.requested_memory = online_memory_request.astype(np.int64)
        self.requested_pods = np.bincount(online_pod_node[placed], minlength=n).astype(np.int64)

        self.offline_cpu = np.zeros(n, np.float64)  # requests of running offline pods
        self.offline_memory = np.zeros(n, np.float64)
        self.offline_cap: np.ndarray | None = None  # offline box quota per node (colo)
        self.offline_weight_per_milli = 1.0  # cpu.shares of offline pods per requested milli
        # Where offline pods' requests are counted: against cpu/memory allocatable, shared
        # with online pods (the baselines), or, after `use_batch_resources()` (the colo
        # policy), against the colo.io/batch-* allocatable the agents publish.
        self.batch_mode = False
        self.batch_alloc_cpu = np.zeros(n, np.int64)
        self.batch_alloc_memory = np.zeros(n, np.int64)
        self.batch_requested_cpu = np.zeros(n, np.int64)
        self.batch_requested_memory = np.zeros(n, np.int64)
        self._offline_alloc = (self.alloc_cpu, self.alloc_memory)
        self._offline_used = (self.requested_cpu, self.requested_memory)
        self._offline_inverse = (_inverse(self.alloc_cpu), _inverse(self.alloc_memory))
        self.series_sources: list[Callable[[], dict[str, np.ndarray]]] = []
        """Components that publish named series on the tick grid for the report."""
        self._running: list[set[int]] = [set() for _ in range(n)]

        c = scenario.contention
        self.usage_model = NodeUsageModel(
            cpu_capacity_milli=self.capacity_cpu,
            memory_capacity_bytes=self.capacity_memory,
            online_pod_node=online_pod_node,
            online_pod_sensitivity=online.sensitivity,
            online_pod_memory_bytes=online.memory_usage_bytes.astype(np.float64),
            params=ContentionParams(alpha=c.alpha, knee=c.knee, beta=c.beta),
            slo_bound=scenario.online.slo_inflation_bound,
        )
        ticks = len(workload.tick_s)
        self.series = Series(*(np.zeros(ticks) for _ in range(5)))
        self.records: list[SimPod] = []
        self._by_key: dict[str, SimPod] = {}
        self.jobs_pods_done = np.zeros(len(workload.jobs), np.int64)
        # First start time of every job slot (NaN until it starts): the waits come from here.
        self.slot_offset = np.concatenate([[0], np.cumsum(workload.jobs.pods)]).astype(np.int64)
        self.slot_started = np.full(int(self.slot_offset[-1]), np.nan)
        self.jobs_completed = 0
        self.evictions = 0
        self.admission_failures = 0
        self.events: list[tuple[float, str, str, str, str]] = []
        self._subscribers: list[Callable[[ClusterEvent], None]] = []
        self._on_pending: list[Callable[[SimPod], None]] = []
        self._on_freed: list[Callable[[int], None]] = []
        self._on_lost: list[Callable[[SimPod], None]] = []
        # What views share, built once: labels and owner per job, requests per shape.
        self._job_meta: dict[int, tuple[dict[str, str], str]] = {}
        self._requests: dict[tuple[int, int, bool], tuple[Resources, Resources, str]] = {}

    # ---- hooks for simulated components (fast path, no views) -------------------------
    def on_pending(self, callback: Callable[[SimPod], None]) -> None:
        """`callback(pod)` when a pod is created and waits for a scheduler."""
        self._on_pending.append(callback)

    def on_freed(self, callback: Callable[[int], None]) -> None:
        """`callback(node)` when requests on a node were released."""
        self._on_freed.append(callback)

    def on_lost(self, callback: Callable[[SimPod], None]) -> None:
        """`callback(pod)` when a pod failed admission or was evicted (its owner recreates it)."""
        self._on_lost.append(callback)

    def requests_of(self, pod: SimPod) -> dict[str, int]:
        """What the pod requests, as its view says (batch resources in batch mode)."""
        if self.batch_mode:
            return {PODS: 1, BATCH_CPU: pod.cpu_milli, BATCH_MEMORY: pod.memory_bytes}
        return {CPU: pod.cpu_milli, MEMORY: pod.memory_bytes, PODS: 1}

    def offline_allocatable(self, node: int) -> dict[str, int]:
        """A node's allocatable in colo units: cpu, memory, pods and what was patched."""
        return {
            CPU: int(self.alloc_cpu[node]),
            MEMORY: int(self.alloc_memory[node]),
            PODS: int(self.alloc_pods[node]),
            **self.extended[node],
        }

    # ---- lifecycle --------------------------------------------------------------------
    def create_pod(
        self,
        *,
        job: int,
        slot: int,
        cpu_milli: int,
        memory_bytes: int,
        duration_s: float,
        due_s: float,
        cron: bool,
        pool: str | None = None,
    ) -> SimPod:
        pod = SimPod(
            index=len(self.records),
            job=job,
            slot=slot,
            cpu_milli=cpu_milli,
            memory_bytes=memory_bytes,
            duration_s=duration_s,
            due_s=due_s,
            created_s=self.loop.now(),
            cron=cron,
            pool=pool,
        )
        self.records.append(pod)
        self._by_key[pod.key] = pod
        self._notify(ChangeKind.ADDED, pod)
        for callback in self._on_pending:
            callback(pod)
        return pod

    def online_usage_per_pod(self, pods: np.ndarray, tick: int) -> np.ndarray:
        """CPU demand (millicores) of the given online pods at tick `tick` (what cgroups show)."""
        return np.asarray(self.workload.online.usage[pods, tick], dtype=np.float64)

    def use_batch_resources(self) -> None:
        """Offline pods request colo.io/batch-* (as colo-webhook rewrites them) from now on."""
        self.batch_mode = True
        self._offline_alloc = (self.batch_alloc_cpu, self.batch_alloc_memory)
        self._offline_used = (self.batch_requested_cpu, self.batch_requested_memory)
        self._offline_inverse = (
            _inverse(self.batch_alloc_cpu),
            _inverse(self.batch_alloc_memory),
        )

    def offline_inverse(self) -> tuple[np.ndarray, np.ndarray]:
        """1 / the (cpu, memory) allocatable offline requests count against (0 where none):
        kept up to date so a scheduler's score per pod is a multiply, not a division."""
        return self._offline_inverse

    def free_cpu(self) -> np.ndarray:
        """Room for the next offline pod's cpu request (batch cpu in batch mode)."""
        return self._offline_alloc[0] - self._offline_used[0]

    def free_memory(self) -> np.ndarray:
        return self._offline_alloc[1] - self._offline_used[1]

    def free_pods(self) -> np.ndarray:
        return self.alloc_pods - self.requested_pods

    def _bind_index(self, pod: SimPod, node: int) -> None:
        if pod.phase is not Phase.PENDING:
            raise Conflict(f"pod {pod.key} is already bound to {self.node_names[pod.node]}")
        pod.node = node
        pod.phase = Phase.BOUND
        cpu_alloc, mem_alloc = self._offline_alloc
        cpu_used, mem_used = self._offline_used
        fits = (
            cpu_used[node] + pod.cpu_milli <= cpu_alloc[node]
            and mem_used[node] + pod.memory_bytes <= mem_alloc[node]
            and self.requested_pods[node] < self.alloc_pods[node]
        )
        if not fits:
            # The kubelet's admission check: the pod is rejected (OutOfcpu / OutOfmemory).
            pod.phase = Phase.FAILED
            self.admission_failures += 1
            self._notify(ChangeKind.MODIFIED, pod)
            for callback in self._on_lost:
                callback(pod)
            return
        cpu_used[node] += pod.cpu_milli
        mem_used[node] += pod.memory_bytes
        self.requested_pods[node] += 1
        startup = self.scenario.control_plane.pod_startup
        self.loop.after(startup, partial(self._start, pod), priority=PRIO_STATE)
        self._notify(ChangeKind.MODIFIED, pod)

    def _start(self, pod: SimPod) -> None:
        if pod.phase is not Phase.BOUND:
            return
        now = self.loop.now()
        pod.phase = Phase.RUNNING
        pod.started_s = now
        slot = self.slot_offset[pod.job] + pod.slot
        if np.isnan(self.slot_started[slot]):
            self.slot_started[slot] = now
        node = pod.node
        self.offline_cpu[node] += pod.cpu_milli
        self.offline_memory[node] += pod.memory_bytes
        self._running[node].add(pod.index)
        pod.end_s = now + pod.duration_s
        pod.end_handle = self.loop.schedule(
            pod.end_s, partial(self._finish, pod), priority=PRIO_STATE
        )
        self._notify(ChangeKind.MODIFIED, pod)

    def _finish(self, pod: SimPod) -> None:
        pod.phase = Phase.SUCCEEDED
        self._release(pod)
        self.jobs_pods_done[pod.job] += 1
        if self.jobs_pods_done[pod.job] == self.workload.jobs.pods[pod.job]:
            self.jobs_completed += 1
        self._notify(ChangeKind.MODIFIED, pod)
        for callback in self._on_freed:
            callback(pod.node)

    def _release(self, pod: SimPod) -> None:
        node = pod.node
        if pod.index in self._running[node]:
            self._running[node].discard(pod.index)
            self.offline_cpu[node] -= pod.cpu_milli
            self.offline_memory[node] -= pod.memory_bytes
        self._offline_used[0][node] -= pod.cpu_milli
        self._offline_used[1][node] -= pod.memory_bytes
        self.requested_pods[node] -= 1

    def _evict_index(self, pod: SimPod, reason: str) -> None:
        if pod.phase not in (Phase.BOUND, Phase.RUNNING):
            raise Conflict(f"pod {pod.key} is not running (phase {pod.phase.name})")
        if pod.end_handle is not None:
            pod.end_handle.cancel()
        self._release(pod)
        pod.phase = Phase.EVICTED
        self.evictions += 1
        self.events.append((self.loop.now(), "Pod", pod.key, "Evicted", reason))
        self._notify(ChangeKind.MODIFIED, pod)
        for callback in self._on_freed:
            callback(pod.node)
        for lost in self._on_lost:
            lost(pod)

    # ---- measurement ------------------------------------------------------------------
    def start_ticks(self) -> None:
        for k, t in enumerate(self.workload.tick_s):
            self.loop.schedule(float(t), partial(self._tick, k), priority=PRIO_MEASURE)

    def _tick(self, k: int) -> None:
        sc = self.scenario
        off_demand = self.offline_cpu * sc.offline.cpu_usage_to_request
        off_memory = self.offline_memory * sc.offline.memory_usage_to_request
        result = self.usage_model.step(
            online_demand=self.online_usage[:, k].astype(np.float64),
            offline_demand=off_demand,
            online_weight=self.online_cpu_request,
            offline_weight=self.offline_cpu * self.offline_weight_per_milli,
            offline_memory=off_memory,
            offline_cap=self.offline_cap,
        )
        cap_total = float(self.capacity_cpu.sum())
        s = self.series
        s.online_cpu_util[k] = float(result.g_on.sum()) / cap_total
        s.offline_cpu_util[k] = float(result.g_off.sum()) / cap_total
        s.cpu_util[k] = s.online_cpu_util[k] + s.offline_cpu_util[k]
        used_memory = np.minimum(result.memory_used, self.capacity_memory)
        s.mem_util[k] = float(used_memory.sum()) / float(self.capacity_memory.sum())
        online_pods = self.usage_model.online_pods
        s.interference[k] = result.violators / online_pods if online_pods else 0.0
        self._slow_down(result.offline_slowdown)
        self._relieve_memory(result.memory_used)

    def _slow_down(self, slowdown: np.ndarray) -> None:
        """Offline pods on starved nodes run at `rate` = slowdown until the next tick.

        A pod whose end (at full speed) is w seconds away finishes at now + w / rate if
        that is within the step; otherwise it does rate · step of work this step and
        the rest at full speed, so its end moves by step · (1 − rate). The rate is
        re-read every tick; a pod that starts between ticks runs at full speed until
        the next one.
        """
        step = self.scenario.step
        now = self.loop.now()
        for node in np.flatnonzero(slowdown < 0.999):
            rate = float(slowdown[node])
            for index in sorted(self._running[node]):
                pod = self.records[index]
                left = pod.end_s - now
                if left <= 0:
                    continue
                if rate <= 0:
                    pod.end_s += step
                elif left <= rate * step:
                    pod.end_s = now + left / rate
                else:
                    pod.end_s += step * (1.0 - rate)
                if pod.end_handle is not None:
                    pod.end_handle.cancel()
                pod.end_handle = self.loop.schedule(
                    pod.end_s, partial(self._finish, pod), priority=PRIO_STATE
                )

    def _relieve_memory(self, memory_used: np.ndarray) -> None:
        """The kubelet's memory-pressure eviction: newest offline pods go first."""
        usage_ratio = self.scenario.offline.memory_usage_to_request
        for node in np.flatnonzero(memory_used > self.capacity_memory):
            excess = float(memory_used[node] - self.capacity_memory[node])
            victims = sorted(self._running[node], key=lambda i: -self.records[i].started_s)
            for index in victims:
                if excess <= 0:
                    break
                pod = self.records[index]
                excess -= pod.memory_bytes * usage_ratio
                self._evict_index(pod, "node memory pressure")

    # ---- ClusterReader ----------------------------------------------------------------
    def nodes(self) -> Sequence[Node]:
        return [self._node_view(i) for i in range(len(self.node_names))]

    def node_index(self, name: str) -> int | None:
        return self._node_index.get(name)

    def node(self, name: str) -> Node | None:
        index = self._node_index.get(name)
        return None if index is None else self._node_view(index)

    def pods(self) -> Sequence[Pod]:
        """Views of the pods that hold or wait for a node: every placed online pod (bound
        since the start) and every offline pod not yet finished."""
        online = [self.online_pod_view(int(i)) for i in np.flatnonzero(self.online_pod_node >= 0)]
        return online + [self._pod_view(p) for p in self.records if p.phase <= Phase.RUNNING]

    def pod(self, key: str) -> Pod | None:
        record = self._by_key.get(key)
        return None if record is None else self._pod_view(record)

    def subscribe(self, handler: Callable[[ClusterEvent], None]) -> Unsubscribe:
        self._subscribers.append(handler)
        return lambda: self._subscribers.remove(handler)

    def _notify(self, kind: ChangeKind, pod: SimPod) -> None:
        if self._subscribers:
            event = ClusterEvent(kind=kind, pod=self._pod_view(pod))
            for handler in list(self._subscribers):
                handler(event)

    def _notify_node(self, kind: ChangeKind, node: int) -> None:
        if self._subscribers:
            event = ClusterEvent(kind=kind, node=self._node_view(node))
            for handler in list(self._subscribers):
                handler(event)

    # Views are built directly rather than through `Pod.from_k8s` / `Node.from_k8s` (a
    # simulated day builds hundreds of thousands); tests/sim/test_cluster.py holds them
    # equal to what `from_k8s` makes of the same objects.
    def _node_view(self, i: int) -> Node:
        labels = {"kubernetes.io/hostname": self.node_names[i]}
        if self.node_pools[i]:
            labels["colo.io/pool"] = str(self.node_pools[i])
        pods = int(self.alloc_pods[i])
        return Node(
            name=self.node_names[i],
            labels=labels,
            capacity=Resources(
                int(self.capacity_cpu[i]),
                int(self.capacity_memory[i]),
                pods,
                tuple(self.extended_capacity[i].items()),
            ),
            allocatable=Resources(
                int(self.alloc_cpu[i]),
                int(self.alloc_memory[i]),
                pods,
                tuple(self.extended[i].items()),
            ),
            ready=True,
        )

    def pod_view_scheduler(self) -> str:
        """The `schedulerName` offline pods' views carry."""
        return "colo-batch" if self.batch_mode else "default-scheduler"

    def online_pod_view(self, index: int) -> Pod:
        """Online pod `index` of the workload, bound to its node (-1: never placed)."""
        online = self.workload.online
        node = int(self.online_pod_node[index])
        requests = Resources(int(online.cpu_milli[index]), int(online.memory_bytes[index]), 1)
        return Pod(
            namespace=ONLINE_NAMESPACE,
            name=f"online-{index}",
            uid=f"online-{index}",
            node_name=self.node_names[node] if node >= 0 else None,
            requests=requests,
            phase="Running" if node >= 0 else "Pending",
            tier=QoSTier.LS,
            qos_class="Burstable",
        )

    def _pod_view(self, pod: SimPod) -> Pod:
        meta = self._job_meta.get(pod.job)
        if meta is None:
            owner = f"job-{pod.job}"
            meta = self._job_meta[pod.job] = (
                {"colo.io/qos": QoSTier.BE.value, "job-name": owner},
                owner,
            )
        labels, owner = meta
        shape = (pod.cpu_milli, pod.memory_bytes, self.batch_mode)
        made = self._requests.get(shape)
        if made is None:
            if self.batch_mode:  # as colo-webhook rewrites an offline pod: requests = limits
                batch = Resources(
                    0, 0, 0, ((BATCH_CPU, pod.cpu_milli), (BATCH_MEMORY, pod.memory_bytes))
                )
                made = (Resources(0, 0, 1, batch.scalars), batch, "BestEffort")
            else:
                made = (Resources(pod.cpu_milli, pod.memory_bytes, 1), Resources(), "Burstable")
            self._requests[shape] = made
        requests, limits, qos_class = made
        bound = pod.node >= 0 and pod.phase in (Phase.BOUND, Phase.RUNNING)
        return Pod(
            namespace=OFFLINE_NAMESPACE,
            name=pod.name,
            uid=str(pod.index),
            labels=labels,
            node_name=self.node_names[pod.node] if bound else None,
            scheduler_name=self.pod_view_scheduler(),
            requests=requests,
            limits=limits,
            node_selector={"colo.io/pool": pod.pool} if pod.pool else {},
            phase=_PHASES.get(pod.phase, "Failed"),
            tier=QoSTier.BE,
            qos_class=qos_class,  # type: ignore[arg-type]
            owner_kind="Job",
            owner_name=owner,
            created_s=pod.created_s,
        )

    # ---- write ports (coroutines that never suspend) ----------------------------------
    def _record(self, ref: PodRef) -> SimPod:
        pod = self._by_key.get(ref.key)
        if pod is None:
            raise NotFound(f"pod {ref.key} not found")
        if ref.uid and ref.uid != str(pod.index):
            raise Conflict(f"pod {ref.key}: uid {ref.uid} does not match {pod.index}")
        return pod

    async def bind(self, pod: PodRef, node_name: str) -> None:
        record = self._record(pod)
        node = self._node_index.get(node_name)
        if node is None:
            raise NotFound(f"node {node_name} not found")
        self._bind_index(record, node)

    async def evict(self, pod: PodRef, *, reason: str) -> None:
        self._evict_index(self._record(pod), reason)

    async def patch_extended_resources(
        self,
        node_name: str,
        *,
        capacity: Mapping[str, int],
        allocatable: Mapping[str, int],
    ) -> None:
        node = self._node_index.get(node_name)
        if node is None:
            raise NotFound(f"node {node_name} not found")
        # merge-patch semantics, as on a real API server: only the named resources change
        self.extended_capacity[node] = dict(
            sorted({**self.extended_capacity[node], **capacity}.items())
        )
        self.extended[node] = dict(sorted({**self.extended[node], **allocatable}.items()))
        grew = False
        if BATCH_CPU in allocatable:
            grew |= allocatable[BATCH_CPU] > self.batch_alloc_cpu[node]
            self.batch_alloc_cpu[node] = allocatable[BATCH_CPU]
        if BATCH_MEMORY in allocatable:
            grew |= allocatable[BATCH_MEMORY] > self.batch_alloc_memory[node]
            self.batch_alloc_memory[node] = allocatable[BATCH_MEMORY]
        if self.batch_mode:
            for inverse, alloc in zip(self._offline_inverse, self._offline_alloc, strict=True):
                inverse[node] = 1.0 / alloc[node] if alloc[node] > 0 else 0.0
        self._notify_node(ChangeKind.MODIFIED, node)
        if grew and self.batch_mode:
            for callback in self._on_freed:  # pending offline pods may fit now
                callback(node)

    async def record(
        self,
        *,
        kind: str,
        key: str,
        reason: str,
        message: str,
        type: EventType = EventType.NORMAL,
    ) -> None:
        self.events.append((self.loop.now(), kind, key, reason, message))


def complete(coro: Coroutine[Any, Any, None]) -> None:
    """Run a simulated port call to completion; it must not suspend."""
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()
    raise RuntimeError("a simulated port call suspended; simulated ports must not await")
