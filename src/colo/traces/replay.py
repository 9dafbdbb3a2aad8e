"""Nodes whose online usage is replayed from trace machines: a `UsageReader` without cgroups.

`colo agent replay` runs colo-agent's reporting loop for fake (kwok) nodes, which have no
cgroups to read. Each node stands for one machine of alibaba2018 `machine_usage`, and this
module answers the usage port's `read` from that machine's series instead of a cgroup tree.

**Which machine.** `assign(node, patterns, seed)` hashes `seed` and the node's name
(BLAKE2b): the hash picks the machine and the point of its series the replay starts at.
A node's replay depends on nothing but its name and the seed: adding or removing other
nodes changes nothing for it, and the same seed gives the same replay on every run.

**The online model** is `colo sim`'s for its online pods (docs/simulator.md, the
scenario's `online` section, whose defaults `OnlineModel` repeats): a machine's cpu
series, on a `step_s` grid over its whole span, is divided by its 99th percentile
(`peak_normalised`), so its peak is 1. A node's online work is one LS pod, `online_pod`,
requesting `request_share` of the node's allocatable cpu and memory; at trace time τ it
uses

    cpu(τ)    = pattern(τ) × peak_to_request × requested cpu
    memory    = memory_usage_to_request × requested memory   (steady, as in the simulator)

The machine's own memory figure is not replayed: alibaba2018 machines sit at ~90 % memory
with the co-located batch work and page cache included, which would leave no node any
batch memory at all.

**Time.** A reader maps its caller's clock to trace time,
τ = offset + speed × (now_s − origin_s), and the pattern repeats after its span (it is
periodic, so a replay never runs out). Like a cgroup's cpu counter, a read reports the
mean cpu since the previous read of the same pod, so a pod's first read reports nothing;
reads of one pod must come at increasing times.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from colo.core.errors import InvalidInput
from colo.core.objects import Node, Pod
from colo.core.qos import QoSTier
from colo.core.resources import Resources
from colo.core.usage import PodCgroup, PodSample
from colo.traces.alibaba2018 import load_machine_usage
from colo.traces.common import FloatArray, LoadReport, PathArg, peak_normalised

#: Namespace of the stand-in online pods (a key prefix only: no such pods exist).
NAMESPACE = "colo-trace"
#: Machines with fewer samples are not replayed (`colo sim`'s `online.min_samples`).
MIN_SAMPLES = 200


@dataclass(frozen=True)
class MachinePattern:
    """One machine's peak-normalised cpu on a grid of `step_s`, repeating after `span_s`.

    `values[k]` holds for trace times [k·step_s, (k+1)·step_s) after the series' start.
    """

    name: str
    step_s: float
    values: FloatArray
    _cumulative: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.step_s) and self.step_s > 0) or len(self.values) == 0:
            raise ValueError(f"machine {self.name}: a pattern needs a positive step and values")
        cumulative = np.concatenate(([0.0], np.cumsum(self.values) * self.step_s))
        object.__setattr__(self, "_cumulative", cumulative)

    @property
    def span_s(self) -> float:
        return self.step_s * len(self.values)

    def at(self, tau_s: float) -> float:
        """The pattern at trace time `tau_s` (periodic)."""
        k = int((tau_s % self.span_s) // self.step_s)
        return float(self.values[min(k, len(self.values) - 1)])

    def integral(self, tau_s: float) -> float:
        """∫ pattern from 0 to `tau_s` (≥ 0), the pattern repeating after its span."""
        laps, rest = divmod(tau_s, self.span_s)
        k = min(int(rest // self.step_s), len(self.values) - 1)
        inside = self._cumulative[k] + self.values[k] * (rest - k * self.step_s)
        return float(laps * self._cumulative[-1] + inside)

    def mean(self, start_s: float, end_s: float) -> float:
        """The mean of the pattern over [start_s, end_s) (trace times, start < end)."""
        if not end_s > start_s:
            raise ValueError(f"empty window [{start_s}, {end_s})")
        return (self.integral(end_s) - self.integral(start_s)) / (end_s - start_s)


def load_patterns(
    path: PathArg, *, step_s: float = 10.0, min_samples: int = MIN_SAMPLES
) -> tuple[list[MachinePattern], LoadReport]:
    """Every usable machine of an alibaba2018 `machine_usage` file, sorted by name.

    Bad rows are skipped and counted in the report (see `load_machine_usage`); machines
    with fewer than `min_samples` samples, or idle throughout, are left out (noted).
    Raises `InvalidInput` naming the file when no machine is left.
    """
    series, report = load_machine_usage(path)
    patterns = []
    for name in sorted(series):
        s = series[name]
        pattern = peak_normalised(s, step_s) if len(s) >= min_samples else None
        if pattern is None:
            report.note(f"machines not replayed (< {min_samples} samples or idle)")
            continue
        patterns.append(MachinePattern(name, step_s, pattern))
    if not patterns:
        raise InvalidInput(
            "no machine to replay",
            obj=str(path),
            expected=f"machines with at least {min_samples} samples and some cpu use",
        )
    return patterns, report


@dataclass(frozen=True)
class Assignment:
    """Node `node` replays `machine` from trace time `offset_s` on."""

    node: str
    machine: MachinePattern
    offset_s: float


def assign(node: str, patterns: Sequence[MachinePattern], *, seed: int) -> Assignment:
    """The machine and starting point of `node` (see the module docstring)."""
    if not patterns:
        raise ValueError("no machine patterns to assign from")
    digest = hashlib.blake2b(f"{seed}\0{node}".encode(), digest_size=16).digest()
    pick = int.from_bytes(digest[:8], "big")
    start = int.from_bytes(digest[8:], "big")
    machine = patterns[pick % len(patterns)]
    offset = float(start % len(machine.values)) * machine.step_s
    return Assignment(node, machine, offset)


@dataclass(frozen=True, slots=True)
class OnlineModel:
    """How a trace machine becomes a node's online pod (defaults: `colo sim`'s)."""

    request_share: float = 0.6
    """The online pod requests this share of the node's allocatable cpu and memory."""
    peak_to_request: float = 0.9
    """The pattern's peak (its 99th percentile) maps to this multiple of the request."""
    memory_usage_to_request: float = 0.7
    """Steady memory use, as a multiple of the memory request."""

    def __post_init__(self) -> None:
        for name, hi in (
            ("request_share", 1.0),
            ("peak_to_request", 2.0),
            ("memory_usage_to_request", 2.0),
        ):
            value = getattr(self, name)
            if not 0.0 < value <= hi:
                raise InvalidInput(
                    "out of range", obj="online model", field=name, value=value,
                    expected=f"a number in (0, {hi:g}]",
                )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReplayedPod:
    """A stand-in online pod's usage: the pattern, scaled."""

    assignment: Assignment
    peak_cpu_milli: float
    """cpu at the pattern's peak (pattern value 1)."""
    memory_bytes: int


