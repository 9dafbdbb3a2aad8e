"""Cluster ports: read nodes and pods, follow their changes, bind, patch status, evict, record.

Contracts shared by every implementation:
- `ClusterReader` answers from a local cache (informer store or simulator state); its
  answers may lag the server, which is why schedulers reserve through the coordinator.
- Writes raise `colo.core.errors.Conflict` when they lost a race (pod already bound,
  object changed), `Retryable` for transient faults (with the delay to wait), and
  `Permanent`/`NotFound` otherwise. They never raise client-library exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from colo.core.changes import ClusterEvent, EventType, PodRef
from colo.core.objects import Node, Pod

Unsubscribe = Callable[[], None]


class ClusterReader(Protocol):
    """A consistent-enough snapshot of nodes and pods plus a stream of their changes."""

    def nodes(self) -> Sequence[Node]: ...

    def node(self, name: str) -> Node | None: ...

    def pods(self) -> Sequence[Pod]: ...

    def pod(self, key: str) -> Pod | None:
        """The pod `namespace/name`, or None."""
        ...

    def subscribe(self, handler: Callable[[ClusterEvent], None]) -> Unsubscribe:
        """Call `handler` for every change after this call, in order; returns an unsubscriber.

        Handlers run on the reader's thread/loop and must not block.
        """
        ...


class Binder(Protocol):
    async def bind(self, pod: PodRef, node_name: str) -> None:
        """Bind `pod` to `node_name` (the `pods/binding` subresource).

        Raises `Conflict` if the pod is already bound or gone-and-recreated (uid mismatch).
        """
        ...


class RetryingBinder(Protocol):
    async def bind_retrying(self, pod: PodRef, node_name: str) -> None:
        """`Binder.bind`, retrying transient faults within the binder's own budget;
        raises what the last attempt raised."""
        ...


class PodGetter(Protocol):
    async def get(self, path: str) -> Any:
        """The object at the API path `path` (e.g. a pod, for its current spec)."""
        ...


class Heartbeat(Protocol):
    async def renew(self, annotations: Mapping[str, str] | None = None) -> None:
        """Renew the node agent's heartbeat (a Lease), carrying `annotations`."""
        ...


class NodeStatusPatcher(Protocol):
    async def patch_extended_resources(
        self,
        node_name: str,
        *,
        capacity: Mapping[str, int],
        allocatable: Mapping[str, int],
    ) -> None:
        """Set extended resources (e.g. `colo.io/batch-cpu` in millicores) in node status.

        Only the resources named change (merge semantics); others keep their values.
        """
        ...


class PodConditionWriter(Protocol):
    async def set_condition(
        self, pod: PodRef, *, type: str, status: str, reason: str, message: str
    ) -> None:
        """Set one condition in the pod's status (others are kept), e.g. PodScheduled=False."""
        ...


class Evictor(Protocol):
    async def evict(self, pod: PodRef, *, reason: str) -> None:
        """Evict through `policy/v1` Eviction (honours PodDisruptionBudgets on a real cluster)."""
        ...


class EventRecorder(Protocol):
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
        """Record a Kubernetes Event about the object `kind` `key` (`namespace/name` or name);
        `uid` (when known) lets `kubectl describe` find it."""
        ...
