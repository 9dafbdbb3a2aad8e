"""A deterministic discrete-event engine.

Events sit in a heap keyed by `(time_s, priority, sequence)`: earlier time first, then
lower priority number, then the order they were scheduled in. The sequence number makes
ties break identically on every run, so a run depends only on its inputs and seed.
Nothing here reads a wall clock; `now` is the time of the event being processed.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

Action = Callable[[], None]

# Priorities for events at the same instant: lower runs first. State changes (pods
# finishing, nodes changing) land before decisions (scheduling), and measurement last,
# so a tick sees everything that happened at its instant.
PRIO_STATE = 0
PRIO_ARRIVAL = 10
PRIO_CONTROL = 20
PRIO_SCHEDULE = 30
PRIO_MEASURE = 40


class Handle:
    """Returned by `schedule`; `cancel()` drops the event if it has not run yet."""

    __slots__ = ("action", "cancelled", "time_s")

    def __init__(self, time_s: float, action: Action) -> None:
        self.time_s = time_s
        self.action = action
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class EventLoop:
    """Runs actions at simulated times, in a reproducible order."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now = start_s
        # Plain tuples compare in C; the unique sequence number means the handle itself
        # is never compared.
        self._heap: list[tuple[float, int, int, Handle]] = []
        self._seq = 0
        self.events_run = 0

    def now(self) -> float:
        return self._now

    def schedule(self, at_s: float, action: Action, *, priority: int = PRIO_CONTROL) -> Handle:
        """Run `action` at time `at_s` (not before now: the past is clamped to now)."""
        if at_s != at_s:  # NaN would poison the heap order
            raise ValueError("event time is NaN")
        handle = Handle(max(at_s, self._now), action)
        heapq.heappush(self._heap, (handle.time_s, priority, self._seq, handle))
        self._seq += 1
        return handle

    def after(self, delay_s: float, action: Action, *, priority: int = PRIO_CONTROL) -> Handle:
        return self.schedule(self._now + delay_s, action, priority=priority)

    def run(self, until_s: float) -> None:
        """Process every event with time <= `until_s`; afterwards `now() == until_s`."""
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] <= until_s:
            time_s, _, _, handle = pop(heap)
            if handle.cancelled:
                continue
            self._now = time_s
            handle.action()
            self.events_run += 1
        self._now = max(self._now, until_s)

    def pending(self) -> int:
        return sum(1 for entry in self._heap if not entry[3].cancelled)


class SimClock:
    """The `colo.ports.Clock` of a simulation: the event loop's time."""

    def __init__(self, loop: EventLoop) -> None:
        self._loop = loop

    def now(self) -> float:
        return self._loop.now()
