"""What happens on the simulated nodes as time passes: CPU, memory, interference.

Every tick, the vectorized `NodeUsageModel` turns online usage curves and running offline
pods into CPU grants, memory in use and SLO violations; offline pods on CPU-starved nodes
run slower (their completion moves later), and the kubelet's memory-pressure eviction
removes the newest offline pods of a node out of memory. The per-tick series and the
per-pod waits are what the summary and the report are made of. What a node's agent would
measure of the last tick (CPU granted to each group, online pods over their SLO bound) is
kept for the simulated agents (`Physics.last`, and running totals for means over longer
intervals).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from colo.sim.contention import ContentionParams
from colo.sim.engine import PRIO_MEASURE, PRIO_STATE
from colo.sim.state import ClusterState
from colo.sim.usage import NodeUsageModel, TickResult


@dataclass
class Series:
    """Per-tick measurements (filled in place)."""

    cpu_util: np.ndarray
    mem_util: np.ndarray
    online_cpu_util: np.ndarray
    offline_cpu_util: np.ndarray
    interference: np.ndarray


class Physics:
    """Moves one simulated cluster's nodes on, tick by tick (see the module docstring)."""

    def __init__(self, cluster: ClusterState) -> None:
        self.c = cluster
        scenario, online = cluster.scenario, cluster.workload.online
        c = scenario.contention
        self.usage_model = NodeUsageModel(
            cpu_capacity_milli=cluster.capacity_cpu,
            memory_capacity_bytes=cluster.capacity_memory,
            online_pod_node=cluster.online_pod_node,
            online_pod_sensitivity=online.sensitivity,
            online_pod_memory_bytes=online.memory_usage_bytes.astype(np.float64),
            params=ContentionParams(alpha=c.alpha, knee=c.knee, beta=c.beta),
            slo_bound=scenario.online.slo_inflation_bound,
        )
        ticks = len(cluster.workload.tick_s)
        self.series = Series(*(np.zeros(ticks) for _ in range(5)))
        n = len(cluster.capacity_cpu)
        self.last: TickResult | None = None
        """The last tick's outcome (None before the first)."""
        self.ticks_done = 0
        self.granted_online_total = np.zeros(n)
        """Per node: online cpu granted, summed over the ticks done (millicore-ticks)."""
        self.granted_offline_total = np.zeros(n)

    def start(self) -> None:
        for k, t in enumerate(self.c.workload.tick_s):
            self.c.loop.schedule(float(t), partial(self.tick, k), priority=PRIO_MEASURE)

    def tick(self, k: int) -> None:
        sc = self.c.scenario
        off_demand = self.c.offline_cpu * sc.offline.cpu_usage_to_request
        off_memory = self.c.offline_memory * sc.offline.memory_usage_to_request
        result = self.usage_model.step(
            online_demand=self.c.online_usage[:, k].astype(np.float64),
            offline_demand=off_demand,
            online_weight=self.c.online_cpu_request,
            offline_weight=self._offline_weight(),
            offline_memory=off_memory,
            offline_cap=self.c.offline_cap,
        )
        self.last = result
        self.ticks_done += 1
        self.granted_online_total += result.g_on
        self.granted_offline_total += result.g_off
        cap_total = float(self.c.capacity_cpu.sum())
        s = self.series
        s.online_cpu_util[k] = float(result.g_on.sum()) / cap_total
        s.offline_cpu_util[k] = float(result.g_off.sum()) / cap_total
        s.cpu_util[k] = s.online_cpu_util[k] + s.offline_cpu_util[k]
        used_memory = np.minimum(result.memory_used, self.c.capacity_memory)
        s.mem_util[k] = float(used_memory.sum()) / float(self.c.capacity_memory.sum())
        online_pods = self.usage_model.online_pods
        s.interference[k] = result.violators / online_pods if online_pods else 0.0
        self._slow_down(result.offline_slowdown)
        self._relieve_memory(result.memory_used)

    def _offline_weight(self) -> np.ndarray:
        """The offline group's cpu weight per node: per requested millicore, or the offline
        box's one weight wherever offline pods run (SCHED_IDLE: `offline_box_weight`)."""
        box = self.c.offline_box_weight
        if box is None:
            return self.c.offline_cpu * self.c.offline_weight_per_milli
        return np.where(self.c.offline_running > 0, box, 0.0)

    def _slow_down(self, slowdown: np.ndarray) -> None:
        """Offline pods on starved nodes run at `rate` = slowdown until the next tick.

        A pod whose end (at full speed) is w seconds away finishes at now + w / rate if
        that is within the step; otherwise it does rate · step of work this step and
        the rest at full speed, so its end moves by step · (1 − rate). The rate is
        re-read every tick; a pod that starts between ticks runs at full speed until
        the next one.
        """
        step = self.c.scenario.step
        now = self.c.loop.now()
        for node in np.flatnonzero(slowdown < 0.999):
            rate = float(slowdown[node])
            for index in sorted(self.c._running[node]):
                pod = self.c.records[index]
                left = pod.end_s - now
                if left <= 0:
                    continue
                if rate <= 0:
                    pod.end_s += step
                elif left <= rate * step:
                    pod.end_s = now + left / rate
                else:
                    pod.end_s += step * (1.0 - rate)
                if pod.end_handle is not None:
                    pod.end_handle.cancel()
                pod.end_handle = self.c.loop.schedule(
                    pod.end_s, partial(self.c.finish_pod, pod), priority=PRIO_STATE
                )

    def _relieve_memory(self, memory_used: np.ndarray) -> None:
        """The kubelet's memory-pressure eviction: newest offline pods go first."""
        usage_ratio = self.c.scenario.offline.memory_usage_to_request
        for node in np.flatnonzero(memory_used > self.c.capacity_memory):
            excess = float(memory_used[node] - self.c.capacity_memory[node])
            victims = sorted(self.c._running[node], key=lambda i: -self.c.records[i].started_s)
            for index in victims:
                if excess <= 0:
                    break
                pod = self.c.records[index]
                excess -= pod.memory_bytes * usage_ratio
                self.c.evict_pod(pod, "node memory pressure")
