"""`build_workload` on the real traces: determinism, online sizing, offline load, the wave."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from colo.sim.scenario import Scenario, load_scenario
from colo.sim.workload import (
    DAY_S,
    OfflineJobs,
    OnlineWorkload,
    Workload,
    build_workload,
)
from colo.traces import LoadReport, TraceSet
from colo.traces.common import bad_rows

SOURCE_WAVE = 2


@pytest.fixture(scope="module")
def traces() -> TraceSet:
    return TraceSet.locate(None)


@pytest.fixture(scope="module")
def default() -> Scenario:
    return load_scenario("default")


def small(base: Scenario, **update: object) -> Scenario:
    """The default scenario on 16 nodes for 2 h around midnight, with a smaller wave."""
    assert base.wave is not None
    shrunk = base.model_copy(
        update={
            "duration": 2 * 3600.0,
            "start_time_of_day": 23 * 3600.0,
            "cluster": base.cluster.model_copy(update={"nodes": 16}),
            "wave": base.wave.model_copy(
                update={"jobs": 40, "pods_per_job": 2, "cpu": 250, "memory": 256 * 2**20}
            ),
        }
    )
    return shrunk.model_copy(update=update)


_built: dict[tuple[str, int], Workload] = {}


def built(scenario: Scenario, traces: TraceSet, label: str) -> Workload:
    """One build per (label, seed) for the whole module: builds take a second or two."""
    key = (label, scenario.seed)
    if key not in _built:
        _built[key] = build_workload(scenario, traces)
    return _built[key]


def columns(w: Workload) -> dict[str, object]:
    out: dict[str, object] = {
        "node_cpu_milli": w.node_cpu_milli,
        "node_memory_bytes": w.node_memory_bytes,
        "tick_s": w.tick_s,
        "wave_fire_s": w.wave_fire_s,
    }
    out.update({f"online.{f.name}": getattr(w.online, f.name) for f in fields(OnlineWorkload)})
    out.update({f"jobs.{f.name}": getattr(w.jobs, f.name) for f in fields(OfflineJobs)})
    return out


def same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return a == b


def offered_load(w: Workload, scenario: Scenario, sources: tuple[int, ...] = (0, 1)) -> float:
    """Offered offline CPU (pods × cpu × duration) over the cluster's CPU × the run."""
    jobs = w.jobs
    chosen = np.isin(jobs.source, sources)
    core_s = np.sum(jobs.pods[chosen] * jobs.cpu_milli[chosen] / 1000.0 * jobs.duration_s[chosen])
    capacity_core_s = float(w.node_cpu_milli.sum()) / 1000.0 * scenario.duration
    return float(core_s / capacity_core_s)


# ---- determinism -------------------------------------------------------------------------


def test_the_same_seed_builds_an_identical_workload(default: Scenario, traces: TraceSet) -> None:
    first = columns(built(small(default), traces, "small"))
    again = columns(build_workload(small(default), traces))
    assert list(first) == list(again)
    differing = [name for name in first if not same(first[name], again[name])]
    assert differing == []


def test_another_seed_builds_another_workload(default: Scenario, traces: TraceSet) -> None:
    one = columns(built(small(default), traces, "small"))
    other = columns(built(small(default, seed=default.seed + 1), traces, "small"))
    for name in (
        "node_cpu_milli",
        "online.cpu_milli",
        "online.usage",
        "online.sensitivity",
        "jobs.arrival_s",
    ):
        assert not same(one[name], other[name]), name
    assert same(one["tick_s"], other["tick_s"])  # the grid is the scenario's, not random


# ---- nodes and online pods -----------------------------------------------------------------


@pytest.mark.parametrize("size", ["default", "small"])
def test_online_requests_reach_their_share_of_allocatable_within_one_pod(
    size: str, default: Scenario, traces: TraceSet
) -> None:
    scenario = default if size == "default" else small(default)
    w = built(scenario, traces, size)
    cfg = scenario.online
    allocatable = float(np.sum(w.node_cpu_milli - scenario.cluster.system_reserved_cpu))
    target = cfg.request_share * allocatable
    total = float(w.online.cpu_milli.sum())
    assert target <= total < target + max(cfg.pod_cpu)
    assert total - float(w.online.cpu_milli[-1]) < target  # no pod beyond the one reaching it
    assert set(w.online.cpu_milli.tolist()) <= set(cfg.pod_cpu)
    assert np.array_equal(
        w.online.memory_bytes, w.online.cpu_milli * cfg.cpu_to_memory_bytes_per_milli
    )


@pytest.mark.parametrize("size", ["default", "small"])
def test_nodes_and_usage_curves_have_the_scenarios_shape(
    size: str, default: Scenario, traces: TraceSet
) -> None:
    scenario = default if size == "default" else small(default)
    w = built(scenario, traces, size)
    nodes = scenario.cluster.nodes
    assert w.node_cpu_milli.shape == w.node_memory_bytes.shape == (nodes,)
    assert (w.node_cpu_milli >= scenario.cluster.shapes.min_cpu).all()
    assert (w.node_memory_bytes > 0).all()
    assert np.array_equal(w.tick_s, np.arange(0.0, scenario.duration, scenario.step))
    pods = len(w.online.cpu_milli)
    assert w.online.usage.shape == (pods, len(w.tick_s))
    # A pod's curve peaks (p99 of its series) at peak_to_request × request, clipped at 1.5×.
    ceiling = 1.5 * scenario.online.peak_to_request * w.online.cpu_milli[:, None]
    assert (w.online.usage >= 0).all()
    assert (w.online.usage <= ceiling * (1 + 1e-6)).all()
    c = scenario.contention
    assert (w.online.sensitivity >= c.sensitivity_min).all()
    assert (w.online.sensitivity <= c.sensitivity_max).all()
    assert len(w.online.series) == pods


