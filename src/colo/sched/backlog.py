"""colo-batch's queue of pending pods, and which of them a cycle needs to look at.

`BatchLoop` (colo.sched.loop) runs each cycle over every pending pod (`every` mode, what
the process does). With thousands of pods waiting and a cycle every fraction of a second,
a simulated day would mostly be spent filtering pods that cannot fit, so the loop can
instead leave out pods that the cycle would not place anyway (`parked` mode): its
placements are exactly those of one cycle over every pending pod
(`tests/sim/test_sim_batch_scheduler.py` holds them equal on random clusters). It
requires what makes the cycle's order FIFO: every pod at the same priority, no gangs
(`BatchLoop` goes back to `every` mode for good when a pod breaks that).

- Pods are kept per job: one job's pods share requests and placement, and they are one
  group of the cycle. *Fresh* pods (new, or back after a refused reservation) are
  candidates of the next cycle.
- Pods a cycle did not place are *parked* under their shape (requests and placement key).
  Room only grows on *changed* nodes (pods finished or were evicted there, a placeholder
  expired, a node changed, e.g. a colo-agent published more batch capacity), so a parked
  shape becomes a candidate again only when it fits one of the nodes changed since it
  was parked, and then it can only use those nodes. A fresh pod of a shape that stays
  parked fits nowhere either: it is parked at once.
- A cycle over pods ordered oldest first (arrival order: equal priorities make the aging
  queue FIFO) treats the job groups one after another, in the order of their oldest
  pod, each seeing only what the groups before it left, and places a group's pods in
  order until none fits. So one cycle can be run as consecutive runs over consecutive
  groups (`Planner`), and before each run what cannot be placed is parked without
  entering it:

      room(shape) = Σ_nodes max(0, min_r ⌊free_r / request_r⌋)   (r: what the shape requests)

  Every pod placed takes exactly one unit of its own shape's room and other pods can only
  take more. So a shape without room places nothing, and of the groups of a shape taken
  in order only the first `room` pods can be placed: a group is cut there and the rest
  parked (the cycle's cut to the m best nodes keeps the placements of the first pods of
  a group whatever m is). Runs grow 1, 2, 4, … groups: once a few groups have taken what
  a freed node offered, the next plan parks every shape that no longer fits.

A candidate shape's groups stay parked while the planner looks at them; only the groups
it puts in a run leave (what the run does not place comes back). A cycle typically
releases dozens of parked shapes for a freed node and then parks all but one again, so
nothing is moved for them, and each shape keeps its groups' order from cycle to cycle.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from colo.core.objects import Pod
from colo.sched.requirements import Requirements

Shape = tuple[object, ...]

_NO_LIMIT = np.iinfo(np.int64).max
_LOWEST = np.iinfo(np.int64).min


@dataclass(slots=True, eq=False)
class Waiting:
    """A pending pod in the queue: its view, what it requires, and its place in line."""

    pod: Pod
    req: Requirements
    seq: int
    """Arrival order (a pod that changes keeps its place; one re-created goes last)."""
    shape: int
    """Its shape's id in `Shapes` (requests and placement key)."""
    vec: np.ndarray
    """Its request vector over the snapshot's resources."""

    @property
    def key(self) -> str:
        return self.req.key


def _seq(entry: Waiting) -> int:
    return entry.seq


def _oldest(group: JobPods) -> int:
    return group.first


