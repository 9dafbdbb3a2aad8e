"""The plots of the HTML report (`colo.report.html`), rendered to inline SVG text.

Figures are built with `matplotlib.figure.Figure` directly, never through pyplot, so rendering
a report neither selects a backend nor leaves figures registered anywhere. All styling goes
through a temporary rc context that starts from matplotlib's defaults (a user's matplotlibrc
cannot change the output) and fixes `svg.hashsalt`, so the same result gives the same bytes.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MultipleLocator, PercentFormatter

from colo.sim.reclaim_agent import PREDICTED_PEAK, RECLAIMED
from colo.sim.results import PolicyResult, SimulationResult

MAX_POINTS = 1200
"""Time series longer than this are averaged into this many equal time buckets."""

_MAX_CDF_POINTS = 1000

# Stable colors for the policies colo ships, so a policy looks the same in every report;
# other policies take the remaining colors of the palette in order.
_KNOWN_COLORS = {"reserved": "#7f7f7f", "request-based": "#1f77b4", "colo": "#ff7f0e"}
_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)

_WAVE_COLOR = "#333333"
_MUTED = "#666666"

_RC: dict[Any, Any] = {  # keys are rcParams names (typed as literals by matplotlib)
    "svg.hashsalt": "colo-report",
    "svg.fonttype": "path",  # glyphs as paths: no fonts needed by the viewer
    "text.usetex": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.labelcolor": "#333333",
    "axes.edgecolor": "#999999",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "xtick.color": "#555555",
    "ytick.color": "#555555",
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "lines.linewidth": 1.4,
    "path.simplify": True,
}


@dataclass(frozen=True)
class Plot:
    """One figure of the report. `title` and `caption` are plain text (not yet escaped)."""

    id: str
    title: str
    caption: str
    svg: str


def policy_colors(names: Sequence[str]) -> dict[str, str]:
    """One color per policy: fixed for known policies, then the palette in order."""
    taken = {_KNOWN_COLORS[n] for n in names if n in _KNOWN_COLORS}
    free = [c for c in _PALETTE if c not in taken] or list(_PALETTE)
    colors: dict[str, str] = {}
    i = 0
    for name in names:
        if name in _KNOWN_COLORS:
            colors[name] = _KNOWN_COLORS[name]
        else:
            colors[name] = free[i % len(free)]
            i += 1
    return colors


def build_plots(result: SimulationResult) -> list[Plot]:
    """All plots of the report, in page order."""
    colors = policy_colors(list(result.policies))
    with _style():
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


# ---------------------------------------------------------------------------------------------
# Rendering


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context():
        matplotlib.rcdefaults()  # ignore the user's matplotlibrc
        with matplotlib.rc_context(rc=_RC):
            yield


def _new_figure(height_in: float) -> Figure:
    return Figure(figsize=(10.0, height_in), layout="constrained")


_ROOT_RE = re.compile(r"<svg\b[^>]*>")
_VIEWBOX_RE = re.compile(r'viewBox="([^"]*)"')


def _to_svg(fig: Figure, plot_id: str) -> str:
    """The figure as an `<svg>` element for inlining into HTML.

    Drops the XML prolog, doctype, comments, metadata and the global `<style>` (the page CSS
    carries it, scoped), and prefixes every id with the plot id so ids stay unique in the page.
    """
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->\s*", "", text, flags=re.S)
    text = re.sub(r"<style\b[^>]*>.*?</style>\s*", "", text, flags=re.S)
    root = _ROOT_RE.search(text)
    assert root is not None
    viewbox = _VIEWBOX_RE.search(root.group(0))
    new_root = f'<svg viewBox="{viewbox.group(1)}"' if viewbox else "<svg"
    new_root += f' role="img" aria-labelledby="{plot_id}-caption">'
    text = text[: root.start()] + new_root + text[root.end() :]

    ids = set(re.findall(r'\bid="([^"]+)"', text))

    def rename(m: re.Match[str]) -> str:
        name = m.group(2)
        if name not in ids:
            return m.group(0)
        return f"{m.group(1)}{plot_id}-{name}{m.group(3)}"

    text = re.sub(r'(\bid=")([^"]+)(")', rename, text)
    text = re.sub(r'((?:xlink:)?href="#)([^"]+)(")', rename, text)
    text = re.sub(r"(url\(#)([^)]+)(\))", rename, text)
    return text.strip()


def _plot(plot_id: str, title: str, caption: str, fig: Figure) -> Plot:
    return Plot(id=plot_id, title=title, caption=caption, svg=_to_svg(fig, plot_id))


def _label(text: str) -> str:
    """User text as a literal matplotlib label (no mathtext, not hidden by a leading '_')."""
    text = text.replace("$", r"\$")
    return " " + text if text.startswith("_") else text


# ---------------------------------------------------------------------------------------------
# Time axis


def _hours(result: SimulationResult, t_s: np.ndarray) -> np.ndarray:
    return (result.start_time_of_day_s + np.asarray(t_s, dtype=float)) / 3600.0


def _series(
    result: SimulationResult, p: PolicyResult, *ys: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray]]:
    """x (hours of the simulated clock) and the ys, aligned and downsampled for plotting."""
    arrays = [np.asarray(p.t_s, dtype=float), *(np.asarray(y, dtype=float).ravel() for y in ys)]
    n = min(len(a) for a in arrays)
    arrays = [a[:n] for a in arrays]
    if n > MAX_POINTS:
        edges = np.linspace(0, n, MAX_POINTS + 1).astype(np.int64)
        counts = np.diff(edges)
        arrays = [np.add.reduceat(a, edges[:-1]) / counts for a in arrays]
    return _hours(result, arrays[0]), arrays[1:]


def _clock_label(x: float, _pos: int | None = None) -> str:
    minutes = round(x * 60)
    day, rest = divmod(minutes, 24 * 60)
    hh, mm = divmod(rest, 60)
    label = f"{hh:02d}:{mm:02d}"
    if day > 0 and rest == 0:
        label += f"\n+{day}d"
    return label


def _time_axis(
    ax: Axes, result: SimulationResult, *, labels: bool = True, max_ticks: int = 9
) -> None:
    start_h = result.start_time_of_day_s / 3600.0
    span_h = max(result.duration_s, 0.0) / 3600.0
    if span_h > 0:
        ax.set_xlim(start_h, start_h + span_h)
        steps = (1 / 12, 1 / 6, 0.25, 0.5, 1, 2, 3, 4, 6, 12, 24, 48, 168)
        step = next(
            (s for s in steps if span_h / s <= max_ticks),
            24 * math.ceil(span_h / 24 / max_ticks),
        )
        ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(_clock_label))
    if labels:
        ax.set_xlabel("simulated time of day")
    if result.wave_fire_s is not None:
        x = (result.start_time_of_day_s + result.wave_fire_s) / 3600.0
        ax.axvline(x, color=_WAVE_COLOR, linestyle="--", linewidth=1.0, zorder=5)


def _wave_handle() -> list[tuple[Artist, str]]:
    return [(Line2D([], [], color=_WAVE_COLOR, linestyle="--", linewidth=1.0), "00:00 job wave")]


def _figure_legend(
    fig: Figure, result: SimulationResult, colors: dict[str, str], names: Sequence[str]
) -> None:
    entries: list[tuple[Artist, str]] = [
        (Line2D([], [], color=colors[n], linewidth=2.5), _label(n)) for n in names
    ]
    if result.wave_fire_s is not None:
        entries += _wave_handle()
    if entries:
        fig.legend(
            [h for h, _ in entries],
            [lbl for _, lbl in entries],
            loc="outside upper center",
            ncols=min(len(entries), 6),
        )


def _no_data(ax: Axes, message: str) -> None:
    ax.text(
        0.5,
        0.5,
        message,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color=_MUTED,
        fontsize=10,
    )


def _percent_axis(ax: Axes, top: float | None = None) -> None:
    decimals = 0 if top is None or top >= 0.1 else None
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=decimals))
    # A little room below zero keeps lines that sit at 0 % visible above the axis spine.
    ax.set_ylim(-0.015 * (top or 1.0), top)


def _peak(values: Sequence[np.ndarray]) -> float:
    return max((float(np.nanmax(v)) for v in values if v.size and np.isfinite(v).any()), default=0)


def _util_top(values: Sequence[np.ndarray]) -> float:
    """Utilization axes run 0..100 % so policies compare at a glance (further if exceeded)."""
    peak = _peak(values)
    return 1.0 if peak <= 1.0 else peak * 1.05


def _share_top(values: Sequence[np.ndarray]) -> float:
    """Small shares (interference) get an axis fitted to the data, at least 0..1 %."""
    return min(max(_peak(values) * 1.15, 0.01), 1.0)


def _lines_over_time(
    result: SimulationResult,
    colors: dict[str, str],
    values: dict[str, np.ndarray],
    ylabel: str,
    *,
    percent: Literal["util", "share"] | None,
    empty_message: str,
) -> Figure:
    fig = _new_figure(3.6)
    ax = fig.add_subplot()
    plotted: list[np.ndarray] = []
    for name, y in values.items():
        x, (yy,) = _series(result, result.policies[name], y)
        if x.size:
            ax.plot(x, yy, color=colors[name], label=_label(name))
            plotted.append(yy)
    _time_axis(ax, result)
    ax.set_ylabel(ylabel)
    if percent == "util":
        _percent_axis(ax, _util_top(plotted))
    elif percent == "share":
        _percent_axis(ax, _share_top(plotted))
    if not plotted:
        _no_data(ax, empty_message)
    _figure_legend(fig, result, colors, list(values))
    return fig


# ---------------------------------------------------------------------------------------------
# The plots


def _cpu_plot(result: SimulationResult, colors: dict[str, str]) -> Plot:
    names = list(result.policies)
    ncols = max(1, min(len(names), 3))
    nrows = math.ceil(len(names) / ncols)
    fig = _new_figure(3.2 + 2.3 * nrows)
    fig.get_layout_engine().set(wspace=0.04)  # type: ignore[union-attr, call-arg]
    gs = fig.add_gridspec(1 + nrows, ncols, height_ratios=[1.5] + [1.0] * nrows)
    top = fig.add_subplot(gs[0, :])
    series = {}
    for name, p in result.policies.items():
        x, (total, online, offline) = _series(
            result, p, p.cpu_util, p.online_cpu_util, p.offline_cpu_util
        )
        series[name] = (x, total, online, offline)
        if x.size:
            top.plot(x, total, color=colors[name])
    ymax = _util_top([s[1] for s in series.values()] + [s[2] + s[3] for s in series.values()])
    _time_axis(top, result, labels=False)
    _percent_axis(top, ymax)
    top.set_ylabel("CPU in use\n(% of cluster)")
    top.set_title("All policies: total CPU utilization", loc="left")
    if not any(s[0].size for s in series.values()):
        _no_data(top, "No CPU samples recorded")

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
        _time_axis(ax, result, labels=i // ncols == nrows - 1, max_ticks=4)
        _percent_axis(ax, ymax)
        ax.set_title(_label(name), loc="left", color=color, fontweight="bold")
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
            _no_data(ax, "no samples")
    _figure_legend(fig, result, colors, names)
    caption = (
        "Top: total CPU in use as a share of cluster CPU capacity, one line per policy. "
        "Below, one panel per policy splits it into online services (solid) and offline jobs "
        "(light) stacked on top; a taller light band means more spare capacity was put to work."
    )
    if result.wave_fire_s is not None:
        caption += " The dashed line marks the 00:00 job wave."
    return _plot("plot-cpu", "CPU utilization over time", caption, fig)


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
    return _plot("plot-memory", "Memory utilization over time", caption, fig)


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
    return _plot("plot-interference", "Online interference over time", caption, fig)


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
    fig = _new_figure(3.8)
    ax = fig.add_subplot()
    xmax = 0.0
    any_data = False
    for name, raw in samples.items():
        values = np.sort(np.asarray(raw, dtype=float).ravel())
        values = values[np.isfinite(values)]
        n = values.size
        if n == 0:
            ax.plot([], [], color=colors[name], label=f"{_label(name)}: none")
            continue
        any_data = True
        lo, hi = (float(np.percentile(values, q)) for q in percentiles)
        label = (
            f"{_label(name)}: n={n:,}, p{percentiles[0]} {short_duration(lo)}, "
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
    _percent_axis(ax, 1.02)
    if samples:
        ax.legend(loc="best", frameon=True, framealpha=0.9, edgecolor="none")
    if not any_data:
        _no_data(ax, empty_message)
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
    return _plot("plot-offline-wait", "Offline pod wait", caption, fig)


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
    return _plot("plot-wave", "The 00:00 job wave", caption, fig)


def _cost_plot(result: SimulationResult, colors: dict[str, str]) -> Plot:
    names = list(result.policies)
    fig = _new_figure(3.4)
    ax_total, ax_job = fig.subplots(1, 2)
    node_hours = [_metric(result.policies[n], "node_hours") for n in names]
    jobs = [_metric(result.policies[n], "offline_jobs_completed") for n in names]
    per_job = [
        h / j if math.isfinite(h) and j > 0 else math.nan
        for h, j in zip(node_hours, jobs, strict=True)
    ]
    labels = [_label(n) for n in names]
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
            _no_data(ax, "No policies")
    ax_total.set_ylabel("node-hours")
    ax_job.set_ylabel("node-hours / job")
    caption = (
        "Cost. Left: node-hours each policy kept the cluster running (lower is cheaper). "
        "Right: node-hours divided by the offline jobs completed, the cost of one job's worth "
        "of offline work; n/a when no job completed."
    )
    return _plot("plot-cost", "Cost", caption, fig)


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
    fig = _new_figure(1.2 + 2.6 * len(owners))
    first: Axes | None = None
    tops: list[np.ndarray] = []
    panels = []
    for i, name in enumerate(owners):
        p = result.policies[name]
        x, (online, predicted, reclaimed, offline) = _series(
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
            _no_data(ax, "no samples")
        ax.set_title(_label(name), loc="left", color=color, fontweight="bold")
        ax.set_ylabel("CPU\n(% of cluster)")
        panels.append(ax)
    for i, ax in enumerate(panels):
        _time_axis(ax, result, labels=i == len(panels) - 1)
        _percent_axis(ax, _util_top(tops))
    caption = (
        "What the simulated colo-agents saw and published. Dark line: online CPU actually in "
        "use. Colored line: the online CPU the reclaim calculator held back, summed over "
        "nodes (each online pod's predicted peak, or its request while it has too little "
        "history). Shaded: the colo.io/batch-cpu the agents published, i.e. capacity minus "
        "safety margin, system reserve and that online figure. Dotted: CPU offline pods "
        "actually used. All as shares of the cluster's CPU capacity."
    )
    return _plot("plot-reclaim", "Reclaim: predicted online peak, actual usage, batch capacity",
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
            _label(series_name),
            percent=None,
            empty_message=f"No samples of {_label(series_name)}",
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
        plots.append(_plot(plot_id, f"Series: {series_name}", caption, fig))
    return plots
