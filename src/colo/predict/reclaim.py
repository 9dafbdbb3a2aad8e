"""How much of a node offline work may use: the reclaim calculator.

Per node, and per NUMA node, for cpu (millicores) and memory (bytes):

    reclaimable = max(0, capacity − safety margin − system reserve − online)

* **safety margin** = `safety_margin` × capacity.
* **system reserve** = max(capacity − allocatable, measured system usage): what the kubelet
  keeps back for the OS and Kubernetes, or what the host's own processes really use,
  whichever is larger.
* **online** sums every pod that is not BE (offline pods consume the reclaimed capacity,
  so they do not count against it). Each pod contributes, by the resource's policy:

  | policy | pod contributes |
  |---|---|
  | `usage` | its predicted peak |
  | `request` | its request |
  | `max-usage-request` | max(predicted peak, request) |

  whatever the policy, an **LSE** pod contributes its full request (its cores are pinned
  and must stay free even when idle), and a pod with less than `min_history_s` of
  samples contributes its request (a peak predicted from minutes of data is a guess).
* **stale metrics**: if the newest sample is older than `stale_after_s`, everything is
  zero: publishing a number nobody is measuring is how offline work ends up on a node
  whose online pods are at their peak.

Per NUMA node, capacity, margin and reserve are split in proportion to each NUMA node's
share of the capacity; a pod with a known NUMA node (pinned) counts there, others are
split in the same proportion. The node's figure is computed at node level (not the sum of
the clipped NUMA figures).

Every term is kept with where it came from, so `colo explain node` can print it. Pure:
time is a parameter, no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from colo.core.errors import InvalidInput
from colo.core.qos import QoSTier
from colo.core.resources import Resources


class ReclaimPolicy(enum.StrEnum):
    USAGE = "usage"
    REQUEST = "request"
    MAX_USAGE_REQUEST = "max-usage-request"


@dataclass(frozen=True, slots=True)
class ReclaimOptions:
    cpu_policy: ReclaimPolicy = ReclaimPolicy.USAGE
    memory_policy: ReclaimPolicy = ReclaimPolicy.USAGE
    safety_margin: float = 0.10
    min_history_s: float = 1800.0
    stale_after_s: float = 120.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.safety_margin < 1.0:
            raise InvalidInput(
                "out of range",
                obj="reclaim options",
                field="safety_margin",
                value=self.safety_margin,
                expected="a fraction in [0, 1)",
            )
        for name in ("min_history_s", "stale_after_s"):
            if getattr(self, name) < 0:
                raise InvalidInput(
                    "must not be negative",
                    obj="reclaim options",
                    field=name,
                    value=getattr(self, name),
                )


@dataclass(frozen=True, slots=True)
class PodUsage:
    """One pod as the calculator sees it. `peak` is None when nothing is predicted yet."""

    key: str
    tier: QoSTier
    request: Resources
    peak: Resources | None = None
    history_s: float = 0.0
    numa: int | None = None


@dataclass(frozen=True, slots=True)
class NodeUsage:
    """One node's inputs. `numa_capacity` lists each NUMA node's capacity (may be empty)."""

    name: str
    capacity: Resources
    allocatable: Resources
    pods: Sequence[PodUsage]
    metrics_at_s: float | None
    system_usage: Resources = Resources.ZERO
    numa_capacity: Sequence[Resources] = ()


@dataclass(frozen=True, slots=True)
class Term:
    """One line of the explanation: a named amount and where it came from."""

    name: str
    cpu_milli: int
    memory_bytes: int
    source: str


@dataclass(frozen=True, slots=True)
class Reclaim:
    """Reclaimable cpu (millicores) and memory (bytes), with the terms behind them."""

    cpu_milli: int
    memory_bytes: int
    terms: tuple[Term, ...]
    pods: tuple[Term, ...] = ()
    stale: bool = False
    numa: tuple[Reclaim, ...] = field(default=())

    def as_resources(self) -> Resources:
        return Resources.of(cpu_milli=self.cpu_milli, memory_bytes=self.memory_bytes)


def _pick(policy: ReclaimPolicy, peak: int, request: int) -> int:
    if policy is ReclaimPolicy.USAGE:
        return peak
    if policy is ReclaimPolicy.REQUEST:
        return request
    return max(peak, request)


def pod_contribution(pod: PodUsage, opts: ReclaimOptions) -> Term:
    """What one online pod holds back, and why."""
    req = pod.request
    if pod.tier is QoSTier.LSE:
        return Term(pod.key, req.cpu_milli, req.memory_bytes, "LSE: full request")
    if pod.peak is None or pod.history_s < opts.min_history_s:
        have = "no samples" if pod.peak is None else f"{pod.history_s:.0f} s of samples"
        return Term(
            pod.key,
            req.cpu_milli,
            req.memory_bytes,
            f"request ({have} < {opts.min_history_s:.0f} s of history)",
        )
    cpu = _pick(opts.cpu_policy, pod.peak.cpu_milli, req.cpu_milli)
    mem = _pick(opts.memory_policy, pod.peak.memory_bytes, req.memory_bytes)
    words = {
        ReclaimPolicy.USAGE: "predicted peak",
        ReclaimPolicy.REQUEST: "request",
        ReclaimPolicy.MAX_USAGE_REQUEST: "max(predicted peak, request)",
    }
    cpu_word, mem_word = words[opts.cpu_policy], words[opts.memory_policy]
    what = cpu_word if cpu_word == mem_word else f"cpu: {cpu_word}, memory: {mem_word}"
    return Term(pod.key, cpu, mem, f"{what} ({pod.history_s:.0f} s of samples)")


def _scaled(r: Resources, share: float) -> tuple[int, int]:
    return round(r.cpu_milli * share), round(r.memory_bytes * share)


def _one(
    label: str,
    capacity: tuple[int, int],
    reserve: tuple[int, int],
    reserve_source: str,
    online: tuple[int, int],
    opts: ReclaimOptions,
    stale: str,
    pods: tuple[Term, ...] = (),
) -> Reclaim:
    cap_c, cap_m = capacity
    margin = (round(cap_c * opts.safety_margin), round(cap_m * opts.safety_margin))
    cpu = max(0, cap_c - margin[0] - reserve[0] - online[0])
    mem = max(0, cap_m - margin[1] - reserve[1] - online[1])
    if stale:
        cpu = mem = 0
    terms = (
        Term("capacity", cap_c, cap_m, label),
        Term("safety margin", margin[0], margin[1], f"{opts.safety_margin:.0%} of capacity"),
        Term("system reserve", reserve[0], reserve[1], reserve_source),
        Term("online pods", online[0], online[1], f"{len(pods)} non-BE pods (see below)"),
        Term("reclaimable", cpu, mem, stale or "capacity − margin − reserve − online, ≥ 0"),
    )
    return Reclaim(cpu, mem, terms, pods, stale=bool(stale))


def compute(node: NodeUsage, now_s: float, opts: ReclaimOptions) -> Reclaim:
    """The node's reclaimable cpu and memory at `now_s`, with per-NUMA figures."""
    if node.metrics_at_s is None:
        stale = "zero: no metrics received"
    elif now_s - node.metrics_at_s > opts.stale_after_s:
        age = now_s - node.metrics_at_s
        stale = f"zero: metrics are {age:.0f} s old (> {opts.stale_after_s:.0f} s)"
    else:
        stale = ""
    online = [p for p in node.pods if p.tier is not QoSTier.BE]
    contributions = tuple(pod_contribution(p, opts) for p in online)
    kube_reserved = (node.capacity - node.allocatable).clamped_nonnegative()
    reserve = kube_reserved.max_with(node.system_usage)
    reserve_source = (
        f"max(capacity − allocatable = {kube_reserved.cpu_milli}m/"
        f"{kube_reserved.memory_bytes}B, measured system usage = "
        f"{node.system_usage.cpu_milli}m/{node.system_usage.memory_bytes}B)"
    )
    total = (
        sum(t.cpu_milli for t in contributions),
        sum(t.memory_bytes for t in contributions),
    )
    result = _one(
        f"node {node.name}",
        (node.capacity.cpu_milli, node.capacity.memory_bytes),
        (reserve.cpu_milli, reserve.memory_bytes),
        reserve_source,
        total,
        opts,
        stale,
        contributions,
    )
    if not node.numa_capacity:
        return result
    cap_cpu = sum(n.cpu_milli for n in node.numa_capacity) or 1
    shares = [n.cpu_milli / cap_cpu for n in node.numa_capacity]
    for pod in online:
        if pod.numa is not None and not 0 <= pod.numa < len(shares):
            raise InvalidInput(
                "NUMA node out of range",
                obj=f"pod {pod.key} on node {node.name}",
                field="numa",
                value=pod.numa,
                expected=f"0..{len(shares) - 1}",
            )
    per_numa: list[Reclaim] = []
    for i, (numa_cap, share) in enumerate(zip(node.numa_capacity, shares, strict=True)):
        oc = om = 0
        for pod, term in zip(online, contributions, strict=True):
            s = (1.0 if pod.numa == i else 0.0) if pod.numa is not None else share
            oc += round(term.cpu_milli * s)
            om += round(term.memory_bytes * s)
        per_numa.append(
            _one(
                f"NUMA node {i} of {node.name}",
                (numa_cap.cpu_milli, numa_cap.memory_bytes),
                _scaled(reserve, share),
                f"{share:.0%} of the node's system reserve",
                (oc, om),
                opts,
                stale,
            )
        )
    return Reclaim(
        result.cpu_milli,
        result.memory_bytes,
        result.terms,
        result.pods,
        stale=result.stale,
        numa=tuple(per_numa),
    )


