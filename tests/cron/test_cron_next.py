"""Fire times are robfig/cron v3's `Next`, case for case.

Tables follow robfig/cron v3.0.1 `spec_test.go` (TestActivation, TestNext without the
seconds field) and `constantdelay_test.go` (TestConstantDelayNext), written for the
five-field standard parser with times in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from colo.cron import parse_standard


def utc(text: str) -> datetime:
    """robfig's test layouts: "Mon Jul 9 14:45 2012" or with seconds, in UTC."""
    for layout in ("%a %b %d %H:%M %Y", "%a %b %d %H:%M:%S %Y"):
        try:
            return datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(text)


@pytest.mark.parametrize(
    ("when", "schedule", "fires"),
    [
        # every fifteen minutes
        ("Mon Jul 9 15:00 2012", "0/15 * * * *", True),
        ("Mon Jul 9 15:45 2012", "0/15 * * * *", True),
        ("Mon Jul 9 15:40 2012", "0/15 * * * *", False),
        # every fifteen minutes, starting at 5
        ("Mon Jul 9 15:05 2012", "5/15 * * * *", True),
        ("Mon Jul 9 15:20 2012", "5/15 * * * *", True),
        ("Mon Jul 9 15:50 2012", "5/15 * * * *", True),
        # named months
        ("Sun Jul 15 15:00 2012", "0/15 * * Jul *", True),
        ("Sun Jul 15 15:00 2012", "0/15 * * Jun *", False),
        # everything set
        ("Sun Jul 15 08:30 2012", "30 08 ? Jul Sun", True),
        ("Sun Jul 15 08:30 2012", "30 08 15 Jul ?", True),
        ("Mon Jul 16 08:30 2012", "30 08 ? Jul Sun", False),
        ("Mon Jul 16 08:30 2012", "30 08 15 Jul ?", False),
        # descriptors
        ("Mon Jul 9 15:00 2012", "@hourly", True),
        ("Mon Jul 9 15:04 2012", "@hourly", False),
        ("Mon Jul 9 15:00 2012", "@daily", False),
        ("Mon Jul 9 00:00 2012", "@daily", True),
        ("Mon Jul 9 00:00 2012", "@weekly", False),
        ("Sun Jul 8 00:00 2012", "@weekly", True),
        ("Sun Jul 8 01:00 2012", "@weekly", False),
        ("Sun Jul 8 00:00 2012", "@monthly", False),
        ("Sun Jul 1 00:00 2012", "@monthly", True),
        # both day fields restricted: either may match
        ("Sun Jul 15 00:00 2012", "* * 1,15 * Sun", True),
        ("Fri Jun 15 00:00 2012", "* * 1,15 * Sun", True),
        ("Wed Aug 1 00:00 2012", "* * 1,15 * Sun", True),
        ("Sun Jul 15 00:00 2012", "* * */10 * Sun", True),  # robfig issue #70
        # a star in either: both must match
        ("Sun Jul 15 00:00 2012", "* * * * Mon", False),
        ("Mon Jul 9 00:00 2012", "* * 1,15 * *", False),
        ("Sun Jul 15 00:00 2012", "* * 1,15 * *", True),
        ("Sun Jul 15 00:00 2012", "* * */2 * Sun", True),
    ],
)
def test_a_schedule_fires_at_the_times_robfig_activates_it(
    when: str, schedule: str, fires: bool
) -> None:
    moment = utc(when)
    assert (parse_standard(schedule).next(moment - timedelta(seconds=1)) == moment) is fires


@pytest.mark.parametrize(
    ("after", "schedule", "expected"),
    [
        ("Mon Jul 9 14:45 2012", "0/15 * * * *", "Mon Jul 9 15:00 2012"),
        ("Mon Jul 9 14:59 2012", "0/15 * * * *", "Mon Jul 9 15:00 2012"),
        ("Mon Jul 9 14:59:59 2012", "0/15 * * * *", "Mon Jul 9 15:00 2012"),
        # wrap around hours
        ("Mon Jul 9 15:45 2012", "20-35/15 * * * *", "Mon Jul 9 16:20 2012"),
        # wrap around days
        ("Mon Jul 9 23:46 2012", "*/15 * * * *", "Tue Jul 10 00:00 2012"),
        ("Mon Jul 9 23:45 2012", "20-35/15 * * * *", "Tue Jul 10 00:20 2012"),
        ("Mon Jul 9 23:35:51 2012", "20-35/15 * * * *", "Tue Jul 10 00:20 2012"),
        ("Mon Jul 9 23:35:51 2012", "20-35/15 1/2 * * *", "Tue Jul 10 01:20 2012"),
        ("Mon Jul 9 23:35:51 2012", "20-35/15 10-12 * * *", "Tue Jul 10 10:20 2012"),
        ("Mon Jul 9 23:35:51 2012", "20-35/15 1/2 */2 * *", "Thu Jul 11 01:20 2012"),
        ("Mon Jul 9 23:35:51 2012", "20-35/15 * 9-20 * *", "Wed Jul 10 00:20 2012"),
        ("Mon Jul 9 23:35:51 2012", "20-35/15 * 9-20 Jul *", "Wed Jul 10 00:20 2012"),
        # wrap around months
        ("Mon Jul 9 23:35 2012", "0 0 9 Apr-Oct ?", "Thu Aug 9 00:00 2012"),
        ("Mon Jul 9 23:35 2012", "0 0 */5 Apr,Aug,Oct Mon", "Tue Aug 1 00:00 2012"),
        ("Mon Jul 9 23:35 2012", "0 0 */5 Oct Mon", "Mon Oct 1 00:00 2012"),
        # wrap around years
        ("Mon Jul 9 23:35 2012", "0 0 * Feb Mon", "Mon Feb 4 00:00 2013"),
        ("Mon Jul 9 23:35 2012", "0 0 * Feb Mon/2", "Fri Feb 1 00:00 2013"),
        # wrap around minute, hour, day, month and year
        ("Mon Dec 31 23:59:45 2012", "* * * * *", "Tue Jan 1 00:00 2013"),
        # leap year
        ("Mon Jul 9 23:35 2012", "0 0 29 Feb ?", "Mon Feb 29 00:00 2016"),
    ],
)
def test_the_next_fire_time_is_robfigs(after: str, schedule: str, expected: str) -> None:
    assert parse_standard(schedule).next(utc(after)) == utc(expected)


