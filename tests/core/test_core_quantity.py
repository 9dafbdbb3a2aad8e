"""Kubernetes quantities: parsing, integer accessors, canonical printing."""

from __future__ import annotations

from decimal import ROUND_UP, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from colo.core.errors import InvalidInput
from colo.core.quantity import (
    INT64_MAX,
    canonical_quantity,
    cpu_milli,
    format_bytes,
    format_cpu_milli,
    format_decimal,
    format_quantity,
    parse_quantity,
    parse_quantity_with_format,
    to_bytes,
    to_int,
)

D = Decimal
GI = 1024**3

VALID = [
    ("100m", D("0.1"), "DecimalSI"),
    ("1.5", D("1.5"), "DecimalSI"),
    ("2Gi", D(2 * GI), "BinarySI"),
    ("500M", D(500_000_000), "DecimalSI"),
    ("1e3", D(1000), "DecimalExponent"),
    ("1E-3", D("0.001"), "DecimalExponent"),
    ("1e+3", D(1000), "DecimalExponent"),
    ("0.1", D("0.1"), "DecimalSI"),
    (".5", D("0.5"), "DecimalSI"),
    ("5.", D(5), "DecimalSI"),
    ("+1", D(1), "DecimalSI"),
    ("-1", D(-1), "DecimalSI"),
    ("12Ki", D(12 * 1024), "BinarySI"),
    ("0", D(0), "DecimalSI"),
    ("-0.0", D(0), "DecimalSI"),
    ("007", D(7), "DecimalSI"),
    ("1n", D("1e-9"), "DecimalSI"),
    ("1u", D("1e-6"), "DecimalSI"),
    ("1k", D(1000), "DecimalSI"),
    ("1T", D(10**12), "DecimalSI"),
    ("1P", D(10**15), "DecimalSI"),
    ("1E", D(10**18), "DecimalSI"),
    ("1Ti", D(2**40), "BinarySI"),
    ("1Pi", D(2**50), "BinarySI"),
    ("1Ei", D(2**60), "BinarySI"),
    ("1.5Gi", D(1610612736), "BinarySI"),
    ("0.0001Ki", D("0.1024"), "DecimalSI"),
    ("9223372036854775807", D(INT64_MAX), "DecimalSI"),
    ("18446744073709551616", D(2**64), "DecimalSI"),
    ("8Ei", D(INT64_MAX), "BinarySI"),
    ("-8Ei", D(-INT64_MAX), "BinarySI"),
    ("0.1n", D("1e-9"), "DecimalSI"),
    ("-0.1n", D("-1e-9"), "DecimalSI"),
    ("1e-12", D("1e-9"), "DecimalExponent"),
    (" 1Gi ", D(GI), "BinarySI"),
    ("1Gi\n", D(GI), "BinarySI"),
    (5, D(5), "DecimalSI"),
    (0.25, D("0.25"), "DecimalSI"),
]

VALID_IDS = [
    "100m is a tenth",
    "1.5 is one and a half",
    "2Gi is two binary gigabytes",
    "500M is five hundred million",
    "1e3 is a decimal exponent",
    "1E-3 is a negative upper-case exponent",
    "1e+3 allows a signed exponent",
    "0.1 is a tenth",
    ".5 needs no integer part",
    "5. needs no fraction digits",
    "+1 allows a plus sign",
    "-1 allows a minus sign",
    "12Ki is twelve kibibytes",
    "0 is zero",
    "-0.0 is plain zero",
    "leading zeros are ignored",
    "n is nano",
    "u is micro",
    "k is kilo",
    "T is tera",
    "P is peta",
    "a bare E is exa not an exponent",
    "Ti is tebi",
    "Pi is pebi",
    "Ei is exbi",
    "1.5Gi is exact",
    "a binary value below one becomes DecimalSI",
    "int64 max is exact",
    "decimal values are not capped",
    "binary values are capped at 2^63-1",
    "negative binary values are capped in magnitude",
    "sub-nano values round up to one nano",
    "negative sub-nano values round away from zero",
    "exponent values round up to nano",
    "surrounding spaces are trimmed like the JSON decoder",
    "a trailing newline is trimmed",
    "an int is taken as is",
    "a float goes through its repr",
]


@pytest.mark.parametrize(("text", "value", "fmt"), VALID, ids=VALID_IDS)
def test_valid_quantities_parse_to_exact_values(text: str | int, value: Decimal, fmt: str) -> None:
    parsed = parse_quantity_with_format(text)
    assert parsed.value == value
    assert parsed.format == fmt
    assert parse_quantity(text) == value


