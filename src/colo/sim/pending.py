"""The simulated kube-scheduler's pending queue: FIFO pods, with an unschedulable set.

Pods wait in arrival order. A pod is *fresh* until a scheduling round looks at it and
finds no node; it is then *tried* (kube-scheduler's unschedulable queue). Free capacity
only grows on nodes where pods finished or were evicted, so a tried pod can only fit
one of those *changed* nodes; it becomes a candidate again exactly when it fits one.

To keep rounds cheap with tens of thousands of pods waiting, the queue keeps per pool a
lower bound on the cpu and memory of its tried pods: a changed node with less free than
that fits none of them, and the round does not look at the tried pods at all. The bound
only loosens when tried pods are added and is tightened from time to time.
"""

from __future__ import annotations

import numpy as np

from colo.sim.cluster import SimPod

_GROW = 1024
_TIGHTEN_EVERY = 256  # rounds between exact recomputations of the lower bounds


class PendingQueue:
    def __init__(self, pool_masks: np.ndarray) -> None:
        self.pool_masks = pool_masks  # [pools, nodes]
        self.pods: list[SimPod] = []
        self.cpu = np.zeros(_GROW, np.int64)
        self.mem = np.zeros(_GROW, np.int64)
        self.pool = np.zeros(_GROW, np.int64)
        self.alive = np.zeros(_GROW, bool)
        self.tried = np.zeros(_GROW, bool)
        self.fresh: list[int] = []
        pools = len(pool_masks)
        self._min_cpu = np.full(pools, np.iinfo(np.int64).max)
        self._min_mem = np.full(pools, np.iinfo(np.int64).max)
        self._rounds = 0
        self.waiting = 0

    def add(self, pod: SimPod, pool: int) -> None:
        i = len(self.pods)
        if i == len(self.cpu):
            self._compact()
            i = len(self.pods)
            if i == len(self.cpu):
                for name in ("cpu", "mem", "pool", "alive", "tried"):
                    arr = getattr(self, name)
                    setattr(self, name, np.concatenate([arr, np.zeros_like(arr)]))
        self.pods.append(pod)
        self.cpu[i], self.mem[i], self.pool[i] = pod.cpu_milli, pod.memory_bytes, pool
        self.alive[i] = True
        self.tried[i] = False
        self.fresh.append(i)
        self.waiting += 1

    def take_fresh(self) -> np.ndarray:
        """Positions of the fresh pods still waiting, in FIFO order (they stop being fresh)."""
        self._rounds += 1
        if self._rounds % _TIGHTEN_EVERY == 0:
            self._tighten()
        fresh = np.array(sorted(set(self.fresh)), dtype=np.int64)
        self.fresh = []
        kept: np.ndarray = fresh[self.alive[fresh]]
        return kept

    def tried_fitting(
        self,
        changed: list[int],
        free_cpu: np.ndarray,
        free_mem: np.ndarray,
        free_pods: np.ndarray,
    ) -> tuple[np.ndarray, list[int], np.ndarray]:
        """Tried pods that fit at least one changed node now.

        Returns their positions (FIFO order), the changed nodes worth checking, and the
        fit matrix [pod, node] between them.
        """
        useful = [
            n
            for n in changed
            if free_pods[n] > 0
            and np.any(
                self.pool_masks[:, n]
                & (free_cpu[n] >= self._min_cpu)
                & (free_mem[n] >= self._min_mem)
            )
        ]
        if not useful:
            return np.zeros(0, np.int64), [], np.zeros((0, 0), bool)
        n = len(self.pods)
        tried = np.flatnonzero(self.alive[:n] & self.tried[:n])
        fit = np.stack(
            [self.fits_node(tried, m, free_cpu, free_mem, free_pods) for m in useful], axis=1
        )
        rows = fit.any(axis=1)
        return tried[rows], useful, fit[rows]

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

    def fits_node(
        self,
        idx: np.ndarray,
        node: int,
        free_cpu: np.ndarray,
        free_mem: np.ndarray,
        free_pods: np.ndarray,
    ) -> np.ndarray:
        """Per position: fits `node` right now."""
        if free_pods[node] <= 0:
            return np.zeros(len(idx), bool)
        fits: np.ndarray = (self.cpu[idx] <= free_cpu[node]) & (self.mem[idx] <= free_mem[node])
        allowed = self.pool_masks[:, node]
        if not allowed.all():
            fits &= allowed[self.pool[idx]]
        return fits

    def mark_tried(self, idx: np.ndarray | list[int]) -> None:
        idx = np.asarray(idx, dtype=np.int64)
        new = idx[~self.tried[idx]]
        if not len(new):
            return
        self.tried[new] = True
        pools = self.pool[new]
        for q in np.unique(pools).tolist():
            sel = pools == q
            self._min_cpu[q] = min(int(self._min_cpu[q]), int(self.cpu[new][sel].min()))
            self._min_mem[q] = min(int(self._min_mem[q]), int(self.mem[new][sel].min()))

    def defer(self, idx: np.ndarray) -> None:
        """Fresh pods a round had no budget left for: fresh again next round."""
        self.fresh.extend(idx[self.alive[idx]].tolist())

    def take(self, i: int) -> SimPod:
        self.alive[i] = False
        self.waiting -= 1
        return self.pods[i]

    def _tighten(self) -> None:
        n = len(self.pods)
        tried = self.alive[:n] & self.tried[:n]
        for q in range(len(self.pool_masks)):
            sel = tried & (self.pool[:n] == q)
            self._min_cpu[q] = self.cpu[:n][sel].min(initial=np.iinfo(np.int64).max)
            self._min_mem[q] = self.mem[:n][sel].min(initial=np.iinfo(np.int64).max)

    def _compact(self) -> None:
        """Drop scheduled pods from the arrays (positions change; `fresh` is remapped)."""
        n = len(self.pods)
        keep = np.flatnonzero(self.alive[:n])
        position = np.full(n, -1, np.int64)
        position[keep] = np.arange(len(keep))
        self.pods = [self.pods[i] for i in keep.tolist()]
        for name in ("cpu", "mem", "pool", "alive", "tried"):
            arr = getattr(self, name)
            arr[: len(keep)] = arr[keep]
            arr[len(keep) :] = 0
        self.fresh = [int(p) for p in position[self.fresh] if p >= 0]

    def maybe_compact(self) -> None:
        if len(self.pods) > 4096 and self.waiting < len(self.pods) // 2:
            self._compact()
