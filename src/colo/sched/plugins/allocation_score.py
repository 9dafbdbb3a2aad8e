"""Where on the feasible nodes: least allocated (spread), most allocated (bin-pack),
balanced (cpu and memory used in equal shares). Scores 0..100, per node, after the pod.

The cpu-like and memory-like columns are the pod's own: batch pods are scored on
`colo.io/batch-cpu`/`-memory`, others on cpu/memory.
"""

from __future__ import annotations

import numpy as np

from colo.core.resources import BATCH_CPU, BATCH_MEMORY, CPU, MEMORY
from colo.sched.framework import CycleState
from colo.sched.requirements import Requirements
from colo.sched.snapshot import Snapshot


def _columns(snap: Snapshot, vec: np.ndarray) -> list[int]:
    batch_cpu, batch_memory = snap.column(BATCH_CPU), snap.column(BATCH_MEMORY)
    if vec[batch_cpu] or vec[batch_memory]:
        return [batch_cpu, batch_memory]
    return [snap.column(CPU), snap.column(MEMORY)]


def _used_shares(snap: Snapshot, nodes: np.ndarray, vec: np.ndarray) -> list[np.ndarray]:
    """Per scored column, each node's share of allocatable in use once the pod is there
    (clipped to 0..1; nothing allocatable: full). Gathered one column at a time: this runs
    for every group of every cycle, and 1-D gathers cost a fraction of an [M, 2] one."""
    shares = []
    for col in _columns(snap, vec):
        alloc = snap.alloc[:, col][nodes]
        used = snap.used[:, col][nodes] + vec[col]
        shares.append(np.minimum(np.maximum(_share(used, alloc, 1.0), 0.0), 1.0))
    return shares


def _share(part: np.ndarray, alloc: np.ndarray, none: float) -> np.ndarray:
    """part / alloc, and `none` where nothing is allocatable. A masked divide costs
    several plain ones, and nodes without any allocatable are rare."""
    if not alloc.size or np.minimum.reduce(alloc) > 0:
        return np.asarray(part / alloc)
    return np.asarray(np.divide(part, alloc, out=np.full(alloc.shape, none), where=alloc > 0))


def _fractions(snap: Snapshot, nodes: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """[M, 2]: share of each node's allocatable in use once the pod is there."""
    return np.stack(_used_shares(snap, nodes, vec), axis=1)


def _mean(columns: list[np.ndarray]) -> np.ndarray:
    """Per node, the mean over `columns`: added in column order, then divided, which is
    what `ndarray.mean(axis=1)` computes over two columns (without its overhead)."""
    total = columns[0]
    for column in columns[1:]:
        total = total + column
    return np.asarray(total / len(columns))


def _step(snap: Snapshot, nodes: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """Mean over the scored columns of the share of allocatable one more pod takes.

    Exact while the pod still fits (usage stays within allocatable, so no clipping);
    columns with nothing allocatable score as full and do not move.
    """
    shares = []
    for col in _columns(snap, vec):
        shares.append(_share(vec[col], snap.alloc[:, col][nodes], 0.0))
    return _mean(shares)


class _Allocated:
    """100 × mean used share after the pod (`MostAllocated`), or 100 minus that (`Least`)."""

    name = ""
    most = False

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def score(
        self, state: CycleState, pod: Requirements, snap: Snapshot, nodes: np.ndarray,
        vec: np.ndarray,
    ) -> np.ndarray:  # fmt: skip
        used = _mean(_used_shares(snap, nodes, vec))
        return np.asarray(100.0 * (used if self.most else 1.0 - used))

    def per_pod_change(
        self, state: CycleState, pod: Requirements, snap: Snapshot, nodes: np.ndarray,
        vec: np.ndarray,
    ) -> np.ndarray | None:  # fmt: skip
        step = 100.0 * _step(snap, nodes, vec)
        return step if self.most else -step


class LeastAllocated(_Allocated):
    """Spread: emptier nodes score higher."""

    name = "LeastAllocated"


class MostAllocated(_Allocated):
    """Bin-pack: fuller nodes score higher."""

    name = "MostAllocated"
    most = True


class BalancedAllocation:
    name = "BalancedAllocation"

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def score(
        self, state: CycleState, pod: Requirements, snap: Snapshot, nodes: np.ndarray,
        vec: np.ndarray,
    ) -> np.ndarray:  # fmt: skip
        frac = _fractions(snap, nodes, vec)
        # kube-scheduler: (1 - std) * 100 over the resource fractions
        return np.asarray(100.0 * (1.0 - frac.std(axis=1)))

    def per_pod_change(
        self, state: CycleState, pod: Requirements, snap: Snapshot, nodes: np.ndarray,
        vec: np.ndarray,
    ) -> np.ndarray | None:  # fmt: skip
        return None  # not linear in the pod count: the cycle re-scores
