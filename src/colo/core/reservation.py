"""What schedulers and the coordinator exchange: a placement to reserve, and the answer.

The coordinator's ledger (`colo.coord.ledger`), its gRPC service and client
(`colo.rpc`) and every scheduler speak in these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Item:
    """Reserve `resources` (colo units) for `pod` (`namespace/name`) on `node`."""

    pod: str
    node: str
    resources: Mapping[str, int]
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Reply:
    """The coordinator's answer to one `Item`: ok, or a conflict with the reason."""

    pod: str
    node: str
    ok: bool
    reason: str = ""
