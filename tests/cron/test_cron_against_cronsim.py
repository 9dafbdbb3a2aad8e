"""colo's fire times against a second implementation, cronsim (Debian cron's rules).

Where the two rules coincide by construction — no `?`, no weekday 7, no `L`/`#`, the two
day fields combined the same way (robfig ANDs them when either field has a `*` range with
step 1, Debian when either field *starts with* `*`), and a zone without DST — the fire
times must be equal. Where they differ, the tests below state the difference: each is a
place where using cronsim (or croniter, which follows Vixie cron too) would have fired a
CronJob at a time Kubernetes does not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cronkit import at
from cronsim import CronSim, CronSimError
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from colo.cron import ScheduleSyntaxError, parse_cronjob_schedule, parse_standard

#: zones without DST now, where cronsim's DST handling never applies
STEADY_ZONES = ["UTC", "Asia/Tokyo", "Asia/Kolkata", "America/Argentina/Buenos_Aires"]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


@st.composite
def field(
    draw: st.DrawFn, low: int, high: int, names: list[str] | None = None, from_step: bool = True
) -> str:
    """A cron field both implementations read alike: `*`, `*/n`, and lists of `a`,
    `a-b`, `a-b/n`, `a/n` (numbers, or names in the month and weekday fields; no `a/n`
    in the weekday field, where Debian runs it up to 7)."""

    def value(number: int) -> str:
        if names and draw(st.booleans()):
            name = names[number - low]
            return draw(st.sampled_from([name, name.upper(), name.title()]))
        return str(number)

    kind = draw(st.sampled_from(["star", "step", "list"]))
    if kind == "star":
        return "*"
    if kind == "step":
        return f"*/{draw(st.integers(2, high - low + 1))}"
    items = []
    for _ in range(draw(st.integers(1, 3))):
        a = draw(st.integers(low, high))
        shapes = ["one", "range", "range-step"] + (["from-step"] if from_step else [])
        shape = draw(st.sampled_from(shapes))
        if shape == "one":
            items.append(value(a))
            continue
        b = draw(st.integers(a, high))
        if shape == "range":
            items.append(f"{value(a)}-{value(b)}")
        elif shape == "range-step":
            items.append(f"{value(a)}-{value(b)}/{draw(st.integers(1, high - low + 1))}")
        else:
            items.append(f"{value(a)}/{draw(st.integers(1, high - low + 1))}")
    return ",".join(items)


def robfig_star(text: str) -> bool:
    """robfig's star bit, from the text: a `*` range whose step is 1 (or absent)."""
    for item in text.split(","):
        head, _, step = item.partition("/")
        if head.split("-")[0] in ("*", "?") and step in ("", "1"):
            return True
    return False


def combine_alike(dom: str, dow: str) -> bool:
    return (robfig_star(dom) or robfig_star(dow)) == (dom.startswith("*") or dow.startswith("*"))


@settings(max_examples=300, deadline=None)
@given(
    minute=field(0, 59),
    hour=field(0, 23),
    dom=field(1, 31),
    month=field(1, 12, MONTHS),
    dow=field(0, 6, DAYS, from_step=False),
    zone=st.sampled_from(STEADY_ZONES),
    start=st.datetimes(datetime(2000, 1, 1), datetime(2035, 1, 1)),
)
def test_fire_times_equal_cronsims_where_the_rules_coincide(
    minute: str, hour: str, dom: str, month: str, dow: str, zone: str, start: datetime
) -> None:
    assume(combine_alike(dom, dow))
    expr = f"{minute} {hour} {dom} {month} {dow}"
    tz = ZoneInfo(zone)
    after = start.replace(tzinfo=tz)
    try:
        theirs = CronSim(expr, after)
    except CronSimError:
        assume(False)  # cronsim refuses days no listed month has (robfig never fires them)
    ours = parse_cronjob_schedule(expr, zone).fire_times(after)
    for _ in range(3):
        mine = next(ours, None)
        assert mine is not None, expr
        assert mine.astimezone(UTC) == next(theirs).astimezone(UTC), expr


@settings(max_examples=200, deadline=None)
@given(
    minute=field(0, 59),
    hour=field(0, 23),
    start=st.datetimes(datetime(2000, 1, 1), datetime(2035, 1, 1)),
)
def test_a_fire_time_is_after_the_start_and_matches_every_field(
    minute: str, hour: str, start: datetime
) -> None:
    schedule = parse_standard(f"{minute} {hour} * * *")
    after = start.replace(tzinfo=UTC)
    found = schedule.next(after)
    assert found is not None and found > after
    assert found.second == 0 and found.microsecond == 0
    assert parse_standard(f"{minute} {hour} * * *").next(found - timedelta(seconds=1)) == found


