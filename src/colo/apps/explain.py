"""`colo explain node`: gather why a node offers the batch capacity it offers.

Not a process: the CLI asks once and prints what comes back (`colo.cli.explain`). Two
sources, one answer (`NodeExplanation`):

- `explain_cluster` reads the node's published `colo.io/batch-*`, its agent's heartbeat
  Lease and the explanation the agent keeps there (every term of the reclaim
  calculation and where it came from).
- `explain_sim` runs the scenario's `colo` policy up to `at_s` (default: the end) and
  explains the node from the simulated agent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from colo.agent.protection import PROTECTION_ANNOTATION, explain_lines
from colo.agent.report import EXPLANATION_ANNOTATION
from colo.core.errors import InvalidInput, NotFound
from colo.core.resources import BATCH_CPU, BATCH_MEMORY
from colo.kube.config import ClientConfig
from colo.predict.reclaim import Reclaim, from_dict


@dataclass(frozen=True)
class NodeExplanation:
    """What to show about one node.

    With `reclaim`, a table of its terms titled `title`, then `notes`. Without (the
    node has no live agent, or it has published nothing yet), `title` says why, then
    `notes`.
    """

    title: str
    reclaim: Reclaim | None
    notes: list[str]


async def explain_cluster(config: ClientConfig, name: str) -> NodeExplanation:
    """The node `name` as its agent explained it in its heartbeat Lease. Raises
    `InvalidInput` (field NAME) for a node the API server does not have, or an
    explanation that is not JSON."""
    from colo.kube.heartbeat import read_heartbeat
    from colo.kube.transport import Transport

    async with Transport.from_config(config) as t:
        try:
            node = await t.get(f"/api/v1/nodes/{name}")
        except NotFound:
            raise InvalidInput(
                "node not found", obj=config.server, field="NAME", value=name
            ) from None
        lease = await read_heartbeat(t, name)
    alloc = node.get("status", {}).get("allocatable", {})
    notes = [
        f"published allocatable: {BATCH_CPU} {alloc.get(BATCH_CPU, 'none')}, "
        f"{BATCH_MEMORY} {alloc.get(BATCH_MEMORY, 'none')}"
    ]
    if lease is None:
        return NodeExplanation(
            title=f"{name}: no colo-agent heartbeat (Lease colo-system/colo-agent-{name}).\n"
            "Without a live agent the node should offer no batch capacity; the sweeper sets\n"
            "it to zero once the heartbeat timeout passes.",
            reclaim=None,
            notes=notes,
        )
    renew = (lease.get("spec") or {}).get("renewTime")
    if renew:
        age = datetime.now(UTC) - datetime.fromisoformat(renew.replace("Z", "+00:00"))
        notes.append(f"agent heartbeat: {age.total_seconds():.0f} s ago ({renew})")
    annotations = (lease.get("metadata") or {}).get("annotations") or {}
    notes += protection_notes(annotations, name)
    raw = annotations.get(EXPLANATION_ANNOTATION)
    if raw is None:
        return NodeExplanation(
            title=f"{name}: the agent has not published an explanation yet.",
            reclaim=None,
            notes=notes,
        )
    try:
        doc = json.loads(raw)
    except ValueError as e:
        raise InvalidInput(f"not JSON: {e}", obj=f"Lease colo-agent-{name}",
                           field=EXPLANATION_ANNOTATION) from None  # fmt: skip
    reclaim = from_dict(doc, obj=f"Lease colo-agent-{name} {EXPLANATION_ANNOTATION}")
    notes.append(f"agent's last decision: {doc.get('decision', '?')} at {doc.get('at', '?')}")
    return NodeExplanation(
        title=f"{name}: reclaimable batch capacity, as its agent computed it",
        reclaim=reclaim,
        notes=notes,
    )


def protection_notes(annotations: Mapping[str, str], name: str) -> list[str]:
    """The protection loop's state as its agent last wrote it in the Lease (the guard's
    level and why, the offline box, signals, cpu tiers); a malformed one is said, not
    fatal: the reclaim explanation is still worth showing."""
    raw = annotations.get(PROTECTION_ANNOTATION)
    if raw is None:
        return ["protection: not reported (the agent runs with --no-protect, or is starting)"]
    try:
        state = json.loads(raw)
        if not isinstance(state, dict):
            raise ValueError("not an object")
    except ValueError as e:
        return [f"protection: Lease colo-agent-{name} {PROTECTION_ANNOTATION} unreadable: {e}"]
    lines = explain_lines(state)
    probes = state.get("slo_probes")
    if isinstance(probes, dict):
        lines += [f"slo probe of {pod}: {word}" for pod, word in sorted(probes.items())]
    lines += [f"cgroup write failed: {x}" for x in state.get("cgroup_failures") or []]
    return [f"protection: {line}" for line in lines]


@dataclass(frozen=True)
class SimExplainOptions:
    """Which simulated node, in which run (`colo explain node --sim`'s flags)."""

    name: str
    scenario: str = "default"  # built-in scenario name or path to a YAML file
    quick: bool = False
    seed: int | None = None  # None: the scenario's
    at_s: float | None = None  # simulated seconds after the start; None: the end
    traces: Path | None = None  # None: TraceSet.locate's default


def explain_sim(options: SimExplainOptions) -> NodeExplanation:
    """Simulate the scenario's `colo` policy up to `at_s` and explain the node from its
    simulated agent. Raises `InvalidInput` (field NAME) for a node the simulated
    cluster does not have."""
    from colo.sim.cluster import node_names
    from colo.sim.reclaim_agent import SimReclaimAgents
    from colo.sim.runner import simulate
    from colo.sim.scenario import load_scenario
    from colo.sim.workload import build_workload
    from colo.traces import TraceSet

    scenario = load_scenario(options.scenario)
    if options.seed is not None:
        scenario = scenario.model_copy(update={"seed": options.seed})
    if options.quick:
        scenario = scenario.quickened()
    workload = build_workload(scenario, TraceSet.locate(options.traces))
    names = node_names(len(workload.node_cpu_milli))
    if options.name not in names:
        raise InvalidInput(
            "no such node in the simulated cluster",
            obj=f"scenario {scenario.name}",
            field="NAME",
            value=options.name,
            expected=f"{names[0]} … {names[-1]}",
        )
    until = scenario.duration if options.at_s is None else options.at_s
    policy, cluster = simulate(scenario, workload, "colo", until_s=until)
    agents = getattr(policy, "agents", None)
    assert isinstance(agents, SimReclaimAgents)
    reclaim = agents.explain(options.name)
    published = cluster.extended[names.index(options.name)]
    when = agents.last_at or 0.0
    notes = [
        f"published: {BATCH_CPU} {published.get(BATCH_CPU, 0)}m, "
        f"{BATCH_MEMORY} {published.get(BATCH_MEMORY, 0)} B "
        "(the reporter skips changes under its threshold, so it may lag the computation)",
    ]
    protection = getattr(policy, "protection", None)
    if protection is not None:  # the simulated agent's protection loop, as the real one says
        state = protection.engine.explain(options.name)
        notes += [f"protection: {line}" for line in explain_lines(state)]
    else:
        notes.append("protection: off in this scenario (policies.colo.protect: false)")
    return NodeExplanation(
        title=f"{options.name} in scenario {scenario.name} (seed {scenario.seed}), "
        f"simulated {when / 3600:.2f} h after the start",
        reclaim=reclaim,
        notes=notes,
    )


# --- colo explain cronjob --------------------------------------------------------------


@dataclass(frozen=True)
class CronJobExplanation:
    """When a CronJob fires next, and how its last run came to start when it did."""

    title: str
    lines: list[str]


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _after(moment: datetime | None, base: datetime) -> str:
    return "—" if moment is None else f"{(moment - base).total_seconds():+.1f} s"


def explain_run(
    cronjob: Mapping[str, Any], jobs: list[Mapping[str, Any]], pods: list[Mapping[str, Any]],
    now: datetime,
) -> CronJobExplanation:  # fmt: skip
    """Pure: the explanation from the CronJob's, its Jobs' and their pods' JSON."""
    from colo.cron import controller_schedule
    from colo.cron.bodies import MANAGER
    from colo.cron.resources import CronJobView, JobView

    view = CronJobView.from_k8s(cronjob)
    facts = view.facts
    zone = f"in {facts.time_zone}" if facts.time_zone else "in UTC"
    title = f"cronjob {view.key}: {facts.schedule!r} {zone}"
    loaded = controller_schedule(facts)
    if loaded.schedule is None:
        reasons = "; ".join(e.message for e in loaded.events)
        return CronJobExplanation(title, [f"it never fires: {reasons}"])
    lines: list[str] = []
    if facts.suspend:
        lines.append("suspended: it fires again when spec.suspend is false")
    else:
        nxt = loaded.schedule.next(now)
        lines.append(f"next run: {nxt.isoformat() if nxt else 'none within five years'}")
    if facts.concurrency_policy.value != "Allow":
        lines.append(f"concurrencyPolicy {facts.concurrency_policy.value}")
    runs: list[tuple[datetime, JobView, Mapping[str, Any]]] = []
    for raw in jobs:
        job = JobView.from_k8s(raw)
        if job.owner is not None and job.owner[2] == view.uid and job.scheduled is not None:
            runs.append((job.scheduled, job, raw))
    if not runs:
        return CronJobExplanation(title, [*lines, "no run yet"])
    scheduled, last, raw = max(runs, key=lambda r: r[0].timestamp())
    created = _when(raw["metadata"].get("creationTimestamp"))
    if last.managed_by == MANAGER:
        who = f"colo-cron, ahead of its time (it runs the Job: spec.managedBy {MANAGER})"
    elif last.made_by_colo:
        who = "colo-cron at its time, for kube-controller-manager's Job controller"
    else:
        who = "someone else (kube-controller-manager's CronJob controller?)"
    lines.append(f"last run: Job {last.name}, scheduled {scheduled.isoformat()}")
    lines.append(f"  Job created {_after(created, scheduled)} by {who}")
    for pod in pods:
        meta = pod["metadata"]
        if not any(o.get("uid") == last.uid for o in meta.get("ownerReferences") or []):
            continue
        status = pod.get("status") or {}
        placed = [c for c in status.get("conditions") or []
                  if c.get("type") == "PodScheduled" and c.get("status") == "True"]  # fmt: skip
        bound = _when(placed[0].get("lastTransitionTime")) if placed else None
        node = (pod.get("spec") or {}).get("nodeName") or "no node yet"
        made = _after(_when(meta.get("creationTimestamp")), scheduled)
        started = _after(_when(status.get("startTime")), scheduled)
        lines.append(
            f"  pod {meta['name']}: created {made}, bound {_after(bound, scheduled)} to {node}, "
            f"started {started}"
        )
    if last.finished is not None:
        lines.append(f"  finished: {last.finished.value}")
    lines.append("(times are to the second, as the API server keeps them)")
    return CronJobExplanation(title, lines)


async def explain_cronjob(config: ClientConfig, key: str) -> CronJobExplanation:
    """The CronJob `namespace/name` from the API server; `InvalidInput` (field
    NAMESPACE/NAME) when it is not there."""
    from colo.kube.transport import Transport

    ns, _, name = key.partition("/")
    if not ns or not name:
        raise InvalidInput("expected NAMESPACE/NAME", field="NAMESPACE/NAME", value=key)
    async with Transport.from_config(config) as t:
        try:
            cronjob = await t.get(f"/apis/batch/v1/namespaces/{ns}/cronjobs/{name}")
        except NotFound:
            raise InvalidInput(
                "cronjob not found", obj=config.server, field="NAMESPACE/NAME", value=key
            ) from None
        jobs = (await t.get(f"/apis/batch/v1/namespaces/{ns}/jobs"))["items"]
        selector = {"labelSelector": "batch.kubernetes.io/controller-uid"}
        pods = (await t.get(f"/api/v1/namespaces/{ns}/pods", selector))["items"]
    return explain_run(cronjob, jobs, pods, datetime.now(UTC))
