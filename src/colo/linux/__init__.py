"""The node's kernel, as colo-agent touches it: the cgroup tree.

- `LinuxCgroups` implements `colo.ports.cgroups.Cgroups`: cpu, throttling, memory and
  PSI reads, the kubelet's pod tree (`tree`), and intents applied by `executor.Executor`,
  the only code in colo that writes cgroup files, through the version's driver (`v1`,
  `v2`).
- `CgroupUsageReader` implements `colo.ports.usage.UsageReader` (each pod's cpu and
  memory, for the reporting loop) on the same drivers.

docs/linux.md has the files per version, the offline box and the executor's rules.
"""

from colo.linux.cgroups import LinuxCgroups, driver_for
from colo.linux.executor import Executor
from colo.linux.layout import Hierarchy, box_cgroup, find_hierarchy, governed, pod_cgroup_paths
from colo.linux.usage import CgroupUsageReader

__all__ = [
    "CgroupUsageReader",
    "Executor",
    "Hierarchy",
    "LinuxCgroups",
    "box_cgroup",
    "driver_for",
    "find_hierarchy",
    "governed",
    "pod_cgroup_paths",
]
