"""A cgroup version's files, behind one interface the executor and the readers use.

colo's settings (`Knob`s, named as `colo.core.cgroups.CgroupIntent`'s fields) map to a
file per version (`colo.linux.v1`, `colo.linux.v2`; docs/linux.md has the table). A
driver reads a setting's current value, turns what an intent asks into the value the
file will hold (the *file domain*: v1 weights as cpu.shares, memory rounded down to
whole pages as the kernel stores it), and renders a value as the writes that set it. It
never writes: `colo.linux.executor` does, and compares values in the file domain, so a
value the kernel keeps reads back equal to what was asked and is not written again.
"""

from __future__ import annotations

import errno
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import ClassVar, Literal

from colo.core.cgroups import MAX, CgroupIntent, Limit
from colo.core.cgroupstats import CpuStat, MemoryStat, PressureStats
from colo.core.topology import format_cpuset
from colo.linux.files import KernelFiles
from colo.linux.layout import Controller, Hierarchy

KnobName = Literal[
    "cpu_max",
    "cpu_idle",
    "cpu_weight",
    "cpuset_cpus",
    "cpuset_mems",
    "memory_limit",
    "memory_high",
    "io_max",
]
#: the order of a cgroup's settings: idle before weight (an idle cgroup refuses a
#: weight, so leaving idle must come first)
KNOB_ORDER: tuple[KnobName, ...] = (
    "cpu_idle", "cpu_weight", "cpu_max", "cpuset_cpus", "cpuset_mems",
    "memory_limit", "memory_high", "io_max",
)  # fmt: skip
#: Settings whose child must stay within its parent: the v1 kernel refuses a child's
#: cpuset outside its parent's and a child's quota (per period) above its parent's; v2
#: takes either but only the tighter one acts. The executor orders their writes.
HIERARCHICAL: frozenset[KnobName] = frozenset(
    {"cpu_max", "cpuset_cpus", "cpuset_mems", "memory_limit", "memory_high"}
)
_CONTROLLER: dict[KnobName, Controller] = {
    "cpu_max": "cpu", "cpu_idle": "cpu", "cpu_weight": "cpu",
    "cpuset_cpus": "cpuset", "cpuset_mems": "cpuset",
    "memory_limit": "memory", "memory_high": "memory", "io_max": "io",
}  # fmt: skip
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class Knob:
    """One setting of a cgroup; `io_max` settings are per device and field."""

    name: KnobName
    device: str = ""
    field: str = ""

    @property
    def label(self) -> str:
        """colo's name of it: `cpu_weight`, `io_max[254:0].read_bps`."""
        return f"io_max[{self.device}].{self.field}" if self.device else self.name

    @property
    def controller(self) -> Controller:
        return _CONTROLLER[self.name]

    @property
    def hierarchical(self) -> bool:
        return self.name in HIERARCHICAL


@dataclass(frozen=True, slots=True)
class CpuMax:
    """CFS bandwidth: `quota_us` of cpu time every `period_us` (quota MAX: no limit)."""

    quota_us: Limit
    period_us: int

    def cores(self) -> float:
        return float("inf") if self.quota_us == MAX else int(self.quota_us) / self.period_us


#: a setting's value in the file domain
Value = CpuMax | Limit | bool | frozenset[int]
#: what an intent asks of a setting: the field's value; for cpu_max (quota, period),
#: either None to keep the current one
Ask = Value | tuple[Limit | None, int | None]


@dataclass(frozen=True, slots=True)
class FileWrite:
    path: Path
    text: str


def asks(intent: CgroupIntent) -> list[tuple[Knob, Ask]]:
    """The settings an intent asks for, in `KNOB_ORDER`."""
    out: list[tuple[Knob, Ask]] = []
    if intent.cpu_idle is not None:
        out.append((Knob("cpu_idle"), intent.cpu_idle))
    if intent.cpu_weight is not None:
        out.append((Knob("cpu_weight"), intent.cpu_weight))
    if intent.cpu_quota_us is not None or intent.cpu_period_us is not None:
        out.append((Knob("cpu_max"), (intent.cpu_quota_us, intent.cpu_period_us)))
    for name in ("cpuset_cpus", "cpuset_mems", "memory_limit", "memory_high"):
        value = getattr(intent, name)
        if value is not None:
            out.append((Knob(name), value))
    for io in intent.io_max:
        out += [(Knob("io_max", io.device, f), v) for f, v in io.fields().items()]
    return out


def widen(knob: Knob, current: Value, desired: Value) -> Value:
    """The value that admits both `current` and `desired` where that is one of them or
    their union: the larger quota (by cores), the union of cpusets, the larger memory
    limit. What a parent holds while its children move from one to the other."""
    if isinstance(current, CpuMax) and isinstance(desired, CpuMax):
        return desired if desired.cores() >= current.cores() else current
    if isinstance(current, frozenset) and isinstance(desired, frozenset):
        return current | desired
    if knob.name in ("memory_limit", "memory_high"):
        if current == MAX or desired == MAX:
            return MAX
        return max(as_limit(current), as_limit(desired))
    return desired


