"""What goes into colo-batch's loop (`colo.sched.loop.BatchLoop`) and what comes out.

Events are facts a driver observed: a change the cluster reader saw (`ClusterEvent`,
from `colo.core.changes`), a time the loop asked to be woken at (`TimerDue`,
`CycleDue`), and the answers to commands it executed (`Reserved`, `ReserveFailed`,
`BindSucceeded`, `BindFailed`). Commands are what the loop wants done; the driver
executes each one and reports the outcome as an event, in any order and at any later
time (a reservation and its answer may have pod changes between them).

Every message is a frozen value, so a recorded run is a list of them that a test can
replay through another driver and compare.
"""

from __future__ import annotations

from dataclasses import dataclass

from colo.core.changes import ClusterEvent, PodRef
from colo.core.reservation import Item, Reply

# --- events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimerDue:
    """`BatchLoop.timer_at()` has come: placeholders and virtual-node marks expire."""


@dataclass(frozen=True, slots=True)
class CycleDue:
    """`BatchLoop.cycle_at()` has come: run one batch cycle.

    `wall_s`: unix time now, for how long each pod has waited since its
    `creationTimestamp` (the simulator passes its own time; pods are created in it).
    """

    wall_s: float


@dataclass(frozen=True, slots=True)
class Reserved:
    """The coordinator's answers to `Reserve(ticket)`, one per item, in order."""

    ticket: int
    replies: tuple[Reply, ...]


@dataclass(frozen=True, slots=True)
class ReserveFailed:
    """`Reserve(ticket)` could not be asked (the coordinator is unreachable or faulted);
    nothing was reserved that will not expire on its own."""

    ticket: int
    error: str
    retry_after_s: float = 1.0


@dataclass(frozen=True, slots=True)
class BindSucceeded:
    key: str


@dataclass(frozen=True, slots=True)
class BindFailed:
    """A binding failed. `lost_race`: someone else bound or deleted the pod (Conflict,
    NotFound) — it is not retried; otherwise it goes back to the queue."""

    key: str
    error: str
    """The kind of failure (the error's class name), for metrics."""
    message: str = ""
    lost_race: bool = False


Event = ClusterEvent | TimerDue | CycleDue | Reserved | ReserveFailed | BindSucceeded | BindFailed

# --- commands -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reserve:
    """Ask the coordinator for these placements in one call; answer with `Reserved` or
    `ReserveFailed` carrying the same ticket."""

    ticket: int
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Unreserve:
    """Give these pods' reservations back (idempotent; a failure only means they expire)."""

    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Bind:
    """Bind the pod to the node (uid precondition); answer `BindSucceeded`/`BindFailed`."""

    pod: PodRef
    node: str

    @property
    def key(self) -> str:
        return self.pod.key


@dataclass(frozen=True, slots=True)
class ReportUnschedulable:
    """Write `PodScheduled=False` (reason Unschedulable) and a Warning `FailedScheduling`
    event with `message`. Best effort: nothing answers it."""

    pod: PodRef
    message: str


Command = Reserve | Unreserve | Bind | ReportUnschedulable
