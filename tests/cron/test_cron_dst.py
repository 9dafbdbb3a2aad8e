"""Across DST changes a schedule fires as robfig/cron v3 (and so Kubernetes) fires it:
a wall time skipped in spring does not run that day; a wall time repeated in autumn runs
twice (once per occurrence); hourly schedules follow the real hours.

New York rows are robfig/cron v3.0.1 `spec_test.go` TestNext (2012, "2am nightly job
(skipped)", "1am nightly job (runs twice)", the Sao Paulo midnight cases of robfig issue
#157). The Europe/Berlin rows (east of Greenwich, where Go's `time.Date` resolves gaps and
repeats the other way) follow from robfig's `Next` stepping with `Time.Add`, see
`colo.cron.walltime`.
"""

from __future__ import annotations

import pytest
from cronkit import at

from colo.cron import parse_cronjob_schedule, parse_standard
from colo.cron.walltime import WallTime, to_us

NY = "TZ=America/New_York "
NY_CRON = "CRON_TZ=America/New_York "
SAO_PAULO = "TZ=America/Sao_Paulo "


@pytest.mark.parametrize(
    ("after", "schedule", "expected"),
    [
        # spring forward: 02:00 EST becomes 03:00 EDT on 11 March 2012
        ("2012-03-11T00:00:00-05:00", NY + "30 2 11 Mar ?", "2013-03-11T02:30:00-04:00"),
        ("2012-03-11T00:00:00-05:00", NY + "0 * * * ?", "2012-03-11T01:00:00-05:00"),
        ("2012-03-11T01:00:00-05:00", NY + "0 * * * ?", "2012-03-11T03:00:00-04:00"),
        ("2012-03-11T03:00:00-04:00", NY + "0 * * * ?", "2012-03-11T04:00:00-04:00"),
        ("2012-03-11T04:00:00-04:00", NY_CRON + "0 * * * ?", "2012-03-11T05:00:00-04:00"),
        ("2012-03-11T00:00:00-05:00", NY + "0 1 * * ?", "2012-03-11T01:00:00-05:00"),
        ("2012-03-11T01:00:00-05:00", NY + "0 1 * * ?", "2012-03-12T01:00:00-04:00"),
        ("2012-03-11T00:00:00-05:00", NY + "0 2 * * ?", "2012-03-12T02:00:00-04:00"),
        # fall back: 02:00 EDT becomes 01:00 EST on 4 November 2012
        ("2012-11-04T00:00:00-04:00", NY + "30 2 04 Nov ?", "2012-11-04T02:30:00-05:00"),
        ("2012-11-04T01:45:00-04:00", NY + "30 1 04 Nov ?", "2012-11-04T01:30:00-05:00"),
        ("2012-11-04T00:00:00-04:00", NY + "0 * * * ?", "2012-11-04T01:00:00-04:00"),
        ("2012-11-04T01:00:00-04:00", NY + "0 * * * ?", "2012-11-04T01:00:00-05:00"),
        ("2012-11-04T01:00:00-05:00", NY + "0 * * * ?", "2012-11-04T02:00:00-05:00"),
        ("2012-11-04T00:00:00-04:00", NY + "0 1 * * ?", "2012-11-04T01:00:00-04:00"),
        ("2012-11-04T01:00:00-04:00", NY + "0 1 * * ?", "2012-11-04T01:00:00-05:00"),
        ("2012-11-04T01:00:00-05:00", NY + "0 1 * * ?", "2012-11-05T01:00:00-05:00"),
        ("2012-11-04T00:00:00-04:00", NY + "0 2 * * ?", "2012-11-04T02:00:00-05:00"),
        ("2012-11-04T02:00:00-05:00", NY + "0 2 * * ?", "2012-11-05T02:00:00-05:00"),
        ("2012-11-04T00:00:00-04:00", NY + "0 3 * * ?", "2012-11-04T03:00:00-05:00"),
        ("2012-11-04T03:00:00-05:00", NY + "0 3 * * ?", "2012-11-05T03:00:00-05:00"),
        ("2012-11-04T00:00:00-04:00", NY + "0 3 3 * ?", "2012-12-03T03:00:00-05:00"),
        # midnight does not exist in Sao Paulo on 4 November 2018 (robfig issue #157)
        ("2018-10-17T05:00:00-04:00", SAO_PAULO + "0 9 10 * ?", "2018-11-10T06:00:00-05:00"),
        ("2018-02-14T05:00:00-05:00", SAO_PAULO + "0 9 22 * ?", "2018-02-22T07:00:00-05:00"),
    ],
)
def test_new_york_and_sao_paulo_fire_as_robfigs_own_tests_say(
    after: str, schedule: str, expected: str
) -> None:
    assert parse_standard(schedule).next(at(after)) == at(expected)


def fire_times(schedule: str, zone: str, after: str, count: int) -> list[str]:
    parsed = parse_cronjob_schedule(schedule, zone)
    times = parsed.fire_times(at(after))
    return [next(times).isoformat() for _ in range(count)]


