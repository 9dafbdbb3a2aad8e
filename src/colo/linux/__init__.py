"""The node's kernel, as colo-agent touches it: the cgroup tree (read-only for now).

`usage.CgroupUsageReader` implements `colo.ports.usage.UsageReader`: the kubelet's pod
cgroups (`layout`), their cpu and memory usage, cgroup v1 or v2.
"""

from colo.linux.layout import Hierarchy, find_hierarchy, pod_cgroup_paths
from colo.linux.usage import CgroupUsageReader

__all__ = ["CgroupUsageReader", "Hierarchy", "find_hierarchy", "pod_cgroup_paths"]
