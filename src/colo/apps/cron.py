"""colo-cron as a process: the asyncio driver of `colo.cron.loop.CronLoop`.

Everything colo-cron decides lives in the loop, which `colo sim` drives too
(`colo.sim.cron`). This module moves events and commands: informers over CronJobs, Jobs
and Jobs' pods feed the loop; it is woken when it asks; its commands become API writes,
run as tasks, at most `write_concurrency` (64) in flight — a wave's burst queues in
order behind them instead of contending all at once for the cores and the API server —
and their outcomes go back in. `serve` is the composition root of `colo cron serve`.

kube-controller-manager's own CronJob controller must not run beside it
(`--controllers=*,-cronjob-controller`): both would create the runs. Job names make a
doubled run impossible (the second create meets `AlreadyExists`), and colo-cron warns on
the CronJob when it sees a run it did not make, but two controllers writing one
CronJob's status would still disagree. Jobs colo-cron does not run itself, and Jobs
made by hand (`kubectl create job --from=cronjob/…`), stay with the built-in Job
controller, which keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from colo.apps.metrics import serve_metrics
from colo.core.changes import ChangeKind, ClusterEvent
from colo.core.errors import ColoError, Conflict, InvalidInput, NotFound
from colo.cron.loop import CronLoop, CronOptions
from colo.cron.messages import (
    Command,
    Created,
    CreateFailed,
    CreateJob,
    CreatePod,
    Delete,
    Event,
    PatchStatus,
    Record,
    Resource,
    Seen,
    TimerDue,
    WriteFailed,
)
from colo.cron.resources import CronJobView, JobView
from colo.kube.config import ClientConfig
from colo.kube.events import KubeEventRecorder
from colo.kube.informer import Informer
from colo.kube.leader import LeaderElector
from colo.kube.transport import Transport
from colo.ports.api import Api
from colo.ports.cluster import EventRecorder

log = logging.getLogger(__name__)

BATCH = "/apis/batch/v1"
#: Pods of Jobs (the label every Job's pods carry): the only pods colo-cron watches.
JOB_PODS = "batch.kubernetes.io/controller-uid"
#: Fire lateness buckets (seconds): the users' tolerance is 3 s.
LATENESS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0)
#: API writes (creates, deletes, status patches, Events) in flight at once, by default.
WRITE_CONCURRENCY = 64


def _path(resource: Resource, key: str, *, status: bool = False) -> str:
    ns, name = key.split("/", 1)
    api = "/api/v1" if resource == "pods" else BATCH
    return f"{api}/namespaces/{ns}/{resource}/{name}" + ("/status" if status else "")


class CronController:
    """Drives one `CronLoop` against the API server (see the module docstring).

    Every command is a task; at most `write_concurrency` of them are writing at once, the
    rest wait their turn in the order the loop gave them. Each write's outcome goes back
    to the loop when it has been answered, after its slot is free again.
    """

    def __init__(
        self,
        api: Api,
        events: EventRecorder,
        *,
        options: CronOptions | None = None,
        clock: Callable[[], float] = time.time,
        write_concurrency: int = WRITE_CONCURRENCY,
    ) -> None:
        if write_concurrency < 1:
            raise ValueError(f"write_concurrency must be at least 1, got {write_concurrency}")
        self.loop = CronLoop(options)
        self._api = api
        self._events = events
        self._clock = clock
        self.lateness: list[float] = []  # every run pod's, for the histogram
        self.unreadable = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self.write_concurrency = write_concurrency
        self._writes = asyncio.Semaphore(write_concurrency)
        #: writes sent and not yet answered (at most `write_concurrency`)
        self.writes_in_flight = 0

    # --- into the loop ------------------------------------------------------------------
    def on_raw(self, resource: Resource, kind: ChangeKind, raw: dict[str, Any]) -> None:
        """A CronJob or a Job from its informer."""
        try:
            view: CronJobView | JobView = (
                CronJobView.from_k8s(raw) if resource == "cronjobs" else JobView.from_k8s(raw)
            )
        except InvalidInput as e:  # the API server validated it; still, never stop for one
            self.unreadable += 1
            log.warning("colo-cron: skipping a %s it cannot read: %s", resource[:-1], e)
            return
        self.handle(Seen(kind, view))

    def on_pod(self, event: ClusterEvent) -> None:
        if event.pod is not None:
            self.handle(Seen(event.kind, event.pod))

    def handle(self, event: Event) -> None:
        for command in self.loop.handle(event, self._clock()):
            self._spawn(self._execute(command))
        self.lateness.extend(self.loop.stats.lateness_s)
        self.loop.stats.lateness_s.clear()
        self._wake.set()

    def step(self) -> None:
        at = self.loop.timer_at()
        if at is not None and at <= self._clock():
            self.handle(TimerDue())

    async def run(self) -> None:
        while True:
            self.step()
            at = self.loop.timer_at()
            self._wake.clear()
            timeout = None if at is None else max(0.0, at - self._clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    # --- out of the loop ----------------------------------------------------------------
    async def _execute(self, command: Command) -> None:
        async with self._writes:
            self.writes_in_flight += 1
            try:
                answer = await self._write(command)
            finally:
                self.writes_in_flight -= 1
        if answer is not None:
            self.handle(answer)

    async def _write(self, command: Command) -> Event | None:
        """Carry out one command; what the loop must hear of it, if anything."""
        if isinstance(command, CreateJob | CreatePod):
            resource: Resource = "jobs" if isinstance(command, CreateJob) else "pods"
            ns = command.key.split("/", 1)[0]
            api = BATCH if resource == "jobs" else "/api/v1"
            try:
                made = await self._api.request(
                    "POST", f"{api}/namespaces/{ns}/{resource}", body=command.body
                )
            except Conflict as e:
                return CreateFailed(resource, command.key, str(e), exists=True)
            except ColoError as e:
                return CreateFailed(resource, command.key, str(e))
            return Created(resource, command.key, made)
        if isinstance(command, Delete):
            body = {"propagationPolicy": "Background", "preconditions": {"uid": command.uid}}
            try:
                await self._api.request("DELETE", _path(command.resource, command.key), body=body)
            except NotFound:
                pass  # gone already: what was asked
            except ColoError as e:
                return WriteFailed(command.resource, command.key, str(e))
        elif isinstance(command, PatchStatus):
            try:
                await self._api.request(
                    "PATCH",
                    _path(command.resource, command.key, status=True),
                    body={"status": command.status},
                    content_type="application/merge-patch+json",
                )
            except NotFound:
                pass
            except ColoError as e:
                return WriteFailed(command.resource, command.key, str(e))
        elif isinstance(command, Record):
            await self._events.record(
                kind=command.kind, key=command.key, reason=command.reason,
                message=command.message, type=command.type, uid=command.uid,
            )  # fmt: skip
        return None

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class CronCollector(Collector):
    """colo-cron's counters and its runs' fire lateness."""

    def __init__(self, controller: CronController) -> None:
        self._c = controller
        self._buckets = [0] * (len(LATENESS_BUCKETS) + 1)
        self._seen = 0
        self._sum = 0.0

    def collect(self) -> Iterator[Any]:
        stats = self._c.loop.stats
        for name, doc, value in (
            ("runs_created", "Runs (Jobs) created.", stats.runs_created),
            ("runs_ahead", "Runs created ahead of their time.", stats.runs_ahead),
            ("runs_missed", "Runs past startingDeadlineSeconds.", stats.runs_missed),
            ("runs_skipped", "Runs skipped by concurrencyPolicy Forbid.", stats.runs_skipped),
            ("create_failures", "Job or pod creations that failed.", stats.create_failures),
            ("pods_created", "Pods made for the Jobs colo-cron runs.", stats.pods_created),
            ("jobs_completed", "Jobs colo-cron ran that completed.", stats.jobs_completed),
            ("jobs_failed", "Jobs colo-cron ran that failed.", stats.jobs_failed),
        ):
            yield CounterMetricFamily(f"colo_cron_{name}", doc, value=value)
        yield GaugeMetricFamily(
            "colo_cron_cronjobs", "CronJobs watched.", value=len(self._c.loop.cronjobs)
        )
        yield CounterMetricFamily(
            "colo_cron_unreadable_objects",
            "CronJobs or Jobs skipped because colo-cron could not read them.",
            value=self._c.unreadable,
        )
        yield GaugeMetricFamily(
            "colo_cron_writes_in_flight",
            "API writes sent and not yet answered (at most --write-concurrency).",
            value=self._c.writes_in_flight,
        )
        for late in self._c.lateness[self._seen :]:
            i = next(
                (k for k, b in enumerate(LATENESS_BUCKETS) if late <= b), len(LATENESS_BUCKETS)
            )
            self._buckets[i] += 1
            self._sum += late
        self._seen = len(self._c.lateness)
        if self._seen > 100_000:  # keep memory flat: the histogram holds the counts
            del self._c.lateness[:]
            self._seen = 0
        cumulative, total = [], 0
        for bound, count in zip((*map(str, LATENESS_BUCKETS), "+Inf"), self._buckets, strict=True):
            total += count
            cumulative.append((bound, total))
        yield HistogramMetricFamily(
            "colo_cron_fire_lateness_seconds",
            "A run's pod seen bound, seconds after its scheduled time.",
            buckets=cumulative, sum_value=self._sum,
        )  # fmt: skip


@dataclass(frozen=True)
class CronServeOptions:
    """How `serve` runs colo-cron (the CLI's flags)."""

    cron: CronOptions = field(default_factory=CronOptions)
    qps: float = 500.0
    burst: int = 1000
    leader_elect: bool = True
    lease_namespace: str = "kube-system"
    lease_duration_s: float = 15.0
    identity: str = ""
    metrics_listen: str | None = None
    write_concurrency: int = WRITE_CONCURRENCY
    """API writes in flight at once (`CronController`)."""


async def serve(config: ClientConfig, options: CronServeOptions) -> None:
    """The colo-cron process: informers → CronLoop → API writes, while leader."""
    async with Transport.from_config(
        config, qps=options.qps, burst=options.burst, user_agent="colo-cron"
    ) as t:
        identity = options.identity or "colo-cron"
        controller = CronController(
            t, KubeEventRecorder(t, component="colo-cron", instance=identity),
            options=options.cron, write_concurrency=options.write_concurrency,
        )  # fmt: skip
        metrics: web.AppRunner | None = None
        if options.metrics_listen:
            metrics = await serve_metrics(
                options.metrics_listen, [CronCollector(controller)], process="colo-cron"
            )

        async def lead() -> None:
            cronjobs = Informer(t, "cronjobs", api=BATCH)
            jobs = Informer(t, "jobs", api=BATCH)
            pods = Informer(t, "pods", label_selector=JOB_PODS)
            # Jobs and pods first, so a CronJob's first sync sees the runs it has.
            jobs.subscribe_raw(lambda kind, raw: controller.on_raw("jobs", kind, raw))
            pods.subscribe(controller.on_pod)
            cronjobs.subscribe_raw(lambda kind, raw: controller.on_raw("cronjobs", kind, raw))
            tasks = [asyncio.ensure_future(i.run()) for i in (jobs, pods)]
            try:
                await asyncio.gather(jobs.wait_synced(), pods.wait_synced())
                tasks.append(asyncio.ensure_future(cronjobs.run()))
                await cronjobs.wait_synced()
                log.info("colo-cron %s leading: %d cronjobs, %d jobs", identity,
                         len(controller.loop.cronjobs), len(controller.loop.jobs))  # fmt: skip
                await asyncio.gather(*tasks, controller.run())
            finally:
                for task in tasks:
                    task.cancel()
                await controller.close()

        try:
            if options.leader_elect:
                elector = LeaderElector.for_lease(
                    t, namespace=options.lease_namespace, name="colo-cron", identity=identity,
                    lease_duration_s=options.lease_duration_s,
                )  # fmt: skip
                await elector.run(lead)
            else:
                await lead()
        finally:
            if metrics is not None:
                await metrics.cleanup()
