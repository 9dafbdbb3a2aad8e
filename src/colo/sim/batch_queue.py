"""Which pending pods the simulated colo-batch hands to its batch cycle, and in what runs.

colo-batch (the process) runs each cycle over every pending pod. With thousands of pods
waiting and a cycle every fraction of a second, a simulated day would mostly be spent
filtering pods that cannot fit, so the simulator leaves out only pods that the cycle
would not place anyway: its placements are those of one cycle over every pending pod
(`tests/sim/test_batch_scheduler.py` holds them equal on random clusters).

- Pods are kept per job: one job's pods share requests and placement, and they are one
  group of the cycle. *Fresh* pods (new, or back after a refused reservation) are
  candidates of the next cycle.
- Pods a cycle did not place are *parked* under their shape (requests and placement key).
  Room only grows on *changed* nodes (pods finished or were evicted there, a placeholder
  expired, a colo-agent published more batch capacity), so a parked shape becomes a
  candidate again only when it fits one of the nodes changed since it was parked, and
  then it can only use those nodes. A fresh pod of a shape that stays parked fits
  nowhere either: it is parked at once.
- A cycle over pods ordered oldest first (priorities are all equal in the simulation, so
  the aging queue is FIFO) treats the job groups one after another, in the order of
  their oldest pod, each seeing only what the groups before it left, and places a
  group's pods in order until none fits. So one cycle can be run as consecutive runs
  over consecutive groups (`Planner`), and before each run what cannot be placed is
  parked without entering it:

      room(shape) = Σ_nodes max(0, min_r ⌊free_r / request_r⌋)   (r: what the shape requests)

  Every pod placed takes exactly one unit of its own shape's room and other pods can only
  take more. So a shape without room places nothing, and of the groups of a shape taken
  in order only the first `room` pods can be placed: a group is cut there and the rest
  parked (the cycle's cut to the m best nodes keeps the placements of the first pods of
  a group whatever m is). Runs grow 1, 2, 4, … groups: once a few groups have taken what
  a freed node offered, the next plan parks every shape that no longer fits.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from colo.sched.requirements import Requirements
from colo.sim.cluster import SimPod

Shape = tuple[object, ...]
Entry = tuple[SimPod, Requirements]

_NO_LIMIT = np.iinfo(np.int64).max


@dataclass(slots=True)
class JobPods:
    """Pending pods of one job (one group of the cycle), with its lowest pod index."""

    job: str
    shape: int
    entries: list[Entry] = field(default_factory=list)
    first: int = _NO_LIMIT

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.first = min(self.first, entry[0].index)

    def merge(self, other: JobPods) -> None:
        self.entries.extend(other.entries)
        self.first = min(self.first, other.first)

    def split(self, n: int) -> JobPods:
        """Keep the `n` oldest pods; return the others (as a group of their own)."""
        self.entries.sort(key=lambda e: e[0].index)
        rest = self.entries[n:]
        self.entries = self.entries[:n]
        return JobPods(self.job, self.shape, rest, rest[0][0].index if rest else _NO_LIMIT)


@dataclass(slots=True)
class ShapeCandidates:
    """One shape's candidate groups in a cycle, oldest first; `rows`: the only nodes that
    may have room for it (None: any node)."""

    shape: int
    groups: list[JobPods]
    rows: list[int] | None


class Shapes:
    """Shape ids and their request vectors, as rows of one matrix [shapes, resources]."""

    def __init__(self) -> None:
        self.ids: dict[Shape, int] = {}
        self.matrix = np.zeros((64, 1), np.int64)

    def id(self, shape: Shape, vec: np.ndarray) -> int:
        k = self.ids.get(shape)
        if k is None:
            k = self.ids[shape] = len(self.ids)
            rows, width = self.matrix.shape
            if k >= rows or len(vec) > width:
                grown = np.zeros((max(rows, 2 * k), max(width, len(vec))), np.int64)
                grown[:rows, :width] = self.matrix
                self.matrix = grown
            self.matrix[k, : len(vec)] = vec
        return k


class BatchQueue:
    def __init__(self) -> None:
        self.shapes = Shapes()
        self.fresh: dict[str, JobPods] = {}
        self.parked: dict[int, dict[str, JobPods]] = {}

    def __len__(self) -> int:
        parked = sum(len(g.entries) for jobs in self.parked.values() for g in jobs.values())
        return parked + sum(len(g.entries) for g in self.fresh.values())

    @property
    def has_parked(self) -> bool:
        return bool(self.parked)

    def add(self, pod: SimPod, req: Requirements, shape: int) -> None:
        group = self.fresh.get(req.job)
        if group is None:
            group = self.fresh[req.job] = JobPods(req.job, shape)
        group.add((pod, req))

    def remove(self, pod: SimPod, job: str, shape: int) -> None:
        """A pending pod left the queue some other way (another scheduler bound it)."""
        for jobs in (self.fresh, self.parked.get(shape, {})):
            group = jobs.get(job)
            if group is None:
                continue
            group.entries = [e for e in group.entries if e[0] is not pod]
            if not group.entries:
                del jobs[job]
            else:
                group.first = min(e[0].index for e in group.entries)
        if shape in self.parked and not self.parked[shape]:
            del self.parked[shape]

    def park(self, groups: Iterable[JobPods]) -> None:
        """Groups (what is left of them) that a cycle could not place."""
        for group in groups:
            jobs = self.parked.get(group.shape)
            if jobs is None:
                jobs = self.parked[group.shape] = {}
            have = jobs.get(group.job)
            if have is None:
                jobs[group.job] = group
            else:
                have.merge(group)

    def take(
        self, changed: Iterable[int], free: np.ndarray, *, everything: bool = False
    ) -> list[ShapeCandidates]:
        """The next cycle's candidates: fresh groups and the parked shapes that fit a
        changed node now (`everything`: all parked shapes, any node). `free` is the
        snapshot's [nodes, resources] allocatable − used."""
        fresh = self.fresh
        self.fresh = {}
        out: dict[int, ShapeCandidates] = {}
        rows = sorted(changed)
        if everything:
            released = list(self.parked)
        elif rows and self.parked:
            ids = np.fromiter(self.parked, np.int64, len(self.parked))
            need = self.shapes.matrix[ids][None, :, : free.shape[1]]  # [1, shapes, R]
            have = free[rows][:, None, :]  # [changed, 1, R]
            fits = ((have >= need) | (need == 0)).all(axis=2).any(axis=0)
            released = ids[fits].tolist()
        else:
            released = []
        for k in released:
            jobs = self.parked.pop(k)
            out[k] = ShapeCandidates(k, list(jobs.values()), None if everything else rows)
        merged: dict[int, dict[str, JobPods]] = {}
        for group in fresh.values():
            k = group.shape
            if k in self.parked:  # fits nowhere: see the module docstring
                self.park([group])
                continue
            cand = out.get(k)
            if cand is None:
                cand = out[k] = ShapeCandidates(k, [], None)
            cand.rows = None  # fresh pods may use any node
            by_job = merged.get(k)
            if by_job is None:
                by_job = merged[k] = {g.job: g for g in cand.groups}
            have_group = by_job.get(group.job)
            if have_group is None:
                by_job[group.job] = group
                cand.groups.append(group)
            else:
                have_group.merge(group)
        for cand in out.values():
            cand.groups.sort(key=lambda g: g.first)
        return list(out.values())