@dataclass(slots=True)
class JobPods:
    """Pending pods of one job (one group of the cycle), with its oldest pod's `seq`."""

    job: str
    shape: int
    entries: list[Waiting] = field(default_factory=list)
    first: int = _NO_LIMIT
    ordered: bool = True
    """The entries are in arrival order (pods arrive so; merging may mix them)."""

    def add(self, entry: Waiting) -> None:
        if self.entries and entry.seq < self.entries[-1].seq:
            self.ordered = False
        self.entries.append(entry)
        self.first = min(self.first, entry.seq)

    def merge(self, other: JobPods) -> None:
        if other.entries:
            follows = not self.entries or self.entries[-1].seq < other.entries[0].seq
            self.ordered = self.ordered and other.ordered and follows
        self.entries.extend(other.entries)
        self.first = min(self.first, other.first)

    def sort(self) -> None:
        """Entries oldest (first arrived) first."""
        if not self.ordered:
            self.entries.sort(key=_seq)
            self.ordered = True

    def split(self, n: int) -> JobPods:
        """Keep the `n` oldest pods; return the others (as a group of their own)."""
        self.sort()
        rest = self.entries[n:]
        self.entries = self.entries[:n]
        return JobPods(self.job, self.shape, rest, rest[0].seq if rest else _NO_LIMIT)


@dataclass(slots=True)
class Parked:
    """One shape's parked groups (job -> group) and how many pods they hold."""

    groups: dict[str, JobPods] = field(default_factory=dict)
    pods: int = 0
    _order: list[JobPods] | None = None  # the groups by oldest pod, until they change

    def put(self, group: JobPods) -> None:
        have = self.groups.get(group.job)
        if have is None:
            self.groups[group.job] = group
            order = self._order
            if order is not None:  # a new list: a planner may be going through the old one
                at = bisect.bisect(order, group.first, key=_oldest)
                self._order = [*order[:at], group, *order[at:]]
        else:
            first = have.first
            have.merge(group)
            if have.first != first:
                self._order = None
        self.pods += len(group.entries)

    def pop(self, group: JobPods) -> None:
        """Take `group` (one of `order()`) out."""
        have = self.groups.pop(group.job)
        assert have is group, (have.job, have.first, group.first)
        self.pods -= len(group.entries)
        order = self._order
        # runs take the oldest group: the rest keeps its order
        self._order = order[1:] if order and order[0] is group else None

    def order(self) -> list[JobPods]:
        """The groups, oldest pod first (a new list whenever they change)."""
        if self._order is None:
            self._order = sorted(self.groups.values(), key=_oldest)
        return self._order


@dataclass(slots=True)
class Block:
    """Candidate shapes of a cycle that may use the same nodes (`rows`; None: any node),
    with their room there if known."""

    rows: list[int] | None
    shapes: list[int]
    rooms: list[int] | None


Blocks = list[Block]


