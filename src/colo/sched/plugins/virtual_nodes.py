"""Serverless virtual nodes: short job and cron pods prefer them, others stay off.

A virtual node carries the label `type=virtual-kubelet` and the taint
`virtual-kubelet.io/provider=colo:NoSchedule` (as virtual-kubelet providers set them).
Each pod has a mode (see `colo.sched.requirements.VirtualNodePolicy`):

- `prefer`: may use virtual nodes and scores them far above standard ones; when they are
  NotReady or full the pod falls back to standard nodes, and the next pods go back to
  virtual nodes once they recover (nothing is remembered but the node state);
- `require`: virtual nodes only; `avoid`: standard nodes only (also a pod whose earlier
  attempt failed to start on a virtual node: annotation `colo.io/virtual-failed`).
"""

from __future__ import annotations

import numpy as np

from colo.core.virtual import VIRTUAL_NODE_LABEL_KEY, VIRTUAL_NODE_LABEL_VALUE
from colo.sched.framework import CycleState, Failures
from colo.sched.requirements import Requirements
from colo.sched.snapshot import Snapshot


def virtual_mask(snap: Snapshot) -> np.ndarray:
    def build() -> np.ndarray:
        return np.array(
            [m.labels.get(VIRTUAL_NODE_LABEL_KEY) == VIRTUAL_NODE_LABEL_VALUE for m in snap.meta],
            dtype=bool,
        )

    got = snap.cached_mask(("virtual", snap.n), build)
    assert isinstance(got, np.ndarray)
    return got


class VirtualNodeFilter:
    name = "VirtualNodes"
    static = True

    def filter(
        self, state: CycleState, pod: Requirements, snap: Snapshot, vec: np.ndarray
    ) -> Failures:
        virtual = virtual_mask(snap)
        if pod.virtual == "avoid":
            return [(virtual, "node(s) were virtual nodes the pod avoids")]
        if pod.virtual == "require":
            return [(~virtual, "node(s) were not virtual nodes")]
        return []


class VirtualNodePreference:
    name = "VirtualNodePreference"

    def __init__(self, weight: float = 10.0) -> None:
        self.weight = weight

    def score(
        self, state: CycleState, pod: Requirements, snap: Snapshot, nodes: np.ndarray,
        vec: np.ndarray,
    ) -> np.ndarray:  # fmt: skip
        if pod.virtual != "prefer":
            return np.zeros(len(nodes))
        return np.where(virtual_mask(snap)[nodes], 100.0, 0.0)

    def per_pod_change(
        self, state: CycleState, pod: Requirements, snap: Snapshot, nodes: np.ndarray,
        vec: np.ndarray,
    ) -> np.ndarray | None:  # fmt: skip
        return np.zeros(len(nodes))
