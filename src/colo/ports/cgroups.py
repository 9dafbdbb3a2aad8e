"""The cgroup port: everything the node agent reads from and asks of the node's cgroups.

`colo.linux.LinuxCgroups` implements it on the node's cgroup filesystem, v1 or v2 (its
executor is the only code in colo that writes cgroup files). The values it exchanges
live in `colo.core.cgroups` (intents, reports) and `colo.core.cgroupstats` (reads).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Literal, Protocol

from colo.core.cgroups import ApplyReport, Intent
from colo.core.cgroupstats import CpuSettings, CpuStat, KubeletTree, MemoryStat, PressureStats


class Cgroups(Protocol):
    """Cgroups are named relative to the kubelet's cgroup root (`colo.core.cgroups`).

    Reads return None when the cgroup is not there (not created yet, or gone: pods come
    and go between any two calls); a file that cannot be read otherwise is an
    infrastructure fault (`colo.core.errors.Retryable`) naming the file.
    """

    @property
    def version(self) -> Literal[1, 2]:
        """The cgroup version the node runs (1: a hierarchy per controller; 2: unified)."""
        ...

    def scan(self) -> tuple[KubeletTree, ...]:
        """The kubelet's pod tree under each cgroup driver found (normally one; none
        before the kubelet made `kubepods`): QoS classes, the offline box, every pod's
        cgroup and the container cgroups below it."""
        ...

    def cpu(self, cgroup: PurePosixPath) -> CpuStat | None:
        """Cumulative cpu time and CFS throttling of `cgroup`."""
        ...

    def cpu_settings(self, cgroup: PurePosixPath) -> CpuSettings | None:
        """The CFS quota and cpuset `cgroup` holds now (what an agent that restarts
        adopts instead of starting over)."""
        ...

    def memory(self, cgroup: PurePosixPath) -> MemoryStat | None:
        """Memory usage, working set and page cache of `cgroup`."""
        ...

    def pressure(self, cgroup: PurePosixPath) -> PressureStats | None:
        """PSI of `cgroup` (v2 cpu/memory/io.pressure). None where the kernel keeps none
        for it: cgroup v1 has no PSI per cgroup, except for cgroups that also exist in
        a hybrid node's cgroup2 tree (the systemd driver puts them there)."""
        ...

    def node_pressure(self) -> PressureStats:
        """The whole node's PSI (/proc/pressure/{cpu,memory,io}); each None when the
        kernel has PSI off."""
        ...

    def apply(self, intents: Sequence[Intent]) -> ApplyReport:
        """Make the cgroups hold what the intents say, writing only what differs from
        what they hold now; reclaim where asked.

        Refuses the whole batch (InvalidInput, before any write) when an intent names a
        cgroup outside the kubelet's pod tree. A file the kernel lacks or refuses is
        reported in `failed` (and logged once), a vanished cgroup in `gone`; neither
        stops the rest. Later intents for the same setting win over earlier ones.
        """
        ...
