"""The clock port: the only way anything below the apps layer learns the time."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    """Seconds on a monotonic time line.

    The simulator's clock is its event time; the real clock is the event loop's monotonic
    time. Engines never call it themselves: they take `now` as an argument and the
    composition root reads the clock.
    """

    def now(self) -> float: ...
