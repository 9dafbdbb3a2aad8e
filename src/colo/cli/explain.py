"""`colo explain node NAME`: why a node offers the batch capacity it offers.

    colo explain node NAME [--kubeconfig PATH] [--context NAME]
    colo explain node NAME --sim [--scenario S] [--quick] [--seed N] [--at DURATION] [--traces DIR]

Against a cluster it reads the node's published `colo.io/batch-*`, its agent's heartbeat
Lease and the explanation the agent keeps there (every term of the reclaim calculation
and where it came from). With `--sim` it runs the scenario's `colo` policy up to `--at`
(default: the end) and explains the node from the simulated agent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from colo.core.errors import InvalidInput, NotFound
from colo.core.resources import BATCH_CPU, BATCH_MEMORY


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


def _mcpu(v: int) -> str:
    return f"{v / 1000:.2f}"


def _gib(v: int) -> str:
    return f"{v / 2**30:.2f}"


def render(reclaim: Any, *, title: str, notes: list[str]) -> None:
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


def _explain_sim(args: argparse.Namespace) -> int:
    from colo.sim.cluster import node_names
    from colo.sim.reclaim_agent import SimReclaimAgents
    from colo.sim.runner import simulate
    from colo.sim.scenario import load_scenario
    from colo.sim.workload import build_workload
    from colo.traces import TraceSet

    scenario = load_scenario(args.scenario)
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    if args.quick:
        scenario = scenario.quickened()
    at = _parse_at(args.at)
    workload = build_workload(scenario, TraceSet.locate(args.traces))
    names = node_names(len(workload.node_cpu_milli))
    if args.name not in names:
        raise InvalidInput(
            "no such node in the simulated cluster",
            obj=f"scenario {scenario.name}",
            field="NAME",
            value=args.name,
            expected=f"{names[0]} … {names[-1]}",
        )
    until = scenario.duration if at is None else at
    policy, cluster = simulate(scenario, workload, "colo", until_s=until)
    agents = getattr(policy, "agents", None)
    assert isinstance(agents, SimReclaimAgents)
    reclaim = agents.explain(args.name)
    published = cluster.extended[names.index(args.name)]
    when = agents.last_at or 0.0
    render(
        reclaim,
        title=f"{args.name} in scenario {scenario.name} (seed {scenario.seed}), "
        f"simulated {when / 3600:.2f} h after the start",
        notes=[
            f"published: {BATCH_CPU} {published.get(BATCH_CPU, 0)}m, "
            f"{BATCH_MEMORY} {published.get(BATCH_MEMORY, 0)} B "
            "(the reporter skips changes under its threshold, so it may lag the computation)",
        ],
    )
    return 0


async def _explain_cluster(args: argparse.Namespace) -> int:
    from colo.agent.report import EXPLANATION_ANNOTATION
    from colo.kube.config import load_config
    from colo.kube.heartbeat import read_heartbeat
    from colo.kube.transport import Transport
    from colo.predict.reclaim import from_dict

    config = load_config(args.kubeconfig, context=args.context)
    async with Transport.from_config(config) as t:
        try:
            node = await t.get(f"/api/v1/nodes/{args.name}")
        except NotFound:
            raise InvalidInput(
                "node not found", obj=config.server, field="NAME", value=args.name
            ) from None
        lease = await read_heartbeat(t, args.name)
    alloc = node.get("status", {}).get("allocatable", {})
    notes = [
        f"published allocatable: {BATCH_CPU} {alloc.get(BATCH_CPU, 'none')}, "
        f"{BATCH_MEMORY} {alloc.get(BATCH_MEMORY, 'none')}"
    ]
    if lease is None:
        print(f"{args.name}: no colo-agent heartbeat (Lease colo-system/colo-agent-{args.name}).")
        print("Without a live agent the node should offer no batch capacity; the sweeper sets")
        print("it to zero once the heartbeat timeout passes.")
        print(notes[0])
        return 0
    renew = (lease.get("spec") or {}).get("renewTime")
    if renew:
        age = datetime.now(UTC) - datetime.fromisoformat(renew.replace("Z", "+00:00"))
        notes.append(f"agent heartbeat: {age.total_seconds():.0f} s ago ({renew})")
    raw = ((lease.get("metadata") or {}).get("annotations") or {}).get(EXPLANATION_ANNOTATION)
    if raw is None:
        print(f"{args.name}: the agent has not published an explanation yet.")
        for n in notes:
            print(n)
        return 0
    try:
        doc = json.loads(raw)
    except ValueError as e:
        raise InvalidInput(f"not JSON: {e}", obj=f"Lease colo-agent-{args.name}",
                           field=EXPLANATION_ANNOTATION) from None  # fmt: skip
    reclaim = from_dict(doc, obj=f"Lease colo-agent-{args.name} {EXPLANATION_ANNOTATION}")
    notes.append(f"agent's last decision: {doc.get('decision', '?')} at {doc.get('at', '?')}")
    render(reclaim, title=f"{args.name}: reclaimable batch capacity, as its agent computed it",
           notes=notes)  # fmt: skip
    return 0


def run_explain(args: argparse.Namespace) -> int:
    if args.sim:
        return _explain_sim(args)
    return asyncio.run(_explain_cluster(args))
