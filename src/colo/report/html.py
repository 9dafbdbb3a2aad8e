"""The HTML report of one simulation run (`out/report.html`).

`render_report` turns a `SimulationResult` into one self-contained page: inline CSS, plots as
inline SVG, no JavaScript and no external resources of any kind (a Content-Security-Policy
meta tag forbids them). The output is deterministic: the same result renders the same bytes.
Every piece of user-supplied text (scenario, policy, file and series names) is HTML-escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import colo
from colo.report.plots import MAX_POINTS, Plot, build_plots, policy_colors
from colo.sim.results import POLICY_METRICS, SimulationResult

Unit = Literal["percent", "seconds", "count", "node_hours", "number"]
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


def _value(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def format_metric(name: str, value: float | int | None) -> str:
    """A metric value as shown in the summary table, e.g. '45.7%', '12.3 s', '1,204'."""
    v = _value(value)
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
    if unit == "node_hours":
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


def render_report(result: SimulationResult) -> str:
    """The report as one self-contained HTML page."""
    names = list(result.policies)
    colors = policy_colors(names)
    plots = build_plots(result)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>colo simulation report: {_e(result.scenario)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        _header(result, colors),
        _warnings(result),
        _nav(plots),
        "<main>",
        _how_to_read(result),
        _summary(result, colors),
        _plots(plots),
        _definitions(result),
        "</main>",
        "<footer>",
        f"Generated by colo {_e(colo.__version__)}. This page is self-contained: no scripts "
        "and no external resources.",
        "</footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def write_report(result: SimulationResult, path: Path) -> None:
    """Render the report and write it to `path` as UTF-8."""
    path.write_text(render_report(result), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Sections


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _swatch(color: str) -> str:
    return f'<span class="swatch" style="background:{color}"></span>'


def _policy_tag(name: str, colors: dict[str, str]) -> str:
    return f'<span class="policy">{_swatch(colors[name])}{_e(name)}</span>'


def _header(result: SimulationResult, colors: dict[str, str]) -> str:
    start = result.start_time_of_day_s
    end = start + result.duration_s
    days = int(end // 86400) - int(start // 86400)
    clock_text = f"{clock(start)} → {clock(end)}" + (f" (+{days} d)" if days > 0 else "")
    if result.wave_fire_s is None:
        wave = "none in this scenario"
    else:
        wave = (
            f"fires at {clock(start + result.wave_fire_s)} on the simulated clock, "
            f"{human_duration(result.wave_fire_s)} into the run"
        )
    skipped_class = ' class="warn"' if result.trace_rows_skipped else ""
    policies = " ".join(_policy_tag(n, colors) for n in result.policies) or "none"
    facts = [
        ("Scenario", _e(result.scenario)),
        ("Seed", _e(result.seed)),
        ("Nodes", f"{result.nodes:,}"),
        (
            "Simulated duration",
            f"{human_duration(result.duration_s)} ({result.duration_s:,.0f} s)",
        ),
        ("Simulated clock", _e(clock_text)),
        ("00:00 job wave", _e(wave)),
        ("Policies", policies),
        ("Trace rows skipped", f"<span{skipped_class}>{result.trace_rows_skipped:,}</span>"),
    ]
    rows = "\n".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    return (
        "<header>\n"
        f'<p class="kicker">colo simulation report</p>\n<h1>{_e(result.scenario)}</h1>\n'
        f'<p class="lede">{len(result.policies)} placement {_plural(len(result.policies))} '
        "ran the same scenario with the same seed, workload and nodes; every difference "
        "below comes from the policy.</p>\n"
        f'<dl class="facts">\n{rows}\n</dl>\n'
        f"{_trace_files(result)}\n"
        "</header>"
    )


def _warnings(result: SimulationResult) -> str:
    """A box listing what a reader must know to trust the figures; empty when all is well."""
    warnings = result.warnings()
    if not warnings:
        return ""
    items = "".join(f'<li class="warn">{_e(w)}</li>' for w in warnings)
    return f'<section id="warnings" role="alert"><h2>Warnings</h2><ul>{items}</ul></section>'


def _plural(n: int) -> str:
    return "policy" if n == 1 else "policies"


def _trace_files(result: SimulationResult) -> str:
    files = result.trace_files or {}
    if not files:
        return '<p class="note">No trace files were read (synthetic workload).</p>'
    columns: list[str] = []
    for counts in files.values():
        for key in counts:
            if key not in columns:
                columns.append(key)
    head = "".join(f'<th scope="col" class="num">{_e(c.replace("_", " "))}</th>' for c in columns)
    body = []
    for fname, counts in files.items():
        cells = []
        for c in columns:
            v = counts.get(c)
            warn = "skip" in c and isinstance(v, int | float) and v > 0
            text = f"{v:,}" if isinstance(v, int | float) else ("—" if v is None else _e(v))
            cells.append(f'<td class="num{" warn" if warn else ""}">{text}</td>')
        body.append(f'<tr><th scope="row"><code>{_e(fname)}</code></th>{"".join(cells)}</tr>')
    return (
        '<table class="trace-files" id="trace-files">\n'
        "<caption>Trace files: rows read and skipped per file</caption>\n"
        f'<thead><tr><th scope="col">file</th>{head}</tr></thead>\n'
        f"<tbody>\n{chr(10).join(body)}\n</tbody>\n</table>"
    )


def _nav(plots: Sequence[Plot]) -> str:
    links = [
        ("how-to-read", "How to read"),
        ("summary", "Summary"),
        *((p.id, p.title) for p in plots),
        ("definitions", "Definitions"),
    ]
    items = "".join(f'<li><a href="#{_e(i)}">{_e(t)}</a></li>' for i, t in links)
    return f'<nav aria-label="Contents"><ul>{items}</ul></nav>'


def _how_to_read(result: SimulationResult) -> str:
    items = [
        "Each policy has one color, used in the table header and in every plot.",
        'The <a href="#summary">summary table</a> has one column per policy. The arrow '
        "after each metric says whether higher (↑) or lower (↓) is better; the best value of "
        "each row is highlighted (nothing is highlighted when all policies tie).",
        "Utilization is a share of the whole cluster's capacity, so 50 % means half of all "
        "CPU (or memory) on all nodes was in use by pods.",
        "Plots over time use the simulated wall clock (time of day). "
        + (
            "The dashed vertical line marks the 00:00 job wave, when many cron jobs fire at once."
            if result.wave_fire_s is not None
            else "This scenario has no 00:00 job wave."
        ),
        f"Long series are averaged into at most {MAX_POINTS:,} time buckets for drawing; the "
        "numbers in the summary table come from the full-resolution run.",
        "Distribution plots (CDFs) show, at each x, the share of pods that started within x. "
        "Curves further up and to the left are better.",
        "Utilization alone is not the goal: read it together with online interference and "
        "evictions, which show what the extra utilization cost the online services.",
    ]
    lis = "\n".join(f"<li>{i}</li>" for i in items)
    return (
        '<section id="how-to-read">\n<h2>How to read this report</h2>\n'
        f"<ul>\n{lis}\n</ul>\n</section>"
    )


def _metric_names(result: SimulationResult) -> list[str]:
    extra: list[str] = []
    for p in result.policies.values():
        for key in p.metrics:
            if key not in POLICY_METRICS and key not in extra:
                extra.append(key)
    return [*POLICY_METRICS, *extra]


def _best(values: Sequence[float], better: Better | None) -> set[int]:
    finite = [(i, v) for i, v in enumerate(values) if math.isfinite(v)]
    if better is None or len(finite) < 2:
        return set()
    pick = max if better == "higher" else min
    best = pick(v for _, v in finite)
    winners = {i for i, v in finite if math.isclose(v, best, rel_tol=1e-9, abs_tol=1e-12)}
    return set() if len(winners) == len(finite) else winners


def _approx(name: str, value: float) -> str:
    """A coarser human reading next to long durations ('≈ 1.5 h')."""
    if metric_info(name).unit != "seconds" or not math.isfinite(value) or abs(value) < 120:
        return ""
    return f' <span class="approx">≈ {_e(human_duration(value))}</span>'


def _summary(result: SimulationResult, colors: dict[str, str]) -> str:
    names = list(result.policies)
    head = "".join(f'<th scope="col" class="num">{_policy_tag(n, colors)}</th>' for n in names)
    rows = []
    for metric in _metric_names(result):
        info = metric_info(metric)
        values = [_value(result.policies[n].metrics.get(metric)) for n in names]
        best = _best(values, info.better)
        arrow = {"higher": "↑", "lower": "↓", None: ""}[info.better]
        arrow_title = f"{info.better} is better" if info.better else "no better direction"
        cells = []
        for i, v in enumerate(values):
            cls = "num best" if i in best else "num"
            title = ' title="best"' if i in best else ""
            cells.append(
                f'<td class="{cls}"{title}><span class="v">{_e(format_metric(metric, v))}'
                f"</span>{_approx(metric, v)}</td>"
            )
        unit = f' <span class="unit">{_e(info.unit_text)}</span>' if info.unit_text else ""
        rows.append(
            f'<tr data-metric="{_e(metric)}"><th scope="row">{_e(info.label)}{unit}</th>'
            f'<td class="better" title="{arrow_title}">{arrow}</td>{"".join(cells)}</tr>'
        )
    return (
        '<section id="summary">\n<h2>Summary</h2>\n'
        '<div class="table-wrap">\n<table id="summary-table" class="summary">\n'
        f'<thead><tr><th scope="col">metric</th><th scope="col" class="better">better</th>'
        f"{head}</tr></thead>\n"
        f"<tbody>\n{chr(10).join(rows)}\n</tbody>\n</table>\n</div>\n"
        '<p class="note">Highlighted: the best value of the row. '
        'Definitions of every metric are <a href="#definitions">at the end</a>.</p>\n'
        "</section>"
    )


def _plots(plots: Iterable[Plot]) -> str:
    figures = []
    for p in plots:
        figures.append(
            f'<figure class="plot" id="{_e(p.id)}">\n<h3>{_e(p.title)}</h3>\n{p.svg}\n'
            f'<figcaption id="{_e(p.id)}-caption">{_e(p.caption)}</figcaption>\n</figure>'
        )
    return '<section id="plots">\n<h2>Plots</h2>\n' + "\n".join(figures) + "\n</section>"


def _definitions(result: SimulationResult) -> str:
    items = []
    for metric in _metric_names(result):
        info = metric_info(metric)
        definition = info.definition or "Reported by the simulator; no description available."
        direction = f" {info.better.capitalize()} is better." if info.better else ""
        items.append(
            f"<dt>{_e(info.label)} <code>{_e(metric)}</code></dt>"
            f"<dd>{_e(definition)}{_e(direction)}</dd>"
        )
    series = sorted({k for p in result.policies.values() for k in (p.extra_series or {})})
    extra = ""
    if series:
        names = ", ".join(f"<code>{_e(s)}</code>" for s in series)
        extra = (
            f'<p class="note">Additional series plotted as published by the policies: {names}.'
            "</p>\n"
        )
    return (
        '<section id="definitions">\n<h2>Metric definitions</h2>\n'
        f'<dl class="definitions">\n{chr(10).join(items)}\n</dl>\n{extra}</section>'
    )


_CSS = """
:root { color-scheme: light; --ink: #1d2329; --muted: #5b6670; --line: #dde2e6;
  --bg: #ffffff; --panel: #f6f8fa; --best: #e3f4e8; --best-ink: #14532d; --warn: #9a3412; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
header, nav, main, footer { max-width: 1080px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; }
.kicker { margin: 0; color: var(--muted); font-size: 13px; letter-spacing: .06em;
  text-transform: uppercase; }
h1 { margin: 2px 0 6px; font-size: 28px; line-height: 1.2; overflow-wrap: anywhere; }
h2 { margin: 36px 0 12px; font-size: 21px; border-bottom: 1px solid var(--line);
  padding-bottom: 6px; }
h3 { margin: 0 0 6px; font-size: 16px; }
.lede { margin: 0 0 16px; color: var(--muted); max-width: 60em; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0 0 16px;
  padding: 14px 18px; background: var(--panel); border: 1px solid var(--line);
  border-radius: 8px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.policy { display: inline-flex; align-items: center; gap: 6px; margin-right: 12px;
  white-space: nowrap; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px;
  flex: none; }
.warn { color: var(--warn); font-weight: 600; }
nav { margin-top: 8px; }
nav ul { list-style: none; margin: 0; padding: 8px 0; display: flex; flex-wrap: wrap;
  gap: 4px 16px; border-top: 1px solid var(--line); border-bottom: 1px solid var(--line);
  font-size: 14px; }
a { color: #0b5cad; text-decoration: none; }
a:hover { text-decoration: underline; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; color: var(--muted); font-size: 13px;
  padding-bottom: 4px; }
th, td { padding: 6px 12px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: baseline; }
thead th { border-bottom: 2px solid #c5ccd3; font-weight: 600; }
.num { text-align: right; }
.trace-files { font-size: 13px; margin-bottom: 4px; }
.trace-files th, .trace-files td { padding: 3px 10px; }
.table-wrap { overflow-x: auto; }
.summary { min-width: min(100%, 760px); }
.summary tbody tr:nth-child(even) { background: #fafbfc; }
.summary tbody th { font-weight: 500; }
.summary .unit { display: block; color: var(--muted); font-size: 12px; font-weight: 400; }
.summary .better { text-align: center; color: var(--muted); }
.summary td.best { background: var(--best); color: var(--best-ink); font-weight: 700; }
.approx { display: block; color: var(--muted); font-size: 12px; font-weight: 400; }
.note { color: var(--muted); font-size: 13px; }
figure.plot { margin: 0 0 28px; padding: 16px 18px 12px; border: 1px solid var(--line);
  border-radius: 8px; background: #fff; }
figure.plot svg { display: block; width: 100%; height: auto; }
figure.plot svg * { stroke-linejoin: round; stroke-linecap: butt; }
figcaption { margin-top: 8px; color: var(--muted); font-size: 14px; max-width: 62em; }
.definitions dt { font-weight: 600; margin-top: 10px; }
.definitions dt code { font-weight: 400; color: var(--muted); margin-left: 6px; }
.definitions dd { margin: 2px 0 0; max-width: 62em; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: 0.9em; }
footer { margin-top: 40px; padding-top: 12px; padding-bottom: 28px; color: var(--muted);
  font-size: 13px; border-top: 1px solid var(--line); }
@media print { nav { display: none; } figure.plot { break-inside: avoid; } }
""".strip()
