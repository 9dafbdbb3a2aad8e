"""The HTML report of a `colo sim` run: one self-contained page comparing the policies.

`render_report(result)` returns the page; `write_report(result, path)` writes it. The
simulator does not import this package: `colo sim` (`colo.cli.sim`) runs the scenario,
then hands the `SimulationResult` here.
"""

from colo.report.html import render_report, write_report

__all__ = ["render_report", "write_report"]