class Planner:
    """Splits one cycle's candidates into runs of the batch cycle (module docstring)."""

    def __init__(self, candidates: list[ShapeCandidates], shapes: Shapes) -> None:
        self.candidates = candidates
        self.shapes = shapes
        self.size = 1

    def __bool__(self) -> bool:
        return bool(self.candidates)

    def _rooms(self, free: np.ndarray) -> list[int]:
        cands = self.candidates
        room = [0] * len(cands)
        by_rows: dict[tuple[int, ...] | None, list[int]] = {}
        for k, c in enumerate(cands):
            by_rows.setdefault(None if c.rows is None else tuple(c.rows), []).append(k)
        for rows, ks in by_rows.items():
            have = free if rows is None else free[list(rows)]
            need = self.shapes.matrix[[cands[k].shape for k in ks], : free.shape[1]]
            asked = need > 0
            per_node = np.where(
                asked[:, None, :],
                have[None, :, :] // np.where(asked, need, 1)[:, None, :],
                _NO_LIMIT,
            ).min(axis=2)  # [shapes, nodes]: pods of the shape each node has room for
            for k, r in zip(ks, np.maximum(per_node, 0).sum(axis=1).tolist(), strict=True):
                room[k] = r
        return room

    def next_run(self, free: np.ndarray) -> tuple[list[JobPods], list[JobPods]]:
        """(the groups of the next run, oldest first; what cannot be placed in this
        cycle). `free`: the snapshot's [nodes, R] allocatable − used right now."""
        cands = self.candidates
        room = self._rooms(free)
        stuck: list[JobPods] = []
        heap: list[tuple[int, int]] = []
        for k, c in enumerate(cands):
            if room[k] <= 0:
                stuck.extend(c.groups)
                c.groups = []
            else:
                heap.append((c.groups[0].first, k))
        heapq.heapify(heap)
        run: list[JobPods] = []
        taken = [0] * len(cands)
        pos = [0] * len(cands)
        while heap and len(run) < self.size:
            _, k = heapq.heappop(heap)
            c = cands[k]
            group = c.groups[pos[k]]
            pos[k] += 1
            run.append(group)
            left = room[k] - taken[k]
            if len(group.entries) > left:
                stuck.append(group.split(left))
            taken[k] += len(group.entries)
            if taken[k] >= room[k]:
                stuck.extend(c.groups[pos[k] :])  # the shape's room is spoken for
                pos[k] = len(c.groups)
            elif pos[k] < len(c.groups):
                heapq.heappush(heap, (c.groups[pos[k]].first, k))
        for k, c in enumerate(cands):
            c.groups = c.groups[pos[k] :]
        self.candidates = [c for c in cands if c.groups]
        self.size *= 2
        return run, stuck
