"""colo-batch: the batch scheduler as a process, wired to a cluster through the ports.

It schedules the pods whose `spec.schedulerName` is its own, many per cycle:

1. The reader's changes keep a `Snapshot` up to date (nodes upserted, a pod's
   resources counted on its node from binding until it is deleted or finishes) and
   collect the pending pods.
2. When something changed (a pod arrived, room was freed, a node changed) it waits
   `batch_delay_s` for more arrivals, then runs one `BatchCycle` over every pending pod.
3. The cycle's placements are reserved at the coordinator in one call (Omega style: the
   cycle decided on its own view; the coordinator checks each node against what every
   scheduler reserved and what is bound). Refused ones are taken back out of the
   snapshot and tried again next cycle; a gang with a refused member gives back all of
   its reservations. A refusal means someone else holds room there that this view does
   not show yet, so the refused request is kept on that node as a placeholder for
   `conflict_hold_s` (until the reader has caught up) instead of offering the same
   node again at once.
4. Granted pods are bound concurrently (bounded by the binder). Until the reader shows
   them bound they stay counted on their node ("assumed", as kube-scheduler does) and out
   of the queue. A failed binding is unreserved and given back, and the pod is retried.
5. A pod that fits nowhere gets `PodScheduled=False` (reason Unschedulable) and a
   `FailedScheduling` event with the cycle's message, once per distinct message. A pod
   whose spec colo cannot read gets the same, with the field named, and never stops the
   scheduler.
6. A pod that failed on a virtual node marks its job: the job's next pods are scheduled
   as if annotated `colo.io/virtual-failed` (standard nodes only) for
   `virtual_retry_after_s`, then virtual nodes are tried again.

Time comes from the `clock` (monotonic, for the cycle) and `wall` (unix seconds, for
how long a pod has waited) parameters.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from aiohttp import web
from prometheus_client.registry import Collector

from colo.apps.coordinator import CoordinatorApp
from colo.apps.metrics import BatchCollector, LedgerCollector, registry_of, start_metrics
from colo.coord.ledger import InProcessCoordinator
from colo.core.changes import ChangeKind, ClusterEvent, EventType, PodRef
from colo.core.errors import ColoError, Conflict, InvalidInput, NotFound, Retryable
from colo.core.objects import Node, Pod
from colo.core.reservation import Item
from colo.core.virtual import VIRTUAL_NODE_LABEL_KEY, VIRTUAL_NODE_LABEL_VALUE
from colo.kube.binder import KubeBinder
from colo.kube.config import ClientConfig
from colo.kube.events import KubeEventRecorder
from colo.kube.informer import Informer
from colo.kube.leader import LeaderElector
from colo.kube.podstatus import KubePodConditionWriter
from colo.kube.reader import KubeClusterReader
from colo.kube.transport import Transport
from colo.ports.cluster import EventRecorder, PodConditionWriter
from colo.ports.coordinator import Coordinator
from colo.rpc.coordinator import CoordinatorClient
from colo.sched.cycle import BatchCycle
from colo.sched.requirements import (
    VIRTUAL_FAILED_ANNOTATION,
    Requirements,
    VirtualNodePolicy,
    requirements_of,
)
from colo.sched.snapshot import Snapshot
from colo.sched.status import Code

log = logging.getLogger(__name__)

DEFAULT_SCHEDULER_NAME = "colo-batch"


class PodBinder(Protocol):
    """What colo-batch needs of a binder (colo.kube.binder.KubeBinder)."""

    async def bind_retrying(self, pod: PodRef, node_name: str) -> None: ...


@dataclass
class Held:
    """A pod counted in the snapshot: where, with what, and whether only assumed."""

    node: int
    vec: np.ndarray
    job: str
    assumed: bool


@dataclass
class BatchStats:
    cycles: int = 0
    placed: int = 0
    bound: int = 0
    reserve_conflicts: int = 0
    bind_failures: int = 0
    unschedulable_reported: int = 0
    bad_pods: int = 0
    coordinator_faults: int = 0
    virtual_fallbacks: int = 0
    last_cycle_s: float = 0.0
    cycle_seconds: float = 0.0
    by_error: dict[str, int] = field(default_factory=dict)


def _job_of(pod: Pod) -> str:
    return f"{pod.namespace}/{pod.owner_name}" if pod.owner_name else ""


def _is_virtual(node: Node | None) -> bool:
    return node is not None and node.labels.get(VIRTUAL_NODE_LABEL_KEY) == VIRTUAL_NODE_LABEL_VALUE


class BatchScheduler:
    def __init__(
        self,
        binder: PodBinder,
        conditions: PodConditionWriter,
        events: EventRecorder,
        *,
        coordinator: Coordinator | None = None,
        scheduler_name: str = DEFAULT_SCHEDULER_NAME,
        virtual: VirtualNodePolicy | None = None,
        batch_delay_s: float = 0.05,
        virtual_retry_after_s: float = 600.0,
        conflict_hold_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.snap = Snapshot()
        self.cycle = BatchCycle(self.snap)
        self._binder = binder
        self._conditions = conditions
        self._events = events
        self._coordinator = coordinator
        self.scheduler_name = scheduler_name
        self._virtual = virtual or VirtualNodePolicy()
        self._delay_s = batch_delay_s
        self._virtual_retry_s = virtual_retry_after_s
        self._hold_s = conflict_hold_s
        self._placeholders: list[tuple[float, int, np.ndarray]] = []  # (until, node, vec)
        self._clock = clock
        self._wall = wall
        self.pending: dict[str, Pod] = {}
        self.held: dict[str, Held] = {}
        self.inflight: set[str] = set()
        self._nodes: dict[str, Node] = {}
        self._waiting_for_node: dict[str, list[Pod]] = {}  # bound to a node not yet seen
        self._reported: dict[str, str] = {}  # pod -> last unschedulable message written
        self._virtual_failed: dict[str, float] = {}  # job -> until (clock)
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self.stats = BatchStats()

    def use_coordinator(self, coordinator: Coordinator) -> None:
        self._coordinator = coordinator

    # --- following the cluster -------------------------------------------------------
    def on_event(self, ev: ClusterEvent) -> None:
        """The reader's changes (it calls this on its loop, in order)."""
        if ev.node is not None:
            self._on_node(ev.kind, ev.node)
        elif ev.pod is not None:
            self._on_pod(ev.kind, ev.pod)

    def _on_node(self, kind: ChangeKind, node: Node) -> None:
        if kind is ChangeKind.DELETED:
            self._nodes.pop(node.name, None)
            self.snap.remove_node(node.name)
            return
        self._nodes[node.name] = node
        self.snap.upsert_node(node)
        for pod in self._waiting_for_node.pop(node.name, []):
            self._on_pod(ChangeKind.MODIFIED, pod)
        self._wake.set()

    def _on_pod(self, kind: ChangeKind, pod: Pod) -> None:
        key = pod.key
        if kind is ChangeKind.DELETED or pod.terminal:
            if pod.phase == "Failed" and _is_virtual(self._nodes.get(pod.node_name or "")):
                self._mark_virtual_failed(pod)
            self.pending.pop(key, None)
            self.inflight.discard(key)
            self._reported.pop(key, None)
            if self._release(key):
                self._wake.set()
            return
        if pod.node_name:
            self.pending.pop(key, None)
            self.inflight.discard(key)
            self._reported.pop(key, None)
            self._count_bound(pod)
            return
        if pod.scheduler_name != self.scheduler_name:
            return
        self.pending[key] = pod
        self._wake.set()

    def _count_bound(self, pod: Pod) -> None:
        i = self.snap.index.get(pod.node_name or "")
        if i is None:
            self._release(pod.key)
            self._waiting_for_node.setdefault(pod.node_name or "", []).append(pod)
            return
        held = self.held.get(pod.key)
        if held is not None and held.node == i:
            held.assumed = False  # the binding we made (or someone's) is confirmed
            return
        self._release(pod.key)
        vec = self.snap.request_vector(pod.requests.items())
        job = _job_of(pod)
        self.snap.add_pod(i, vec, job)
        self.held[pod.key] = Held(i, vec, job, assumed=False)

    def _release(self, key: str) -> bool:
        held = self.held.pop(key, None)
        if held is None:
            return False
        self.snap.remove_pod(held.node, held.vec, held.job)
        return True

    def _mark_virtual_failed(self, pod: Pod) -> None:
        job = _job_of(pod)
        if job:
            self._virtual_failed[job] = self._clock() + self._virtual_retry_s
            log.info("pod %s failed on virtual node %s: job %s avoids virtual nodes for %gs",
                     pod.key, pod.node_name, job, self._virtual_retry_s)  # fmt: skip

    # --- one cycle -------------------------------------------------------------------
    def _requirements(self, pod: Pod, now: float) -> Requirements:
        job = _job_of(pod)
        until = self._virtual_failed.get(job) if job else None
        if until is not None:
            if until > now:
                if VIRTUAL_FAILED_ANNOTATION not in pod.annotations:
                    self.stats.virtual_fallbacks += 1
                    marked = {**pod.annotations, VIRTUAL_FAILED_ANNOTATION: "job"}
                    pod = dataclasses.replace(pod, annotations=marked)
            else:
                del self._virtual_failed[job]
        return requirements_of(pod, self._virtual)

    async def run_once(self) -> int:
        """One cycle over every pending pod not already being bound; returns pods granted."""
        now = self._clock()
        wall = self._wall()
        self._expire_placeholders(now)
        reqs: list[Requirements] = []
        waited: list[float] = []
        for key, pod in list(self.pending.items()):
            if key in self.inflight:
                continue
            try:
                reqs.append(self._requirements(pod, now))
            except InvalidInput as e:
                self.stats.bad_pods += 1
                del self.pending[key]  # until the pod changes
                self._report(pod, f"colo-batch cannot schedule this pod: {e}")
                continue
            waited.append(max(0.0, wall - pod.created_s) if pod.created_s else 0.0)
        if not reqs:
            return 0
        started = time.perf_counter()
        result = self.cycle.run(reqs, now, waited)
        self.stats.cycles += 1
        self.stats.last_cycle_s = time.perf_counter() - started
        self.stats.cycle_seconds += self.stats.last_cycle_s
        log.info(
            "cycle %d: %d pods, %d placed, %d not (%.3f s)",
            *(self.stats.cycles, len(reqs), len(result.assignments), len(result.unschedulable)),
            self.stats.last_cycle_s,
        )
        # Count the placements as held before anything awaits: the reader's changes
        # that arrive meanwhile then see them.
        placed: list[tuple[Requirements, str, Pod]] = []
        for req, node in result.assignments:
            pod = self.pending[req.key]
            i = self.snap.index[node]
            self.held[req.key] = Held(i, self.snap.request_vector(req.requests), req.job, True)
            self.inflight.add(req.key)
            placed.append((req, node, pod))
        self.stats.placed += len(placed)
        for req in reqs:
            status = result.unschedulable.get(req.key)
            if status is not None and status.code is not Code.WAIT:
                self._report(self.pending[req.key], status.message)
        granted = await self._reserve(placed)
        for req, node, pod in granted:
            self._spawn(self._bind(req, node, pod))
        return len(granted)

    async def _reserve(
        self, placed: list[tuple[Requirements, str, Pod]]
    ) -> list[tuple[Requirements, str, Pod]]:
        if self._coordinator is None or not placed:
            return placed
        items = [Item(r.key, n, dict(r.requests), r.priority) for r, n, _ in placed]
        try:
            replies = await self._coordinator.reserve(items)
        except ColoError as e:
            self.stats.coordinator_faults += 1
            log.warning("coordinator reserve failed; %d pods retried: %s", len(placed), e)
            for req, _, _ in placed:
                self._give_back(req.key)
            await asyncio.sleep(min(getattr(e, "delay_s", 1.0), 5.0))
            self._wake.set()
            return []
        refused_gangs = {
            req.gang
            for (req, _, _), r in zip(placed, replies, strict=True)
            if not r.ok and req.gang
        }
        granted: list[tuple[Requirements, str, Pod]] = []
        back: list[str] = []
        for (req, node, pod), reply in zip(placed, replies, strict=True):
            if reply.ok and req.gang not in refused_gangs:
                granted.append((req, node, pod))
                continue
            if not reply.ok:
                self.stats.reserve_conflicts += 1
                log.debug("reservation of %s on %s refused: %s", req.key, node, reply.reason)
                held = self.held[req.key]
                self.snap.add_pod(held.node, held.vec)
                self._placeholders.append((self._clock() + self._hold_s, held.node, held.vec))
            else:
                back.append(req.key)  # a gang member whose gang lost a reservation
            self._give_back(req.key)
        if back:
            await self._unreserve(back)
        if len(granted) < len(placed):
            log.info("coordinator refused %d of %d reservations; retrying them",
                     len(placed) - len(granted), len(placed))  # fmt: skip
            self._wake.set()  # retry the refused ones against the fresher view
        return granted

    def _expire_placeholders(self, now: float) -> None:
        keep = []
        for until, node, vec in self._placeholders:
            if until <= now:
                self.snap.remove_pod(node, vec)
            else:
                keep.append((until, node, vec))
        if len(keep) < len(self._placeholders):
            self._wake.set()  # the room they stood for may be free again
        self._placeholders = keep

    def _give_back(self, key: str) -> None:
        held = self.held.get(key)
        if held is not None and held.assumed:
            self._release(key)
        self.inflight.discard(key)

    async def _unreserve(self, keys: Sequence[str]) -> None:
        if self._coordinator is None:
            return
        try:
            await self._coordinator.unreserve(keys)
        except ColoError as e:  # the reservations expire on their own
            self.stats.coordinator_faults += 1
            log.warning("coordinator unreserve failed (reservations will expire): %s", e)

    async def _bind(self, req: Requirements, node: str, pod: Pod) -> None:
        try:
            await self._binder.bind_retrying(PodRef(pod.namespace, pod.name, pod.uid), node)
        except (Conflict, NotFound, Retryable, ColoError) as e:
            self.stats.bind_failures += 1
            name = type(e).__name__
            self.stats.by_error[name] = self.stats.by_error.get(name, 0) + 1
            self._give_back(req.key)
            await self._unreserve([req.key])
            if not isinstance(e, (Conflict, NotFound)):
                log.warning("binding %s to %s failed; retrying it: %s", req.key, node, e)
                self._wake.set()
            return
        self.stats.bound += 1

    # --- reporting -------------------------------------------------------------------
    def _report(self, pod: Pod, message: str) -> None:
        if self._reported.get(pod.key) == message:
            return
        self._reported[pod.key] = message
        self.stats.unschedulable_reported += 1
        self._spawn(self._write_unschedulable(pod, message))

    async def _write_unschedulable(self, pod: Pod, message: str) -> None:
        ref = PodRef(pod.namespace, pod.name, pod.uid)
        try:
            await self._conditions.set_condition(
                ref, type="PodScheduled", status="False", reason="Unschedulable", message=message
            )
        except ColoError as e:  # best effort; the event below may still get through
            log.warning("cannot set PodScheduled=False on %s: %s", pod.key, e)
        await self._events.record(
            kind="Pod",
            key=pod.key,
            reason="FailedScheduling",
            message=message,
            type=EventType.WARNING,
        )

    # --- running ---------------------------------------------------------------------
    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self) -> None:
        """Cycle whenever something changed, forever."""
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._delay_s)  # let a wave of arrivals land in one cycle
            self._wake.clear()
            await self.run_once()

    async def drain(self) -> None:
        """Wait for the bindings and reports in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


@dataclass(frozen=True)
class BatchOptions:
    """How `serve` runs colo-batch (the CLI's flags)."""

    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    coordinator: str | None = None  # host:port of colo-coordinator; None: bind unreserved
    coordinator_listen: str | None = None  # host:port: host the coordinator in this process
    metrics_listen: str | None = None  # host:port: serve Prometheus /metrics there
    qps: float = 500.0
    burst: int = 1000
    bind_concurrency: int = 64
    batch_delay_s: float = 0.05
    leader_elect: bool = True
    lease_namespace: str = "kube-system"
    identity: str = ""
    virtual: VirtualNodePolicy = field(default_factory=VirtualNodePolicy)


async def serve(config: ClientConfig, options: BatchOptions) -> None:
    """The colo-batch process: informers → BatchScheduler → coordinator → bindings.

    With leader election only the leader schedules (the others wait, informers idle);
    losing the lease raises `LeadershipLost` so the process exits, as Kubernetes
    components do.
    """
    async with Transport.from_config(
        config, qps=options.qps, burst=options.burst, user_agent="colo-batch"
    ) as t:
        coordinator = (
            CoordinatorClient(options.coordinator, scheduler=options.scheduler_name)
            if options.coordinator
            else None
        )
        sched = BatchScheduler(
            KubeBinder(t, concurrency=options.bind_concurrency),
            KubePodConditionWriter(t),
            KubeEventRecorder(t, component=options.scheduler_name, instance=options.identity),
            coordinator=coordinator,
            scheduler_name=options.scheduler_name,
            virtual=options.virtual,
            batch_delay_s=options.batch_delay_s,
        )
        reader = KubeClusterReader(pods=Informer(t, "pods"), nodes=Informer(t, "nodes"))

        hosted = (
            CoordinatorApp(reader=reader, listen=options.coordinator_listen)
            if options.coordinator_listen
            else None
        )
        if hosted is not None:
            sched.use_coordinator(InProcessCoordinator(hosted.ledger, time.monotonic))
        metrics: web.AppRunner | None = None
        if options.metrics_listen:
            # Served from the start, leader or not: a standby shows it is alive and idle.
            collectors: list[Collector] = [BatchCollector(sched)]
            if hosted is not None:
                collectors.append(LedgerCollector(hosted.ledger))
            try:
                metrics, port = await start_metrics(
                    registry_of(*collectors), options.metrics_listen
                )
            except OSError as e:
                raise InvalidInput(
                    f"cannot listen there: {e.strerror or e}", obj="colo-batch",
                    field="--metrics-listen", value=options.metrics_listen,
                ) from None  # fmt: skip
            log.info("serving metrics on port %d", port)

        async def lead() -> None:
            # Subscribed before the informers start: the first listing is taken in as
            # its pages arrive, while the API server encodes the next one.
            reader.subscribe(sched.on_event)
            informers = asyncio.ensure_future(reader.run())
            try:
                began = time.perf_counter()
                if hosted is not None:
                    port = await hosted.start()
                    log.info("hosting colo-coordinator on port %d", port)
                await reader.wait_synced()
                log.info("colo-batch %s synced in %.2f s: %d nodes, %d pending pods",
                         options.identity, time.perf_counter() - began, sched.snap.n,
                         len(sched.pending))  # fmt: skip
                await asyncio.gather(informers, sched.run())
            finally:
                informers.cancel()
                await sched.close()
                if hosted is not None:
                    await hosted.stop()

        try:
            if options.leader_elect:
                elector = LeaderElector(
                    t,
                    namespace=options.lease_namespace,
                    name=options.scheduler_name,
                    identity=options.identity or default_identity(),
                )
                await elector.run(lead)
            else:
                await lead()
        finally:
            if coordinator is not None:
                await coordinator.close()
            if metrics is not None:
                await metrics.cleanup()


def default_identity() -> str:
    return f"{socket.gethostname()}_{os.getpid()}"
