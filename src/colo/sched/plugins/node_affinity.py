"""nodeSelector and required node affinity (In, NotIn, Exists, DoesNotExist, Gt, Lt)."""

from __future__ import annotations

import numpy as np

from colo.sched.framework import CycleState, Failures
from colo.sched.requirements import Expression, Requirements
from colo.sched.snapshot import Snapshot

REASON = "node(s) didn't match Pod's node affinity/selector"


def _as_int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def matches(expr: Expression, name: str, labels: dict[str, str]) -> bool:
    key, op, values, is_field = expr
    value = name if is_field else labels.get(key)
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    have, want = _as_int(value), int(values[0])
    if have is None:
        return False
    return have > want if op == "Gt" else have < want


class NodeAffinity:
    name = "NodeAffinity"
    static = True

    def filter(
        self, state: CycleState, pod: Requirements, snap: Snapshot, vec: np.ndarray
    ) -> Failures:
        if not pod.node_selector and pod.affinity is None:
            return []
        fail = np.zeros(snap.n, bool)
        for i, meta in enumerate(snap.meta):
            labels = meta.labels
            ok = all(labels.get(k) == v for k, v in pod.node_selector)
            if ok and pod.affinity is not None:
                name = snap.names[i]
                ok = any(all(matches(e, name, labels) for e in term) for term in pod.affinity)
            fail[i] = not ok
        return [(fail, REASON)]
