"""What the kernel adapter reads: a cgroup's cpu, memory and pressure, the node's
pressure, and the kubelet's pod tree as found on the node.

Cumulative counters stay counters (nanoseconds, microseconds, counts): rates are the
caller's business, over its own clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

from colo.core.qos import KubernetesQoSClass


@dataclass(frozen=True, slots=True)
class CpuStat:
    """Cumulative cpu time and CFS throttling of a cgroup and everything below it.

    `usage_ns` from v1 `cpuacct.usage` or v2 `cpu.stat` usage_usec × 1000;
    `nr_periods`/`nr_throttled`: CFS periods with runnable tasks / that hit the quota;
    `throttled_ns`: time spent throttled (v1 cpu.stat throttled_time, v2 throttled_usec ×
    1000). All zero for a cgroup without a quota.
    """

    usage_ns: int
    nr_periods: int
    nr_throttled: int
    throttled_ns: int


@dataclass(frozen=True, slots=True)
class MemoryStat:
    """Memory charged to a cgroup and everything below it, in bytes.

    `working_set_bytes` = usage − inactive file pages (≥ 0), what the kubelet evicts on;
    `file_bytes`: page cache (v1 memory.stat total_cache, v2 file), what a reclaim
    intent can give back.
    """

    usage_bytes: int
    working_set_bytes: int
    file_bytes: int


@dataclass(frozen=True, slots=True)
class CpuSettings:
    """A cgroup's cpu settings as they are now: what a restarted agent finds and adopts.

    `quota_us` of cpu time every `period_us` (None: no CFS limit); `cpus` the cpuset
    (None: no cpuset controller for the cgroup, or an empty v2 `cpuset.cpus`, which
    means the parent's).
    """

    quota_us: int | None
    period_us: int
    cpus: frozenset[int] | None

    @property
    def limit_milli(self) -> float | None:
        """The quota in millicores (None: no limit)."""
        return None if self.quota_us is None else 1000.0 * self.quota_us / self.period_us


@dataclass(frozen=True, slots=True)
class PressureLine:
    """One line of a PSI file: the share of wall time (percent, 0–100) in which some (or
    all) tasks stalled on the resource, averaged over 10, 60 and 300 s, and the
    cumulative stall time in µs."""

    avg10: float
    avg60: float
    avg300: float
    total_us: int


@dataclass(frozen=True, slots=True)
class Pressure:
    """A PSI file: `some` task stalled; `full`: every non-idle task stalled at once
    (None where the kernel writes no such line, e.g. cpu before 5.13)."""

    some: PressureLine
    full: PressureLine | None


@dataclass(frozen=True, slots=True)
class PressureStats:
    """cpu, memory and io pressure; each None when the kernel keeps none there."""

    cpu: Pressure | None
    memory: Pressure | None
    io: Pressure | None


#: the kubelet's cgroup drivers
CgroupDriver = Literal["cgroupfs", "systemd"]


@dataclass(frozen=True, slots=True)
class ScannedContainer:
    """A cgroup below a pod's: a container (or the pod's sandbox). `runtime` is what its
    name says (`cri-containerd`, `crio`, `crio-conmon`, `docker`) or "" when the name
    carries none (the cgroupfs driver names containers by bare id)."""

    id: str
    runtime: str
    cgroup: PurePosixPath


@dataclass(frozen=True, slots=True)
class ScannedPod:
    uid: str
    qos_class: KubernetesQoSClass
    cgroup: PurePosixPath
    containers: tuple[ScannedContainer, ...]


@dataclass(frozen=True, slots=True)
class KubeletTree:
    """The kubelet's pod tree as found under one cgroup driver.

    `kubepods`: the cgroup holding every pod; `qos`: each QoS class's cgroup (the
    Guaranteed class is `kubepods` itself); `box`: the offline box, the cgroup colo
    governs as the parent of all offline work — the kubelet's BestEffort QoS cgroup
    (see docs/linux.md for why); `pods`: what is there, in name order.
    """

    driver: CgroupDriver
    kubepods: PurePosixPath
    qos: dict[KubernetesQoSClass, PurePosixPath]
    box: PurePosixPath
    pods: tuple[ScannedPod, ...]
