"""`Binder` over the `pods/binding` subresource, with bounded concurrency.

Outcomes map onto colo's errors (the transport does the HTTP part):
- already bound, or the pod was deleted and recreated (uid precondition) -> `Conflict`
- pod gone -> `NotFound`
- 429/5xx/connection faults -> `Retryable` (with the server's Retry-After)
- anything else (forbidden, invalid) -> `Permanent`
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from colo.core.changes import PodRef
from colo.core.errors import Conflict, NotFound, Permanent, Retryable
from colo.ports.api import Api


def binding_body(pod: PodRef, node_name: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": pod.name, "namespace": pod.namespace}
    if pod.uid:
        meta["uid"] = pod.uid  # the server checks it: a recreated pod is not bound by mistake
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": meta,
        "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
    }


@dataclass
class BindStats:
    bound: int = 0
    conflicts: int = 0
    not_found: int = 0
    retried: int = 0
    failed: int = 0
    by_error: dict[str, int] = field(default_factory=dict)


#: aiohttp closes a connection idle this long (its keep-alive default), so a wave of
#: bindings after a longer lull meets a cold connection pool again.
POOL_IDLE_S = 15.0


class RampingLimit:
    """At most `limit` holders at once, starting from `initial` and growing by one per
    release (so doubling per round trip, as TCP's slow start does), back to `initial`
    once nothing has been held for `idle_s`.

    Why not a plain semaphore: every binding in flight beyond the pool's idle
    connections opens a TLS connection of its own. 64 at once from a cold pool have the
    API server and this event loop do ~62 handshakes before the first binding is
    answered; on 2 cores that put colo-batch's first binding 0.15-0.18 s after its first
    request, against 0.03-0.09 s with 4 in flight (docs/scheduling.md). Ramping keeps
    the first few on the connections already open and reaches `limit` within a few
    round trips. Not asyncio.Semaphore: its size cannot grow and shrink.
    """

    def __init__(
        self,
        limit: int,
        initial: int,
        *,
        idle_s: float = POOL_IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or initial < 1:
            raise ValueError(f"a limit and its start must be >= 1, got {limit} and {initial}")
        self.limit = limit
        self._initial = min(initial, limit)
        self.window = self._initial
        self.held = 0
        self._idle_s = idle_s
        self._clock = clock
        self._idle_since = -math.inf
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if self.held == 0 and self._clock() - self._idle_since >= self._idle_s:
            self.window = self._initial
        if self.held < self.window and not self._waiters:
            self.held += 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut  # granted: release() counted it as held
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # granted just as it was cancelled: hand the place on
            elif fut in self._waiters:  # (a release may have passed it over already)
                self._waiters.remove(fut)
            raise

    def release(self) -> None:
        self.held -= 1
        if self.held == 0:
            self._idle_since = self._clock()
        if self.window < self.limit:
            self.window += 1
        while self._waiters and self.held < self.window:
            fut = self._waiters.popleft()
            if not fut.done():
                self.held += 1
                fut.set_result(None)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()


class KubeBinder:
    """Binds pods to nodes; at most `concurrency` bindings are in flight at once, ramping
    up from `initial_concurrency` (`RampingLimit`)."""

    def __init__(
        self,
        api: Api,
        *,
        concurrency: int = 16,
        initial_concurrency: int = 4,
        max_attempts: int = 3,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"binder concurrency must be >= 1, got {concurrency}")
        if max_attempts < 1:
            raise ValueError(f"binder max_attempts must be >= 1, got {max_attempts}")
        self._api = api
        self._limit = RampingLimit(concurrency, initial_concurrency, clock=clock)
        self._max_attempts = max_attempts
        self._sleep = sleep
        self.concurrency = concurrency
        self.stats = BindStats()

    async def bind(self, pod: PodRef, node_name: str) -> None:
        """One binding, no retries (the Binder port)."""
        path = f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}/binding"
        async with self._limit:
            try:
                await self._api.request("POST", path, body=binding_body(pod, node_name))
            except Conflict:
                self.stats.conflicts += 1
                raise
            except NotFound:
                self.stats.not_found += 1
                raise
        self.stats.bound += 1

    async def bind_retrying(self, pod: PodRef, node_name: str) -> None:
        """`bind`, retrying `Retryable` faults up to `max_attempts` times (Retry-After honoured)."""
        for attempt in range(1, self._max_attempts + 1):
            try:
                await self.bind(pod, node_name)
                return
            except Retryable as e:
                if attempt == self._max_attempts:
                    raise
                self.stats.retried += 1
                await self._sleep(min(max(e.delay_s, 0.05 * 2**attempt), 10.0))

    async def bind_all(self, assignments: Sequence[tuple[PodRef, str]]) -> list[Exception | None]:
        """Bind every (pod, node); per item, None on success or the colo error it ended with.

        Only colo errors are caught; a bug still raises.
        """

        async def one(pod: PodRef, node: str) -> Exception | None:
            try:
                await self.bind_retrying(pod, node)
            except (Conflict, NotFound, Retryable, Permanent) as e:
                if not isinstance(e, (Conflict, NotFound)):
                    self.stats.failed += 1
                name = type(e).__name__
                self.stats.by_error[name] = self.stats.by_error.get(name, 0) + 1
                return e
            return None

        return list(await asyncio.gather(*(one(p, n) for p, n in assignments)))
