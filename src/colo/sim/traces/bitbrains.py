"""Bitbrains GWA-T-12 VM traces: one `;`-separated CSV per VM.

Header (cells may carry tabs and spaces):
`Timestamp [ms]; CPU cores; CPU capacity provisioned [MHZ]; CPU usage [MHZ];
CPU usage [%]; Memory capacity provisioned [KB]; Memory usage [KB]; Disk read
throughput [KB/s]; Disk write throughput [KB/s]; Network received throughput [KB/s];
Network transmitted throughput [KB/s]`. Despite its label the timestamp is in seconds.
The VM's id is the file name without extension.

Used: the timestamp and `CPU usage [%]` (→ fraction 0..1); `Memory usage [KB]` ÷
`Memory capacity provisioned [KB]` when both are there. Bad rows are skipped and counted
(wrong cell count, not a number, negative time, CPU outside 0..100 %); a file without
the header, or a directory without any `.csv`, is an error naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

from colo.core.errors import InvalidInput
from colo.sim.traces.common import LoadReport, PathArg, UsageSeries, build_series, open_text

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
_T, _CPU_PCT, _MEM_CAP, _MEM_USED = 0, 4, 5, 6


def _norm(cell: str) -> str:
    return " ".join(cell.split()).lower()


def load_vm_file(path: PathArg, report: LoadReport) -> UsageSeries | None:
    """One VM's series, or None if the file has no valid row (counted in `report`)."""
    name = os.fspath(path)
    with open_text(path) as handle:
        header = next((line for line in handle if line.strip()), None)
        if header is None:
            report.note("empty files")
            return None
        cells = [_norm(c) for c in header.rstrip("\r\n").split(";")]
        if cells[: len(COLUMNS)] != [_norm(c) for c in COLUMNS]:
            raise InvalidInput(
                "unrecognised header",
                obj=name,
                expected="the GWA-T-12 layout: " + "; ".join(COLUMNS),
                value=header.strip()[:120],
            )
        ts: list[float] = []
        cpu: list[float] = []
        mem: list[float] = []
        for line in handle:
            report.rows_read += 1
            if not line.strip():
                report.skip("blank line")
                continue
            row = line.rstrip("\r\n").split(";")
            if len(row) != len(COLUMNS):
                report.skip("wrong column count")
                continue
            try:
                t = float(row[_T])
                pct = float(row[_CPU_PCT])
            except ValueError:
                report.skip("not a number")
                continue
            if not (t >= 0 and t == t):
                report.skip("negative or missing time")
                continue
            if not 0.0 <= pct <= 100.0:
                report.skip("cpu percent out of range")
                continue
            try:
                cap, used = float(row[_MEM_CAP]), float(row[_MEM_USED])
                m = used / cap if cap > 0 else float("nan")
            except ValueError:
                m = float("nan")
            ts.append(t)
            cpu.append(pct / 100.0)
            mem.append(min(max(m, 0.0), 1.0) if m == m else float("nan"))
    if not ts:
        report.note("files without a valid row")
        return None
    return build_series(Path(name).stem, ts, cpu, report, mem=mem)


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
