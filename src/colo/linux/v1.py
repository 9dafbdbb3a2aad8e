"""cgroup v1: a hierarchy per controller.

| setting        | file (controller)                                     | no limit |
|----------------|-------------------------------------------------------|----------|
| cpu_max        | cpu.cfs_quota_us, cpu.cfs_period_us (cpu)             | quota -1 |
| cpu_weight     | cpu.shares (cpu), converted from the weight, below    |          |
| cpu_idle       | cpu.idle (cpu; kernels since 5.15)                    |          |
| cpuset_*       | cpuset.cpus, cpuset.mems (cpuset)                     |          |
| memory_limit   | memory.limit_in_bytes (memory)                        | -1       |
| memory_high    | memory.soft_limit_in_bytes (memory)                   | -1       |
| io_max         | blkio.throttle.{read,write}_{bps,iops}_device (blkio) | 0        |
| reclaim        | memory.force_empty (memory)                           |          |

Weight → shares: the inverse of the kubelet's (runc's) shares → weight mapping,
`weight = 1 + (shares − 2) × 9999 / 262142` (integer division), so that a weight means
the same share of the cpu against the kubelet's own cgroups (pods, QoS classes) under
either version: `shares = 2 + ⌈(weight − 1) × 262142 / 9999⌉` (1 → 2, 39 → 999 ≈ one
cpu's 1024, 10000 → 262144). Reading back and converting again gives the same weight.

memory_high has no v1 file (upstream v1 has no memory.high): it maps to the soft limit,
the level above which the cgroup is reclaimed first — but only when the node runs short
of memory, where v2's memory.high throttles and reclaims the cgroup whenever it passes.

A CFS period change writes quota -1 first, then the period, then the quota: v1 checks
every quota against the parent's and the children's (per period) at each write, and an
unlimited quota always passes, so no intermediate state is refused.

PSI per cgroup: v1 has none. A hybrid node (systemd's `unified` cgroup2 tree mounted
under the root) keeps PSI for every cgroup in that tree, which holds the cgroups
systemd makes (the kubelet's systemd driver) but not the cgroupfs driver's.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from colo.core.cgroups import MAX
from colo.core.cgroupstats import CpuStat, MemoryStat, PressureStats
from colo.core.topology import format_cpuset, parse_cpuset
from colo.linux.driver import (
    Ask,
    CpuMax,
    Driver,
    FileWrite,
    Knob,
    Value,
    as_limit,
    page_rounded,
)
from colo.linux.files import Gone, flat_keyed, read_or_gone, read_pressure

#: v1 reports "no limit" as PAGE_COUNTER_MAX pages; anything this large is unlimited
_UNLIMITED = 2**62
_SHARES_MIN, _SHARES_MAX = 2, 262_144


def weight_to_shares(weight: int) -> int:
    """v1 cpu.shares for a v2 cpu weight (module docstring)."""
    return _SHARES_MIN + -(-(weight - 1) * (_SHARES_MAX - _SHARES_MIN) // 9999)


def shares_to_weight(shares: int) -> int:
    """The kubelet's (runc's) mapping of cpu.shares to a v2 weight."""
    return 1 + (shares - _SHARES_MIN) * 9999 // (_SHARES_MAX - _SHARES_MIN)


def _io_file(field: str) -> str:
    return f"blkio.throttle.{field}_device"


_FILES = {
    "cpu_max": "cpu.cfs_quota_us",
    "cpu_idle": "cpu.idle",
    "cpu_weight": "cpu.shares",
    "cpuset_cpus": "cpuset.cpus",
    "cpuset_mems": "cpuset.mems",
    "memory_limit": "memory.limit_in_bytes",
    "memory_high": "memory.soft_limit_in_bytes",
}


class V1Driver(Driver):
    version = 1

    def file(self, knob: Knob) -> str:
        return _io_file(knob.field) if knob.name == "io_max" else _FILES[knob.name]

    def _text(self, cgroup: PurePosixPath, knob: Knob, name: str | None = None) -> str:
        d = self.dir(knob.controller, cgroup)
        if d is None:
            raise FileNotFoundError(2, "controller not mounted", self.file(knob))
        return self.files.read(d / (name or self.file(knob))).strip()

    def read(self, cgroup: PurePosixPath, knob: Knob) -> Value:
        text = self._text(cgroup, knob)
        match knob.name:
            case "cpu_max":
                quota = int(text)
                period = int(self._text(cgroup, knob, "cpu.cfs_period_us"))
                return CpuMax(MAX if quota < 0 else quota, period)
            case "cpu_idle":
                return text == "1"
            case "cpu_weight":
                return int(text)
            case "cpuset_cpus" | "cpuset_mems":
                return parse_cpuset(text)
            case "memory_limit" | "memory_high":
                limit = int(text)
                return MAX if limit < 0 or limit >= _UNLIMITED else limit
            case "io_max":
                for line in text.splitlines():
                    device, _, value = line.partition(" ")
                    if device == knob.device:
                        return int(value) or MAX
                return MAX
        raise AssertionError(knob)

    def desired(self, knob: Knob, ask: Ask, current: Value) -> Value:
        if knob.name == "cpu_max":
            assert isinstance(ask, tuple) and isinstance(current, CpuMax)
            quota, period = ask
            return CpuMax(
                current.quota_us if quota is None else quota,
                current.period_us if period is None else period,
            )
        if knob.name == "cpu_weight":
            assert isinstance(ask, int)
            return weight_to_shares(ask)
        if knob.name in ("memory_limit", "memory_high"):
            return page_rounded(as_limit(ask))
        assert not isinstance(ask, tuple)
        return ask

    def render(
        self, cgroup: PurePosixPath, knob: Knob, current: Value, value: Value
    ) -> list[FileWrite]:
        d = self.dir(knob.controller, cgroup)
        assert d is not None, "read() found the file"
        match knob.name:
            case "cpu_max":
                assert isinstance(current, CpuMax) and isinstance(value, CpuMax)
                quota = d / "cpu.cfs_quota_us"
                q = "-1" if value.quota_us == MAX else str(value.quota_us)
                if value.period_us == current.period_us:
                    return [FileWrite(quota, q)]
                writes = [] if current.quota_us == MAX else [FileWrite(quota, "-1")]
                writes.append(FileWrite(d / "cpu.cfs_period_us", str(value.period_us)))
                return writes + ([] if value.quota_us == MAX else [FileWrite(quota, q)])
            case "cpu_idle":
                return [FileWrite(d / "cpu.idle", "1" if value else "0")]
            case "cpuset_cpus" | "cpuset_mems":
                assert isinstance(value, frozenset)
                return [FileWrite(d / self.file(knob), format_cpuset(value))]
            case "memory_limit" | "memory_high":
                return [FileWrite(d / self.file(knob), "-1" if value == MAX else str(value))]
            case "io_max":
                bps = as_limit(value)
                return [FileWrite(d / self.file(knob), f"{knob.device} {0 if bps == MAX else bps}")]
        return [FileWrite(d / self.file(knob), str(value))]

    def reclaim(self, cgroup: PurePosixPath, amount: int | None) -> list[FileWrite]:
        # force_empty reclaims all it can; it takes no amount
        d = self.dir("memory", cgroup)
        assert d is not None
        return [FileWrite(d / "memory.force_empty", "0")]

    def missing(self, cgroup: PurePosixPath, knob: Knob) -> str:
        if self.hierarchy.of(knob.controller) is None:
            name = "blkio" if knob.controller == "io" else knob.controller
            return f"the {name} controller is not mounted under the cgroup root"
        return f"the kernel has no {self.file(knob)} (too old, or built without it)"

    # --- reads ---------------------------------------------------------------------
    def cpu_stat(self, cgroup: PurePosixPath) -> CpuStat:
        usage = int(read_or_gone(self.files, self.hierarchy.cpuacct / cgroup / "cpuacct.usage"))
        stat: dict[str, int] = {}
        cpu = self.dir("cpu", cgroup)
        if cpu is not None:
            try:
                stat = flat_keyed(read_or_gone(self.files, cpu / "cpu.stat"))
            except Gone:
                stat = {}  # in cpuacct but not (yet) in cpu: no throttling to show
        return CpuStat(
            usage_ns=usage,
            nr_periods=stat.get("nr_periods", 0),
            nr_throttled=stat.get("nr_throttled", 0),
            throttled_ns=stat.get("throttled_time", 0),
        )

    def node_task_ns(self) -> int:
        # The root's cpuacct.usage: every task charges its run time up to the root.
        if self.hierarchy.node is None:
            raise ValueError("no node root cgroup in this hierarchy")
        return int(read_or_gone(self.files, self.hierarchy.node / "cpuacct.usage"))

    def memory_stat(self, cgroup: PurePosixPath) -> MemoryStat:
        d = self.hierarchy.memory / cgroup
        usage = int(read_or_gone(self.files, d / "memory.usage_in_bytes"))
        stat = flat_keyed(read_or_gone(self.files, d / "memory.stat"))
        # total_*: hierarchical (a pod's pages are charged to its containers' cgroups)
        inactive = stat.get("total_inactive_file", stat.get("inactive_file", 0))
        return MemoryStat(
            usage_bytes=usage,
            working_set_bytes=max(0, usage - inactive),
            file_bytes=stat.get("total_cache", stat.get("cache", 0)),
        )

    def pressure(self, cgroup: PurePosixPath) -> PressureStats | None:
        unified = self.hierarchy.unified
        if unified is None or not self.files.is_dir(unified / cgroup):
            return None
        d = unified / cgroup
        return PressureStats(
            cpu=read_pressure(self.files, d / "cpu.pressure"),
            memory=read_pressure(self.files, d / "memory.pressure"),
            io=read_pressure(self.files, d / "io.pressure"),
        )
