"""Benchmark: colo-batch's loop and the coordinator's ledger at Kubernetes' scalability
envelope (5,000 nodes, 150,000 pods), pure compute: no API server, no network.

The cluster (seeded, `--seed`): `--nodes` nodes of 32/48/64/96 cores with cpu, memory,
pods and `colo.io/batch-*` allocatable, half of them in one of three zones, ~5 % tainted
`dedicated=gpu:NoSchedule`. `--pods` pods, of which `--pending` are pending for
colo-batch and the rest bound, no node past 70 % of any allocatable: two DaemonSets
(one pod per node, tolerating everything), a quarter online ReplicaSet pods (cpu and
memory), the rest batch Job pods (batch resources). Jobs, bound or pending, have 1 to
200 pods; a fifth select a zone (`nodeSelector`), a twentieth require large
instance types (required node affinity), a twentieth tolerate the taint. The pending
ones also include bare pods (no owner, 5 %), jobs with a priority, a few gangs (`colo.io/
gang`, all members required), and one job that selects a zone no node has: it is
reported unschedulable, so every pending pod is either placed or reported.

Everything goes through a real `BatchLoop` (default options: coordinated, `explain`) as
the process feeds it: nodes ADDED, bound pods ADDED with their node, then the pending
ones, all `Pod.from_k8s` views of `PodBuilder` JSON built before any timing.

- `decisions_per_s`, `cycle_s`: pods placed (the items of the cycle's `Reserve`) / wall
  time of `handle(CycleDue)` over the pending pods, and that time; median of
  `--repeats` fresh loops.
- `snapshot_update_us_per_event`: mean time of `handle` per pod event on such a full
  loop (after its cycle): `--events` pre-built events, 40 % bound pods MODIFIED on the
  same node (an annotation changed), 20 % Succeeded, 20 % DELETED, 20 % new bound pods
  ADDED where those went; median over the repeats.
- `ledger_reserve_per_s`: the cycle's `Reserve` items (one per pending pod placed)
  against a `Ledger` holding the same nodes and bound pods (`LedgerFeed.rebuild`, as
  `colo coord serve` starts), median of the repeats (each unreserved after).
- Memory, by `tracemalloc`, in a run of its own before the timed ones: the traced bytes
  alive (after `gc.collect()`) once the loop has the nodes, less those before the loop
  was made (`snapshot_bytes_per_node`: the loop's fixed cost included), then the bytes
  added by the pods, divided by all of them (`snapshot_bytes_per_pod`; the table splits
  bound and pending). Each node and pod reaches the loop as a fresh copy of its view,
  unpickled inside the measured span (every object of it allocated there, as a view
  decoded from the API's JSON would be; pickling keeps the view's own sharing), and the
  bench lets go of it once handed over: what the loop keeps counts (the pending pods'
  views, the node views, the keys and job names it made) and nothing else does; numpy's
  buffers are traced too. Objects the loop shares with the views it was given count in
  full, as if the informer did not hold them as well: an upper bound.
  The same for a `Ledger` fed through `LedgerFeed` (`ledger_bytes_per_node`,
  `ledger_bytes_per_pod`: the bound pods plus one reservation per pending pod).
  The interpreter's own per-object costs are in; the allocator's unused arenas are not.
- `informer_events_per_s`: the watch path the process runs, into a full loop: each line
  of a recorded watch stream (JSON as the API server sends it, `managedFields`, images and
  conditions included) decoded by `colo.kube.shapes`, applied by a real `Informer`,
  handed to the loop, with a cycle whenever the loop asks for one (every 50 events at
  most). The stream is the life of `--wave` new batch pods: created pending, bound,
  Running, a status heartbeat, Succeeded, deleted (six events each). Also
  `informer_events_per_s_whole`: the same with whole objects (`shaped=False`), what
  colo-batch decoded before.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import pickle
import statistics
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from _common import emit, parser
from colo.coord.feed import LedgerFeed
from colo.coord.ledger import Ledger
from colo.core.builders import NodeBuilder, PodBuilder
from colo.core.changes import ChangeKind, ClusterEvent
from colo.core.objects import NO_SCHEDULE, Node, Pod
from colo.core.reservation import Item
from colo.core.resources import BATCH_CPU, BATCH_MEMORY
from colo.kube.informer import Informer
from colo.ports.api import BodyShape
from colo.sched.loop import BatchLoop
from colo.sched.messages import CycleDue, ReportUnschedulable, Reserve
from colo.sched.requirements import GANG_LABEL, GANG_MIN_ANNOTATION

GI = 2**30
MI = 2**20
ZONE = "topology.kubernetes.io/zone"
INSTANCE = "node.kubernetes.io/instance-type"
TAINT = ("dedicated", "gpu")
SIZES = (32, 48, 64, 96)
LARGE = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [
        {"key": INSTANCE, "operator": "In", "values": ["m-64", "m-96"]}]}]}}}  # fmt: skip
NO_ZONE = 9
"""A zone no node is in: the job selecting it is reported unschedulable."""
FILL = 0.7
"""Bound pods take at most this share of any allocatable of a node."""
CREATED = "2024-01-02T03:04:05Z"
NOW_S = 1_704_164_705.0 + 60.0  # a minute after CREATED
JOB_SIZES = (1, 2, 5, 10, 20, 50, 100, 200)
JOB_SIZE_P = (0.2, 0.1, 0.15, 0.15, 0.15, 0.12, 0.08, 0.05)
GANG_SIZE = 16


@dataclass(frozen=True, slots=True)
class Workload:
    """What a set of pods share: owner, requests (colo units), placement constraints."""

    prefix: str  # name prefix, and what it is: ds, svc, job, pod (bare)
    index: int
    team: int
    cpu_milli: int = 0
    memory_bytes: int = 0
    batch_cpu: int = 0
    batch_memory_bytes: int = 0
    zone: int = -1  # nodeSelector on this zone (-1: none)
    large: bool = False  # required node affinity: m-64 or m-96
    tolerates: bool = False  # the dedicated=gpu taint
    priority: int = 0
    gang_min: int = 0

    @property
    def owner_kind(self) -> str:
        return {"ds": "DaemonSet", "svc": "ReplicaSet", "job": "Job"}.get(self.prefix, "")

    @property
    def demand(self) -> tuple[int, int, int, int, int]:
        """(cpu, memory, batch cpu, batch memory, pods) of one pod."""
        return (self.cpu_milli, self.memory_bytes, self.batch_cpu, self.batch_memory_bytes, 1)


@dataclass
class Plan:
    """Every node and pod, as numbers; `node_obj`/`pod_obj` turn them into JSON."""

    cores: list[int]
    zone: list[int]  # -1: no zone label
    tainted: list[bool]
    workloads: list[Workload] = field(default_factory=list)
    pod_workload: list[int] = field(default_factory=list)
    pod_ordinal: list[int] = field(default_factory=list)
    pod_node: list[int] = field(default_factory=list)  # -1: pending
    bound: int = 0  # pods [0, bound) are bound, the rest pending

    @property
    def nodes(self) -> int:
        return len(self.cores)

    @property
    def pods(self) -> int:
        return len(self.pod_node)


def make_plan(nodes: int, pods: int, pending: int, seed: int) -> Plan:
    if not 0 < pending <= pods or nodes <= 0:
        raise ValueError(f"need nodes > 0 and 0 < pending <= pods, got {nodes}, {pods}, {pending}")
    rng = np.random.default_rng(seed)
    plan = Plan(
        cores=[int(c) for c in rng.choice(SIZES, nodes)],
        zone=[int(z) if h else -1 for z, h in zip(rng.integers(0, 3, nodes),
                                                  rng.random(nodes) < 0.5, strict=True)],
        tainted=[bool(t) for t in rng.random(nodes) < 0.05],
    )  # fmt: skip
    bound = pods - pending
    daemons = min(2 * nodes, bound // 10)
    for d in range((daemons + nodes - 1) // nodes):
        plan.workloads.append(Workload("ds", d, 0, cpu_milli=100, memory_bytes=128 * MI))
    for k in range(daemons):
        _add_pod(plan, k // nodes, k % nodes, k % nodes)
    online = bound * 25 // 100
    _bound_workloads(plan, rng, online, bound - daemons - online)
    plan.bound = plan.pods
    _pending_workloads(plan, rng, pending)
    return plan


def _add_pod(plan: Plan, workload: int, ordinal: int, node: int) -> None:
    plan.pod_workload.append(workload)
    plan.pod_ordinal.append(ordinal)
    plan.pod_node.append(node)


def _job(rng: np.random.Generator, index: int, *, pending: bool) -> Workload:
    """A Job: batch requests (pending ones ask more); a fifth select a zone, a twentieth
    require large nodes, a twentieth tolerate the taint; a tenth of the pending ones have
    a priority."""
    u = rng.random()
    team = int(rng.integers(0, 20))
    if pending:
        cpu = int(rng.choice([500, 750, 1000, 1250]))
        memory = int(rng.choice([1, 2, 3])) * GI
    else:
        cpu = int(rng.choice([250, 500, 1000], p=[0.4, 0.4, 0.2]))
        memory = int(rng.choice([GI // 2, GI, 2 * GI]))
    return Workload(
        "job", index, team, batch_cpu=cpu, batch_memory_bytes=memory,
        zone=int(rng.integers(0, 3)) if u < 0.2 else -1,
        large=0.2 <= u < 0.25,
        tolerates=0.25 <= u < 0.3,
        priority=100 if pending and rng.random() < 0.1 else 0,
    )  # fmt: skip


def _bound_workloads(plan: Plan, rng: np.random.Generator, online: int, jobs: int) -> None:
    """ReplicaSets of 2–20 pods (`online` in all), then jobs (`jobs` pods), each pod on a
    random node it may use that keeps every resource under FILL."""
    left = [[int(FILL * c * v) for v in (1000, 4 * GI, 400, GI, 110)] for c in plan.cores]
    for k in range(len(plan.pod_node)):  # the daemons
        w = plan.workloads[plan.pod_workload[k]]
        for r, d in enumerate(w.demand):
            left[plan.pod_node[k]][r] -= d
    eligible: dict[tuple[int, bool, bool], np.ndarray] = {}

    def place(w: Workload) -> int:
        key = (w.zone, w.large, w.tolerates)
        cands = eligible.get(key)
        if cands is None:
            cands = eligible[key] = np.array([
                i for i in range(plan.nodes)
                if (w.zone < 0 or plan.zone[i] == w.zone)
                and (not w.large or plan.cores[i] >= 64)
                and (w.tolerates or not plan.tainted[i])
            ], dtype=np.int64)  # fmt: skip
        demand = w.demand
        for i in rng.choice(cands, min(64, len(cands)), replace=False).tolist():
            room = left[i]
            if all(d <= r for d, r in zip(demand, room, strict=True)):
                for r, d in enumerate(demand):
                    room[r] -= d
                return int(i)
        raise ValueError("the bound pods do not fit: fewer pods or more nodes")

    n = 0
    while n < online:
        w = Workload("svc", len(plan.workloads), int(rng.integers(0, 20)),
                     cpu_milli=int(rng.choice([250, 500, 1000, 2000])),
                     memory_bytes=int(rng.choice([256, 512, 1024, 2048])) * MI)  # fmt: skip
        plan.workloads.append(w)
        for k in range(min(int(rng.integers(2, 21)), online - n)):
            _add_pod(plan, len(plan.workloads) - 1, k, place(w))
            n += 1
    n = 0
    while n < jobs:
        w = _job(rng, len(plan.workloads), pending=False)
        plan.workloads.append(w)
        for k in range(min(int(rng.choice(JOB_SIZES, p=JOB_SIZE_P)), jobs - n)):
            _add_pod(plan, len(plan.workloads) - 1, k, place(w))
            n += 1


def _pending_workloads(plan: Plan, rng: np.random.Generator, pending: int) -> None:
    """Gangs, one unschedulable job, bare pods, then jobs until `pending` pods."""
    unschedulable = max(1, pending // 200)
    gangs = max(1, pending // 2500) if pending >= 4 * GANG_SIZE else 0
    bare = pending // 20
    ws: list[tuple[Workload, int]] = []

    def job() -> Workload:
        return _job(rng, len(plan.workloads) + len(ws), pending=True)

    def plain(w: Workload, zone: int = -1, gang_min: int = 0) -> Workload:
        return dataclasses.replace(
            w, zone=zone, large=False, tolerates=False, priority=0, gang_min=gang_min
        )

    for _ in range(gangs):  # one at a time: job() numbers them by len(ws)
        ws.append((plain(job(), gang_min=GANG_SIZE), GANG_SIZE))
    ws.append((plain(job(), zone=NO_ZONE), unschedulable))
    for _ in range(bare):
        ws.append((dataclasses.replace(job(), prefix="pod"), 1))
    n = sum(size for _, size in ws)  # <= pending: 16 + pending/200 + pending/20 at most
    while n < pending:
        size = min(int(rng.choice(JOB_SIZES, p=JOB_SIZE_P)), pending - n)
        ws.append((job(), size))
        n += size
    for w, size in ws:
        plan.workloads.append(w)
        for k in range(size):
            _add_pod(plan, len(plan.workloads) - 1, k, -1)


# --- JSON and views ------------------------------------------------------------------
def node_obj(plan: Plan, i: int) -> dict[str, Any]:
    cores = plan.cores[i]
    b = NodeBuilder(f"node-{i:05d}").allocatable(
        cpu=str(cores), memory=f"{cores * 4}Gi", pods=110,
        extended={BATCH_CPU: str(cores * 400), BATCH_MEMORY: f"{cores}Gi"},
    ).label(INSTANCE, f"m-{cores}")  # fmt: skip
    if plan.zone[i] >= 0:
        b = b.label(ZONE, f"zone-{plan.zone[i]}")
    if plan.tainted[i]:
        b = b.taint(*TAINT)
    return b.obj()


def pod_obj(
    plan: Plan, k: int, *, suffix: str = "", phase: str = "", rev: int = 0
) -> dict[str, Any]:
    w = plan.workloads[plan.pod_workload[k]]
    owner = f"{w.prefix}-{w.index}"
    b = PodBuilder(f"{owner}-{plan.pod_ordinal[k]}{suffix}", namespace=f"team-{w.team}")
    b = b.created(CREATED)
    if w.owner_kind:
        b = b.owner(w.owner_kind, owner)
    if w.prefix == "ds":
        b = b.toleration(operator="Exists").req(cpu=f"{w.cpu_milli}m", memory=str(w.memory_bytes))
    elif w.prefix == "svc":
        b = b.tier("LS").req(cpu=f"{w.cpu_milli}m", memory=str(w.memory_bytes))
    else:
        b = b.tier("BE").scheduler("colo-batch").req(extended={
            BATCH_CPU: str(w.batch_cpu), BATCH_MEMORY: str(w.batch_memory_bytes)})  # fmt: skip
    if w.zone >= 0:
        b = b.node_selector(ZONE, f"zone-{w.zone}")
    if w.large:
        b = b.affinity(LARGE)
    if w.tolerates:
        b = b.toleration(TAINT[0], "Equal", TAINT[1], NO_SCHEDULE)
    if w.priority:
        b = b.priority(w.priority)
    if w.gang_min:
        b = b.label(GANG_LABEL, owner).annotation(GANG_MIN_ANNOTATION, str(w.gang_min))
    if rev:
        b = b.annotation("bench.colo.io/rev", str(rev))
    if plan.pod_node[k] >= 0:
        b = b.node(f"node-{plan.pod_node[k]:05d}")
    if phase:
        b = b.phase(phase)
    return b.obj()


def nodes_of(plan: Plan) -> Iterator[Node]:
    return (Node.from_k8s(node_obj(plan, i)) for i in range(plan.nodes))


def pods_of(plan: Plan, ks: range) -> Iterator[Pod]:
    return (Pod.from_k8s(pod_obj(plan, k)) for k in ks)


def churn(plan: Plan, pods: list[Pod], count: int, seed: int) -> list[ClusterEvent]:
    """`count` events on bound, non-daemon pods (see the module docstring for the mix),
    each pod touched once; a new pod comes where a finished or deleted one was."""
    rng = np.random.default_rng(seed + 1)
    first = next(
        k for k in range(plan.bound) if plan.workloads[plan.pod_workload[k]].prefix != "ds"
    )
    n_mod, n_gone = count * 2 // 5, count * 2 // 5
    targets = rng.choice(np.arange(first, plan.bound), n_mod + n_gone, replace=False).tolist()
    events = [
        ClusterEvent(ChangeKind.MODIFIED, pod=Pod.from_k8s(pod_obj(plan, k, rev=1)))
        for k in targets[:n_mod]
    ]
    gone = targets[n_mod:]
    for j, k in enumerate(gone):
        if j % 2:
            events.append(ClusterEvent(ChangeKind.DELETED, pod=pods[k]))
        else:
            done = Pod.from_k8s(pod_obj(plan, k, phase="Succeeded"))
            events.append(ClusterEvent(ChangeKind.MODIFIED, pod=done))
    for k in gone[: count - len(events)]:
        events.append(
            ClusterEvent(ChangeKind.ADDED, pod=Pod.from_k8s(pod_obj(plan, k, suffix="-r")))
        )
    order = rng.permutation(len(events))
    return [events[i] for i in order]


# --- the timed runs ----------------------------------------------------------------
@dataclass
class CycleRun:
    """What one fresh loop measured (times in seconds or µs per event)."""

    cycle_s: float
    placed: int
    reported: int
    overcommitted_nodes: int
    items: tuple[Item, ...]
    bound_event_us: float
    pending_event_us: float
    update_us: float


def cycle_run(plan: Plan, node_events: list[ClusterEvent], pod_events: list[ClusterEvent],
              churn_events: list[ClusterEvent]) -> CycleRun:  # fmt: skip
    """A fresh loop: fill it, time its cycle over the pending pods, then the churn."""
    loop = BatchLoop()
    for e in node_events:
        loop.handle(e, NOW_S)
    t0 = time.perf_counter()
    for e in pod_events[: plan.bound]:
        loop.handle(e, NOW_S)
    t1 = time.perf_counter()
    for e in pod_events[plan.bound :]:
        loop.handle(e, NOW_S)
    t2 = time.perf_counter()
    pending = plan.pods - plan.bound
    if len(loop.pending) != pending or len(loop.held) != plan.bound:
        raise AssertionError(f"loop has {len(loop.pending)} pending, {len(loop.held)} held")
    due = loop.cycle_at()
    assert due is not None
    t3 = time.perf_counter()
    out = loop.handle(CycleDue(wall_s=due), due)
    cycle_s = time.perf_counter() - t3
    items = tuple(i for c in out if isinstance(c, Reserve) for i in c.items)
    reported = sum(isinstance(c, ReportUnschedulable) for c in out)
    over = int((loop.snap.free() < 0).any(axis=1).sum())
    t4 = time.perf_counter()
    for e in churn_events:
        loop.handle(e, due)
    update_s = time.perf_counter() - t4
    return CycleRun(
        cycle_s, len(items), reported, over, items,
        (t1 - t0) / plan.bound * 1e6, (t2 - t1) / pending * 1e6,
        update_s / max(1, len(churn_events)) * 1e6,
    )  # fmt: skip


def reserve_rate(ledger: Ledger, items: tuple[Item, ...], repeats: int) -> tuple[float, int]:
    """(items answered per second, items granted) of one `reserve` of `items`, median."""
    rates, granted = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        replies = ledger.reserve(items, NOW_S)
        rates.append(len(items) / (time.perf_counter() - t0))
        granted = sum(r.ok for r in replies)
        ledger.unreserve([i.pod for i in items])
    return statistics.median(rates), granted


# --- the informer path -----------------------------------------------------------------
def as_served(obj: dict[str, Any], *, phase: str, beat: int) -> dict[str, Any]:
    """`obj` with what an API server and a kubelet add to a pod (about 2.5 KB of JSON)."""
    out: dict[str, Any] = json.loads(json.dumps(obj))
    meta = out["metadata"]
    meta["generation"] = 1
    meta["managedFields"] = [
        {"manager": m, "operation": "Update", "apiVersion": "v1", "time": CREATED,
         "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}}},
         "f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}}}}}}
        for m in ("kube-controller-manager", "kwok")
    ]  # fmt: skip
    for c in out["spec"]["containers"]:
        c.update({"image": "registry.example/batch/worker:1.2.3", "imagePullPolicy": "Always",
                  "terminationMessagePath": "/dev/termination-log"})  # fmt: skip
    out["spec"].update({"dnsPolicy": "ClusterFirst", "restartPolicy": "Never",
                        "terminationGracePeriodSeconds": 30})  # fmt: skip
    at = f"2024-01-02T03:04:{beat:02d}Z"
    out["status"] = {
        "phase": phase, "qosClass": "BestEffort", "hostIP": "10.0.0.1",
        "conditions": [{"type": t, "status": "True", "lastProbeTime": None,
                        "lastTransitionTime": at}
                       for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
        "containerStatuses": [{"name": "c", "ready": phase == "Running", "restartCount": 0,
                               "image": "registry.example/batch/worker:1.2.3",
                               "state": {"running": {"startedAt": at}}}],
    }  # fmt: skip
    return out


def wave_lines(plan: Plan, wave: int) -> list[bytes]:
    """The watch stream of `wave` new batch pods' lives (the module docstring)."""
    jobs = [k for k in range(plan.bound, plan.pods)
            if plan.workloads[plan.pod_workload[k]].prefix == "job"
            and not plan.workloads[plan.pod_workload[k]].gang_min]  # fmt: skip
    events: list[list[tuple[str, dict[str, Any]]]] = []
    rv = 1_000_000
    for n in range(wave):
        k = jobs[n % len(jobs)]
        obj = pod_obj(plan, k, suffix=f"-w{n}")
        life = [("ADDED", as_served(obj, phase="Pending", beat=0))]
        bound = json.loads(json.dumps(life[0][1]))
        bound["spec"]["nodeName"] = f"node-{n % plan.nodes:05d}"
        life.append(("MODIFIED", bound))
        for phase, beat in (("Running", 1), ("Running", 2), ("Succeeded", 3)):
            nxt = as_served(obj, phase=phase, beat=beat)
            nxt["spec"]["nodeName"] = bound["spec"]["nodeName"]
            life.append(("MODIFIED", nxt))
        life.append(("DELETED", life[-1][1]))
        events.append(life)
    lines: list[bytes] = []
    # interleaved as a wave arrives: a pod is created while earlier ones run and finish
    for step in range(wave + 5):
        for n in range(max(0, step - 5), min(wave, step + 1)):
            kind, obj = events[n][step - n]
            rv += 1
            obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(rv)}}
            lines.append(json.dumps({"type": kind, "object": obj}).encode())
    return lines


