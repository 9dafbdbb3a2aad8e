"""How the report names, measures and formats each metric of `summary.json`.

`METRIC_INFO` gives every metric of the schema (`colo.sim.results.POLICY_METRICS`) a label,
a unit, which direction is better and a definition; `metric_info` guesses them for metrics
outside the schema. `format_metric` is the text of one value in the summary table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Unit = Literal["percent", "seconds", "count", "node_hours", "core_hours", "number"]
Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class MetricInfo:
    label: str
    unit: Unit
    unit_text: str
    better: Better | None
    definition: str


METRIC_INFO: dict[str, MetricInfo] = {
    "cpu_util_mean": MetricInfo(
        "CPU utilization, mean",
        "percent",
        "% of cluster CPU",
        "higher",
        "CPU in use by all pods (online and offline), as a share of the cluster's total CPU "
        "capacity, averaged over the simulated time.",
    ),
    "cpu_util_p95": MetricInfo(
        "CPU utilization, p95",
        "percent",
        "% of cluster CPU",
        "higher",
        "95th percentile over time of the same cluster CPU utilization: the level the cluster "
        "stays below 95 % of the time.",
    ),
    "mem_util_mean": MetricInfo(
        "Memory utilization, mean",
        "percent",
        "% of cluster memory",
        "higher",
        "Memory in use by all pods as a share of the cluster's total memory capacity, averaged "
        "over the simulated time.",
    ),
    "online_interference_rate": MetricInfo(
        "Online interference rate",
        "percent",
        "% of online pod-time",
        "lower",
        "Share of online pod-time whose latency inflation exceeded the SLO bound: how much of "
        "the time online services were slowed past their SLO by co-located work.",
    ),
    "offline_jobs_completed": MetricInfo(
        "Offline jobs completed",
        "count",
        "jobs",
        "higher",
        "Number of offline jobs that ran to completion within the simulated duration.",
    ),
    "offline_wait_p50_s": MetricInfo(
        "Offline wait, median",
        "seconds",
        "seconds",
        "lower",
        "Median, over started offline pods, of the time from the pod's creation to its start.",
    ),
    "offline_wait_p95_s": MetricInfo(
        "Offline wait, p95",
        "seconds",
        "seconds",
        "lower",
        "95th percentile, over started offline pods, of the time from creation to start.",
    ),
    "evictions": MetricInfo(
        "Evictions",
        "count",
        "pods",
        "lower",
        "Number of pods evicted during the run (for example offline pods evicted to give "
        "capacity back to online services); each eviction throws away work in progress.",
    ),
    "node_hours": MetricInfo(
        "Node-hours",
        "node_hours",
        "node-hours",
        "lower",
        "Sum over nodes of the hours each node was running: what the cluster costs.",
    ),
    "job_start_delay_p99_s": MetricInfo(
        "Job start delay, p99",
        "seconds",
        "seconds",
        "lower",
        "99th percentile of the delay from the time a job was due to start (its creation, or "
        "its scheduled fire time for cron jobs such as the 00:00 wave) to the start of its pod.",
    ),
    "job_start_delay_p50_s": MetricInfo(
        "Job start delay, p50",
        "seconds",
        "seconds",
        "lower",
        "Median delay from a wave job's scheduled fire time to the start of its pod.",
    ),
    "job_start_delay_max_s": MetricInfo(
        "Job start delay, max",
        "seconds",
        "seconds",
        "lower",
        "The longest delay from a wave job's scheduled fire time to the start of its pod.",
    ),
    "job_bind_delay_p99_s": MetricInfo(
        "Job bind delay, p99",
        "seconds",
        "seconds",
        "lower",
        "99th percentile of the delay from a wave job's fire time to its pod being bound to a "
        "node: the controllers' and the scheduler's part, without the kubelet's start-up.",
    ),
    "cron_core_hours": MetricInfo(
        "Cron work",
        "core_hours",
        "core-hours",
        None,
        "What the CronJob runs ran: requested cores × time running, on any node.",
    ),
    "cron_virtual_share": MetricInfo(
        "Cron work on virtual nodes",
        "percent",
        "% of cron core-hours",
        None,
        "The share of the cron work that ran on pay-per-use virtual nodes.",
    ),
    "cron_cost_core_hours": MetricInfo(
        "Cron cost",
        "core_hours",
        "standard-node core-hours",
        "lower",
        "What the cron work cost as it ran: core-hours on virtual nodes at their price "
        "(costs.virtual_core_hour) plus core-hours on standard nodes.",
    ),
    "cron_pool_nodes": MetricInfo(
        "Reserved cron pool",
        "count",
        "nodes",
        None,
        "Standard nodes a pool kept for the cron work would need so every run starts on "
        "time (its peak of concurrent requests); the same under every policy.",
    ),
    "cron_pool_share": MetricInfo(
        "Cluster held by that pool",
        "percent",
        "% of nodes",
        None,
        "The reserved cron pool's share of a cluster that kept one beside these nodes.",
    ),
    "cron_pool_cost_core_hours": MetricInfo(
        "Reserved cron pool cost",
        "core_hours",
        "standard-node core-hours",
        None,
        "That pool paid for the whole simulated time.",
    ),
    "cron_cost_saving": MetricInfo(
        "Cron cost saved vs. a reserved pool",
        "percent",
        "% of the pool's cost",
        "higher",
        "1 − cron cost ÷ reserved cron pool cost.",
    ),
    "guard_transitions": MetricInfo(
        "Guard state changes",
        "count",
        "transitions",
        None,
        "How often a node's guard (colo-agent's protection) changed state: NORMAL, "
        "THROTTLE, FORBID, EVICT (docs/agent.md). Zero for policies without colo-agent.",
    ),
    "guard_evictions": MetricInfo(
        "Evictions by the guard",
        "count",
        "pods",
        "lower",
        "Offline pods colo-agent evicted to protect online pods, or to let starved offline "
        "work run elsewhere.",
    ),
    "guard_starvation_evictions": MetricInfo(
        "Evictions of starved offline pods",
        "count",
        "pods",
        "lower",
        "Offline pods evicted because their node starved them and another node had room.",
    ),
    "guard_forbid_node_s": MetricInfo(
        "Node time forbidding offline work",
        "seconds",
        "node-seconds",
        "lower",
        "Time nodes spent publishing zero batch capacity because their guard was in FORBID "
        "or above (or coming down from it), summed over nodes.",
    ),
}


def metric_info(name: str) -> MetricInfo:
    """Label, unit and direction of a metric; guessed from the name for unknown metrics."""
    if name in METRIC_INFO:
        return METRIC_INFO[name]
    label = name.replace("_", " ").strip().capitalize()
    if name.endswith("_s"):
        return MetricInfo(label.removesuffix(" s"), "seconds", "seconds", None, "")
    if "util" in name or name.endswith("_rate"):
        return MetricInfo(label, "percent", "%", None, "")
    return MetricInfo(label, "number", "", None, "")


def as_number(value: object) -> float:
    """The value as a float; NaN for anything that is not a number (None, bool, text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def format_metric(name: str, value: float | int | None) -> str:
    """A metric value as shown in the summary table, e.g. '45.7%', '12.3 s', '1,204'."""
    v = as_number(value)
    if not math.isfinite(v):
        return "—"
    unit = metric_info(name).unit
    if unit == "percent":
        pct = v * 100.0
        return f"{pct:.2f}%" if 0 < abs(pct) < 1 else f"{pct:.1f}%"
    if unit == "seconds":
        if abs(v) < 1:
            return f"{v:.2f} s"
        if abs(v) < 100:
            return f"{v:.1f} s"
        return f"{v:,.0f} s"
    if unit == "count":
        return f"{round(v):,}"
    if unit in ("node_hours", "core_hours"):
        return f"{v:,.1f}"
    return f"{v:,.4g}"


def human_duration(seconds: float) -> str:
    """'24 h', '1 h 30 min', '45 s', '3 d 2 h'."""
    if not math.isfinite(seconds):
        return "n/a"
    total = round(abs(seconds))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        m, s = divmod(total, 60)
        return f"{m} min" + (f" {s} s" if s else "")
    if total <= 48 * 3600:
        h, rest = divmod(total, 3600)
        m = rest // 60
        return f"{h} h" + (f" {m} min" if m else "")
    d, rest = divmod(total, 86400)
    h = rest // 3600
    return f"{d} d" + (f" {h} h" if h else "")


def clock(seconds_of_day: float) -> str:
    """Time of day on the simulated clock: '08:00' or '08:00:30'."""
    total = round(seconds_of_day) % 86400
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")
