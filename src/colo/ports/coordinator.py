"""The coordinator port: what a scheduler needs of the shared-state coordinator.

`colo.rpc.coordinator.CoordinatorClient` implements it over gRPC and
`colo.coord.ledger.InProcessCoordinator` straight into a ledger. Faults are colo errors
(`Retryable` when the coordinator is unreachable, `Permanent` when retrying won't help).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from colo.core.reservation import Item, Reply


class Coordinator(Protocol):
    async def reserve(self, items: Sequence[Item]) -> list[Reply]:
        """Answer every item ok/conflict, in the order given."""
        ...

    async def unreserve(self, pods: Sequence[str]) -> int:
        """Release reservations (idempotent); returns how many were held."""
        ...

    async def filter(
        self, pod: str, resources: Mapping[str, int], nodes: Sequence[str]
    ) -> tuple[list[str], dict[str, str]]:
        """Which of `nodes` could take `pod` now; node -> why not for the others."""
        ...