class RecordedWatch:
    """A `WatchTransport` replaying recorded bytes: an empty list, then the lines."""

    def __init__(self, lines: list[bytes]) -> None:
        self._lines = lines

    async def get(
        self, path: str, params: Mapping[str, str] | None = None, *, shape: BodyShape | None = None
    ) -> Any:
        body = b'{"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[]}'
        return shape.decode_list(body) if shape is not None else json.loads(body)

    async def stream(
        self, path: str, params: Mapping[str, str] | None = None, *,
        read_timeout_s: float | None = None, shape: BodyShape | None = None,
    ) -> AsyncIterator[dict[str, Any]]:  # fmt: skip
        decode = shape.decode_event if shape is not None else json.loads
        for line in self._lines:
            yield decode(line)


def informer_rate(
    plan: Plan, node_events: list[ClusterEvent], pod_events: list[ClusterEvent],
    lines: list[bytes], *, shaped: bool,
) -> tuple[float, int]:  # fmt: skip
    """(events per second through informer and loop, pods the loop's cycles placed)."""
    loop = BatchLoop()
    for e in node_events:
        loop.handle(e, NOW_S)
    for e in pod_events[: plan.bound]:
        loop.handle(e, NOW_S)
    informer = Informer(RecordedWatch(lines), "pods", shaped=shaped)
    placed = 0
    next_at = 50  # cycles on a grid of applied events, so both ways cycle alike

    def on_event(ev: ClusterEvent) -> None:
        nonlocal placed, next_at
        if informer.events >= next_at and loop.cycle_at() is not None:
            out = loop.handle(CycleDue(wall_s=NOW_S), NOW_S)
            placed += sum(len(c.items) for c in out if isinstance(c, Reserve))
        while next_at <= informer.events:
            next_at += 50
        loop.handle(ev, NOW_S)

    informer.subscribe(on_event)

    async def replay() -> float:
        await informer.relist()
        t0 = time.perf_counter()
        await informer.watch_once()
        return time.perf_counter() - t0

    took = asyncio.run(replay())
    if informer.events != len(lines):
        raise AssertionError(f"the informer applied {informer.events} of {len(lines)} events")
    return len(lines) / took, placed