INVALID = {
    "two decimal points": "1.5.2",
    "a trailing sign": "1-",
    "a suffix without a number": "Mi",
    "a space inside": "1 Gi",
    "the empty string": "",
    "only spaces": "   ",
    "a lower-case binary suffix": "1mi",
    "a lower-case binary k": "1ki",
    "an upper-case decimal K": "1K",
    "a unit that is not a suffix": "1KB",
    "a double sign": "--1",
    "an exponent without digits": "1e",
    "a fractional exponent": "1e1.5",
    "a lone point": ".",
    "a lone minus": "-",
    "a lone plus": "+",
    "text after the suffix": "1Gi1",
    "a hex number": "0x10",
    "digit separators": "1_000",
    "non-ASCII digits": "١",
    "an absurd exponent": "1e99999999999",
    "an exponent beyond int32": "1e2147483648",
    "infinity": "inf",
    "not a number": "nan",
    "a bare i": "1i",
}


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID.keys())
def test_invalid_quantities_name_the_object_field_and_value(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_quantity(text, obj="pod default/web", field="spec.containers[0].resources.limits.cpu")
    message = str(info.value)
    assert message.startswith("pod default/web: field spec.containers[0].resources.limits.cpu: ")
    assert repr(text) in message
    assert "expected a number with an optional suffix" in message
    assert info.value.field == "spec.containers[0].resources.limits.cpu"
    assert info.value.value == text


def test_the_error_message_reads_as_a_sentence() -> None:
    with pytest.raises(InvalidInput) as info:
        cpu_milli("1.5.2", obj="pod default/web", field="spec.containers[0].resources.requests.cpu")
    assert str(info.value) == (
        "pod default/web: field spec.containers[0].resources.requests.cpu: invalid quantity: "
        "expected a number with an optional suffix like 100m, 1.5, 2Gi, 500M or 1e3 "
        "(got '1.5.2')"
    )


@pytest.mark.parametrize(
    "value",
    [None, True, False, [1], {"a": 1}, b"1", float("inf"), float("nan")],
    ids=["None", "True", "False", "a list", "a dict", "bytes", "infinity", "NaN"],
)
def test_values_that_are_not_strings_or_numbers_are_invalid(value: object) -> None:
    with pytest.raises(InvalidInput):
        parse_quantity(value, field="x")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        cpu_milli(value, field="x")  # type: ignore[arg-type]


def test_a_long_bad_value_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_quantity("x" * 10_000)
    assert len(str(info.value)) < 300


@pytest.mark.parametrize(
    "accessor", [cpu_milli, to_bytes, to_int], ids=["cpu_milli", "to_bytes", "to_int"]
)
def test_negative_values_are_rejected_where_fields_must_be_nonnegative(accessor: object) -> None:
    with pytest.raises(InvalidInput, match="negative quantity: expected a quantity >= 0"):
        accessor("-1", field="requests.cpu")  # type: ignore[operator]
    with pytest.raises(InvalidInput, match="negative quantity"):
        parse_quantity("-1", nonnegative=True)
    assert accessor("-0", field="requests.cpu") == 0  # type: ignore[operator]


CPU_MILLI = {
    "100m is 100 millicores": ("100m", 100),
    "1 is 1000 millicores": ("1", 1000),
    "0.5 is 500 millicores": ("0.5", 500),
    "2.5 is 2500 millicores": ("2.5", 2500),
    "1e-3 is one millicore": ("1e-3", 1),
    "1n rounds up to one millicore": ("1n", 1),
    "1.0001m rounds up": ("1.0001m", 2),
    "1k is a million millicores": ("1k", 1_000_000),
    "an int counts cores": (4, 4000),
    "a float counts cores": (0.25, 250),
    "zero is zero": ("0", 0),
    "a binary suffix works for cpu too": ("1Ki", 1_024_000),
}


@pytest.mark.parametrize(("text", "milli"), CPU_MILLI.values(), ids=CPU_MILLI.keys())
def test_cpu_milli_rounds_up_like_milli_value(text: str | int, milli: int) -> None:
    assert cpu_milli(text) == milli


BYTES = {
    "1Gi is 2^30 bytes": ("1Gi", GI),
    "1.5Gi is exact": ("1.5Gi", 1610612736),
    "0.5 rounds up to one byte": ("0.5", 1),
    "1k is a thousand": ("1k", 1000),
    "129M is decimal": ("129M", 129_000_000),
    "1e3 is a thousand": ("1e3", 1000),
    "8Ei is capped at int64 max": ("8Ei", INT64_MAX),
    "100m rounds up to one": ("100m", 1),
    "a long fraction is exact": ("1.000000000000000000000000000000000000000000001", 2),
}


@pytest.mark.parametrize(("text", "n"), BYTES.values(), ids=BYTES.keys())
def test_to_bytes_rounds_up_like_value(text: str, n: int) -> None:
    assert to_bytes(text) == n


def test_negative_values_round_away_from_zero_when_allowed() -> None:
    assert cpu_milli("-1n", nonnegative=False) == -1
    assert to_bytes("-1.5", nonnegative=False) == -2
    assert to_int("-2", nonnegative=False) == -2


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (cpu_milli, "9223372036854775807"),
        (to_bytes, "1e19"),
        (to_bytes, "1e2000000000"),
        (to_bytes, "18446744073709551616"),
        (cpu_milli, "-1e30"),
    ],
    ids=[
        "millicores of int64 max overflow",
        "1e19 bytes overflow",
        "a huge exponent overflows without expanding it",
        "2^64 overflows",
        "a huge negative value overflows",
    ],
)
def test_values_that_do_not_fit_int64_are_errors_not_wraparounds(call: object, text: str) -> None:
    with pytest.raises(InvalidInput, match="quantity too large"):
        call(text, nonnegative=False)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "ok"),
    [("2", True), ("2000m", True), ("1k", True), ("1.5", False), ("1500m", False), ("1n", False)],
    ids=["2", "2000m is 2", "1k is 1000", "1.5", "1500m is 1.5", "1n"],
)
def test_whole_numbers_are_enforced_when_asked(text: str, ok: bool) -> None:
    if ok:
        assert to_int(text, whole=True) == to_int(text)
    else:
        with pytest.raises(InvalidInput, match="fractional quantity: expected a whole number"):
            to_int(text, whole=True, field="limits.example.com/gpu")