# ---- offline jobs ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [42, 1, 2])
def test_offered_offline_load_is_the_target_load_within_15_percent(
    seed: int, default: Scenario, traces: TraceSet
) -> None:
    scenario = default.model_copy(update={"seed": seed})
    w = built(scenario, traces, "default")
    cfg = scenario.offline
    assert offered_load(w, scenario) == pytest.approx(cfg.target_load, rel=0.15)
    # The alibaba_k8s_2023 BE pods carry their share of it.
    assert offered_load(w, scenario, (1,)) == pytest.approx(
        cfg.target_load * cfg.k8s_be_share, rel=0.15
    )


@pytest.mark.parametrize("size", ["default", "small"])
def test_jobs_arrive_in_order_inside_the_run_with_the_configured_limits(
    size: str, default: Scenario, traces: TraceSet
) -> None:
    scenario = default if size == "default" else small(default)
    w = built(scenario, traces, size)
    jobs = w.jobs
    cfg = scenario.offline
    assert len(jobs) > 0
    assert (np.diff(jobs.arrival_s) >= 0).all()
    assert jobs.arrival_s.min() >= 0.0
    assert jobs.arrival_s.max() < scenario.duration
    trace = jobs.source != SOURCE_WAVE
    assert set(np.unique(jobs.source[trace]).tolist()) == {0, 1}
    assert (jobs.duration_s[trace] >= cfg.min_duration).all()
    assert (jobs.duration_s[trace] <= cfg.max_duration).all()
    assert ((jobs.pods >= 1) & (jobs.pods <= cfg.max_pods_per_job)).all()
    assert ((jobs.cpu_milli > 0) & (jobs.memory_bytes > 0)).all()
    assert not jobs.cron[trace].any()
    assert all(len(getattr(jobs, f.name)) == len(jobs) for f in fields(OfflineJobs))


@pytest.mark.parametrize("size", ["default", "small"])
def test_the_wave_fires_at_its_time_of_day_with_the_scenarios_shape(
    size: str, default: Scenario, traces: TraceSet
) -> None:
    scenario = default if size == "default" else small(default)
    w = built(scenario, traces, size)
    wave = scenario.wave
    assert wave is not None
    # default: 00:00 is 18 h after a 06:00 start; small: 1 h after 23:00.
    expected_fire = {"default": 18 * 3600.0, "small": 3600.0}[size]
    assert w.wave_fire_s == expected_fire
    assert (wave.at - scenario.start_time_of_day) % DAY_S == expected_fire
    jobs = w.jobs
    in_wave = jobs.source == SOURCE_WAVE
    assert int(in_wave.sum()) == wave.jobs
    assert (jobs.arrival_s[in_wave] == expected_fire).all()
    assert jobs.cron[in_wave].all()
    assert (jobs.pods[in_wave] == wave.pods_per_job).all()
    assert (jobs.cpu_milli[in_wave] == wave.cpu).all()
    assert (jobs.memory_bytes[in_wave] == wave.memory).all()
    assert (jobs.duration_s[in_wave] == wave.duration).all()


def test_no_wave_when_its_time_of_day_falls_outside_the_run(
    default: Scenario, traces: TraceSet
) -> None:
    morning = small(default, start_time_of_day=6 * 3600.0)  # 06:00–08:00 misses 00:00
    w = build_workload(morning, traces)
    assert w.wave_fire_s is None
    assert not (w.jobs.source == SOURCE_WAVE).any()
    assert not w.jobs.cron.any()


# ---- trace reports -----------------------------------------------------------------------


def test_bad_rows_count_malformed_rows_and_not_rows_filtered_on_purpose() -> None:
    report = LoadReport(path="batch_task.csv")
    report.skip("status Waiting", 5)
    report.skip("status Failed", 4)
    report.skip("vm not in category", 3)
    report.skip("missing cpu", 2)
    report.skip("end before create", 1)
    assert report.rows_skipped == 15
    assert bad_rows(report) == 3


def test_the_workload_reports_the_malformed_rows_of_the_real_traces(
    default: Scenario, traces: TraceSet
) -> None:
    w = built(default, traces, "default")
    by_file = {r.path.rsplit("/", 1)[-1]: r for r in w.reports}
    batch = by_file["batch_task.csv.gz"]
    malformed = sum(n for why, n in batch.reasons.items() if not why.startswith("status "))
    assert batch.rows_skipped > malformed > 0  # unfinished tasks are filtered, not bad
    assert bad_rows(batch) == malformed
    azure = by_file["vm_cpu_readings.csv.gz"]
    assert azure.reasons.get("vm not in category", 0) > 0
    assert bad_rows(azure) == azure.rows_skipped - azure.reasons["vm not in category"]
    assert w.trace_rows_skipped == sum(bad_rows(r) for r in w.reports)
    assert w.trace_rows_skipped < sum(r.rows_skipped for r in w.reports)
