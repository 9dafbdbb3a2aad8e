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

import errno
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from colo.core.errors import Retryable
from colo.core.usage import PodCgroup, PodSample
from colo.linux.layout import KUBEPODS, Hierarchy, find_hierarchy, pod_cgroup_paths

_GONE = (errno.ENOENT, errno.ENODEV, errno.ESRCH)


class _Gone(Exception):
    """The cgroup went away while it was read."""


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as e:
        if e.errno in _GONE:
            raise _Gone from None
        raise Retryable(f"cannot read {path}: {e.strerror or e}") from None


def _stat(path: Path, key: str, *fallbacks: str) -> int:
    """The value of `key` (or the first fallback present) in a flat-keyed file."""
    values = {}
    for line in _read(path).splitlines():
        name, _, value = line.partition(" ")
        values[name] = value
    for k in (key, *fallbacks):
        if k in values:
            return int(values[k])
    raise Retryable(f"{path} has no {key!r}")


class CgroupUsageReader:
    """Reads pod usage below `cgroup_root` (see `colo.linux.layout.find_hierarchy`)."""

    def __init__(self, cgroup_root: str | Path = "/sys/fs/cgroup", *, kubelet_root: str = "/"):
        self.hierarchy: Hierarchy = find_hierarchy(cgroup_root, kubelet_root)
        self._found: dict[str, PurePosixPath] = {}  # uid → its cgroup, relative
        self._cpu: dict[str, tuple[int, float]] = {}  # uid → (cpu ns, when read)

    def available(self) -> bool:
        h = self.hierarchy
        return any((h.cpu / k).is_dir() and (h.memory / k).is_dir() for k in KUBEPODS)

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
            except _Gone:
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
        for path in pod_cgroup_paths(pod.uid, pod.qos_class):
            if (self.hierarchy.cpu / path).is_dir() and (self.hierarchy.memory / path).is_dir():
                self._found[pod.uid] = path
                return path
        return None

    def _read_pod(self, pod: PodCgroup, now_s: float) -> PodSample | None:
        path = self._locate(pod)
        if path is None:
            return None
        cpu_dir, memory_dir = self.hierarchy.cpu / path, self.hierarchy.memory / path
        if self.hierarchy.version == 2:
            cpu_ns = _stat(cpu_dir / "cpu.stat", "usage_usec") * 1000
            usage = int(_read(memory_dir / "memory.current"))
            inactive = _stat(memory_dir / "memory.stat", "inactive_file")
        else:
            cpu_ns = int(_read(cpu_dir / "cpuacct.usage"))
            usage = int(_read(memory_dir / "memory.usage_in_bytes"))
            inactive = _stat(memory_dir / "memory.stat", "total_inactive_file", "inactive_file")
        before = self._cpu.get(pod.uid)
        self._cpu[pod.uid] = (cpu_ns, now_s)
        if before is None or now_s <= before[1] or cpu_ns < before[0]:
            return None  # a first read (or a recreated cgroup): no rate yet
        cores = (cpu_ns - before[0]) / 1e9 / (now_s - before[1])
        return PodSample(cpu_cores=cores, memory_bytes=max(0, usage - inactive))
