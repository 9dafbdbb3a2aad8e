"""The simulated cluster's state: nodes as numpy arrays, pods as small records, and the
lifecycle a kubelet gives pods.

State lives in numpy arrays over nodes (capacity, what bound pods request, what running
offline pods ask for) and in one small record per pod. Pods go through the lifecycle a
kubelet would give them: pending → bound → running (after a start-up delay) → succeeded,
or failed at admission when the node cannot fit them (as the kubelet rejects with
OutOfcpu when two schedulers over-fill a node), or evicted (memory pressure, an agent).
`colo.sim.physics` moves time on for them; `colo.sim.cluster` shows them through colo's
ports.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from colo.core.changes import ChangeKind
from colo.core.errors import Conflict
from colo.core.resources import BATCH_CPU, BATCH_MEMORY, CPU, MEMORY, PODS
from colo.sim.engine import PRIO_STATE, EventLoop, Handle
from colo.sim.scenario import Scenario
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


@dataclass
class VirtualNodes:
    """The cluster's virtual nodes: what each admits and what runs there."""

    names: list[str]
    cpu_milli: int
    memory_bytes: int
    pods: int
    startup_s: float
    cpu_used: np.ndarray = field(init=False)
    memory_used: np.ndarray = field(init=False)
    pods_used: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.names)
        self.cpu_used = np.zeros(n, np.int64)
        self.memory_used = np.zeros(n, np.int64)
        self.pods_used = np.zeros(n, np.int64)

    def release(self, pod: SimPod, v: int) -> None:
        self.cpu_used[v] -= pod.cpu_milli
        self.memory_used[v] -= pod.memory_bytes
        self.pods_used[v] -= 1


@dataclass(frozen=True, slots=True)
class CronRun:
    """What a pod colo-cron made carries: its name, its Job, when it may start."""

    pod: str
    job: str
    start_at_s: float
    virtual: bool = True
    """Labelled `colo.io/virtual-nodes: prefer` (cron work goes to virtual nodes first)."""


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
    run: CronRun | None = None
    """The CronJob run that made it (colo-cron's pods), else None."""
    node: int = -1
    phase: Phase = Phase.PENDING
    started_s: float = float("nan")
    end_s: float = float("nan")
    end_handle: Handle | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.run.pod if self.run is not None else f"job-{self.job}-{self.index}"

    @property
    def key(self) -> str:
        return f"{OFFLINE_NAMESPACE}/{self.name}"


def _inverse(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values))
    np.divide(1.0, values, out=out, where=values > 0)
    return out


def node_names(n: int) -> list[str]:
    """The names of a simulated cluster's nodes."""
    return [f"node-{i:04d}" for i in range(n)]


