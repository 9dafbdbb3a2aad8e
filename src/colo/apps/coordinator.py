"""colo-coordinator: the shared ledger served over gRPC, kept in step with the API server.

On start it lists nodes and pods, rebuilds the ledger from them (so it never grants what
is already bound, also after a restart), then applies every watched change as it comes.
Watch events and gRPC calls run on one event loop and the service never awaits while it
touches the ledger, so every status update that has arrived is applied before the next
batch of reservations is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from colo.coord.feed import LedgerFeed
from colo.coord.ledger import Ledger
from colo.kube.config import ClientConfig
from colo.kube.informer import Informer
from colo.kube.reader import KubeClusterReader
from colo.kube.transport import Transport
from colo.ports.api import WatchTransport

if TYPE_CHECKING:
    import grpc
    from aiohttp import web
    from prometheus_client.registry import Collector

    from colo.rpc.coordinator import CoordinatorService

log = logging.getLogger(__name__)


class CoordinatorApp:
    def __init__(
        self,
        transport: WatchTransport | None = None,
        *,
        reader: KubeClusterReader | None = None,
        listen: str = "127.0.0.1:0",
        ttl_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Give a `transport` (the app runs its own informers) or a `reader` that its
        owner runs (colo-batch shares its informers with a coordinator it hosts)."""
        self.ledger = Ledger(ttl_s=ttl_s)
        self.feed = LedgerFeed(self.ledger)
        self.service: CoordinatorService | None = None  # from `serve()` on
        self._clock = clock
        if reader is None:
            if transport is None:
                raise ValueError("CoordinatorApp needs a transport or a reader")
            reader = KubeClusterReader(
                pods=Informer(transport, "pods"), nodes=Informer(transport, "nodes")
            )
            self._owns_reader = True
        else:
            self._owns_reader = False
        self.reader = reader
        self._listen = listen
        self._following = False
        self._informers: asyncio.Task[None] | None = None
        self._server: grpc.aio.Server | None = None
        self.port = 0

    async def start(self) -> int:
        """Sync with the API server, rebuild, then serve; returns the gRPC port."""
        await self.sync()
        return await self.serve()

    def follow(self) -> None:
        """Take every change in from the reader's first listing on, as it arrives: call
        before the owner starts the reader (then `sync` has nothing to rebuild). colo-batch
        does, so the ledger is built while the listing's pages are still on their way,
        not after the last one, in front of its first reservation."""
        if not self.reader.is_empty():
            raise RuntimeError("follow() after the reader has taken objects in: sync() rebuilds")
        self.reader.subscribe(self.feed.apply)
        self._following = True

    async def sync(self) -> None:
        """Wait for the informers' first listing and rebuild the ledger from it (unless
        it followed the listing, `follow`); from then on it follows every change.
        Reservations made in this process (`InProcessCoordinator`) may begin here,
        before `serve()`."""
        if self._owns_reader:
            self._informers = asyncio.ensure_future(self.reader.run())
        # An informer that gives up (Permanent) raises here, when this app runs them.
        await self.reader.wait_synced(self._informers)
        if self._following:
            return
        # No await between the rebuild and the subscription: no change falls in between.
        self.feed.rebuild(self.reader.nodes(), self.reader.pods())
        self.reader.subscribe(self.feed.apply)
        self._following = True

    async def serve(self) -> int:
        """Serve the synced ledger over gRPC; returns the port. gRPC is imported here, not
        with this module: colo-batch hosting the coordinator binds its first pods before
        it serves other schedulers, and importing grpc and the generated code is ~40 ms
        (`python -X importtime`, 2 cores, 2026-12-07)."""
        from colo.rpc.coordinator import CoordinatorService
        from colo.rpc.coordinator import serve as serve_grpc

        self.service = CoordinatorService(self.ledger, clock=self._clock)
        self._server, self.port = await serve_grpc(self.service, self._listen)
        log.info(
            "colo-coordinator serving on port %d: %d nodes, %d bound pods",
            self.port,
            len(self.ledger.nodes),
            sum(len(n.bound) for n in self.ledger.nodes.values()),
        )
        return self.port

    async def wait(self) -> None:
        """Until the informers fail for good (they retry transient faults themselves)."""
        if self._informers is not None:
            await self._informers

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(1.0)
        if self._informers is not None:
            self._informers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._informers


@dataclass(frozen=True)
class CoordOptions:
    """How `serve` runs colo-coordinator (the CLI's flags)."""

    listen: str = "127.0.0.1:7070"  # host:port of the gRPC server; port 0 picks one
    ttl_s: float = 30.0  # a reservation's lifetime unless its pod is seen bound
    metrics_listen: str | None = None  # host:port: serve Prometheus /metrics there


def metrics_collectors(app: CoordinatorApp) -> list[Collector]:
    """What colo-coordinator serves on /metrics (the dashboards' test reads these too)."""
    from colo.apps.metrics import LedgerCollector

    return [LedgerCollector(app.ledger)]


async def serve(config: ClientConfig, options: CoordOptions) -> None:
    """The colo-coordinator process: informers → ledger → gRPC, until the informers
    fail for good. Says "colo-coordinator serving gRPC on port N" on stderr once it
    serves. Raises `InvalidInput` naming `--metrics-listen` when it cannot listen there.
    """
    async with Transport.from_config(config, user_agent="colo-coordinator") as t:
        app = CoordinatorApp(t, listen=options.listen, ttl_s=options.ttl_s)
        metrics: web.AppRunner | None = None
        if options.metrics_listen:
            # Imported only when served: Prometheus' client slows every start otherwise.
            from colo.apps.metrics import serve_metrics

            metrics = await serve_metrics(
                options.metrics_listen, metrics_collectors(app), process="colo-coordinator"
            )
        try:
            port = await app.start()
            # The listing's objects, out of the cyclic collector's walks (as colo-batch
            # does once synced, which also covers a coordinator it hosts).
            gc.freeze()
            print(f"colo-coordinator serving gRPC on port {port}", file=sys.stderr, flush=True)
            await app.wait()
        finally:
            await app.stop()
            if metrics is not None:
                await metrics.cleanup()
