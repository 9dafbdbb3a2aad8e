"""Kubernetes resource quantities (`100m`, `1.5`, `2Gi`, `500M`, `1e3`) with apimachinery's rules.

Grammar (k8s.io/apimachinery/pkg/api/resource, the documented one)::

    quantity  ::= [sign] number [suffix]
    number    ::= digits | digits "." digits | digits "." | "." digits
    suffix    ::= binarySI | decimalSI | exponent
    binarySI  ::= Ki | Mi | Gi | Ti | Pi | Ei              (2^10 .. 2^60)
    decimalSI ::= n | u | m | "" | k | M | G | T | P | E   (10^-9 .. 10^18)
    exponent  ::= ("e" | "E") [sign] digits                (10^digits)

Note `1E` is one exa (10^18) while `1e` is malformed, and `1E3` is an exponent. Suffixes are
case-sensitive (`1mi`, `1K`, `1KB` are errors). Surrounding whitespace is ignored, as the API
server's JSON decoder trims it; inner whitespace (`1 Gi`) is an error.

Value rules, as apimachinery applies them when parsing:
- A non-zero value finer than 10^-9 is rounded *away from zero* to the next nano (`0.1n` → `1n`).
- A value written with a binary suffix is capped at 2^63-1 in magnitude (`8Ei` → 2^63-1);
  decimal and exponent values are not capped.
- Integer accessors round away from zero: `cpu_milli` is ceil(value × 1000) and `to_bytes` /
  `to_int` are ceil(value) for non-negative values (apimachinery's `MilliValue`/`Value`).
  Where apimachinery would silently overflow int64, colo raises `InvalidInput` instead.
  (For negative values apimachinery's two internal representations disagree — int64 rounds
  away from zero, big decimals toward +inf; colo always rounds away from zero.)
- Separately, the API server's defaulting rounds every value of a stored ResourceList up to
  milli precision (SetDefaults_ResourceList), so `1n` of cpu is stored as `1m`. That does not
  change `cpu_milli` or `to_bytes`, which round up anyway.

Deliberately stricter than apimachinery's hand-written scanner, which accepts a missing number
as zero (`Mi`, `-`, `+`, `.` all parse as 0 there): colo rejects those as the typos they are.
Exponents are limited to the int32 range apimachinery stores them in.

Canonical printing (`format_quantity`) follows `Quantity.String()`: strip trailing zeros, lower
the decimal exponent to a multiple of three, pick the matching suffix, e.g. 1.5 → `1500m`,
1.5Gi → `1536Mi`, 1000 bytes in BinarySI → `1k` (BinarySI values below 1024 or with a fraction
are printed as DecimalSI).
"""

from __future__ import annotations

import re
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Literal, NamedTuple

from colo.core._fields import shown
from colo.core.errors import InvalidInput

Format = Literal["DecimalSI", "BinarySI", "DecimalExponent"]

QUANTITY_EXPECTED = "a number with an optional suffix like 100m, 1.5, 2Gi, 500M or 1e3"
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
INT32_MAX = 2**31 - 1

_BINARY_EXP2 = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_EXP10 = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_DECIMAL_SUFFIX = {exp: suffix for suffix, exp in _DECIMAL_EXP10.items()}
_BINARY_SUFFIX = {exp // 10: suffix for suffix, exp in _BINARY_EXP2.items()}
_BINARY_SUFFIX[0] = ""

# [0-9], not \d: \d also matches non-ASCII digits, which Go's scanner does not.
_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?"
    r"(?P<suffix>[eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE]?)"
)

# Exact arithmetic: every operation used here (multiply by 2^k, quantize, compare) yields a
# finite number of digits, so an unlimited precision never rounds and never allocates more
# than the result needs. Never mutated.
_EXACT = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[InvalidOperation, Overflow, DivisionByZero],
)
_NANO = Decimal("1e-9")
_ONE = Decimal(1)
_ZERO = Decimal(0)
_BINARY_CAP = Decimal(INT64_MAX)


class ParsedQuantity(NamedTuple):
    """A parsed quantity: its exact `value` and the `format` apimachinery would remember."""

    value: Decimal
    format: Format


def _invalid(
    text: object, obj: str | None, field: str, message: str = "invalid quantity"
) -> InvalidInput:
    return InvalidInput(
        message, obj=obj, field=field, value=shown(text), expected=QUANTITY_EXPECTED
    )


