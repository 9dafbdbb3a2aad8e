"""The reclaim calculator, term by term, against hand-computed expectations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from colo.core.errors import InvalidInput
from colo.core.qos import QoSTier
from colo.core.resources import Resources
from colo.predict.reclaim import (
    NodeUsage,
    PodUsage,
    ReclaimOptions,
    ReclaimPolicy,
    compute,
    compute_nodes,
)

GI = 2**30


def r(cpu: int, gib: float = 0) -> Resources:
    return Resources.of(cpu_milli=cpu, memory_bytes=int(gib * GI))


def node(pods: list[PodUsage], *, at: float | None = 100.0, **kw: object) -> NodeUsage:
    base: dict[str, object] = {
        "name": "n1",
        "capacity": r(32_000, 128),
        "allocatable": r(31_000, 124),
        "pods": pods,
        "metrics_at_s": at,
    }
    base.update(kw)
    return NodeUsage(**base)  # type: ignore[arg-type]


OLD = 7200.0  # enough history


def test_usage_policy_subtracts_margin_reserve_and_predicted_peaks() -> None:
    pods = [
        PodUsage("a/web", QoSTier.LS, request=r(8000, 16), peak=r(3000, 10), history_s=OLD),
        PodUsage("a/api", QoSTier.LSR, request=r(4000, 8), peak=r(1500, 6), history_s=OLD),
        PodUsage("b/batch", QoSTier.BE, request=r(0, 0), peak=r(9000, 40), history_s=OLD),
    ]
    got = compute(node(pods), 110.0, ReclaimOptions(safety_margin=0.1))
    # cpu: 32000 − 3200 − 1000 − (3000 + 1500) = 23300
    assert got.cpu_milli == 23_300
    # memory: 128 − 12.8 − 4 − 16 GiB
    assert got.memory_bytes == 128 * GI - round(12.8 * GI) - 4 * GI - 16 * GI
    names = [t.name for t in got.terms]
    assert names == ["capacity", "safety margin", "system reserve", "online pods", "reclaimable"]
    assert [t.name for t in got.pods] == ["a/web", "a/api"]  # BE pods do not count


@pytest.mark.parametrize(
    ("policy", "cpu_online"),
    [
        (ReclaimPolicy.USAGE, 3000),
        (ReclaimPolicy.REQUEST, 8000),
        (ReclaimPolicy.MAX_USAGE_REQUEST, 8000),
    ],
)
def test_policies(policy: ReclaimPolicy, cpu_online: int) -> None:
    pods = [PodUsage("a/web", QoSTier.LS, request=r(8000, 16), peak=r(3000, 20), history_s=OLD)]
    opts = ReclaimOptions(cpu_policy=policy, memory_policy=policy, safety_margin=0.0)
    got = compute(node(pods), 100.0, opts)
    assert got.cpu_milli == 32_000 - 1000 - cpu_online
    mem_online = {ReclaimPolicy.USAGE: 20, ReclaimPolicy.REQUEST: 16}.get(policy, 20)
    assert got.memory_bytes == (128 - 4 - mem_online) * GI


def test_lse_pods_and_pods_without_history_count_their_request() -> None:
    pods = [
        PodUsage("a/lse", QoSTier.LSE, request=r(4000, 8), peak=r(100, 1), history_s=OLD),
        PodUsage("a/new", QoSTier.LS, request=r(2000, 4), peak=r(100, 1), history_s=60),
        PodUsage("a/none", QoSTier.LS, request=r(1000, 2)),
    ]
    got = compute(node(pods), 100.0, ReclaimOptions(safety_margin=0.0))
    assert got.cpu_milli == 32_000 - 1000 - 7000
    sources = {t.name: t.source for t in got.pods}
    assert sources["a/lse"] == "LSE: full request"
    assert "60 s of samples" in sources["a/new"] and "no samples" in sources["a/none"]


def test_measured_system_usage_above_the_kubelet_reserve_wins() -> None:
    got = compute(node([], system_usage=r(2500, 1)), 100.0, ReclaimOptions(safety_margin=0.0))
    assert got.cpu_milli == 32_000 - 2500  # measured cpu > 1000m reserved
    assert got.memory_bytes == 124 * GI  # reserved 4 GiB > measured 1 GiB


@pytest.mark.parametrize(
    ("at", "now", "why"), [(None, 0.0, "no metrics"), (0.0, 121.0, "121 s old")]
)
def test_stale_or_missing_metrics_give_zero(at: float | None, now: float, why: str) -> None:
    got = compute(node([], at=at), now, ReclaimOptions(stale_after_s=120))
    assert (got.cpu_milli, got.memory_bytes, got.stale) == (0, 0, True)
    assert why in got.terms[-1].source


def test_never_negative_when_online_exceeds_capacity() -> None:
    pods = [
        PodUsage("a/huge", QoSTier.LS, request=r(64_000, 256), peak=r(40_000, 200), history_s=OLD)
    ]
    got = compute(node(pods), 100.0, ReclaimOptions())
    assert (got.cpu_milli, got.memory_bytes) == (0, 0)


def test_per_numa_pinned_pods_count_on_their_node_others_are_split() -> None:
    pods = [
        PodUsage("a/pinned", QoSTier.LSE, request=r(8000, 16), numa=1),
        PodUsage("a/free", QoSTier.LS, request=r(0, 0), peak=r(4000, 8), history_s=OLD),
    ]
    halves = [r(16_000, 64), r(16_000, 64)]
    got = compute(node(pods, numa_capacity=halves), 100.0, ReclaimOptions(safety_margin=0.0))
    n0, n1 = got.numa
    # reserve 1000m split 500/500; free pod 4000m split 2000/2000; pinned 8000m on NUMA 1
    assert n0.cpu_milli == 16_000 - 500 - 2000
    assert n1.cpu_milli == 16_000 - 500 - 2000 - 8000
    assert got.cpu_milli == 32_000 - 1000 - 12_000
    with pytest.raises(InvalidInput, match="NUMA node out of range"):
        compute(
            node([PodUsage("a/x", QoSTier.LSE, request=r(1), numa=5)], numa_capacity=halves),
            100.0,
            ReclaimOptions(),
        )


def test_options_are_validated() -> None:
    with pytest.raises(InvalidInput, match="safety_margin"):
        ReclaimOptions(safety_margin=1.5)
    with pytest.raises(InvalidInput, match="stale_after_s"):
        ReclaimOptions(stale_after_s=-1)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),  # node
            st.sampled_from([QoSTier.LS, QoSTier.LSR, QoSTier.LSE]),
            st.integers(0, 20_000),
            st.integers(0, 64 * GI),
            st.one_of(st.none(), st.tuples(st.integers(0, 30_000), st.integers(0, 80 * GI))),
            st.floats(0, 10_000),
        ),
        max_size=12,
    ),
    st.sampled_from(list(ReclaimPolicy)),
    st.sampled_from(list(ReclaimPolicy)),
    st.floats(0, 0.5),
    st.lists(st.one_of(st.none(), st.floats(0, 300)), min_size=3, max_size=3),
)
def test_the_vectorized_calculator_equals_the_explained_one(
    pods: list[tuple[int, QoSTier, int, int, tuple[int, int] | None, float]],
    cpu_policy: ReclaimPolicy,
    memory_policy: ReclaimPolicy,
    margin: float,
    ages: list[float | None],
) -> None:
    opts = ReclaimOptions(cpu_policy, memory_policy, safety_margin=margin, min_history_s=3600)
    now = 1000.0
    caps = [r(32_000, 128), r(16_000, 64), r(96_000, 384)]
    allocs = [r(31_000, 124), r(16_000, 60), r(94_000, 380)]
    at = [None if a is None else now - a for a in ages]
    want = []
    for i in range(3):
        mine = [
            PodUsage(f"p{j}", tier, r(c, 0) + Resources.of(memory_bytes=m),
                     None if pk is None else Resources.of(cpu_milli=pk[0], memory_bytes=pk[1]), h)
            for j, (node, tier, c, m, pk, h) in enumerate(pods) if node == i
        ]  # fmt: skip
        got = compute(NodeUsage(f"n{i}", caps[i], allocs[i], mine, at[i]), now, opts)
        want.append((got.cpu_milli, got.memory_bytes))
    arr = np.array
    cpu, mem, _, _ = compute_nodes(
        capacity_cpu=arr([c.cpu_milli for c in caps]),
        capacity_memory=arr([c.memory_bytes for c in caps]),
        allocatable_cpu=arr([a.cpu_milli for a in allocs]),
        allocatable_memory=arr([a.memory_bytes for a in allocs]),
        pod_node=arr([p[0] for p in pods], dtype=np.intp),
        pod_lse=arr([p[1] is QoSTier.LSE for p in pods], dtype=bool),
        request_cpu=arr([p[2] for p in pods], dtype=np.int64),
        request_memory=arr([p[3] for p in pods], dtype=np.int64),
        peak_cpu=arr([p[4][0] if p[4] else 0 for p in pods], dtype=np.int64),
        peak_memory=arr([p[4][1] if p[4] else 0 for p in pods], dtype=np.int64),
        history_s=arr([p[5] for p in pods], dtype=np.float64),
        has_peak=arr([p[4] is not None for p in pods], dtype=bool),
        metrics_at_s=arr([np.nan if a is None else a for a in at], dtype=np.float64),
        now_s=now,
        opts=opts,
    )
    assert list(zip(cpu.tolist(), mem.tolist(), strict=True)) == want
