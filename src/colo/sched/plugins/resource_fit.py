"""Requests against what is free: cpu, memory, pods, colo.io/batch-*, extended, pod IPs."""

from __future__ import annotations

import numpy as np

from colo.core.resources import PODS
from colo.sched.framework import CycleState, Failures
from colo.sched.requirements import Requirements
from colo.sched.snapshot import POD_IPS, Snapshot


def reason_for(resource: str) -> str:
    if resource == PODS:
        return "Too many pods"
    if resource == POD_IPS:
        return "node(s) had no free pod IPs"
    return f"Insufficient {resource}"


class ResourceFit:
    name = "NodeResourcesFit"
    static = False

    def filter(
        self, state: CycleState, pod: Requirements, snap: Snapshot, vec: np.ndarray
    ) -> Failures:
        free = snap.free()
        out: Failures = []
        for col in np.flatnonzero(vec):
            short = free[:, col] < vec[col]
            if short.any():
                out.append((short, reason_for(snap.resources[col])))
        return out


def fits(free: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """Rows of `free` [M, R] with room for `vec` (only the requested columns are compared)."""
    cols = vec.nonzero()[0]
    if cols.size == 0:
        return np.ones(free.shape[0], bool)
    return np.asarray((free[:, cols] >= vec[cols]).all(axis=1))