def _as_text(text: object, obj: str | None, field: str) -> str:
    if isinstance(text, str):
        return text.strip()
    if isinstance(text, bool) or not isinstance(text, int | float):
        raise _invalid(text, obj, field)
    return repr(text)


class _Scan(NamedTuple):
    """A syntactically valid quantity: ±digits × 10^(exp10 − frac_len) × 2^exp2."""

    negative: bool
    digits: str  # integer and fraction digits concatenated, never empty
    frac_len: int
    exp10: int
    exp2: int
    format: Format


def _scan(text: object, obj: str | None, field: str) -> _Scan:
    match = _QUANTITY.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        match = _QUANTITY.fullmatch(_as_text(text, obj, field))
    if match is None:
        raise _invalid(text, obj, field)
    sign, int_part, frac_part, suffix = match.groups("")
    if not int_part and not frac_part:
        raise _invalid(text, obj, field)
    exp10 = _DECIMAL_EXP10.get(suffix)
    exp2 = 0
    fmt: Format = "DecimalSI"
    if exp10 is None:
        exp10 = 0
        if suffix in _BINARY_EXP2:
            exp2 = _BINARY_EXP2[suffix]
            fmt = "BinarySI"
        else:
            exp_text = suffix[1:]
            # Bound the digit count before int(): Python refuses to convert huge strings.
            if len(exp_text.lstrip("+-").lstrip("0")) > 10:
                raise _invalid(text, obj, field, "quantity exponent out of range")
            exp10 = int(exp_text)
            if not -INT32_MAX - 1 <= exp10 <= INT32_MAX:
                raise _invalid(text, obj, field, "quantity exponent out of range")
            fmt = "DecimalExponent"
    return _Scan(sign == "-", int_part + frac_part, len(frac_part), exp10, exp2, fmt)


