"""robfig/cron v3's standard parser (`cron.ParseStandard`), which Kubernetes uses both to
validate `spec.schedule` and to run it.

What it accepts, exactly (`parser.go` and `spec.go` of robfig/cron v3.0.1):

* An optional `TZ=<zone> ` or `CRON_TZ=<zone> ` prefix (the API server rejects any
  schedule containing `TZ` since Kubernetes 1.27; the controller still honours the prefix
  on objects that kept it through updates).
* A descriptor, matched exactly (case-sensitive, no extra spaces): `@yearly`/`@annually`,
  `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`, or `@every <Go duration>`.
* Otherwise exactly five whitespace-separated fields: minute 0–59, hour 0–23,
  day-of-month 1–31, month 1–12 or JAN–DEC, day-of-week 0–6 or SUN–SAT (7 is rejected:
  "end of range (7) above maximum (6)"). Names are case-insensitive.
* A field is a comma-separated list (empty items are skipped, so `1,,2` is `1,2` and `,`
  matches nothing, never firing) of ranges: `*` or `?` (the whole field; anything after a
  `-` is then ignored), `N`, `N-M`, each optionally `/step`; `N/step` means `N-max/step`.
  Numbers are Go `strconv.Atoi` (a leading `+` is allowed).
* A `*` or `?` range with step 1 marks the field with robfig's *star bit*; the day fields'
  star bits decide how they combine (`SpecSchedule.day_matches`).

Errors carry robfig's own message, which Kubernetes shows verbatim.

Parsing is memoized (`parsed_schedule`): a wave of CronJobs sharing one schedule parses
it once. The cache is process-wide but invisible — the parse is a pure function of its
arguments, its result a frozen `Schedule`, and an error is not cached (each call raises
afresh) — so, unlike other state, it does not stop one process hosting many loops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, tzinfo
from functools import lru_cache

from colo.cron.goduration import GoSyntaxError, atoi, parse_duration_ns
from colo.cron.schedule import STAR_BIT, EverySchedule, Schedule, SpecSchedule, every_delay_s
from colo.cron.zones import UnknownTimeZone, load_location


class ScheduleSyntaxError(ValueError):
    """robfig refused the schedule; `str()` is robfig's message."""


@dataclass(frozen=True, slots=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int] | None = None


_MINUTES = _Bounds(0, 59)
_HOURS = _Bounds(0, 23)
_DOM = _Bounds(1, 31)
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTHS = _Bounds(1, 12, {name: i + 1 for i, name in enumerate(_MONTH_NAMES)})
_DOW = _Bounds(0, 6, {name: i for i, name in enumerate(_DAY_NAMES)})

#: Go's `unicode.IsSpace`, which `strings.Fields` splits on and `strings.TrimSpace` trims.
_SPACE_CHARS = "\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_GO_SPACE = re.compile(f"[{_SPACE_CHARS}]+")
_GO_TRIM = re.compile(f"^[{_SPACE_CHARS}]+|[{_SPACE_CHARS}]+$")
_EVERY = "@every "
#: Distinct (spec, zone, local zone) triples kept parsed; a cluster has far fewer.
PARSE_CACHE_SIZE = 4096


def _bits(low: int, high: int, step: int) -> int:
    return sum(1 << value for value in range(low, high + 1, step))


def _all(bounds: _Bounds) -> int:
    return _bits(bounds.low, bounds.high, 1) | STAR_BIT


def _must_parse_int(expr: str) -> int:
    try:
        number = atoi(expr)
    except GoSyntaxError as exc:
        raise ScheduleSyntaxError(f"failed to parse int from {expr}: {exc}") from None
    if number < 0:
        raise ScheduleSyntaxError(f"negative number ({number}) not allowed: {expr}")
    return number


def _int_or_name(expr: str, bounds: _Bounds) -> int:
    if bounds.names is not None and expr.lower() in bounds.names:
        return bounds.names[expr.lower()]
    return _must_parse_int(expr)


