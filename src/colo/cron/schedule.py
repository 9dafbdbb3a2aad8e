"""When a parsed schedule fires next: robfig/cron v3's `SpecSchedule.Next` and
`ConstantDelaySchedule.Next`, which Kubernetes' CronJob controller calls.

Why not croniter or cronsim: both follow Vixie/Debian cron where robfig does not. Debian
cron ANDs day-of-month and day-of-week when either field *starts with* `*`; robfig ANDs
them when either field holds a `*` or `?` range *without a step above 1* (`*/2` ORs, `1,*`
ANDs). Debian runs a job whose wall time is skipped in spring right after the jump and runs
a repeated autumn time once; robfig skips it and runs it twice. Neither has `@every`.
`tests/cron/test_against_cronsim.py` shows each difference against cronsim and holds the
two equal where the rules coincide.

Both `next` methods return the first fire time strictly after the given instant, or None
where robfig returns Go's zero time (no fire time within five years of the search start).

`SpecSchedule.next_us` is memoized (`spec_next_us`, on the schedule — which carries its
zone — and the instant): a wave of CronJobs sharing a schedule and a last schedule time
walks the calendar once. The cache is process-wide but invisible (a pure function of
frozen values to an int), so it does not stop one process hosting many loops.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import lru_cache

from colo.cron.walltime import (
    HOUR_US,
    MINUTE_US,
    SECOND_US,
    WallTime,
    from_us,
    to_us,
)

#: robfig's "star bit": set on a field when one of its ranges was `*` or `?` with step 1.
STAR_BIT = 1 << 63
#: robfig gives up after this many years past the search start (then returns zero time).
YEAR_LIMIT = 5
#: (schedule, instant) pairs whose next fire time is kept: a wave's worth, several times.
NEXT_CACHE_SIZE = 65536


class Schedule(ABC):
    """A parsed CronJob schedule in its zone (base of the two kinds robfig has)."""

    #: the text it was parsed from, as written
    spec: str
    zone: tzinfo

    @abstractmethod
    def next_us(self, after_us: int) -> int | None:
        """The first fire time strictly after `after_us` (microseconds since the epoch)."""

    def next(self, after: datetime) -> datetime | None:
        """The first fire time strictly after `after` (aware), in the schedule's zone's
        offset; None when robfig finds none (within five years of the search start)."""
        found = self.next_us(to_us(after))
        return None if found is None else from_us(found, self.zone)

    def fire_times(self, after: datetime) -> Iterator[datetime]:
        """Successive fire times after `after`, each found from the one before (as the
        controller chains `Next`); ends where robfig finds none."""
        current: int | None = to_us(after)
        while current is not None:
            current = self.next_us(current)
            if current is not None:
                yield from_us(current, self.zone)


@dataclass(frozen=True, slots=True)
class SpecSchedule(Schedule):
    """Five cron fields as robfig's bit sets (bit n set: value n matches; plus STAR_BIT).

    `second` is always {0} for Kubernetes (the standard parser has no seconds field).
    """

    spec: str
    zone: tzinfo
    minute: int
    hour: int
    dom: int
    month: int
    dow: int
    second: int = field(default=1)

    def day_matches(self, wall: WallTime) -> bool:
        """robfig's `dayMatches`: if either day field has the star bit, both must match;
        otherwise either may."""
        dom_match = bool(self.dom >> wall.day & 1)
        dow_match = bool(self.dow >> wall.weekday & 1)
        if self.dom & STAR_BIT or self.dow & STAR_BIT:
            return dom_match and dow_match
        return dom_match or dow_match

    def next_us(self, after_us: int) -> int | None:
        """robfig's `SpecSchedule.Next`, memoized (`spec_next_us`)."""
        return spec_next_us(self, after_us)

    def walk_us(self, after_us: int) -> int | None:
        """robfig's `SpecSchedule.Next`, step for step (the `goto WRAP`s are `continue`);
        uncached."""
        if not (self.second and self.minute and self.hour and self.month):
            # A field that matches nothing (`, * * * *` parses): robfig steps minute by
            # minute through five years (2.6 million steps) to return its zero time.
            return None
        t = WallTime.at(after_us, self.zone)
        # Start at the earliest possible time: the upcoming second.
        t = t.add(SECOND_US - t.micros)
        added = False
        year_limit = t.year + YEAR_LIMIT
        while True:  # WRAP
            if t.year > year_limit:
                return None
            wrapped = False
            while not self.month >> t.month & 1:
                if not added:
                    added = True
                    t = WallTime.date(t.year, t.month, 1, 0, 0, 0, self.zone)
                t = t.add_date(0, 1, 0)
                if t.month == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not self.day_matches(t):
                if not added:
                    added = True
                    t = WallTime.date(t.year, t.month, t.day, 0, 0, 0, self.zone)
                t = t.add_date(0, 0, 1)
                # Where midnight does not exist (DST at 00:00), Go's Date lands on 23:00
                # the day before or 01:00: robfig moves it back to the day's first hour.
                if t.hour != 0:
                    hours = 24 - t.hour if t.hour > 12 else -t.hour
                    t = t.add(hours * HOUR_US)
                if t.day == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not self.hour >> t.hour & 1:
                if not added:
                    added = True
                    t = WallTime.date(t.year, t.month, t.day, t.hour, 0, 0, self.zone)
                t = t.add(HOUR_US)
                if t.hour == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not self.minute >> t.minute & 1:
                if not added:
                    added = True
                    t = t.truncate(MINUTE_US)
                t = t.add(MINUTE_US)
                if t.minute == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not self.second >> t.second & 1:
                if not added:
                    added = True
                    t = t.truncate(SECOND_US)
                t = t.add(SECOND_US)
                if t.second == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            return t.us


@lru_cache(maxsize=NEXT_CACHE_SIZE)
def spec_next_us(schedule: SpecSchedule, after_us: int) -> int | None:
    """`schedule.walk_us(after_us)`, memoized on equal schedules (same spec, zone and bits)
    and the instant; `cache_info()` counts hits."""
    return schedule.walk_us(after_us)


@dataclass(frozen=True, slots=True)
class EverySchedule(Schedule):
    """`@every <duration>`: robfig's `ConstantDelaySchedule`.

    The delay is the duration cut to whole seconds, at least one second (robfig's `Every`:
    `@every 1500ms` is 1s, `@every 0s` and `@every -5m` are 1s). The next fire time is the
    given instant plus the delay, less its fraction of a second: a chain of fire times is
    anchored on where it started (for the controller: the last schedule time or the
    CronJob's creation), not on the wall clock.
    """

    spec: str
    zone: tzinfo
    delay_s: int

    def next_us(self, after_us: int) -> int | None:
        return after_us + self.delay_s * SECOND_US - after_us % SECOND_US


def every_delay_s(duration_ns: int) -> int:
    """robfig's `Every(d)`: under a second becomes a second; then whole seconds only."""
    if duration_ns < 1_000_000_000:
        return 1
    return duration_ns // 1_000_000_000
