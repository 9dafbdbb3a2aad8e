"""Go's `time` arithmetic in an IANA zone, exactly as robfig/cron's `SpecSchedule.Next` uses it.

Kubernetes' CronJob controller finds fire times with robfig/cron v3, which walks the wall
clock with Go's `time.Date`, `Time.AddDate`, `Time.Add` and `Time.Truncate`. What it does
across a DST change follows from how those functions treat wall times that do not exist
(spring) or exist twice (autumn), so colo reproduces them instead of Python's `fold`:

* `Add` and `Truncate` work on the instant (absolute time), never the wall clock.
* `date(y, mo, d, h, mi, s)` normalises out-of-range fields as Go does (month 13 is January
  of the next year, day 0 the last day of the previous month, ...) and then resolves the wall
  time in the zone as Go's `time.Date` does: with `wall` the wall time read as if it were
  UTC, the instant is `wall − off(wall − off(wall))`, where `off(u)` is the zone's UTC offset
  at instant `u`. (Go looks up the offset at `wall`, and if `wall − offset` falls outside
  that offset's period, looks again at `wall − offset`; both cases reduce to the formula.)
  So a skipped wall time lands an hour early in zones west of Greenwich (02:30 on a spring
  day in New York is 01:30 EST) and an hour late east of it (02:30 in Berlin is 03:30
  CEST); a repeated wall time resolves to the first occurrence in New York and to the
  second in Berlin. robfig inherits all of this, and so does the CronJob controller.

Instants are integer microseconds since the Unix epoch (Go has nanoseconds; Kubernetes'
timestamps have seconds, so nothing is lost). Offsets come from `zoneinfo`, which reads the
same IANA database Go does (any `tzinfo` works: `datetime.UTC` is Go's `time.UTC`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

SECOND_US = 1_000_000
MINUTE_US = 60 * SECOND_US
HOUR_US = 60 * MINUTE_US
_DAY_S = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def offset_s(zone: tzinfo, unix_s: int) -> int:
    """The UTC offset of `zone` at the instant `unix_s`, in whole seconds east of UTC."""
    offset = datetime.fromtimestamp(unix_s, zone).utcoffset()
    if offset is None:
        raise ValueError(f"{zone!r} has no UTC offset")
    return int(offset.total_seconds())


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (its fold is respected)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got {moment!r}")
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * _DAY_S + delta.seconds) * SECOND_US + delta.microseconds


def from_us(us: int, zone: tzinfo) -> datetime:
    """The instant `us` as a datetime carrying the zone's offset at that instant.

    The tzinfo is a fixed `timezone(offset)`, not the zone: two ZoneInfo datetimes with the
    same wall time in a repeated hour compare equal in Python (it ignores `fold` when both
    sides share a tzinfo), fixed offsets never do.
    """
    seconds, micros = divmod(us, SECOND_US)
    offset = offset_s(zone, seconds)
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=micros)
    return moment.astimezone(timezone(timedelta(seconds=offset)))


@dataclass(frozen=True, slots=True)
class WallTime:
    """An instant seen on a zone's wall clock, with Go's field accessors and arithmetic."""

    us: int
    zone: tzinfo
    year: int
    month: int
    day: int
    hour: int
    minute: int
    second: int
    #: Go's `Weekday()`: Sunday is 0.
    weekday: int

    @classmethod
    def at(cls, us: int, zone: tzinfo) -> WallTime:
        seconds = us // SECOND_US
        wall = datetime.fromtimestamp(seconds, zone)
        return cls(
            us,
            zone,
            wall.year,
            wall.month,
            wall.day,
            wall.hour,
            wall.minute,
            wall.second,
            (wall.weekday() + 1) % 7,
        )

    @classmethod
    def date(
        cls, year: int, month: int, day: int, hour: int, minute: int, second: int, zone: tzinfo
    ) -> WallTime:
        """Go's `time.Date(year, month, day, hour, minute, second, 0, zone)` (see the module)."""
        years, month_index = divmod(month - 1, 12)
        year += years
        days = date(year, month_index + 1, 1).toordinal() - _EPOCH_ORDINAL + day - 1
        wall_s = days * _DAY_S + hour * 3600 + minute * 60 + second
        unix_s = wall_s - offset_s(zone, wall_s - offset_s(zone, wall_s))
        return cls.at(unix_s * SECOND_US, zone)

    @property
    def micros(self) -> int:
        """Go's `Nanosecond()`, in microseconds: the part of the instant below a second."""
        return self.us % SECOND_US

    def add(self, delta_us: int) -> WallTime:
        """Go's `t.Add(d)`: the instant moves, the wall clock follows."""
        return WallTime.at(self.us + delta_us, self.zone)

    def add_date(self, years: int, months: int, days: int) -> WallTime:
        """Go's `t.AddDate(years, months, days)`: on the wall clock, normalised by `date`."""
        moved = WallTime.date(
            self.year + years,
            self.month + months,
            self.day + days,
            self.hour,
            self.minute,
            self.second,
            self.zone,
        )
        return moved.add(self.micros)

    def truncate(self, unit_us: int) -> WallTime:
        """Go's `t.Truncate(d)`: rounds the instant down (Go's zero time and the Unix epoch
        are both whole minutes, hours and seconds apart, so it is the same on either)."""
        return WallTime.at(self.us - self.us % unit_us, self.zone)
