"""Schedules parse exactly as robfig/cron v3's standard parser parses them.

Cases follow robfig/cron v3.0.1 `parser_test.go` (TestRange, TestField, TestBits,
TestParseScheduleErrors, TestStandardSpecSchedule) and `spec_test.go` (TestErrors), moved
to the five-field standard parser Kubernetes calls, plus robfig's behaviour read from
`parser.go` where its tests are silent (names, `?`, `N/step`, empty list items, Go's Atoi).
"""

from __future__ import annotations

from datetime import UTC

import pytest

from colo.cron import EverySchedule, ScheduleSyntaxError, SpecSchedule, parse_standard
from colo.cron.parser import _DOM, _DOW, _HOURS, _MINUTES, _MONTHS, _Bounds, _range_bits
from colo.cron.schedule import STAR_BIT


def not_a_number(text: str) -> str:
    return f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax'


def bits(*values: int) -> int:
    return sum(1 << v for v in values)


def spec(text: str) -> SpecSchedule:
    parsed = parse_standard(text)
    assert isinstance(parsed, SpecSchedule)
    return parsed


@pytest.mark.parametrize(
    ("expr", "low", "high", "expected"),
    [
        ("5", 0, 7, bits(5)),
        ("0", 0, 7, bits(0)),
        ("7", 0, 7, bits(7)),
        ("5-5", 0, 7, bits(5)),
        ("5-6", 0, 7, bits(5, 6)),
        ("5-7", 0, 7, bits(5, 6, 7)),
        ("5-6/2", 0, 7, bits(5)),
        ("5-7/2", 0, 7, bits(5, 7)),
        ("5-7/1", 0, 7, bits(5, 6, 7)),
        ("*", 1, 3, bits(1, 2, 3) | STAR_BIT),
        ("?", 1, 3, bits(1, 2, 3) | STAR_BIT),
        ("*/1", 1, 3, bits(1, 2, 3) | STAR_BIT),
        ("*/2", 1, 3, bits(1, 3)),  # a step above 1 drops the star bit (v3)
        ("5/2", 0, 9, bits(5, 7, 9)),  # N/step means N-max/step
        ("*-2", 0, 5, bits(0, 1, 2, 3, 4, 5) | STAR_BIT),  # after * the high end is ignored
        ("+3", 0, 5, bits(3)),  # Go's Atoi takes a sign
    ],
)
def test_a_range_sets_the_bits_robfig_sets(expr: str, low: int, high: int, expected: int) -> None:
    assert _range_bits(expr, _Bounds(low, high)) == expected


@pytest.mark.parametrize(
    ("expr", "low", "high", "message"),
    [
        ("5--5", 0, 0, "too many hyphens: 5--5"),
        ("jan-x", 0, 0, not_a_number("jan")),
        ("2-x", 1, 5, not_a_number("x")),
        ("*/-12", 0, 0, "negative number (-12) not allowed: -12"),
        ("*//2", 0, 0, "too many slashes: *//2"),
        ("1", 3, 5, "beginning of range (1) below minimum (3): 1"),
        ("6", 3, 5, "end of range (6) above maximum (5): 6"),
        ("5-3", 3, 5, "beginning of range (5) beyond end of range (3): 5-3"),
        ("*/0", 0, 0, "step of range should be a positive number: */0"),
        (
            "99999999999999999999",
            0,
            59,
            "failed to parse int from 99999999999999999999: strconv.Atoi: parsing "
            '"99999999999999999999": value out of range',
        ),
    ],
)
def test_a_bad_range_fails_with_robfigs_message(
    expr: str, low: int, high: int, message: str
) -> None:
    with pytest.raises(ScheduleSyntaxError) as caught:
        _range_bits(expr, _Bounds(low, high))
    assert str(caught.value) == message


def test_every_field_wildcard_covers_its_bounds_plus_the_star_bit() -> None:
    # robfig's TestBits: 60 minutes, 24 hours, days 1-31, months 1-12, weekdays 0-6
    every = spec("* * * * *")
    assert every.minute == 0xFFFFFFFFFFFFFFF | STAR_BIT
    assert every.hour == 0xFFFFFF | STAR_BIT
    assert every.dom == 0xFFFFFFFE | STAR_BIT
    assert every.month == 0x1FFE | STAR_BIT
    assert every.dow == 0x7F | STAR_BIT
    for bounds in (_MINUTES, _HOURS, _DOM, _MONTHS, _DOW):
        assert _range_bits("*", bounds) & ~STAR_BIT == sum(
            1 << v for v in range(bounds.low, bounds.high + 1)
        )


def test_a_list_ors_its_ranges_and_skips_empty_items() -> None:
    # robfig's TestField, plus `strings.FieldsFunc` dropping empty items
    assert spec("1,5-7/2,3 * * * *").minute == bits(1, 3, 5, 7)
    assert spec("5,,6, * * * *").minute == bits(5, 6)
    assert spec("1,* * * * *").minute == bits(*range(60)) | STAR_BIT
    assert spec(", * * * *").minute == 0  # parses, and never fires


