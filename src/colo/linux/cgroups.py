"""`LinuxCgroups`: the cgroup port (`colo.ports.cgroups.Cgroups`) on the node's cgroup
filesystem — reads through the version's driver, writes through the executor."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Literal

from colo.core.cgroups import MAX, ApplyReport, Intent
from colo.core.cgroupstats import CpuSettings, CpuStat, KubeletTree, MemoryStat, PressureStats
from colo.core.errors import Permanent, Retryable
from colo.linux.driver import CpuMax, Driver, Knob
from colo.linux.executor import Executor
from colo.linux.files import Gone, KernelFiles, read_pressure
from colo.linux.layout import Hierarchy, find_hierarchy
from colo.linux.tree import scan
from colo.linux.v1 import V1Driver
from colo.linux.v2 import V2Driver


def driver_for(hierarchy: Hierarchy, files: KernelFiles | None = None) -> Driver:
    """The driver of the hierarchy's cgroup version."""
    kind = V2Driver if hierarchy.version == 2 else V1Driver
    return kind(hierarchy, files or KernelFiles())


class LinuxCgroups:
    """The node's cgroups below the kubelet's cgroup root.

    `cgroup_root`: where cgroupfs is mounted; `kubelet_root`: the kubelet's
    `--cgroup-root`; `proc_pressure`: the node's PSI directory; `files`: the seam to the
    files (a model of the kernel in tests).
    """

    def __init__(
        self,
        cgroup_root: str | Path = "/sys/fs/cgroup",
        *,
        kubelet_root: str = "/",
        proc_pressure: str | Path = "/proc/pressure",
        files: KernelFiles | None = None,
    ) -> None:
        self.hierarchy = find_hierarchy(cgroup_root, kubelet_root)
        self.driver = driver_for(self.hierarchy, files)
        self.executor = Executor(self.driver)
        self._proc_pressure = Path(proc_pressure)

    @property
    def version(self) -> Literal[1, 2]:
        return self.hierarchy.version

    def scan(self) -> tuple[KubeletTree, ...]:
        return scan(self.driver.files, self.hierarchy.cpuacct)

    def cpu(self, cgroup: PurePosixPath) -> CpuStat | None:
        try:
            return self.driver.cpu_stat(cgroup)
        except Gone as e:
            self._absent(cgroup, "cpuacct", e)
            return None

    def node_task_ns(self) -> int | None:
        """Every task's cpu time on the node, ns, as the scheduler counts it (the node's
        root cgroup; `Driver.node_task_ns`); None when it cannot be read."""
        try:
            return self.driver.node_task_ns()
        except (Gone, Retryable, ValueError):
            return None

    def cpu_settings(self, cgroup: PurePosixPath) -> CpuSettings | None:
        driver = self.driver
        try:
            cpu_max = driver.read(cgroup, Knob("cpu_max"))
        except OSError as e:
            if not driver.exists(cgroup, "cpu"):
                return None  # not there, or gone since
            raise Retryable(f"cannot read the cpu limit of cgroup {cgroup}: {e}") from e
        assert isinstance(cpu_max, CpuMax)
        cpus: frozenset[int] | None = None
        if driver.exists(cgroup, "cpuset"):
            try:
                got = driver.read(cgroup, Knob("cpuset_cpus"))
            except OSError:  # a v2 cgroup without the cpuset controller enabled
                got = frozenset()
            assert isinstance(got, frozenset)
            cpus = got or None
        quota = None if cpu_max.quota_us == MAX else int(cpu_max.quota_us)
        return CpuSettings(quota_us=quota, period_us=cpu_max.period_us, cpus=cpus)

    def memory(self, cgroup: PurePosixPath) -> MemoryStat | None:
        try:
            return self.driver.memory_stat(cgroup)
        except Gone as e:
            self._absent(cgroup, "memory", e)
            return None

    def _absent(
        self, cgroup: PurePosixPath, controller: Literal["cpuacct", "memory"], e: Gone
    ) -> None:
        """Nothing when the cgroup is gone; a file missing from a cgroup that is there is
        a controller the node does not give it (v2: not enabled), which waiting will not
        change: Permanent."""
        if not self.driver.exists(cgroup, controller):
            return
        message = f"cgroup {cgroup} has no {Path(str(e)).name}"
        if self.version == 2 and controller == "memory":
            message += ": " + self.driver.missing(cgroup, Knob("memory_limit"))
        raise Permanent(message)

    def pressure(self, cgroup: PurePosixPath) -> PressureStats | None:
        return self.driver.pressure(cgroup)

    def node_pressure(self) -> PressureStats:
        files, d = self.driver.files, self._proc_pressure
        return PressureStats(
            cpu=read_pressure(files, d / "cpu"),
            memory=read_pressure(files, d / "memory"),
            io=read_pressure(files, d / "io"),
        )

    def apply(self, intents: Sequence[Intent]) -> ApplyReport:
        return self.executor.apply(intents)