def online_pod(node: Node, assignment: Assignment, model: OnlineModel) -> tuple[Pod, ReplayedPod]:
    """`node`'s stand-in online pod (LS, Burstable, Running there) and how it uses."""
    request = Resources.of(
        cpu_milli=round(node.allocatable.cpu_milli * model.request_share),
        memory_bytes=round(node.allocatable.memory_bytes * model.request_share),
    )
    pod = Pod(
        namespace=NAMESPACE,
        name=node.name,
        uid=f"trace-{node.name}",
        labels={"colo.io/trace-machine": assignment.machine.name},
        node_name=node.name,
        requests=request,
        phase="Running",
        tier=QoSTier.LS,
        qos_class="Burstable",
    )
    replayed = ReplayedPod(
        assignment,
        peak_cpu_milli=request.cpu_milli * model.peak_to_request,
        memory_bytes=round(request.memory_bytes * model.memory_usage_to_request),
    )
    return pod, replayed


class TraceUsageReader:
    """The usage port (`colo.ports.usage.UsageReader`) answered from trace machines.

    `origin_s` is the caller's clock at trace offset 0 of every pod; `speed` trace
    seconds pass per second of that clock. Pods are added with `add(uid, replayed)`;
    `read` answers for those and leaves every other pod out (it has no usage to tell).
    """

    def __init__(self, *, origin_s: float, speed: float = 1.0) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise InvalidInput("must be positive", obj="trace replay", field="speed", value=speed)
        self.origin_s = origin_s
        self.speed = speed
        self._pods: dict[str, ReplayedPod] = {}
        self._last: dict[str, float] = {}  # uid -> trace time of its previous read

    def add(self, uid: str, replayed: ReplayedPod) -> None:
        self._pods[uid] = replayed

    def trace_time(self, uid: str, now_s: float) -> float:
        """Where pod `uid`'s replay is at `now_s` (unwrapped: may exceed the span)."""
        replayed = self._pods[uid]
        return replayed.assignment.offset_s + self.speed * (now_s - self.origin_s)

    def available(self) -> bool:
        return True

    def read(self, pods: Sequence[PodCgroup], now_s: float) -> dict[str, PodSample]:
        out: dict[str, PodSample] = {}
        last: dict[str, float] = {}
        for pod in pods:
            replayed = self._pods.get(pod.uid)
            if replayed is None:
                continue
            tau = self.trace_time(pod.uid, now_s)
            previous = self._last.get(pod.uid)
            last[pod.uid] = tau
            if previous is None or not tau > previous:
                continue  # no interval to average over yet
            machine = replayed.assignment.machine
            # Before trace time 0 (a warm-up reaching back past the offset) the pattern's
            # end comes round again: shift both ends by whole spans.
            laps = math.floor(min(previous, 0.0) / machine.span_s)
            shift = -laps * machine.span_s
            share = machine.mean(previous + shift, tau + shift)
            out[pod.uid] = PodSample(
                cpu_cores=share * replayed.peak_cpu_milli / 1000.0,
                memory_bytes=replayed.memory_bytes,
            )
        self._last = last
        return out