def test_in_berlin_a_time_skipped_in_spring_is_not_run_that_day() -> None:
    # 28 March 2021: 02:00 CET becomes 03:00 CEST
    assert fire_times("30 2 * * *", "Europe/Berlin", "2021-03-27T12:00:00+01:00", 3) == [
        "2021-03-29T02:30:00+02:00",
        "2021-03-30T02:30:00+02:00",
        "2021-03-31T02:30:00+02:00",
    ]


def test_in_new_york_a_time_skipped_in_spring_is_not_run_that_day() -> None:
    # 14 March 2021: 02:00 EST becomes 03:00 EDT
    assert fire_times("30 2 * * *", "America/New_York", "2021-03-13T12:00:00-05:00", 2) == [
        "2021-03-15T02:30:00-04:00",
        "2021-03-16T02:30:00-04:00",
    ]


def test_in_berlin_a_time_repeated_in_autumn_runs_twice() -> None:
    # 31 October 2021: 03:00 CEST becomes 02:00 CET
    assert fire_times("30 2 * * *", "Europe/Berlin", "2021-10-30T12:00:00+02:00", 3) == [
        "2021-10-31T02:30:00+02:00",
        "2021-10-31T02:30:00+01:00",
        "2021-11-01T02:30:00+01:00",
    ]


def test_in_new_york_a_time_repeated_in_autumn_runs_twice() -> None:
    # 7 November 2021: 02:00 EDT becomes 01:00 EST
    assert fire_times("30 1 * * *", "America/New_York", "2021-11-06T12:00:00-04:00", 3) == [
        "2021-11-07T01:30:00-04:00",
        "2021-11-07T01:30:00-05:00",
        "2021-11-08T01:30:00-05:00",
    ]


def test_hourly_schedules_follow_the_real_hours_through_both_changes() -> None:
    assert fire_times("0 * * * *", "Europe/Berlin", "2021-03-28T00:30:00+01:00", 3) == [
        "2021-03-28T01:00:00+01:00",
        "2021-03-28T03:00:00+02:00",
        "2021-03-28T04:00:00+02:00",
    ]
    assert fire_times("0 * * * *", "Europe/Berlin", "2021-10-31T01:30:00+02:00", 4) == [
        "2021-10-31T02:00:00+02:00",
        "2021-10-31T02:00:00+01:00",
        "2021-10-31T03:00:00+01:00",
        "2021-10-31T04:00:00+01:00",
    ]
    assert fire_times("*/20 1 * * *", "America/New_York", "2021-11-07T00:50:00-04:00", 7) == [
        "2021-11-07T01:00:00-04:00",
        "2021-11-07T01:20:00-04:00",
        "2021-11-07T01:40:00-04:00",
        "2021-11-07T01:00:00-05:00",
        "2021-11-07T01:20:00-05:00",
        "2021-11-07T01:40:00-05:00",
        "2021-11-08T01:00:00-05:00",
    ]


def test_daily_midnight_is_unaffected_where_the_change_is_not_at_midnight() -> None:
    assert fire_times("@daily", "Europe/Berlin", "2021-03-27T12:00:00+01:00", 2) == [
        "2021-03-28T00:00:00+01:00",
        "2021-03-29T00:00:00+02:00",
    ]


@pytest.mark.parametrize(
    ("zone", "wall", "instant"),
    [
        # a skipped wall time lands an hour early west of Greenwich, an hour late east of it
        ("America/New_York", (2021, 3, 14, 2, 30), "2021-03-14T01:30:00-05:00"),
        ("Europe/Berlin", (2021, 3, 28, 2, 30), "2021-03-28T03:30:00+02:00"),
        ("Europe/London", (2021, 3, 28, 1, 30), "2021-03-28T02:30:00+01:00"),
        # a repeated wall time is the first occurrence in New York, the second in Berlin
        ("America/New_York", (2021, 11, 7, 1, 30), "2021-11-07T01:30:00-04:00"),
        ("Europe/Berlin", (2021, 10, 31, 2, 30), "2021-10-31T02:30:00+01:00"),
        ("Europe/London", (2021, 10, 31, 1, 30), "2021-10-31T01:30:00+00:00"),
        # and Go normalises out-of-range fields before resolving
        ("UTC", (2021, 13, 1, 0, 0), "2022-01-01T00:00:00+00:00"),
        ("UTC", (2021, 3, 0, 24, 0), "2021-03-01T00:00:00+00:00"),
    ],
)
def test_go_time_date_resolves_gaps_and_repeats_as_go_does(
    zone: str, wall: tuple[int, int, int, int, int], instant: str
) -> None:
    from zoneinfo import ZoneInfo

    year, month, day, hour, minute = wall
    resolved = WallTime.date(year, month, day, hour, minute, 0, ZoneInfo(zone))
    assert resolved.us == to_us(at(instant))
