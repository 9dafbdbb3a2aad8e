"""Every node's colo-agent (its reclaim half) at simulated time.

Each `report_interval` the agents sample their online pods' CPU usage, feed colo's real
peak estimator (`RisePeakEstimatorBank`, one series per online pod, all nodes in one
vectorized bank), compute every node's reclaimable capacity with the real calculator
(`colo.predict.reclaim.compute_nodes`, the vectorized twin of `compute`), and let each
node's real `BatchReporter` decide whether to patch `colo.io/batch-*` through the
simulated cluster's `NodeStatusPatcher` port. `explain(node)` gives `compute`'s full
explanation for one node at the last report (for `colo explain node`).

Online pods are modelled as LS (the traces say nothing of their tiers); their memory is
steady in the model, so its peak is its use.
"""

from __future__ import annotations

import numpy as np

from colo.agent.report import Batch, BatchReporter, ReportOptions
from colo.core.qos import QoSTier
from colo.core.resources import Resources
from colo.predict.options import HistogramOptions
from colo.predict.peak import RisePeakEstimatorBank
from colo.predict.reclaim import (
    NodeUsage,
    PodUsage,
    Reclaim,
    ReclaimOptions,
    ReclaimPolicy,
    compute,
    compute_nodes,
)
from colo.sim.cluster import ONLINE_NAMESPACE, SimCluster, complete
from colo.sim.engine import PRIO_CONTROL, EventLoop
from colo.sim.scenario import ColoPolicy

RECENT_S = 300.0
PREDICTED_PEAK = "predicted online peak (share of cluster cpu)"
RECLAIMED = "reclaimed batch cpu (share of cluster cpu)"


