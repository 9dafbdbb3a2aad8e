"""NoSchedule and NoExecute taints the pod does not tolerate keep it off a node."""

from __future__ import annotations

import numpy as np

from colo.core.objects import Taint
from colo.sched.framework import CycleState, Failures
from colo.sched.requirements import Requirements
from colo.sched.snapshot import Snapshot

BLOCKING = ("NoSchedule", "NoExecute")


def _describe(t: Taint) -> str:
    return f"node(s) had untolerated taint {{{t.key}: {t.value}}}"


class TaintToleration:
    name = "TaintToleration"
    static = True

    def filter(
        self, state: CycleState, pod: Requirements, snap: Snapshot, vec: np.ndarray
    ) -> Failures:
        by_reason: dict[str, list[int]] = {}
        memo: dict[tuple[Taint, ...], str | None] = {}
        for i, meta in enumerate(snap.meta):
            taints = meta.taints
            if not taints:
                continue
            if taints not in memo:
                memo[taints] = next(
                    (
                        _describe(t)
                        for t in taints
                        if t.effect in BLOCKING
                        and not any(tol.tolerates(t) for tol in pod.tolerations)
                    ),
                    None,
                )
            reason = memo[taints]
            if reason is not None:
                by_reason.setdefault(reason, []).append(i)
        out: Failures = []
        for reason, rows in by_reason.items():
            mask = np.zeros(snap.n, bool)
            mask[rows] = True
            out.append((mask, reason))
        return out
