"""colo-batch as a process: the asyncio driver of `colo.sched.loop.BatchLoop`.

Everything colo-batch decides lives in the loop (the engine layer), which the simulator
drives too (`colo.sim.batch_scheduler`). This module only moves events and commands:

- the cluster reader's changes (informers over pods and nodes) go into the loop as they
  arrive (`on_event`), and so do the answers of the commands below;
- it wakes the loop when it asks (`cycle_at`, `timer_at`): `TimerDue` for placeholders
  and virtual-node marks, `CycleDue` (with the wall time) for a batch cycle;
- it executes the loop's commands as tasks: `Reserve`/`Unreserve` at the coordinator,
  `Bind` through the binder (concurrency and client rate limit are the binder's and the
  transport's), `ReportUnschedulable` as `PodScheduled=False` plus a Warning
  `FailedScheduling` event.

`serve` is the composition root of `colo batch serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from colo.apps.coordinator import CoordinatorApp
from colo.apps.reclaim import SilentNodeSweeper
from colo.coord.ledger import InProcessCoordinator
from colo.core.changes import ClusterEvent, EventType
from colo.core.errors import ColoError, Conflict, NotFound
from colo.core.gcpause import cyclic_gc_paused
from colo.core.objects import Node
from colo.kube.binder import KubeBinder
from colo.kube.config import ClientConfig
from colo.kube.events import KubeEventRecorder
from colo.kube.heartbeat import list_heartbeats
from colo.kube.informer import Informer
from colo.kube.leader import LeaderElector
from colo.kube.nodestatus import KubeNodeStatusPatcher
from colo.kube.podstatus import KubePodConditionWriter
from colo.kube.reader import KubeClusterReader
from colo.kube.transport import Transport
from colo.ports.cluster import EventRecorder, PodConditionWriter, RetryingBinder
from colo.ports.coordinator import Coordinator
from colo.sched.loop import DEFAULT_SCHEDULER_NAME, BatchLoop, BatchStats, LoopOptions
from colo.sched.messages import (
    Bind,
    BindFailed,
    BindSucceeded,
    Command,
    CycleDue,
    Event,
    ReportUnschedulable,
    Reserve,
    Reserved,
    ReserveFailed,
    TimerDue,
    Unreserve,
)
from colo.sched.requirements import VirtualNodePolicy

if TYPE_CHECKING:
    from aiohttp import web
    from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

#: The longest the first listing runs with the cyclic collector paused; the largest
#: clusters list in ~10 s (150,000 pods at ~14,000 objects/s).
GC_PAUSED_LISTING_S = 60.0
#: The longest a hosted coordinator waits for colo-batch's first bindings before it
#: serves other schedulers anyway (a slow API server must not keep them out for long).
HOSTING_DELAY_CAP_S = 1.0


@dataclass
class CycleTimes:
    """How long colo-batch's cycles took (measured by its driver: the loop reads no clock)."""

    last_s: float = 0.0
    total_s: float = 0.0

    def took(self, seconds: float) -> None:
        self.last_s = seconds
        self.total_s += seconds


