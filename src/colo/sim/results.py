"""What one simulation run produces: per policy, the summary figures and the time series.

`summary.json` (see `colo.sim.summary`) and the HTML report (`colo.report`) are both
rendered from these values; nothing else feeds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# The per-policy figures in summary.json, in schema order. Units are in the names where
# they could be ambiguous; utilizations are fractions 0..1 of cluster capacity.
POLICY_METRICS: tuple[str, ...] = (
    "cpu_util_mean",
    "cpu_util_p95",
    "mem_util_mean",
    "online_interference_rate",
    "offline_jobs_completed",
    "offline_wait_p50_s",
    "offline_wait_p95_s",
    "evictions",
    "node_hours",
    "job_start_delay_p99_s",
    "job_start_delay_p50_s",
    "job_start_delay_max_s",
    "job_bind_delay_p99_s",
    "cron_core_hours",
    "cron_virtual_share",
    "cron_cost_core_hours",
    "cron_pool_nodes",
    "cron_pool_share",
    "cron_pool_cost_core_hours",
    "cron_cost_saving",
    "guard_transitions",
    "guard_evictions",
    "guard_starvation_evictions",
    "guard_forbid_node_s",
)

#: The protection loop's figures (`colo.sim.protect_agent`); 0 in a run without one.
GUARD_TRANSITIONS = "guard_transitions"
GUARD_EVICTIONS = "guard_evictions"
GUARD_STARVATION_EVICTIONS = "guard_starvation_evictions"
GUARD_FORBID_NODE_S = "guard_forbid_node_s"
GUARD_METRICS = (
    GUARD_TRANSITIONS,
    GUARD_EVICTIONS,
    GUARD_STARVATION_EVICTIONS,
    GUARD_FORBID_NODE_S,
)

#: Names of the `extra_series` the colo policy's simulated agents publish (the report
#: draws them together as its reclaim plot).
PREDICTED_PEAK = "predicted online peak (share of cluster cpu)"
RECLAIMED = "reclaimed batch cpu (share of cluster cpu)"


def guard_level_series(level: str) -> str:
    """The name of the `extra_series` counting the nodes whose guard is in `level`."""
    return f"nodes in guard level {level}"


@dataclass
class PolicyResult:
    """One policy's run of one scenario.

    Time series share the tick grid `t_s` (seconds since the scenario start).
    """

    name: str
    metrics: dict[str, float | int]
    t_s: np.ndarray
    cpu_util: np.ndarray
    mem_util: np.ndarray
    online_cpu_util: np.ndarray
    offline_cpu_util: np.ndarray
    interference: np.ndarray
    """Per tick: share of online pods whose latency inflation exceeded the SLO bound."""
    offline_waits_s: np.ndarray
    """Per started offline pod: seconds from creation to start."""
    wave_start_delays_s: np.ndarray
    """Per pod of the 00:00 job wave: seconds from the scheduled fire time to start."""
    extra_series: dict[str, np.ndarray] = field(default_factory=dict)
    """Optional named series on the tick grid (e.g. predicted peak, reclaimed capacity)."""
    diagnostics: dict[str, int | float] = field(default_factory=dict)
    """Counters that explain a run but are not part of the summary schema."""


@dataclass
class SimulationResult:
    scenario: str
    seed: int
    start_time_of_day_s: float
    duration_s: float
    nodes: int
    trace_rows_skipped: int
    trace_files: dict[str, dict[str, int]]
    """Per trace file: rows read, rows skipped (for the report)."""
    policies: dict[str, PolicyResult]
    wave_fire_s: float | None = None
    """Seconds since the scenario start at which the 00:00 job wave fires (None: no wave)."""

    def warnings(self) -> list[str]:
        """What a reader must know to trust the figures (work the run could not place)."""
        out = []
        for name, policy in self.policies.items():
            unplaced = int(policy.diagnostics.get("online_pods_unplaced", 0))
            if unplaced:
                total = int(policy.diagnostics.get("online_pods", 0))
                out.append(
                    f"{name}: {unplaced} of {total} online pods did not fit any allowed node "
                    "and are missing from this run (lower online.request_share or give "
                    "online pods more nodes)"
                )
        return out
