"""`colo`: the command line, and the composition root of `colo sim`.

Exit codes: 0 success; 1 a fault outside the user's control; 2 a usage error or bad
input (unknown flag, bad scenario file, missing traces), always with a message that
names what was wrong, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from colo import __version__
from colo.cli.args import whole_number
from colo.core.errors import ColoError, InvalidInput

EXIT_OK = 0
EXIT_FAULT = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colo",
        description="Co-locate online services and offline work on the same Kubernetes nodes.",
    )
    parser.add_argument("--version", action="version", version=f"colo {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    sim = commands.add_parser(
        "sim",
        help="simulate a cluster under several policies and write a report",
        description=(
            "Replay real traces on a simulated cluster under each policy and write "
            "DIR/summary.json and DIR/report.html."
        ),
    )
    sim.add_argument(
        "--scenario",
        default="default",
        help="built-in scenario name or path to a YAML file (default: default)",
    )
    sim.add_argument(
        "--policies",
        default=None,
        help="comma-separated policies (default: reserved,request-based,colo)",
    )
    sim.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    sim.add_argument("--out", default="out", type=Path, help="output directory (default: out)")
    sim.add_argument(
        "--quick",
        action="store_true",
        help="a small, short variant of the scenario that finishes in seconds",
    )
    sim.add_argument(
        "--traces",
        default=None,
        type=Path,
        help="trace directory (default: $COLO_TRACES or shared/traces beside the checkout)",
    )
    sim.add_argument("--no-progress", action="store_true", help="no progress bar")
    sim.add_argument(
        "--jobs",
        type=whole_number(1),
        default=min(os.cpu_count() or 1, 4),
        help="policies simulated in parallel processes (default: CPUs, at most 4)",
    )
    from colo.cli.dev import add_parser as add_dev_parser

    add_dev_parser(commands)
    from colo.cli.webhook import add_parser as add_webhook_parser

    add_webhook_parser(commands)
    from colo.cli.predict import add_parser as add_predict_parser

    add_predict_parser(commands)
    from colo.cli.explain import add_parser as add_explain_parser

    add_explain_parser(commands)
    from colo.cli.batch import add_parser as add_batch_parser

    add_batch_parser(commands)
    from colo.cli.coord import add_parser as add_coord_parser

    add_coord_parser(commands)
    from colo.cli.extender import add_parser as add_extender_parser

    add_extender_parser(commands)
    from colo.cli.agent import add_parser as add_agent_parser

    add_agent_parser(commands)
    from colo.cli.cron import add_parser as add_cron_parser

    add_cron_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "sim":
            from colo.cli.sim import run_sim

            return run_sim(args)
        if args.command == "dev":
            from colo.cli.dev import run_dev

            return run_dev(args)
        if args.command == "explain":
            from colo.cli.explain import run_explain

            return run_explain(args)
        if args.command == "predict":
            from colo.cli.predict import run_predict

            return run_predict(args)
        if args.command == "batch":
            from colo.cli.batch import run_batch

            return run_batch(args)
        if args.command == "coord":
            from colo.cli.coord import run_coord

            return run_coord(args)
        if args.command == "extender":
            from colo.cli.extender import run_extender

            return run_extender(args)
        if args.command == "agent":
            from colo.cli.agent import run_agent

            return run_agent(args)
        if args.command == "webhook":
            from colo.cli.webhook import run_webhook

            return run_webhook(args)
        if args.command == "cron":
            from colo.cli.cron import run_cron

            return run_cron(args)
    except InvalidInput as exc:
        print(f"colo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ColoError as exc:
        print(f"colo: error: {exc}", file=sys.stderr)
        return EXIT_FAULT
    except KeyboardInterrupt:
        print("colo: interrupted", file=sys.stderr)
        return 130
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
