"""How the report's figures are drawn: style, policy colors, SVG export, axes.

Figures are built with `matplotlib.figure.Figure` directly, never through pyplot, so rendering
a report neither selects a backend nor leaves figures registered anywhere. All styling goes
through a temporary rc context (`report_style`) that starts from matplotlib's defaults (a
user's matplotlibrc cannot change the output) and fixes `svg.hashsalt`, so the same result
gives the same bytes. What each figure shows is `colo.report.plots`.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MultipleLocator, PercentFormatter

from colo.sim.results import PolicyResult, SimulationResult

MAX_POINTS = 1200
"""Time series longer than this are averaged into this many equal time buckets."""

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


# ---------------------------------------------------------------------------------------------
# Rendering


@contextmanager
def report_style() -> Iterator[None]:
    with matplotlib.rc_context():
        matplotlib.rcdefaults()  # ignore the user's matplotlibrc
        with matplotlib.rc_context(rc=_RC):
            yield


def new_figure(height_in: float) -> Figure:
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


def as_plot(plot_id: str, title: str, caption: str, fig: Figure) -> Plot:
    return Plot(id=plot_id, title=title, caption=caption, svg=_to_svg(fig, plot_id))


def literal(text: str) -> str:
    """User text as a literal matplotlib label (no mathtext, not hidden by a leading '_')."""
    text = text.replace("$", r"\$")
    return " " + text if text.startswith("_") else text


# ---------------------------------------------------------------------------------------------
# Time axis


def _hours(result: SimulationResult, t_s: np.ndarray) -> np.ndarray:
    return (result.start_time_of_day_s + np.asarray(t_s, dtype=float)) / 3600.0


def plot_series(
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


def time_axis(
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


def figure_legend(
    fig: Figure, result: SimulationResult, colors: dict[str, str], names: Sequence[str]
) -> None:
    entries: list[tuple[Artist, str]] = [
        (Line2D([], [], color=colors[n], linewidth=2.5), literal(n)) for n in names
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


def no_data(ax: Axes, message: str) -> None:
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


def percent_axis(ax: Axes, top: float | None = None) -> None:
    decimals = 0 if top is None or top >= 0.1 else None
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=decimals))
    # A little room below zero keeps lines that sit at 0 % visible above the axis spine.
    ax.set_ylim(-0.015 * (top or 1.0), top)


def _peak(values: Sequence[np.ndarray]) -> float:
    return max((float(np.nanmax(v)) for v in values if v.size and np.isfinite(v).any()), default=0)


def util_top(values: Sequence[np.ndarray]) -> float:
    """Utilization axes run 0..100 % so policies compare at a glance (further if exceeded)."""
    peak = _peak(values)
    return 1.0 if peak <= 1.0 else peak * 1.05


def share_top(values: Sequence[np.ndarray]) -> float:
    """Small shares (interference) get an axis fitted to the data, at least 0..1 %."""
    return min(max(_peak(values) * 1.15, 0.01), 1.0)