class BatchScheduler:
    """Drives one `BatchLoop` against the ports (see the module docstring)."""

    def __init__(
        self,
        binder: RetryingBinder,
        conditions: PodConditionWriter,
        events: EventRecorder,
        *,
        coordinator: Coordinator | None = None,
        options: LoopOptions | None = None,
        clock: Callable[[], float] = time.time,
        wall: Callable[[], float] = time.time,
        bind_workers: int = 64,
    ) -> None:
        """`clock`: the loop's time; the wall clock, since `colo.io/start-at` is a wall
        time (tests pass their own). `bind_workers`: tasks that take `Bind` commands off
        one queue (as many as the binder lets in flight; not a task per binding: a cycle
        of 5,000 placements would start 5,000 tasks before its first binding went out)."""
        opts = options or LoopOptions()
        if opts.coordinated != (coordinator is not None):
            opts = dataclasses.replace(opts, coordinated=coordinator is not None)
        self.loop = BatchLoop(opts)
        self._binder = binder
        self._conditions = conditions
        self._events = events
        self._coordinator = coordinator
        self._clock = clock
        self._wall = wall
        self.times = CycleTimes()
        self.recorded: list[tuple[float, Event | Command]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._binds: deque[Bind] = deque()
        self._bind_workers = 0
        self._max_bind_workers = max(1, bind_workers)
        #: Set once the first cycle's work is out: a binding answered, or nothing in
        #: flight after a step (what `serve` waits for before it serves the coordinator
        #: it hosts to other schedulers).
        self.started = asyncio.Event()

    @property
    def stats(self) -> BatchStats:
        return self.loop.stats

    def record(self) -> list[tuple[float, Event | Command]]:
        """From now on keep every event handed to the loop and every command it gave."""
        self.recorded = []
        return self.recorded

    # --- into the loop ------------------------------------------------------------------
    def on_event(self, event: ClusterEvent) -> None:
        """The reader's changes (it calls this on its loop, in order)."""
        self.handle(event)

    def handle(self, event: Event) -> None:
        now = self._clock()
        commands = self.loop.handle(event, now)
        if self.recorded is not None:
            self.recorded.append((now, event))
            self.recorded.extend((now, c) for c in commands)
        for command in commands:
            self._execute(command)
        self._wake.set()  # the loop may want waking at another time now

    def step(self) -> None:
        """Hand the loop whatever is due now: expired timers, then a cycle."""
        now = self._clock()
        at = self.loop.timer_at()
        if at is not None and at <= now:
            self.handle(TimerDue())
        at = self.loop.cycle_at()
        if at is not None and at <= self._clock():
            started = time.perf_counter()
            self.handle(CycleDue(wall_s=self._wall()))
            self.times.took(time.perf_counter() - started)

    def next_wakeup(self) -> float | None:
        times = [t for t in (self.loop.timer_at(), self.loop.cycle_at()) if t is not None]
        return min(times) if times else None

    async def run(self) -> None:
        """Wake the loop whenever it asks, forever."""
        while True:
            self.step()
            self._started_if_idle()
            at = self.next_wakeup()
            self._wake.clear()
            timeout = None if at is None else max(0.0, at - self._clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    # --- out of the loop ----------------------------------------------------------------
    def _execute(self, command: Command) -> None:
        if isinstance(command, Reserve):
            self._spawn(self._reserve(command))
        elif isinstance(command, Bind):
            self._binds.append(command)
            if self._bind_workers < self._max_bind_workers:
                self._bind_workers += 1
                self._spawn(self._bind_worker())
        elif isinstance(command, Unreserve):
            self._spawn(self._unreserve(command))
        elif isinstance(command, ReportUnschedulable):
            self._spawn(self._write_unschedulable(command))

    async def _reserve(self, command: Reserve) -> None:
        assert self._coordinator is not None, "a Reserve without a coordinator"
        try:
            replies = await self._coordinator.reserve(command.items)
        except ColoError as e:
            delay = float(getattr(e, "delay_s", 1.0))
            self.handle(ReserveFailed(command.ticket, str(e), retry_after_s=delay))
            return
        self.handle(Reserved(command.ticket, tuple(replies)))

    async def _unreserve(self, command: Unreserve) -> None:
        if self._coordinator is None:
            return
        try:
            await self._coordinator.unreserve(command.keys)
        except ColoError as e:  # the reservations expire on their own
            self.stats.coordinator_faults += 1
            log.warning("coordinator unreserve failed (reservations will expire): %s", e)

    async def _bind_worker(self) -> None:
        try:
            while self._binds:
                await self._bind(self._binds.popleft())
        finally:
            self._bind_workers -= 1

    async def _bind(self, command: Bind) -> None:
        try:
            await self._binder.bind_retrying(command.pod, command.node)
        except (Conflict, NotFound) as e:
            self.handle(BindFailed(command.key, type(e).__name__, str(e), lost_race=True))
            return
        except ColoError as e:
            self.handle(BindFailed(command.key, type(e).__name__, str(e)))
            return
        finally:
            self.started.set()
        self.handle(BindSucceeded(command.key))

    async def _write_unschedulable(self, command: ReportUnschedulable) -> None:
        pod = command.pod
        try:
            await self._conditions.set_condition(
                pod, type="PodScheduled", status="False", reason="Unschedulable",
                message=command.message,
            )  # fmt: skip
        except ColoError as e:  # best effort; the event below may still get through
            log.warning("cannot set PodScheduled=False on %s: %s", pod.key, e)
        with contextlib.suppress(ColoError):
            await self._events.record(
                kind="Pod",
                key=pod.key,
                reason="FailedScheduling",
                message=command.message,
                type=EventType.WARNING,
            )

    # --- running ------------------------------------------------------------------------
    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._started_if_idle()

    def _started_if_idle(self) -> None:
        if not (self._tasks or self._binds):
            self.started.set()

    async def drain(self) -> None:
        """Wait for the commands in flight (tests, shutdown)."""
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
    #: how long a silent leader's Lease holds before a standby takes over
    lease_duration_s: float = 15.0
    identity: str = ""
    virtual: VirtualNodePolicy = field(default_factory=VirtualNodePolicy)
    # While leading, zero the colo.io/batch-* of nodes whose agent heartbeat (a Lease in
    # heartbeat_namespace) has not moved for this long; None: never (the capacity is
    # then someone else's to keep true, as in tests that set it by hand).
    sweep_silent_after_s: float | None = None
    heartbeat_namespace: str = "colo-system"


def metrics_collectors(sched: BatchScheduler, hosted: CoordinatorApp | None) -> list[Collector]:
    """What colo-batch serves on /metrics: its loop's figures and, when it hosts the
    coordinator, the ledger's (the dashboards' test reads these same collectors)."""
    from colo.apps.metrics import BatchCollector, LedgerCollector

    collectors: list[Collector] = [BatchCollector(sched.loop, sched.times)]
    if hosted is not None:
        collectors.append(LedgerCollector(hosted.ledger))
    return collectors


async def serve(config: ClientConfig, options: BatchOptions) -> None:
    """The colo-batch process: informers → BatchScheduler → coordinator → bindings.

    With leader election only the leader schedules (the others wait, informers idle);
    losing the lease raises `LeadershipLost` so the process exits, as Kubernetes
    components do.
    """
    async with Transport.from_config(
        config, qps=options.qps, burst=options.burst, user_agent="colo-batch"
    ) as t:
        client = None
        if options.coordinator:
            # Imported only when used: grpc and the generated code are ~40 ms of a start.
            from colo.rpc.coordinator import CoordinatorClient

            client = CoordinatorClient(options.coordinator, scheduler=options.scheduler_name)
        reader = KubeClusterReader(pods=Informer(t, "pods"), nodes=Informer(t, "nodes"))
        hosted = (
            CoordinatorApp(reader=reader, listen=options.coordinator_listen)
            if options.coordinator_listen
            else None
        )
        coordinator: Coordinator | None = client
        if hosted is not None:
            coordinator = InProcessCoordinator(hosted.ledger, time.monotonic)
        sched = BatchScheduler(
            KubeBinder(t, concurrency=options.bind_concurrency),
            KubePodConditionWriter(t),
            KubeEventRecorder(t, component=options.scheduler_name, instance=options.identity),
            coordinator=coordinator,
            options=LoopOptions(
                scheduler_name=options.scheduler_name,
                virtual=options.virtual,
                batch_delay_s=options.batch_delay_s,
                coordinated=coordinator is not None,
            ),
            bind_workers=options.bind_concurrency,
        )
        metrics: web.AppRunner | None = None
        if options.metrics_listen:
            # Served from the start, leader or not: a standby shows it is alive and idle.
            # Imported here: Prometheus' client is only needed with metrics on, and every
            # import delays the first binding of a (re)started colo-batch.
            from colo.apps.metrics import serve_metrics

            metrics = await serve_metrics(
                options.metrics_listen, metrics_collectors(sched, hosted), process="colo-batch"
            )

        async def lead() -> None:
            # Subscribed before the informers start: the first listing is taken in as
            # its pages arrive, while the API server encodes the next one.
            reader.subscribe(sched.on_event)
            if hosted is not None:
                hosted.follow()  # the ledger too (its rebuild after the listing: 19-38 ms)
            informers = asyncio.ensure_future(reader.run())

            async def synced() -> None:
                # An informer that gives up (Permanent: say, a token the API server
                # refuses) raises here, and the process exits with it instead of waiting.
                await reader.wait_synced(informers)
                if hosted is not None:
                    await hosted.sync()  # the ledger, before the first reservation

            async def hosting(app: CoordinatorApp) -> None:
                # Other schedulers are served once this one's first bindings are out: its
                # own reservations go to the ledger in-process, and the gRPC start (with
                # its imports) no longer stands in front of the first binding.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sched.started.wait(), HOSTING_DELAY_CAP_S)
                port = await app.serve()
                log.info("hosting colo-coordinator on port %d", port)

            ready = asyncio.ensure_future(synced())
            try:
                began = time.perf_counter()
                # What the first listing builds lives as long as its objects: built with
                # the cyclic collector off (its walks of it took 0.14-0.21 s of cpu in a
                # cold start), then frozen out of its sight, so a full collection no
                # longer walks 100,000s of views in the middle of a cycle (reference
                # counting still frees them). A listing slower than GC_PAUSED_LISTING_S
                # (an API server out of reach, retried) goes on with the collector on.
                with cyclic_gc_paused(freeze=True):
                    await asyncio.wait({ready}, timeout=GC_PAUSED_LISTING_S)
                await ready
                log.info("colo-batch %s synced in %.2f s: %d nodes, %d pending pods",
                         options.identity, time.perf_counter() - began, sched.loop.snap.n,
                         len(sched.loop.pending))  # fmt: skip
                loops = [informers, sched.run()]
                if hosted is not None:
                    loops.append(hosting(hosted))
                if options.sweep_silent_after_s is not None:
                    loops.append(silent_node_sweeper(t, reader, options).run())
                await asyncio.gather(*loops)
            finally:
                ready.cancel()
                informers.cancel()
                await sched.close()
                if hosted is not None:
                    await hosted.stop()

        try:
            if options.leader_elect:
                elector = LeaderElector.for_lease(
                    t,
                    namespace=options.lease_namespace,
                    name=options.scheduler_name,
                    identity=options.identity or default_identity(),
                    lease_duration_s=options.lease_duration_s,
                )
                await elector.run(lead)
            else:
                await lead()
        finally:
            if client is not None:
                await client.close()
            if metrics is not None:
                await metrics.cleanup()


def silent_node_sweeper(
    t: Transport, reader: KubeClusterReader, options: BatchOptions
) -> SilentNodeSweeper:
    """The leader's sweeper: agents' heartbeats from their Leases, nodes from the
    informer colo-batch already keeps, zeroes written like the agents' own reports."""
    assert options.sweep_silent_after_s is not None
    ns = options.heartbeat_namespace

    async def nodes() -> list[Node]:
        return list(reader.nodes())

    return SilentNodeSweeper(
        KubeNodeStatusPatcher(t),
        lambda: list_heartbeats(t, ns),
        nodes,
        timeout_s=options.sweep_silent_after_s,
        interval_s=min(5.0, options.sweep_silent_after_s / 4),
    )


def default_identity() -> str:
    return f"{socket.gethostname()}_{os.getpid()}"