# --- memory --------------------------------------------------------------------------
def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def copies(blobs: list[bytes]) -> Iterator[Any]:
    """Each pickled view unpickled: a copy whose every object is allocated here, once the
    caller asks for it (and freed once the caller lets go, unless someone kept it)."""
    return (pickle.loads(b) for b in blobs)


def loop_memory(plan: Plan, nodes: list[bytes], pods: list[bytes]) -> dict[str, float]:
    """Bytes the loop holds: per node (no pods), per pod, per bound and pending pod."""
    base = _traced()
    loop = BatchLoop()
    for node in copies(nodes):
        loop.handle(ClusterEvent(ChangeKind.ADDED, node=node), NOW_S)
    with_nodes = _traced()
    for pod in copies(pods[: plan.bound]):
        loop.handle(ClusterEvent(ChangeKind.ADDED, pod=pod), NOW_S)
    with_bound = _traced()
    for pod in copies(pods[plan.bound :]):
        loop.handle(ClusterEvent(ChangeKind.ADDED, pod=pod), NOW_S)
    with_pods = _traced()
    pending = plan.pods - plan.bound
    return {
        "snapshot_bytes_per_node": (with_nodes - base) / plan.nodes,
        "snapshot_bytes_per_pod": (with_pods - with_nodes) / plan.pods,
        "snapshot_bytes_per_bound_pod": (with_bound - with_nodes) / plan.bound,
        "snapshot_bytes_per_pending_pod": (with_pods - with_bound) / pending,
    }


