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
order, which is the FIFO order of the pods themselves.
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
        self._shapes: list[Shape] = []
        self._shape_arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
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
            key = self.shape(int(i))
            group = self.groups.get(key)
            if group is None:
                self.groups[key] = [-int(i)]
                self._shape_arrays = None
            else:
                bisect.insort(group, -int(i))

    def head(self, key: Shape) -> int:
        """The first (lowest) position of a group."""
        return -self.groups[key][-1]

    def pop_head(self, key: Shape) -> int:
        """Take the first position of a group out of the unschedulable set."""
        group = self.groups[key]
        i = -group.pop()
        if not group:
            del self.groups[key]
            self._shape_arrays = None
        return i

    # ---- fit checks -------------------------------------------------------------------
    def fits_largest(
        self, idx: np.ndarray, free_cpu: np.ndarray, free_mem: np.ndarray, free_pods: np.ndarray
    ) -> np.ndarray:
        """Per position: fits the largest free cpu and the largest free memory of its pool."""
        room = free_pods > 0
        top_cpu = np.array([free_cpu[m & room].max(initial=-1) for m in self.pool_masks])
        top_mem = np.array([free_mem[m & room].max(initial=-1) for m in self.pool_masks])
        pool = self.pool[idx]
        fits: np.ndarray = (self.cpu[idx] <= top_cpu[pool]) & (self.mem[idx] <= top_mem[pool])
        return fits

    def groups_fitting(
        self,
        nodes: list[int],
        free_cpu: np.ndarray,
        free_mem: np.ndarray,
        free_pods: np.ndarray,
    ) -> list[Shape]:
        """Shapes of unschedulable pods that fit at least one of `nodes` right now."""
        nodes = [n for n in nodes if free_pods[n] > 0]
        if not nodes or not self.groups:
            return []
        if self._shape_arrays is None:
            self._shapes = list(self.groups)
            self._shape_arrays = (
                np.array([s[0] for s in self._shapes], np.int64),
                np.array([s[1] for s in self._shapes], np.int64),
                np.array([s[2] for s in self._shapes], np.int64),
            )
        cpu, mem, pool = self._shape_arrays
        fits = np.zeros(len(cpu), bool)
        for n in nodes:
            fits |= (cpu <= free_cpu[n]) & (mem <= free_mem[n]) & self.pool_masks[pool, n]
        return [self._shapes[k] for k in np.flatnonzero(fits).tolist()]

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
