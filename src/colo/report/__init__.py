"""The HTML report of a `colo sim` run: one self-contained page comparing the policies.

`render_report(result)` returns the page and `write_report(result, path)` writes it. The
simulator produces results and never imports this package; `colo sim` (`colo.cli.sim`)
runs the scenario, then hands its `SimulationResult` here.

Modules: `html` (the page and its sections), `metrics` (labels, units and formatting of
the summary figures), `plots` (what each figure shows), `drawing` (how figures are drawn:
style, colors, SVG export, axes).

What the report reads from the simulator: `colo.sim.results` and nothing else of it (an
import-linter contract holds it to that). That module already is the plain typed
structure a renderer wants: dataclasses of figures and numpy arrays, importing nothing of
colo, written by the runner and read alike by `summary.json` and this report. The type
cannot live here, since the simulator must not import the report; and a copy of it here
(or a Protocol restating its fields) would also restate the schema's metric order
(`POLICY_METRICS`) and could drift from it without any error.
"""

from colo.report.html import render_report, write_report

__all__ = ["render_report", "write_report"]