def ledger_memory(plan: Plan, nodes: list[bytes], pods: list[bytes]) -> dict[str, float]:
    """Bytes a coordinator's ledger holds: per node, per pod (bound, or reserved: one
    reservation per pending pod, in batches of 500 as colo-batch sends them)."""
    base = _traced()
    ledger = Ledger()
    feed = LedgerFeed(ledger)
    for node in copies(nodes):
        feed.node_changed(node)
    with_nodes = _traced()
    for pod in copies(pods[: plan.bound]):
        feed.pod_changed(pod)
    granted = 0
    batch: list[Item] = []
    for k, pod in enumerate(copies(pods[plan.bound :])):
        node = f"node-{k * 7919 % plan.nodes:05d}"  # the ledger checks room, not labels
        batch.append(Item(pod.key, node, dict(pod.requests.items()), pod.priority))
        if len(batch) == 500:
            granted += sum(r.ok for r in ledger.reserve(batch, NOW_S))
            batch = []
    granted += sum(r.ok for r in ledger.reserve(batch, NOW_S))
    del batch
    with_pods = _traced()
    return {
        "ledger_bytes_per_node": (with_nodes - base) / plan.nodes,
        "ledger_bytes_per_pod": (with_pods - with_nodes) / (plan.bound + granted),
        "ledger_reservations_held": granted,
    }


