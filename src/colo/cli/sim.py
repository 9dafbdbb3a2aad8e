"""`colo sim`: wire scenario, traces, runner, summary and report."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colo.core.errors import InvalidInput

if TYPE_CHECKING:
    from rich.progress import TaskID

    from colo.sim.runner import Progress


def _policies(text: str | None) -> list[str]:
    from colo.sim.policies import DEFAULT_POLICIES

    if text is None:
        return list(DEFAULT_POLICIES)
    names = [p.strip() for p in text.split(",")]
    if not all(names):
        raise InvalidInput(
            "empty policy name",
            field="--policies",
            value=text,
            expected="comma-separated names like reserved,request-based",
        )
    if len(set(names)) != len(names):
        raise InvalidInput("policy named twice", field="--policies", value=text)
    return names


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InvalidInput("not a directory", field="--out", value=str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(
            f"cannot create output directory: {exc.strerror}", field="--out", value=str(out)
        ) from None


def run_sim(args: argparse.Namespace) -> int:
    from colo.report import write_report
    from colo.sim.policies import make_policy
    from colo.sim.runner import run_scenario
    from colo.sim.scenario import load_scenario
    from colo.sim.summary import write_summary
    from colo.traces import TraceSet

    policies = _policies(args.policies)
    scenario = load_scenario(args.scenario)
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    if args.quick:
        scenario = scenario.quickened()
    for name in policies:
        make_policy(name, scenario)
    traces = TraceSet.locate(args.traces)
    out: Path = args.out
    _prepare_out(out)

    started = time.perf_counter()
    show = not args.no_progress and sys.stderr.isatty()
    with _progress(show) as update:
        result = run_scenario(scenario, policies, traces=traces, progress=update, jobs=args.jobs)
    summary = write_summary(result, out / "summary.json", quick=args.quick)
    write_report(result, out / "report.html")
    elapsed = time.perf_counter() - started
    _print_table(summary, out, elapsed)
    for warning in summary["warnings"]:
        print(f"colo: warning: {warning}", file=sys.stderr)
    return 0


@contextmanager
def _progress(show: bool) -> Iterator[Progress | None]:
    """A rich progress bar per policy on stderr, or None when not shown."""
    if not show:
        yield None
        return
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    tasks: dict[str, TaskID] = {}
    with Bar(
        TextColumn("[bold]{task.description:>14}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}% of simulated time"),
        TimeElapsedColumn(),
    ) as bar:

        def update(policy: str, done_s: float, total_s: float) -> None:
            if policy not in tasks:
                tasks[policy] = bar.add_task(policy, total=total_s)
            bar.update(tasks[policy], completed=done_s)

        yield update


def _print_table(summary: dict[str, Any], out: Path, elapsed_s: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"scenario {summary['scenario']} (seed {summary['seed']})")
    table.add_column("figure")
    names = list(summary["policies"])
    for name in names:
        table.add_column(name, justify="right")
    first = summary["policies"][names[0]]
    for metric in first:
        table.add_row(metric, *(f"{summary['policies'][n][metric]:g}" for n in names))
    console = Console()
    console.print(table)
    console.print(f"wrote {out / 'summary.json'} and {out / 'report.html'} in {elapsed_s:.1f}s")
