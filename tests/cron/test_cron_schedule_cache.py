"""Parsed schedules and fire times are memoized (`parsed_schedule`, `spec_next_us`): the
answers are those of the uncached computation, across DST changes too; equal arguments
hit the cache; errors are raised every time; a wave of CronJobs sharing a schedule parses
it once and walks each fire time once."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
from cronkit import BERLIN, NEW_YORK, MakeCronJob, at

from colo.cron import ScheduleSyntaxError, SpecSchedule, decide, parse_standard
from colo.cron.parser import parsed_schedule
from colo.cron.schedule import spec_next_us
from colo.cron.walltime import from_us, to_us

SCHEDULES = [
    "*/15 * * * *",
    "30 1 * * *",  # in the repeated hour of an autumn change
    "30 2 * * *",  # in the skipped hour of a spring change
    "0 0 1 * 1-5",
    "@hourly",
    "@every 90m",
    "TZ=Asia/Kolkata 45 6 * * *",
]
ZONES = [UTC, NEW_YORK, BERLIN, ZoneInfo("Australia/Lord_Howe")]  # the last: a 30-min shift
AFTERS = [
    at("2021-03-13T12:00:00-05:00"),  # New York springs forward the next night
    at("2021-11-06T12:00:00-04:00"),  # and falls back
    at("2021-03-27T12:00:00+01:00"),  # Berlin springs forward
    at("2021-04-03T12:00:00+11:00"),  # Lord Howe falls back half an hour
]


def uncached_fire_times(spec: str, zone: tzinfo, after: datetime, count: int) -> list[datetime]:
    schedule = parsed_schedule.__wrapped__(spec, zone, UTC)
    times, current = [], to_us(after)
    for _ in range(count):
        found = (
            schedule.walk_us(current)
            if isinstance(schedule, SpecSchedule)
            else schedule.next_us(current)
        )
        if found is None:
            break
        times.append(from_us(found, schedule.zone))
        current = found
    return times


@pytest.mark.parametrize("zone", ZONES, ids=str)
@pytest.mark.parametrize("spec", SCHEDULES)
def test_cached_answers_are_the_uncached_ones(spec: str, zone: tzinfo) -> None:
    assert parse_standard(spec, zone=zone) == parsed_schedule.__wrapped__(spec, zone, UTC)
    for after in AFTERS:
        expected = uncached_fire_times(spec, zone, after, 12)
        for _ in range(2):  # computed, then from the cache
            cached = list(islice(parse_standard(spec, zone=zone).fire_times(after), 12))
            assert cached == expected
            # equality compares instants; the offsets are what a user sees too
            assert [t.utcoffset() for t in cached] == [t.utcoffset() for t in expected]


def test_the_same_schedule_and_zone_hit_the_caches() -> None:
    first = parse_standard("17 4 * * 2", zone=NEW_YORK)
    parsed = parsed_schedule.cache_info()
    again = parse_standard("17 4 * * 2", zone=NEW_YORK)
    assert again is first
    assert parsed_schedule.cache_info().hits == parsed.hits + 1
    assert parsed_schedule.cache_info().misses == parsed.misses

    after = at("2021-11-06T12:00:00-04:00")
    first.next(after)
    walked = spec_next_us.cache_info()
    assert again.next(after) == first.next(after)
    assert spec_next_us.cache_info().hits == walked.hits + 2
    assert spec_next_us.cache_info().misses == walked.misses


def test_another_zone_is_another_schedule() -> None:
    ny = parse_standard("30 2 * * *", zone=NEW_YORK)
    berlin = parse_standard("30 2 * * *", zone=BERLIN)
    assert ny.zone is NEW_YORK and berlin.zone is BERLIN
    after = at("2021-03-13T00:00:00Z")
    assert ny.next(after) != berlin.next(after)


def test_errors_are_raised_every_time() -> None:
    for _ in range(3):
        with pytest.raises(ScheduleSyntaxError, match=r"end of range \(7\) above maximum \(6\)"):
            parse_standard("0 0 * * 7")


def test_a_wave_sharing_a_schedule_parses_once_and_walks_each_fire_time_once() -> None:
    created = at("2026-12-04T22:00:00Z")
    now = at("2026-12-04T23:04:55Z")
    wave = [
        MakeCronJob(f"c{i:04d}").schedule("5 23 4 12 *").zone("America/New_York")
        .created(created).obj()
        for i in range(1000)
    ]  # fmt: skip
    decide(wave[0], now)  # the first may be computed (or cached by an earlier test)
    parsed, walked = parsed_schedule.cache_info(), spec_next_us.cache_info()
    decisions = {decide(cronjob, now).outcome for cronjob in wave[1:]}
    assert len(decisions) == 1
    assert parsed_schedule.cache_info().misses == parsed.misses
    assert spec_next_us.cache_info().misses == walked.misses
    assert parsed_schedule.cache_info().hits - parsed.hits == 999
