"""Shared pieces of the trace loaders: reading, row checks, reports, series, resampling.

Loaders read CSV, gzip or plain (told apart by the magic bytes, not the name), check
only the columns they return, and skip bad rows into a `LoadReport`: `rows_read` counts
data lines (not a header), `reasons` counts skipped rows by the first check each failed
(`sum(reasons.values()) == rows_skipped`), `notes` counts facts that are not skipped rows.
A missing, unreadable or corrupt file, an unrecognised header, or no valid row at all
raises `InvalidInput` naming the file and the expected format.

Every physical line is one record (quoted cells are understood within a line), so a
stray quote damages its own line only. The first non-blank line is a header if it names
every used column (any case and spacing; columns are then found by name); if it holds
no number at all it is an unrecognised header; otherwise it is data in published order.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import math
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Literal, TextIO

import numpy as np
import numpy.typing as npt

from colo.core.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]
PathArg = str | os.PathLike[str]


@dataclass
class LoadReport:
    """What a loader read from one file and what it skipped, by reason."""

    path: str
    rows_read: int = 0
    rows_skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    has_header: bool = False

    def skip(self, reason: str, n: int = 1) -> None:
        """Count `n` rows as skipped for `reason`."""
        if n <= 0:
            return
        self.rows_skipped += n
        self.reasons[reason] = self.reasons.get(reason, 0) + n

    def note(self, what: str, n: int = 1) -> None:
        """Count `n` occurrences of something that is not a skipped row."""
        if n <= 0:
            return
        self.notes[what] = self.notes.get(what, 0) + n

    @property
    def rows_used(self) -> int:
        return self.rows_read - self.rows_skipped

    def summary(self) -> str:
        """`N rows read, M skipped (reason: count, …)`."""
        why = ", ".join(f"{k}: {v}" for k, v in sorted(self.reasons.items()))
        text = f"{self.rows_read} rows read, {self.rows_skipped} skipped"
        return f"{text} ({why})" if why else text


@dataclass(frozen=True)
class NodeShape:
    """A node's capacity as a trace describes it."""

    name: str
    cpu_milli: int
    memory_bytes: int


@dataclass
class UsageSeries:
    """One machine's or VM's usage over time.

    `t_s` is strictly increasing (seconds, trace time); `cpu` is the fraction 0..1 of the
    machine or VM in use (the mean over the sampling interval); `mem` likewise when the
    trace has memory; `cpu_max` is the maximum within the interval when the trace has it.
    """

    series_id: str
    t_s: FloatArray
    cpu: FloatArray
    mem: FloatArray | None = None
    cpu_max: FloatArray | None = None

    def __len__(self) -> int:
        return len(self.t_s)


@dataclass(frozen=True)
class Layout:
    """A CSV format: its columns in published order and the ones a loader reads (>= 2)."""

    what: str
    columns: tuple[str, ...]
    used: tuple[str, ...]
    headerless_widths: tuple[int, ...] = ()
    """Column counts accepted without a header (default: exactly `len(columns)`)."""
    sep: str = ","
    """Cell separator; other than "," cells are split plainly (no quoting)."""

    def __post_init__(self) -> None:
        assert len(self.used) >= 2, "itemgetter returns a tuple only for two or more"

    def expected(self) -> str:
        return f"a {self.what} CSV with columns {', '.join(self.columns)}"


# Loader skip reasons that are choices of what to replay, not malformed rows: tasks that
# did not run to completion, VMs of the other category.
FILTER_REASONS = ("status ", "vm not in category")


def bad_rows(report: LoadReport) -> int:
    """Rows a loader skipped because they were malformed."""
    filtered = sum(n for reason, n in report.reasons.items() if reason.startswith(FILTER_REASONS))
    return report.rows_skipped - filtered


