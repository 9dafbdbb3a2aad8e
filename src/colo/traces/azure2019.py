"""Azure Public Dataset V2 (2019): VM CPU readings and the VM table.

- `vm_cpu_readings`: `timestamp, vm_id, min_cpu, max_cpu, avg_cpu`, CPU in percent of
  the VM, one row per VM every 5 minutes. Published without header; the files here
  carry one. Only timestamp, vm_id, max_cpu and avg_cpu are read and checked.
- `vmtable`: `vm_id, subscription_id, deployment_id, timestamp_vm_created,
  timestamp_vm_deleted, max_cpu, avg_cpu, p95_max_cpu, vm_category,
  vm_virtual_core_count_bucket, vm_memory_gb_bucket[, duration]` (the published file has
  no header and no duration column; both variants are accepted).

Size buckets are written as numbers (`2`, `8`) or open-ended (`>24`, `>64`); `cores` and
`memory_gib` hold the number, the lower bound for an open-ended bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from colo.core.errors import InvalidInput
from colo.traces.common import (
    Checks,
    Layout,
    LoadReport,
    PathArg,
    UsageSeries,
    build_series,
    iter_rows,
    require_rows,
    stack,
)

READINGS = Layout(
    what="azure2019 vm_cpu_readings",
    columns=("timestamp", "vm_id", "min_cpu", "max_cpu", "avg_cpu"),
    used=("timestamp", "vm_id", "max_cpu", "avg_cpu"),
)

VMTABLE = Layout(
    what="azure2019 vmtable",
    columns=(
        "vm_id",
        "subscription_id",
        "deployment_id",
        "timestamp_vm_created",
        "timestamp_vm_deleted",
        "max_cpu",
        "avg_cpu",
        "p95_max_cpu",
        "vm_category",
        "vm_virtual_core_count_bucket",
        "vm_memory_gb_bucket",
        "duration",
    ),
    used=("vm_id", "vm_category", "vm_virtual_core_count_bucket", "vm_memory_gb_bucket"),
    headerless_widths=(11, 12),
)

_INF = math.inf


@dataclass(frozen=True)
class VMInfo:
    """A VM's category and size from the VM table."""

    vm_id: str
    category: str
    core_bucket: str
    memory_bucket: str
    cores: float
    memory_gib: float


def _bucket(check: Checks, text: str, name: str) -> float | None:
    return check.number(text.lstrip(">").strip(), name, lo=0.0, lo_open=True)


def load_vm_table(path: PathArg) -> tuple[dict[str, VMInfo], LoadReport]:
    """VM id → category and size. A repeated vm_id keeps the first row ("duplicate vm_id")."""
    report = LoadReport(path=str(path))
    check = Checks(report)
    table: dict[str, VMInfo] = {}
    for vm_text, category_text, core_t, mem_t in iter_rows(path, VMTABLE, report):
        vm = check.text(vm_text, "vm_id")
        if vm is None:
            continue
        category = check.text(category_text, "vm_category")
        if category is None:
            continue
        cores = _bucket(check, core_t, "core bucket")
        if cores is None:
            continue
        mem = _bucket(check, mem_t, "memory bucket")
        if mem is None:
            continue
        if vm in table:
            report.skip("duplicate vm_id")
            continue
        table[vm] = VMInfo(vm, category, core_t.strip(), mem_t.strip(), cores, mem)
    require_rows(report, VMTABLE, len(table))
    return table, report


def _reading_row(
    check: Checks, row: tuple[str, ...], wanted: set[str] | None, table: dict[str, VMInfo]
) -> tuple[str, float, float, float] | None:
    vm = check.text(row[1], "vm_id")
    if vm is None:
        return None
    if wanted is not None and vm not in wanted:
        check.report.skip("vm not in category" if vm in table else "vm not in vmtable")
        return None
    t = check.time(row[0], "time")
    if t is None:
        return None
    peak = check.number(row[2], "cpu_max", lo=0.0, hi=100.0)
    if peak is None:
        return None
    mean = check.number(row[3], "cpu", lo=0.0, hi=100.0)
    if mean is None:
        return None
    return vm, t, peak, mean


def load_vm_cpu(
    readings_path: PathArg,
    vmtable_path: PathArg,
    *,
    category: str | None = "Interactive",
) -> tuple[dict[str, UsageSeries], LoadReport]:
    """Per VM: mean CPU (`cpu`, from avg_cpu) and peak CPU (`cpu_max`, from max_cpu) as
    fractions 0..1 of the VM, every 5 minutes.

    `category` keeps only VMs of that `vm_category` (case-insensitive); rows of other VMs
    are skipped as "vm not in category" or, when the VM table does not list them,
    "vm not in vmtable". `category=None` keeps every VM in the readings. Duplicate
    timestamps are merged (cpu: mean, cpu_max: max). The report is the readings file's;
    rows skipped in the VM table appear in its notes as "vmtable: <reason>". VM sizes:
    `load_vm_table`.
    """
    table, table_report = load_vm_table(vmtable_path)
    report = LoadReport(path=str(readings_path))
    for reason, n in table_report.reasons.items():
        report.note(f"vmtable: {reason}", n)
    wanted: set[str] | None = None
    if category is not None:
        wanted = {vm for vm, info in table.items() if info.category.lower() == category.lower()}
        if not wanted:
            seen = sorted({info.category for info in table.values()})
            raise InvalidInput(
                f"no VM of category {category!r} in the VM table",
                obj=str(vmtable_path),
                field="vm_category",
                expected=f"one of {', '.join(seen)}",
            )
    check = Checks(report)
    samples: dict[str, list[tuple[float, float, float]]] = {}
    for row in iter_rows(readings_path, READINGS, report):
        # Fast path for a clean row; anything else goes through the checks, in order.
        vm = row[1].strip()
        if wanted is not None and vm and vm not in wanted:
            report.skip("vm not in category" if vm in table else "vm not in vmtable")
            continue
        try:
            t, peak, mean = float(row[0]), float(row[2]), float(row[3])
            ok = bool(vm) and 0.0 <= t < _INF and 0.0 <= peak <= 100.0 and 0.0 <= mean <= 100.0
        except ValueError:
            ok = False
        if not ok:
            parsed = _reading_row(check, row, wanted, table)
            if parsed is None:
                continue
            vm, t, peak, mean = parsed
        got = samples.get(vm)
        if got is None:
            got = samples[vm] = []
        got.append((t, mean, peak))
    series: dict[str, UsageSeries] = {}
    for vm, rows in samples.items():
        a = stack(rows)
        series[vm] = build_series(vm, a[:, 0], a[:, 1] / 100.0, report, cpu_max=a[:, 2] / 100.0)
    if wanted is not None:
        report.note("vms without readings", len(wanted - series.keys()))
    require_rows(report, READINGS, len(series))
    return series, report
