"""colo-batch at simulated time: the real batch cycle and the coordinator's ledger.

What runs is colo's own engine: a `colo.sched.snapshot.Snapshot`, `BatchCycle` with its
default plugins (NodeResourcesFit on the batch resources the pods request under the colo
policy, LeastAllocated on those, JobSpread, the virtual-node plugins) and
`colo.coord.ledger.Ledger` (fed by `colo.sim.coordinator`). Around them, the steps of
`colo batch serve`:

1. The snapshot follows the cluster like colo-batch's informers do: built once from the
   node views with online pods counted, then kept in place — a pod's requests count on
   its node from binding (by any scheduler) until it succeeds or is evicted, and a
   patched node's extended allocatable is written into its row. Nothing is rebuilt.
2. When something changed (a pod arrived, room was freed, a placeholder expired) the
   next cycle runs `cycle_s` later over the pending pods (`colo.sim.batch_queue` leaves
   out only pods that cycle could not place).
3. Reservations, Omega style: the cycle's placements go to the ledger as one batch
   (`Ledger.reserve(items, now)`) after the cycle, not through a synchronous
   `ReservePlugin` inside it. That is what the process does (one `Reserve` call per cycle,
   the coordinator possibly in another process), it keeps the cycle's cut to the m best
   nodes (a reserve plugin turns it off), and the room-per-shape trim of the queue is
   exact only for a cycle without one. A refused placement is taken back out of the
   snapshot (`Snapshot.remove_pod`), its request stays on that node as a placeholder for
   `conflict_hold_s`, and the pod is tried again next cycle.
4. Granted pods are assumed on their node and bound when colo-batch's own client limiter
   (`qps`, `burst`) lets the binding out, one token each. A binding the kubelet refuses
   is unreserved and given back; its job controller makes a new pod.

Pods never carry priorities here, so the aging queue orders them oldest first.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from colo.coord.ledger import Ledger
from colo.core.changes import PodRef
from colo.core.ratelimit import RateLimiter
from colo.core.reservation import Item
from colo.core.resources import CPU, MEMORY, PODS
from colo.sched.cycle import BatchCycle
from colo.sched.requirements import Requirements, VirtualNodePolicy, requirements_of
from colo.sched.snapshot import Snapshot
from colo.sim.batch_queue import BatchQueue, Entry, JobPods, Planner
from colo.sim.cluster import OFFLINE_NAMESPACE, Phase, SimCluster, SimPod, complete
from colo.sim.engine import PRIO_CONTROL, PRIO_SCHEDULE, EventLoop

#: How long a refused request stays on its node in colo-batch's view (as the process).
CONFLICT_HOLD_S = 2.0
#: Candidate pods a cycle runs without planning (see `_run_cycle`).
FEW_PODS = 4


def _after_key(req: Requirements) -> tuple[Any, ...]:
    """`req`'s fields after its key, in order: `Requirements(key, *them)` is `req` for
    another pod."""
    return tuple(getattr(req, f.name) for f in _FIELDS[1:])


_FIELDS = dataclasses.fields(Requirements)
assert _FIELDS[0].name == "key", "_after_key expects the key first"


def _job_name(pod: SimPod) -> str:
    """`Requirements.job` of the pod: its namespace and its Job's name, `job-<n>`."""
    return f"{OFFLINE_NAMESPACE}/job-{pod.job}"


@dataclass(slots=True)
class Held:
    """A pod counted in the snapshot: where, with what, and whether only assumed."""

    node: int
    vec: np.ndarray
    job: str
    assumed: bool


@dataclass
class BatchStats:
    cycles: int = 0
    """Cycles that placed at least one pod."""
    runs: int = 0
    """Runs of `BatchCycle` (one cycle may be split into consecutive runs, see
    `colo.sim.batch_queue`)."""
    pods_in_runs: int = 0
    placed: int = 0
    bound: int = 0
    reserve_conflicts: int = 0
    admission_failures: int = 0