def first(expr: str, after: str) -> tuple[datetime | None, datetime]:
    """colo's and cronsim's first fire time after `after`."""
    moment = at(after)
    return parse_standard(expr, zone=moment.tzinfo or UTC).next(moment), next(CronSim(expr, moment))


def test_a_stepped_star_in_one_day_field_ors_in_robfig_and_ands_in_debian() -> None:
    # Monday 1 Jan 2024; "*/2" is days 1,3,5,...: robfig fires on odd days *or* Mondays
    ours, theirs = first("0 0 */2 * 1", "2024-01-01T00:00:00+00:00")
    assert ours == at("2024-01-03T00:00:00+00:00")  # an odd day, not a Monday
    assert theirs == at("2024-01-15T00:00:00+00:00")  # the next odd Monday


def test_a_star_inside_a_list_ands_in_robfig_and_ors_in_debian() -> None:
    ours, theirs = first("0 0 1,* * 1", "2024-01-01T00:00:00+00:00")
    assert ours == at("2024-01-08T00:00:00+00:00")  # only Mondays
    assert theirs == at("2024-01-02T00:00:00+00:00")  # any day


def test_a_wall_time_skipped_in_spring_runs_after_the_jump_in_debian_not_in_robfig() -> None:
    ny = ZoneInfo("America/New_York")
    after = datetime(2021, 3, 13, 12, 0, tzinfo=ny)
    ours = parse_cronjob_schedule("30 2 * * *", "America/New_York").next(after)
    theirs = next(CronSim("30 2 * * *", after))
    assert ours == at("2021-03-15T02:30:00-04:00")
    assert theirs == at("2021-03-14T03:00:00-04:00")


def test_a_wall_time_repeated_in_autumn_runs_once_in_debian_twice_in_robfig() -> None:
    ny = ZoneInfo("America/New_York")
    after = datetime(2021, 11, 6, 12, 0, tzinfo=ny)
    ours = parse_cronjob_schedule("30 1 * * *", "America/New_York").fire_times(after)
    theirs = CronSim("30 1 * * *", after)
    # in UTC: Python never calls a time in a repeated hour equal to one in another zone
    assert [next(ours).astimezone(UTC) for _ in range(2)] == [
        at("2021-11-07T05:30:00+00:00"),
        at("2021-11-07T06:30:00+00:00"),
    ]
    assert [next(theirs).astimezone(UTC) for _ in range(2)] == [
        at("2021-11-07T05:30:00+00:00"),
        at("2021-11-08T06:30:00+00:00"),
    ]


def test_n_slash_step_in_the_weekday_field_runs_to_saturday_in_robfig_to_sunday_in_debian() -> None:
    # "5/2": robfig 5 (Friday) only, as 7 is past its maximum 6; Debian 5 and 7 (Sunday)
    ours, theirs = first("0 0 * * 5/2", "2024-01-06T00:00:00+00:00")  # a Saturday
    assert ours == at("2024-01-12T00:00:00+00:00")  # Friday
    assert theirs == at("2024-01-07T00:00:00+00:00")  # Sunday


@pytest.mark.parametrize(
    ("expr", "robfig_accepts", "debian_accepts"),
    [
        ("0 0 * * 7", False, True),  # Sunday as 7
        ("0 0 ? * *", True, False),  # ? for any day
        ("0 0 30 2 *", True, False),  # never fires in robfig
        ("0 0 L * *", False, True),  # last day of the month
        ("0 0 * * 1#2", False, True),  # second Monday
        ("*-5 * * * *", True, False),  # robfig ignores what follows a *
        ("@daily", True, False),
        ("@every 1h", True, False),
    ],
)
def test_the_two_accept_different_syntax(
    expr: str, robfig_accepts: bool, debian_accepts: bool
) -> None:
    try:
        parse_standard(expr)
        ours = True
    except ScheduleSyntaxError:
        ours = False
    try:
        CronSim(expr, datetime(2024, 1, 1, tzinfo=UTC))
        theirs = True
    except CronSimError:
        theirs = False
    assert (ours, theirs) == (robfig_accepts, debian_accepts)