# --- the whole bench -----------------------------------------------------------------
def run(*, nodes: int, pods: int, pending: int, events: int, repeats: int, seed: int,
        wave: int = 5000,
        log: Callable[[str], None] = lambda _: None) -> dict[str, float]:  # fmt: skip
    """Every figure (the module docstring says what each is)."""
    t_start = time.perf_counter()

    def done(what: str) -> None:
        log(f"{what}: {time.perf_counter() - t_start:.1f}s")

    plan = make_plan(nodes, pods, pending, seed)
    node_list = list(nodes_of(plan))
    pod_list = list(pods_of(plan, range(plan.pods)))
    churn_events = churn(plan, pod_list, events, seed)
    done("views")
    node_blobs = [pickle.dumps(n) for n in node_list]
    pod_blobs = [pickle.dumps(p) for p in pod_list]
    tracemalloc.start()
    memory = loop_memory(plan, node_blobs, pod_blobs) | ledger_memory(plan, node_blobs, pod_blobs)
    tracemalloc.stop()
    del node_blobs, pod_blobs
    done("memory")

    node_events = [ClusterEvent(ChangeKind.ADDED, node=n) for n in node_list]
    pod_events = [ClusterEvent(ChangeKind.ADDED, pod=p) for p in pod_list]
    runs = [cycle_run(plan, node_events, pod_events, churn_events) for _ in range(repeats)]
    done("cycles")
    ledger = Ledger()
    t0 = time.perf_counter()
    LedgerFeed(ledger).rebuild(node_list, pod_list)
    rebuild_s = time.perf_counter() - t0
    reserve_per_s, granted = reserve_rate(ledger, runs[0].items, repeats)
    done("ledger")
    lines = wave_lines(plan, wave)
    shaped = [informer_rate(plan, node_events, pod_events, lines, shaped=True)
              for _ in range(repeats)]  # fmt: skip
    whole = informer_rate(plan, node_events, pod_events, lines, shaped=False)
    done("informer")

    def med(get: Callable[[CycleRun], float]) -> float:
        return float(statistics.median(get(r) for r in runs))

    last = runs[-1]
    return {
        "decisions_per_s": med(lambda r: r.placed / r.cycle_s),
        "cycle_s": med(lambda r: r.cycle_s),
        "snapshot_update_us_per_event": med(lambda r: r.update_us),
        "snapshot_bytes_per_node": memory["snapshot_bytes_per_node"],
        "snapshot_bytes_per_pod": memory["snapshot_bytes_per_pod"],
        "ledger_bytes_per_node": memory["ledger_bytes_per_node"],
        "ledger_bytes_per_pod": memory["ledger_bytes_per_pod"],
        "ledger_reserve_per_s": reserve_per_s,
        "informer_events_per_s": float(statistics.median(r for r, _ in shaped)),
        # context, table only
        "informer_events_per_s_whole": whole[0],
        "informer_wave_events": len(lines),
        "informer_wave_placed": shaped[0][1],
        "nodes": plan.nodes,
        "pods_bound": plan.bound,
        "pods_pending": plan.pods - plan.bound,
        "placed": last.placed,
        "reported_unschedulable": last.reported,
        "overcommitted_nodes": last.overcommitted_nodes,
        "cycle_s_max": max(r.cycle_s for r in runs),  # a full gc pass may land in a cycle
        "bound_pod_added_us": med(lambda r: r.bound_event_us),
        "pending_pod_added_us": med(lambda r: r.pending_event_us),
        "snapshot_bytes_per_bound_pod": memory["snapshot_bytes_per_bound_pod"],
        "snapshot_bytes_per_pending_pod": memory["snapshot_bytes_per_pending_pod"],
        "ledger_rebuild_s": rebuild_s,
        "ledger_granted": granted,
        "total_s": time.perf_counter() - t_start,
    }


