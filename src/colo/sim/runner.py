"""Run one scenario under several policies on the same workload, and measure each run."""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from queue import Empty
from typing import Any

import numpy as np

from colo.core.gcpause import cyclic_gc_paused
from colo.sim.cluster import SimCluster
from colo.sim.engine import EventLoop
from colo.sim.policies import SimPolicy, make_policy
from colo.sim.results import GUARD_METRICS, PolicyResult, SimulationResult
from colo.sim.scenario import Scenario
from colo.sim.workload import Workload, build_workload
from colo.traces import TraceSet
from colo.traces.common import bad_rows

# progress(policy, simulated seconds done, simulated seconds in all)
Progress = Callable[[str, float, float], None]

CHUNK_S = 1800.0  # progress granularity in simulated seconds


def run_scenario(
    scenario: Scenario,
    policies: Sequence[str],
    *,
    traces: TraceSet,
    progress: Progress | None = None,
    jobs: int = 1,
) -> SimulationResult:
    """Run every policy on the same workload; with `jobs` > 1, in parallel processes.

    Worker processes are handed the parent's workload (pickled: quicker than reading the
    traces again), so results do not depend on `jobs`.
    """
    made = [make_policy(name, scenario) for name in policies]  # unknown names fail first
    workload = build_workload(scenario, traces)
    names = [p.name for p in made]
    if jobs > 1 and len(names) > 1:
        # Longest first: with fewer workers than policies, the longest run should not be
        # the one left to start when the others are done.
        longest_first = [p.name for p in sorted(made, key=lambda p: -p.relative_cost)]
        results = _run_parallel(scenario, workload, longest_first, jobs, progress)
    else:
        results = {n: run_policy(scenario, workload, n, progress=progress) for n in names}
    return SimulationResult(
        scenario=scenario.name,
        seed=scenario.seed,
        start_time_of_day_s=scenario.start_time_of_day,
        duration_s=scenario.duration,
        nodes=len(workload.node_cpu_milli),
        trace_rows_skipped=workload.trace_rows_skipped,
        trace_files={
            _short(r.path): {
                "rows_read": r.rows_read,
                "rows_skipped": bad_rows(r),
                "rows_filtered": r.rows_skipped - bad_rows(r),
            }
            for r in workload.reports
        },
        policies={n: results[n] for n in names},
        wave_fire_s=workload.wave_fire_s,
    )


def _short(path: str) -> str:
    p = Path(path)
    return f"{p.parent.name}/{p.name}"


_worker_queue: Any = None


def _init_worker(queue: Any) -> None:
    global _worker_queue
    _worker_queue = queue


def _report_to_parent(policy: str, done_s: float, total_s: float) -> None:
    _worker_queue.put((policy, done_s, total_s))


def _worker(scenario: Scenario, workload: Workload, name: str) -> PolicyResult:
    return run_policy(scenario, workload, name, progress=_report_to_parent)


def _run_parallel(
    scenario: Scenario,
    workload: Workload,
    names: list[str],
    jobs: int,
    progress: Progress | None,
) -> dict[str, PolicyResult]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    workers = min(jobs, len(names))
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(queue,)
    )
    try:
        futures = {pool.submit(_worker, scenario, workload, n): n for n in names}
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(queue, progress)
        _drain(queue, progress)
        return {futures[f]: f.result() for f in futures}
    finally:
        # Every result is in (or a run failed): the workers' exit, which tears down a
        # simulated cluster each (a second), need not hold up the report.
        pool.shutdown(wait=False, cancel_futures=True)


def _drain(queue: Any, progress: Progress | None) -> None:
    while True:
        try:
            update = queue.get_nowait()
        except Empty:
            return
        if progress is not None:
            progress(*update)


def run_policy(
    scenario: Scenario,
    workload: Workload,
    name: str,
    *,
    progress: Progress | None = None,
) -> PolicyResult:
    end = float(workload.tick_s[-1]) + scenario.step
    _, cluster = simulate(scenario, workload, name, until_s=end, progress=progress)
    return measure(scenario, workload, cluster, name, end)


def simulate(
    scenario: Scenario,
    workload: Workload,
    name: str,
    *,
    until_s: float,
    progress: Progress | None = None,
) -> tuple[SimPolicy, SimCluster]:
    """Run policy `name` from the scenario start up to `until_s`; the policy and cluster."""
    policy = make_policy(name, scenario)
    loop = EventLoop()
    pools = policy.node_pools(workload)
    online_node = policy.place_online(workload, pools)
    cluster = SimCluster(
        loop=loop,
        scenario=scenario,
        workload=workload,
        online_pod_node=online_node,
        node_pools=pools,
    )
    policy.install(cluster, loop)
    cluster.start_ticks()
    end = min(until_s, float(workload.tick_s[-1]) + scenario.step)
    t = 0.0
    # A simulated day makes millions of short-lived objects (views, events, commands)
    # and keeps a million alive (pods, histories): with the collector on, its walks of
    # the live ones were a tenth of the `colo` policy's default day (4 of 40 s on the
    # 2-core machine, 2026-12-05). None of them is cyclic garbage: reference counting
    # frees them all (`tests/sim/test_sim_run.py` holds a run to leaving none behind).
    with cyclic_gc_paused():
        while t < end:
            t = min(t + CHUNK_S, end)
            loop.run(t)
            if progress is not None:
                progress(name, t, end)
    return policy, cluster


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else 0.0


