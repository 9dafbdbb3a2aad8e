"""The coordinator over gRPC (grpcio asyncio); `colo.coord.ledger.InProcessCoordinator`
is the same calls without a network.

The server wraps one `colo.coord.ledger.Ledger`. Handlers never await while they touch
the ledger, so on the event loop every status update that arrived (PodBound calls, the
informer's events) is applied before the next batch is answered, and a batch is answered
atomically. Per-node conflict checks mean schedulers working on different nodes never
conflict; nothing is locked across nodes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import grpc

from colo.coord.ledger import Ledger, filter_nodes
from colo.core.errors import Permanent, Retryable
from colo.core.reservation import Item, Reply
from colo.rpc.coord.v1 import coordinator_pb2 as pb
from colo.rpc.coord.v1 import coordinator_pb2_grpc as pb_grpc


def _replies(replies: Sequence[Reply]) -> pb.ReserveResponse:
    return pb.ReserveResponse(
        replies=[pb.ReserveReply(pod=r.pod, node=r.node, ok=r.ok, reason=r.reason) for r in replies]
    )


class CoordinatorService(pb_grpc.CoordinatorServicer):
    def __init__(self, ledger: Ledger, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ledger = ledger
        self._clock = clock
        self.batches = 0

    async def Reserve(
        self, request: pb.ReserveRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReserveResponse:
        items = [Item(i.pod, i.node, dict(i.resources), i.priority) for i in request.items]
        self.batches += 1
        return _replies(self.ledger.reserve(items, self._clock()))

    async def Unreserve(
        self, request: pb.UnreserveRequest, context: grpc.aio.ServicerContext
    ) -> pb.UnreserveResponse:
        return pb.UnreserveResponse(released=self.ledger.unreserve(request.pods))

    async def PodBound(
        self, request: pb.PodBoundRequest, context: grpc.aio.ServicerContext
    ) -> pb.PodBoundResponse:
        self.ledger.pod_bound(request.pod, request.node, dict(request.resources))
        return pb.PodBoundResponse()

    async def Filter(
        self, request: pb.FilterRequest, context: grpc.aio.ServicerContext
    ) -> pb.FilterResponse:
        ok, failed = filter_nodes(
            self.ledger, request.pod, dict(request.resources), list(request.nodes), self._clock()
        )
        return pb.FilterResponse(nodes=ok, failed=failed)


async def serve(
    service: CoordinatorService, address: str = "127.0.0.1:0"
) -> tuple[grpc.aio.Server, int]:
    """Start a server for `service`; returns it and the port it listens on."""
    server = grpc.aio.server()
    pb_grpc.add_CoordinatorServicer_to_server(service, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port(address)
    if port == 0:
        raise Retryable(f"cannot listen on {address}", delay_s=1.0)
    await server.start()
    return server, port


#: gRPC codes that retrying will not fix.
PERMANENT_CODES = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.FAILED_PRECONDITION,
    }
)

Reply_ = TypeVar("Reply_")


class CoordinatorClient:
    """Batches reservations to a remote coordinator; gRPC faults become colo errors."""

    def __init__(self, target: str, *, scheduler: str, timeout_s: float = 5.0) -> None:
        self._channel = grpc.aio.insecure_channel(target)
        self._stub = pb_grpc.CoordinatorStub(self._channel)  # type: ignore[no-untyped-call]
        self.scheduler = scheduler
        self._timeout_s = timeout_s

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, what: str, call: Awaitable[Reply_]) -> Reply_:
        try:
            return await call
        except grpc.aio.AioRpcError as e:
            message = f"coordinator {what} failed: {e.code().name}: {e.details()}"
            if e.code() in PERMANENT_CODES:
                raise Permanent(message) from e
            raise Retryable(message) from e

    async def reserve(self, items: Sequence[Item]) -> list[Reply]:
        request = pb.ReserveRequest(
            scheduler=self.scheduler,
            items=[
                pb.ReserveItem(
                    pod=i.pod, node=i.node, resources=dict(i.resources), priority=i.priority
                )
                for i in items
            ],
        )
        got = await self._call("reserve", self._stub.Reserve(request, timeout=self._timeout_s))
        return [Reply(r.pod, r.node, r.ok, r.reason) for r in got.replies]

    async def unreserve(self, pods: Sequence[str]) -> int:
        request = pb.UnreserveRequest(pods=list(pods))
        got = await self._call("unreserve", self._stub.Unreserve(request, timeout=self._timeout_s))
        return int(got.released)

    async def pod_bound(self, pod: str, node: str, resources: Mapping[str, int]) -> None:
        request = pb.PodBoundRequest(pod=pod, node=node, resources=dict(resources))
        await self._call("pod-bound", self._stub.PodBound(request, timeout=self._timeout_s))

    async def filter(
        self, pod: str, resources: Mapping[str, int], nodes: Sequence[str]
    ) -> tuple[list[str], dict[str, str]]:
        """Which of `nodes` could take `pod` now; the rest with the reason."""
        request = pb.FilterRequest(pod=pod, resources=dict(resources), nodes=list(nodes))
        got = await self._call("filter", self._stub.Filter(request, timeout=self._timeout_s))
        return list(got.nodes), dict(got.failed)
