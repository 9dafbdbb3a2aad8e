"""The batch cycle: many pending pods against one vectorized snapshot.

1. Order the pods (queue sort: priority with aging).
2. Group them by shape (same requests, placement constraints and job): a group is
   filtered once (static masks cached per placement key, resource fit vectorized) and
   scored once over its feasible nodes; then its pods are placed one by one from a heap
   of node scores, re-scoring only the node that just took a pod. Every score plugin is
   node-local, so this gives the same placements as scoring every node for every pod,
   at a cost per pod that does not grow with the number of nodes.
3. Gangs (label `colo.io/gang`, annotation `colo.io/gang-min-members`) are all or
   nothing: if fewer than the minimum fit, their placements are undone.
4. Each placement is reserved (e.g. at the coordinator); a refused reservation frees the
   node in the snapshot and the pod is tried again next cycle.
5. Pods that fit nowhere get kube-scheduler's message:
   "0/5000 nodes are available: 600 Insufficient colo.io/batch-cpu, ...".

Pure: no I/O; binding is the caller's job (it gets the assignments).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from colo.sched.framework import (
    CycleState,
    Failures,
    FilterPlugin,
    QueueSortPlugin,
    ReservePlugin,
    ScorePlugin,
)
from colo.sched.plugins.allocation_score import LeastAllocated
from colo.sched.plugins.job_spread import JobSpread
from colo.sched.plugins.node_affinity import NodeAffinity
from colo.sched.plugins.node_unschedulable import NodeUnschedulable
from colo.sched.plugins.resource_fit import ResourceFit, fits
from colo.sched.plugins.taint_toleration import TaintToleration
from colo.sched.plugins.virtual_nodes import VirtualNodeFilter, VirtualNodePreference
from colo.sched.queue import AgingPriorityQueue
from colo.sched.requirements import Requirements
from colo.sched.snapshot import Snapshot
from colo.sched.status import Code, Status

#: Scores equal to this many decimals are ties, broken by the lower node index.
TIE_DIGITS = 9


@dataclass
class CycleResult:
    assignments: list[tuple[Requirements, str]] = field(default_factory=list)
    unschedulable: dict[str, Status] = field(default_factory=dict)


def default_filters() -> list[FilterPlugin]:
    return [
        NodeUnschedulable(),
        NodeAffinity(),
        VirtualNodeFilter(),
        TaintToleration(),
        ResourceFit(),
    ]


def default_scorers() -> list[ScorePlugin]:
    return [LeastAllocated(weight=1.0), JobSpread(weight=1.0), VirtualNodePreference()]


def explain(snap: Snapshot, failures: Sequence[tuple[str, list[tuple[np.ndarray, str]]]]) -> str:
    """kube-scheduler's message: each node counted under the first plugin that failed it."""
    n = snap.live[: snap.n].sum()
    live = snap.live[: snap.n]
    claimed = ~live
    counts: dict[str, int] = {}
    for _plugin, fails in failures:
        if not fails:
            continue
        plugin_failed = np.zeros(snap.n, bool)
        for mask, reason in fails:
            hit = mask & ~claimed
            c = int(hit.sum())
            if c:
                counts[reason] = counts.get(reason, 0) + c
            plugin_failed |= mask
        claimed |= plugin_failed
    parts = sorted(f"{c} {r}" for r, c in counts.items())
    return f"0/{n} nodes are available: {', '.join(parts)}."


