"""Go's `time.ParseDuration` and `strconv.Atoi`, as robfig/cron's parser calls them.

`@every <duration>` takes any Go duration (`90s`, `1h30m`, `1.5h`, `300ms`, `-1s`, `0`),
and the numbers in cron fields are read with `strconv.Atoi` (which takes a leading `+`).
Kubernetes reports their errors verbatim, so the messages here are Go's.
"""

from __future__ import annotations

import re

#: nanoseconds per unit; Go accepts both micro signs (U+00B5 and U+03BC).
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_MAX_NS = 2**63 - 1
_ATOI = re.compile(r"[+-]?[0-9]+")


class GoSyntaxError(ValueError):
    """Go refused the text; `str()` is Go's error message."""


def _quote(text: str) -> str:
    """The `time` package's `quote`: non-ASCII and control characters as `\\x` bytes."""
    out = ['"']
    for char in text:
        if ord(char) >= 0x80 or ord(char) < 0x20:
            out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8", "surrogatepass"))
        else:
            out.append("\\" + char if char in '"\\' else char)
    out.append('"')
    return "".join(out)


def _strconv_quote(text: str) -> str:
    """`strconv.Quote`, for what cron fields hold: printable characters kept."""
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(f"\\x{ord(char):02x}" if ord(char) < 0x80 else f"\\u{ord(char):04x}")
    out.append('"')
    return "".join(out)


def atoi(text: str) -> int:
    """Go's `strconv.Atoi` on a 64-bit platform."""
    if not _ATOI.fullmatch(text):
        raise GoSyntaxError(f"strconv.Atoi: parsing {_strconv_quote(text)}: invalid syntax")
    value = int(text)
    if not -(2**63) <= value <= _MAX_NS:
        raise GoSyntaxError(f"strconv.Atoi: parsing {_strconv_quote(text)}: value out of range")
    return value


def _leading_digits(text: str) -> tuple[str, str]:
    end = 0
    while end < len(text) and "0" <= text[end] <= "9":
        end += 1
    return text[:end], text[end:]


def _leading_fraction(text: str) -> tuple[int, float, str]:
    """Go's `leadingFraction`: the digits as an integer and their scale (a float64, as
    Go keeps it), ignoring digits past what fits in 63 bits."""
    value, scale, overflow = 0, 1.0, False
    digits, rest = _leading_digits(text)
    for digit in digits:
        if overflow:
            continue
        if value > (2**63 - 1) // 10:
            overflow = True
            continue
        grown = value * 10 + int(digit)
        if grown > 2**63:
            overflow = True
            continue
        value = grown
        scale *= 10
    return value, scale, rest


def parse_duration_ns(text: str) -> int:
    """Go's `time.ParseDuration`: nanoseconds in `[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+` or `0`.

    A fraction goes through a float64 as in Go (`0.3333333333333333333h` is exactly 20m),
    so the nanoseconds, and so `@every`'s whole seconds, are Go's.
    """
    invalid = GoSyntaxError(f"time: invalid duration {_quote(text)}")
    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise invalid
    total = 0
    while rest:
        if not (rest[0] == "." or "0" <= rest[0] <= "9"):
            raise invalid
        whole, rest = _leading_digits(rest)
        fraction, fraction_scale, had_fraction = 0, 1.0, False
        if rest[:1] == ".":
            before = len(rest) - 1
            fraction, fraction_scale, rest = _leading_fraction(rest[1:])
            had_fraction = len(rest) != before
        if not whole and not had_fraction:
            raise invalid
        end = 0
        while end < len(rest) and not (rest[end] == "." or "0" <= rest[end] <= "9"):
            end += 1
        if end == 0:
            raise GoSyntaxError(f"time: missing unit in duration {_quote(text)}")
        unit, rest = rest[:end], rest[end:]
        if unit not in _UNIT_NS:
            raise GoSyntaxError(f"time: unknown unit {_quote(unit)} in duration {_quote(text)}")
        scale = _UNIT_NS[unit]
        value = int(whole or "0")
        if value > 2**63 // scale:
            raise invalid
        value *= scale
        if fraction > 0:
            value += int(float(fraction) * (float(scale) / fraction_scale))
            if value > 2**63:
                raise invalid
        total += value
        if total > 2**63:
            raise invalid
    if negative:
        return -total
    if total > _MAX_NS:
        raise invalid
    return total
