"""The loaders on the real traces in shared/traces: counts match the README, values are sane.

Skipped (with the reason) when the traces directory cannot be found.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from colo.traces import TraceSet, UsageSeries
from colo.traces.alibaba2017 import load_batch_tasks
from colo.traces.alibaba2018 import (
    load_container_snapshot,
    load_machine_meta,
    load_machine_usage,
)
from colo.traces.alibaba_k8s_2023 import load_nodes, load_pods
from colo.traces.azure2019 import load_vm_cpu, load_vm_table
from colo.traces.common import LoadReport

# Generous: a file loads in well under a second on an idle machine; CI may be busy.
MAX_LOAD_S = 10.0


def _timed(fn: Callable[[], tuple[Any, LoadReport]]) -> tuple[Any, LoadReport]:
    start = time.process_time()
    data, report = fn()
    assert time.process_time() - start < MAX_LOAD_S
    assert sum(report.reasons.values()) == report.rows_skipped
    return data, report


def _check_series(series: dict[str, UsageSeries]) -> None:
    for s in series.values():
        assert np.all(np.diff(s.t_s) > 0), s.series_id
        for values in (s.cpu, s.mem, s.cpu_max):
            if values is not None:
                assert len(values) == len(s.t_s)
                assert np.all((values >= 0.0) & (values <= 1.0)), s.series_id


def test_machine_usage(traces: TraceSet) -> None:
    series, report = _timed(lambda: load_machine_usage(traces.machine_usage))
    assert report.rows_read == 100_002
    assert report.rows_skipped == 0
    assert not report.has_header
    assert sorted(series) == [f"m_{i}" for i in range(1932, 1948)]
    _check_series(series)
    assert min(float(s.t_s[0]) for s in series.values()) == 0.0
    assert max(float(s.t_s[-1]) for s in series.values()) == 691_180.0
    sparse = sorted(series, key=lambda m: len(series[m]))[:2]
    assert sorted(sparse) == ["m_1932", "m_1947"]
    dense, dropped = _timed(lambda: load_machine_usage(traces.machine_usage, min_samples=4000))
    assert sorted(set(series) - set(dense)) == ["m_1932", "m_1947"]
    assert dropped.notes["machines dropped (< min_samples)"] == 2


def test_machine_meta(traces: TraceSet) -> None:
    shapes, report = _timed(lambda: load_machine_meta(traces.machine_meta, max_memory_gib=512))
    assert report.rows_read == 17_592 and report.rows_skipped == 0
    assert len(shapes) == len({s.name for s in shapes}) == 4_034
    assert {s.cpu_milli for s in shapes} == {96_000}
    assert {s.memory_bytes for s in shapes} == {512 * 2**30}


def test_container_snapshot(traces: TraceSet) -> None:
    counts, report = _timed(lambda: load_container_snapshot(traces.container_snapshot))
    assert report.has_header and report.rows_read == 119_038 and report.rows_skipped == 0
    assert len(counts) == 3_890
    assert sum(counts.values()) == 60_035


def test_batch_tasks(traces: TraceSet) -> None:
    tasks, report = _timed(lambda: load_batch_tasks(traces.batch_task))
    assert report.has_header
    assert report.rows_read == 80_553
    assert report.reasons == {
        "status Waiting": 8_847,
        "status Running": 3_567,
        "status Failed": 1_126,
        "missing cpu": 9,
        "end before create": 1,
    }
    assert len(tasks) == 80_553 - report.rows_skipped == 67_003
    assert report.notes["negative create time (kept)"] > 0
    assert np.all(np.diff(tasks.create_s) >= 0)
    assert np.all(tasks.end_s >= tasks.create_s)
    assert np.all(tasks.instances >= 1) and np.all(tasks.cpu_milli > 0)
    assert np.all((tasks.memory_fraction > 0) & (tasks.memory_fraction <= 1))
    assert len(np.unique(tasks.job_id)) <= 12_951


def test_pods_and_nodes(traces: TraceSet) -> None:
    pods, report = _timed(lambda: load_pods(traces.k8s_pod_list))
    assert report.rows_read == 8_152 and report.rows_skipped == 0 and len(pods) == 8_152
    assert set(pods.qos.tolist()) == {"LS", "BE", "Burstable", "Guaranteed"}
    never = np.isnan(pods.scheduled_s)
    assert int(never.sum()) == report.notes["pods never scheduled"] == 897
    assert set(pods.phase[never].tolist()) == {"Pending"}
    assert np.all(pods.deletion_s >= pods.creation_s)
    nodes, node_report = _timed(lambda: load_nodes(traces.k8s_node_list))
    assert node_report.rows_read == 1_523 and len(nodes) == 1_523
    assert all(n.cpu_milli > 0 and n.memory_bytes > 0 for n in nodes)


def test_azure(traces: TraceSet) -> None:
    table, _ = _timed(lambda: load_vm_table(traces.azure_vmtable))
    assert len(table) == 20
    assert sorted({v.category for v in table.values()}) == ["Delay-insensitive", "Interactive"]
    series, report = _timed(lambda: load_vm_cpu(traces.azure_readings, traces.azure_vmtable))
    assert report.rows_read == 172_684
    assert len(series) == 10
    assert all(table[vm].category == "Interactive" for vm in series)
    assert set(report.reasons) == {"vm not in category"}
    _check_series(series)
    for s in series.values():
        assert s.cpu_max is not None and np.all(s.cpu <= s.cpu_max + 1e-12)
        assert s.t_s[0] == 0.0 and s.t_s[-1] == 2_591_400.0
        assert np.all(np.diff(s.t_s) % 300 == 0)
        assert math.isclose(len(s), 8_639, rel_tol=0.01)
    everything, all_report = _timed(
        lambda: load_vm_cpu(traces.azure_readings, traces.azure_vmtable, category=None)
    )
    assert len(everything) == 20 and all_report.rows_skipped == 0