def compute_nodes(
    *,
    capacity_cpu: np.ndarray,
    capacity_memory: np.ndarray,
    allocatable_cpu: np.ndarray,
    allocatable_memory: np.ndarray,
    pod_node: np.ndarray,
    pod_lse: np.ndarray,
    request_cpu: np.ndarray,
    request_memory: np.ndarray,
    peak_cpu: np.ndarray,
    peak_memory: np.ndarray,
    history_s: np.ndarray,
    has_peak: np.ndarray,
    metrics_at_s: np.ndarray,
    now_s: float,
    opts: ReclaimOptions,
    system_cpu: np.ndarray | None = None,
    system_memory: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`compute` for N nodes and P online pods at once (node level, no NUMA, no terms).

    Integer arrays in colo units; `pod_node` [P] indexes the nodes; BE pods must be left
    out by the caller. `metrics_at_s` [N] is NaN for "no metrics". Returns
    (reclaimable cpu, reclaimable memory, online cpu, online memory), each [N] int64.
    The same arithmetic as `compute`, term for term (a test holds them equal); the
    simulator uses it for every node every report, `colo explain node` uses `compute`.
    """
    n = len(capacity_cpu)
    cold = pod_lse | ~has_peak | (history_s < opts.min_history_s)

    def contribution(policy: ReclaimPolicy, peak: np.ndarray, req: np.ndarray) -> np.ndarray:
        if policy is ReclaimPolicy.USAGE:
            chosen = peak
        elif policy is ReclaimPolicy.REQUEST:
            chosen = req
        else:
            chosen = np.maximum(peak, req)
        return np.where(cold, req, chosen).astype(np.int64)

    on_cpu = np.bincount(
        pod_node, weights=contribution(opts.cpu_policy, peak_cpu, request_cpu), minlength=n
    ).astype(np.int64)
    on_mem = np.bincount(
        pod_node, weights=contribution(opts.memory_policy, peak_memory, request_memory), minlength=n
    ).astype(np.int64)
    zeros = np.zeros(n, np.int64)
    sys_cpu = zeros if system_cpu is None else system_cpu
    sys_mem = zeros if system_memory is None else system_memory
    res_cpu = np.maximum(np.maximum(capacity_cpu - allocatable_cpu, 0), sys_cpu)
    res_mem = np.maximum(np.maximum(capacity_memory - allocatable_memory, 0), sys_mem)
    margin_cpu = np.round(capacity_cpu * opts.safety_margin).astype(np.int64)
    margin_mem = np.round(capacity_memory * opts.safety_margin).astype(np.int64)
    cpu = np.maximum(0, capacity_cpu - margin_cpu - res_cpu - on_cpu)
    mem = np.maximum(0, capacity_memory - margin_mem - res_mem - on_mem)
    stale = np.isnan(metrics_at_s) | (now_s - np.nan_to_num(metrics_at_s) > opts.stale_after_s)
    cpu[stale] = 0
    mem[stale] = 0
    return cpu, mem, on_cpu, on_mem


def to_dict(r: Reclaim) -> dict[str, object]:
    """JSON-able form of a `Reclaim` (what the agent publishes for `colo explain node`)."""

    def terms(ts: tuple[Term, ...]) -> list[list[object]]:
        return [[t.name, t.cpu_milli, t.memory_bytes, t.source] for t in ts]

    return {
        "cpu_milli": r.cpu_milli,
        "memory_bytes": r.memory_bytes,
        "stale": r.stale,
        "terms": terms(r.terms),
        "pods": terms(r.pods),
        "numa": [to_dict(n) for n in r.numa],
    }


def from_dict(data: object, *, obj: str = "reclaim explanation") -> Reclaim:
    """Inverse of `to_dict`; a malformed document raises InvalidInput naming the field."""

    def need(cond: bool, field: str, expected: str) -> None:
        if not cond:
            raise InvalidInput("malformed", obj=obj, field=field, expected=expected)

    need(isinstance(data, dict), "(top)", "an object")
    assert isinstance(data, dict)

    def terms(key: str) -> tuple[Term, ...]:
        raw = data.get(key, [])
        need(isinstance(raw, list), key, "a list")
        out = []
        for i, t in enumerate(raw):
            ok = (
                isinstance(t, list)
                and len(t) == 4
                and isinstance(t[0], str)
                and isinstance(t[1], int)
                and isinstance(t[2], int)
                and isinstance(t[3], str)
            )
            need(ok, f"{key}[{i}]", "[name, cpu_milli, memory_bytes, source]")
            out.append(Term(t[0], t[1], t[2], t[3]))
        return tuple(out)

    for key in ("cpu_milli", "memory_bytes"):
        need(isinstance(data.get(key), int), key, "an integer")
    numa = data.get("numa", [])
    need(isinstance(numa, list), "numa", "a list")
    return Reclaim(
        int(data["cpu_milli"]),
        int(data["memory_bytes"]),
        terms("terms"),
        terms("pods"),
        stale=bool(data.get("stale", False)),
        numa=tuple(from_dict(n, obj=f"{obj} numa[{i}]") for i, n in enumerate(numa)),
    )
