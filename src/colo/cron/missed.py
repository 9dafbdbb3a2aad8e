"""Which scheduled time is due now, how many were missed, and when to look again: the
controller's `mostRecentScheduleTime`, `nextScheduleTime` and `nextScheduleTimeDuration`
(`pkg/controller/cronjob/utils.go`, the ControllerV2 of Kubernetes 1.27 and later).

The search starts at `status.lastScheduleTime`, else `metadata.creationTimestamp` (the
*earliest* time); when the decision is about starting a run, no earlier than
`now − startingDeadlineSeconds`. With `t1 = Next(earliest)` and `t2 = Next(t1)`:

* `now < t1`: nothing is due;
* `t1 ≤ now < t2`: `t1` is due, and nothing counts as missed;
* otherwise Kubernetes *estimates* the number missed as
  `n = ⌊(now − t1) / round(t2 − t1)⌋ + 1` (seconds) and takes the latest fire time
  `≤ now` after `t1 + (n − 2)·(t2 − t1)`. For schedules whose gaps vary this can step past
  every fire time before `now` and report nothing due although some were missed (its own
  test "another complex schedule": `30 10,11,12 * * 1-5` misses the Friday runs). colo
  reproduces the estimate, not the intent, so it runs what Kubernetes runs.
* `n > 100` is "too many missed": Kubernetes records a Warning event `TooManyMissedTimes`
  and still starts the most recent one (since 1.27; before, it started nothing).
* `t2 − t1 < 1 s` — a schedule that never fires, like `59 23 31 2 *` — is an error:
  "time difference between two schedules is less than 1 second".

Times go in and out as aware datetimes; the arithmetic is in integer microseconds, as Go's
is in nanoseconds. The next wake-up adds 100 ms (`nextScheduleDelta`) against clock skew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from colo.cron.objects import CronJob
from colo.cron.schedule import Schedule
from colo.cron.walltime import SECOND_US, from_us, to_us

#: more missed fire times than this is "too many" (and a Warning event)
TOO_MANY_MISSED = 100
#: added to every requeue so the controller wakes just after the fire time
NEXT_SCHEDULE_DELTA = timedelta(milliseconds=100)
TOO_CLOSE = "time difference between two schedules is less than 1 second"


class Missed(StrEnum):
    """Kubernetes' `missedSchedulesType`."""

    NONE = "none"
    FEW = "few"
    MANY = "many"


@dataclass(frozen=True, slots=True)
class ScheduleTimes:
    """What `mostRecentScheduleTime` returns."""

    #: where the search started (last schedule time, creation, or the deadline's edge)
    earliest: datetime
    #: the most recent fire time at or before now that is due, if any
    most_recent: datetime | None
    missed: Missed
    #: Kubernetes' error for a schedule that never fires (then `most_recent` is None)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Due:
    """What `nextScheduleTime` returns: the run to start now, if any."""

    time: datetime | None
    #: more than TOO_MANY_MISSED were missed: the controller records `TooManyMissedTimes`
    too_many_missed: bool = False
    error: str | None = None


def _round_to_seconds(delta_us: int) -> int:
    """Go's `Duration.Round(time.Second).Seconds()` as an integer (halves away from zero)."""
    whole, rest = divmod(abs(delta_us), SECOND_US)
    if 2 * rest >= SECOND_US:
        whole += 1
    return whole if delta_us >= 0 else -whole


def most_recent_schedule_time(
    cronjob: CronJob, schedule: Schedule, now: datetime, *, include_starting_deadline: bool
) -> ScheduleTimes:
    """Kubernetes' `mostRecentScheduleTime` (see the module)."""
    zone = schedule.zone
    now_us = to_us(now)
    earliest_us = to_us(cronjob.last_schedule_time or cronjob.creation_timestamp)
    deadline = cronjob.starting_deadline_seconds
    if include_starting_deadline and deadline is not None:
        earliest_us = max(earliest_us, now_us - deadline * SECOND_US)
    earliest = from_us(earliest_us, zone)

    t1 = schedule.next_us(earliest_us)
    if t1 is not None and now_us < t1:
        return ScheduleTimes(earliest, None, Missed.NONE)
    # robfig's zero time (no fire time within five years) for t1 or t2 leaves Kubernetes
    # with a gap below one second (or a negative one): the error below.
    t2 = None if t1 is None else schedule.next_us(t1)
    if t1 is not None and t2 is not None and now_us < t2:
        return ScheduleTimes(earliest, from_us(t1, zone), Missed.NONE)
    between_s = 0 if t1 is None or t2 is None else _round_to_seconds(t2 - t1)
    if t1 is None or between_s < 1:
        return ScheduleTimes(earliest, None, Missed.NONE, TOO_CLOSE)

    elapsed_s = (now_us - t1) // SECOND_US
    missed_count = elapsed_s // between_s + 1
    cursor: int | None = t1 + (missed_count - 2) * between_s * SECOND_US
    most_recent: int | None = None
    while cursor is not None:
        cursor = schedule.next_us(cursor)
        if cursor is None or cursor > now_us:
            break
        most_recent = cursor
    missed = Missed.MANY if missed_count > TOO_MANY_MISSED else Missed.FEW
    return ScheduleTimes(
        earliest, None if most_recent is None else from_us(most_recent, zone), missed
    )


def next_schedule_time(cronjob: CronJob, schedule: Schedule, now: datetime) -> Due:
    """Kubernetes' `nextScheduleTime`: the fire time to start a run for now, if any,
    honouring `startingDeadlineSeconds` in the search."""
    times = most_recent_schedule_time(cronjob, schedule, now, include_starting_deadline=True)
    if times.most_recent is None or times.most_recent > now:
        return Due(None, error=times.error)
    return Due(times.most_recent, too_many_missed=times.missed is Missed.MANY)


def requeue_after(cronjob: CronJob, schedule: Schedule, now: datetime) -> timedelta:
    """Kubernetes' `nextScheduleTimeDuration`: how long until the controller should look at
    this CronJob again (the next fire time after the most recent one, plus 100 ms).

    Zero when the schedule never fires again (Kubernetes computes a hugely negative
    duration there, which its work queue treats as "now").
    """
    times = most_recent_schedule_time(cronjob, schedule, now, include_starting_deadline=False)
    if times.error is not None:
        base = now
    elif times.most_recent is not None:
        base = times.most_recent
    elif times.missed is Missed.NONE:
        base = times.earliest
    else:
        base = now
    following = schedule.next(base)
    if following is None:
        return timedelta(0)
    return following + NEXT_SCHEDULE_DELTA - now
