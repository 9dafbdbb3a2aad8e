"""The figures of the HTML report (`colo.report.html`), in page order, as inline SVG.

Each figure is a function of the run and the policy colors; how figures are drawn (style,
SVG export, time and percent axes) is `colo.report.drawing`.
"""

from __future__ import annotations

import math
import re
from typing import Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter

from colo.report.drawing import (
    Plot,
    as_plot,
    figure_legend,
    literal,
    new_figure,
    no_data,
    percent_axis,
    plot_series,
    policy_colors,
    report_style,
    share_top,
    time_axis,
    util_top,
)
from colo.sim.results import PREDICTED_PEAK, RECLAIMED, PolicyResult, SimulationResult

_MAX_CDF_POINTS = 1000


def build_plots(result: SimulationResult) -> list[Plot]:
    """All plots of the report, in page order."""
    colors = policy_colors(list(result.policies))
    with report_style():
        plots = [
            _cpu_plot(result, colors),
            _memory_plot(result, colors),
            _interference_plot(result, colors),
            _offline_wait_plot(result, colors),
            _wave_plot(result, colors),
            _cost_plot(result, colors),
        ]
        reclaim = _reclaim_plot(result, colors)
        if reclaim is not None:
            plots.append(reclaim)
        plots.extend(_extra_plots(result, colors))
    return plots


def _lines_over_time(
    result: SimulationResult,
    colors: dict[str, str],
    values: dict[str, np.ndarray],
    ylabel: str,
    *,
    percent: Literal["util", "share"] | None,
    empty_message: str,
) -> Figure:
    fig = new_figure(3.6)
    ax = fig.add_subplot()
    plotted: list[np.ndarray] = []
    for name, y in values.items():
        x, (yy,) = plot_series(result, result.policies[name], y)
        if x.size:
            ax.plot(x, yy, color=colors[name], label=literal(name))
            plotted.append(yy)
    time_axis(ax, result)
    ax.set_ylabel(ylabel)
    if percent == "util":
        percent_axis(ax, util_top(plotted))
    elif percent == "share":
        percent_axis(ax, share_top(plotted))
    if not plotted:
        no_data(ax, empty_message)
    figure_legend(fig, result, colors, list(values))
    return fig


# ---------------------------------------------------------------------------------------------
# The plots


