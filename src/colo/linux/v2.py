"""cgroup v2: one unified tree.

| setting        | file           | format the kernel reads and writes                   |
|----------------|----------------|------------------------------------------------------|
| cpu_max        | cpu.max        | `$QUOTA $PERIOD`, quota `max` for none               |
| cpu_weight     | cpu.weight     | 1–10000                                              |
| cpu_idle       | cpu.idle       | 0 or 1                                               |
| cpuset_*       | cpuset.cpus, cpuset.mems | a cpu list; empty = the parent's           |
| memory_limit   | memory.max     | bytes or `max`                                       |
| memory_high    | memory.high    | bytes or `max`                                       |
| io_max         | io.max         | `MAJ:MIN rbps=N wbps=N riops=N wiops=N` per device;  |
|                |                | a write names one device and the keys it changes     |
| reclaim        | memory.reclaim | bytes to reclaim (write only; EAGAIN if it could not)|

A controller's files exist in a cgroup only when its parent lists the controller in
`cgroup.subtree_control`. colo enables none: the kubelet (or systemd) enables cpu,
cpuset, io and memory down to every pod, and colo's box is the kubelet's BestEffort
cgroup. A missing file is reported naming the controller that is not enabled.
Unlike v1, every cgroup here has PSI files (cpu/memory/io.pressure) and a cpu.stat with
usage_usec, with or without controllers.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from colo.core.cgroups import MAX, Limit
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
from colo.linux.files import Gone, flat_keyed, nested_keyed, read_or_gone, read_pressure

_FILES = {
    "cpu_max": "cpu.max",
    "cpu_idle": "cpu.idle",
    "cpu_weight": "cpu.weight",
    "cpuset_cpus": "cpuset.cpus",
    "cpuset_mems": "cpuset.mems",
    "memory_limit": "memory.max",
    "memory_high": "memory.high",
    "io_max": "io.max",
}
#: io.max's keys for colo's io fields
IO_KEYS = {"read_bps": "rbps", "write_bps": "wbps", "read_iops": "riops", "write_iops": "wiops"}


def _limit(text: str) -> Limit:
    return MAX if text == MAX else int(text)


class V2Driver(Driver):
    version = 2

    def file(self, knob: Knob) -> str:
        return _FILES[knob.name]

    def read(self, cgroup: PurePosixPath, knob: Knob) -> Value:
        path = self.path(cgroup, knob)
        assert path is not None, "one tree holds every controller"
        text = self.files.read(path).strip()
        match knob.name:
            case "cpu_max":
                quota, _, period = text.partition(" ")
                return CpuMax(_limit(quota), int(period))
            case "cpu_idle":
                return text == "1"
            case "cpu_weight":
                return int(text)
            case "cpuset_cpus" | "cpuset_mems":
                return parse_cpuset(text)
            case "memory_limit" | "memory_high":
                return _limit(text)
            case "io_max":
                keys = nested_keyed(text).get(knob.device, {})
                return _limit(keys.get(IO_KEYS[knob.field], MAX))
        raise AssertionError(knob)

    def desired(self, knob: Knob, ask: Ask, current: Value) -> Value:
        if knob.name == "cpu_max":
            assert isinstance(ask, tuple) and isinstance(current, CpuMax)
            quota, period = ask
            return CpuMax(
                current.quota_us if quota is None else quota,
                current.period_us if period is None else period,
            )
        if knob.name in ("memory_limit", "memory_high"):
            return page_rounded(as_limit(ask))
        assert not isinstance(ask, tuple)
        return ask

    def render(
        self, cgroup: PurePosixPath, knob: Knob, current: Value, value: Value
    ) -> list[FileWrite]:
        path = self.path(cgroup, knob)
        assert path is not None
        match knob.name:
            case "cpu_max":
                assert isinstance(value, CpuMax)
                return [FileWrite(path, f"{value.quota_us} {value.period_us}")]
            case "cpu_idle":
                return [FileWrite(path, "1" if value else "0")]
            case "cpuset_cpus" | "cpuset_mems":
                assert isinstance(value, frozenset)
                return [FileWrite(path, format_cpuset(value))]
            case "io_max":
                return [FileWrite(path, f"{knob.device} {IO_KEYS[knob.field]}={value}")]
        return [FileWrite(path, str(value))]

    def reclaim(self, cgroup: PurePosixPath, amount: int | None) -> list[FileWrite]:
        d = self.hierarchy.memory / cgroup
        if amount is None:
            amount = self.memory_stat(cgroup).file_bytes
        return [FileWrite(d / "memory.reclaim", str(amount))] if amount > 0 else []

    def missing(self, cgroup: PurePosixPath, knob: Knob) -> str:
        d = self.hierarchy.memory / cgroup
        try:
            enabled = self.files.read(d / "cgroup.controllers").split()
        except OSError:
            enabled = []
        if knob.controller not in enabled:
            return (
                f"the {knob.controller} controller is not enabled for this cgroup (its "
                f"parent's cgroup.subtree_control lacks it; enabled: {' '.join(enabled) or 'none'})"
            )
        return f"the kernel has no {self.file(knob)}"

    # --- reads ---------------------------------------------------------------------
    def cpu_stat(self, cgroup: PurePosixPath) -> CpuStat:
        stat = flat_keyed(read_or_gone(self.files, self.hierarchy.cpuacct / cgroup / "cpu.stat"))
        return CpuStat(
            usage_ns=stat["usage_usec"] * 1000,
            nr_periods=stat.get("nr_periods", 0),
            nr_throttled=stat.get("nr_throttled", 0),
            throttled_ns=stat.get("throttled_usec", 0) * 1000,
        )

    def node_task_ns(self) -> int:
        # The root's own cpu.stat is built from the tick-sampled counters /proc/stat
        # shows (the kernel's root_cgroup_cputime), so the root's children are summed
        # instead; threads left in the root itself (kernel threads) are not counted, and a
        # top-level cgroup removed between two reads takes its time out of the sum (that
        # round's system use reads low; the sampler clips its rates at 0).
        root = self.hierarchy.node
        if root is None:
            raise ValueError("no node root cgroup in this hierarchy")
        total = 0
        for name in self.files.children(root):
            try:
                stat = flat_keyed(read_or_gone(self.files, root / name / "cpu.stat"))
            except Gone:
                continue  # removed since it was listed
            total += stat.get("usage_usec", 0)
        return total * 1000

    def memory_stat(self, cgroup: PurePosixPath) -> MemoryStat:
        d = self.hierarchy.memory / cgroup
        usage = int(read_or_gone(self.files, d / "memory.current"))
        stat = flat_keyed(read_or_gone(self.files, d / "memory.stat"))
        return MemoryStat(
            usage_bytes=usage,
            working_set_bytes=max(0, usage - stat.get("inactive_file", 0)),
            file_bytes=stat.get("file", 0),
        )

    def pressure(self, cgroup: PurePosixPath) -> PressureStats | None:
        d = self.hierarchy.cpuacct / cgroup
        if not self.files.is_dir(d):
            return None
        return PressureStats(
            cpu=read_pressure(self.files, d / "cpu.pressure"),
            memory=read_pressure(self.files, d / "memory.pressure"),
            io=read_pressure(self.files, d / "io.pressure"),
        )
