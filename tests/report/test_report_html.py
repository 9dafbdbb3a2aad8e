"""Unit tests of the HTML report: structure, formatting, self-containedness, determinism."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from colo.report import render_report, write_report
from colo.report.metrics import format_metric
from colo.sim.results import POLICY_METRICS, PREDICTED_PEAK, RECLAIMED, SimulationResult

HERE = Path(__file__).resolve().parent
POLICIES = ["reserved", "request-based", "colo"]
BASE_PLOTS = [
    "plot-cpu",
    "plot-memory",
    "plot-interference",
    "plot-offline-wait",
    "plot-wave",
    "plot-cost",
]

# metric -> (row label, formatted values for reserved / request-based / colo, best policies)
EXPECTED_ROWS: dict[str, tuple[str, list[str], set[str]]] = {
    "cpu_util_mean": ("CPU utilization, mean", ["25.1%", "41.2%", "60.5%"], {"colo"}),
    "cpu_util_p95": ("CPU utilization, p95", ["40.0%", "71.0%", "83.0%"], {"colo"}),
    "mem_util_mean": ("Memory utilization, mean", ["30.0%", "55.0%", "61.0%"], {"colo"}),
    "online_interference_rate": (
        "Online interference rate",
        ["0.0%", "4.3%", "0.31%"],
        {"reserved"},
    ),
    "offline_jobs_completed": ("Offline jobs completed", ["120", "310", "1,204"], {"colo"}),
    "offline_wait_p50_s": ("Offline wait, median", ["340 s", "12.5 s", "0.42 s"], {"colo"}),
    "offline_wait_p95_s": ("Offline wait, p95", ["5,400 s", "610 s", "45.0 s"], {"colo"}),
    "evictions": ("Evictions", ["0", "17", "3"], {"reserved"}),
    "node_hours": ("Node-hours", ["480.0", "480.0", "480.0"], set()),  # all tie: none best
    "job_start_delay_p99_s": ("Job start delay, p99", ["7,200 s", "900 s", "95.2 s"], {"colo"}),
}


def summary_rows(tree):
    """{metric: (row header text, [(value text, is_best), ...])} from the summary table."""
    table = tree.by_id("summary-table")
    rows = {}
    for tr in table.find_all("tbody")[0].find_all("tr"):
        header = tr.find_all("th")[0]
        cells = [td for td in tr.find_all("td") if "better" not in td.classes()]
        values = [(td.find_all("span", "v")[0].text(), "best" in td.classes()) for td in cells]
        rows[tr.attrs["data-metric"]] = (header.text(), values)
    return rows


def summary_columns(tree) -> list[str]:
    head = tree.by_id("summary-table").find_all("thead")[0]
    return [th.text().strip() for th in head.find_all("th")]


def plot_figures(tree):
    return [f for f in tree.find_all("figure") if "plot" in f.classes()]


# ---------------------------------------------------------------------------------------------
# Summary table


def test_summary_table_has_a_column_per_policy_and_a_row_per_metric(default_report, parse):
    tree = parse(default_report)
    assert summary_columns(tree) == ["metric", "better", *POLICIES]
    rows = summary_rows(tree)
    assert list(rows) == list(POLICY_METRICS)
    for metric, (label, values, _best) in EXPECTED_ROWS.items():
        header, cells = rows[metric]
        assert header.startswith(label), (metric, header)
        assert [text for text, _ in cells] == values, metric


def test_summary_table_shows_units(default_report, parse):
    rows = summary_rows(parse(default_report))
    assert "% of cluster CPU" in rows["cpu_util_mean"][0]
    assert "% of online pod-time" in rows["online_interference_rate"][0]
    assert "seconds" in rows["offline_wait_p95_s"][0]
    assert "node-hours" in rows["node_hours"][0]


def test_best_value_per_row_is_highlighted(default_report, parse):
    rows = summary_rows(parse(default_report))
    for metric, (_label, _values, best) in EXPECTED_ROWS.items():
        highlighted = {POLICIES[i] for i, (_, is_best) in enumerate(rows[metric][1]) if is_best}
        assert highlighted == best, metric


def test_single_policy_highlights_nothing(make_result, parse):
    rows = summary_rows(parse(render_report(make_result(["colo"]))))
    assert not any(is_best for _, cells in rows.values() for _, is_best in cells)


def test_missing_and_unknown_metrics(make_result, parse):
    metrics = {
        "colo": {"cpu_util_mean": 0.5, "gpu_util_mean": 0.25, "warmup_s": 30.0},
        "reserved": {"cpu_util_mean": float("nan")},
    }
    result = make_result(["reserved", "colo"], metrics=metrics)
    rows = summary_rows(parse(render_report(result)))
    assert list(rows) == [*POLICY_METRICS, "gpu_util_mean", "warmup_s"]
    assert [t for t, _ in rows["evictions"][1]] == ["—", "—"]
    assert [t for t, _ in rows["cpu_util_mean"][1]] == ["—", "50.0%"]
    assert [t for t, _ in rows["gpu_util_mean"][1]] == ["—", "25.0%"]
    assert [t for t, _ in rows["warmup_s"][1]] == ["—", "30.0 s"]


@pytest.mark.parametrize(
    ("metric", "value", "text"),
    [
        ("cpu_util_mean", 0.0, "0.0%"),
        ("cpu_util_mean", 1.0, "100.0%"),
        ("online_interference_rate", 0.00012, "0.01%"),
        ("online_interference_rate", 0.1234, "12.3%"),
        ("offline_wait_p50_s", 0.123, "0.12 s"),
        ("offline_wait_p50_s", 99.94, "99.9 s"),
        ("offline_wait_p95_s", 86_400, "86,400 s"),
        ("evictions", 1_234_567, "1,234,567"),
        ("offline_jobs_completed", 7.0, "7"),
        ("node_hours", 1234.56, "1,234.6"),
        ("node_hours", None, "—"),
        ("node_hours", float("inf"), "—"),
    ],
)
def test_format_metric(metric, value, text):
    assert format_metric(metric, value) == text


# ---------------------------------------------------------------------------------------------
# Header


def test_header_facts_and_trace_files(default_report, parse):
    tree = parse(default_report)
    header = tree.find_all("header")[0]
    facts = header.find_all("dl")[0]
    pairs = dict(
        zip(
            (dt.text() for dt in facts.find_all("dt")),
            (dd.text().strip() for dd in facts.find_all("dd")),
            strict=True,
        )
    )
    assert pairs["Scenario"] == "diurnal-web"
    assert pairs["Seed"] == "42"
    assert pairs["Nodes"] == "20"
    assert pairs["Simulated duration"] == "24 h (86,400 s)"
    assert pairs["Simulated clock"] == "08:00 → 08:00 (+1 d)"
    assert pairs["00:00 job wave"].startswith("fires at 00:00")
    assert pairs["Trace rows skipped"] == "3"
    assert tree.find_all("h1")[0].text() == "diurnal-web"

    files = tree.by_id("trace-files")
    assert [th.text() for th in files.find_all("thead")[0].find_all("th")] == [
        "file",
        "rows read",
        "rows skipped",
    ]
    body = [[c.text() for c in tr.iter() if c.tag in ("th", "td")] for tr in files.find_all("tr")]
    assert ["online.csv", "1,000", "0"] in body
    assert ["batch.csv", "5,000", "3"] in body


# ---------------------------------------------------------------------------------------------
# Plots


def test_every_plot_is_a_figure_with_inline_svg_and_caption(default_report, parse):
    tree = parse(default_report)
    figures = plot_figures(tree)
    assert [f.attrs["id"] for f in figures] == BASE_PLOTS
    for fig in figures:
        svgs = fig.find_all("svg")
        assert len(svgs) == 1, fig.attrs["id"]
        assert svgs[0].attrs.get("viewbox"), fig.attrs["id"]
        assert svgs[0].find_all("path"), fig.attrs["id"]  # something is drawn
        captions = fig.find_all("figcaption")
        assert len(captions) == 1
        assert len(captions[0].text().split()) >= 10, fig.attrs["id"]
    nav_targets = {a.attrs["href"] for a in tree.find_all("nav")[0].find_all("a")}
    assert {f"#{p}" for p in BASE_PLOTS} <= nav_targets


def test_how_to_read_and_definitions(default_report, parse):
    tree = parse(default_report)
    assert "How to read" in tree.by_id("how-to-read").text()
    definitions = tree.by_id("definitions")
    terms = [dt.find_all("code")[0].text() for dt in definitions.find_all("dt")]
    assert terms == list(POLICY_METRICS)
    text = " ".join(definitions.text().split())
    assert "Share of online pod-time whose latency inflation exceeded the SLO bound" in text


def test_extra_series_get_one_plot_each(make_result, parse):
    ticks = 288
    extra = {
        "colo": {
            "predicted_peak_cpu": np.linspace(0.2, 0.6, ticks),
            "reclaimed_cpu": np.full(ticks, 0.1),
        },
        "request-based": {"reclaimed_cpu": np.full(ticks, 0.05)},
    }
    tree = parse(render_report(make_result(extra=extra, ticks=ticks)))
    figures = {f.attrs["id"]: f for f in plot_figures(tree)}
    assert list(figures) == [
        *BASE_PLOTS,
        "plot-extra-predicted-peak-cpu",
        "plot-extra-reclaimed-cpu",
    ]
    caption = figures["plot-extra-reclaimed-cpu"].find_all("figcaption")[0].text()
    assert "request-based, colo" in caption
    assert "reserved" not in caption
    assert figures["plot-extra-predicted-peak-cpu"].find_all("svg")


def test_svg_ids_are_unique_in_the_page(default_report, parse):
    tree = parse(default_report)
    ids = [n.attrs["id"] for n in tree.iter() if "id" in n.attrs]
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes
    # every internal reference points at an element of the page
    known = set(ids)
    for node in tree.iter():
        for name in ("href", "xlink:href"):
            ref = node.attrs.get(name)
            if ref:
                assert ref.startswith("#") and ref[1:] in known, ref


# ---------------------------------------------------------------------------------------------
# Self-contained


REMOTE_ATTRS = ("src", "href", "xlink:href", "srcset", "action", "data", "poster", "background")


def test_no_external_resources(default_report, parse):
    text = default_report
    tree = parse(text)
    for node in tree.iter():
        assert node.tag not in {"script", "link", "iframe", "object", "embed", "img", "base"}
        for name in REMOTE_ATTRS:
            value = (node.attrs.get(name) or "").strip().lower()
            assert "://" not in value and not value.startswith("//"), (node.tag, name, value)
        assert not any(a.startswith("on") for a in node.attrs), node.tag
    lowered = text.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "@import" not in lowered and "@font-face" not in lowered
    assert "url(" not in lowered.replace("url(#", "")
    csp = [
        m for m in tree.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp and "default-src 'none'" in (csp[0].attrs["content"] or "")


# ---------------------------------------------------------------------------------------------
# Determinism


def test_same_result_renders_identical_bytes(make_result, default_report):
    again = render_report(make_result())
    assert again.encode() == default_report.encode()


def test_identical_bytes_across_processes(default_report):
    """A fresh interpreter (other hash seed, fresh matplotlib) renders the same bytes."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from conftest import build_result
        from colo.report import render_report
        sys.stdout.buffer.write(render_report(build_result()).encode())
        """
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, check=True, timeout=120
    ).stdout
    assert out == default_report.encode()


def test_rendering_leaves_matplotlib_global_state_alone():
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        import matplotlib

        def snapshot():
            # reading rcParams["backend"] would itself resolve the backend (and import pyplot)
            return {k: matplotlib.rcParams[k] for k in matplotlib.rcParams if k != "backend"}

        before = snapshot()
        import colo.report
        from conftest import build_result
        colo.report.render_report(build_result())
        assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
        assert matplotlib.get_backend(auto_select=False) is None, "backend selected"
        after = snapshot()
        changed = sorted(k for k in before if before[k] != after[k])
        assert not changed, changed
        print("ok")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(HERE)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


# ---------------------------------------------------------------------------------------------
# Hostile input and edge cases


def test_hostile_names_are_escaped(make_result, parse):
    scenario = '<script>alert("pwn")</script> & <img src=x onerror=alert(1)>'
    policy = '<b onclick="x()">evil</b> $x^2$ \\'
    series = "</svg><script>bad()</script>"
    result = make_result(
        [policy, "_hidden"],
        scenario=scenario,
        extra={policy: {series: np.ones(288)}},
    )
    result.trace_files['<i>trace</i>".csv'] = {"rows_read": 1, "<u>odd</u>": 2}
    text = render_report(result)
    lowered = text.lower()
    assert "<script" not in lowered
    assert "<img" not in lowered
    assert "<b " not in lowered and "<i>" not in lowered and "<u>" not in lowered
    tree = parse(text)
    assert not [n for n in tree.iter() if n.tag in {"script", "img", "b", "i", "u"}]
    assert tree.find_all("h1")[0].text() == scenario
    assert tree.find_all("title")[0].text() == f"colo simulation report: {scenario}"
    assert summary_columns(tree)[2:] == [policy, "_hidden"]
    assert '<i>trace</i>".csv' in tree.by_id("trace-files").text()
    assert len(plot_figures(tree)) == len(BASE_PLOTS) + 1


def test_empty_waits_and_no_wave_render(make_result, parse):
    result = make_result(empty_samples=True, wave_fire_s=None)
    tree = parse(render_report(result))
    figures = {f.attrs["id"]: f for f in plot_figures(tree)}
    assert list(figures) == BASE_PLOTS
    for fig in figures.values():
        assert fig.find_all("svg")
    assert "no wave" in figures["plot-wave"].find_all("figcaption")[0].text()
    assert "none in this scenario" in tree.find_all("header")[0].text()


def test_wave_delays_none_and_partial_samples(make_result, parse):
    result = make_result()
    result.policies["reserved"].wave_start_delays_s = None  # type: ignore[assignment]
    result.policies["colo"].offline_waits_s = np.array([0.0, np.nan, 3.0, np.inf])
    tree = parse(render_report(result))
    assert plot_figures(tree)[4].attrs["id"] == "plot-wave"


def test_zero_completed_jobs_and_empty_series(make_result, parse):
    metrics = {p: {"offline_jobs_completed": 0, "node_hours": 10.0} for p in POLICIES}
    result = make_result(metrics=metrics, ticks=0)
    tree = parse(render_report(result))
    assert [f.attrs["id"] for f in plot_figures(tree)] == BASE_PLOTS


def test_no_policies(parse):
    result = SimulationResult(
        scenario="empty",
        seed=0,
        start_time_of_day_s=0.0,
        duration_s=0.0,
        nodes=0,
        trace_rows_skipped=0,
        trace_files={},
        policies={},
    )
    tree = parse(render_report(result))
    assert summary_columns(tree) == ["metric", "better"]
    assert [f.attrs["id"] for f in plot_figures(tree)] == BASE_PLOTS


def test_long_series_are_downsampled(make_result):
    text = render_report(make_result(ticks=86_400))  # one tick per second for a day
    assert len(text.encode()) < 1_500_000


def test_write_report_writes_utf8(make_result, tmp_path):
    path = tmp_path / "report.html"
    result = make_result(scenario="Überlast → 00:00")
    write_report(result, path)
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in text
    assert "<h1>Überlast → 00:00</h1>" in text


def test_warnings_about_missing_work_are_shown_prominently(make_result) -> None:  # type: ignore[no-untyped-def]
    result = make_result()
    name = next(iter(result.policies))
    result.policies[name].diagnostics.update({"online_pods": 10, "online_pods_unplaced": 3})
    html = render_report(result)
    assert 'id="warnings"' in html
    assert "3 of 10 online pods did not fit" in html
    clean = make_result()
    assert 'id="warnings"' not in render_report(clean)


def test_the_reclaim_agents_series_get_the_reclaim_plot(make_result, parse):
    ticks = 288
    extra = {
        "colo": {
            PREDICTED_PEAK: np.linspace(0.3, 0.5, ticks),
            RECLAIMED: np.full(ticks, 0.3),
            "other": np.zeros(ticks),
        },
    }
    tree = parse(render_report(make_result(extra=extra, ticks=ticks)))
    figures = {f.attrs["id"]: f for f in plot_figures(tree)}
    assert list(figures) == [*BASE_PLOTS, "plot-reclaim", "plot-extra-other"]
    caption = figures["plot-reclaim"].find_all("figcaption")[0].text()
    assert "predicted peak" in caption and "colo.io/batch-cpu" in caption
    assert figures["plot-reclaim"].find_all("svg")