def test_names_of_months_and_weekdays_are_case_insensitive() -> None:
    assert spec("0 0 * JAN-mar sun,Sat").month == bits(1, 2, 3)
    assert spec("0 0 * JAN-mar sun,Sat").dow == bits(0, 6)
    assert spec("0 0 * Jul/2 *").month == bits(7, 9, 11)
    assert spec("0 0 * * Mon-FRI").dow == bits(1, 2, 3, 4, 5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 0 * * 7", "end of range (7) above maximum (6): 7"),
        ("0 0 * * 0-7", "end of range (7) above maximum (6): 0-7"),
        ("60 0 * * *", "end of range (60) above maximum (59): 60"),
        ("0 24 * * *", "end of range (24) above maximum (23): 24"),
        ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("0 0 32 * *", "end of range (32) above maximum (31): 32"),
        ("0 0 * 13 *", "end of range (13) above maximum (12): 13"),
        ("0 0 * * XYZ", not_a_number("XYZ")),
        ("jan * * * *", not_a_number("jan")),
        ("0 0 * * mon#2", not_a_number("mon#2")),
        ("0 0 L * *", not_a_number("L")),
        ("xyz", "expected exactly 5 fields, found 1: [xyz]"),
        ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
        ("0 0 0 * * *", "expected exactly 5 fields, found 6: [0 0 0 * * *]"),
        ("   ", "expected exactly 5 fields, found 0: []"),
        (" @daily", "expected exactly 5 fields, found 1: [@daily]"),
        ("", "empty spec string"),
        ("@unrecognized", "unrecognized descriptor: @unrecognized"),
        ("@Daily", "unrecognized descriptor: @Daily"),
        ("@daily ", "unrecognized descriptor: @daily "),
        ("@every", "unrecognized descriptor: @every"),
        ("@every Xm", 'failed to parse duration @every Xm: time: invalid duration "Xm"'),
        (
            "@every 1x",
            'failed to parse duration @every 1x: time: unknown unit "x" in duration "1x"',
        ),
        ("@every 10", 'failed to parse duration @every 10: time: missing unit in duration "10"'),
        ("@every ", 'failed to parse duration @every : time: invalid duration ""'),
        ("@every  1h", 'failed to parse duration @every  1h: time: invalid duration " 1h"'),
    ],
)
def test_a_schedule_robfig_rejects_fails_with_its_message(text: str, message: str) -> None:
    with pytest.raises(ScheduleSyntaxError) as caught:
        parse_standard(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "minute", "hour", "dom", "month", "dow"),
    [
        ("@yearly", bits(0), bits(0), bits(1), bits(1), "all"),
        ("@annually", bits(0), bits(0), bits(1), bits(1), "all"),
        ("@monthly", bits(0), bits(0), bits(1), "all", "all"),
        ("@weekly", bits(0), bits(0), "all", "all", bits(0)),
        ("@daily", bits(0), bits(0), "all", "all", "all"),
        ("@midnight", bits(0), bits(0), "all", "all", "all"),
        ("@hourly", bits(0), "all", "all", "all", "all"),
    ],
)
def test_descriptors_are_the_fields_robfig_gives_them(
    text: str, minute: int, hour: int | str, dom: int | str, month: int | str, dow: int | str
) -> None:
    star = spec("* * * * *")
    parsed = spec(text)
    assert parsed.minute == minute
    assert parsed.hour == (star.hour if hour == "all" else hour)
    assert parsed.dom == (star.dom if dom == "all" else dom)
    assert parsed.month == (star.month if month == "all" else month)
    assert parsed.dow == (star.dow if dow == "all" else dow)
    assert parsed.second == bits(0)


@pytest.mark.parametrize(
    ("text", "delay_s"),
    [
        ("@every 5m", 300),
        ("@every 1h30m", 5400),
        ("@every 1.5h", 5400),
        ("@every 90s", 90),
        ("@every 1500ms", 1),  # cut to whole seconds
        ("@every 2999999us", 2),
        ("@every 999ms", 1),  # under a second becomes a second
        ("@every 0", 1),
        ("@every 0s", 1),
        ("@every -5m", 1),  # Go parses a negative duration; robfig's Every makes it 1s
        ("@every 1h0m0.5s", 3600),
        ("@every 2µs", 1),
    ],
)
def test_every_takes_a_go_duration_cut_to_whole_seconds(text: str, delay_s: int) -> None:
    parsed = parse_standard(text)
    assert isinstance(parsed, EverySchedule)
    assert parsed.delay_s == delay_s


def test_a_tz_prefix_sets_the_zone_and_local_names_the_controllers_zone() -> None:
    # robfig's TestParseSchedule: "TZ=UTC  5 * * * *" (two spaces) is every hour at :05
    assert spec("TZ=UTC  5 * * * *").zone is UTC
    assert spec("TZ=UTC  5 * * * *").minute == bits(5)
    assert str(spec("CRON_TZ=Asia/Tokyo 5 * * * *").zone) == "Asia/Tokyo"
    assert str(parse_standard("TZ=Asia/Tokyo @midnight").zone) == "Asia/Tokyo"
    assert parse_standard("TZ= 0 * * * *").zone is UTC  # LoadLocation("") is UTC
    from zoneinfo import ZoneInfo

    local = ZoneInfo("Europe/Berlin")
    assert parse_standard("TZ=Local 0 * * * *", local_zone=local).zone is local
    assert parse_standard("0 * * * *", zone=local).zone is local


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "TZ=Mars/Olympus 0 * * * *",
            "provided bad location Mars/Olympus: unknown time zone Mars/Olympus",
        ),
        ("TZ=UTC", "expected a schedule after the time zone: TZ=UTC"),
        ("CRON_TZ=UTC 0 * * *", "expected exactly 5 fields, found 4: [0 * * *]"),
    ],
)
def test_a_bad_tz_prefix_fails(text: str, message: str) -> None:
    with pytest.raises(ScheduleSyntaxError) as caught:
        parse_standard(text)
    assert str(caught.value) == message


def test_fields_split_on_any_go_whitespace() -> None:
    assert spec("5\t*  *\n* *").minute == bits(5)
    assert spec("5\u00a0* * * *").minute == bits(5)  # no-break space is space to Go
