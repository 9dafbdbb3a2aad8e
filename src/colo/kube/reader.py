"""`ClusterReader` on top of a pod informer and a node informer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from colo.core.changes import ClusterEvent
from colo.core.objects import Node, Pod
from colo.kube.informer import Informer
from colo.ports.cluster import Unsubscribe


class KubeClusterReader:
    """Reads nodes and pods from two informers; `run()` drives both, `wait_synced()` waits."""

    def __init__(self, *, pods: Informer, nodes: Informer) -> None:
        if pods.resource != "pods" or nodes.resource != "nodes":
            raise ValueError("KubeClusterReader needs a pods informer and a nodes informer")
        self._pods = pods
        self._nodes = nodes

    async def run(self) -> None:
        await asyncio.gather(self._pods.run(), self._nodes.run())

    async def wait_synced(self, running: asyncio.Future[None] | None = None) -> None:
        """Until both informers have listed. `running`: the task of `run()`. If it ends
        first (an informer gave up: a `Permanent` fault such as a token the API server
        refuses), its error is raised here instead of waiting forever."""
        if running is None:
            await self._pods.wait_synced()
            await self._nodes.wait_synced()
            return
        synced = asyncio.ensure_future(self.wait_synced())
        try:
            done, _ = await asyncio.wait({synced, running}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            synced.cancel()  # nothing when it is done
        if synced not in done:
            running.result()  # its error, or CancelledError
            raise RuntimeError("the informers stopped before they had listed")

    def is_empty(self) -> bool:
        """Nothing cached yet: a subscriber from now on misses no object."""
        return not (self._pods.cached_keys() or self._nodes.cached_keys())

    def nodes(self) -> Sequence[Node]:
        out = [self._nodes.view(k) for k in self._nodes.cached_keys()]
        return [n for n in out if isinstance(n, Node)]

    def node(self, name: str) -> Node | None:
        v = self._nodes.view(name)
        return v if isinstance(v, Node) else None

    def pods(self) -> Sequence[Pod]:
        out = [self._pods.view(k) for k in self._pods.cached_keys()]
        return [p for p in out if isinstance(p, Pod)]

    def pod(self, key: str) -> Pod | None:
        v = self._pods.view(key)
        return v if isinstance(v, Pod) else None

    def pods_on_node(self, name: str) -> Sequence[Pod]:
        out = [self._pods.view(k) for k in self._pods.pods_on_node(name)]
        return [p for p in out if isinstance(p, Pod)]

    def subscribe(self, handler: Callable[[ClusterEvent], None]) -> Unsubscribe:
        a = self._pods.subscribe(handler)
        b = self._nodes.subscribe(handler)

        def unsubscribe() -> None:
            a()
            b()

        return unsubscribe
