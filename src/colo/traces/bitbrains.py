"""Bitbrains GWA-T-12 VM traces: one `;`-separated CSV per VM.

Header (cells may carry tabs and spaces):
`Timestamp [ms]; CPU cores; CPU capacity provisioned [MHZ]; CPU usage [MHZ];
CPU usage [%]; Memory capacity provisioned [KB]; Memory usage [KB]; Disk read
throughput [KB/s]; Disk write throughput [KB/s]; Network received throughput [KB/s];
Network transmitted throughput [KB/s]`. Despite its label the timestamp is in seconds.
The VM's id is the file name without extension.

Used: the timestamp and `CPU usage [%]` (→ fraction 0..1); `Memory usage [KB]` ÷
`Memory capacity provisioned [KB]` when both are there. Rows go through the loaders'
common reader and checks (`colo.traces.common`): bad rows are skipped and counted
with the same reasons as every other trace; an unrecognised header, a corrupt gzip file
or a directory without any `.csv` is an error naming the file.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from colo.core.errors import InvalidInput
from colo.traces.common import (
    Checks,
    Layout,
    LoadReport,
    PathArg,
    UsageSeries,
    build_series,
    iter_rows,
)

COLUMNS = (
    "Timestamp [ms]",
    "CPU cores",
    "CPU capacity provisioned [MHZ]",
    "CPU usage [MHZ]",
    "CPU usage [%]",
    "Memory capacity provisioned [KB]",
    "Memory usage [KB]",
    "Disk read throughput [KB/s]",
    "Disk write throughput [KB/s]",
    "Network received throughput [KB/s]",
    "Network transmitted throughput [KB/s]",
)
VM_FILE = Layout(
    what="Bitbrains GWA-T-12 VM (`;`-separated)",
    columns=tuple(" ".join(c.split()).lower() for c in COLUMNS),
    used=(
        "timestamp [ms]",
        "cpu usage [%]",
        "memory capacity provisioned [kb]",
        "memory usage [kb]",
    ),
    sep=";",
)


def _fraction(used: str, capacity: str) -> float:
    """Memory in use as a fraction 0..1, NaN when the cells do not say."""
    try:
        u, c = float(used), float(capacity)
    except ValueError:
        return math.nan
    return min(max(u / c, 0.0), 1.0) if c > 0 and math.isfinite(u / c) else math.nan


def load_vm_file(path: PathArg, report: LoadReport) -> UsageSeries | None:
    """One VM's series, or None if the file has no valid row (counted in `report`)."""
    check = Checks(report)
    ts: list[float] = []
    cpu: list[float] = []
    mem: list[float] = []
    for t_cell, cpu_cell, cap_cell, used_cell in iter_rows(path, VM_FILE, report):
        t = check.time(t_cell, "timestamp")
        if t is None:
            continue
        pct = check.number(cpu_cell, "cpu usage", lo=0.0, hi=100.0)
        if pct is None:
            continue
        ts.append(t)
        cpu.append(pct / 100.0)
        mem.append(_fraction(used_cell, cap_cell))
    if not ts:
        report.note("files without a valid row")
        return None
    return build_series(Path(os.fspath(path)).stem, ts, cpu, report, mem=mem)


def load_bitbrains(path: PathArg) -> tuple[dict[str, UsageSeries], LoadReport]:
    """Every VM under `path` (one file, or a directory of `*.csv`), by VM id."""
    root = Path(path)
    report = LoadReport(path=str(root))
    if root.is_dir():
        files = sorted(p for p in root.iterdir() if p.suffix.lower() in (".csv", ".gz"))
        if not files:
            raise InvalidInput("no .csv files in the directory", obj=str(root))
    elif root.exists():
        files = [root]
    else:
        raise InvalidInput("trace file not found", obj=str(root))
    series: dict[str, UsageSeries] = {}
    for f in files:
        s = load_vm_file(f, report)
        if s is not None:
            series[s.series_id] = s
    if not series:
        raise InvalidInput("no valid row in any file", obj=str(root), expected=", ".join(COLUMNS))
    return series, report
