"""Alibaba cluster-trace-v2018 (a co-located online + batch cluster).

Files, all CSV without header as published (a header line is detected and accepted):

- `machine_usage`: `machine_id, time_stamp, cpu_util_percent, mem_util_percent, mem_gps,
  mkpi, net_in, net_out, disk_io_percent`, about one sample every 10 s per machine.
  Only machine_id, time_stamp, cpu and mem are read and checked (cpu and mem must be
  percentages in [0, 100], the time must be >= 0); the other columns are not used, so
  their oddities (empty mem_gps/mkpi, disk_io_percent of -1 or 101) do not cost rows.
- `machine_meta`: `machine_id, time_stamp, failure_domain_1, failure_domain_2, cpu_num,
  mem_size, status`; several rows per machine, the latest one wins.
- `container_usage` snapshot (header `timestamp,container_id,machine_id,cpu,mem`): which
  container sits on which machine.
"""

from __future__ import annotations

import math

from colo.core.errors import InvalidInput
from colo.traces.common import (
    Checks,
    Layout,
    LoadReport,
    NodeShape,
    PathArg,
    UsageSeries,
    build_series,
    iter_rows,
    require_rows,
    stack,
)

MACHINE_USAGE = Layout(
    what="alibaba2018 machine_usage",
    columns=(
        "machine_id",
        "time_stamp",
        "cpu_util_percent",
        "mem_util_percent",
        "mem_gps",
        "mkpi",
        "net_in",
        "net_out",
        "disk_io_percent",
    ),
    used=("machine_id", "time_stamp", "cpu_util_percent", "mem_util_percent"),
)

MACHINE_META = Layout(
    what="alibaba2018 machine_meta",
    columns=(
        "machine_id",
        "time_stamp",
        "failure_domain_1",
        "failure_domain_2",
        "cpu_num",
        "mem_size",
        "status",
    ),
    used=("machine_id", "time_stamp", "cpu_num", "mem_size"),
)

CONTAINER_SNAPSHOT = Layout(
    what="alibaba2018 container usage snapshot",
    columns=("timestamp", "container_id", "machine_id", "cpu", "mem"),
    used=("timestamp", "container_id", "machine_id"),
)

SPARSE = "sparse machine (< min_samples)"
_INF = math.inf


def load_machine_usage(
    path: PathArg, *, min_samples: int = 1
) -> tuple[dict[str, UsageSeries], LoadReport]:
    """Per machine: CPU and memory utilisation as fractions 0..1 over time.

    Rows are sorted by time per machine; rows sharing a timestamp are averaged (the extra
    ones are counted as "duplicate timestamp"). Machines left with fewer than
    `min_samples` samples are dropped: their rows count as skipped (reason
    "sparse machine (< min_samples)") and the machines as a note.
    """
    report = LoadReport(path=str(path))
    check = Checks(report)
    samples: dict[str, list[tuple[float, float, float]]] = {}
    for row in iter_rows(path, MACHINE_USAGE, report):
        # Fast path for a clean row; anything else goes through the checks, in order.
        machine = row[0].strip()
        try:
            t, cpu, mem = float(row[1]), float(row[2]), float(row[3])
            ok = bool(machine) and 0.0 <= t < _INF and 0.0 <= cpu <= 100.0 and 0.0 <= mem <= 100.0
        except ValueError:
            ok = False
        if not ok:
            parsed = _usage_row(check, row)
            if parsed is None:
                continue
            machine, t, cpu, mem = parsed
        got = samples.get(machine)
        if got is None:
            got = samples[machine] = []
        got.append((t, cpu, mem))
    series: dict[str, UsageSeries] = {}
    for machine, rows in samples.items():
        a = stack(rows)
        s = build_series(machine, a[:, 0], a[:, 1] / 100.0, report, mem=a[:, 2] / 100.0)
        if len(s) < min_samples:
            report.skip(SPARSE, len(rows))
            report.note("machines dropped (< min_samples)")
            continue
        series[machine] = s
    if not series and samples:
        raise InvalidInput(
            f"no machine has at least {min_samples} samples",
            obj=report.path,
            field="min_samples",
            value=min_samples,
        )
    require_rows(report, MACHINE_USAGE, len(series))
    return series, report


