"""Shared loader behaviour: file opening, header detection, row counting, series, resample."""

from __future__ import annotations

import gzip
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colo.core.errors import InvalidInput
from colo.traces.common import (
    Layout,
    LoadReport,
    Method,
    UsageSeries,
    build_series,
    iter_rows,
    resample,
)

WriteFile = Callable[..., Path]

LAYOUT = Layout(what="test table", columns=("id", "t", "x", "extra"), used=("id", "t", "x"))


def _read(path: Path, layout: Layout = LAYOUT) -> tuple[list[tuple[str, ...]], LoadReport]:
    report = LoadReport(path=str(path))
    return list(iter_rows(path, layout, report)), report


@pytest.mark.parametrize(
    ("lines", "rows", "header", "reasons"),
    [
        pytest.param(
            ["a,1,2,z", "b,3,4,z"], [("a", "1", "2"), ("b", "3", "4")], False, {}, id="no-header"
        ),
        pytest.param(["id,t,x,extra", "a,1,2,z"], [("a", "1", "2")], True, {}, id="header"),
        pytest.param(
            ["ID, T ,X,Extra", "a,1,2,z"], [("a", "1", "2")], True, {}, id="header-case-spaces"
        ),
        pytest.param(
            ["x,extra,t,id,more", "2,z,1,a,q"], [("a", "1", "2")], True, {}, id="header-reordered"
        ),
        pytest.param(
            ["\ufeffid,t,x,extra", "a,1,2,z"], [("a", "1", "2")], True, {}, id="header-bom"
        ),
        pytest.param(
            ["a,1,2,z", "b,3,4", "c,5,6,z,extra", "d,7,8,z"],
            [("a", "1", "2"), ("d", "7", "8")],
            False,
            {"wrong column count": 2},
            id="wrong-column-count",
        ),
        pytest.param(
            ["a,1,2,z", "", "b,3,4,z", ""],
            [("a", "1", "2"), ("b", "3", "4")],
            False,
            {"blank line": 2},
            id="blank-lines",
        ),
        pytest.param(["", "", "a,1,2,z"], [("a", "1", "2")], False, {}, id="leading-blank-lines"),
        pytest.param(
            ["a,1,2,z", "b, 3,4,z"],
            [("a", "1", "2"), ("b", " 3", "4")],
            False,
            {},
            id="space-after-comma-kept-for-checks",
        ),
        pytest.param(['"a,b",1,2,z'], [("a,b", "1", "2")], False, {}, id="quoted-comma"),
        pytest.param(
            ["a,1,101,z"], [("a", "1", "101")], False, {}, id="first-row-data-even-if-bad"
        ),
    ],
)
def test_iter_rows_detects_header_and_counts_bad_lines(
    write: WriteFile,
    lines: list[str],
    rows: list[tuple[str, ...]],
    header: bool,
    reasons: dict[str, int],
) -> None:
    got, report = _read(write(lines))
    assert got == rows
    assert report.has_header is header
    assert report.reasons == reasons
    assert report.rows_read == len(rows) + sum(reasons.values())
    assert report.rows_skipped == sum(reasons.values())


def test_stray_quote_damages_only_its_own_line(write: WriteFile) -> None:
    # b: unterminated quote (2 cells); d: a quoted comma leaves 3 cells; e: a huge field;
    # f: a huge quoted field, more than the csv module accepts.
    huge = "9" * 200_000
    lines = ["a,1,2,z", 'b,"3,4,z', "c,5,6,z", 'd,"7,8",z', f"e,{huge},1,z", f'f,"{huge}",1,z']
    got, report = _read(write(lines))
    assert [row[0] for row in got] == ["a", "c", "e"]
    assert report.rows_read == 6
    assert report.reasons == {"wrong column count": 2, "malformed csv line": 1}


def test_crlf_line_endings(write: WriteFile) -> None:
    got, report = _read(write(["id,t,x,extra", "a,1,2,z", "b,3,4,z"], newline="\r\n"))
    assert got == [("a", "1", "2"), ("b", "3", "4")]
    assert report.rows_read == 2


def test_compression_is_told_by_content_not_name(tmp_path: Path) -> None:
    plain_named_gz = tmp_path / "plain.csv.gz"
    plain_named_gz.write_text("a,1,2,z\n")
    gz_named_csv = tmp_path / "packed.csv"
    gz_named_csv.write_bytes(gzip.compress(b"b,3,4,z\n"))
    assert _read(plain_named_gz)[0] == [("a", "1", "2")]
    assert _read(gz_named_csv)[0] == [("b", "3", "4")]


def test_unrecognised_header_raises_naming_file_and_columns(write: WriteFile) -> None:
    path = write(["name,cpu_milli,memory", "a,1,2"])
    with pytest.raises(InvalidInput) as info:
        _read(path)
    text = str(info.value)
    assert str(path) in text
    assert "unrecognised header" in text
    assert "id, t, x, extra" in text


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        pytest.param(lambda p: None, "not found", id="missing"),
        pytest.param(lambda p: p.mkdir(), "directory", id="directory"),
        pytest.param(
            lambda p: p.write_bytes(gzip.compress(b"a,1,2,z\n" * 500)[:-30]),
            "gzip",
            id="truncated-gzip",
        ),
        pytest.param(lambda p: p.write_bytes(b"\x1f\x8bnot really gzip"), "gzip", id="bad-gzip"),
    ],
)
def test_unreadable_files_raise_invalid_input(tmp_path: Path, setup: object, message: str) -> None:
    path = tmp_path / "machine_usage.csv.gz"
    assert callable(setup)
    setup(path)
    with pytest.raises(InvalidInput, match=message) as info:
        _read(path)
    assert "machine_usage.csv.gz" in str(info.value)


