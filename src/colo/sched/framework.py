"""The plugin points of colo-batch, in the spirit of the kube-scheduler framework.

Filters and scorers are vectorized: they answer for every node at once (numpy arrays
over the snapshot's nodes) instead of one node per call, which is what lets one cycle
place thousands of pods. A filter says, per failing node, why (kube-scheduler's
reasons, so the unschedulable message reads the same). Static filters depend only on
the pod's placement key and the nodes' labels/taints, so their masks are cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from colo.sched.requirements import Requirements
from colo.sched.snapshot import Snapshot
from colo.sched.status import Status

#: (mask of failing nodes, reason) pairs; a node may fail for several reasons.
Failures = list[tuple[np.ndarray, str]]


@dataclass
class CycleState:
    """What one cycle's plugins share: the cycle's time (plugins never read a clock)."""

    now_s: float


class QueueSortPlugin(Protocol):
    name: str

    def order(self, pods: Sequence[Requirements], waited_s: Sequence[float]) -> list[int]:
        """Indices of `pods` in the order they should be tried."""
        ...


class PreFilterPlugin(Protocol):
    name: str

    def pre_filter(self, state: CycleState, pod: Requirements) -> Status:
        """Reject or hold a pod before any node is looked at (e.g. an incomplete gang)."""
        ...


class FilterPlugin(Protocol):
    name: str
    static: bool
    """True: the answer depends only on the pod's placement key and node labels/taints."""

    def filter(
        self, state: CycleState, pod: Requirements, snap: Snapshot, vec: np.ndarray
    ) -> Failures: ...


class ScorePlugin(Protocol):
    name: str
    weight: float

    def score(
        self,
        state: CycleState,
        pod: Requirements,
        snap: Snapshot,
        nodes: np.ndarray,
        vec: np.ndarray,
    ) -> np.ndarray:
        """Scores 0..100 for `nodes` (indices); higher is better. Must depend only on
        each node's own state, so one node can be re-scored after a placement."""
        ...

    def per_pod_change(
        self,
        state: CycleState,
        pod: Requirements,
        snap: Snapshot,
        nodes: np.ndarray,
        vec: np.ndarray,
    ) -> np.ndarray | None:
        """How each node's score changes with every further pod of this shape placed on
        it, when that change is constant (the score is linear in the pod count); None
        otherwise. Lets the cycle place a whole group without re-scoring."""
        ...


class ReservePlugin(Protocol):
    name: str

    def reserve(self, state: CycleState, pod: Requirements, node: str) -> Status: ...

    def unreserve(self, state: CycleState, pod: Requirements, node: str) -> None:
        """Undo `reserve`; safe to call twice or for a pod never reserved."""
        ...


class BindPlugin(Protocol):
    name: str

    async def bind(self, pod: Requirements, node: str) -> Status: ...