@dataclass(slots=True)
class Requests:
    """What some shapes request, per resource, for their room per node: [R, shapes]
    matrices of divisors (the amount; 1 where none) and floors (the lowest int64 where
    an amount is requested; no limit where none)."""

    divisor: np.ndarray
    floor: np.ndarray

    def rooms(self, have: np.ndarray) -> np.ndarray:
        """room(shape) of the module docstring over the free resources `have` [nodes, R]."""
        free = have.T  # [R, nodes]
        # [R, ·, ·] keeps the minimum over resources elementwise; the longer axis innermost
        if self.divisor.shape[1] >= free.shape[1]:
            per_node = np.minimum.reduce(
                np.maximum(free[:, :, None] // self.divisor[:, None, :], self.floor[:, None, :])
            )  # [nodes, shapes]: pods of the shape each node has room for
            return np.asarray(np.maximum(per_node, 0).sum(axis=0))
        per_node = np.minimum.reduce(
            np.maximum(free[:, None, :] // self.divisor[:, :, None], self.floor[:, :, None])
        )  # [shapes, nodes]
        return np.asarray(np.maximum(per_node, 0).sum(axis=1))


def nodes_fitting(have: np.ndarray, least: np.ndarray) -> np.ndarray:
    """How many nodes (free resources `have` [nodes, R]) have room for each shape (`least`
    [R, shapes]: what it requests, the lowest int64 where nothing)."""
    return np.asarray((have.T[:, None, :] >= least[:, :, None]).all(axis=0).sum(axis=1))


class Shapes:
    """Shape ids and what each requests, as [resources, shapes] matrices over every shape
    seen: `Requests`' divisors and floors, and what `nodes_fitting` compares."""

    def __init__(self) -> None:
        self.ids: dict[Shape, int] = {}
        self._divisor = np.ones((1, 64), np.int64)
        self._floor = np.full((1, 64), _NO_LIMIT)
        self._least = np.full((1, 64), _LOWEST)

    def id(self, shape: Shape, vec: np.ndarray) -> int:
        k = self.ids.get(shape)
        if k is None:
            k = self.ids[shape] = len(self.ids)
            self._grow(len(vec), k + 1)
            asked = vec > 0
            self._divisor[: len(vec), k] = np.where(asked, vec, 1)
            self._floor[: len(vec), k] = np.where(asked, _LOWEST, _NO_LIMIT)
            self._least[: len(vec), k] = np.where(asked, vec, _LOWEST)
        return k

    def of(self, shapes: np.ndarray, width: int) -> Requests:
        """What `shapes` request of the first `width` resources (one they never saw: none)."""
        self._grow(width, 0)
        return Requests(self._divisor[:width, shapes], self._floor[:width, shapes])

    def least(self, shapes: np.ndarray, width: int) -> np.ndarray:
        """For `nodes_fitting`: what `shapes` request of the first `width` resources."""
        self._grow(width, 0)
        return np.asarray(self._least[:width, shapes])

    def _grow(self, width: int, count: int) -> None:
        rows, cols = self._divisor.shape
        if width <= rows and count <= cols:
            return
        rows, cols = max(rows, width), max(cols, 2 * count)
        self._divisor = _grown(self._divisor, rows, cols, 1)
        self._floor = _grown(self._floor, rows, cols, _NO_LIMIT)
        self._least = _grown(self._least, rows, cols, _LOWEST)


def _grown(matrix: np.ndarray, rows: int, cols: int, fill: int) -> np.ndarray:
    bigger = np.full((rows, cols), fill, np.int64)
    bigger[: matrix.shape[0], : matrix.shape[1]] = matrix
    return bigger


class BatchQueue:
    def __init__(self) -> None:
        self.shapes = Shapes()
        self.fresh: dict[str, JobPods] = {}
        self.parked: dict[int, Parked] = {}
        # the parked shapes and what they request, until a shape is parked or leaves
        self._parked_requests: tuple[np.ndarray, Requests] | None = None

    def __len__(self) -> int:
        parked = sum(p.pods for p in self.parked.values())
        return parked + sum(len(g.entries) for g in self.fresh.values())

    @property
    def has_parked(self) -> bool:
        return bool(self.parked)

    def add(self, entry: Waiting) -> None:
        """A fresh pod: a candidate of the next cycle."""
        job = entry.req.job
        group = self.fresh.get(job)
        if group is None:
            group = self.fresh[job] = JobPods(job, entry.shape)
        group.add(entry)

    def remove(self, entry: Waiting) -> None:
        """A pending pod left the queue some other way (bound by another scheduler,
        deleted, changed)."""
        job = entry.req.job
        self._drop(self.fresh, entry, job)
        parked = self.parked.get(entry.shape)
        if parked is not None:
            parked.pods -= self._drop(parked.groups, entry, job)
            parked._order = None
            if not parked.groups:
                del self.parked[entry.shape]
                self._parked_requests = None

    @staticmethod
    def _drop(groups: dict[str, JobPods], entry: Waiting, job: str) -> int:
        group = groups.get(job)
        if group is None:
            return 0
        before = len(group.entries)
        group.entries = [e for e in group.entries if e is not entry]
        if not group.entries:
            del groups[job]
        else:
            group.first = min(e.seq for e in group.entries)
        return before - len(group.entries)

    def park(self, groups: Iterable[JobPods]) -> None:
        """Groups (what is left of them) that a cycle could not place."""
        for group in groups:
            parked = self.parked.get(group.shape)
            if parked is None:
                parked = self.parked[group.shape] = Parked()
                self._parked_requests = None
            parked.put(group)

    def unpark(self, shape: int, group: JobPods) -> None:
        """`group` (of `parked[shape].order()`) goes into a run."""
        parked = self.parked[shape]
        parked.pop(group)
        if not parked.groups:
            del self.parked[shape]
            self._parked_requests = None

    def take(self, changed: Iterable[int], free: np.ndarray) -> Blocks:
        """The next cycle's candidates: the shapes of fresh groups (fresh groups are
        parked under them first), which may use any node, and the parked shapes that fit
        a changed node now, which may only use the changed nodes (with their rooms
        there). `free` is the snapshot's [nodes, resources] allocatable − used."""
        fresh = self.fresh
        self.fresh = {}
        rows = sorted(changed)
        released = self._released(rows, free)
        anywhere: dict[int, None] = {}
        for group in fresh.values():
            k = group.shape
            if k in self.parked and k not in anywhere and k not in released:
                self.park([group])  # fits nowhere: see the module docstring
                continue
            self.park([group])
            anywhere[k] = None
        blocks: Blocks = []
        ks = [k for k in released if k not in anywhere]
        if ks:
            blocks.append(Block(rows, ks, [released[k] for k in ks]))
        if anywhere:
            blocks.append(Block(None, list(anywhere), None))
        return blocks

    def take_few(self, blocks: Blocks, most: int) -> list[JobPods] | None:
        """Every group of the candidate shapes in `blocks`, out of the queue, if they hold
        `most` pods at most (None, and nothing taken out, if more)."""
        parked = [self.parked[k] for b in blocks for k in b.shapes]
        if sum(p.pods for p in parked) > most:
            return None
        for b in blocks:
            for k in b.shapes:
                del self.parked[k]
        self._parked_requests = None
        return [g for p in parked for g in p.groups.values()]

    def _released(self, rows: list[int], free: np.ndarray) -> dict[int, int]:
        """The parked shapes with room on `rows` now, and that room."""
        if not rows or not self.parked:
            return {}
        cached = self._parked_requests
        if cached is None or cached[1].divisor.shape[0] != free.shape[1]:
            ids = np.fromiter(self.parked, np.int64, len(self.parked))
            cached = self._parked_requests = (ids, self.shapes.of(ids, free.shape[1]))
        ids, requests = cached
        room = requests.rooms(free[rows])
        fit = (room > 0).nonzero()[0]
        return dict(zip(ids[fit].tolist(), room[fit].tolist(), strict=True))

    def take_all(self) -> list[JobPods]:
        """Every pending group (fresh ones merged into their job's parked group)."""
        self.park(self.fresh.values())
        self.fresh = {}
        groups = [g for parked in self.parked.values() for g in parked.groups.values()]
        self.parked = {}
        self._parked_requests = None
        return groups


@dataclass(slots=True)
class _Block:
    """Candidates `start:stop` of a planner, which may use the same nodes (`rows`; None:
    any node)."""

    start: int
    stop: int
    shapes: np.ndarray
    rows: list[int] | None
    known: np.ndarray | None  # their rooms, as `take` found them
    _requests: Requests | None = None
    _least: np.ndarray | None = None

    def rooms(self, free: np.ndarray, waiting: np.ndarray, shapes: Shapes) -> np.ndarray:
        """min(room, pods waiting) per shape."""
        if self.known is not None:  # the first run of a cycle: as `take` found them
            known, self.known = self.known, None
            return np.asarray(np.minimum(known, waiting))
        if self.rows is not None:  # a few changed nodes: divide
            if self._requests is None:
                self._requests = shapes.of(self.shapes, free.shape[1])
            return np.asarray(np.minimum(self._requests.rooms(free[self.rows]), waiting))
        # Every node: a node with room for a shape has room for one pod at least, so as
        # many nodes as pods waiting answer without dividing.
        if self._least is None:
            self._least = shapes.least(self.shapes, free.shape[1])
        room = np.asarray(np.minimum(nodes_fitting(free, self._least), waiting))
        short = ((room > 0) & (room < waiting)).nonzero()[0]
        if short.size:
            exact = shapes.of(self.shapes[short], free.shape[1]).rooms(free)
            room[short] = np.minimum(exact, waiting[short])
        return room


class Planner:
    """Splits one cycle's candidates into runs of the batch cycle (module docstring).

    A run can place no more of a shape's pods than it has waiting, so a room is only
    computed up to that: min(room, waiting) makes the same runs as the room itself (no
    group is cut that fits, and a shape's room is spoken for only once all its groups
    are in runs). Rooms are arrays over the candidates: a cycle may release a hundred
    shapes, and a run usually takes one group.
    """

    def __init__(self, blocks: Blocks, queue: BatchQueue) -> None:
        self.queue = queue
        self.size = 1
        self._shapes = [k for b in blocks for k in b.shapes]
        parked = [queue.parked[k] for k in self._shapes]
        self._waiting = np.array([p.pods for p in parked], np.int64)  # in groups not taken
        self._orders = [p.order() for p in parked]
        self._next = [0] * len(parked)  # each candidate's next group in its order
        self._out = np.zeros(len(parked), bool)  # no group left to run, or no room
        # (oldest pod of its next group, candidate) of the candidates not out
        self._heap = [(order[0].first, k) for k, order in enumerate(self._orders)]
        heapq.heapify(self._heap)
        self._blocks: list[_Block] = []
        start = 0
        for b in blocks:
            known = None if b.rooms is None else np.array(b.rooms, np.int64)
            stop = start + len(b.shapes)
            shapes = np.array(b.shapes, np.int64)
            self._blocks.append(_Block(start, stop, shapes, b.rows, known))
            start = stop

    def __bool__(self) -> bool:
        heap = self._heap
        while heap and self._out[heap[0][1]]:
            heapq.heappop(heap)
        return bool(heap)

    def _rooms(self, free: np.ndarray) -> np.ndarray:
        """[candidates]: min(room, pods waiting) of each (not meaningful once out)."""
        shapes = self.queue.shapes
        if len(self._blocks) == 1:
            return self._blocks[0].rooms(free, self._waiting, shapes)
        room = np.zeros(len(self._shapes), np.int64)
        for b in self._blocks:
            room[b.start : b.stop] = b.rooms(free, self._waiting[b.start : b.stop], shapes)
        return room

    def _pop(self, k: int) -> JobPods:
        """Candidate `k`'s next group, out of the queue; `k` back in the heap if it has
        another one."""
        order = self._orders[k]
        at = self._next[k]
        group = order[at]
        self._next[k] = at + 1
        if at + 1 < len(order):
            heapq.heappush(self._heap, (order[at + 1].first, k))
        else:
            self._out[k] = True
        self._waiting[k] -= len(group.entries)
        self.queue.unpark(self._shapes[k], group)
        return group

    def next_run(self, free: np.ndarray) -> list[JobPods]:
        """The groups of the next run, oldest first, out of the queue (the candidates'
        other groups stay parked). `free`: the snapshot's [nodes, R] allocatable − used
        right now."""
        rooms = self._rooms(free)
        self._out |= rooms <= 0  # places nothing: all its groups stay parked
        if self._out.all():  # how most cycles end: skip going through the heap
            self._heap = []
            return []
        room = rooms.tolist()
        heap = self._heap
        run: list[JobPods] = []
        taken: dict[int, int] = {}
        while heap and len(run) < self.size:
            _, k = heapq.heappop(heap)
            if self._out[k]:
                continue
            group = self._pop(k)
            run.append(group)
            left = room[k] - taken.get(k, 0)
            if len(group.entries) > left:
                self.queue.park([group.split(left)])
            taken[k] = taken.get(k, 0) + len(group.entries)
            if taken[k] >= room[k]:
                self._out[k] = True  # the shape's room is spoken for
        self.size *= 2
        return run
