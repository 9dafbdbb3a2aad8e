"""Prometheus metrics of colo's scheduling processes, read from the counters they keep.

The collectors read plain counters that the scheduler, the ledger and the extender
already keep (`BatchStats`, `Ledger.granted`, `Extender.stats`) when Prometheus scrapes,
so no hot path carries instrumentation and the engines stay free of any metrics
library. `start_metrics` serves `/metrics` (and `/healthz`) on a port of its own for
the processes without an HTTP server; colo-extender adds the same route to its server.

Every process keeps its own `CollectorRegistry` (not the library's global one), so a
test can run several in one interpreter.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from colo.coord.ledger import Ledger
from colo.core.errors import InvalidInput
from colo.sched.loop import BatchLoop

if TYPE_CHECKING:
    from colo.apps.batch import CycleTimes

log = logging.getLogger(__name__)

# name, help, BatchStats field
_BATCH_COUNTERS = (
    ("colo_batch_cycles", "Batch cycles run.", "cycles"),
    ("colo_batch_placed_pods", "Pods a cycle placed on a node.", "placed"),
    ("colo_batch_bound_pods", "Pods bound by this scheduler.", "bound"),
    ("colo_batch_reservation_conflicts", "Placements refused.", "reserve_conflicts"),
    ("colo_batch_coordinator_faults", "Coordinator calls that failed.", "coordinator_faults"),
    (
        "colo_batch_unschedulable_reports",
        "PodScheduled=False reports written.",
        "unschedulable_reported",
    ),
    ("colo_batch_unreadable_pods", "Pods whose spec colo could not read.", "bad_pods"),
    (
        "colo_batch_replaced_at_start",
        "Pods placed ahead of their colo.io/start-at placed again: their node shrank.",
        "replaced_at_start",
    ),
    (
        "colo_batch_virtual_fallbacks",
        "Pods sent to standard nodes after their job failed on a virtual node.",
        "virtual_fallbacks",
    ),
)


class BatchCollector(Collector):
    """colo-batch: cycles, placements, bindings, refusals, and what is pending now."""

    def __init__(self, loop: BatchLoop, times: CycleTimes) -> None:
        self._loop = loop
        self._times = times

    def collect(self) -> Iterator[Metric]:
        stats = self._loop.stats
        for name, doc, attr in _BATCH_COUNTERS:
            yield CounterMetricFamily(name, doc, value=getattr(stats, attr))
        yield CounterMetricFamily(
            "colo_batch_cycle_seconds", "Time spent in batch cycles.", value=self._times.total_s
        )
        failures = CounterMetricFamily(
            "colo_batch_binding_failures", "Bindings that failed, by error.", labels=["error"]
        )
        for error, n in sorted(stats.by_error.items()):
            failures.add_metric([error], n)
        yield failures
        yield GaugeMetricFamily(
            "colo_batch_last_cycle_seconds", "Duration of the last cycle.", value=self._times.last_s
        )
        yield GaugeMetricFamily(
            "colo_batch_pending_pods", "Pods waiting for a node.", value=len(self._loop.pending)
        )
        yield GaugeMetricFamily(
            "colo_batch_nodes", "Nodes in the scheduler's snapshot.", value=self._loop.snap.n
        )


class LedgerCollector(Collector):
    """colo-coordinator: reservations granted, refused and expired; what the ledger holds."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def collect(self) -> Iterator[Metric]:
        ledger = self._ledger
        reservations = CounterMetricFamily(
            "colo_coordinator_reservations",
            "Reservation requests answered, by result.",
            labels=["result"],
        )
        reservations.add_metric(["granted"], ledger.granted)
        reservations.add_metric(["conflict"], ledger.conflicts)
        yield reservations
        yield CounterMetricFamily(
            "colo_coordinator_reservations_expired",
            "Reservations dropped unconfirmed after their TTL.",
            value=ledger.expired,
        )
        nodes = ledger.nodes.values()
        yield GaugeMetricFamily("colo_coordinator_nodes", "Nodes in the ledger.", value=len(nodes))
        held = GaugeMetricFamily(
            "colo_coordinator_pods", "Pods the ledger holds room for, by state.", labels=["state"]
        )
        held.add_metric(["bound"], sum(len(n.bound) for n in nodes))
        held.add_metric(["reserved"], sum(len(n.reserved) for n in nodes))
        yield held


class StatsCollector(Collector):
    """A dict of counts as counters named `<prefix>_<key>` (colo-extender's `stats`)."""

    def __init__(
        self, prefix: str, docs: Mapping[str, str], counts: Callable[[], Mapping[str, int]]
    ) -> None:
        self._prefix, self._docs, self._counts = prefix, docs, counts

    def collect(self) -> Iterator[Metric]:
        counts = self._counts()
        for key, doc in self._docs.items():
            yield CounterMetricFamily(f"{self._prefix}_{key}", doc, value=counts.get(key, 0))


def registry_of(*collectors: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    for c in collectors:
        registry.register(c)
    return registry


Handler = Callable[[web.Request], Awaitable[web.Response]]


def metrics_handler(registry: CollectorRegistry) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handle


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def start_metrics(registry: CollectorRegistry, address: str) -> tuple[web.AppRunner, int]:
    """Serve /metrics and /healthz on `address` (HOST:PORT, `[::1]:9090` for IPv6; port 0
    picks one); returns the runner (`await runner.cleanup()` stops it) and the port.
    Raises `OSError` when it cannot listen there."""
    host, _, port_text = address.rpartition(":")
    host, port = host.strip("[]"), int(port_text)
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(registry))
    app.router.add_get("/healthz", _healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, listening_port(runner, port)


async def serve_metrics(
    address: str, collectors: Iterable[Collector], *, process: str
) -> web.AppRunner:
    """A process's `--metrics-listen`: its collectors in a registry of their own, served
    by `start_metrics`; `InvalidInput` naming the flag when it cannot listen there."""
    try:
        runner, port = await start_metrics(registry_of(*collectors), address)
    except OSError as e:
        raise InvalidInput(
            f"cannot listen there: {e.strerror or e}", obj=process,
            field="--metrics-listen", value=address,
        ) from None  # fmt: skip
    log.info("%s: serving metrics on port %d", process, port)
    return runner


def listening_port(runner: web.AppRunner, asked: int) -> int:
    """The port a started runner listens on (what port 0 became)."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
