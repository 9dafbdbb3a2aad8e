"""The vectorized node usage model: one call per tick computes every node at once.

Inputs per tick are arrays over nodes (online demand from the workload's usage curves,
offline demand from the pods running there); outputs are what each group actually gets,
memory in use, and how many online pods are over their SLO bound. The model keeps the
per-tick results the report plots and the running totals the summary needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colo.sim.contention import ContentionParams, cpu_grants, interference


@dataclass
class TickResult:
    g_on: np.ndarray
    g_off: np.ndarray
    offline_slowdown: np.ndarray
    """Per node: offline CPU granted ÷ asked (1 = full speed)."""
    memory_used: np.ndarray
    violators: int
    """Online pods over their SLO bound this tick."""
    node_violators: np.ndarray
    """Per node: how many of them run there."""


class NodeUsageModel:
    """Per-node CPU and memory accounting and the contention model, vectorized over nodes.

    `online_pod_node[p]` says on which node online pod p runs (-1: not placed); online
    pods do not move during a run.
    """

    def __init__(
        self,
        *,
        cpu_capacity_milli: np.ndarray,
        memory_capacity_bytes: np.ndarray,
        online_pod_node: np.ndarray,
        online_pod_sensitivity: np.ndarray,
        online_pod_memory_bytes: np.ndarray,
        params: ContentionParams,
        slo_bound: float,
    ) -> None:
        self.capacity = cpu_capacity_milli.astype(np.float64)
        self.memory_capacity = memory_capacity_bytes.astype(np.float64)
        n = len(self.capacity)
        placed = online_pod_node >= 0
        self._pod_node = online_pod_node[placed]
        self._pod_sensitivity = online_pod_sensitivity[placed]
        self.online_pods = int(placed.sum())
        self.online_memory = np.bincount(
            self._pod_node, weights=online_pod_memory_bytes[placed], minlength=n
        )
        self.params = params
        self.slo_bound = slo_bound

    def step(
        self,
        online_demand: np.ndarray,
        offline_demand: np.ndarray,
        online_weight: np.ndarray,
        offline_weight: np.ndarray,
        offline_memory: np.ndarray,
        offline_cap: np.ndarray | None = None,
    ) -> TickResult:
        g_on, g_off = cpu_grants(
            self.capacity,
            online_demand,
            offline_demand,
            online_weight,
            offline_weight,
            offline_cap,
        )
        shared, starved = interference(self.params, self.capacity, g_on, g_off, online_demand)
        slowdown = np.divide(
            g_off, offline_demand, out=np.ones_like(g_off), where=offline_demand > 0
        )
        per_node = self._violators(shared, starved)
        return TickResult(
            g_on=g_on,
            g_off=g_off,
            offline_slowdown=np.minimum(slowdown, 1.0),
            memory_used=self.online_memory + offline_memory,
            violators=int(per_node.sum()),
            node_violators=per_node,
        )

    def _violators(self, shared: np.ndarray, starved: np.ndarray) -> np.ndarray:
        """Per node: online pods with 1 + sensitivity · shared + starved > bound."""
        n = len(self.capacity)
        if self.online_pods == 0:
            return np.zeros(n, np.int64)
        inflation = 1.0 + self._pod_sensitivity * shared[self._pod_node] + starved[self._pod_node]
        over = self._pod_node[inflation > self.slo_bound]
        return np.bincount(over, minlength=n).astype(np.int64)
