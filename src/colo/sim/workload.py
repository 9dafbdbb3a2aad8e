"""Turn real traces and a scenario into one deterministic workload shared by every policy.

The workload is policy-independent: the same node shapes, the same online pods with the
same usage curves, the same offline jobs arriving at the same times. Policies differ only
in where pods go and how fast the control plane moves them.

Online pods. Each online pod has a CPU request drawn from `online.pod_cpu` and a usage
curve: a trace series (alibaba2018 machine CPU at 10 s, azure2019 Interactive VM CPU at
5 min) resampled onto the tick grid from a random starting offset, divided by the series'
99th percentile so that its peak maps to `peak_to_request` × request. Pods are added until
their requests reach `request_share` of the cluster's allocatable CPU: online services
sized for peak, so usage sits far below requests most of the day.

Offline jobs. Trace tasks (alibaba2017 batch_task) and BE pods (alibaba_k8s_2023) keep
their shape (instances, CPU and memory per instance, duration) and their arrival order.
The arrival stream is replayed from a random offset, stretched onto the scenario window,
and thinned (or overlaid with further offset copies) so that the offered offline CPU
(requests × duration) equals `target_load` of the cluster capacity. `instances_per_pod`
trace instances form one simulated pod (documented coarsening that keeps a simulated day
tractable); a job has at most `max_pods_per_job` pods.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from colo.core.errors import InvalidInput
from colo.sim.scenario import Scenario
from colo.traces import TraceSet
from colo.traces.alibaba2017 import load_batch_tasks
from colo.traces.alibaba2018 import load_machine_meta, load_machine_usage
from colo.traces.alibaba_k8s_2023 import load_nodes, load_pods
from colo.traces.azure2019 import load_vm_cpu
from colo.traces.common import LoadReport, UsageSeries, bad_rows, peak_normalised

DAY_S = 86400.0


@dataclass
class OnlineWorkload:
    cpu_milli: np.ndarray  # [P] request
    memory_bytes: np.ndarray  # [P] request
    usage: np.ndarray  # [P, T] CPU demand in millicores per tick (float32)
    memory_usage_bytes: np.ndarray  # [P] steady memory use
    sensitivity: np.ndarray  # [P] multiplier of shared-resource interference
    series: list[str]  # [P] which trace series drives the pod


@dataclass
class OfflineJobs:
    """Columnar: one row per job. A job's pods are identical."""

    arrival_s: np.ndarray  # seconds since scenario start
    pods: np.ndarray
    cpu_milli: np.ndarray  # per pod
    memory_bytes: np.ndarray  # per pod
    duration_s: np.ndarray  # per pod, at full speed
    source: np.ndarray  # 0 alibaba2017, 1 alibaba_k8s_2023, 2 wave
    cron: np.ndarray  # bool: fired by a CronJob (the 00:00 wave)

    def __len__(self) -> int:
        return len(self.arrival_s)


@dataclass
class Workload:
    node_cpu_milli: np.ndarray  # [N] capacity
    node_memory_bytes: np.ndarray  # [N] capacity
    online: OnlineWorkload
    jobs: OfflineJobs
    tick_s: np.ndarray  # [T] tick times since scenario start
    wave_fire_s: float | None
    reports: list[LoadReport] = field(default_factory=list)

    @property
    def trace_rows_skipped(self) -> int:
        """Malformed rows skipped over all files read (rows filtered on purpose not counted)."""
        return sum(bad_rows(r) for r in self.reports)


def build_workload(scenario: Scenario, traces: TraceSet) -> Workload:
    rng = np.random.default_rng(np.random.SeedSequence([scenario.seed, 0x636F6C6F]))
    reports: list[LoadReport] = []
    node_cpu, node_mem = _node_shapes(scenario, traces, rng, reports)
    ticks = np.arange(0.0, scenario.duration, scenario.step)
    online = _online(scenario, traces, rng, reports, node_cpu, node_mem, len(ticks))
    jobs, wave_fire = _offline(scenario, traces, rng, reports, node_cpu)
    return Workload(
        node_cpu_milli=node_cpu,
        node_memory_bytes=node_mem,
        online=online,
        jobs=jobs,
        tick_s=ticks,
        wave_fire_s=wave_fire,
        reports=reports,
    )