def parse_quantity_with_format(
    text: str | int | float, *, obj: str | None = None, field: str = "quantity"
) -> ParsedQuantity:
    """Exact value and format of `text`; raises InvalidInput naming `obj`, `field` and `text`.

    Format is DecimalSI for no suffix or a decimal suffix, BinarySI for Ki..Ei (except that a
    binary value strictly between -1 and 1 becomes DecimalSI, as in apimachinery) and
    DecimalExponent for an `e`/`E` exponent.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return ParsedQuantity(Decimal(text), "DecimalSI")
    scan = _scan(text, obj, field)
    # A Decimal built from a string is exact whatever the context precision.
    sign = "-" if scan.negative else ""
    value = Decimal(f"{sign}{scan.digits}E{scan.exp10 - scan.frac_len}")
    fmt = scan.format
    if value.is_zero():
        return ParsedQuantity(_ZERO, fmt)
    if scan.exp2:
        value = _EXACT.multiply(value, Decimal(1 << scan.exp2))
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -9:
        value = value.quantize(_NANO, rounding=ROUND_UP, context=_EXACT)
    if fmt == "BinarySI":
        magnitude = value.copy_abs()
        if magnitude > _BINARY_CAP:
            value = _BINARY_CAP.copy_sign(value)
        elif magnitude < _ONE:
            fmt = "DecimalSI"
    return ParsedQuantity(value, fmt)


def _negative(text: object, obj: str | None, field: str) -> InvalidInput:
    return InvalidInput(
        "negative quantity", obj=obj, field=field, value=shown(text), expected="a quantity >= 0"
    )


def _too_large(text: object, obj: str | None, field: str) -> InvalidInput:
    return InvalidInput(
        "quantity too large",
        obj=obj,
        field=field,
        value=shown(text),
        expected=f"a value that fits a 64-bit integer (at most {INT64_MAX})",
    )


def _fractional(text: object, obj: str | None, field: str) -> InvalidInput:
    return InvalidInput(
        "fractional quantity", obj=obj, field=field, value=shown(text), expected="a whole number"
    )


def parse_quantity(
    text: str | int | float,
    *,
    obj: str | None = None,
    field: str = "quantity",
    nonnegative: bool = False,
) -> Decimal:
    """Exact value of the quantity `text` (see the module docstring for the rules).

    Raises InvalidInput naming `obj`, `field` and `text` when `text` is malformed, or when it
    is negative and `nonnegative` is set (requests, limits and capacities must be >= 0).
    """
    value = parse_quantity_with_format(text, obj=obj, field=field).value
    if nonnegative and value < 0:
        raise _negative(text, obj, field)
    return value


# Suffixes of the common "<digits><suffix>" shape handled without the regex: (exp10, exp2).
_FAST_SUFFIXES = {
    **{suffix: (exp10, 0) for suffix, exp10 in _DECIMAL_EXP10.items() if suffix},
    **{suffix: (0, exp2) for suffix, exp2 in _BINARY_EXP2.items()},
}


def _fast_parts(text: str) -> tuple[int, int, int] | None:
    """(magnitude, exp10, exp2) for `<ascii digits>[suffix]` up to 18 digits, else None."""
    if len(text) <= 19 and text.isdigit() and text.isascii():
        return int(text), 0, 0
    for cut in (-2, -1):
        parts = _FAST_SUFFIXES.get(text[cut:])
        head = text[:cut]
        if parts is not None and 0 < len(head) <= 18 and head.isdigit() and head.isascii():
            return int(head), parts[0], parts[1]
    return None


def _scaled_int(
    text: str | int | float,
    scale10: int,
    obj: str | None,
    field: str,
    nonnegative: bool,
    whole: bool = False,
) -> int:
    """ceil(|value| × 10^scale10) with the sign of value, checked to fit int64.

    ceil(ceil_nano(v) × 10^s) == ceil(v × 10^s) for s >= 0, so apimachinery's rounding to
    nano at parse time needs no separate step; the binary cap does.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if nonnegative and text < 0:
            raise _negative(text, obj, field)
        result: int = text * 10**scale10
        if not INT64_MIN <= result <= INT64_MAX:
            raise _too_large(text, obj, field)
        return result
    fast = _fast_parts(text) if isinstance(text, str) else None
    if fast is not None:
        negative = False
        magnitude, e, exp2 = fast
    else:
        scan = _scan(text, obj, field)
        e = scan.exp10 - scan.frac_len
        if len(scan.digits) > 40 or not -40 <= e <= 40:
            # Rare shapes (huge exponents, long mantissas): exact decimal arithmetic.
            value = parse_quantity(text, obj=obj, field=field, nonnegative=nonnegative)
            if whole and value != value.to_integral_value(context=_EXACT):
                raise _fractional(text, obj, field)
            scaled = value.scaleb(scale10, context=_EXACT)
            if not INT64_MIN <= scaled <= INT64_MAX:
                raise _too_large(text, obj, field)
            return int(scaled.to_integral_value(rounding=ROUND_UP, context=_EXACT))
        negative, magnitude, exp2 = scan.negative, int(scan.digits), scan.exp2
    if exp2:
        magnitude <<= exp2
        if magnitude > INT64_MAX * 10 ** max(-e, 0):
            magnitude, e = INT64_MAX, 0  # apimachinery caps binary quantities at 2^63-1
    if negative and magnitude and nonnegative:
        raise _negative(text, obj, field)
    if whole and e < 0 and magnitude % 10**-e:
        raise _fractional(text, obj, field)
    e += scale10
    magnitude = magnitude * 10**e if e >= 0 else -(-magnitude // 10**-e)
    scaled_result: int = -magnitude if negative else magnitude
    if not INT64_MIN <= scaled_result <= INT64_MAX:
        raise _too_large(text, obj, field)
    return scaled_result


def cpu_milli(
    text: str | int | float,
    *,
    obj: str | None = None,
    field: str = "cpu",
    nonnegative: bool = True,
) -> int:
    """Millicores in `text` = ceil(value × 1000), away from zero (apimachinery `MilliValue`)."""
    return _scaled_int(text, 3, obj, field, nonnegative)


def to_bytes(
    text: str | int | float,
    *,
    obj: str | None = None,
    field: str = "memory",
    nonnegative: bool = True,
) -> int:
    """Bytes in `text` = ceil(value), away from zero (apimachinery `Value`)."""
    return _scaled_int(text, 0, obj, field, nonnegative)


def to_int(
    text: str | int | float,
    *,
    obj: str | None = None,
    field: str = "quantity",
    nonnegative: bool = True,
    whole: bool = False,
) -> int:
    """Integer value of `text`, rounded away from zero (apimachinery `Value`).

    With `whole=True` a fractional value is an error instead (extended resources such as
    `colo.io/batch-cpu` must be whole numbers in Kubernetes).
    """
    return _scaled_int(text, 0, obj, field, nonnegative, whole)


def _decimal_parts(value: Decimal) -> tuple[bool, str, int]:
    """(negative, mantissa digits, exponent) with value = ±mantissa × 10^exponent.

    The exponent is a multiple of 3 and the mantissa carries no trailing zeros other than
    the (at most two) moved in to lower the exponent to that multiple. Works on the digit
    tuple, so huge exponents are never expanded and long mantissas never go through int().
    """
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # pragma: no cover - callers pass finite values
        raise ValueError(f"cannot format non-finite quantity {value!r}")
    # The coefficient of a non-zero Decimal has no leading zeros; move trailing ones out.
    stripped = "".join(map(str, digits)).rstrip("0")
    exponent += len(digits) - len(stripped)
    shift = exponent % 3  # Python's % is non-negative: lowers the exponent toward -inf.
    return bool(sign), stripped + "0" * shift, exponent - shift


def _format_decimal(value: Decimal, fmt: Format) -> str:
    negative, mantissa, exponent = _decimal_parts(value)
    number = f"-{mantissa}" if negative else mantissa
    if fmt == "DecimalSI" and exponent in _DECIMAL_SUFFIX:
        return number + _DECIMAL_SUFFIX[exponent]
    # DecimalExponent, or a DecimalSI exponent without a suffix (apimachinery falls back).
    return number if exponent == 0 else f"{number}e{exponent}"


def format_quantity(value: Decimal | int, fmt: Format) -> str:
    """Canonical string of `value` in `fmt`, as apimachinery's `Quantity.String()` prints it.

    - Zero is `0`.
    - DecimalSI: mantissa × 10^e with e a multiple of 3 and no fractional digits, suffix for e
      (`n` .. `E`); an exponent outside that table is printed as `e<exp>` like k8s does.
    - DecimalExponent: the same mantissa, suffix `e<exp>` (none for e = 0): 2000 → `2e3`.
    - BinarySI: |value| < 1024 or a fractional value is printed as DecimalSI; otherwise the
      largest power of 1024 that divides it exactly picks the suffix: 1536Mi, 2Gi, 1500.
    """
    if isinstance(value, int):
        value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"cannot format non-finite quantity {value!r}")
    if value.is_zero():
        return "0"
    if fmt == "BinarySI":
        magnitude = value.copy_abs()
        if magnitude < 1024 or value != value.to_integral_value(context=_EXACT):
            return _format_decimal(value, "DecimalSI")
        if magnitude >= 2**80:  # beyond Ei; k8s caps binary input at 2^63-1 anyway
            return _format_decimal(value, "DecimalSI")
        amount = int(magnitude)
        power = 0
        while power < 6 and amount >= 1024 and amount % 1024 == 0:
            amount //= 1024
            power += 1
        sign = "-" if value < 0 else ""
        return f"{sign}{amount}{_BINARY_SUFFIX[power]}"
    if fmt not in ("DecimalSI", "DecimalExponent"):
        raise ValueError(f"unknown quantity format {fmt!r}")
    return _format_decimal(value, fmt)


def canonical_quantity(
    text: str | int | float, *, obj: str | None = None, field: str = "quantity"
) -> str:
    """The canonical form the API server would store for `text`: `1.5` → `1500m`."""
    value, fmt = parse_quantity_with_format(text, obj=obj, field=field)
    return format_quantity(value, fmt)


def format_cpu_milli(milli: int) -> str:
    """Canonical CPU quantity for `milli` millicores: 100 → `100m`, 2000 → `2`, 1500 → `1500m`."""
    return format_quantity(Decimal(milli).scaleb(-3, context=_EXACT), "DecimalSI")


def format_bytes(n: int) -> str:
    """Canonical BinarySI quantity for `n` bytes: 2 × 1024^3 → `2Gi`, 1000 → `1k`, 1500 → `1500`."""
    return format_quantity(Decimal(n), "BinarySI")


def format_decimal(n: int) -> str:
    """Canonical DecimalSI quantity for the integer `n`: 110 → `110`, 2000 → `2k`."""
    return format_quantity(Decimal(n), "DecimalSI")
