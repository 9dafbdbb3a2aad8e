"""Alibaba cluster-trace-v2017 batch tasks (`batch_task.csv`).

Published with a header line whose names carry spaces after some commas:
`task_create_time, task_end_time, job_id, task_id,number_of_instances, status,
number_of_cpus_requested_per_instance_in_the_task,
normalized_memory_requested_per_instance_in_the_task`. A headerless file in this column
order is accepted too.

Decisions:

- Only tasks that ran to completion are kept: status `Terminated` by default (the
  `statuses` argument changes this). Other rows are skipped under `"status <name>"`
  (`"status Waiting"`, `"status Running"`, `"status Failed"` …; an unknown word counts as
  `"unknown status"`). Running tasks carry an end time of 0, so they could not be
  replayed anyway.
- Times are seconds relative to the trace start and may be negative: tasks created
  before the trace window began. They are kept as they are (noted as
  "negative create time (kept)"); a task whose end is before its create is skipped
  ("end before create"). end == create (a zero-length task) is kept.
- CPU: 100 means one core, so `cpu_milli = value × 10` (must be > 0). Memory is the
  fraction of the largest machine, in (0, 1]. Instances must be an integer >= 1.
- A repeated (job_id, task_id) keeps the first row ("duplicate task").
- Tasks come sorted by create time (stable: file order among equal times).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from colo.traces.common import (
    Checks,
    FloatArray,
    IntArray,
    Layout,
    LoadReport,
    PathArg,
    StrArray,
    iter_rows,
    require_rows,
)

BATCH_TASK = Layout(
    what="alibaba2017 batch_task",
    columns=(
        "task_create_time",
        "task_end_time",
        "job_id",
        "task_id",
        "number_of_instances",
        "status",
        "number_of_cpus_requested_per_instance_in_the_task",
        "normalized_memory_requested_per_instance_in_the_task",
    ),
    used=(
        "task_create_time",
        "task_end_time",
        "job_id",
        "task_id",
        "number_of_instances",
        "status",
        "number_of_cpus_requested_per_instance_in_the_task",
        "normalized_memory_requested_per_instance_in_the_task",
    ),
)

KNOWN_STATUSES = ("Terminated", "Waiting", "Running", "Failed", "Cancelled", "Interrupted")
_CANONICAL = {s.lower(): s for s in KNOWN_STATUSES}


@dataclass
class BatchTasks:
    """Columnar batch tasks, one row per task; resources are per instance."""

    create_s: FloatArray
    end_s: FloatArray
    job_id: IntArray
    task_id: IntArray
    instances: IntArray
    cpu_milli: IntArray
    memory_fraction: FloatArray
    status: StrArray

    def __len__(self) -> int:
        return len(self.create_s)

    @property
    def duration_s(self) -> FloatArray:
        return self.end_s - self.create_s


_Task = tuple[str, float, float, int, int, int, float, float]


def _task_row(check: Checks, row: tuple[str, ...], keep: set[str]) -> _Task | None:
    c_text, e_text, j_text, t_text, n_text, s_text, cpu_text, mem_text = row
    status = check.text(s_text, "status")
    if status is None:
        return None
    name = _CANONICAL.get(status.lower())
    if name is None:
        check.report.skip("unknown status")
        return None
    if name.lower() not in keep:
        check.report.skip(f"status {name}")
        return None
    c = check.number(c_text, "create time")
    if c is None:
        return None
    e = check.number(e_text, "end time")
    if e is None:
        return None
    if e < c:
        check.report.skip("end before create")
        return None
    j = check.integer(j_text, "job_id")
    t = None if j is None else check.integer(t_text, "task_id")
    n = None if t is None else check.integer(n_text, "instances", lo=1.0)
    if j is None or t is None or n is None:
        return None
    cores = check.number(cpu_text, "cpu", lo=0.0, lo_open=True)
    if cores is None:
        return None
    fraction = check.number(mem_text, "memory", lo=0.0, hi=1.0, lo_open=True)
    if fraction is None:
        return None
    return name, c, e, j, t, n, cores, fraction


def load_batch_tasks(
    path: PathArg, *, statuses: Collection[str] = ("Terminated",)
) -> tuple[BatchTasks, LoadReport]:
    """Load the batch tasks that ran to completion (see the module notes)."""
    keep = {s.lower() for s in statuses}
    report = LoadReport(path=str(path))
    check = Checks(report)
    create: list[float] = []
    end: list[float] = []
    job: list[int] = []
    task: list[int] = []
    inst: list[int] = []
    cpu: list[int] = []
    mem: list[float] = []
    status: list[str] = []
    seen: set[tuple[int, int]] = set()
    negative = 0
    inf = math.inf
    for row in iter_rows(path, BATCH_TASK, report):
        # Fast path for a clean row; anything else goes through the checks, in order.
        name = _CANONICAL.get(row[5].strip().lower(), "")
        try:
            c, e, cores, fraction = float(row[0]), float(row[1]), float(row[6]), float(row[7])
            j, t, n = int(row[2]), int(row[3]), int(row[4])
            ok = (
                name.lower() in keep
                and -inf < c <= e < inf
                and n >= 1
                and 0.0 < cores < inf
                and 0.0 < fraction <= 1.0
            )
        except ValueError:
            ok = False
        if not ok:
            parsed = _task_row(check, row, keep)
            if parsed is None:
                continue
            name, c, e, j, t, n, cores, fraction = parsed
        if (j, t) in seen:
            report.skip("duplicate task")
            continue
        seen.add((j, t))
        negative += c < 0
        create.append(c)
        end.append(e)
        job.append(j)
        task.append(t)
        inst.append(n)
        cpu.append(round(cores * 10))
        mem.append(fraction)
        status.append(name)
    require_rows(report, BATCH_TASK, len(create))
    report.note("negative create time (kept)", negative)
    create_a = np.asarray(create, dtype=np.float64)
    order = np.argsort(create_a, kind="stable")
    tasks = BatchTasks(
        create_s=create_a[order],
        end_s=np.asarray(end, dtype=np.float64)[order],
        job_id=np.asarray(job, dtype=np.int64)[order],
        task_id=np.asarray(task, dtype=np.int64)[order],
        instances=np.asarray(inst, dtype=np.int64)[order],
        cpu_milli=np.asarray(cpu, dtype=np.int64)[order],
        memory_fraction=np.asarray(mem, dtype=np.float64)[order],
        status=np.asarray(status, dtype=np.str_)[order],
    )
    return tasks, report