class SimBatchScheduler:
    """colo-batch over one simulated cluster; `ledger` None binds unreserved."""

    def __init__(
        self,
        cluster: SimCluster,
        loop: EventLoop,
        *,
        ledger: Ledger | None,
        qps: float,
        burst: int,
        cycle_s: float,
        conflict_hold_s: float = CONFLICT_HOLD_S,
        virtual: VirtualNodePolicy | None = None,
        exhaustive: bool = False,
    ) -> None:
        """`exhaustive`: every cycle over every pending pod in one run, without the
        queue's shortcuts (slow; the reference the shortcuts are tested against)."""
        if cycle_s <= 0:
            raise ValueError(f"cycle_s must be > 0, got {cycle_s}")
        self.cluster = cluster
        self.loop = loop
        self.ledger = ledger
        self.limiter = RateLimiter(qps, burst)
        self.cycle_s = cycle_s
        self.hold_s = conflict_hold_s
        self.virtual = virtual or VirtualNodePolicy()
        self.exhaustive = exhaustive
        self.snap = Snapshot(capacity=max(1, len(cluster.node_names)))
        for node in cluster.nodes():
            self.snap.upsert_node(node)
        n = self.snap.n
        # Online pods are bound pods too: their requests and pod slots count.
        for name, used in (
            (CPU, cluster.requested_cpu),
            (MEMORY, cluster.requested_memory),
            (PODS, cluster.requested_pods),
        ):
            self.snap.used[:n, self.snap.column(name)] = used
        self.cycle = BatchCycle(self.snap, explain=False)  # nobody reads its messages
        self.queue = BatchQueue()
        self.held: dict[int, Held] = {}  # pod index -> where it counts
        self.stats = BatchStats()
        # job -> requirements of its pods but the key (`_after_key`), their shape id and
        # request vector
        self._templates: dict[int, tuple[tuple[Any, ...], int, np.ndarray]] = {}
        # (cpu, memory, pool) of a job's pods -> requirements compiled from one's view
        self._looks: dict[tuple[int, int, str | None], tuple[Requirements, int, np.ndarray]] = {}
        self._placeholders: list[tuple[float, int, np.ndarray]] = []  # (until, node, vec)
        self._changed: set[int] = set()
        self._cycle_at: float | None = None
        cluster.on_pending(self._arrived)
        cluster.on_bound(self._bound)
        cluster.on_released(self._released)
        cluster.on_freed(self._freed)
        cluster.on_node_patched(self._node_patched)

    def pending(self) -> int:
        return len(self.queue)

    # --- following the cluster --------------------------------------------------------
    def _requirements(self, pod: SimPod) -> tuple[Requirements, int, np.ndarray]:
        """`requirements_of` the pod's view, with the shape id and request vector of its
        job's pods, compiled once per job (its pods differ only in name)."""
        template = self._templates.get(pod.job)
        if template is None:
            template = self._templates[pod.job] = self._job_template(pod)
        rest, shape, vec = template
        # what dataclasses.replace(key=...) makes, without its per-field work at every pod
        return Requirements(pod.key, *rest), shape, vec

    def _job_template(self, pod: SimPod) -> tuple[tuple[Any, ...], int, np.ndarray]:
        """The requirements of a new job's pods, but the key (`_after_key`). Pods that
        request the same and use the same pool have views that differ only in their own
        and their job's names (`SimCluster._pod_view`), so one view per such look is
        compiled (a pod view costs as much as a cycle), and other jobs' requirements
        differ from it in the job alone."""
        look = (pod.cpu_milli, pod.memory_bytes, pod.pool)
        compiled = self._looks.get(look)
        if compiled is None:
            view = self.cluster.pod(pod.key)
            assert view is not None, pod.key
            req = requirements_of(view, self.virtual)
            assert req.job == _job_name(pod), (req.job, pod.job)
            vec = self.snap.request_vector(req.requests)
            shape = self.queue.shapes.id((req.requests, req.placement_key), vec)
            compiled = self._looks[look] = (req, shape, vec)
        req, shape, vec = compiled
        return _after_key(dataclasses.replace(req, job=_job_name(pod))), shape, vec

    def _arrived(self, pod: SimPod) -> None:
        req, shape, _ = self._requirements(pod)
        self.queue.add(pod, req, shape)
        self._wake()

    def _bound(self, pod: SimPod) -> None:
        held = self.held.get(pod.index)
        if held is not None and held.node == pod.node:
            held.assumed = False  # our binding (or someone's, to the same node) confirmed
            return
        req, shape, vec = self._requirements(pod)
        if held is not None:
            self._release(pod.index)
        else:  # pending here and bound by another scheduler
            self.queue.remove(pod, req.job, shape)
        self.snap.add_pod(pod.node, vec, req.job)
        self.held[pod.index] = Held(pod.node, vec, req.job, assumed=False)

    def _released(self, pod: SimPod) -> None:
        self._release(pod.index)

    def _release(self, index: int) -> None:
        held = self.held.pop(index, None)
        if held is not None:
            self.snap.remove_pod(held.node, held.vec, held.job)

    def _freed(self, node: int) -> None:
        if self.queue.has_parked:
            self._changed.add(node)  # only parked pods need to know where
        self._wake()

    def _node_patched(self, node: int) -> None:
        for name, value in self.cluster.extended[node].items():
            self.snap.alloc[node, self.snap.column(name)] = value
        self._wake()  # as colo-batch wakes on every node change

    # --- cycles -------------------------------------------------------------------------
    def _wake(self) -> None:
        if self._cycle_at is None:
            self._cycle_at = self.loop.now() + self.cycle_s
            self.loop.schedule(self._cycle_at, self._run_cycle, priority=PRIO_SCHEDULE)

    def _run_cycle(self) -> None:
        self._cycle_at = None
        now = self.loop.now()
        placed: list[tuple[SimPod, Requirements, int]] = []
        if self.exhaustive:
            self._changed.clear()
            groups = sorted(self.queue.take_all(), key=lambda g: g.first)
            if groups:
                placed = self._run(groups, now)
        else:
            free = self.snap.free()
            blocks = self.queue.take(self._changed, free)
            self._changed.clear()
            # Planning costs more than running a group that places nothing: a few pods go
            # into one run as they are (`colo.sim.batch_queue`).
            few = self.queue.take_few(blocks, FEW_PODS)
            if few is not None:
                if few:
                    placed = self._run(sorted(few, key=lambda g: g.first), now)
                blocks = []
            planner = Planner(blocks, self.queue)
            while planner:
                run = planner.next_run(free)
                if not run:
                    break
                placed += self._run(run, now)
                free = self.snap.free()
        if placed:
            self.stats.cycles += 1
            self.stats.placed += len(placed)
        for pod, req, node in self._reserve(placed, now):
            at = self.limiter.reserve(now, 1)
            self.loop.schedule(at, partial(self._bind, pod, req, node), priority=PRIO_CONTROL)

    def _run(self, groups: list[JobPods], now: float) -> list[tuple[SimPod, Requirements, int]]:
        """One run of the batch cycle over `groups` (oldest first); the rest is parked."""
        for g in groups:
            g.sort()
        vecs = [self._templates[g.entries[0][0].job][2] for g in groups]
        reqs = [req for g in groups for _, req in g.entries]
        waited = [now - pod.created_s for g in groups for pod, _ in g.entries]
        result = self.cycle.run(reqs, now, waited)
        self.stats.runs += 1
        self.stats.pods_in_runs += len(reqs)
        placed_keys: dict[str, int] = {}
        for req, node_name in result.assignments:
            placed_keys[req.key] = self.snap.index[node_name]
        placed: list[tuple[SimPod, Requirements, int]] = []
        left: list[JobPods] = []
        for g, vec in zip(groups, vecs, strict=True):
            rest: list[Entry] = []
            for pod, req in g.entries:
                node = placed_keys.get(req.key)
                if node is None:
                    rest.append((pod, req))
                    continue
                # the cycle counted it in the snapshot already: assumed from here on
                self.held[pod.index] = Held(node, vec, req.job, assumed=True)
                placed.append((pod, req, node))
            if rest:
                left.append(JobPods(g.job, g.shape, rest, rest[0][0].index))
        self.queue.park(left)
        return placed

    def _reserve(
        self, placed: list[tuple[SimPod, Requirements, int]], now: float
    ) -> list[tuple[SimPod, Requirements, int]]:
        if self.ledger is None or not placed:
            return placed
        names = self.snap.names
        items = [Item(r.key, names[node], dict(r.requests), r.priority) for _, r, node in placed]
        replies = self.ledger.reserve(items, now)
        granted: list[tuple[SimPod, Requirements, int]] = []
        for (pod, req, node), reply in zip(placed, replies, strict=True):
            if reply.ok:
                granted.append((pod, req, node))
                continue
            # Someone holds room there that this view does not show: keep the request on
            # the node as a placeholder for a while and try the pod again.
            self.stats.reserve_conflicts += 1
            vec = self.held[pod.index].vec
            self.snap.add_pod(node, vec)
            until = now + self.hold_s
            self._placeholders.append((until, node, vec))
            self.loop.schedule(until, self._expire_placeholders, priority=PRIO_CONTROL)
            self._release(pod.index)
            self.queue.add(pod, req, self._requirements(pod)[1])
        if len(granted) < len(placed):
            self._wake()
        return granted

    def _expire_placeholders(self) -> None:
        now = self.loop.now()
        keep: list[tuple[float, int, np.ndarray]] = []
        for until, node, vec in self._placeholders:
            if until <= now:
                self.snap.remove_pod(node, vec)
                self._freed(node)
            else:
                keep.append((until, node, vec))
        self._placeholders = keep

    def _bind(self, pod: SimPod, req: Requirements, node: int) -> None:
        held = self.held.get(pod.index)
        if pod.phase is not Phase.PENDING or held is None or not held.assumed:
            # bound elsewhere meanwhile, or gone: the reservation is void
            if self.ledger is not None:
                self.ledger.unreserve([req.key])
            return
        self._send(pod, req, node)

    def _send(self, pod: SimPod, req: Requirements, node: int) -> None:
        ref = PodRef(OFFLINE_NAMESPACE, pod.name, str(pod.index))
        complete(self.cluster.bind(ref, self.cluster.node_names[node]))
        if pod.phase is Phase.FAILED:
            # the kubelet refused it (only if someone over-filled the node)
            self.stats.admission_failures += 1
            self._release(pod.index)
            if self.ledger is not None:
                self.ledger.unreserve([req.key])
            return
        self.stats.bound += 1
