"""`UsageReader` on the cgroup tree: each pod's cpu and memory, as the kubelet counts them.

cpu (cores) = Δ cumulative cpu time / Δ `now_s` between two reads of the same pod, from
  v1 `cpuacct.usage` (nanoseconds) or v2 `cpu.stat` `usage_usec` (microseconds).
memory (bytes, the working set) = usage − inactive file cache, ≥ 0, from
  v1 `memory.usage_in_bytes` − `memory.stat` `total_inactive_file` (the hierarchical
  count: a pod's pages are charged to its containers' cgroups below it), or
  v2 `memory.current` − `memory.stat` `inactive_file` (hierarchical already).
Inactive file pages are reclaimed before anything else, so they are no pressure on
online pods; the kubelet's working set (what it evicts on) is the same difference.

A cgroup that vanishes between reads (the pod ended) leaves its pod out; any other
failure to read is a `Retryable` infrastructure fault naming the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from colo.core.usage import PodCgroup, PodSample
from colo.linux.cgroups import driver_for
from colo.linux.files import Gone
from colo.linux.layout import KUBEPODS, Hierarchy, find_hierarchy, pod_cgroup_paths


class CgroupUsageReader:
    """Reads pod usage below `cgroup_root` (see `colo.linux.layout.find_hierarchy`)
    through the version's driver (`colo.linux.v1`, `colo.linux.v2`)."""

    def __init__(self, cgroup_root: str | Path = "/sys/fs/cgroup", *, kubelet_root: str = "/"):
        self.hierarchy: Hierarchy = find_hierarchy(cgroup_root, kubelet_root)
        self._driver = driver_for(self.hierarchy)
        self._found: dict[str, PurePosixPath] = {}  # uid → its cgroup, relative
        self._cpu: dict[str, tuple[int, float]] = {}  # uid → (cpu ns, when read)

    def available(self) -> bool:
        h = self.hierarchy
        return any((h.cpuacct / k).is_dir() and (h.memory / k).is_dir() for k in KUBEPODS)

    def read(self, pods: Sequence[PodCgroup], now_s: float) -> dict[str, PodSample]:
        asked = {p.uid for p in pods}
        for forget in [u for u in self._found if u not in asked]:
            del self._found[forget]
        for forget in [u for u in self._cpu if u not in asked]:
            del self._cpu[forget]
        out: dict[str, PodSample] = {}
        for pod in pods:
            try:
                sample = self._read_pod(pod, now_s)
            except Gone:
                self._found.pop(pod.uid, None)
                self._cpu.pop(pod.uid, None)
                continue
            if sample is not None:
                out[pod.uid] = sample
        return out

    def _locate(self, pod: PodCgroup) -> PurePosixPath | None:
        known = self._found.get(pod.uid)
        if known is not None:
            return known
        h = self.hierarchy
        for path in pod_cgroup_paths(pod.uid, pod.qos_class):
            if (h.cpuacct / path).is_dir() and (h.memory / path).is_dir():
                self._found[pod.uid] = path
                return path
        return None

    def _read_pod(self, pod: PodCgroup, now_s: float) -> PodSample | None:
        path = self._locate(pod)
        if path is None:
            return None
        cpu_ns = self._driver.cpu_stat(path).usage_ns
        memory = self._driver.memory_stat(path)
        before = self._cpu.get(pod.uid)
        self._cpu[pod.uid] = (cpu_ns, now_s)
        if before is None or now_s <= before[1] or cpu_ns < before[0]:
            return None  # a first read (or a recreated cgroup): no rate yet
        cores = (cpu_ns - before[0]) / 1e9 / (now_s - before[1])
        return PodSample(cpu_cores=cores, memory_bytes=memory.working_set_bytes)