class BatchCycle:
    def __init__(
        self,
        snapshot: Snapshot,
        *,
        filters: Sequence[FilterPlugin] | None = None,
        scorers: Sequence[ScorePlugin] | None = None,
        reserve: ReservePlugin | None = None,
        queue: QueueSortPlugin | None = None,
        explain: bool = True,
    ) -> None:
        """`explain`: give the pods that fit nowhere kube-scheduler's message (as much
        work as placing their group; a simulator that never shows it turns it off)."""
        self.snap = snapshot
        self.explain = explain
        self.filters = list(filters) if filters is not None else default_filters()
        self.scorers = list(scorers) if scorers is not None else default_scorers()
        self.reserve = reserve
        self.queue: QueueSortPlugin = queue or AgingPriorityQueue()

    # --- filtering -----------------------------------------------------------------
    def _static_mask(self, state: CycleState, pod: Requirements, vec: np.ndarray) -> np.ndarray:
        def build() -> np.ndarray:
            ok = np.ones(self.snap.n, bool)
            for f in self.filters:
                if f.static:
                    for mask, _ in f.filter(state, pod, self.snap, vec):
                        ok &= ~mask
            return ok

        got = self.snap.cached_mask(("static", pod.placement_key, self.snap.n), build)
        assert isinstance(got, np.ndarray)
        return got

    def _why(self, state: CycleState, pod: Requirements, vec: np.ndarray) -> str:
        static = self._static_failures(state, pod, vec)
        return explain(
            self.snap,
            [
                (f.name, static[k] if f.static else f.filter(state, pod, self.snap, vec))
                for k, f in enumerate(self.filters)
            ],
        )

    def _static_failures(
        self, state: CycleState, pod: Requirements, vec: np.ndarray
    ) -> list[Failures]:
        """Each filter's failures if it is static (cached like the static mask: a backlog
        that does not fit is explained again every cycle), else an empty list."""

        def build() -> list[Failures]:
            return [f.filter(state, pod, self.snap, vec) if f.static else [] for f in self.filters]

        got = self.snap.cached_mask(("static failures", pod.placement_key, self.snap.n), build)
        assert isinstance(got, list)
        return got

    def _scores(
        self, state: CycleState, pod: Requirements, nodes: np.ndarray, vec: np.ndarray
    ) -> np.ndarray:
        total = np.zeros(len(nodes))
        for s in self.scorers:
            score = s.score(state, pod, self.snap, nodes, vec)
            total += score if s.weight == 1.0 else s.weight * score  # 1.0 × score: the same
        return total

    # --- the cycle -----------------------------------------------------------------
    def run(
        self, pods: Sequence[Requirements], now_s: float, waited_s: Sequence[float] | None = None
    ) -> CycleResult:
        state = CycleState(now_s)
        result = CycleResult()
        waited = waited_s if waited_s is not None else [0.0] * len(pods)
        order = self.queue.order(pods, waited)
        groups: dict[tuple[object, ...], list[Requirements]] = {}
        for i in order:
            groups.setdefault(pods[i].shape, []).append(pods[i])
        gang_members: dict[str, list[tuple[Requirements, int, np.ndarray]]] = {}
        for members in groups.values():
            self._place_group(state, members, result, gang_members)
        self._settle_gangs(state, pods, result, gang_members)
        return result

    def _place_group(
        self,
        state: CycleState,
        members: list[Requirements],
        result: CycleResult,
        gangs: dict[str, list[tuple[Requirements, int, np.ndarray]]],
    ) -> None:
        snap = self.snap
        first = members[0]
        vec = snap.request_vector(first.requests)
        free = snap.free()
        nodes = (self._static_mask(state, first, vec) & fits(free, vec)).nonzero()[0]
        placed: list[tuple[Requirements, int]] = []
        if nodes.size:
            scores = self._scores(state, first, nodes, vec)
            if len(members) == 1 and self.reserve is None:
                placed = self._place_one(first, nodes, scores, vec)
            else:
                placed = self._place_many(state, members, nodes, scores, vec, free)
        for pod, node in placed:
            result.assignments.append((pod, snap.names[node]))
            if pod.gang:
                gangs.setdefault(pod.gang, []).append((pod, node, vec))
        if len(placed) < len(members):
            why = self._why(state, members[len(placed)], vec) if self.explain else ""
            # no node passes the label/taint filters: only a node change can help
            static_only = not self._static_mask(state, first, vec).any()
            status = Status(Code.UNRESOLVABLE if static_only else Code.UNSCHEDULABLE, why, "filter")
            for rest in members[len(placed) :]:
                result.unschedulable[rest.key] = status

    def _place_many(
        self,
        state: CycleState,
        members: list[Requirements],
        nodes: np.ndarray,
        scores: np.ndarray,
        vec: np.ndarray,
        free: np.ndarray,
    ) -> list[tuple[Requirements, int]]:
        """Place `members` on `nodes` (feasible, with their `scores`) in order, each on the
        best node left for it."""
        if len(nodes) > len(members) and self.reserve is None:
            # Only the m best-scored nodes can take any of m pods: a node's score moves
            # only when it takes a pod, so at every pick the best untouched node is
            # among the m best at the start (at most m − 1 have been touched). With a
            # reserve plugin refused nodes drop out too, so every node stays a candidate.
            # Nodes tied with the m-th score stay too, so ties still go to the lowest index.
            keyed = np.round(scores, TIE_DIGITS)
            kth = np.partition(keyed, len(keyed) - len(members))[len(keyed) - len(members)]
            keep = keyed >= kth
            nodes, scores = nodes[keep], scores[keep]
        first = members[0]
        changes = [s.per_pod_change(state, first, self.snap, nodes, vec) for s in self.scorers]
        steps = [c for c in changes if c is not None]
        if len(steps) < len(changes):
            return self._place_rescoring(state, members, nodes, scores, vec)
        step = np.zeros(len(nodes))
        for scorer, change in zip(self.scorers, steps, strict=True):
            step += change if scorer.weight == 1.0 else scorer.weight * change
        return self._place_linear(state, members, nodes, scores, step, vec, free)

    def _place_one(
        self, pod: Requirements, nodes: np.ndarray, scores: np.ndarray, vec: np.ndarray
    ) -> list[tuple[Requirements, int]]:
        """A group of one pod, no reserve plugin: the node `_place_many` would pick, found
        without its per-pod steps and heap (a third of a cycle's time when most groups
        are single pods). The same tie rule: the nodes tied at the top to TIE_DIGITS as
        numpy rounds (the cut to the m best), then the highest score as the heap rounds
        it, then the lowest index."""
        top = [0]
        if len(nodes) > 1:  # the cut (a NaN score leaves no node, as np.partition does)
            keyed = np.round(scores, TIE_DIGITS)
            top = (keyed >= keyed.max()).nonzero()[0].tolist()
            if not top:
                return []
        best = min(top, key=lambda i: (-round(float(scores[i]), TIE_DIGITS), i))
        node = int(nodes[best])
        self.snap.add_pod(node, vec, pod.job)
        return [(pod, node)]

    def _reserved(self, state: CycleState, pod: Requirements, node: int) -> bool:
        if self.reserve is None:
            return True
        return self.reserve.reserve(state, pod, self.snap.names[node]).ok

    def _place_linear(
        self,
        state: CycleState,
        members: list[Requirements],
        nodes: np.ndarray,
        scores: np.ndarray,
        step: np.ndarray,
        vec: np.ndarray,
        free: np.ndarray,
    ) -> list[tuple[Requirements, int]]:
        """Every scorer's score moves by a constant per pod: place the whole group from
        one heap of (score, node), each node taking pods while they fit."""
        cols = vec.nonzero()[0]
        room = (free[nodes[:, None], cols] // vec[cols]).min(axis=1) if cols.size else None
        left = room.tolist() if room is not None else [len(members)] * len(nodes)
        steps = step.tolist()
        exact = scores.tolist()
        # keys rounded so that float noise in the running sums cannot break ties differently
        heap = [(-round(s, TIE_DIGITS), i) for i, s in enumerate(exact)]
        heapq.heapify(heap)
        count = [0] * len(nodes)
        placed: list[tuple[Requirements, int]] = []
        node_ids = nodes.tolist()
        for pod in members:
            while heap:
                _, i = heapq.heappop(heap)
                if not self._reserved(state, pod, node_ids[i]):
                    continue  # another scheduler got there first: never offer it again
                placed.append((pod, node_ids[i]))
                count[i] += 1
                left[i] -= 1
                if left[i] > 0:
                    exact[i] += steps[i]
                    heapq.heappush(heap, (-round(exact[i], TIE_DIGITS), i))
                break
            else:
                break
        got = np.array(count, dtype=np.int64)
        used = got.nonzero()[0]
        self.snap.used[nodes[used], : len(vec)] += got[used, None] * vec[None, :]
        job = members[0].job
        if job:
            per = self.snap.job_pods.setdefault(job, {})
            for i in used.tolist():
                per[node_ids[i]] = per.get(node_ids[i], 0) + count[i]
        return placed

    def _place_rescoring(
        self,
        state: CycleState,
        members: list[Requirements],
        nodes: np.ndarray,
        scores: np.ndarray,
        vec: np.ndarray,
    ) -> list[tuple[Requirements, int]]:
        """Some score is not linear in the pod count: re-score the node after each pod."""
        snap = self.snap
        heap = [(-round(float(s), TIE_DIGITS), int(n)) for s, n in zip(scores, nodes, strict=True)]
        heapq.heapify(heap)
        placed: list[tuple[Requirements, int]] = []
        for pod in members:
            while heap:
                _, node = heapq.heappop(heap)
                if not self._reserved(state, pod, node):
                    continue
                snap.add_pod(node, vec, pod.job)
                placed.append((pod, node))
                row = snap.alloc[node : node + 1] - snap.used[node : node + 1]
                if fits(row, vec)[0]:
                    one = np.array([node])
                    again = float(self._scores(state, pod, one, vec)[0])
                    heapq.heappush(heap, (-round(again, TIE_DIGITS), node))
                break
            else:
                break
        return placed

    def _settle_gangs(
        self,
        state: CycleState,
        pods: Sequence[Requirements],
        result: CycleResult,
        gangs: dict[str, list[tuple[Requirements, int, np.ndarray]]],
    ) -> None:
        need: dict[str, int] = {}
        for p in pods:
            if p.gang:
                need[p.gang] = max(need.get(p.gang, 0), p.gang_min)
        for gang, minimum in need.items():
            got = gangs.get(gang, [])
            if len(got) >= minimum:
                continue
            undone = {id(p) for p, _, _ in got}
            for pod, node, vec in got:
                self.snap.remove_pod(node, vec, pod.job)
                if self.reserve is not None:
                    self.reserve.unreserve(state, pod, self.snap.names[node])
            result.assignments = [(p, n) for p, n in result.assignments if id(p) not in undone]
            msg = f"gang {gang}: only {len(got)} of the minimum {minimum} members fit"
            for p in pods:
                if p.gang == gang:
                    result.unschedulable[p.key] = Status(Code.WAIT, msg, "Gang")
