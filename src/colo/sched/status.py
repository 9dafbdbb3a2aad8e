"""What a plugin says about a pod, and what the scheduler does next."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Code(enum.IntEnum):
    SUCCESS = 0
    UNSCHEDULABLE = 1
    """No node fits now; retry when the cluster changes (capacity freed, nodes added)."""
    UNRESOLVABLE = 2
    """Only a change to nodes' labels or taints can help; do not retry every cycle."""
    WAIT = 3
    """Not yet: e.g. a gang waiting for its other members."""
    ERROR = 4
    """The pod itself is invalid (`requirements_of` raised); the caller reports it and
    drops it from the queue."""


@dataclass(frozen=True, slots=True)
class Status:
    code: Code = Code.SUCCESS
    message: str = ""
    plugin: str = ""

    @property
    def ok(self) -> bool:
        return self.code is Code.SUCCESS
