"""What the node agent asks of a cgroup, and what the kernel adapter answers.

colo's own vocabulary, the same for cgroup v1 and v2 (`colo.linux` translates it):

- a cgroup is a `PurePosixPath` relative to the kubelet's cgroup root (its
  `--cgroup-root`), e.g. `kubepods/besteffort` or
  `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_>.slice`;
- limits are integers in the unit their name says, or `MAX` ("max": no limit);
- cpu weight is v2's 1–10000 (100 the default); the v1 driver converts it to
  `cpu.shares` the way the kubelet relates the two;
- a field left `None` (or an empty `io_max`) is left alone: an intent says only what it
  wants changed, so intents from several strategies compose.

Strategies return intents; `colo.linux`'s executor, the only writer of cgroup files,
applies them and answers with an `ApplyReport`. Constructors validate: an intent the
kernel could never accept is a bug in its caller and fails here, loudly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Final, Literal

from colo.core.errors import InvalidInput

#: No limit (`max` in v2's files; v1 writes -1 or 0, see `colo.linux`).
MAX: Final = "max"
#: A limit: a positive integer in the field's unit, or MAX.
Limit = int | Literal["max"]

#: v2's cpu.weight range and default; v1's cpu.shares is derived from it.
CPU_WEIGHT_MIN, CPU_WEIGHT_DEFAULT, CPU_WEIGHT_MAX = 1, 100, 10_000
#: The kernel's bounds on the CFS period and the smallest quota (µs).
CPU_PERIOD_MIN_US, CPU_PERIOD_MAX_US, CPU_QUOTA_MIN_US = 1_000, 1_000_000, 1_000

_DEVICE = re.compile(r"^\d+:\d+$")


def cgroup_path(path: str | PurePosixPath) -> PurePosixPath:
    """`path` as a cgroup below the kubelet's root: relative, without `.` or `..` parts.

    Raises InvalidInput for an absolute path, an empty one or one that climbs.
    """
    p = PurePosixPath(path)
    text = str(path)
    if p.is_absolute() or text in ("", ".") or ".." in p.parts or "." in text.split("/"):
        raise InvalidInput(
            "not a cgroup below the kubelet's cgroup root",
            obj="cgroup intent",
            field="cgroup",
            value=text,
            expected="a relative path without . or .. parts, e.g. kubepods/besteffort",
        )
    return p


def _limit(obj: str, name: str, value: Limit | None, *, minimum: int = 1) -> None:
    if value is None or value == MAX:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(
            "invalid limit", obj=obj, field=name, value=value,
            expected=f"an integer >= {minimum}, {MAX!r} (no limit) or None (leave alone)",
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class IoLimit:
    """Block I/O limits of one device (`MAJ:MIN`, as /proc/partitions numbers it): bytes
    and operations per second, each `MAX` or left alone (`None`)."""

    device: str
    read_bps: Limit | None = None
    write_bps: Limit | None = None
    read_iops: Limit | None = None
    write_iops: Limit | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.device, str) or not _DEVICE.match(self.device):
            raise InvalidInput(
                "invalid block device", obj="io limit", field="device", value=self.device,
                expected="MAJ:MIN, e.g. 254:0",
            )  # fmt: skip
        for name in IO_FIELDS:
            _limit(f"io limit of {self.device}", name, getattr(self, name))

    def fields(self) -> dict[str, Limit]:
        """The limits this asks for, by field name (those left alone omitted)."""
        return {n: v for n in IO_FIELDS if (v := getattr(self, n)) is not None}


IO_FIELDS: Final = ("read_bps", "write_bps", "read_iops", "write_iops")


@dataclass(frozen=True, slots=True)
class CgroupIntent:
    """The settings one cgroup should have. Units: µs for the CFS quota and period (the
    cgroup may use `cpu_quota_us` of cpu time every `cpu_period_us`), bytes for memory.

    - `cpu_idle`: SCHED_IDLE for the whole cgroup (runs only when nothing else would).
      The kernel refuses a weight on an idle cgroup, so the two cannot be asked together.
    - `memory_high`: the level above which the kernel reclaims the cgroup's memory before
      anyone else's, without killing (v2 memory.high; v1 memory.soft_limit_in_bytes,
      which acts only when the node runs short — see docs/linux.md).
    - `memory_limit`: the hard limit (v2 memory.max, v1 memory.limit_in_bytes).
    - `cpuset_cpus`, `cpuset_mems`: cpu and NUMA node ids; a child's must lie within its
      parent's (the executor orders the writes so they do).
    """

    cgroup: PurePosixPath
    cpu_quota_us: Limit | None = None
    cpu_period_us: int | None = None
    cpu_weight: int | None = None
    cpu_idle: bool | None = None
    cpuset_cpus: frozenset[int] | None = None
    cpuset_mems: frozenset[int] | None = None
    memory_high: Limit | None = None
    memory_limit: Limit | None = None
    io_max: tuple[IoLimit, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "cgroup", cgroup_path(self.cgroup))
        obj = f"cgroup intent for {self.cgroup}"
        _limit(obj, "cpu_quota_us", self.cpu_quota_us, minimum=CPU_QUOTA_MIN_US)
        period = self.cpu_period_us
        if period is not None and (
            isinstance(period, bool)
            or not isinstance(period, int)
            or not CPU_PERIOD_MIN_US <= period <= CPU_PERIOD_MAX_US
        ):
            raise InvalidInput(
                "invalid cfs period", obj=obj, field="cpu_period_us", value=period,
                expected=f"microseconds in [{CPU_PERIOD_MIN_US}, {CPU_PERIOD_MAX_US}]",
            )  # fmt: skip
        weight = self.cpu_weight
        if weight is not None and (
            isinstance(weight, bool)
            or not isinstance(weight, int)
            or not CPU_WEIGHT_MIN <= weight <= CPU_WEIGHT_MAX
        ):
            raise InvalidInput(
                "invalid cpu weight", obj=obj, field="cpu_weight", value=weight,
                expected=f"an integer in [{CPU_WEIGHT_MIN}, {CPU_WEIGHT_MAX}]",
            )  # fmt: skip
        if self.cpu_idle and weight is not None:
            raise InvalidInput(
                "an idle cgroup has no weight (the kernel rejects cpu.weight/cpu.shares "
                "writes to it)", obj=obj, field="cpu_weight", value=weight,
                expected="None when cpu_idle is True",
            )  # fmt: skip
        for name in ("cpuset_cpus", "cpuset_mems"):
            ids = getattr(self, name)
            if ids is None:
                continue
            object.__setattr__(self, name, frozenset(ids))
            if not ids or any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in ids):
                raise InvalidInput(
                    "invalid cpuset", obj=obj, field=name, value=sorted(ids) if ids else ids,
                    expected="a non-empty set of ids >= 0 (an empty cpuset leaves the "
                    "cgroup's tasks nowhere to run)",
                )  # fmt: skip
        for name in ("memory_high", "memory_limit"):
            _limit(obj, name, getattr(self, name))
        object.__setattr__(self, "io_max", tuple(self.io_max))
        devices = [io.device for io in self.io_max]
        if len(set(devices)) != len(devices):
            raise InvalidInput(
                "a device twice", obj=obj, field="io_max", value=devices,
                expected="one IoLimit per device",
            )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReclaimIntent:
    """Reclaim the cgroup's page cache now: v1 `memory.force_empty` (as much as it can;
    `bytes` is ignored), v2 `memory.reclaim` of `bytes`, or of the cgroup's file pages
    (memory.stat `file`) when `bytes` is None. Never skipped: it is an action, not a
    setting."""

    cgroup: PurePosixPath
    bytes: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "cgroup", cgroup_path(self.cgroup))
        if self.bytes is not None and (
            isinstance(self.bytes, bool) or not isinstance(self.bytes, int) or self.bytes < 1
        ):
            raise InvalidInput(
                "invalid amount", obj=f"reclaim of {self.cgroup}", field="bytes",
                value=self.bytes, expected="a positive number of bytes, or None",
            )  # fmt: skip


Intent = CgroupIntent | ReclaimIntent


@dataclass(frozen=True, slots=True)
class FileChange:
    """One setting's fate: the cgroup, colo's name for the setting (`knob`: an intent's
    field such as `cpu_weight`, `cpu_max` for quota and period together,
    `io_max[254:0].read_bps` or `reclaim`), the kernel's file and the value in the file's
    format, and why it failed (empty unless it did)."""

    cgroup: PurePosixPath
    knob: str
    file: str
    value: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What one `apply` did.

    - `written`: every file write, in the order made (a setting may take two: widened
      on the way down the tree, then narrowed on the way up; see `colo.linux.executor`);
    - `unchanged`: settings the cgroup already had, so nothing was written;
    - `failed`: settings the kernel refused, or whose file is missing or read-only;
    - `gone`: cgroups that vanished (a pod deleted meanwhile): not an error.
    """

    written: tuple[FileChange, ...] = ()
    unchanged: tuple[FileChange, ...] = ()
    failed: tuple[FileChange, ...] = ()
    gone: tuple[PurePosixPath, ...] = ()

    def counts(self) -> dict[str, int]:
        """For metrics: `{"written": n, "unchanged": n, "failed": n, "gone": n}`."""
        return {
            "written": len(self.written),
            "unchanged": len(self.unchanged),
            "failed": len(self.failed),
            "gone": len(self.gone),
        }