def cron_pool_nodes(scenario: Scenario, workload: Workload) -> int:
    """Standard nodes a pool reserved for the CronJob work needs so every run starts on
    time: its peak of concurrently running requests (cpu and memory) over one node's
    allocatable (the median node less the system reservation)."""
    jobs = workload.jobs
    cron = jobs.cron
    if not cron.any():
        return 0
    starts = jobs.arrival_s[cron]
    times = np.concatenate([starts + jobs.duration_s[cron], starts])
    is_start = np.concatenate([np.zeros(len(starts), bool), np.ones(len(starts), bool)])
    order = np.lexsort((is_start, times))  # at one instant, runs end before others start
    node_cpu = float(np.median(workload.node_cpu_milli)) - scenario.cluster.system_reserved_cpu
    node_memory = (
        float(np.median(workload.node_memory_bytes)) - scenario.cluster.system_reserved_memory
    )
    need = 0
    for per_pod, per_node in ((jobs.cpu_milli, node_cpu), (jobs.memory_bytes, node_memory)):
        demand = (per_pod[cron] * jobs.pods[cron]).astype(np.float64)
        delta = np.concatenate([-demand, demand])[order]
        need = max(need, math.ceil(float(np.cumsum(delta).max()) / max(per_node, 1.0)))
    return need


def cron_costs(
    scenario: Scenario, workload: Workload, core_hours: np.ndarray
) -> dict[str, float | int]:
    """What the CronJob work cost as it ran (pay-per-use core-hours on virtual nodes at
    their price, core-hours on standard nodes at 1) against a reserved pool sized for it
    and paid for the whole run (`cron_pool_nodes`); all in standard-node core-hours."""
    standard_h, virtual_h = float(core_hours[1, 0]), float(core_hours[1, 1])
    cost = standard_h + virtual_h * scenario.costs.virtual_core_hour
    pool = cron_pool_nodes(scenario, workload)
    node_cores = float(np.median(workload.node_cpu_milli)) / 1000.0
    pool_cost = pool * node_cores * scenario.duration / 3600.0
    nodes = len(workload.node_cpu_milli)
    return {
        "cron_core_hours": standard_h + virtual_h,
        "cron_virtual_share": virtual_h / (standard_h + virtual_h) if virtual_h else 0.0,
        "cron_cost_core_hours": cost,
        "cron_pool_nodes": pool,
        "cron_pool_share": pool / (nodes + pool) if pool else 0.0,
        "cron_pool_cost_core_hours": pool_cost,
        "cron_cost_saving": 1.0 - cost / pool_cost if pool_cost else 0.0,
    }


def measure(
    scenario: Scenario, workload: Workload, cluster: SimCluster, name: str, end_s: float
) -> PolicyResult:
    """The summary figures of one run. Waits of work still pending at the end count as
    their wait so far (censored), so a policy cannot look good by never starting work."""
    jobs = workload.jobs
    due = jobs.arrival_s < end_s
    slot_job = np.repeat(np.arange(len(jobs)), jobs.pods)
    slot_due = jobs.arrival_s[slot_job]
    started = cluster.slot_started
    waited = np.where(np.isnan(started), end_s, started) - slot_due
    counted = due[slot_job]
    cron = jobs.cron[slot_job]
    offline_waits = waited[counted & ~cron]
    wave_delays = waited[counted & cron]
    bound = cluster.slot_bound
    wave_binds = (np.where(np.isnan(bound), end_s, bound) - slot_due)[counted & cron]
    s = cluster.series
    online_unplaced = int(np.count_nonzero(cluster.online_pod_node < 0))
    metrics: dict[str, float | int] = {
        "cpu_util_mean": float(s.cpu_util.mean()),
        "cpu_util_p95": _percentile(s.cpu_util, 95),
        "mem_util_mean": float(s.mem_util.mean()),
        "online_interference_rate": float(s.interference.mean()),
        "offline_jobs_completed": int(
            np.count_nonzero((cluster.jobs_pods_done == jobs.pods) & ~jobs.cron)
        ),
        "offline_wait_p50_s": _percentile(offline_waits, 50),
        "offline_wait_p95_s": _percentile(offline_waits, 95),
        "evictions": int(cluster.evictions),
        "node_hours": float(len(workload.node_cpu_milli) * scenario.duration / 3600.0),
        "job_start_delay_p99_s": _percentile(wave_delays, 99),
        "job_start_delay_p50_s": _percentile(wave_delays, 50),
        "job_start_delay_max_s": float(wave_delays.max()) if len(wave_delays) else 0.0,
        "job_bind_delay_p99_s": _percentile(wave_binds, 99),
        **cron_costs(scenario, workload, cluster.core_hours(end_s)),
        **dict.fromkeys(GUARD_METRICS, 0),
    }
    for figures in cluster.figure_sources:
        metrics.update(figures())
    series: dict[str, np.ndarray] = {}
    for source in cluster.series_sources:
        series.update(source())
    extra: dict[str, int | float] = {
        "online_pods": len(cluster.online_pod_node),
        "online_pods_unplaced": online_unplaced,
        "admission_failures": int(cluster.admission_failures),
    }
    for diagnostics in cluster.diagnostic_sources:
        extra.update(diagnostics())
    return PolicyResult(
        name=name,
        metrics=metrics,
        t_s=workload.tick_s.copy(),
        cpu_util=s.cpu_util,
        mem_util=s.mem_util,
        online_cpu_util=s.online_cpu_util,
        offline_cpu_util=s.offline_cpu_util,
        interference=s.interference,
        offline_waits_s=offline_waits,
        wave_start_delays_s=wave_delays,
        extra_series=series,
        diagnostics=extra,
    )