def _node_shapes(
    scenario: Scenario,
    traces: TraceSet,
    rng: np.random.Generator,
    reports: list[LoadReport],
) -> tuple[np.ndarray, np.ndarray]:
    shapes = scenario.cluster.shapes
    n = scenario.cluster.nodes
    if shapes.source == "fixed":
        return np.full(n, shapes.cpu, np.int64), np.full(n, shapes.memory, np.int64)
    if shapes.source == "alibaba_k8s_2023":
        pool, report = load_nodes(traces.k8s_node_list)
    else:
        pool, report = load_machine_meta(
            traces.machine_meta, max_memory_gib=shapes.max_memory / 2**30
        )
    reports.append(report)
    usable = [s for s in pool if s.cpu_milli >= shapes.min_cpu and s.memory_bytes > 0]
    if not usable:
        raise InvalidInput(
            "no node shape in the trace is large enough",
            obj=f"scenario {scenario.name}",
            field="cluster.shapes.min_cpu",
            value=shapes.min_cpu,
        )
    pick = rng.integers(0, len(usable), size=n)
    cpu = np.array([usable[i].cpu_milli for i in pick], dtype=np.int64)
    mem = np.array([usable[i].memory_bytes for i in pick], dtype=np.int64)
    return cpu, mem


def _usage_patterns(
    scenario: Scenario, traces: TraceSet, reports: list[LoadReport]
) -> list[tuple[str, np.ndarray]]:
    """Trace CPU series on the tick grid over their whole span, peak (p99) normalised to 1."""
    series: dict[str, UsageSeries] = {}
    if "alibaba2018" in scenario.online.sources:
        machines, report = load_machine_usage(traces.machine_usage)
        reports.append(report)
        series.update({f"alibaba2018/{k}": v for k, v in machines.items()})
    if "azure2019" in scenario.online.sources:
        vms, report = load_vm_cpu(
            traces.azure_readings, traces.azure_vmtable, category="Interactive"
        )
        reports.append(report)
        series.update({f"azure2019/{k[:12]}": v for k, v in vms.items()})
    patterns: list[tuple[str, np.ndarray]] = []
    step = scenario.step
    for name in sorted(series):
        s = series[name]
        if len(s.t_s) < scenario.online.min_samples:
            continue
        pattern = peak_normalised(s, step)
        if pattern is None:
            continue
        patterns.append((name, pattern.astype(np.float32)))
    if not patterns:
        raise InvalidInput(
            "no usable online usage series in the traces",
            obj=f"scenario {scenario.name}",
            field="online.sources",
            expected=f"series with at least {scenario.online.min_samples} samples",
        )
    return patterns


def _online(
    scenario: Scenario,
    traces: TraceSet,
    rng: np.random.Generator,
    reports: list[LoadReport],
    node_cpu: np.ndarray,
    node_mem: np.ndarray,
    ticks: int,
) -> OnlineWorkload:
    cfg = scenario.online
    patterns = _usage_patterns(scenario, traces, reports)
    allocatable = float(np.sum(node_cpu - scenario.cluster.system_reserved_cpu))
    target = cfg.request_share * allocatable
    sizes = np.array(cfg.pod_cpu, dtype=np.int64)
    # Draw more sizes than needed in one go, keep the prefix whose sum reaches the target.
    draws = sizes[rng.integers(0, len(sizes), size=int(target / sizes.min()) + 1)]
    count = int(np.searchsorted(np.cumsum(draws), target)) + 1
    cpu = draws[:count]
    memory = cpu * cfg.cpu_to_memory_bytes_per_milli
    usage = np.empty((count, ticks), dtype=np.float32)
    names: list[str] = []
    which = rng.integers(0, len(patterns), size=count)
    starts = rng.random(count)
    for i in range(count):
        name, pattern = patterns[int(which[i])]
        offset = int(starts[i] * len(pattern))
        idx = (offset + np.arange(ticks)) % len(pattern)
        usage[i] = pattern[idx] * np.float32(cpu[i] * cfg.peak_to_request)
        names.append(name)
    mem_use = memory * cfg.memory_usage_to_request * rng.uniform(0.9, 1.1, size=count)
    c = scenario.contention
    sensitivity = rng.uniform(c.sensitivity_min, c.sensitivity_max, size=count)
    return OnlineWorkload(
        cpu_milli=cpu,
        memory_bytes=memory.astype(np.int64),
        usage=usage,
        memory_usage_bytes=mem_use.astype(np.int64),
        sensitivity=sensitivity,
        series=names,
    )