def _usage_row(check: Checks, row: tuple[str, ...]) -> tuple[str, float, float, float] | None:
    machine = check.text(row[0], "machine_id")
    if machine is None:
        return None
    t = check.time(row[1], "time")
    if t is None:
        return None
    cpu = check.number(row[2], "cpu", lo=0.0, hi=100.0)
    if cpu is None:
        return None
    mem = check.number(row[3], "mem", lo=0.0, hi=100.0)
    if mem is None:
        return None
    return machine, t, cpu, mem


def load_machine_meta(
    path: PathArg, *, max_memory_gib: float
) -> tuple[list[NodeShape], LoadReport]:
    """One node shape per machine, from the machine's latest valid row.

    `cpu_num` is in cores (`cpu_milli = cpu_num × 1000`); `mem_size` is normalised 0..100,
    100 meaning `max_memory_gib` GiB. Ties in time go to the later row in the file. Rows
    replaced by a later row of the same machine are not skipped rows (they are counted in
    the note "rows superseded by a later row"). Shapes come in order of first appearance.
    """
    if not (math.isfinite(max_memory_gib) and max_memory_gib > 0):
        raise InvalidInput(
            "max_memory_gib must be positive", field="max_memory_gib", value=max_memory_gib
        )
    report = LoadReport(path=str(path))
    check = Checks(report)
    latest: dict[str, tuple[float, int, float]] = {}
    for machine_text, ts, cpu_text, mem_text in iter_rows(path, MACHINE_META, report):
        machine = check.text(machine_text, "machine_id")
        if machine is None:
            continue
        t = check.time(ts, "time")
        if t is None:
            continue
        cores = check.integer(cpu_text, "cpu_num", lo=0.0, lo_open=True)
        if cores is None:
            continue
        mem = check.number(mem_text, "mem_size", lo=0.0, hi=100.0, lo_open=True)
        if mem is None:
            continue
        seen = latest.get(machine)
        if seen is not None:
            report.note("rows superseded by a later row")
            if t < seen[0]:
                continue
        latest[machine] = (t, cores, mem)
    require_rows(report, MACHINE_META, len(latest))
    gib = float(2**30)
    shapes = [
        NodeShape(
            name=m, cpu_milli=cores * 1000, memory_bytes=round(mem / 100.0 * max_memory_gib * gib)
        )
        for m, (_, cores, mem) in latest.items()
    ]
    return shapes, report


def load_container_snapshot(path: PathArg) -> tuple[dict[str, int], LoadReport]:
    """Distinct containers per machine in a container usage snapshot.

    A container seen on several machines (it moved between snapshot times) counts on the
    machine of its latest row only; such containers are counted in a note.
    """
    report = LoadReport(path=str(path))
    check = Checks(report)
    where: dict[str, tuple[float, str]] = {}
    moved: set[str] = set()
    for ts, container_text, machine_text in iter_rows(path, CONTAINER_SNAPSHOT, report):
        container, machine = container_text.strip(), machine_text.strip()
        try:
            t = float(ts)
            ok = 0.0 <= t < _INF and bool(container) and bool(machine)
        except ValueError:
            ok = False
        if not ok:
            t_checked = check.time(ts, "time")
            if t_checked is None:
                continue
            if check.text(container, "container_id") is None:
                continue
            if check.text(machine, "machine_id") is None:
                continue
            t = t_checked
        seen = where.get(container)
        if seen is not None:
            if seen[1] != machine:
                moved.add(container)
            if t < seen[0]:
                continue
        where[container] = (t, machine)
    require_rows(report, CONTAINER_SNAPSHOT, len(where))
    report.note("containers seen on more than one machine", len(moved))
    counts: dict[str, int] = {}
    for _, machine in where.values():
        counts[machine] = counts.get(machine, 0) + 1
    return counts, report
