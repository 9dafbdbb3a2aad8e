"""colo-batch's control loop as one sans-I/O state machine, driven by the process and by
the simulator alike.

`BatchLoop.handle(event, now)` takes what a driver observed (`colo.sched.messages`) and
returns what it wants done. `now` is seconds on the wall clock, unix time (a pod's
`colo.io/start-at` is a wall time; the simulator passes its own time and writes its
pods' times in it). The driver calls `handle(TimerDue(), now)` once `now >= timer_at()` and
`handle(CycleDue(wall), now)` once `now >= cycle_at()`, executes every command it gets
back, in order, and reports their outcomes as events. Nothing here awaits, sleeps, reads
a clock or touches a socket: `colo.apps.batch` drives it against the API server and the
coordinator, `colo.sim.batch_scheduler` against the simulated cluster and an in-process
ledger, and both run the very same steps:

1. Cluster changes keep a `Snapshot` up to date (nodes upserted; a pod's requests count
   on its node from binding, by whoever, until it is deleted or finishes) and collect
   the pending pods whose `schedulerName` is ours.
2. A change that may let a pod in (a pod arrived, room was freed, a node changed) asks
   for a cycle `batch_delay_s` later, so that a wave of arrivals lands in one cycle.
3. A cycle runs `BatchCycle` over the pending pods not already in flight (all of them,
   or in `parked` mode only those that can be placed: `colo.sched.backlog`). Its
   placements count on their nodes at once ("assumed", as kube-scheduler does) and go
   to the coordinator as one `Reserve` (Omega style). Without a coordinator they are
   bound straight away.
4. A refused placement means someone holds room there that this view does not show
   yet: the refused request stays on that node as a placeholder for `conflict_hold_s`
   (until the reader has caught up) and the pod is tried again in the next cycle. A gang
   with a refused member gives all its reservations back.
5. Granted pods are bound; until the reader shows them bound they stay assumed. A failed
   binding is unreserved and the pod goes back to the queue, unless it lost a race
   (someone bound or deleted it).
6. A pod that fits nowhere gets `ReportUnschedulable` with kube-scheduler's message,
   once per distinct message; a pod whose spec cannot be read gets one naming the field
   and waits until it changes. The loop never stops for one pod.
7. A pod annotated `colo.io/start-at` (colo-cron's pods, created ahead of their
   schedule) waits until `plan_ahead_s` before that time, is then placed and reserved
   like any other, and held until that time: then, if its node still has room for it
   (a colo-agent may have shrunk the batch capacity meanwhile), it is bound, else given
   back and placed again. At the tick only the binding is left to do.
8. A pod that failed on a virtual node marks its job: the job's pods are scheduled as if
   annotated `colo.io/virtual-failed` (standard nodes only) for
   `virtual_retry_after_s`, then virtual nodes are tried again.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from colo.core.changes import ChangeKind, ClusterEvent, PodRef
from colo.core.errors import InvalidInput
from colo.core.objects import Node, Pod, start_at_s
from colo.core.reservation import Item, Reply
from colo.core.virtual import VIRTUAL_NODE_LABEL_KEY, VIRTUAL_NODE_LABEL_VALUE
from colo.sched.backlog import BatchQueue, JobPods, Planner, Waiting
from colo.sched.cycle import BatchCycle
from colo.sched.messages import (
    Bind,
    BindFailed,
    BindSucceeded,
    Command,
    CycleDue,
    Event,
    ReportUnschedulable,
    Reserve,
    Reserved,
    ReserveFailed,
    TimerDue,
    Unreserve,
)
from colo.sched.requirements import (
    VIRTUAL_FAILED_ANNOTATION,
    Requirements,
    VirtualNodePolicy,
    requirements_of,
)
from colo.sched.snapshot import Snapshot
from colo.sched.status import Code

log = logging.getLogger(__name__)

DEFAULT_SCHEDULER_NAME = "colo-batch"
#: Candidate pods a `parked` cycle runs as they are: planning costs more than running a
#: group that places nothing.
FEW_PODS = 4
#: Compiled requirements remembered (forgotten all at once past this: a cache, not state).
MAX_REMEMBERED = 4096
#: The longest a coordinator fault holds the next cycle back.
MAX_COORDINATOR_BACKOFF_S = 5.0

Backlog = Literal["every", "parked"]


@dataclass(frozen=True)
class LoopOptions:
    """How the loop behaves (the process's flags; the scenario's keys in the simulator)."""

    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    virtual: VirtualNodePolicy = field(default_factory=VirtualNodePolicy)
    batch_delay_s: float = 0.05
    """From the first change to the cycle that takes it in."""
    conflict_hold_s: float = 2.0
    """How long a refused request stays on its node as a placeholder."""
    virtual_retry_after_s: float = 600.0
    """How long a job whose pod failed on a virtual node stays on standard nodes."""
    coordinated: bool = True
    """Reserve every placement at the coordinator before binding it."""
    backlog: Backlog = "every"
    """`every`: each cycle over every pending pod. `parked`: only over those that can be
    placed (`colo.sched.backlog`): the same placements, but pods parked without a run
    get no unschedulable report."""
    explain: bool = True
    """Report unschedulable pods with kube-scheduler's message (finding it costs as much
    as placing their group; the simulator, which shows none, turns it off)."""
    plan_ahead_s: float = 2.0
    """A pod annotated `colo.io/start-at` is placed and reserved this long before that
    time and bound at it (keep it well under the coordinator's reservation TTL)."""

    def __post_init__(self) -> None:
        if self.batch_delay_s <= 0:
            raise InvalidInput(
                "must be > 0", obj="colo-batch", field="batch_delay_s", value=self.batch_delay_s
            )
        if self.plan_ahead_s < 0:
            raise InvalidInput(
                "must be >= 0", obj="colo-batch", field="plan_ahead_s", value=self.plan_ahead_s
            )
        if self.conflict_hold_s < 0 or self.virtual_retry_after_s < 0:
            raise InvalidInput(
                "must be >= 0", obj="colo-batch", field="conflict_hold_s/virtual_retry_after_s",
                value=(self.conflict_hold_s, self.virtual_retry_after_s),
            )  # fmt: skip
        if self.backlog not in ("every", "parked"):
            raise InvalidInput(
                "unknown backlog", obj="colo-batch", field="backlog", value=self.backlog,
                expected="every, parked",
            )  # fmt: skip


@dataclass(slots=True)
class Held:
    """A pod counted in the snapshot: where, with what, and whether only assumed."""

    node: int
    vec: np.ndarray
    job: str
    assumed: bool


@dataclass(slots=True)
class Placement:
    """A pod a cycle placed, on its way through the coordinator to its binding."""

    entry: Waiting
    node: int


@dataclass
class BatchStats:
    cycles: int = 0
    """Cycles that had at least one pod to look at."""
    runs: int = 0
    """Runs of `BatchCycle` (a `parked` cycle may be split into several)."""
    pods_in_runs: int = 0
    placed: int = 0
    bound: int = 0
    reserve_conflicts: int = 0
    bind_failures: int = 0
    unschedulable_reported: int = 0
    bad_pods: int = 0
    coordinator_faults: int = 0
    virtual_fallbacks: int = 0
    """Pods scheduled on standard nodes only because their job failed on a virtual node."""
    replaced_at_start: int = 0
    """Pods placed ahead of their `colo.io/start-at` whose node had no room left for them
    at that time: given back and placed again."""
    by_error: dict[str, int] = field(default_factory=dict)
    """Failed bindings by error."""


def _job_of(pod: Pod) -> str:
    return f"{pod.namespace}/{pod.owner_name}" if pod.owner_name else ""


def _ref(pod: Pod) -> PodRef:
    return PodRef(pod.namespace, pod.name, pod.uid)


class BatchLoop:
    """colo-batch's loop over one cluster (see the module docstring)."""

    def __init__(self, options: LoopOptions | None = None, *, capacity: int = 1024) -> None:
        self.options = opts = options or LoopOptions()
        self.snap = Snapshot(capacity=capacity)
        self.parked = opts.backlog == "parked"
        self.cycle = BatchCycle(self.snap, explain=opts.explain)
        self.queue = BatchQueue()  # parked mode: where the pods not in flight wait
        self.pending: dict[str, Waiting] = {}  # every pending pod of ours, in arrival order
        self.held: dict[str, Held] = {}
        self.inflight: set[str] = set()
        self.stats = BatchStats()
        self._seq = 0
        self._nodes: dict[str, Node] = {}
        self._waiting_for_node: dict[str, list[Pod]] = {}  # bound to a node not yet seen
        self._reported: dict[str, str] = {}  # pod -> last unschedulable message
        self._virtual_failed: dict[str, float] = {}  # job -> until
        self._placeholders: list[tuple[float, int, np.ndarray]] = []  # (until, node, vec)
        self._tickets: dict[int, list[Placement]] = {}
        self._next_ticket = 0
        self._changed: set[int] = set()  # nodes where room may have grown (parked mode)
        self._cycle_at: float | None = None
        self._not_before = float("-inf")  # after a coordinator fault
        self._vecs: dict[tuple[tuple[str, int], ...], np.ndarray] = {}
        self._compiled: dict[tuple[object, ...], Requirements] = {}
        self._later: list[tuple[float, int, str]] = []  # heap of (plan at, seq, key)
        self._start: dict[str, float] = {}  # pod -> its colo.io/start-at, while pending
        self._held_back: set[str] = set()  # pending pods not due yet (in `_later`)
        self._timed: list[tuple[float, int, str, int]] = []  # (start, seq, pod, node) placed

    # --- the driver's view ---------------------------------------------------------------
    def cycle_at(self) -> float | None:
        """When the next cycle is due (None: nothing to do until an event arrives)."""
        return self._cycle_at

    def timer_at(self) -> float | None:
        """When the next placeholder or virtual-node mark expires, if any."""
        if not (self._placeholders or self._virtual_failed or self._later or self._timed):
            return None
        times = [until for until, _, _ in self._placeholders]
        times.extend(self._virtual_failed.values())
        for heap in (self._later, self._timed):
            if heap:
                times.append(heap[0][0])
        return min(times)

    def handle(self, event: Event, now: float) -> list[Command]:
        """Take one event in; return what to do, in order."""
        out: list[Command] = []
        if isinstance(event, ClusterEvent):
            if event.node is not None:
                self._on_node(event.kind, event.node, now)
            elif event.pod is not None:
                self._on_pod(event.kind, event.pod, now, out)
        elif isinstance(event, CycleDue):
            self._run_cycle(now, event.wall_s, out)
        elif isinstance(event, TimerDue):
            self._expire(now, out)
        elif isinstance(event, Reserved):
            self._reserved(event.ticket, event.replies, now, out)
        elif isinstance(event, ReserveFailed):
            self._reserve_failed(event, now)
        elif isinstance(event, BindSucceeded):
            self.stats.bound += 1
        elif isinstance(event, BindFailed):
            self._bind_failed(event, now, out)
        else:  # pragma: no cover - a driver bug
            raise TypeError(f"BatchLoop cannot handle {event!r}")
        return out

    # --- following the cluster -----------------------------------------------------------
    def _wake(self, now: float) -> None:
        if self._cycle_at is None:
            self._cycle_at = max(now + self.options.batch_delay_s, self._not_before)

    def _room_grew(self, node: int, now: float) -> None:
        if self.parked:
            self._changed.add(node)
        self._wake(now)

    def _on_node(self, kind: ChangeKind, node: Node, now: float) -> None:
        if kind is ChangeKind.DELETED:
            self._nodes.pop(node.name, None)
            self.snap.remove_node(node.name)
            return
        self._nodes[node.name] = node
        i = self.snap.upsert_node(node)
        for pod in self._waiting_for_node.pop(node.name, []):
            self._on_pod(ChangeKind.MODIFIED, pod, now, [])
        self._room_grew(i, now)

    def _on_pod(self, kind: ChangeKind, pod: Pod, now: float, out: list[Command]) -> None:
        key = pod.key
        if kind is ChangeKind.DELETED or pod.terminal:
            self._forget(key)
            self._release(key, now)
            if pod.phase == "Failed" and self._is_virtual(pod.node_name):
                self._mark_virtual_failed(pod, now, out)
            return
        if pod.node_name:
            self._forget(key)
            self._count_bound(pod, now)
            return
        if pod.scheduler_name != self.options.scheduler_name:
            return
        self._pending(pod, now, out)
        self._wake(now)

    def _is_virtual(self, name: str | None) -> bool:
        node = self._nodes.get(name or "")
        return node is not None and node.labels.get(VIRTUAL_NODE_LABEL_KEY) == (
            VIRTUAL_NODE_LABEL_VALUE
        )

    def _pending(self, pod: Pod, now: float, out: list[Command]) -> None:
        """A pending pod of ours arrived or changed: (re)compile what it requires."""
        key = pod.key
        old = self.pending.get(key)
        if old is not None and self.parked and key not in self.inflight:
            self.queue.remove(old)
        scheduled = self._as_scheduled(pod, now)
        try:
            req = self._compile(scheduled)
            start = start_at_s(pod)
        except InvalidInput as e:
            self.stats.bad_pods += 1
            self.pending.pop(key, None)  # until the pod changes
            self._report(pod, f"colo-batch cannot schedule this pod: {e}", out)
            return
        if scheduled is not pod:
            self.stats.virtual_fallbacks += 1
        if self.parked and (req.gang or req.priority):
            self._stop_parking()
        vec = self._vector(req.requests)
        shape = self.queue.shapes.id((req.requests, req.placement_key), vec) if self.parked else 0
        if old is None:
            entry = Waiting(pod, req, self._seq, shape, vec)
            self._seq += 1
        else:
            entry = dataclasses.replace(old, pod=pod, req=req, shape=shape, vec=vec)
        self.pending[key] = entry
        if start is None:
            self._start.pop(key, None)
        else:
            self._start[key] = start
        if start is not None and not self._due(key, now):
            self._held_back.add(key)
            heapq.heappush(self._later, (start - self.options.plan_ahead_s, entry.seq, key))
            return
        self._held_back.discard(key)
        if self.parked and key not in self.inflight:
            self.queue.add(entry)

    def _due(self, key: str, now: float) -> bool:
        """Whether a pending pod may be placed now (a `colo.io/start-at` pod only from
        `plan_ahead_s` before its time)."""
        start = self._start.get(key)
        return start is None or start - self.options.plan_ahead_s <= now

    def _compile(self, pod: Pod) -> Requirements:
        """`requirements_of` the pod, remembered by what it reads besides the pod's name
        (a job's pods differ in nothing else; a wave is thousands of them)."""
        if pod.affinity is not None:  # nested: not worth a key
            return requirements_of(pod, self.options.virtual)
        look = (
            pod.namespace, pod.owner_kind, pod.owner_name, pod.priority, pod.requests,
            pod.tolerations, tuple(pod.labels.items()), tuple(pod.annotations.items()),
            tuple(pod.node_selector.items()),
        )  # fmt: skip
        req = self._compiled.get(look)
        if req is None:
            req = requirements_of(pod, self.options.virtual)
            if len(self._compiled) >= MAX_REMEMBERED:
                self._compiled.clear()
            self._compiled[look] = req
            return req
        return req.with_key(pod.key)

    def _as_scheduled(self, pod: Pod, now: float) -> Pod:
        """The pod as the cycle treats it: marked `colo.io/virtual-failed` while its job
        stays off virtual nodes."""
        job = _job_of(pod)
        failed = job and self._virtual_failed.get(job, now) > now
        if not failed or VIRTUAL_FAILED_ANNOTATION in pod.annotations:
            return pod
        marked = {**pod.annotations, VIRTUAL_FAILED_ANNOTATION: "job"}
        return dataclasses.replace(pod, annotations=marked)

    def _stop_parking(self) -> None:
        """A pod the parked queue cannot order (a gang, a priority): every mode for good."""
        log.info("colo-batch: a pod with a priority or a gang; cycles go over every pod")
        self.parked = False
        self.queue = BatchQueue()
        self._changed.clear()

    def _vector(self, requests: tuple[tuple[str, int], ...]) -> np.ndarray:
        """The snapshot's request vector of `requests` (one per distinct request: a wave
        of one job's pods asks the same)."""
        vec = self._vecs.get(requests)
        if vec is None:
            vec = self._vecs[requests] = self.snap.request_vector(requests)
        return vec

    def _forget(self, key: str) -> None:
        """The pod is no longer ours to schedule (bound, finished or deleted)."""
        entry = self.pending.pop(key, None)
        if entry is not None and self.parked and key not in self.inflight:
            self.queue.remove(entry)
        self.inflight.discard(key)
        self._reported.pop(key, None)
        self._start.pop(key, None)
        self._held_back.discard(key)

    def _count_bound(self, pod: Pod, now: float) -> None:
        i = self.snap.index.get(pod.node_name or "")
        if i is None:
            self._release(pod.key, now)
            self._waiting_for_node.setdefault(pod.node_name or "", []).append(pod)
            return
        held = self.held.get(pod.key)
        if held is not None and held.node == i:
            held.assumed = False  # the binding we made (or someone's) is confirmed
            return
        self._release(pod.key, now)
        vec = self._vector(tuple(pod.requests.items()))
        job = _job_of(pod)
        self.snap.add_pod(i, vec, job)
        self.held[pod.key] = Held(i, vec, job, assumed=False)

    def _release(self, key: str, now: float) -> None:
        held = self.held.pop(key, None)
        if held is not None:
            self.snap.remove_pod(held.node, held.vec, held.job)
            self._room_grew(held.node, now)

    def _mark_virtual_failed(self, pod: Pod, now: float, out: list[Command]) -> None:
        job = _job_of(pod)
        if not job:
            return
        self._virtual_failed[job] = now + self.options.virtual_retry_after_s
        log.info("pod %s failed on virtual node %s: job %s avoids virtual nodes for %gs",
                 pod.key, pod.node_name, job, self.options.virtual_retry_after_s)  # fmt: skip
        self._recompile(job, now, out)

    def _recompile(self, job: str, now: float, out: list[Command]) -> None:
        """The job's pending pods require something else now (virtual nodes or not)."""
        for entry in [e for e in self.pending.values() if e.req.job == job]:
            self._pending(entry.pod, now, out)

    # --- timers --------------------------------------------------------------------------
    def _expire(self, now: float, out: list[Command]) -> None:
        keep: list[tuple[float, int, np.ndarray]] = []
        for until, node, vec in self._placeholders:
            if until <= now:
                self.snap.remove_pod(node, vec)
                self._room_grew(node, now)  # the room it stood for may be free again
            else:
                keep.append((until, node, vec))
        self._placeholders = keep
        for job in [j for j, until in self._virtual_failed.items() if until <= now]:
            del self._virtual_failed[job]
            self._recompile(job, now, out)
            self._wake(now)
        while self._later and self._later[0][0] <= now:
            _, _, key = heapq.heappop(self._later)
            if key not in self._held_back or not self._due(key, now):
                continue  # gone, changed, or already released
            self._held_back.discard(key)
            if self.parked and key not in self.inflight:
                self.queue.add(self.pending[key])
            self._wake(now)
        self._bind_timed(now, out)

    # --- one cycle -----------------------------------------------------------------------
    def _run_cycle(self, now: float, wall: float, out: list[Command]) -> None:
        self._cycle_at = None
        if now < self._not_before:  # a coordinator fault holds cycles back
            self._cycle_at = self._not_before
            return
        if self.parked:
            placed = self._cycle_parked(now, wall)
        else:
            entries = [
                e
                for k, e in self.pending.items()
                if k not in self.inflight and k not in self._held_back
            ]
            placed = self._run(entries, now, wall, out) if entries else []
        if not placed:
            return
        self.stats.placed += len(placed)
        if not self.options.coordinated:
            for p in placed:
                self._bind(p, now, out)
            return
        ticket = self._next_ticket
        self._next_ticket += 1
        self._tickets[ticket] = placed
        names = self.snap.names
        items = tuple(
            Item(p.entry.key, names[p.node], dict(p.entry.req.requests), p.entry.req.priority)
            for p in placed
        )
        out.append(Reserve(ticket, items))

    def _cycle_parked(self, now: float, wall: float) -> list[Placement]:
        queue = self.queue
        free = self.snap.free()
        blocks = queue.take(self._changed, free)
        self._changed.clear()
        if blocks:
            self.stats.cycles += 1
        few = queue.take_few(blocks, FEW_PODS)
        if few is not None:
            return self._run_groups(sorted(few, key=lambda g: g.first), now, wall) if few else []
        placed: list[Placement] = []
        planner = Planner(blocks, queue)
        while planner:
            run = planner.next_run(free)
            if not run:
                break
            placed += self._run_groups(run, now, wall)
            free = self.snap.free()
        return placed

    def _run_groups(self, groups: list[JobPods], now: float, wall: float) -> list[Placement]:
        """One run over `groups` (oldest first); what it does not place is parked."""
        entries: list[Waiting] = []
        for g in groups:
            g.sort()
            entries.extend(g.entries)
        placed = self._run(entries, now, wall, [])
        if len(placed) < len(entries):
            taken = {id(p.entry) for p in placed}
            left: list[JobPods] = []
            for g in groups:
                rest = [e for e in g.entries if id(e) not in taken]
                if rest:
                    left.append(JobPods(g.job, g.shape, rest, rest[0].seq))
            self.queue.park(left)
        return placed

    def _run(
        self, entries: list[Waiting], now: float, wall: float, out: list[Command]
    ) -> list[Placement]:
        """One run of the batch cycle over `entries`, in the order given."""
        reqs = [e.req for e in entries]
        waited = [
            max(0.0, wall - e.pod.created_s) if e.pod.created_s is not None else 0.0
            for e in entries
        ]
        result = self.cycle.run(reqs, now, waited)
        if not self.parked:
            self.stats.cycles += 1
        self.stats.runs += 1
        self.stats.pods_in_runs += len(reqs)
        by_key = {e.key: e for e in entries}
        placed: list[Placement] = []
        for req, node_name in result.assignments:
            entry = by_key[req.key]
            i = self.snap.index[node_name]
            # the cycle counted it in the snapshot already: assumed from here on
            self.held[req.key] = Held(i, entry.vec, req.job, assumed=True)
            self.inflight.add(req.key)
            placed.append(Placement(entry, i))
        if self.cycle.explain:
            for entry in entries:
                status = result.unschedulable.get(entry.key)
                if status is not None and status.code is not Code.WAIT:
                    self._report(entry.pod, status.message, out)
        log.debug("cycle: %d pods, %d placed, %d not",
                  len(reqs), len(placed), len(result.unschedulable))  # fmt: skip
        return placed

    # --- answers -------------------------------------------------------------------------
    def _reserved(
        self, ticket: int, replies: tuple[Reply, ...], now: float, out: list[Command]
    ) -> None:
        placed = self._tickets.pop(ticket)
        if len(replies) != len(placed):
            raise ValueError(f"reservation {ticket}: {len(replies)} replies to {len(placed)}")
        refused_gangs = {
            p.entry.req.gang for p, r in zip(placed, replies, strict=True) if not r.ok
        } - {""}
        back: list[str] = []
        refused = 0
        for p, reply in zip(placed, replies, strict=True):
            key = p.entry.key
            if reply.ok and p.entry.req.gang not in refused_gangs:
                if key in self.inflight:
                    self._bind(p, now, out)
                else:  # bound elsewhere or gone while we asked: the reservation is void
                    back.append(key)
                continue
            if not reply.ok:
                refused += 1
                self.stats.reserve_conflicts += 1
                log.debug("reservation of %s on %s refused: %s", key, reply.node, reply.reason)
                # Someone holds room there that this view does not show: keep the request
                # on the node as a placeholder for a while.
                self.snap.add_pod(p.node, p.entry.vec)
                self._placeholders.append((now + self.options.conflict_hold_s, p.node, p.entry.vec))
            else:
                back.append(key)  # a gang member whose gang lost a reservation
            self._give_back(key, now, grew=reply.ok)
        if back:
            out.append(Unreserve(tuple(back)))
        if refused or len(back):
            log.info("coordinator refused %d of %d reservations; retrying them",
                     refused, len(placed))  # fmt: skip
            self._wake(now)  # retry the refused ones against the fresher view

    def _bind(self, p: Placement, now: float, out: list[Command]) -> None:
        """Bind now, or at the pod's `colo.io/start-at` if that is still to come."""
        start = self._start.get(p.entry.key)
        if start is not None and start > now:
            heapq.heappush(self._timed, (start, p.entry.seq, p.entry.key, p.node))
            return
        out.append(Bind(_ref(p.entry.pod), self.snap.names[p.node]))

    def _bind_timed(self, now: float, out: list[Command]) -> None:
        """The placements whose time has come: bound where they still fit."""
        due: list[tuple[str, int]] = []
        while self._timed and self._timed[0][0] <= now:
            _, _, key, node = heapq.heappop(self._timed)
            held = self.held.get(key)
            if key in self.inflight and held is not None and held.assumed and held.node == node:
                due.append((key, node))
        if not due:
            return
        free = self.snap.free()
        back: list[str] = []
        for key, node in due:
            held = self.held[key]
            cols = held.vec.nonzero()[0]
            if (free[node, cols] >= 0).all():  # it is counted there already
                out.append(Bind(_ref(self.pending[key].pod), self.snap.names[node]))
            else:  # the node shrank under it: place it again
                back.append(key)
                self.stats.replaced_at_start += 1
                self._give_back(key, now, grew=True)
                free = self.snap.free()
        if back:
            log.info("%d pods due now no longer fit where they were placed; placing them "
                     "again", len(back))  # fmt: skip
            if self.options.coordinated:
                out.append(Unreserve(tuple(back)))

    def _reserve_failed(self, event: ReserveFailed, now: float) -> None:
        placed = self._tickets.pop(event.ticket)
        self.stats.coordinator_faults += 1
        log.warning("coordinator reserve failed; %d pods retried: %s", len(placed), event.error)
        for p in placed:
            self._give_back(p.entry.key, now, grew=True)
        self._not_before = now + min(max(0.0, event.retry_after_s), MAX_COORDINATOR_BACKOFF_S)
        self._wake(now)

    def _bind_failed(self, event: BindFailed, now: float, out: list[Command]) -> None:
        self.stats.bind_failures += 1
        self.stats.by_error[event.error] = self.stats.by_error.get(event.error, 0) + 1
        self._give_back(event.key, now, grew=True)
        if self.options.coordinated:
            out.append(Unreserve((event.key,)))
        if not event.lost_race:
            why = event.message or event.error
            log.warning("binding %s failed; retrying it: %s", event.key, why)
            self._wake(now)

    def _give_back(self, key: str, now: float, *, grew: bool) -> None:
        """A placement that will not be bound: out of the snapshot (if still only assumed)
        and, if the pod is still pending, back in the queue."""
        held = self.held.get(key)
        if held is not None and held.assumed:
            del self.held[key]
            self.snap.remove_pod(held.node, held.vec, held.job)
            if grew:
                self._room_grew(held.node, now)
        if key in self.inflight:
            self.inflight.discard(key)
            entry = self.pending.get(key)
            if entry is not None and self.parked:
                self.queue.add(entry)

    # --- reporting -----------------------------------------------------------------------
    def _report(self, pod: Pod, message: str, out: list[Command]) -> None:
        if self._reported.get(pod.key) == message:
            return
        self._reported[pod.key] = message
        self.stats.unschedulable_reported += 1
        out.append(ReportUnschedulable(_ref(pod), message))