def _trace_jobs(
    scenario: Scenario,
    traces: TraceSet,
    reports: list[LoadReport],
) -> dict[int, tuple[np.ndarray, ...]]:
    """Per source: (arrival_s, pods, cpu_milli, memory_bytes, duration_s) in trace time."""
    cfg = scenario.offline
    out: dict[int, tuple[np.ndarray, ...]] = {}
    if "alibaba2017" in cfg.sources:
        tasks, report = load_batch_tasks(traces.batch_task)
        reports.append(report)
        instances = tasks.instances.astype(np.int64)
        pods = np.minimum(-(-instances // cfg.instances_per_pod), cfg.max_pods_per_job)
        per_pod = np.minimum(instances, cfg.instances_per_pod)
        out[0] = (
            tasks.create_s.astype(np.float64),
            pods,
            tasks.cpu_milli.astype(np.int64) * per_pod,
            (tasks.memory_fraction * cfg.trace_max_memory * per_pod).astype(np.int64),
            (tasks.end_s - tasks.create_s).astype(np.float64),
        )
    if "alibaba_k8s_2023" in cfg.sources:
        pods_t, report = load_pods(traces.k8s_pod_list)
        reports.append(report)
        be = (pods_t.qos == "BE") & np.isfinite(pods_t.deletion_s) & (pods_t.cpu_milli > 0)
        out[1] = (
            pods_t.creation_s[be].astype(np.float64),
            np.ones(int(be.sum()), dtype=np.int64),
            pods_t.cpu_milli[be].astype(np.int64),
            pods_t.memory_bytes[be].astype(np.int64),
            (pods_t.deletion_s[be] - pods_t.creation_s[be]).astype(np.float64),
        )
    return out


def _replay(
    columns: tuple[np.ndarray, ...],
    needed_core_s: float,
    duration_s: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, ...]:
    """Replay a trace's arrivals onto [0, duration_s) so its offered load is `needed_core_s`."""
    arrival, pods, cpu, mem, dur = columns
    t0 = float(arrival.min())
    span = max(float(arrival.max()) - t0, 1.0)
    load = float(np.sum(pods * cpu / 1000.0 * dur))
    if load <= 0 or needed_core_s <= 0:
        return tuple(c[:0] for c in columns)
    ratio = needed_core_s / load * (span / duration_s) * (duration_s / span)
    copies = int(np.ceil(ratio))
    keep_p = ratio / copies
    parts: list[tuple[np.ndarray, ...]] = []
    for _ in range(copies):
        offset = rng.uniform(0.0, span)
        t = ((arrival - t0 + offset) % span) * (duration_s / span)
        keep = rng.random(len(t)) < keep_p
        parts.append((t[keep], pods[keep], cpu[keep], mem[keep], dur[keep]))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(5))


def _offline(
    scenario: Scenario,
    traces: TraceSet,
    rng: np.random.Generator,
    reports: list[LoadReport],
    node_cpu: np.ndarray,
) -> tuple[OfflineJobs, float | None]:
    cfg = scenario.offline
    capacity_core_s = float(node_cpu.sum()) / 1000.0 * scenario.duration
    sources = _trace_jobs(scenario, traces, reports)
    shares = {0: 1.0 - cfg.k8s_be_share, 1: cfg.k8s_be_share}
    if len(sources) == 1:
        shares = dict.fromkeys(sources, 1.0)
    cols: list[list[np.ndarray]] = [[] for _ in range(7)]
    for source in sorted(sources):
        arrival, pods, cpu, mem, dur = sources[source]
        ok = (dur >= cfg.min_duration) & (cpu > 0) & (mem > 0)
        dur = np.minimum(dur, cfg.max_duration)
        trimmed = (arrival[ok], pods[ok], cpu[ok], mem[ok], dur[ok])
        needed = cfg.target_load * shares[source] * capacity_core_s
        a, p, c, m, d = _replay(trimmed, needed, scenario.duration, rng)
        for i, col in enumerate((a, p, c, m, d)):
            cols[i].append(col)
        cols[5].append(np.full(len(a), source, np.int8))
        cols[6].append(np.zeros(len(a), bool))
    wave_fire = _wave_fire_s(scenario)
    if scenario.wave is not None and wave_fire is not None and scenario.wave.jobs > 0:
        w = scenario.wave
        n = w.jobs
        cols[0].append(np.full(n, wave_fire))
        cols[1].append(np.full(n, w.pods_per_job, np.int64))
        cols[2].append(np.full(n, w.cpu, np.int64))
        cols[3].append(np.full(n, w.memory, np.int64))
        cols[4].append(np.full(n, w.duration))
        cols[5].append(np.full(n, 2, np.int8))
        cols[6].append(np.ones(n, bool))
    merged = [np.concatenate(c) for c in cols]
    order = np.argsort(merged[0], kind="stable")
    jobs = OfflineJobs(*(c[order] for c in merged))
    return jobs, wave_fire


def _wave_fire_s(scenario: Scenario) -> float | None:
    if scenario.wave is None:
        return None
    offset = (scenario.wave.at - scenario.start_time_of_day) % DAY_S
    return offset if offset < scenario.duration else None
