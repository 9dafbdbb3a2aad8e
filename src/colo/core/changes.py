"""What colo's parts say about cluster objects: references to pods, and changes seen.

The vocabulary the ports exchange (`colo.ports`) and the engines consume: a reader's
`ClusterEvent`s go into the scheduling loops as they are, and writes name pods by
`PodRef`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from colo.core.objects import Node, Pod


@dataclass(frozen=True, slots=True)
class PodRef:
    """What a write needs to name a pod: namespace, name, and (optionally) the uid precondition."""

    namespace: str
    name: str
    uid: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


class ChangeKind(enum.StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    """One change seen by a reader: exactly one of `pod` and `node` is set."""

    kind: ChangeKind
    pod: Pod | None = None
    node: Node | None = None


class EventType(enum.StrEnum):
    """The type of a Kubernetes Event."""

    NORMAL = "Normal"
    WARNING = "Warning"
