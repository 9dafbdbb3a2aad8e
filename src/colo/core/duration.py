"""Durations and times of day as people write them in scenario files and flags.

`parse_duration_s("1h30m") == 5400.0`; bare numbers are seconds. Units: ms, s, m, h, d
(Go's `time.ParseDuration` units plus `d`), combined largest first without spaces.
"""

from __future__ import annotations

import re

from colo.core.errors import InvalidInput

_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+")
_TIME_OF_DAY = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")

DURATION_EXPECTED = "a duration like 30s, 5m, 1h30m, 2d or a number of seconds"


def parse_duration_s(
    value: str | int | float, *, obj: str | None = None, field: str = "duration"
) -> float:
    """Seconds in `value`; raises InvalidInput naming `obj` and `field` when malformed."""
    if isinstance(value, bool):
        raise InvalidInput(
            "invalid duration", obj=obj, field=field, value=value, expected=DURATION_EXPECTED
        )
    if isinstance(value, int | float):
        if value < 0:
            raise InvalidInput(
                "negative duration", obj=obj, field=field, value=value, expected=DURATION_EXPECTED
            )
        return float(value)
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        if not _WHOLE.fullmatch(text):
            raise InvalidInput(
                "invalid duration", obj=obj, field=field, value=value, expected=DURATION_EXPECTED
            ) from None
        seconds = sum(float(n) * _UNIT_S[u] for n, u in _PART.findall(text))
    if seconds < 0 or seconds != seconds:
        raise InvalidInput(
            "invalid duration", obj=obj, field=field, value=value, expected=DURATION_EXPECTED
        )
    return seconds


def parse_time_of_day_s(value: str, *, obj: str | None = None, field: str = "time") -> float:
    """Seconds after midnight for `HH:MM` or `HH:MM:SS`."""
    match = _TIME_OF_DAY.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput(
            "invalid time of day",
            obj=obj,
            field=field,
            value=value,
            expected="HH:MM or HH:MM:SS, e.g. 00:00 or 06:30",
        )
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600.0 + int(minutes) * 60.0 + int(seconds or 0)