def as_limit(value: object) -> Limit:
    """`value`, known to be a limit (MAX or an integer)."""
    if value == MAX:
        return MAX
    assert isinstance(value, int) and not isinstance(value, bool), value
    return value


def show(value: Value) -> str:
    """A value as reports and logs show it."""
    if isinstance(value, CpuMax):
        return f"{value.quota_us} {value.period_us}"
    if isinstance(value, frozenset):
        return format_cpuset(value)
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def page_rounded(limit: Limit) -> Limit:
    """A memory limit as the kernel stores it: whole pages, rounded down."""
    return MAX if limit == MAX else int(limit) // PAGE_SIZE * PAGE_SIZE


#: what an errno from writing a file means, by the file's name
_HINTS: dict[tuple[str, int], str] = {
    ("cpu.cfs_quota_us", errno.EINVAL): "v1 refuses a quota (per period) above the "
    "parent's or below a child's",
    ("cpu.shares", errno.EINVAL): "the cgroup is idle (cpu.idle=1), or out of range",
    ("cpu.weight", errno.EINVAL): "the cgroup is idle (cpu.idle=1), or out of range",
    ("cpuset.cpus", errno.EACCES): "not within the parent's cpuset",
    ("cpuset.mems", errno.EACCES): "not within the parent's cpuset",
    ("cpuset.cpus", errno.EBUSY): "a child's cpuset uses ids outside the new one",
    ("cpuset.mems", errno.EBUSY): "a child's cpuset uses ids outside the new one",
    ("cpuset.cpus", errno.ENOSPC): "an empty cpuset, with tasks in the cgroup",
    ("cpuset.cpus", errno.EINVAL): "ids the node does not have",
    ("cpuset.mems", errno.EINVAL): "ids the node does not have",
    ("memory.limit_in_bytes", errno.EBUSY): "usage above it could not be reclaimed",
    ("memory.max", errno.EBUSY): "usage above it could not be reclaimed",
    ("memory.reclaim", errno.EAGAIN): "could not reclaim that much",
}


def hint(file: str, code: int | None) -> str:
    if file.startswith("blkio.throttle.") or file == "io.max":
        return "no such block device" if code == errno.ENODEV else ""
    return _HINTS.get((file, code or 0), "")


class Driver(ABC):
    """A cgroup version's files under one kubelet cgroup root (`hierarchy`)."""

    version: ClassVar[Literal[1, 2]]

    def __init__(self, hierarchy: Hierarchy, files: KernelFiles) -> None:
        self.hierarchy = hierarchy
        self.files = files

    def dir(self, controller: Controller, cgroup: PurePosixPath) -> Path | None:
        """The cgroup's directory in `controller`'s hierarchy (None: not mounted)."""
        top = self.hierarchy.of(controller)
        return top / cgroup if top is not None else None

    def exists(self, cgroup: PurePosixPath, controller: Controller) -> bool:
        d = self.dir(controller, cgroup)
        return d is not None and self.files.is_dir(d)

    def path(self, cgroup: PurePosixPath, knob: Knob) -> Path | None:
        d = self.dir(knob.controller, cgroup)
        return d / self.file(knob) if d is not None else None

    # --- settings ------------------------------------------------------------------
    @abstractmethod
    def file(self, knob: Knob) -> str:
        """The file holding `knob` (the first of several, for v1's cpu_max)."""

    @abstractmethod
    def read(self, cgroup: PurePosixPath, knob: Knob) -> Value:
        """The setting's value now, in the file domain. OSError as the file gives it."""

    @abstractmethod
    def desired(self, knob: Knob, ask: Ask, current: Value) -> Value:
        """What `ask` is in the file domain (with `current` filling what it leaves)."""

    @abstractmethod
    def render(
        self, cgroup: PurePosixPath, knob: Knob, current: Value, value: Value
    ) -> list[FileWrite]:
        """The writes, in order, that take the setting from `current` to `value`."""

    @abstractmethod
    def reclaim(self, cgroup: PurePosixPath, amount: int | None) -> list[FileWrite]:
        """The writes that reclaim the cgroup's page cache ([] when there is none)."""

    @abstractmethod
    def missing(self, cgroup: PurePosixPath, knob: Knob) -> str:
        """Why the cgroup has no file for `knob` (its directory exists)."""

    # --- reads ---------------------------------------------------------------------
    @abstractmethod
    def cpu_stat(self, cgroup: PurePosixPath) -> CpuStat:
        """Raises files.Gone when the cgroup is not there."""

    @abstractmethod
    def memory_stat(self, cgroup: PurePosixPath) -> MemoryStat:
        """Raises files.Gone when the cgroup is not there."""

    @abstractmethod
    def node_task_ns(self) -> int:
        """The cpu time every task on the node has run, ns, as the scheduler counts it
        (not the tick-sampled /proc/stat). Raises files.Gone or Retryable when it
        cannot be read, ValueError when the hierarchy has no node root."""

    @abstractmethod
    def pressure(self, cgroup: PurePosixPath) -> PressureStats | None:
        """None when the kernel keeps no PSI for the cgroup (or it is gone)."""
