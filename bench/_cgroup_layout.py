"""A private kubelet-style pod tree on the machine's real cgroup v1 filesystem, for the
benchmarks that run real processes (bench/interference.py). The benchmark plays the
kubelet and the container runtime here: it writes the layout they would write, and
colo writes only through colo (colo-agent, pointed at this tree's kubelet root).

Below `<mount>/<name>` in each v1 hierarchy it uses (cpu, cpuacct, cpuset, memory;
cpu and cpuacct apart or co-mounted), i.e. kubelet `--cgroup-root /<name>`, cgroupfs
driver:

    kubepods                        cpu.shares = 1024 × node cpus (allocatable)
    kubepods/pod<uid>               Guaranteed pods
    kubepods/burstable              cpu.shares = its pods' cpu requests (2 with none)
    kubepods/burstable/pod<uid>     Burstable pods
    kubepods/besteffort             cpu.shares = 2
    kubepods/besteffort/pod<uid>    BestEffort pods

A pod gets one container cgroup (`<pod>/<64 hex>`, as containerd names it) with the
same cpu and memory settings, which is where its processes go. The kubelet's values
(pkg/kubelet/cm, cgroup v1): cpu.shares = max(2, request_milli × 1024 / 1000), 2 without
a request; cpu.cfs_quota_us = limit_milli × period / 1000 (at least 1000), -1 without a
limit, period 100 ms; memory.limit_in_bytes = the memory limit, -1 without one. A new v1
cpuset cgroup starts empty and takes no task until cpuset.cpus and cpuset.mems are set,
so each copies its parent's (the kubelet's cpuset for pods without exclusive cpus).

Cleanup (`close`, also on `with` exit): every task left in the tree is moved back to the
cgroup this process was in when the layout was made (per hierarchy), then every cgroup
is removed, leaves first. Killing what runs in the tree is the caller's business
(`pids()` lists it).
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import TracebackType

from colo.core.errors import InvalidInput
from colo.core.qos import KubernetesQoSClass
from colo.linux.layout import box_cgroup, cgroupfs_path, find_hierarchy, qos_cgroup

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: the kubelet's CFS period, µs
PERIOD_US = 100_000
#: the kubelet's cpu.shares for a cgroup without a cpu request (BestEffort, QoS classes)
MIN_SHARES = 2
#: the kubelet's smallest quota, µs
MIN_QUOTA_US = 1_000

KUBEPODS = qos_cgroup("cgroupfs", "Guaranteed")
BURSTABLE = qos_cgroup("cgroupfs", "Burstable")
BOX = box_cgroup("cgroupfs")


class LayoutUnavailable(Exception):
    """The tree cannot be made on this machine: not root, not cgroup v1, or no cpu
    hierarchy. The message says which."""


def milli_to_shares(milli: int) -> int:
    """The kubelet's MilliCPUToShares: a request in millicores as v1 cpu.shares."""
    return max(MIN_SHARES, milli * 1024 // 1000) if milli > 0 else MIN_SHARES


def milli_to_quota_us(milli: int | None, period_us: int = PERIOD_US) -> int:
    """The kubelet's MilliCPUToQuota: a limit in millicores as cpu.cfs_quota_us; -1 (none)
    without a limit."""
    if milli is None or milli <= 0:
        return -1
    return max(MIN_QUOTA_US, milli * period_us // 1000)


@dataclass(frozen=True, slots=True)
class Pod:
    """A pod as the kubelet files it. `uid` must be 36 hex digits and dashes (colo's tree
    scan recognises `pod<uid>` only in that shape)."""

    uid: str
    qos: KubernetesQoSClass
    cpu_request_milli: int = 0
    cpu_limit_milli: int | None = None
    memory_limit_bytes: int | None = None
    container_id: str = field(default_factory=lambda: uuid.uuid4().hex + uuid.uuid4().hex)

    @property
    def cgroup(self) -> PurePosixPath:
        return cgroupfs_path(self.uid, self.qos)

    @property
    def container(self) -> PurePosixPath:
        """The cgroup of its one container, where its processes go."""
        return self.cgroup / self.container_id


@dataclass(frozen=True, slots=True)
class _Settings:
    """What the kubelet (runtime) wrote to one cgroup; None: left as the kernel made it."""

    cpu_shares: int | None = None
    cpu_quota_us: int | None = None
    memory_limit_bytes: int | None = None


class KubeletLayout:
    """The tree below kubelet cgroup root `/<name>`. Paths are relative to that root
    (`kubepods/besteffort`); `""` is the root itself. Not thread-safe."""

    def __init__(
        self, name: str, *, cgroup_root: Path = CGROUP_ROOT, node_cpus: int | None = None
    ) -> None:
        if os.geteuid() != 0:
            raise LayoutUnavailable(
                f"needs root: it makes cgroups under {cgroup_root} (uid is {os.geteuid()})"
            )
        try:
            found = find_hierarchy(cgroup_root)
        except InvalidInput as e:
            raise LayoutUnavailable(str(e)) from e
        if found.version != 1:
            raise LayoutUnavailable(
                f"{cgroup_root} is cgroup v2; this layout plays the kubelet on cgroup v1"
            )
        if found.cpu is None:
            raise LayoutUnavailable(
                f"no cgroup v1 cpu hierarchy under {cgroup_root} (cpu or cpu,cpuacct mount)"
            )
        #: controller → its mount's root directory
        self.mounts: dict[str, Path] = {"cpu": found.cpu, "cpuacct": found.cpuacct}
        if found.cpuset is not None:
            self.mounts["cpuset"] = found.cpuset
        self.mounts["memory"] = found.memory
        self.cgroup_root = cgroup_root
        self.name = name
        self.kubelet_root = f"/{name}"
        self.node_cpus = node_cpus or os.cpu_count() or 1
        #: distinct mounts (co-mounted controllers share one)
        self._mounts = list(dict.fromkeys(self.mounts.values()))
        #: per mount: the cgroup this process was in, where leftover tasks go back to
        self._home = {m: _own_cgroup(m) for m in self._mounts}
        self._settings: dict[PurePosixPath, _Settings] = {}
        self._burstable: dict[PurePosixPath, int] = {}  # Burstable pod → its cpu request
        self._created = False

    # -- paths and files ----------------------------------------------------------------

    def dir(self, controller: str, path: str | PurePosixPath = "") -> Path:
        """The directory of cgroup `path` in `controller`'s hierarchy."""
        top = self.mounts[controller] / self.name
        return top / str(path) if str(path) not in ("", ".") else top

    def read(self, controller: str, path: str | PurePosixPath, file: str) -> str:
        return (self.dir(controller, path) / file).read_text().strip()

    def write(self, controller: str, path: str | PurePosixPath, file: str, value: object) -> None:
        (self.dir(controller, path) / file).write_text(f"{value}\n")

    def cpu_usage_ns(self, path: str | PurePosixPath = "") -> int:
        """cpuacct.usage: cpu time of everything in the cgroup and below, ns."""
        return int(self.read("cpuacct", path, "cpuacct.usage"))

    def cpu_limit_cores(self, path: str | PurePosixPath) -> float:
        """cpu.cfs_quota_us / cpu.cfs_period_us in cores; inf without a quota."""
        quota = int(self.read("cpu", path, "cpu.cfs_quota_us"))
        if quota < 0:
            return float("inf")
        return quota / int(self.read("cpu", path, "cpu.cfs_period_us"))

    # -- the tree -----------------------------------------------------------------------

    def create(self) -> None:
        """Make the root, `kubepods` and the two QoS class cgroups, as the kubelet does."""
        if self._created:
            return
        for m in self._mounts:
            if (m / self.name).exists():
                raise LayoutUnavailable(f"{m / self.name} exists already; another run's?")
        self._created = True
        self.make("")
        self.make(KUBEPODS, cpu_shares=1024 * self.node_cpus)
        self.make(BURSTABLE, cpu_shares=MIN_SHARES)
        self.make(BOX, cpu_shares=MIN_SHARES)

    def make(
        self,
        path: str | PurePosixPath,
        *,
        cpu_shares: int | None = None,
        cpu_quota_us: int | None = None,
        memory_limit_bytes: int | None = None,
    ) -> None:
        """Make cgroup `path` (its parents must exist) in every hierarchy and write the
        given settings."""
        p = PurePosixPath(path)
        for m in self._mounts:
            d = m / self.name / p if str(p) != "." else m / self.name
            d.mkdir()
            if (d / "cpuset.cpus").exists():
                for file in ("cpuset.cpus", "cpuset.mems"):
                    (d / file).write_text((d.parent / file).read_text())
        settings = _Settings(cpu_shares, cpu_quota_us, memory_limit_bytes)
        self._settings[p] = settings
        self._apply(p, settings)

    def add_pod(self, pod: Pod) -> PurePosixPath:
        """Make the pod's cgroup and its container's; returns the container's."""
        settings = {
            "cpu_shares": milli_to_shares(pod.cpu_request_milli),
            "cpu_quota_us": milli_to_quota_us(pod.cpu_limit_milli),
            "memory_limit_bytes": pod.memory_limit_bytes,
        }
        self.make(pod.cgroup, **settings)
        self.make(pod.container, **settings)
        if pod.qos == "Burstable":
            self._burstable[pod.cgroup] = pod.cpu_request_milli
            self._weigh_burstable()
        return pod.container

    def _weigh_burstable(self) -> None:
        """The kubelet's QoS manager: the Burstable class weighs the sum of its pods' cpu
        requests (else a Burstable online pod would weigh 2 against the BestEffort box)."""
        shares = milli_to_shares(sum(self._burstable.values()))
        self._settings[BURSTABLE] = _Settings(cpu_shares=shares)
        self.write("cpu", BURSTABLE, "cpu.shares", shares)

    def remove(self, path: str | PurePosixPath) -> None:
        """Move what is left in `path` and below back home, and remove those cgroups."""
        p = PurePosixPath(path)
        self.evacuate(p)
        for m in self._mounts:
            _rmtree(m / self.name / p)
        for q in [q for q in self._settings if q == p or p in q.parents]:
            del self._settings[q]
        if self._burstable.pop(p, None) is not None:
            self._weigh_burstable()

    def allow_realtime(self, path: str | PurePosixPath, runtime_us: int) -> None:
        """Let tasks in cgroup `path` run real-time (SCHED_FIFO) for up to `runtime_us` of
        each `cpu.rt_period_us`: with the kernel's RT group scheduling a cgroup made under
        it gets no real-time time at all (a task there is refused SCHED_FIFO), so every
        level from the layout's root down gets the budget, parents first. `LayoutUnavailable`
        when the cpu hierarchy has no `cpu.rt_runtime_us` (the kernel has no RT group
        scheduling, and any task may then run real-time) — the caller decides."""
        p = PurePosixPath(path)
        for q in (*reversed(p.parents), p):  # ".", …, p: the layout's root first
            if not (self.dir("cpu", q) / "cpu.rt_runtime_us").exists():
                raise LayoutUnavailable(f"{self.dir('cpu', q)} has no cpu.rt_runtime_us")
            self.write("cpu", q, "cpu.rt_runtime_us", runtime_us)

    def enter(self, path: str | PurePosixPath, pid: int) -> None:
        """Move process `pid` (all its threads) into cgroup `path` in every hierarchy."""
        for controller in self.mounts:
            self.write(controller, path, "cgroup.procs", pid)

    def pids(self, path: str | PurePosixPath = "") -> set[int]:
        """Every process in cgroup `path` and below, in any hierarchy."""
        found: set[int] = set()
        for m in self._mounts:
            for d in _walk(m / self.name / str(path)):
                with contextlib.suppress(FileNotFoundError):
                    found.update(int(x) for x in (d / "cgroup.procs").read_text().split())
        return found

    def evacuate(self, path: str | PurePosixPath = "") -> None:
        """Move every process in `path` and below back to the cgroup this process was in
        when the layout was made (per hierarchy)."""
        for m in self._mounts:
            home = self._home[m] / "cgroup.procs"
            for _ in range(20):  # a task may fork while it is moved
                moved = False
                for d in _walk(m / self.name / str(path)):
                    try:
                        pids = (d / "cgroup.procs").read_text().split()
                    except FileNotFoundError:
                        continue
                    for pid in pids:
                        moved = True
                        with contextlib.suppress(ProcessLookupError):  # exited meanwhile
                            home.write_text(f"{pid}\n")
                if not moved:
                    break

    def reset(self) -> None:
        """Write the kubelet's values again in every cgroup it made, parents first (the
        way a grow must go on v1), undoing whatever colo changed: cpu.idle 0, shares,
        quota (period 100 ms), cpuset = the parent's, memory limit, no soft limit."""
        for p in sorted(self._settings, key=lambda q: len(q.parts)):
            s = self._settings[p]
            cpu = self.dir("cpu", p)
            if (cpu / "cpu.idle").exists() and self.read("cpu", p, "cpu.idle") != "0":
                self.write("cpu", p, "cpu.idle", 0)
            if "cpuset" in self.mounts and str(p) != ".":
                for file in ("cpuset.cpus", "cpuset.mems"):
                    parent = self.read("cpuset", p.parent, file)
                    if self.read("cpuset", p, file) != parent:
                        self.write("cpuset", p, file, parent)
            self._apply(p, s, period=True)
            if str(p) != ".":
                self.write("memory", p, "memory.soft_limit_in_bytes", -1)

    def _apply(self, p: PurePosixPath, s: _Settings, *, period: bool = False) -> None:
        if s.cpu_shares is not None:
            self.write("cpu", p, "cpu.shares", s.cpu_shares)
        if period and self.read("cpu", p, "cpu.cfs_period_us") != str(PERIOD_US):
            self.write("cpu", p, "cpu.cfs_quota_us", -1)  # v1 checks the quota at each write
            self.write("cpu", p, "cpu.cfs_period_us", PERIOD_US)
        if s.cpu_quota_us is not None or period:
            self.write("cpu", p, "cpu.cfs_quota_us", s.cpu_quota_us or -1)
        if s.memory_limit_bytes is not None or (period and str(p) != "."):
            self.write("memory", p, "memory.limit_in_bytes", s.memory_limit_bytes or -1)

    def close(self) -> None:
        """Move leftover tasks back home and remove the whole tree, leaves first.
        Idempotent."""
        for m in self._mounts:
            if (m / self.name).exists():
                self.evacuate()
                break
        for m in self._mounts:
            _rmtree(m / self.name)
        self._settings.clear()
        self._created = False

    def __enter__(self) -> KubeletLayout:
        try:
            self.create()
        except BaseException:
            if self._created:
                self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _own_cgroup(mount: Path) -> Path:
    """The cgroup of this process in the v1 hierarchy mounted at `mount` (from
    /proc/self/cgroup, whose lines are `id:controllers:path`); the mount's root if not
    found."""
    wanted = set(mount.name.split(","))
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if set(controllers.split(",")) == wanted:
            own = mount / path.lstrip("/")
            if own.is_dir():
                return own
    return mount


def _walk(top: Path) -> list[Path]:
    """`top` and every cgroup below it, leaves first."""
    if not top.is_dir():
        return []
    return [Path(d) for d, _, _ in os.walk(top, topdown=False)]


def _rmtree(top: Path) -> None:
    """rmdir every cgroup below and at `top`, leaves first. The kernel may hold a cgroup
    briefly after its last task exits (EBUSY): retry for up to 5 s."""
    for d in _walk(top):
        for attempt in range(50):
            try:
                d.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError as e:
                if e.errno != errno.EBUSY or attempt == 49:
                    raise
                time.sleep(0.1)