class SimReclaimAgents:
    def __init__(self, cluster: SimCluster, loop: EventLoop, config: ColoPolicy) -> None:
        self.cluster = cluster
        self.loop = loop
        self.config = config
        online = cluster.workload.online
        placed = cluster.online_pod_node >= 0
        self.pods = np.flatnonzero(placed)
        self.pod_node = cluster.online_pod_node[placed].astype(np.intp)
        self.request_cpu = online.cpu_milli[self.pods].astype(np.int64)
        self.request_memory = online.memory_bytes[self.pods].astype(np.int64)
        self.memory_use = online.memory_usage_bytes[self.pods].astype(np.int64)
        max_cores = max(1.0, float(self.request_cpu.max(initial=1000)) / 1000.0 * 2)
        options = HistogramOptions(
            max_value=max_cores, first_bucket_size=0.01, ratio=1.05, half_life_s=24 * 3600.0
        )
        interval = config.report_interval
        self.bank = RisePeakEstimatorBank(
            len(self.pods),
            options=options,
            interval_s=interval,
            horizon_s=max(config.horizon, interval),
            percentile=0.95,
            window=max(1, round(RECENT_S / interval)),
            release_half_life_s=600.0,
        )
        self.options = ReclaimOptions(
            cpu_policy=ReclaimPolicy(config.cpu_policy),
            memory_policy=ReclaimPolicy(config.memory_policy),
            safety_margin=config.safety_margin,
            min_history_s=config.min_history,
            stale_after_s=3 * interval,
        )
        report = ReportOptions(
            threshold=config.report_threshold,
            min_interval_s=interval,
            heartbeat_interval_s=interval,
            heartbeat_timeout_s=4 * interval,
        )
        self.reporters = [
            BatchReporter(report, cpu_capacity=c, memory_capacity=m)
            for c, m in zip(
                cluster.capacity_cpu.tolist(), cluster.capacity_memory.tolist(), strict=True
            )
        ]
        self.started_s: float | None = None
        self.last_at: float | None = None
        self.peak_cpu = np.zeros(len(self.pods), np.int64)
        # inputs of the calculator that do not change from report to report
        self._no_lse = np.zeros(len(self.pods), bool)
        self._history = np.zeros(len(self.pods))
        self._metrics_at = np.zeros(len(cluster.capacity_cpu))
        self.patches = 0
        self.computed_cpu = np.zeros(len(cluster.capacity_cpu), np.int64)  # at the last report
        self.computed_memory = np.zeros(len(cluster.capacity_cpu), np.int64)
        ticks = len(cluster.workload.tick_s)
        self.predicted = np.full(ticks, np.nan)  # predicted online peak, share of capacity
        self.reclaimed = np.full(ticks, np.nan)  # published batch cpu, share of capacity

    def start(self) -> None:
        self.loop.schedule(0.0, self._report, priority=PRIO_CONTROL)

    def _tick_index(self, now: float) -> int:
        ticks = self.cluster.workload.tick_s
        at = int(np.searchsorted(ticks, now, side="right")) - 1
        return min(len(ticks) - 1, max(0, at))

    def _report(self) -> None:
        c = self.cluster
        now = self.loop.now()
        if self.started_s is None:
            self.started_s = now
        k = self._tick_index(now)
        usage = c.online_usage_per_pod(self.pods, k)  # millicores
        est = self.bank.update(usage / 1000.0, now)
        self.peak_cpu = np.ceil(est * 1000.0).astype(np.int64)
        self.last_at = now
        self._history.fill(now - self.started_s)
        self._metrics_at.fill(now)
        cpu, mem, on_cpu, _ = compute_nodes(
            capacity_cpu=c.capacity_cpu,
            capacity_memory=c.capacity_memory,
            allocatable_cpu=c.alloc_cpu,
            allocatable_memory=c.alloc_memory,
            pod_node=self.pod_node,
            pod_lse=self._no_lse,
            request_cpu=self.request_cpu,
            request_memory=self.request_memory,
            peak_cpu=self.peak_cpu,
            peak_memory=self.memory_use,
            history_s=self._history,
            has_peak=self.bank.warm,  # a margin not yet learned is no prediction
            metrics_at_s=self._metrics_at,
            now_s=now,
            opts=self.options,
        )
        self.computed_cpu, self.computed_memory = cpu, mem
        for node, reporter in enumerate(self.reporters):
            want = Batch(int(cpu[node]), int(mem[node]))
            decision = reporter.decide(want, now)
            if decision.publish is None:
                continue
            values = decision.publish.as_extended()
            complete(
                c.patch_extended_resources(c.node_names[node], capacity=values, allocatable=values)
            )
            reporter.published_ok(decision.publish, now)
            self.patches += 1
        total = float(c.capacity_cpu.sum())
        self.predicted[k] = float(on_cpu.sum()) / total
        self.reclaimed[k] = float(c.batch_alloc_cpu.sum()) / total
        self.loop.after(self.config.report_interval, self._report, priority=PRIO_CONTROL)

    def series(self) -> dict[str, np.ndarray]:
        """Forward-filled onto the tick grid, for the report."""
        return {
            PREDICTED_PEAK: _forward_fill(self.predicted),
            RECLAIMED: _forward_fill(self.reclaimed),
        }

    def explain(self, node_name: str) -> Reclaim:
        """`compute`'s term-by-term explanation of one node at the last report."""
        c = self.cluster
        node = c.node_index(node_name)
        if node is None:
            raise KeyError(node_name)
        now = self.last_at if self.last_at is not None else self.loop.now()
        history = now - (self.started_s if self.started_s is not None else now)
        warm = self.bank.warm
        pods = [
            PodUsage(
                f"{ONLINE_NAMESPACE}/online-{int(self.pods[j])}",
                QoSTier.LS,
                request=Resources.of(
                    cpu_milli=int(self.request_cpu[j]), memory_bytes=int(self.request_memory[j])
                ),
                peak=Resources.of(
                    cpu_milli=int(self.peak_cpu[j]), memory_bytes=int(self.memory_use[j])
                )
                if warm[j]
                else None,
                history_s=history,
            )
            for j in np.flatnonzero(self.pod_node == node)
        ]
        usage = NodeUsage(
            node_name,
            capacity=Resources.of(
                cpu_milli=int(c.capacity_cpu[node]), memory_bytes=int(c.capacity_memory[node])
            ),
            allocatable=Resources.of(
                cpu_milli=int(c.alloc_cpu[node]), memory_bytes=int(c.alloc_memory[node])
            ),
            pods=pods,
            metrics_at_s=self.last_at,
        )
        return compute(usage, now, self.options)


def _forward_fill(values: np.ndarray) -> np.ndarray:
    """Each NaN takes the last value before it (leading NaNs stay NaN)."""
    seen = np.where(np.isnan(values), 0, np.arange(len(values)))
    return values[np.maximum.accumulate(seen)]


def install(cluster: SimCluster, loop: EventLoop, config: ColoPolicy) -> SimReclaimAgents:
    agents = SimReclaimAgents(cluster, loop, config)
    agents.start()
    cluster.series_sources.append(agents.series)
    return agents
