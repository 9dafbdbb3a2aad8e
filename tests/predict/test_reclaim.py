"""The reclaim calculator, term by term, against hand-computed expectations."""

from __future__ import annotations

import pytest

from colo.core.errors import InvalidInput
from colo.core.qos import QoSTier
from colo.core.resources import Resources
from colo.predict.reclaim import (
    NodeUsage,
    PodUsage,
    ReclaimOptions,
    ReclaimPolicy,
    compute,
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