FORMATS = {
    "a tenth of a cpu is 100m": (D("0.1"), "DecimalSI", "100m"),
    "1.5 is 1500m": (D("1.5"), "DecimalSI", "1500m"),
    "1500 stays 1500": (D(1500), "DecimalSI", "1500"),
    "2000 is 2k": (D(2000), "DecimalSI", "2k"),
    "1.5e9 is 1500M": (D("1.5e9"), "DecimalSI", "1500M"),
    "one nano is 1n": (D("1e-9"), "DecimalSI", "1n"),
    "a pico has no suffix and falls back to an exponent": (D("1e-12"), "DecimalSI", "1e-12"),
    "10^21 has no suffix and falls back to an exponent": (D(10**21), "DecimalSI", "1e21"),
    "zero is 0": (D(0), "BinarySI", "0"),
    "2Gi stays 2Gi": (D(2 * GI), "BinarySI", "2Gi"),
    "1.5Gi is 1536Mi": (D(1610612736), "BinarySI", "1536Mi"),
    "1000 bytes print as 1k": (D(1000), "BinarySI", "1k"),
    "1500 bytes print as 1500": (D(1500), "BinarySI", "1500"),
    "1023 bytes print in decimal": (D(1023), "BinarySI", "1023"),
    "1024 bytes are 1Ki": (D(1024), "BinarySI", "1Ki"),
    "negative binary values keep the sign": (D(-2 * GI), "BinarySI", "-2Gi"),
    "a fractional binary value prints in decimal": (D("1536.5"), "BinarySI", "1536500m"),
    "int64 max has no binary factor": (D(INT64_MAX), "BinarySI", "9223372036854775807"),
    "2000 in exponent form is 2e3": (D(2000), "DecimalExponent", "2e3"),
    "a thousandth in exponent form is 1e-3": (D("0.001"), "DecimalExponent", "1e-3"),
    "1500 in exponent form is 1500": (D(1500), "DecimalExponent", "1500"),
    "an int is accepted": (7, "DecimalSI", "7"),
}


@pytest.mark.parametrize(("value", "fmt", "text"), FORMATS.values(), ids=FORMATS.keys())
def test_format_quantity_prints_the_canonical_form(value: Decimal, fmt: str, text: str) -> None:
    assert format_quantity(value, fmt) == text  # type: ignore[arg-type]


def test_format_quantity_rejects_unknown_formats_and_non_finite_values() -> None:
    with pytest.raises(ValueError, match="unknown quantity format"):
        format_quantity(D(1), "Octal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-finite"):
        format_quantity(D("NaN"), "DecimalSI")


