"""The simulated cluster as colo's ports show it: what an informer, the API server's
writes and the kubelet's events would give colo's components.

`SimCluster` is the state (`colo.sim.state`) and its physics (`colo.sim.physics`) behind
the ports the engines' drivers use: `ClusterReader` (views of nodes and pods, and every
change announced to subscribers as a watch would), `Binder`, `Evictor`,
`NodeStatusPatcher`, `EventRecorder`. Their coroutines never suspend (`complete`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from colo.core.changes import ChangeKind, ClusterEvent, EventType, PodRef
from colo.core.errors import Conflict, NotFound
from colo.core.objects import NO_SCHEDULE, START_AT_ANNOTATION, Node, Pod, Taint
from colo.core.qos import QoSTier
from colo.core.resources import BATCH_CPU, BATCH_MEMORY, Resources
from colo.core.virtual import VIRTUAL_NODE_LABEL_KEY, VIRTUAL_NODE_LABEL_VALUE, VIRTUAL_TAINT_KEY
from colo.ports.cluster import Unsubscribe
from colo.sched.requirements import VIRTUAL_LABEL
from colo.sim.engine import EventLoop
from colo.sim.physics import Physics, Series
from colo.sim.scenario import Scenario
from colo.sim.state import (
    OFFLINE_NAMESPACE,
    ONLINE_NAMESPACE,
    ClusterState,
    Phase,
    SimPod,
    node_names,
)
from colo.sim.workload import Workload

__all__ = [
    "OFFLINE_NAMESPACE",
    "ONLINE_NAMESPACE",
    "Phase",
    "SimCluster",
    "SimPod",
    "complete",
    "node_names",
]

_NO_ANNOTATIONS: dict[str, str] = {}
_PHASES = {
    Phase.PENDING: "Pending",
    Phase.BOUND: "Pending",
    Phase.RUNNING: "Running",
    Phase.SUCCEEDED: "Succeeded",
}


class SimCluster(ClusterState):
    """The simulated cluster behind colo's ports; one per policy run."""

    def __init__(
        self,
        *,
        loop: EventLoop,
        scenario: Scenario,
        workload: Workload,
        online_pod_node: np.ndarray,
        node_pools: Sequence[str | None] | None = None,
    ) -> None:
        super().__init__(
            loop=loop,
            scenario=scenario,
            workload=workload,
            online_pod_node=online_pod_node,
            node_pools=node_pools,
        )
        self.physics = Physics(self)
        self._subscribers: list[Callable[[ClusterEvent], None]] = []
        # What views share, built once: labels and owner per job, requests per shape.
        self._job_meta: dict[int, tuple[dict[str, str], str]] = {}
        self._requests: dict[tuple[int, int, bool], tuple[Resources, Resources, str]] = {}
        self._run_meta: dict[str, tuple[dict[str, str], str]] = {}  # per colo-cron Job
        self._starts: dict[float, dict[str, str]] = {}

    @property
    def series(self) -> Series:
        return self.physics.series

    def start_ticks(self) -> None:
        self.physics.start()

    # ---- ClusterReader ----------------------------------------------------------------
    def nodes(self) -> Sequence[Node]:
        return [self._node_view(i) for i in range(len(self.all_names))]

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
        if self.is_virtual(i):
            return self._virtual_view(i)
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

    def _virtual_view(self, i: int) -> Node:
        """A virtual node as virtual-kubelet providers mark it. It advertises its quota as
        `colo.io/batch-*` too: offline pods ask for those once colo-webhook rewrites them
        (a real provider's node must advertise them for such pods; docs/simulator.md)."""
        vn = self.virtual
        cpu, memory = vn.cpu_milli, vn.memory_bytes
        resources = Resources(cpu, memory, vn.pods, ((BATCH_CPU, cpu), (BATCH_MEMORY, memory)))
        return Node(
            name=self.all_names[i],
            labels={VIRTUAL_NODE_LABEL_KEY: VIRTUAL_NODE_LABEL_VALUE},
            taints=(Taint(VIRTUAL_TAINT_KEY, "colo", NO_SCHEDULE),),
            capacity=resources,
            allocatable=resources,
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
        run = pod.run
        meta = self._job_meta.get(pod.job) if run is None else self._run_meta.get(run.job)
        if meta is None:
            owner = f"job-{pod.job}" if run is None else run.job
            labels = {"colo.io/qos": QoSTier.BE.value, "job-name": owner}
            if run is not None and run.virtual:
                labels[VIRTUAL_LABEL] = "prefer"
            meta = (labels, owner)
            if run is None:
                self._job_meta[pod.job] = meta
            else:
                self._run_meta[run.job] = meta
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
            node_name=self.all_names[pod.node] if bound else None,
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
            annotations=_NO_ANNOTATIONS if run is None else self._start_at(run.start_at_s),
        )

    def _start_at(self, at_s: float) -> dict[str, str]:
        """`colo.io/start-at` of pods due at `at_s` (simulated time reads as unix time)."""
        made = self._starts.get(at_s)
        if made is None:
            when = datetime.fromtimestamp(at_s, UTC).isoformat().replace("+00:00", "Z")
            made = self._starts[at_s] = {START_AT_ANNOTATION: when}
        return made

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
        self.bind_pod(record, node)

    async def evict(self, pod: PodRef, *, reason: str) -> None:
        self.evict_pod(self._record(pod), reason)

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
        grew = self.patch_node(node, capacity, allocatable)
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
        uid: str = "",
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
