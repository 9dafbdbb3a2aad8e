"""The agent's reporting loop: one sans-I/O object over N nodes.

measure → predict each online pod's peak → reclaimable capacity per node → the node's
`BatchReporter` decides → publish `colo.io/batch-*` → heartbeat. colo-agent runs it with
N = 1 (its own node); the simulator runs it with every node of the cluster. Both call the
same methods; neither holds any of the logic.

Events in (methods), commands out (return values):

| method | the driver tells | returns |
|---|---|---|
| `set_pods({node: [PodSpec]})` | the pods on those nodes now (BE pods are ignored) | — |
| `set_node(NodeSpec)` | a node's capacity or allocatable changed | — |
| `observe(Usage)` | per pod slot: cpu (millicores) and memory (bytes) at `now_s` | — |
| `forbid(node, on)` | the protection loop forbids new offline work there (or not) | — |
| `tick(now_s, wall)` | time to report | `Publish` and `Renew` commands |
| `published(node, batch, now_s, ok=...)` | the outcome of a `Publish` | a `Renew` after a success |
| `renewed(node, now_s, ok=...)` | the outcome of a `Renew` | — |

Contract with the driver: execute the commands in order and report each outcome back; a
node with a `Publish` (or `Renew`) still outstanding gets no other until its outcome is in.
A failed patch leaves the reporter's published figures as they were, so the next tick
decides again against them and retries. `now_s` is monotonic seconds; `wall` is only
written into the explanation (`"at"`), never read as time.

Per tick, vectorized over every pod slot and node:

    cpu peak_p   = RisePeakEstimatorBank over pod p's cpu samples (cores), see `PeakOptions`
    memory peak_p = max of pod p's memory samples over the last `recent_s`
    reclaimable  = compute_nodes(capacity, allocatable, pods, peaks, history, metrics age)

`explain(node)` gives `compute`'s term-by-term `Reclaim` of one node as of the last tick
(the same arithmetic; a test holds them equal).

Pods live in *slots*: `observe` takes arrays indexed by slot (`slot_of`, `slots`). A pod
keeps its slot while it stays on its node; a departed pod's slot is reused, its estimator
reset. A pod's history starts at its first measured sample, and until its peak estimator
has seen `min_rises` rises, or for `min_history_s`, the pod counts its request.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from colo.agent.options import PeakOptions, ReportingOptions
from colo.agent.report import EXPLANATION_ANNOTATION, Batch, BatchReporter, Decision
from colo.core.errors import InvalidInput
from colo.core.qos import QoSTier
from colo.core.resources import Resources
from colo.predict.options import HistogramOptions
from colo.predict.peak import RisePeakEstimatorBank
from colo.predict.reclaim import (
    NodeUsage,
    PodUsage,
    Reclaim,
    compute,
    compute_nodes,
    to_dict,
)

__all__ = [
    "Command",
    "NodeSpec",
    "PeakOptions",
    "PodSpec",
    "Publish",
    "Renew",
    "ReportingLoop",
    "ReportingOptions",
    "Usage",
]


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """A node as the loop needs it: capacity and allocatable (cpu in millicores, memory
    in bytes)."""

    name: str
    capacity: Resources
    allocatable: Resources


@dataclass(frozen=True, slots=True)
class PodSpec:
    """A pod on a node: `key` is `namespace/name` (unique in the cluster)."""

    key: str
    tier: QoSTier
    request: Resources


@dataclass(frozen=True, slots=True)
class Usage:
    """One round of measurements, arrays indexed by pod slot (length `ReportingLoop.size`).

    `cpu_milli` float millicores (mean since the previous round), `memory_bytes` working
    set. `measured[s]` False: slot s was not measured this round (its cgroup not found yet);
    None: every slot was. `nodes`: the nodes this round measured, whose metrics are now
    fresh (None: all); a node measured with no pods is fresh too.
    """

    now_s: float
    cpu_milli: np.ndarray
    memory_bytes: np.ndarray
    measured: np.ndarray | None = None
    nodes: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class Publish:
    """Patch `node`'s status: capacity and allocatable `colo.io/batch-*` = `batch`."""

    node: str
    batch: Batch
    reason: str