def _cpu_plot(result: SimulationResult, colors: dict[str, str]) -> Plot:
    names = list(result.policies)
    ncols = max(1, min(len(names), 3))
    nrows = math.ceil(len(names) / ncols)
    fig = new_figure(3.2 + 2.3 * nrows)
    fig.get_layout_engine().set(wspace=0.04)  # type: ignore[union-attr, call-arg]
    gs = fig.add_gridspec(1 + nrows, ncols, height_ratios=[1.5] + [1.0] * nrows)
    top = fig.add_subplot(gs[0, :])
    series = {}
    for name, p in result.policies.items():
        x, (total, online, offline) = plot_series(
            result, p, p.cpu_util, p.online_cpu_util, p.offline_cpu_util
        )
        series[name] = (x, total, online, offline)
        if x.size:
            top.plot(x, total, color=colors[name])
    ymax = util_top([s[1] for s in series.values()] + [s[2] + s[3] for s in series.values()])
    time_axis(top, result, labels=False)
    percent_axis(top, ymax)
    top.set_ylabel("CPU in use\n(% of cluster)")
    top.set_title("All policies: total CPU utilization", loc="left")
    if not any(s[0].size for s in series.values()):
        no_data(top, "No CPU samples recorded")

    first: Axes | None = None
    for i, name in enumerate(names):
        x, total, online, offline = series[name]
        ax = fig.add_subplot(gs[1 + i // ncols, i % ncols], sharey=first)
        first = first or ax
        color = colors[name]
        if x.size:
            ax.fill_between(x, 0, online, color=color, alpha=0.85, linewidth=0)
            ax.fill_between(x, online, online + offline, color=color, alpha=0.3, linewidth=0)
            ax.plot(x, total, color=color, linewidth=0.8)
        time_axis(ax, result, labels=i // ncols == nrows - 1, max_ticks=4)
        percent_axis(ax, ymax)
        ax.set_title(literal(name), loc="left", color=color, fontweight="bold")
        if i % ncols:
            ax.tick_params(labelleft=False)
        if x.size:
            ax.legend(
                [Patch(color=color, alpha=0.85), Patch(color=color, alpha=0.3)],
                [f"online, mean {_mean(online):.0%}", f"offline, mean {_mean(offline):.0%}"],
                loc="upper left",
                ncols=1,
                fontsize=7,
                handlelength=1.2,
                frameon=True,
                framealpha=0.85,
                edgecolor="none",
            )
        else:
            no_data(ax, "no samples")
    figure_legend(fig, result, colors, names)
    caption = (
        "Top: total CPU in use as a share of cluster CPU capacity, one line per policy. "
        "Below, one panel per policy splits it into online services (solid) and offline jobs "
        "(light) stacked on top; a taller light band means more spare capacity was put to work."
    )
    if result.wave_fire_s is not None:
        caption += " The dashed line marks the 00:00 job wave."
    return as_plot("plot-cpu", "CPU utilization over time", caption, fig)


def _memory_plot(result: SimulationResult, colors: dict[str, str]) -> Plot:
    fig = _lines_over_time(
        result,
        colors,
        {n: p.mem_util for n, p in result.policies.items()},
        "memory in use (% of cluster)",
        percent="util",
        empty_message="No memory samples recorded",
    )
    caption = (
        "Memory in use as a share of cluster memory capacity over the simulated day, one line "
        "per policy. Memory is not compressible: a policy running close to 100 % risks "
        "out-of-memory kills and evictions."
    )
    return as_plot("plot-memory", "Memory utilization over time", caption, fig)


def _interference_plot(result: SimulationResult, colors: dict[str, str]) -> Plot:
    fig = _lines_over_time(
        result,
        colors,
        {n: p.interference for n, p in result.policies.items()},
        "online pods above SLO bound",
        percent="share",
        empty_message="No interference samples recorded",
    )
    caption = (
        "Share of online pods whose latency inflation exceeded the SLO bound at each moment, "
        "one line per policy. Lower is better; zero means offline work never slowed an online "
        "service beyond its SLO."
    )
    return as_plot("plot-interference", "Online interference over time", caption, fig)


_DURATION_TICKS = (0, 1, 10, 60, 600, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)
# Used when the axis ends far beyond the last main tick, so the tail still has a label nearby.
_EXTRA_DURATION_TICKS = (1800, 2 * 3600, 3 * 3600, 12 * 3600, 2 * 86400, 3 * 86400)


def short_duration(seconds: float) -> str:
    """Compact human duration for axis ticks and legends: '0', '45 s', '12 min', '2.5 h'."""
    if not math.isfinite(seconds):
        return "n/a"
    s = abs(seconds)
    sign = "-" if seconds < 0 else ""
    if s == 0:
        return "0 s"
    if s < 10:
        return f"{sign}{s:.2g} s" if s < 1 else f"{sign}{s:.1f} s".replace(".0 s", " s")
    if s < 120:
        return f"{sign}{s:.0f} s"
    if s < 3600:
        return f"{sign}{s / 60:.3g} min"
    if s < 2 * 86400:
        return f"{sign}{s / 3600:.3g} h"
    return f"{sign}{s / 86400:.3g} d"


def _tick_duration(x: float, _pos: int | None = None) -> str:
    return "0" if x == 0 else short_duration(x)


def _cdf_plot(
    result: SimulationResult,
    colors: dict[str, str],
    samples: dict[str, np.ndarray],
    *,
    xlabel: str,
    percentiles: tuple[int, int],
    empty_message: str,
) -> Figure:
    fig = new_figure(3.8)
    ax = fig.add_subplot()
    xmax = 0.0
    any_data = False
    for name, raw in samples.items():
        values = np.sort(np.asarray(raw, dtype=float).ravel())
        values = values[np.isfinite(values)]
        n = values.size
        if n == 0:
            ax.plot([], [], color=colors[name], label=f"{literal(name)}: none")
            continue
        any_data = True
        lo, hi = (float(np.percentile(values, q)) for q in percentiles)
        label = (
            f"{literal(name)}: n={n:,}, p{percentiles[0]} {short_duration(lo)}, "
            f"p{percentiles[1]} {short_duration(hi)}"
        )
        probs = np.arange(1, n + 1) / n
        if n > _MAX_CDF_POINTS:
            idx = np.unique(np.linspace(0, n - 1, _MAX_CDF_POINTS).astype(np.int64))
            values, probs = values[idx], probs[idx]
        xs = np.concatenate([[values[0]], values])
        ys = np.concatenate([[0.0], probs])
        ax.step(xs, ys, where="post", color=colors[name], label=label)
        xmax = max(xmax, float(values[-1]))
    ax.set_xscale("symlog", linthresh=1.0, linscale=0.5)
    right = max(10.0, xmax * 1.3)
    ax.set_xlim(0.0, right)
    ticks = [t for t in _DURATION_TICKS if t <= right]
    if right > 2.5 * ticks[-1]:
        extra = [t for t in _EXTRA_DURATION_TICKS if 2 * ticks[-1] <= t <= right]
        ticks += extra[-1:]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(_tick_duration))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of pods started")
    percent_axis(ax, 1.02)
    if samples:
        ax.legend(loc="best", frameon=True, framealpha=0.9, edgecolor="none")
    if not any_data:
        no_data(ax, empty_message)
    return fig


def _offline_wait_plot(result: SimulationResult, colors: dict[str, str]) -> Plot:
    fig = _cdf_plot(
        result,
        colors,
        {n: p.offline_waits_s for n, p in result.policies.items()},
        xlabel="wait from creation to start (log scale above 1 s)",
        percentiles=(50, 95),
        empty_message="No offline pod started in any policy",
    )
    caption = (
        "Cumulative distribution of how long offline pods waited from creation to start: the "
        "y value at x is the share of started pods that waited at most x. Curves further up "
        "and to the left are better; the x axis is logarithmic above 1 s."
    )
    return as_plot("plot-offline-wait", "Offline pod wait", caption, fig)


def _wave_plot(result: SimulationResult, colors: dict[str, str]) -> Plot:
    samples = {
        n: (p.wave_start_delays_s if p.wave_start_delays_s is not None else np.empty(0))
        for n, p in result.policies.items()
    }
    if result.wave_fire_s is None:
        empty = "This scenario has no 00:00 job wave"
    else:
        empty = "No pod of the 00:00 job wave started in any policy"
    fig = _cdf_plot(
        result,
        colors,
        samples,
        xlabel="delay from the scheduled fire time to start (log scale above 1 s)",
        percentiles=(50, 99),
        empty_message=empty,
    )
    caption = (
        "The 00:00 job wave: cumulative distribution of the delay from the wave's scheduled "
        "fire time to each wave pod's start. A steep curve close to the left edge means the "
        "wave was absorbed quickly; a long tail to the right means pods queued."
    )
    if result.wave_fire_s is None:
        caption += " This scenario has no wave, so the plot is empty."
    return as_plot("plot-wave", "The 00:00 job wave", caption, fig)


def _cost_plot(result: SimulationResult, colors: dict[str, str]) -> Plot:
    names = list(result.policies)
    fig = new_figure(3.4)
    ax_total, ax_job = fig.subplots(1, 2)
    node_hours = [_metric(result.policies[n], "node_hours") for n in names]
    jobs = [_metric(result.policies[n], "offline_jobs_completed") for n in names]
    per_job = [
        h / j if math.isfinite(h) and j > 0 else math.nan
        for h, j in zip(node_hours, jobs, strict=True)
    ]
    labels = [literal(n) for n in names]
    bar_colors = [colors[n] for n in names]
    for ax, values, title in (
        (ax_total, node_hours, "Node-hours"),
        (ax_job, per_job, "Node-hours per completed offline job"),
    ):
        heights = [v if math.isfinite(v) else 0.0 for v in values]
        bars = ax.bar(range(len(names)), heights, color=bar_colors, width=0.6)
        ax.bar_label(
            bars,
            labels=[_bar_label(v) for v in values],
            padding=2,
            fontsize=8,
        )
        ax.set_xticks(range(len(names)), labels)
        ax.set_title(title, loc="left")
        ax.grid(axis="x", visible=False)
        ax.set_ylim(0.0, max([*heights, 0.0]) * 1.15 or 1.0)
        if not names:
            no_data(ax, "No policies")
    ax_total.set_ylabel("node-hours")
    ax_job.set_ylabel("node-hours / job")
    caption = (
        "Cost. Left: node-hours each policy kept the cluster running (lower is cheaper). "
        "Right: node-hours divided by the offline jobs completed, the cost of one job's worth "
        "of offline work; n/a when no job completed."
    )
    return as_plot("plot-cost", "Cost", caption, fig)


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def _bar_label(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.1:
        return f"{value:.2f}"
    return f"{value:.2g}"


def _metric(p: PolicyResult, key: str) -> float:
    value = p.metrics.get(key)
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "series"


# The reclaim agents' series (PREDICTED_PEAK, RECLAIMED) get a plot of their own.


def _reclaim_plot(result: SimulationResult, colors: dict[str, str]) -> Plot | None:
    owners = [
        n for n, p in result.policies.items() if {PREDICTED_PEAK, RECLAIMED} <= set(p.extra_series)
    ]
    if not owners:
        return None
    fig = new_figure(1.2 + 2.6 * len(owners))
    first: Axes | None = None
    tops: list[np.ndarray] = []
    panels = []
    for i, name in enumerate(owners):
        p = result.policies[name]
        x, (online, predicted, reclaimed, offline) = plot_series(
            result, p, p.online_cpu_util, p.extra_series[PREDICTED_PEAK],
            p.extra_series[RECLAIMED], p.offline_cpu_util,
        )  # fmt: skip
        ax = fig.add_subplot(len(owners), 1, i + 1, sharey=first)
        first = first or ax
        color = colors[name]
        if x.size:
            ax.plot(x, online, color="#333333", linewidth=0.9, label="online usage (actual)")
            ax.plot(
                x, predicted, color=color, linewidth=1.4, label="online, as the agents count it"
            )
            ax.fill_between(x, 0, reclaimed, color=color, alpha=0.18, linewidth=0,
                            label="batch cpu published")  # fmt: skip
            ax.plot(x, offline, color=color, linewidth=0.8, linestyle=":",
                    label="offline usage (actual)")  # fmt: skip
            tops += [online, predicted, reclaimed]
            ax.legend(loc="upper left", fontsize=7, ncols=2, frameon=True, framealpha=0.85,
                      edgecolor="none")  # fmt: skip
        else:
            no_data(ax, "no samples")
        ax.set_title(literal(name), loc="left", color=color, fontweight="bold")
        ax.set_ylabel("CPU\n(% of cluster)")
        panels.append(ax)
    for i, ax in enumerate(panels):
        time_axis(ax, result, labels=i == len(panels) - 1)
        percent_axis(ax, util_top(tops))
    caption = (
        "What the simulated colo-agents saw and published. Dark line: online CPU actually in "
        "use. Colored line: the online CPU the reclaim calculator held back, summed over "
        "nodes (each online pod's predicted peak, or its request while it has too little "
        "history). Shaded: the colo.io/batch-cpu the agents published, i.e. capacity minus "
        "safety margin, system reserve and that online figure. Dotted: CPU offline pods "
        "actually used. All as shares of the cluster's CPU capacity."
    )
    return as_plot("plot-reclaim", "Reclaim: predicted online peak, actual usage, batch capacity",
                 caption, fig)  # fmt: skip


def _extra_plots(result: SimulationResult, colors: dict[str, str]) -> list[Plot]:
    names = sorted(
        {k for p in result.policies.values() for k in (p.extra_series or {})}
        - {PREDICTED_PEAK, RECLAIMED}
    )
    plots: list[Plot] = []
    used: set[str] = set()
    for series_name in names:
        owners = [n for n, p in result.policies.items() if series_name in (p.extra_series or {})]
        fig = _lines_over_time(
            result,
            colors,
            {n: result.policies[n].extra_series[series_name] for n in owners},
            literal(series_name),
            percent=None,
            empty_message=f"No samples of {literal(series_name)}",
        )
        slug = _slug(series_name)
        plot_id = f"plot-extra-{slug}"
        k = 2
        while plot_id in used:
            plot_id = f"plot-extra-{slug}-{k}"
            k += 1
        used.add(plot_id)
        caption = (
            f"The additional series “{series_name}” over simulated time, as published by "
            f"{', '.join(owners)}; values are in the units the policy reports them in. "
            "Policies that do not publish this series are not shown."
        )
        plots.append(as_plot(plot_id, f"Series: {series_name}", caption, fig))
    return plots