CANONICAL = {
    "1.5 becomes 1500m": ("1.5", "1500m"),
    "1.5Gi becomes 1536Mi": ("1.5Gi", "1536Mi"),
    "0.9Gi becomes millibytes": ("0.9Gi", "966367641600m"),
    "1024Mi becomes 1Gi": ("1024Mi", "1Gi"),
    "1000Mi stays": ("1000Mi", "1000Mi"),
    "0.5Gi becomes 512Mi": ("0.5Gi", "512Mi"),
    "1000e0 keeps the exponent format": ("1000e0", "1e3"),
    "a float noise digit rounds up to nano": ("0.30000000000000004", "300000001n"),
    "+1 loses its plus sign": ("+1", "1"),
    "8Ei is capped": ("8Ei", "9223372036854775807"),
}


@pytest.mark.parametrize(("text", "canonical"), CANONICAL.values(), ids=CANONICAL.keys())
def test_canonical_quantity_matches_what_the_api_server_stores(text: str, canonical: str) -> None:
    assert canonical_quantity(text) == canonical


@pytest.mark.parametrize(
    ("milli", "text"),
    [(100, "100m"), (2000, "2"), (1500, "1500m"), (0, "0"), (2_000_000, "2k"), (1, "1m")],
)
def test_format_cpu_milli(milli: int, text: str) -> None:
    assert format_cpu_milli(milli) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [(2 * GI, "2Gi"), (1000, "1k"), (1500, "1500"), (0, "0"), (3 * 1024**2, "3Mi"), (1, "1")],
)
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text


def test_format_decimal() -> None:
    assert [format_decimal(n) for n in (110, 2000, 0, 1_500_000)] == ["110", "2k", "0", "1500k"]


# -- properties ------------------------------------------------------------------------

nanos = st.integers(min_value=-(10**20), max_value=10**20).map(lambda n: D(n).scaleb(-9))
int64s = st.integers(min_value=-INT64_MAX, max_value=INT64_MAX)
digits = st.text("0123456789", min_size=1, max_size=25)
SI_SUFFIXES = ["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
suffixes = st.sampled_from([*SI_SUFFIXES, "e0", "e3", "e-3", "E+6", "e-12", "e18"])


@st.composite
def quantity_texts(draw: st.DrawFn) -> str:
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(digits)
    frac = draw(st.one_of(st.just(""), digits.map(lambda d: "." + d)))
    return sign + whole + frac + draw(suffixes)


@given(nanos)
def test_decimal_si_values_survive_format_then_parse(value: Decimal) -> None:
    assert parse_quantity(format_quantity(value, "DecimalSI")) == value


@given(nanos)
def test_decimal_exponent_values_survive_format_then_parse(value: Decimal) -> None:
    assert parse_quantity(format_quantity(value, "DecimalExponent")) == value


@given(int64s)
def test_binary_si_values_survive_format_then_parse(value: int) -> None:
    assert parse_quantity(format_quantity(D(value), "BinarySI")) == value


@given(st.integers(min_value=0, max_value=INT64_MAX // 1000))
def test_millicores_survive_format_then_parse(milli: int) -> None:
    assert cpu_milli(format_cpu_milli(milli)) == milli


@given(st.integers(min_value=0, max_value=INT64_MAX))
def test_bytes_survive_format_then_parse(n: int) -> None:
    assert to_bytes(format_bytes(n)) == n


@given(quantity_texts())
def test_canonical_form_is_a_fixed_point(text: str) -> None:
    canonical = canonical_quantity(text)
    assert canonical_quantity(canonical) == canonical
    assert parse_quantity(canonical) == parse_quantity(text)


@given(quantity_texts())
def test_integer_accessors_agree_with_exact_decimal_arithmetic(text: str) -> None:
    value = parse_quantity(text)

    def away_from_zero(x: Decimal) -> int:
        return int(x.to_integral_value(rounding=ROUND_UP))

    with localcontext(prec=200):  # the default 28 digits would round long mantissas
        expected_milli = away_from_zero(value * 1000)
    if abs(expected_milli) <= INT64_MAX:
        assert cpu_milli(text, nonnegative=False) == expected_milli
    else:
        with pytest.raises(InvalidInput):
            cpu_milli(text, nonnegative=False)
    expected = away_from_zero(value)
    if abs(expected) <= INT64_MAX:
        assert to_bytes(text, nonnegative=False) == expected
