"""Cordoned, NotReady or deleted nodes take no pods."""

from __future__ import annotations

import numpy as np

from colo.sched.framework import CycleState, Failures
from colo.sched.requirements import Requirements
from colo.sched.snapshot import Snapshot


class NodeUnschedulable:
    name = "NodeUnschedulable"
    static = True

    def filter(
        self, state: CycleState, pod: Requirements, snap: Snapshot, vec: np.ndarray
    ) -> Failures:
        n = snap.n
        return [(~(snap.schedulable[:n] & snap.live[:n]), "node(s) were unschedulable")]
