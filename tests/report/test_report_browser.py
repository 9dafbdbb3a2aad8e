"""The report in a real browser: headless Chromium through Playwright's Python API.

Uses the system Chromium (`make browser` installs it; override the path with $CHROMIUM), so no
Playwright browser download is needed. Checks that the page loads without console errors or
requests beyond the file itself, and that every plot and the summary table are visible.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from colo.report import render_report
from colo.sim.results import POLICY_METRICS

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {path!r}: run `make browser` to install it "
            "(or set CHROMIUM=/path/to/chromium)",
            pytrace=False,
        )
    return path


def test_report_renders_cleanly_in_chromium(make_result, tmp_path: Path) -> None:
    executable = chromium_path()
    try:
        from playwright import sync_api
    except ImportError:
        pytest.fail("playwright is missing: pip install -e '.[test]'", pytrace=False)
    ticks = 288
    result = make_result(extra={"colo": {"reclaimed_cpu": np.linspace(0.0, 0.2, ticks)}})
    report = tmp_path / "report.html"
    report.write_text(render_report(result), encoding="utf-8")
    url = report.as_uri()

    console_errors: list[str] = []
    page_errors: list[str] = []
    failed: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console",
                lambda m: console_errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
            page.on("request", lambda r: requests.append(r.url))
            response = page.goto(url, wait_until="load")
            assert response is None or response.ok

            figures = page.locator("figure.plot")
            ids = [figures.nth(i).get_attribute("id") for i in range(figures.count())]
            assert ids == [
                "plot-cpu",
                "plot-memory",
                "plot-interference",
                "plot-offline-wait",
                "plot-wave",
                "plot-cost",
                "plot-extra-reclaimed-cpu",
            ]
            for i, plot_id in enumerate(ids):
                svg = figures.nth(i).locator("svg")
                assert svg.count() == 1, plot_id
                assert svg.is_visible(), plot_id
                box = svg.bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 50, (
                    plot_id,
                    box,
                )
                assert figures.nth(i).locator("figcaption").is_visible(), plot_id

            table = page.locator("#summary-table")
            assert table.is_visible()
            assert table.locator("tbody tr").count() == len(POLICY_METRICS)
            assert page.locator("script").count() == 0
            # the page must not depend on anything but itself
            assert page.evaluate("document.fonts.size") == 0
        finally:
            browser.close()

    assert not console_errors, console_errors
    assert not page_errors, page_errors
    assert not failed, failed
    assert set(requests) <= {url}, requests
