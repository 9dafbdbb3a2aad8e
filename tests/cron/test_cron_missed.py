"""Which run is due, how many were missed and when to look again, as Kubernetes counts.

Tables are Kubernetes' `pkg/controller/cronjob/utils_test.go`: TestMostRecentScheduleTime,
TestNextScheduleTime (cases 1-8) and TestNextScheduleTimeDuration, around `topOfTheHour`
(Thursday 2016-05-19 10:00 UTC).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cronkit import TOP_OF_THE_HOUR, MakeCronJob, after_top, hours, minutes

from colo.cron import (
    NEXT_SCHEDULE_DELTA,
    CronJob,
    Missed,
    most_recent_schedule_time,
    next_schedule_time,
    parse_standard,
    requeue_after,
)
from colo.cron.missed import TOO_CLOSE

HALF_PAST = after_top(minutes(30))
MINUTE_PAST = after_top(minutes(1))
SECONDS = timedelta(seconds=1)


def job(
    schedule: str, created: datetime, last: datetime | None = None, deadline: int | None = None
) -> CronJob:
    return MakeCronJob().schedule(schedule).created(created).last(last).deadline(deadline).obj()


MOST_RECENT = {
    "now before next schedule": (
        job("0 * * * *", TOP_OF_THE_HOUR), False, TOP_OF_THE_HOUR + 30 * SECONDS,
        TOP_OF_THE_HOUR, None, Missed.NONE,
    ),
    "now just after next schedule": (
        job("0 * * * *", TOP_OF_THE_HOUR), False, after_top(minutes(61)),
        TOP_OF_THE_HOUR, after_top(minutes(60)), Missed.NONE,
    ),
    "missed 5 schedules": (
        job("0 * * * *", after_top(10 * SECONDS)), False, after_top(minutes(301)),
        after_top(10 * SECONDS), after_top(minutes(300)), Missed.FEW,
    ),
    "complex schedule": (
        job("30 6-16/4 * * 1-5", TOP_OF_THE_HOUR, HALF_PAST), False,
        after_top(hours(24) + minutes(31)),
        HALF_PAST, after_top(hours(24) + minutes(30)), Missed.FEW,
    ),
    # Kubernetes' estimate steps past Friday's 10:30, 11:30 and 12:30: nothing is due
    "another complex schedule": (
        job("30 10,11,12 * * 1-5", TOP_OF_THE_HOUR, HALF_PAST), False,
        after_top(hours(30) + minutes(30)),
        HALF_PAST, None, Missed.FEW,
    ),
    "complex schedule with longer diff between executions": (
        job("30 6-16/4 * * 1-5", TOP_OF_THE_HOUR, HALF_PAST), False,
        after_top(hours(96) + minutes(31)),
        HALF_PAST, after_top(hours(96) + minutes(30)), Missed.FEW,
    ),
    "complex schedule with shorter diff between executions": (
        job("30 6-16/4 * * 1-5", TOP_OF_THE_HOUR), False, after_top(hours(24) + minutes(31)),
        TOP_OF_THE_HOUR, after_top(hours(24) + minutes(30)), Missed.FEW,
    ),
    "@every schedule": (
        job("@every 1h", after_top(-minutes(59)), MINUTE_PAST, deadline=10), False,
        after_top(hours(7 * 24)),
        MINUTE_PAST, after_top(hours(6 * 24 + 23) + minutes(1)), Missed.MANY,
    ),
    "earliestTime being CreationTimestamp and LastScheduleTime": (
        job("0 * * * *", TOP_OF_THE_HOUR, TOP_OF_THE_HOUR), False, TOP_OF_THE_HOUR + 30 * SECONDS,
        TOP_OF_THE_HOUR, None, Missed.NONE,
    ),
    "earliestTime being LastScheduleTime": (
        job("*/5 * * * *", TOP_OF_THE_HOUR, HALF_PAST), False, after_top(minutes(31)),
        HALF_PAST, None, Missed.NONE,
    ),
    "earliestTime being LastScheduleTime (within StartingDeadlineSeconds)": (
        job("*/5 * * * *", TOP_OF_THE_HOUR, HALF_PAST, deadline=60), False,
        after_top(minutes(31)), HALF_PAST, None, Missed.NONE,
    ),
    "earliestTime being LastScheduleTime (outside StartingDeadlineSeconds)": (
        job("*/5 * * * *", TOP_OF_THE_HOUR, HALF_PAST, deadline=60), True,
        after_top(minutes(32)), after_top(minutes(31)), None, Missed.NONE,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(MOST_RECENT))
def test_the_most_recent_schedule_time_is_kubernetes(name: str) -> None:
    cronjob, include_deadline, now, earliest, most_recent, missed = MOST_RECENT[name]
    schedule = parse_standard(cronjob.schedule)
    got = most_recent_schedule_time(
        cronjob, schedule, now, include_starting_deadline=include_deadline
    )
    assert got.error is None
    assert got.earliest == earliest
    assert got.most_recent == most_recent
    assert got.missed is missed


def test_a_rogue_schedule_is_an_error() -> None:
    cronjob = job("59 23 31 2 *", after_top(10 * SECONDS))
    got = most_recent_schedule_time(
        cronjob, parse_standard(cronjob.schedule), after_top(hours(1)),
        include_starting_deadline=False,
    )  # fmt: skip
    assert got.most_recent is None
    assert got.error == TOO_CLOSE == "time difference between two schedules is less than 1 second"


T1 = TOP_OF_THE_HOUR
T2 = after_top(hours(1))
NEXT_TIME = {
    "no known start times, and none needed yet": (
        job("0 * * * ?", T1 - minutes(10)), T1 - minutes(7), None),
    "no known start times, and one needed": (
        job("0 * * * ?", T1 - minutes(10)), T1 + 2 * SECONDS, T1),
    "known LastScheduleTime, no start needed": (
        job("0 * * * ?", T1 - minutes(10), T1), T1 + minutes(2), None),
    "known LastScheduleTime, a start needed": (
        job("0 * * * ?", T1 - minutes(10), T1), T2 + minutes(5), T2),
    "known LastScheduleTime, two starts needed": (
        job("0 * * * ?", T1 - hours(2), T1 - hours(1)), T2 + minutes(5), T2),
    "now is way way ahead of last start time, and there is no deadline": (
        job("0 * * * ?", T1 - hours(2), T1 - hours(1)), T2 + hours(240), T2 + hours(240)),
    "now is way way ahead of last start time, but there is a short deadline": (
        job("0 * * * ?", T1 - hours(2), T1 - hours(1), deadline=7200), T2 + hours(240),
        T2 + hours(240)),
}  # fmt: skip


@pytest.mark.parametrize("name", list(NEXT_TIME))
def test_the_run_due_now_is_kubernetes_next_schedule_time(name: str) -> None:
    cronjob, now, due = NEXT_TIME[name]
    got = next_schedule_time(cronjob, parse_standard(cronjob.schedule), now)
    assert got.time == due
    assert got.error is None


def test_ten_days_of_hourly_runs_missed_is_too_many_but_a_deadline_bounds_the_search() -> None:
    no_deadline, deadline = (
        NEXT_TIME["now is way way ahead of last start time, and there is no deadline"][0],
        NEXT_TIME["now is way way ahead of last start time, but there is a short deadline"][0],
    )
    now = T2 + hours(240)
    assert next_schedule_time(no_deadline, parse_standard("0 * * * ?"), now).too_many_missed
    assert not next_schedule_time(deadline, parse_standard("0 * * * ?"), now).too_many_missed


def test_a_schedule_that_never_fires_reports_the_error_and_no_time() -> None:
    cronjob = job("59 23 31 2 *", T1 + 10 * SECONDS)
    got = next_schedule_time(cronjob, parse_standard(cronjob.schedule), after_top(hours(1)))
    assert got.time is None and got.error == TOO_CLOSE


DURATION = {
    "complex schedule skipping weekend": (
        job("30 6-16/4 * * 1-5", TOP_OF_THE_HOUR, HALF_PAST), after_top(hours(24) + minutes(31)),
        hours(3) + minutes(59)),
    "another complex schedule skipping weekend": (
        job("30 10,11,12 * * 1-5", TOP_OF_THE_HOUR, HALF_PAST),
        after_top(hours(30) + minutes(30)), hours(66)),
    "once a week cronjob, missed two runs": (
        job("0 12 * * 4", TOP_OF_THE_HOUR, after_top(hours(2))),
        after_top(hours(19 * 24 + 1) + minutes(30)), hours(48) + minutes(30)),
    "no previous run of a cronjob": (
        job("0 12 * * 5", TOP_OF_THE_HOUR), after_top(hours(6)), hours(20)),
}  # fmt: skip


@pytest.mark.parametrize("name", list(DURATION))
def test_the_requeue_delay_is_kubernetes_next_schedule_time_duration(name: str) -> None:
    cronjob, now, expected = DURATION[name]
    got = requeue_after(cronjob, parse_standard(cronjob.schedule), now)
    assert got == expected + NEXT_SCHEDULE_DELTA


def test_a_schedule_that_never_fires_requeues_at_once() -> None:
    cronjob = job("59 23 31 2 *", T1)
    assert requeue_after(cronjob, parse_standard(cronjob.schedule), T2) == timedelta(0)
