"""`colo explain node NAME`: why a node offers the batch capacity it offers.

    colo explain node NAME [--kubeconfig PATH] [--context NAME]
    colo explain node NAME --sim [--scenario S] [--quick] [--seed N] [--at DURATION] [--traces DIR]

Against a cluster it reads the node's published `colo.io/batch-*`, its agent's heartbeat
Lease and the explanation the agent keeps there (every term of the reclaim calculation
and where it came from). With `--sim` it runs the scenario's `colo` policy up to `--at`
(default: the end) and explains the node from the simulated agent. `colo.apps.explain`
gathers the answer; this module parses the flags and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from colo.predict.reclaim import Reclaim


def add_parser(commands: Any) -> None:
    explain = commands.add_parser("explain", help="explain colo's decisions")
    sub = explain.add_subparsers(dest="explain_command", metavar="COMMAND")
    sub.required = True
    node = sub.add_parser("node", help="why a node offers the batch capacity it offers")
    node.add_argument("name", help="node name")
    node.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: kubectl's)")
    node.add_argument("--context", default=None, help="kubeconfig context")
    node.add_argument("--sim", action="store_true", help="explain a simulated node instead")
    node.add_argument("--scenario", default="default", help="with --sim: scenario name or file")
    node.add_argument("--quick", action="store_true", help="with --sim: the quick variant")
    node.add_argument("--seed", type=int, default=None, help="with --sim: random seed")
    node.add_argument(
        "--at", default=None, help="with --sim: simulated time, e.g. 90m (default: end)"
    )
    node.add_argument("--traces", type=Path, default=None, help="with --sim: trace directory")
    cron = sub.add_parser(
        "cronjob", help="when a CronJob fires next, and why its last run started when it did"
    )
    cron.add_argument("name", metavar="NAMESPACE/NAME", help="the CronJob")
    cron.add_argument("--kubeconfig", default=None, help="kubeconfig file (default: kubectl's)")
    cron.add_argument("--context", default=None, help="kubeconfig context")


def _mcpu(v: int) -> str:
    return f"{v / 1000:.2f}"


def _gib(v: int) -> str:
    return f"{v / 2**30:.2f}"


def render(reclaim: Reclaim, *, title: str, notes: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout)
    table = Table(title=title)
    for col, just in (("term", "left"), ("cpu (cores)", "right"), ("memory (GiB)", "right"),
                      ("where it came from", "left")):  # fmt: skip
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for t in reclaim.terms:
        sign = "−" if t.name in ("safety margin", "system reserve", "online pods") else ""
        table.add_row(t.name, sign + _mcpu(t.cpu_milli), sign + _gib(t.memory_bytes), t.source)
    console.print(table)
    if reclaim.pods:
        pods = Table(title="online pods (what each holds back)")
        for col in ("pod", "cpu (cores)", "memory (GiB)", "because"):
            pods.add_column(col, justify="left" if col in ("pod", "because") else "right")
        for t in reclaim.pods:
            pods.add_row(t.name, _mcpu(t.cpu_milli), _gib(t.memory_bytes), t.source)
        console.print(pods)
    for n in reclaim.numa:
        console.print(f"  {n.terms[0].source}: reclaimable {_mcpu(n.cpu_milli)} cores, "
                      f"{_gib(n.memory_bytes)} GiB")  # fmt: skip
    for note in notes:
        console.print(note)


def _parse_at(text: str | None) -> float | None:
    if text is None:
        return None
    from colo.core.duration import parse_duration_s

    return parse_duration_s(text, obj="colo explain node", field="--at")


def _explain_cronjob(args: argparse.Namespace) -> int:
    from colo.apps.explain import explain_cronjob
    from colo.kube.config import load_config

    config = load_config(args.kubeconfig, context=args.context)
    explained = asyncio.run(explain_cronjob(config, args.name))
    print(explained.title)
    for line in explained.lines:
        print(line)
    return 0


def run_explain(args: argparse.Namespace) -> int:
    from colo.apps.explain import SimExplainOptions, explain_cluster, explain_sim

    if args.explain_command == "cronjob":
        return _explain_cronjob(args)
    if args.sim:
        explained = explain_sim(
            SimExplainOptions(
                name=args.name,
                scenario=args.scenario,
                quick=args.quick,
                seed=args.seed,
                at_s=_parse_at(args.at),
                traces=args.traces,
            )
        )
    else:
        from colo.kube.config import load_config

        config = load_config(args.kubeconfig, context=args.context)
        explained = asyncio.run(explain_cluster(config, args.name))
    if explained.reclaim is None:
        print(explained.title)
        for note in explained.notes:
            print(note)
    else:
        render(explained.reclaim, title=explained.title, notes=explained.notes)
    return 0