def open_text(path: PathArg) -> TextIO:
    """Open a gzip or plain text file for `csv`; raises InvalidInput if it cannot be read."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as raw:
            magic = raw.read(2)
        if magic == b"\x1f\x8b":
            return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace", newline="")
        return open(path, encoding="utf-8-sig", errors="replace", newline="")
    except FileNotFoundError:
        raise InvalidInput("trace file not found", obj=name) from None
    except OSError as exc:
        raise InvalidInput(f"cannot read trace file: {exc.strerror or exc}", obj=name) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split(line: str, sep: str = ",") -> list[str] | None:
    """One physical line as CSV cells; None if the line is malformed CSV.

    Every line is one record: a stray quote damages its own line only, never the rest of
    the file (these traces have no multi-line fields).
    """
    text = line.rstrip("\r\n")
    if '"' not in text or sep != ",":
        return text.split(sep)
    try:
        rows = list(csv.reader([text], skipinitialspace=True))
    except csv.Error:
        return None
    return rows[0] if rows else [""]


def iter_rows(path: PathArg, layout: Layout, report: LoadReport) -> Iterator[tuple[str, ...]]:
    """Yield the used cells (in `layout.used` order) of every row with the right width.

    Cells are not stripped: `Checks` strips what it returns (and `float` ignores spaces).
    Counts every data line in `report.rows_read`; blank lines, malformed CSV lines and
    rows with the wrong number of columns are skipped and counted here.
    """
    name = os.fspath(path)
    read = 0
    try:
        with open_text(path) as handle:
            lines = iter(handle)
            start = _start(lines, layout, report, name)
            if start is None:
                return
            get, widths, first = start
            for line in itertools.chain(first, lines):
                read += 1
                row = _split(line, layout.sep)
                if row is None:
                    report.skip("malformed csv line")
                elif len(row) in widths:
                    yield get(row)
                elif not line.strip():
                    report.skip("blank line")
                else:
                    report.skip("wrong column count")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InvalidInput(f"corrupt or truncated gzip file ({exc})", obj=name) from None
    finally:
        report.rows_read += read


Getter = Callable[[list[str]], tuple[str, ...]]


def _start(
    lines: Iterator[str], layout: Layout, report: LoadReport, name: str
) -> tuple[Getter, tuple[int, ...], list[str]] | None:
    """Read up to the first non-blank line and decide whether it is a header.

    Returns a getter of the used cells, the accepted row widths, and the first line if it
    is data (else nothing); None for a file without any non-blank line.
    """
    for line in lines:
        if not line.strip():
            continue
        row = _split(line, layout.sep)
        if row is None:
            report.rows_read += 1
            report.skip("malformed csv line")
            continue
        names = [cell.strip().lstrip("\ufeff").strip().lower() for cell in row]
        if all(u in names for u in layout.used):
            report.has_header = True
            return itemgetter(*(names.index(u) for u in layout.used)), (len(row),), []
        if not any(_is_number(cell) for cell in row):
            missing = [u for u in layout.used if u not in names]
            raise InvalidInput(
                f"unrecognised header (missing columns {', '.join(missing)})",
                obj=name,
                expected=layout.expected(),
                value=",".join(row)[:200],
            )
        widths = layout.headerless_widths or (len(layout.columns),)
        return itemgetter(*(layout.columns.index(u) for u in layout.used)), widths, [line]
    return None


def require_rows(report: LoadReport, layout: Layout, kept: int) -> None:
    """Raise InvalidInput when a file gave nothing usable: it is not the expected format."""
    if kept == 0:
        problem = f"no valid rows: {report.summary()}" if report.rows_read else "no data rows"
        raise InvalidInput(problem, obj=report.path, expected=layout.expected())


class Checks:
    """Field parsers that count the reason of a failure; a failed check returns None."""

    def __init__(self, report: LoadReport) -> None:
        self.report = report

    def text(self, cell: str, name: str) -> str | None:
        """The cell without surrounding spaces; None (skipped: "missing <name>") if empty."""
        text = cell.strip()
        if text:
            return text
        self.report.skip(f"missing {name}")
        return None

    def number(
        self,
        cell: str,
        name: str,
        *,
        lo: float = -math.inf,
        hi: float = math.inf,
        lo_open: bool = False,
    ) -> float | None:
        """A finite float in [lo, hi] (or (lo, hi] with `lo_open`)."""
        try:
            value = float(cell)
        except ValueError:
            self.report.skip(f"{name} not a number" if cell.strip() else f"missing {name}")
            return None
        if lo <= value <= hi and abs(value) != math.inf and (not lo_open or value != lo):
            return value
        if math.isnan(value) or math.isinf(value):
            self.report.skip(f"{name} not a number")
        else:
            self.report.skip(f"{name} out of range")
        return None

    def time(self, cell: str, name: str) -> float | None:
        """A finite time >= 0; a negative one is skipped as "negative time"."""
        value = self.number(cell, name)
        if value is not None and value < 0:
            self.report.skip("negative time")
            return None
        return value

    def integer(
        self, cell: str, name: str, *, lo: float = -math.inf, lo_open: bool = False
    ) -> int | None:
        """An integer (written as `7` or `7.0`) at or above `lo` (above with `lo_open`)."""
        value = self.number(cell, name, lo=lo, lo_open=lo_open)
        if value is None:
            return None
        if not value.is_integer():
            self.report.skip(f"{name} not an integer")
            return None
        return int(value)


def stack(rows: list[tuple[float, float, float]]) -> FloatArray:
    """Rows of three floats as an (n, 3) array (faster than `np.array` on tuples)."""
    flat = np.fromiter(itertools.chain.from_iterable(rows), np.float64, count=3 * len(rows))
    return flat.reshape(len(rows), 3)


def build_series(
    series_id: str,
    t_s: Sequence[float] | FloatArray,
    cpu: Sequence[float] | FloatArray,
    report: LoadReport,
    *,
    mem: Sequence[float] | FloatArray | None = None,
    cpu_max: Sequence[float] | FloatArray | None = None,
) -> UsageSeries:
    """Sort samples by time and merge duplicate timestamps.

    Rows sharing a timestamp become one sample: `cpu` and `mem` are their mean, `cpu_max`
    their maximum. Every merged-away row is counted as skipped ("duplicate timestamp").
    """
    t = np.asarray(t_s, dtype=np.float64)
    order = np.argsort(t, kind="stable")
    if np.any(order[1:] < order[:-1]):
        report.note("series with unsorted rows (sorted)")
    t = t[order]
    starts = np.flatnonzero(np.concatenate(([True], t[1:] != t[:-1])))
    report.skip("duplicate timestamp", len(t) - len(starts))
    counts = np.diff(np.append(starts, len(t)))

    def merged(
        values: Sequence[float] | FloatArray | None, peak: bool = False
    ) -> FloatArray | None:
        if values is None:
            return None
        col = np.asarray(values, dtype=np.float64)[order]
        return np.maximum.reduceat(col, starts) if peak else np.add.reduceat(col, starts) / counts

    cpu_merged = merged(cpu)
    assert cpu_merged is not None
    return UsageSeries(series_id, t[starts], cpu_merged, merged(mem), merged(cpu_max, peak=True))


Method = Literal["linear", "hold", "mean"]


def resample(
    series: UsageSeries,
    step_s: float,
    duration_s: float,
    *,
    start_s: float | None = None,
    method: Method = "linear",
    value: Literal["cpu", "mem", "cpu_max"] = "cpu",
) -> FloatArray:
    """Put one of a series' values onto the grid `start_s + k·step_s`, `k = 0 … n-1`.

    `n = ceil(duration_s / step_s)`; `start_s` defaults to the series' first sample.

    - `"linear"`: the value at each grid time, linearly interpolated between the samples
      around it (gaps are bridged by a straight line).
    - `"hold"`: the last sample at or before each grid time (sample-and-hold).
    - `"mean"`: the mean of the linear interpolation over `[t_k, t_k + step_s)`; use it
      when the step is coarser than the sampling so that peaks between ticks count.

    In every method the first sample's value holds before it and the last sample's value
    after it.
    """
    if not (math.isfinite(step_s) and step_s > 0):
        raise InvalidInput("resample step must be positive", field="step_s", value=step_s)
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise InvalidInput(
            "resample duration must be positive", field="duration_s", value=duration_s
        )
    y = {"cpu": series.cpu, "mem": series.mem, "cpu_max": series.cpu_max}.get(value)
    if y is None or len(series.t_s) == 0:
        raise InvalidInput(
            f"series has no {value} samples", obj=f"series {series.series_id}", field=value
        )
    t = series.t_s
    start = float(t[0]) if start_s is None else float(start_s)
    n = max(1, math.ceil(duration_s / step_s - 1e-9))
    grid = start + step_s * np.arange(n, dtype=np.float64)
    if method == "linear":
        return np.interp(grid, t, y).astype(np.float64)
    if method == "hold":
        pos = np.searchsorted(t, grid, side="right") - 1
        return np.asarray(y[np.clip(pos, 0, len(t) - 1)], dtype=np.float64)
    if method == "mean":
        edges = start + step_s * np.arange(n + 1, dtype=np.float64)
        area = _integral(t, np.asarray(y, dtype=np.float64), edges)
        return np.diff(area) / step_s
    raise InvalidInput("unknown resample method", field="method", value=method)


def _integral(t: FloatArray, y: FloatArray, at: FloatArray) -> FloatArray:
    """∫ from t[0] to `at` of the linear interpolation of (t, y), held constant outside."""
    cum = np.concatenate(([0.0], np.cumsum((y[1:] + y[:-1]) * np.diff(t) / 2.0)))
    inside = np.clip(at, t[0], t[-1])
    i = np.clip(np.searchsorted(t, inside, side="right") - 1, 0, len(t) - 1)
    v = np.interp(inside, t, y)
    partial = cum[i] + (y[i] + v) / 2.0 * (inside - t[i])
    before = np.minimum(at - t[0], 0.0) * y[0]
    after = np.maximum(at - t[-1], 0.0) * y[-1]
    return np.asarray(partial + before + after, dtype=np.float64)


#: A peak-normalised pattern is cut off at this multiple of its 99th percentile.
PATTERN_CLIP = 1.5


def peak_normalised(series: UsageSeries, step_s: float) -> FloatArray | None:
    """A series' cpu on the grid `t_0 + k·step_s` over its whole span, divided by its 99th
    percentile on that grid and clipped to [0, `PATTERN_CLIP`]: a usage *pattern* whose
    peak is 1, to be scaled to a pod or node of any size. Linear interpolation between
    samples (gaps bridged). None when the percentile is 0 (an idle series has no shape).

    `colo sim` builds its online pods' usage from these; `colo agent replay` its nodes'.
    """
    if not (math.isfinite(step_s) and step_s > 0):
        raise InvalidInput("pattern step must be positive", field="step_s", value=step_s)
    grid = np.arange(series.t_s[0], series.t_s[-1], step_s)
    if len(grid) == 0:
        return None
    values = np.interp(grid, series.t_s, series.cpu)
    peak = float(np.percentile(values, 99))
    if peak <= 0:
        return None
    return np.asarray(np.clip(values / peak, 0.0, PATTERN_CLIP), dtype=np.float64)
