"""Alibaba GPU cluster trace v2023 (Kubernetes pods and nodes, `openb_*` files).

- `pod_list`: `name, cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec, qos, pod_phase,
  creation_time, deletion_time, scheduled_time` (times in seconds). Requests only.
- `node_list`: `sn, cpu_milli, memory_mib, gpu, model`.

Both are published with a header line; a headerless file in this column order is
accepted too. Decisions:

- Requests must be >= 0 for pods (a zero memory request is real) and > 0 for nodes;
  `num_gpu` must be an integer >= 0. `memory_bytes = memory_mib × 2^20`.
- `qos` and `pod_phase` must be non-empty and are kept as written (LS, BE, Burstable,
  Guaranteed; Running, Succeeded, Failed, Pending).
- Times may be any finite number; an empty deletion or scheduled time (a pod still
  alive, or never scheduled) becomes NaN. A deletion before creation is skipped
  ("deletion before creation").
- A repeated pod or node name keeps the first row ("duplicate name").
- Pods come sorted by creation time (stable); nodes in file order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from colo.traces.common import (
    Checks,
    FloatArray,
    IntArray,
    Layout,
    LoadReport,
    NodeShape,
    PathArg,
    StrArray,
    iter_rows,
    require_rows,
)

MIB = 2**20

POD_LIST = Layout(
    what="alibaba_k8s_2023 pod_list",
    columns=(
        "name",
        "cpu_milli",
        "memory_mib",
        "num_gpu",
        "gpu_milli",
        "gpu_spec",
        "qos",
        "pod_phase",
        "creation_time",
        "deletion_time",
        "scheduled_time",
    ),
    used=(
        "name",
        "cpu_milli",
        "memory_mib",
        "num_gpu",
        "qos",
        "pod_phase",
        "creation_time",
        "deletion_time",
        "scheduled_time",
    ),
)

NODE_LIST = Layout(
    what="alibaba_k8s_2023 node_list",
    columns=("sn", "cpu_milli", "memory_mib", "gpu", "model"),
    used=("sn", "cpu_milli", "memory_mib"),
)


@dataclass
class TracePods:
    """Columnar pods, one row per pod."""

    name: StrArray
    cpu_milli: IntArray
    memory_bytes: IntArray
    num_gpu: IntArray
    qos: StrArray
    phase: StrArray
    creation_s: FloatArray
    deletion_s: FloatArray
    scheduled_s: FloatArray

    def __len__(self) -> int:
        return len(self.name)


def load_pods(path: PathArg) -> tuple[TracePods, LoadReport]:
    """Load the pod list (see the module notes for what is checked)."""
    report = LoadReport(path=str(path))
    check = Checks(report)
    names: list[str] = []
    cpu: list[int] = []
    mem: list[int] = []
    gpu: list[int] = []
    qos: list[str] = []
    phase: list[str] = []
    created: list[float] = []
    deleted: list[float] = []
    scheduled: list[float] = []
    seen: set[str] = set()
    for row in iter_rows(path, POD_LIST, report):
        name_t, cpu_t, mem_t, gpu_t, qos_t, phase_t, c_t, d_t, s_t = row
        name = check.text(name_t, "name")
        if name is None:
            continue
        c_milli = check.number(cpu_t, "cpu", lo=0.0)
        if c_milli is None:
            continue
        mib = check.number(mem_t, "memory", lo=0.0)
        if mib is None:
            continue
        n_gpu = check.integer(gpu_t, "num_gpu", lo=0.0)
        if n_gpu is None:
            continue
        qos_s = check.text(qos_t, "qos")
        if qos_s is None:
            continue
        phase_s = check.text(phase_t, "phase")
        if phase_s is None:
            continue
        c = check.number(c_t, "creation time")
        if c is None:
            continue
        d = math.nan if not d_t.strip() else check.number(d_t, "deletion time")
        if d is None:
            continue
        if d < c:
            report.skip("deletion before creation")
            continue
        s = math.nan if not s_t.strip() else check.number(s_t, "scheduled time")
        if s is None:
            continue
        if name in seen:
            report.skip("duplicate name")
            continue
        seen.add(name)
        names.append(name)
        cpu.append(round(c_milli))
        mem.append(round(mib * MIB))
        gpu.append(n_gpu)
        qos.append(qos_s)
        phase.append(phase_s)
        created.append(c)
        deleted.append(d)
        scheduled.append(s)
    require_rows(report, POD_LIST, len(names))
    report.note("pods never scheduled", sum(1 for s in scheduled if math.isnan(s)))
    report.note("pods without deletion time", sum(1 for d in deleted if math.isnan(d)))
    created_a = np.asarray(created, dtype=np.float64)
    order = np.argsort(created_a, kind="stable")
    pods = TracePods(
        name=np.asarray(names, dtype=np.str_)[order],
        cpu_milli=np.asarray(cpu, dtype=np.int64)[order],
        memory_bytes=np.asarray(mem, dtype=np.int64)[order],
        num_gpu=np.asarray(gpu, dtype=np.int64)[order],
        qos=np.asarray(qos, dtype=np.str_)[order],
        phase=np.asarray(phase, dtype=np.str_)[order],
        creation_s=created_a[order],
        deletion_s=np.asarray(deleted, dtype=np.float64)[order],
        scheduled_s=np.asarray(scheduled, dtype=np.float64)[order],
    )
    return pods, report


def load_nodes(path: PathArg) -> tuple[list[NodeShape], LoadReport]:
    """Load the node list as node shapes (name = serial number `sn`)."""
    report = LoadReport(path=str(path))
    check = Checks(report)
    shapes: list[NodeShape] = []
    seen: set[str] = set()
    for name_t, cpu_t, mem_t in iter_rows(path, NODE_LIST, report):
        name = check.text(name_t, "name")
        if name is None:
            continue
        c_milli = check.number(cpu_t, "cpu", lo=0.0, lo_open=True)
        if c_milli is None:
            continue
        mib = check.number(mem_t, "memory", lo=0.0, lo_open=True)
        if mib is None:
            continue
        if name in seen:
            report.skip("duplicate name")
            continue
        seen.add(name)
        shapes.append(NodeShape(name=name, cpu_milli=round(c_milli), memory_bytes=round(mib * MIB)))
    require_rows(report, NODE_LIST, len(shapes))
    return shapes, report