@dataclass(frozen=True, slots=True)
class Renew:
    """Renew `node`'s agent heartbeat, carrying `annotations` (the reclaim explanation)."""

    node: str
    annotations: Mapping[str, str]


Command = Publish | Renew


class ReportingLoop:
    """The reporting loop of the agents of `nodes` (see the module docstring)."""

    def __init__(self, nodes: Sequence[NodeSpec], options: ReportingOptions) -> None:
        names = [n.name for n in nodes]
        if len(set(names)) != len(names):
            raise InvalidInput("node names repeat", obj="reporting loop", field="nodes")
        self.options = options
        self.node_names = names
        self._index = {name: i for i, name in enumerate(names)}
        n = len(nodes)
        self.capacity_cpu = np.array([x.capacity.cpu_milli for x in nodes], np.int64)
        self.capacity_memory = np.array([x.capacity.memory_bytes for x in nodes], np.int64)
        self.allocatable_cpu = np.array([x.allocatable.cpu_milli for x in nodes], np.int64)
        self.allocatable_memory = np.array([x.allocatable.memory_bytes for x in nodes], np.int64)
        self.reporters = [
            BatchReporter(
                options.report,
                cpu_capacity=x.capacity.cpu_milli,
                memory_capacity=x.capacity.memory_bytes,
            )
            for x in nodes
        ]
        peak, interval = options.peak, options.interval_s
        max_cores = peak.max_cores
        if max_cores is None:
            max_cores = max(1.0, float(self.capacity_cpu.max(initial=1000)) / 1000.0)
        self._window = max(1, round(peak.recent_s / interval))
        self.bank = RisePeakEstimatorBank(
            0,
            options=HistogramOptions(
                max_value=max_cores,
                first_bucket_size=peak.first_bucket_cores,
                ratio=peak.bucket_ratio,
                half_life_s=peak.history_half_life_s,
            ),
            interval_s=interval,
            horizon_s=max(peak.horizon_s, interval),
            percentile=peak.percentile,
            window=self._window,
            release_half_life_s=peak.release_half_life_s,
            min_rises=peak.min_rises,
        )
        # per pod slot
        self._keys: list[str | None] = []
        self._tiers: list[QoSTier] = []
        self._slot: dict[str, int] = {}
        self._free: list[int] = []
        self.pod_node = np.zeros(0, np.intp)  # -1: a free slot
        self._lse = np.zeros(0, bool)
        self.request_cpu = np.zeros(0, np.int64)
        self.request_memory = np.zeros(0, np.int64)
        self._first_at = np.zeros(0)  # time of the slot's first sample; NaN: none yet
        self._memory = np.zeros((0, self._window))  # recent memory samples; NaN: none
        self._mpos = np.zeros(0, np.intp)
        self.peak_cpu = np.zeros(0, np.int64)
        self.peak_memory = np.zeros(0, np.int64)
        # per node
        self.metrics_at = np.full(n, np.nan)
        self.reclaim_cpu = np.zeros(n, np.int64)  # computed at the last tick
        self.reclaim_memory = np.zeros(n, np.int64)
        self.online_cpu = np.zeros(n, np.int64)
        self.online_memory = np.zeros(n, np.int64)
        self.decisions: list[Decision | None] = [None] * n
        self.forbidden = np.zeros(n, bool)
        self._publishing: dict[int, Batch] = {}
        self._renewing: set[int] = set()
        self.last_at: float | None = None
        self._wall = ""
        # counts, for metrics
        self.ticks = 0
        self.publishes = 0
        self.publish_failures = 0
        self.renewals = 0
        self.renew_failures = 0

    # --- pods and nodes ------------------------------------------------------------
    @property
    def size(self) -> int:
        """Pod slots (the length of a `Usage`'s arrays)."""
        return len(self._keys)

    def node_index(self, name: str) -> int:
        i = self._index.get(name)
        if i is None:
            raise KeyError(f"node {name!r} is not one of this loop's nodes")
        return i

    def slot_of(self, key: str) -> int | None:
        return self._slot.get(key)

    def slots(self, keys: Sequence[str]) -> np.ndarray:
        """The slots of `keys` (all must be tracked)."""
        return np.array([self._slot[k] for k in keys], np.intp)

    def pods_on(self, node: str) -> list[str]:
        """Keys of the online pods tracked on `node`, in slot order."""
        i = self.node_index(node)
        return [str(self._keys[s]) for s in np.flatnonzero(self.pod_node == i)]

    def set_node(self, spec: NodeSpec) -> None:
        i = self.node_index(spec.name)
        self.capacity_cpu[i] = spec.capacity.cpu_milli
        self.capacity_memory[i] = spec.capacity.memory_bytes
        self.allocatable_cpu[i] = spec.allocatable.cpu_milli
        self.allocatable_memory[i] = spec.allocatable.memory_bytes
        self.reporters[i].set_capacity(
            cpu_capacity=spec.capacity.cpu_milli, memory_capacity=spec.capacity.memory_bytes
        )

    def forbid(self, node: str, on: bool) -> None:
        """While `on`, the node publishes zero batch capacity (the protection loop's
        FORBID: no new offline pod may arrive); its reclaim is still computed and
        explained. A fall to zero goes out at the next tick, whatever the rate limit."""
        self.forbidden[self.node_index(node)] = on

    def set_pods(self, pods_by_node: Mapping[str, Sequence[PodSpec]]) -> None:
        """The pods now on each node named (nodes not named keep theirs). BE pods are
        left out: offline work uses the reclaimed capacity, it does not hold it back."""
        new: list[tuple[int, PodSpec]] = []
        for name, pods in pods_by_node.items():
            i = self.node_index(name)
            want = {p.key: p for p in pods if p.tier is not QoSTier.BE}
            for s in np.flatnonzero(self.pod_node == i).tolist():
                if self._keys[s] not in want:
                    self._release(s)
            for key, pod in want.items():
                held = self._slot.get(key)
                if held is not None and self.pod_node[held] != i:
                    self._release(held)  # moved from another node: a new pod here
                    held = None
                if held is None:
                    new.append((i, pod))
                else:
                    self._describe(held, pod)
        if not new:
            return
        self._free.sort()
        short = len(new) - len(self._free)
        if short > 0:
            self._grow(self.size + short)
        taken = np.array(self._free[: len(new)], np.intp)
        del self._free[: len(new)]
        self.bank.reset(taken)
        self._first_at[taken] = np.nan
        self._memory[taken] = np.nan
        self._mpos[taken] = 0
        self.peak_cpu[taken] = 0
        self.peak_memory[taken] = 0
        for s, (i, pod) in zip(taken.tolist(), new, strict=True):
            self._keys[s] = pod.key
            self._slot[pod.key] = s
            self.pod_node[s] = i
            self._describe(s, pod)

    def _describe(self, s: int, pod: PodSpec) -> None:
        self._tiers[s] = pod.tier
        self._lse[s] = pod.tier is QoSTier.LSE
        self.request_cpu[s] = pod.request.cpu_milli
        self.request_memory[s] = pod.request.memory_bytes

    def _release(self, s: int) -> None:
        key = self._keys[s]
        if key is not None:
            del self._slot[key]
        self._keys[s] = None
        self.pod_node[s] = -1
        self._free.append(s)

    def _grow(self, size: int) -> None:
        extra = size - self.size

        def pad(a: np.ndarray, value: float) -> np.ndarray:
            return np.concatenate([a, np.full((extra, *a.shape[1:]), value, a.dtype)])

        self._free.extend(range(self.size, size))
        self._keys.extend([None] * extra)
        self._tiers.extend([QoSTier.LS] * extra)
        self.pod_node = pad(self.pod_node, -1)
        self._lse = pad(self._lse, False)
        self.request_cpu = pad(self.request_cpu, 0)
        self.request_memory = pad(self.request_memory, 0)
        self._first_at = pad(self._first_at, np.nan)
        self._memory = pad(self._memory, np.nan)
        self._mpos = pad(self._mpos, 0)
        self.peak_cpu = pad(self.peak_cpu, 0)
        self.peak_memory = pad(self.peak_memory, 0)
        self.bank.grow(size)

    # --- measurements --------------------------------------------------------------
    def usage(
        self, now_s: float, samples: Mapping[str, tuple[float, int]], *, nodes: Sequence[str]
    ) -> Usage:
        """A `Usage` from samples keyed by pod key, `(cpu millicores, memory bytes)`:
        what a one-node driver has. Keys not tracked are ignored."""
        cpu = np.zeros(self.size)
        memory = np.zeros(self.size, np.int64)
        measured = np.zeros(self.size, bool)
        for key, (c, m) in samples.items():
            s = self._slot.get(key)
            if s is not None:
                cpu[s], memory[s], measured[s] = c, m, True
        return Usage(now_s, cpu, memory, measured, nodes)

    def observe(self, usage: Usage) -> None:
        """Take one round of measurements into the peak estimators."""
        now = usage.now_s
        cpu = np.asarray(usage.cpu_milli, dtype=np.float64)
        if cpu.shape != (self.size,) or np.shape(usage.memory_bytes) != (self.size,):
            raise ValueError(f"usage arrays must have shape ({self.size},), one per pod slot")
        live = self.pod_node >= 0
        take = live if usage.measured is None else live & np.asarray(usage.measured, bool)
        every = bool(take.all())
        estimates = self.bank.update(cpu / 1000.0, now, mask=None if every else take)
        self.peak_cpu = np.ceil(estimates * 1000.0).astype(np.int64)
        rows = np.arange(self.size) if every else np.flatnonzero(take)
        self._memory[rows, self._mpos[rows]] = np.asarray(usage.memory_bytes)[rows]
        self._mpos[rows] = (self._mpos[rows] + 1) % self._window
        peak_memory = np.fmax.reduce(self._memory, axis=1) if self.size else np.zeros(0)
        self.peak_memory = np.nan_to_num(peak_memory).astype(np.int64)
        first = take & np.isnan(self._first_at)
        self._first_at[first] = now
        if usage.nodes is None:
            self.metrics_at.fill(now)
        else:
            for name in usage.nodes:
                self.metrics_at[self.node_index(name)] = now

    # --- reporting -----------------------------------------------------------------
    def _inputs(self, now_s: float) -> dict[str, np.ndarray]:
        """compute_nodes' per-pod inputs over the live slots."""
        live = self.pod_node >= 0
        sampled = ~np.isnan(self._first_at)
        history = np.where(sampled, now_s - np.nan_to_num(self._first_at), 0.0)
        arrays = {
            "pod_node": self.pod_node,
            "pod_lse": self._lse,
            "request_cpu": self.request_cpu,
            "request_memory": self.request_memory,
            "peak_cpu": self.peak_cpu,
            "peak_memory": self.peak_memory,
            "history_s": history,
            "has_peak": self.bank.warm & sampled,  # a margin not yet learned is no prediction
        }
        if live.all():
            return arrays
        return {k: v[live] for k, v in arrays.items()}

    def tick(self, now_s: float, wall: str = "") -> list[Command]:
        """Compute every node's reclaimable capacity and decide what to publish."""
        cpu, mem, on_cpu, on_mem = compute_nodes(
            capacity_cpu=self.capacity_cpu,
            capacity_memory=self.capacity_memory,
            allocatable_cpu=self.allocatable_cpu,
            allocatable_memory=self.allocatable_memory,
            metrics_at_s=self.metrics_at,
            now_s=now_s,
            opts=self.options.reclaim,
            **self._inputs(now_s),
        )
        self.reclaim_cpu, self.reclaim_memory = cpu, mem
        self.online_cpu, self.online_memory = on_cpu, on_mem
        self.last_at, self._wall = now_s, wall
        self.ticks += 1
        beats = self.options.heartbeats
        out: list[Command] = []
        for i, (c, m) in enumerate(zip(cpu.tolist(), mem.tolist(), strict=True)):
            if i in self._publishing:
                continue  # its outcome is not in yet
            reporter = self.reporters[i]
            offer = Batch(0, 0) if self.forbidden[i] else Batch(c, m)
            decision = reporter.decide(offer, now_s)
            if self.forbidden[i]:
                decision = Decision(decision.publish, f"forbidden by the guard; {decision.reason}")
            self.decisions[i] = decision
            if decision.publish is not None:
                self._publishing[i] = decision.publish
                out.append(Publish(self.node_names[i], decision.publish, decision.reason))
            elif beats and i not in self._renewing and reporter.heartbeat_due(now_s):
                out.append(self._renew(i))
        return out

    def published(self, node: str, batch: Batch, now_s: float, *, ok: bool) -> list[Command]:
        """The outcome of `Publish(node, batch)`; after a success, the heartbeat carries
        the explanation of what was published."""
        i = self.node_index(node)
        if self._publishing.get(i) != batch:
            raise ValueError(f"node {node}: no publish of {batch} is outstanding")
        del self._publishing[i]
        if not ok:
            self.publish_failures += 1
            return []  # the reporter still holds the old figures: retried next tick
        self.reporters[i].published_ok(batch, now_s)
        self.publishes += 1
        if self.options.heartbeats and i not in self._renewing:
            return [self._renew(i)]
        return []

    def renewed(self, node: str, now_s: float, *, ok: bool) -> None:
        """The outcome of `Renew(node)`; a failed renewal is due again next tick."""
        i = self.node_index(node)
        self._renewing.discard(i)
        if ok:
            self.reporters[i].heartbeat_ok(now_s)
            self.renewals += 1
        else:
            self.renew_failures += 1

    def _renew(self, i: int) -> Renew:
        self._renewing.add(i)
        reporter = self.reporters[i]
        decision = self.decisions[i]
        explanation = {
            **to_dict(self.explain(self.node_names[i])),
            "published": reporter.published.as_extended() if reporter.published else None,
            "decision": decision.reason if decision else "",
            "at": self._wall,
        }
        return Renew(self.node_names[i], {EXPLANATION_ANNOTATION: json.dumps(explanation)})

    def explain(self, node: str) -> Reclaim:
        """`compute`'s term-by-term explanation of `node` as of the last tick."""
        i = self.node_index(node)
        now = self.last_at if self.last_at is not None else 0.0
        warm = self.bank.warm
        pods = []
        for s in np.flatnonzero(self.pod_node == i).tolist():
            first = float(self._first_at[s])
            sampled = not math.isnan(first)
            pods.append(
                PodUsage(
                    str(self._keys[s]),
                    self._tiers[s],
                    request=Resources.of(
                        cpu_milli=int(self.request_cpu[s]),
                        memory_bytes=int(self.request_memory[s]),
                    ),
                    peak=Resources.of(
                        cpu_milli=int(self.peak_cpu[s]), memory_bytes=int(self.peak_memory[s])
                    )
                    if warm[s] and sampled
                    else None,
                    history_s=now - first if sampled else 0.0,
                )
            )
        at = float(self.metrics_at[i])
        usage = NodeUsage(
            node,
            capacity=Resources.of(
                cpu_milli=int(self.capacity_cpu[i]), memory_bytes=int(self.capacity_memory[i])
            ),
            allocatable=Resources.of(
                cpu_milli=int(self.allocatable_cpu[i]),
                memory_bytes=int(self.allocatable_memory[i]),
            ),
            pods=pods,
            metrics_at_s=None if math.isnan(at) else at,
        )
        return compute(usage, now, self.options.reclaim)
