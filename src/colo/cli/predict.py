"""`colo predict evaluate`: replay a usage trace and compare peak estimators.

    colo predict evaluate --trace PATH --format alibaba2018|azure|bitbrains
                          [--horizon-s N] [--warmup-s N] [--json] [--out DIR]

Prints a table (or, with --json, one JSON object:
`{"estimators": {"<name>": {"violation_rate": .., "reclaim_efficiency": ..}}, "series": N, ...}`).
With --out, also writes DIR/predict-evaluate.json and DIR/predict-evaluate.png.
See colo.predict.evaluate for the definitions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from colo.cli.args import positive_number
from colo.core.errors import InvalidInput

SECONDS = positive_number("a number of seconds")

FORMATS = ("alibaba2018", "azure", "bitbrains")


def add_parser(commands: Any) -> None:
    predict = commands.add_parser("predict", help="usage prediction tools")
    sub = predict.add_subparsers(dest="predict_command", metavar="COMMAND")
    sub.required = True
    ev = sub.add_parser(
        "evaluate",
        help="compare peak estimators on a usage trace",
        description="Replay a trace per series; score colo's estimator and the baselines.",
    )
    ev.add_argument("--trace", type=Path, required=True, help="trace file or directory")
    ev.add_argument("--format", required=True, choices=FORMATS, help="trace layout")
    ev.add_argument(
        "--horizon-s", type=SECONDS, default=600.0, help="prediction window (default 600)"
    )
    ev.add_argument(
        "--warmup-s",
        type=SECONDS,
        default=3600.0,
        help="unscored start of each series (default 3600)",
    )
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--out", type=Path, default=None, help="also write JSON and a PNG plot here")


def _load(trace: Path, fmt: str) -> tuple[list[Any], int]:
    from colo.predict.evaluate import Series

    if fmt == "alibaba2018":
        from colo.traces.alibaba2018 import load_machine_usage

        path = trace / "machine_usage.csv.gz" if trace.is_dir() else trace
        found, report = load_machine_usage(path)
    elif fmt == "azure":
        from colo.traces.azure2019 import load_vm_cpu

        path = trace / "vm_cpu_readings.csv.gz" if trace.is_dir() else trace
        vmtable = path.parent / "vmtable.csv"
        if not vmtable.exists():
            raise InvalidInput("vmtable.csv not found beside the readings", obj=str(path))
        found, report = load_vm_cpu(path, vmtable)
    else:
        from colo.traces.bitbrains import load_bitbrains

        found, report = load_bitbrains(trace)
    from colo.traces.common import bad_rows

    series = [Series(k, s.t_s, s.cpu) for k, s in sorted(found.items())]
    return series, bad_rows(report)  # malformed rows; VMs of the other category not counted


def run_predict(args: argparse.Namespace) -> int:
    from colo.predict.evaluate import evaluate, to_grid

    series, skipped = _load(args.trace, args.format)
    grid = to_grid(series)
    if args.horizon_s < grid.step_s:
        raise InvalidInput(
            "shorter than the trace's sampling step",
            obj="colo predict evaluate",
            field="--horizon-s",
            value=args.horizon_s,
            expected=f">= {grid.step_s:g} s",
        )
    ev = evaluate(grid, horizon_s=args.horizon_s, warmup_s=args.warmup_s)
    result = {
        "estimators": {
            name: {"violation_rate": s.violation_rate, "reclaim_efficiency": s.reclaim_efficiency}
            for name, s in ev.scores.items()
        },
        "series": ev.series,
        "points": next(iter(ev.scores.values())).points,
        "horizon_s": args.horizon_s,
        "step_s": grid.step_s,
        "trace_rows_skipped": skipped,
    }
    if args.out is not None:
        from colo.cli.predict_plot import write_plot

        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "predict-evaluate.json").write_text(
            json.dumps(result, indent=2, sort_keys=True)
        )
        write_plot(ev, args.out / "predict-evaluate.png", title=f"{args.format}: {args.trace}")
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{ev.series} series from {args.trace} ({args.format}), horizon {args.horizon_s:g} s",
        caption=f"{result['points']:,} scored points; step {grid.step_s:g} s; "
        f"{skipped} trace rows skipped",
    )
    for col in ("estimator", "violation rate", "reclaim efficiency", "≤ 5 %"):
        table.add_column(col, justify="left" if col == "estimator" else "right")
    for name, s in ev.scores.items():
        ok = "yes" if s.violation_rate <= 0.05 else "no"
        table.add_row(name, f"{s.violation_rate:.2%}", f"{s.reclaim_efficiency:.3f}", ok)
    Console(file=sys.stdout).print(table)
    if args.out is not None:
        print(f"wrote {args.out / 'predict-evaluate.json'} and {args.out / 'predict-evaluate.png'}")
    return 0
