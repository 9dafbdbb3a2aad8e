"""Spread a job's pods: a node scores lower for every pod of the same job already there."""

from __future__ import annotations

import numpy as np

from colo.sched.framework import CycleState
from colo.sched.requirements import Requirements
from colo.sched.snapshot import Snapshot


class JobSpread:
    name = "JobSpread"

    def __init__(self, weight: float = 1.0, per_pod_penalty: float = 10.0) -> None:
        self.weight = weight
        self.per_pod_penalty = per_pod_penalty

    def score(
        self, state: CycleState, pod: Requirements, snap: Snapshot, nodes: np.ndarray,
        vec: np.ndarray,
    ) -> np.ndarray:  # fmt: skip
        per = snap.job_pods.get(pod.job) if pod.job else None
        if not per:
            return np.full(len(nodes), 100.0)
        have = np.zeros(snap.n, np.float64)
        have[list(per)] = list(per.values())
        have = have[nodes]
        # not floored at 0: a linear score keeps spreading evenly however many pods a job has
        return np.asarray(100.0 - self.per_pod_penalty * have)

    def per_pod_change(
        self, state: CycleState, pod: Requirements, snap: Snapshot, nodes: np.ndarray,
        vec: np.ndarray,
    ) -> np.ndarray | None:  # fmt: skip
        if not pod.job:
            return np.zeros(len(nodes))
        return np.full(len(nodes), -self.per_pod_penalty)