class ClusterState:
    """The simulated cluster's state and lifecycle; one per policy run."""

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
        vc = scenario.cluster
        self.virtual = VirtualNodes(
            names=[f"virtual-node-{i:04d}" for i in range(vc.virtual_nodes)],
            cpu_milli=vc.virtual_node_cpu,
            memory_bytes=vc.virtual_node_memory,
            pods=vc.virtual_node_pods,
            startup_s=vc.virtual_startup,
        )
        # Virtual nodes come after the standard ones: index n + i (no array covers them).
        self.all_names = self.node_names + self.virtual.names
        self._node_index = {name: i for i, name in enumerate(self.all_names)}
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
        self.offline_running = np.zeros(n, np.int64)  # running offline pods per node
        self.offline_cap: np.ndarray | None = None  # offline box quota per node (colo)
        self.offline_weight_per_milli = 1.0  # cpu.shares of offline pods per requested milli
        self.offline_box_weight: float | None = None
        """When set, the cpu weight of all of a node's offline pods together, however many
        (the offline box as one SCHED_IDLE group); else `offline_weight_per_milli` per
        requested millicore."""
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
        self.figure_sources: list[Callable[[], dict[str, float | int]]] = []
        """Components that fill summary figures of their own (`colo.sim.results`)."""
        self.diagnostic_sources: list[Callable[[], dict[str, float | int]]] = []
        """Components that add counters to the run's diagnostics."""
        self._running: list[set[int]] = [set() for _ in range(n)]

        self.records: list[SimPod] = []
        self._by_key: dict[str, SimPod] = {}
        self.jobs_pods_done = np.zeros(len(workload.jobs), np.int64)
        # First start time of every job slot (NaN until it starts): the waits come from here.
        self.slot_offset = np.concatenate([[0], np.cumsum(workload.jobs.pods)]).astype(np.int64)
        self.slot_started = np.full(int(self.slot_offset[-1]), np.nan)
        # First binding of every job slot (NaN until bound): the schedulers' part of a wait.
        self.slot_bound = np.full(int(self.slot_offset[-1]), np.nan)
        self.jobs_completed = 0
        self.evictions = 0
        self.admission_failures = 0
        self.core_s = np.zeros((2, 2))
        """Core-seconds offline pods ran, by [cron][on a virtual node] (requests × time)."""
        self.events: list[tuple[float, str, str, str, str]] = []
        self._on_pending: list[Callable[[SimPod], None]] = []
        self._on_freed: list[Callable[[int], None]] = []
        self._on_lost: list[Callable[[SimPod], None]] = []

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
        run: CronRun | None = None,
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
            run=run,
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

    def core_hours(self, now: float) -> np.ndarray:
        """`core_s` in hours, counting pods still running at `now` up to `now`."""
        out = self.core_s.copy()
        for pod in self.records:
            if pod.phase is Phase.RUNNING:
                out[int(pod.cron), int(self.is_virtual(pod.node))] += (
                    pod.cpu_milli / 1000.0 * (now - pod.started_s)
                )
        return out / 3600.0

    def running_on(self, node: int) -> list[SimPod]:
        """The offline pods running on standard node `node`, in creation order."""
        return [self.records[i] for i in sorted(self._running[node])]

    def is_virtual(self, node: int) -> bool:
        return node >= len(self.node_names)

    def bind_pod(self, pod: SimPod, node: int) -> None:
        """Bind and admit `pod` on `node`, or fail it at admission as the kubelet would."""
        if pod.phase is not Phase.PENDING:
            raise Conflict(f"pod {pod.key} is already bound to {self.all_names[pod.node]}")
        pod.node = node
        pod.phase = Phase.BOUND
        if self.is_virtual(node):
            self._bind_virtual(pod, node - len(self.node_names))
            return
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
        slot = self.slot_offset[pod.job] + pod.slot
        if np.isnan(self.slot_bound[slot]):
            self.slot_bound[slot] = self.loop.now()
        cpu_used[node] += pod.cpu_milli
        mem_used[node] += pod.memory_bytes
        self.requested_pods[node] += 1
        startup = self.scenario.control_plane.pod_startup
        self.loop.after(startup, partial(self._start, pod), priority=PRIO_STATE)
        self._notify(ChangeKind.MODIFIED, pod)

    def _bind_virtual(self, pod: SimPod, v: int) -> None:
        """A virtual node admits what fits its provider's quota, and starts it after its
        own start-up; nothing of it shares a standard node."""
        vn = self.virtual
        if (
            vn.cpu_used[v] + pod.cpu_milli > vn.cpu_milli
            or vn.memory_used[v] + pod.memory_bytes > vn.memory_bytes
            or vn.pods_used[v] >= vn.pods
        ):
            pod.phase = Phase.FAILED
            self.admission_failures += 1
            self._notify(ChangeKind.MODIFIED, pod)
            for callback in self._on_lost:
                callback(pod)
            return
        slot = self.slot_offset[pod.job] + pod.slot
        if np.isnan(self.slot_bound[slot]):
            self.slot_bound[slot] = self.loop.now()
        vn.cpu_used[v] += pod.cpu_milli
        vn.memory_used[v] += pod.memory_bytes
        vn.pods_used[v] += 1
        self.loop.after(vn.startup_s, partial(self._start, pod), priority=PRIO_STATE)
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
        if self.is_virtual(node):  # runs at full speed, nothing to share
            pod.end_s = now + pod.duration_s
            pod.end_handle = self.loop.schedule(
                pod.end_s, partial(self.finish_pod, pod), priority=PRIO_STATE
            )
            self._notify(ChangeKind.MODIFIED, pod)
            return
        self.offline_cpu[node] += pod.cpu_milli
        self.offline_memory[node] += pod.memory_bytes
        self.offline_running[node] += 1
        self._running[node].add(pod.index)
        pod.end_s = now + pod.duration_s
        pod.end_handle = self.loop.schedule(
            pod.end_s, partial(self.finish_pod, pod), priority=PRIO_STATE
        )
        self._notify(ChangeKind.MODIFIED, pod)

    def finish_pod(self, pod: SimPod) -> None:
        """The pod's work is done: it succeeds and frees its node's room."""
        pod.phase = Phase.SUCCEEDED
        self._release(pod)
        self.jobs_pods_done[pod.job] += 1
        if self.jobs_pods_done[pod.job] == self.workload.jobs.pods[pod.job]:
            self.jobs_completed += 1
        self._notify(ChangeKind.MODIFIED, pod)
        if not self.is_virtual(pod.node):
            for callback in self._on_freed:
                callback(pod.node)

    def _release(self, pod: SimPod) -> None:
        node = pod.node
        virtual = self.is_virtual(node)
        if pod.started_s == pod.started_s:  # it ran (not NaN)
            self.core_s[int(pod.cron), int(virtual)] += (
                pod.cpu_milli / 1000.0 * (self.loop.now() - pod.started_s)
            )
        if virtual:
            self.virtual.release(pod, node - len(self.node_names))
            return
        if pod.index in self._running[node]:
            self._running[node].discard(pod.index)
            self.offline_running[node] -= 1
            self.offline_cpu[node] -= pod.cpu_milli
            self.offline_memory[node] -= pod.memory_bytes
        self._offline_used[0][node] -= pod.cpu_milli
        self._offline_used[1][node] -= pod.memory_bytes
        self.requested_pods[node] -= 1

    def evict_pod(self, pod: SimPod, reason: str) -> None:
        """Evict a bound or running pod (memory pressure, an agent); its owner recreates it."""
        if pod.phase not in (Phase.BOUND, Phase.RUNNING):
            raise Conflict(f"pod {pod.key} is not running (phase {pod.phase.name})")
        if pod.end_handle is not None:
            pod.end_handle.cancel()
        self._release(pod)
        pod.phase = Phase.EVICTED
        self.evictions += 1
        self.events.append((self.loop.now(), "Pod", pod.key, "Evicted", reason))
        self._notify(ChangeKind.MODIFIED, pod)
        if not self.is_virtual(pod.node):
            for callback in self._on_freed:
                callback(pod.node)
        for lost in self._on_lost:
            lost(pod)

    def patch_node(
        self, node: int, capacity: Mapping[str, int], allocatable: Mapping[str, int]
    ) -> bool:
        """Merge extended resources into a node's status; True if its batch room grew."""
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
        return grew

    # ---- announcements (the simulated API server's watch: `colo.sim.cluster`) ---------
    def _notify(self, kind: ChangeKind, pod: SimPod) -> None:
        """A pod changed (its view is built only if someone watches)."""

    def _notify_node(self, kind: ChangeKind, node: int) -> None:
        """A node changed."""