@pytest.mark.parametrize(
    "schedule",
    [
        "0 0 30 Feb ?",
        "0 0 31 Apr ?",
        "59 23 31 2 *",  # Kubernetes' "rogue cronjob"
        ", * * * *",
    ],
)
def test_a_schedule_that_cannot_fire_has_no_next_time(schedule: str) -> None:
    assert parse_standard(schedule).next(utc("Mon Jul 9 23:35 2012")) is None


def test_a_rare_schedule_beyond_five_years_has_no_next_time() -> None:
    # 29 February falls in 2096 and 2104: from 2097 robfig's five-year search gives up
    leap_day = parse_standard("0 0 29 2 *")
    assert leap_day.next(datetime(2095, 3, 1, tzinfo=UTC)) == datetime(2096, 2, 29, tzinfo=UTC)
    assert leap_day.next(datetime(2097, 3, 1, tzinfo=UTC)) is None
    assert leap_day.next(datetime(2099, 3, 1, tzinfo=UTC)) == datetime(2104, 2, 29, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "every", "expected"),
    [
        ("Mon Jul 9 14:45 2012", "15m", "Mon Jul 9 15:00 2012"),
        ("Mon Jul 9 14:59 2012", "15m", "Mon Jul 9 15:14 2012"),
        ("Mon Jul 9 14:59:59 2012", "15m", "Mon Jul 9 15:14:59 2012"),
        # wrap around hours
        ("Mon Jul 9 15:45 2012", "35m", "Mon Jul 9 16:20 2012"),
        # wrap around days
        ("Mon Jul 9 23:46 2012", "14m", "Tue Jul 10 00:00 2012"),
        ("Mon Jul 9 23:45 2012", "35m", "Tue Jul 10 00:20 2012"),
        ("Mon Jul 9 23:35:51 2012", "44m24s", "Tue Jul 10 00:20:15 2012"),
        ("Mon Jul 9 23:35:51 2012", "25h44m24s", "Thu Jul 11 01:20:15 2012"),
        # wrap around months
        ("Mon Jul 9 23:35 2012", "2184h25m", "Tue Oct 9 00:00 2012"),
        # wrap around minute, hour, day, month and year
        ("Mon Dec 31 23:59:45 2012", "15s", "Tue Jan 1 00:00:00 2013"),
        # the delay is cut to whole seconds; under a second it is one second
        ("Mon Jul 9 14:45 2012", "15m50ns", "Mon Jul 9 15:00 2012"),
        ("Mon Jul 9 14:45 2012", "15ms", "Mon Jul 9 14:45:01 2012"),
    ],
)
def test_every_adds_its_delay_to_the_given_time(after: str, every: str, expected: str) -> None:
    assert parse_standard(f"@every {every}").next(utc(after)) == utc(expected)


def test_every_drops_the_fraction_of_a_second_of_the_given_time() -> None:
    start = utc("Mon Jul 9 14:45 2012") + timedelta(milliseconds=5)
    assert parse_standard("@every 15m").next(start) == utc("Mon Jul 9 15:00 2012")


def test_every_is_anchored_on_the_chain_not_the_clock() -> None:
    times = parse_standard("@every 1h").fire_times(datetime(2024, 1, 1, 0, 17, 3, tzinfo=UTC))
    assert [next(times) for _ in range(3)] == [
        datetime(2024, 1, 1, hour, 17, 3, tzinfo=UTC) for hour in (1, 2, 3)
    ]


def test_fire_times_chain_next_and_stop_where_robfig_finds_none() -> None:
    times = list(parse_standard("0 0 29 2 *").fire_times(datetime(2093, 1, 1, tzinfo=UTC)))
    assert times == [datetime(2096, 2, 29, tzinfo=UTC)]


def test_the_next_time_is_shown_with_the_schedules_offset() -> None:
    found = parse_standard("TZ=Asia/Kolkata 14 14 * * *").next(
        datetime(2016, 1, 3, 7, 39, 3, tzinfo=UTC)
    )
    assert found is not None
    assert found.isoformat() == "2016-01-03T14:14:00+05:30"


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_standard("* * * * *").next(datetime(2024, 1, 1))
