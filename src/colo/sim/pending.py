"""The simulated kube-scheduler's pending queue: FIFO pods, with an unschedulable set.

Pods wait in arrival order (their queue position). A pod is *fresh* until a scheduling
round looks at it and finds no node; it is then *unschedulable* (kube-scheduler's
unschedulableQ). Free capacity only grows on nodes where pods finished or were evicted,
so an unschedulable pod can only fit one of those *changed* nodes, and it becomes a
candidate again exactly when it fits one.

Unschedulable pods are grouped by shape (cpu, memory, pool), FIFO within a group. Pods
of one job share a shape, so a round checks the changed nodes against the distinct
shapes, not against every waiting pod: with tens of thousands of pods waiting that is
what keeps a simulated day in seconds. A round walks the fitting groups' heads in queue
order, which is the FIFO order of the pods themselves. Each group also has a row in the
group arrays (its shape and head position, kept as groups come and go), so the heads are
checked against the changed nodes all at once (`candidates`, `fit_matrix`): room freed
on one node typically lets down a hundred heads of which one or two still fit by the
time their turn comes.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

import numpy as np

from colo.sim.cluster import SimPod

_GROW = 1024
Shape = tuple[int, int, int]  # cpu_milli, memory_bytes, pool


class PendingQueue:
    def __init__(self, pool_masks: np.ndarray) -> None:
        self.pool_masks = pool_masks  # [pools, nodes]
        self.pods: list[SimPod | None] = []
        self.cpu = np.zeros(_GROW, np.int64)
        self.mem = np.zeros(_GROW, np.int64)
        self.pool = np.zeros(_GROW, np.int64)
        self.fresh: list[int] = []
        # shape -> negated positions, ascending: the head (lowest position) is last, so
        # taking it is O(1) however many pods of one shape wait
        self.groups: dict[Shape, list[int]] = {}
        # Every group also has a row in the group arrays (its shape and head position),
        # kept as groups come, go and change heads, so a round's checks are array work.
        self._row: dict[Shape, int] = {}
        self._free_rows: list[int] = []
        self._shapes: list[Shape | None] = []
        self.group_cpu = np.zeros(0, np.int64)
        self.group_mem = np.zeros(0, np.int64)
        self.group_pool = np.zeros(0, np.int64)
        self.group_head = np.zeros(0, np.int64)
        self._alive = np.zeros(0, bool)
        self.waiting = 0

    # ---- queue ------------------------------------------------------------------------
    def add(self, pod: SimPod, pool: int) -> None:
        i = len(self.pods)
        if i == len(self.cpu):
            for name in ("cpu", "mem", "pool"):
                arr = getattr(self, name)
                setattr(self, name, np.concatenate([arr, np.zeros_like(arr)]))
        self.pods.append(pod)
        self.cpu[i], self.mem[i], self.pool[i] = pod.cpu_milli, pod.memory_bytes, pool
        self.fresh.append(i)
        self.waiting += 1

    def shape(self, i: int) -> Shape:
        return int(self.cpu[i]), int(self.mem[i]), int(self.pool[i])

    def take(self, i: int) -> SimPod:
        """Remove the pod at position i (it was placed); it must be fresh or a group head."""
        pod = self.pods[i]
        assert pod is not None, f"position {i} was taken already"
        self.pods[i] = None
        self.waiting -= 1
        return pod

    def take_fresh(self) -> np.ndarray:
        """Positions of the fresh pods, in queue order; they stop being fresh."""
        fresh = np.array(sorted(self.fresh), dtype=np.int64)
        self.fresh = []
        return fresh

    def defer(self, positions: Iterable[int]) -> None:
        """Fresh pods a round had no budget left for: fresh again next round."""
        self.fresh.extend(int(i) for i in positions)

    def mark_unschedulable(self, positions: Iterable[int]) -> None:
        for i in positions:
            i = int(i)
            key = self.shape(i)
            group = self.groups.get(key)
            if group is None:
                self.groups[key] = [-i]
                self._add_row(key, i)
            else:
                bisect.insort(group, -i)
                if -i == group[-1]:  # a new head
                    self.group_head[self._row[key]] = i

    def head(self, key: Shape) -> int:
        """The first (lowest) position of a group."""
        return -self.groups[key][-1]

    def pop_head(self, key: Shape) -> int:
        """Take the first position of a group out of the unschedulable set."""
        group = self.groups[key]
        i = -group.pop()
        if group:
            self.group_head[self._row[key]] = -group[-1]
        else:
            del self.groups[key]
            self._drop_row(key)
        return i

    def group_shape(self, row: int) -> Shape:
        """The shape of the group in row `row` of the group arrays."""
        shape = self._shapes[row]
        assert shape is not None, f"group row {row} is free"
        return shape

    def _add_row(self, key: Shape, head: int) -> None:
        if not self._free_rows:
            n = len(self._shapes)
            grow = max(n, 64)
            for name in ("group_cpu", "group_mem", "group_pool", "group_head", "_alive"):
                arr = getattr(self, name)
                setattr(self, name, np.concatenate([arr, np.zeros(grow, arr.dtype)]))
            self._shapes.extend([None] * grow)
            self._free_rows = list(range(n + grow - 1, n - 1, -1))
        row = self._free_rows.pop()
        self._row[key] = row
        self._shapes[row] = key
        self.group_cpu[row], self.group_mem[row], self.group_pool[row] = key
        self.group_head[row] = head
        self._alive[row] = True

    def _drop_row(self, key: Shape) -> None:
        row = self._row.pop(key)
        self._shapes[row] = None
        self._alive[row] = False
        self._free_rows.append(row)

    # ---- fit checks -------------------------------------------------------------------
    def fits_largest(
        self, idx: np.ndarray, free_cpu: np.ndarray, free_mem: np.ndarray, free_pods: np.ndarray
    ) -> np.ndarray:
        """Per position: fits the largest free cpu and the largest free memory of its pool."""
        if not len(idx):
            return np.zeros(0, bool)
        where = self.pool_masks & (free_pods > 0)  # [pool, node]
        top_cpu = np.where(where, free_cpu, -1).max(axis=1, initial=-1)
        top_mem = np.where(where, free_mem, -1).max(axis=1, initial=-1)
        pool = self.pool[idx]
        fits: np.ndarray = (self.cpu[idx] <= top_cpu[pool]) & (self.mem[idx] <= top_mem[pool])
        return fits

    def candidates(
        self,
        nodes: list[int],
        free_cpu: np.ndarray,
        free_mem: np.ndarray,
        free_pods: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The unschedulable groups whose shape fits at least one of `nodes` right now:
        their rows in the group arrays, ordered by head position (queue order); the
        nodes with a free pod slot; and the fit matrix [group, node] between them."""
        room = np.array([n for n in nodes if free_pods[n] > 0], np.int64)
        if not len(room) or not self.groups:
            none = np.zeros(0, np.int64)
            return none, room, np.zeros((0, len(room)), bool)
        rows = self._alive.nonzero()[0]
        fits = self.fit_matrix(rows, room, free_cpu, free_mem, free_pods)
        some = fits.any(axis=1)
        rows, fits = rows[some], fits[some]
        order = np.argsort(self.group_head[rows])
        return rows[order], room, fits[order]

    def fit_matrix(
        self,
        rows: np.ndarray,
        nodes: np.ndarray,
        free_cpu: np.ndarray,
        free_mem: np.ndarray,
        free_pods: np.ndarray,
    ) -> np.ndarray:
        """[group row, node]: the group's shape fits the node right now (its pool, its
        free cpu, memory and a pod slot)."""
        fits: np.ndarray = (
            (self.group_cpu[rows, None] <= free_cpu[nodes])
            & (self.group_mem[rows, None] <= free_mem[nodes])
            & (free_pods[nodes] > 0)
            & self.pool_masks[self.group_pool[rows, None], nodes]
        )
        return fits

    def shape_fits_any(
        self,
        key: Shape,
        nodes: list[int],
        free_cpu: np.ndarray,
        free_mem: np.ndarray,
        free_pods: np.ndarray,
    ) -> bool:
        cpu, mem, pool = key
        return any(
            free_pods[n] > 0
            and cpu <= free_cpu[n]
            and mem <= free_mem[n]
            and self.pool_masks[pool, n]
            for n in nodes
        )
