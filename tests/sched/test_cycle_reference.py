"""The batch cycle against a naive scheduler that filters and scores every node for
every pod (the way kube-scheduler's framework runs one pod at a time)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from schedkit import node, pod, snapshot

from colo.sched.cycle import TIE_DIGITS, BatchCycle, default_filters, default_scorers
from colo.sched.framework import CycleState
from colo.sched.plugins.allocation_score import BalancedAllocation, LeastAllocated, MostAllocated
from colo.sched.plugins.job_spread import JobSpread
from colo.sched.requirements import Requirements
from colo.sched.snapshot import Snapshot


def naive(snap: Snapshot, pods: list[Requirements], scorers: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    """One pod at a time: every filter on every node, every score on every feasible node."""
    state = CycleState(0.0)
    filters = default_filters()
    order = BatchCycle(snap).queue.order(pods, [0.0] * len(pods))
    groups: dict[tuple[object, ...], list[Requirements]] = {}
    for i in order:  # the same visiting order as the cycle: by shape, first seen first
        groups.setdefault(pods[i].shape, []).append(pods[i])
    out = []
    for members in groups.values():
        for p in members:
            vec = snap.request_vector(p.requests)
            ok = np.ones(snap.n, bool)
            for f in filters:
                for mask, _ in f.filter(state, p, snap, vec):
                    ok &= ~mask
            nodes = np.flatnonzero(ok)
            if not nodes.size:
                break  # the rest of this shape does not fit either
            total = np.zeros(len(nodes))
            for s in scorers:
                total += s.weight * s.score(state, p, snap, nodes, vec)
            best = max(range(len(nodes)), key=lambda k: (round(total[k], TIE_DIGITS), -k))
            snap.add_pod(int(nodes[best]), vec, p.job)
            out.append((p.key, snap.names[int(nodes[best])]))
    return out


def case(rng: random.Random) -> tuple[list, list[Requirements]]:  # type: ignore[type-arg]
    nodes = []
    for i in range(rng.randint(1, 12)):
        labels = {"zone": rng.choice(["a", "b"])} if rng.random() < 0.7 else {}
        taints = [("gpu", "yes")] if rng.random() < 0.2 else []
        nodes.append(node(f"n{i:02d}", cpu=str(rng.choice([4, 8, 16, 32])),
                          mem=f"{rng.choice([8, 16, 32, 64])}Gi", pods=rng.choice([3, 10, 110]),
                          labels=labels, taints=taints))  # fmt: skip
    pods = []
    for j in range(rng.randint(1, 8)):
        spec: dict[str, object] = {}
        if rng.random() < 0.3:
            spec["nodeSelector"] = {"zone": rng.choice(["a", "b"])}
        if rng.random() < 0.2:
            spec["tolerations"] = [{"key": "gpu", "operator": "Exists"}]
        cpu = rng.choice(["500m", "1", "2", "3"])
        job = f"job{j}" if rng.random() < 0.7 else None
        for k in range(rng.randint(1, 15)):
            pods.append(pod(f"j{j}-{k}", cpu=cpu, job=job, spec=spec,
                            priority=rng.choice([0, 0, 10])))  # fmt: skip
    return nodes, pods


@pytest.mark.parametrize(
    "scorers",
    [
        lambda: default_scorers(),
        lambda: [MostAllocated()],
        lambda: [BalancedAllocation(), JobSpread(weight=0.5)],
        lambda: [LeastAllocated(weight=2.0), MostAllocated(weight=1.0), JobSpread()],
    ],
    ids=["default", "most", "balanced+spread", "mixed"],
)
def test_same_placements_as_one_pod_at_a_time(scorers: object) -> None:
    rng = random.Random(7)
    for _ in range(60):
        nodes, pods = case(rng)
        got = BatchCycle(snapshot(*nodes), scorers=scorers()).run(pods, 0.0)  # type: ignore[operator]
        want = naive(snapshot(*nodes), pods, scorers())  # type: ignore[operator]
        assert sorted((p.key, n) for p, n in got.assignments) == sorted(want)
