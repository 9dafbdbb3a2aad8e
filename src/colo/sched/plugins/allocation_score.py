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
    batch = [snap.column(BATCH_CPU), snap.column(BATCH_MEMORY)]
    if vec[batch].any():
        return batch
    return [snap.column(CPU), snap.column(MEMORY)]


def _fractions(snap: Snapshot, nodes: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """[M, 2]: share of each node's allocatable in use once the pod is there."""
    cols = _columns(snap, vec)
    alloc = snap.alloc[nodes][:, cols].astype(np.float64)
    used = snap.used[nodes][:, cols] + vec[cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(alloc > 0, used / alloc, 1.0)
    return np.clip(frac, 0.0, 1.0)


def _step(snap: Snapshot, nodes: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """Mean over the scored columns of the share of allocatable one more pod takes.

    Exact while the pod still fits (usage stays within allocatable, so no clipping);
    columns with nothing allocatable score as full and do not move.
    """
    cols = _columns(snap, vec)
    alloc = snap.alloc[nodes][:, cols].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(alloc > 0, vec[cols] / alloc, 0.0)
    return np.asarray(share.mean(axis=1))


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
        used = _fractions(snap, nodes, vec).mean(axis=1)
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