def test_undecodable_bytes_do_not_crash(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,1,2,z\n\xff\xfe,3,4,z\n")
    rows, report = _read(path)
    assert rows[0] == ("a", "1", "2")
    assert len(rows) == 2 and report.rows_read == 2


def test_load_report_counts_and_summary() -> None:
    report = LoadReport(path="f.csv", rows_read=10)
    report.skip("cpu out of range")
    report.skip("cpu out of range", 2)
    report.skip("nothing", 0)
    report.note("machines dropped")
    assert report.rows_skipped == 3
    assert report.reasons == {"cpu out of range": 3}
    assert report.notes == {"machines dropped": 1}
    assert report.rows_used == 7
    assert report.summary() == "10 rows read, 3 skipped (cpu out of range: 3)"


def test_build_series_sorts_and_averages_duplicates() -> None:
    report = LoadReport(path="x")
    s = build_series(
        "m",
        [20.0, 0.0, 10.0, 10.0, 10.0],
        [0.2, 0.0, 0.1, 0.3, 0.5],
        report,
        mem=[0.6, 0.4, 0.5, 0.5, 0.8],
        cpu_max=[0.3, 0.1, 0.2, 0.9, 0.6],
    )
    np.testing.assert_array_equal(s.t_s, [0.0, 10.0, 20.0])
    np.testing.assert_allclose(s.cpu, [0.0, 0.3, 0.2])
    assert s.mem is not None and s.cpu_max is not None
    np.testing.assert_allclose(s.mem, [0.4, 0.6, 0.6])
    np.testing.assert_allclose(s.cpu_max, [0.1, 0.9, 0.3])
    assert report.reasons == {"duplicate timestamp": 2}
    assert report.notes == {"series with unsorted rows (sorted)": 1}


def _series(t: list[float], cpu: list[float]) -> UsageSeries:
    return UsageSeries("s", np.array(t, dtype=np.float64), np.array(cpu, dtype=np.float64))


TRIANGLE = ([0.0, 10.0, 20.0], [0.0, 1.0, 0.0])
GAP = ([0.0, 100.0], [0.0, 1.0])


@pytest.mark.parametrize(
    ("series", "step", "duration", "start", "method", "expected"),
    [
        pytest.param(TRIANGLE, 5.0, 20.0, None, "linear", [0.0, 0.5, 1.0, 0.5], id="linear"),
        pytest.param(TRIANGLE, 5.0, 20.0, None, "hold", [0.0, 0.0, 1.0, 1.0], id="hold"),
        pytest.param(
            TRIANGLE, 10.0, 40.0, -10.0, "linear", [0.0, 0.0, 1.0, 0.0], id="before-first"
        ),
        pytest.param(TRIANGLE, 10.0, 30.0, 15.0, "linear", [0.5, 0.0, 0.0], id="after-last"),
        pytest.param(TRIANGLE, 10.0, 30.0, 15.0, "hold", [1.0, 0.0, 0.0], id="hold-after-last"),
        pytest.param(TRIANGLE, 10.0, 25.0, None, "linear", [0.0, 1.0, 0.0], id="partial-step"),
        pytest.param(GAP, 25.0, 100.0, None, "linear", [0.0, 0.25, 0.5, 0.75], id="gap-linear"),
        pytest.param(GAP, 25.0, 100.0, None, "hold", [0.0, 0.0, 0.0, 0.0], id="gap-hold"),
        pytest.param(TRIANGLE, 10.0, 20.0, None, "mean", [0.5, 0.5], id="mean"),
        pytest.param(TRIANGLE, 20.0, 40.0, -10.0, "mean", [0.25, 0.25], id="mean-outside"),
        pytest.param(GAP, 50.0, 200.0, None, "mean", [0.25, 0.75, 1.0, 1.0], id="mean-gap"),
        pytest.param(([5.0], [0.7]), 1.0, 3.0, 0.0, "mean", [0.7, 0.7, 0.7], id="single-sample"),
    ],
)
def test_resample(
    series: tuple[list[float], list[float]],
    step: float,
    duration: float,
    start: float | None,
    method: Method,
    expected: list[float],
) -> None:
    got = resample(_series(*series), step, duration, start_s=start, method=method)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_resample_other_values_and_errors() -> None:
    s = UsageSeries(
        "s",
        np.array([0.0, 10.0]),
        np.array([0.1, 0.2]),
        mem=np.array([0.5, 0.7]),
    )
    np.testing.assert_allclose(resample(s, 5.0, 10.0, value="mem"), [0.5, 0.6])
    with pytest.raises(InvalidInput, match="cpu_max"):
        resample(s, 5.0, 10.0, value="cpu_max")
    for step, duration in [(0.0, 10.0), (-1.0, 10.0), (math.nan, 10.0), (1.0, 0.0)]:
        with pytest.raises(InvalidInput):
            resample(s, step, duration)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30),
    gaps=st.lists(st.floats(0.5, 100.0), min_size=29, max_size=29),
    step=st.floats(0.5, 60.0),
    start=st.floats(-100.0, 500.0),
)
def test_resample_stays_within_sample_range(
    values: list[float], gaps: list[float], step: float, start: float
) -> None:
    t = np.concatenate(([0.0], np.cumsum(gaps[: len(values) - 1])))
    s = _series(list(t), values)
    lo, hi = min(values) - 1e-9, max(values) + 1e-9
    methods: tuple[Method, ...] = ("linear", "hold", "mean")
    for method in methods:
        got = resample(s, step, 10 * step, start_s=start, method=method)
        assert len(got) == 10
        assert np.all((got >= lo) & (got <= hi)), method