HEADLINE = (
    "decisions_per_s", "cycle_s", "snapshot_update_us_per_event", "snapshot_bytes_per_node",
    "snapshot_bytes_per_pod", "ledger_bytes_per_node", "ledger_bytes_per_pod",
    "ledger_reserve_per_s", "informer_events_per_s",
)  # fmt: skip


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--nodes", type=int, default=5000)
    p.add_argument("--pods", type=int, default=150_000, help="bound + pending")
    p.add_argument("--pending", type=int, default=10_000)
    p.add_argument("--events", type=int, default=20_000, help="pod events for the update figure")
    p.add_argument("--wave", type=int, default=5000, help="pods whose lives the watch replays")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", action="store_true", help="print progress")
    args = p.parse_args()
    figures = run(nodes=args.nodes, pods=args.pods, pending=args.pending, events=args.events,
                  repeats=args.repeats, seed=args.seed, wave=args.wave,
                  log=print if args.verbose else lambda _: None)  # fmt: skip
    if args.json:
        figures = {k: figures[k] for k in HEADLINE}
    emit("colo-batch and the ledger at scale", figures, as_json=args.json,
         notes=f"median of {args.repeats}; goals: decisions_per_s >= 20,000, "
               "snapshot_update_us_per_event <= 20, bytes per pod <= 2,048, "
               "bytes per node <= 20,480 (tracemalloc; see the docstring)")  # fmt: skip


if __name__ == "__main__":
    main()
