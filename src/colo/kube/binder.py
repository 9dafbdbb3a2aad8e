"""`Binder` over the `pods/binding` subresource, with bounded concurrency.

Outcomes map onto colo's errors (the transport does the HTTP part):
- already bound, or the pod was deleted and recreated (uid precondition) -> `Conflict`
- pod gone -> `NotFound`
- 429/5xx/connection faults -> `Retryable` (with the server's Retry-After)
- anything else (forbidden, invalid) -> `Permanent`
"""

from __future__ import annotations

import asyncio
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


class KubeBinder:
    """Binds pods to nodes; at most `concurrency` bindings are in flight at once."""

    def __init__(
        self,
        api: Api,
        *,
        concurrency: int = 16,
        max_attempts: int = 3,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"binder concurrency must be >= 1, got {concurrency}")
        if max_attempts < 1:
            raise ValueError(f"binder max_attempts must be >= 1, got {max_attempts}")
        self._api = api
        self._sem = asyncio.Semaphore(concurrency)
        self._max_attempts = max_attempts
        self._sleep = sleep
        self.concurrency = concurrency
        self.stats = BindStats()

    async def bind(self, pod: PodRef, node_name: str) -> None:
        """One binding, no retries (the Binder port)."""
        path = f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}/binding"
        async with self._sem:
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