def _range_bits(expr: str, bounds: _Bounds) -> int:
    """robfig's `getRange`: `number | number "-" number [ "/" number ]`, or `*`/`?`."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    extra = 0
    if low_and_high[0] in ("*", "?"):
        start, end, extra = bounds.low, bounds.high, STAR_BIT
    else:
        start = _int_or_name(low_and_high[0], bounds)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], bounds)
        else:
            raise ScheduleSyntaxError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _must_parse_int(range_and_step[1])
        if single:  # "N/step" means "N-max/step"
            end = bounds.high
        if step > 1:
            extra = 0
    else:
        raise ScheduleSyntaxError(f"too many slashes: {expr}")
    if start < bounds.low:
        raise ScheduleSyntaxError(
            f"beginning of range ({start}) below minimum ({bounds.low}): {expr}"
        )
    if end > bounds.high:
        raise ScheduleSyntaxError(f"end of range ({end}) above maximum ({bounds.high}): {expr}")
    if start > end:
        raise ScheduleSyntaxError(
            f"beginning of range ({start}) beyond end of range ({end}): {expr}"
        )
    if step == 0:
        raise ScheduleSyntaxError(f"step of range should be a positive number: {expr}")
    return _bits(start, end, step) | extra


def _field_bits(field: str, bounds: _Bounds) -> int:
    bits = 0
    for expr in field.split(","):
        if expr:
            bits |= _range_bits(expr, bounds)
    return bits


def _descriptor(text: str, spec: str, zone: tzinfo) -> Schedule:
    """robfig's `parseDescriptor` of `text` (the spec less any TZ prefix)."""
    first = 1  # bit 0: second 0, minute 0, hour 0
    if text in ("@yearly", "@annually"):
        return SpecSchedule(spec, zone, first, first, 1 << 1, 1 << 1, _all(_DOW))
    if text == "@monthly":
        return SpecSchedule(spec, zone, first, first, 1 << 1, _all(_MONTHS), _all(_DOW))
    if text == "@weekly":
        return SpecSchedule(spec, zone, first, first, _all(_DOM), _all(_MONTHS), 1 << 0)
    if text in ("@daily", "@midnight"):
        return SpecSchedule(spec, zone, first, first, _all(_DOM), _all(_MONTHS), _all(_DOW))
    if text == "@hourly":
        return SpecSchedule(spec, zone, first, _all(_HOURS), _all(_DOM), _all(_MONTHS), _all(_DOW))
    if text.startswith(_EVERY):
        try:
            duration_ns = parse_duration_ns(text[len(_EVERY) :])
        except GoSyntaxError as exc:
            raise ScheduleSyntaxError(f"failed to parse duration {text}: {exc}") from None
        return EverySchedule(spec, zone, every_delay_s(duration_ns))
    raise ScheduleSyntaxError(f"unrecognized descriptor: {text}")


def _go_list(items: list[str]) -> str:
    return "[" + " ".join(items) + "]"


def parse_standard(spec: str, *, zone: tzinfo = UTC, local_zone: tzinfo = UTC) -> Schedule:
    """robfig's `ParseStandard(spec)` with `zone` as the schedule's location when the spec
    has no `TZ=`/`CRON_TZ=` prefix (the controller prefixes `TZ=<spec.timeZone>`; without
    one robfig uses Go's `time.Local`, here `local_zone`, which `Local` in a prefix names too).

    Memoized on its three arguments (`parsed_schedule`). Raises ScheduleSyntaxError with
    robfig's message.
    """
    return parsed_schedule(spec, zone, local_zone)


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parsed_schedule(spec: str, zone: tzinfo, local_zone: tzinfo) -> Schedule:
    """`parse_standard`, memoized: equal arguments (zones compare as `tzinfo`s do: a
    `ZoneInfo` by identity, which `ZoneInfo(name)` keeps per name; fixed offsets by value)
    give the same frozen `Schedule`. `parsed_schedule.__wrapped__` parses uncached;
    `cache_info()` counts hits."""
    if not spec:
        raise ScheduleSyntaxError("empty spec string")
    text = spec
    if text.startswith(("TZ=", "CRON_TZ=")):
        space = text.find(" ")
        if space < 0:
            # robfig slices spec[eq+1:-1] here and panics; report it as unparseable.
            raise ScheduleSyntaxError(f"expected a schedule after the time zone: {spec}")
        name = text[text.find("=") + 1 : space]
        try:
            zone = load_location(name, local_zone=local_zone)
        except UnknownTimeZone as exc:
            raise ScheduleSyntaxError(f"provided bad location {name}: {exc}") from None
        text = _GO_TRIM.sub("", text[space:])
    if text.startswith("@"):
        return _descriptor(text, spec, zone)
    fields = [f for f in _GO_SPACE.split(text) if f]
    if len(fields) != 5:
        raise ScheduleSyntaxError(
            f"expected exactly 5 fields, found {len(fields)}: {_go_list(fields)}"
        )
    minute, hour, dom, month, dow = fields
    return SpecSchedule(
        spec,
        zone,
        minute=_field_bits(minute, _MINUTES),
        hour=_field_bits(hour, _HOURS),
        dom=_field_bits(dom, _DOM),
        month=_field_bits(month, _MONTHS),
        dow=_field_bits(dow, _DOW),
    )
