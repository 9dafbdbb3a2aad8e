"""Where things are in the cgroup tree: the hierarchies, and the kubelet's pod cgroups.

The kubelet files each pod's cgroup under its Kubernetes QoS class, below its own cgroup
root (kubelet `--cgroup-root`, `/` by default), named by the cgroup driver:

cgroupfs driver:

    Guaranteed   kubepods/pod<uid>
    Burstable    kubepods/burstable/pod<uid>
    BestEffort   kubepods/besteffort/pod<uid>

systemd driver:

    Guaranteed   kubepods.slice/kubepods-pod<uid_>.slice
    Burstable    kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice
    BestEffort   kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_>.slice

(`<uid_>`: the uid with `-` written `_`, as systemd unit names escape it.) Containers
are cgroups below the pod's (`colo.linux.tree` finds them); a pod's cgroup counts them
all (both versions account hierarchically), so colo reads the pod's own.

The offline box — the one parent of all offline work that colo governs — is the
kubelet's BestEffort QoS cgroup (`kubepods/besteffort`, `kubepods.slice/
kubepods-besteffort.slice`): offline pods carry no cpu or memory requests (the webhook
turns them into `colo.io/batch-*`), so the kubelet files them there already, and it
leaves that cgroup's quota, cpuset and memory limits alone. colo writes nowhere else
than the kubelet's pod tree (`governed`).

Hierarchies: with cgroup v2 (`cgroup.controllers` at the root) one tree holds every
controller. With v1 each controller is a mount of its own under the root, `cpuacct`
alone or co-mounted with `cpu` (`cpu,cpuacct`), and `memory`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from colo.core.cgroupstats import CgroupDriver
from colo.core.errors import InvalidInput
from colo.core.qos import QOS_CLASSES, KubernetesQoSClass

#: cgroupfs driver: the QoS class's directory below `kubepods` ("" for Guaranteed).
_CGROUPFS = {"Guaranteed": "", "Burstable": "burstable", "BestEffort": "besteffort"}
#: the directories holding every pod, per driver
KUBEPODS = ("kubepods", "kubepods.slice")
_CPUACCT_MOUNTS = ("cpuacct", "cpu,cpuacct", "cpuacct,cpu")


def cgroupfs_path(uid: str, qos_class: KubernetesQoSClass) -> PurePosixPath:
    qos = _CGROUPFS[qos_class]
    return PurePosixPath("kubepods", *([qos] if qos else []), f"pod{uid}")


def systemd_path(uid: str, qos_class: KubernetesQoSClass) -> PurePosixPath:
    unit = uid.replace("-", "_")
    qos = _CGROUPFS[qos_class]
    if not qos:
        return PurePosixPath("kubepods.slice", f"kubepods-pod{unit}.slice")
    return PurePosixPath(
        "kubepods.slice", f"kubepods-{qos}.slice", f"kubepods-{qos}-pod{unit}.slice"
    )


def qos_cgroup(driver: CgroupDriver, qos_class: KubernetesQoSClass) -> PurePosixPath:
    """The cgroup of a QoS class (Guaranteed pods sit in `kubepods` itself)."""
    qos = _CGROUPFS[qos_class]
    if driver == "cgroupfs":
        return PurePosixPath("kubepods", *([qos] if qos else []))
    return PurePosixPath("kubepods.slice", *([f"kubepods-{qos}.slice"] if qos else []))


def box_cgroup(driver: CgroupDriver) -> PurePosixPath:
    """The offline box: the kubelet's BestEffort QoS cgroup."""
    return qos_cgroup(driver, "BestEffort")


def governed(cgroup: PurePosixPath) -> bool:
    """Whether colo may write `cgroup`'s files: `kubepods` (`kubepods.slice`) and what is
    below it — the kubelet's pod tree, which holds the offline box."""
    return (
        not cgroup.is_absolute()
        and bool(cgroup.parts)
        and cgroup.parts[0] in KUBEPODS
        and not {".", ".."} & set(cgroup.parts)
    )


def pod_cgroup_paths(uid: str, qos_class: KubernetesQoSClass) -> tuple[PurePosixPath, ...]:
    """Where the kubelet may have put the pod's cgroup, relative to its cgroup root: the
    pod's own class under either driver first, then the other classes (should colo's
    idea of the class differ from the kubelet's)."""
    classes = (qos_class, *(q for q in QOS_CLASSES if q != qos_class))
    return tuple(f(uid, q) for q in classes for f in (cgroupfs_path, systemd_path))


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """The directories holding the kubelet's cgroup root, per controller (one directory
    for all under v2). `cpuacct` and `memory` are always there (the usage reader needs
    them); a v1 controller that is not mounted is None, and writes to it fail as
    missing files. `unified`: under v1, the hybrid cgroup2 tree (`<root>/unified`) if
    mounted — it holds PSI per cgroup for the cgroups systemd mirrors into it. `node`:
    the node's own root cgroup where cpu time is counted (the v1 cpuacct mount, the v2
    root), whatever the kubelet's root: every task's cpu time on the node."""

    version: Literal[1, 2]
    cpuacct: Path
    memory: Path
    cpu: Path | None = None
    cpuset: Path | None = None
    blkio: Path | None = None
    unified: Path | None = None
    node: Path | None = None

    def of(self, controller: Controller) -> Path | None:
        """The directory of the kubelet's cgroup root for `controller`."""
        return {
            "cpu": self.cpu,
            "cpuacct": self.cpuacct,
            "cpuset": self.cpuset,
            "memory": self.memory,
            "io": self.blkio,
        }[controller]


#: the controllers colo touches; `io` is v1's blkio
Controller = Literal["cpu", "cpuacct", "cpuset", "memory", "io"]
#: v1 mount directories that may hold each controller, and a file that proves it does
_V1_MOUNTS: dict[Controller, tuple[tuple[str, ...], str]] = {
    "cpu": (("cpu", "cpu,cpuacct", "cpuacct,cpu"), "cpu.shares"),
    "cpuacct": (_CPUACCT_MOUNTS, "cpuacct.usage"),
    "cpuset": (("cpuset",), "cpuset.cpus"),
    "memory": (("memory",), "memory.usage_in_bytes"),
    "io": (("blkio", "blkio,io", "io"), "blkio.throttle.read_bps_device"),
}


def _v1_mount(root: Path, controller: Controller) -> Path | None:
    names, proof = _V1_MOUNTS[controller]
    return next((root / m for m in names if (root / m / proof).is_file()), None)


def find_hierarchy(cgroup_root: str | Path, kubelet_root: str = "/") -> Hierarchy:
    """The cgroup hierarchies under `cgroup_root` (where cgroupfs is mounted, normally
    `/sys/fs/cgroup`), with `kubelet_root` (the kubelet's `--cgroup-root`) appended.

    v2 when the root holds `cgroup.controllers`; otherwise v1, one mount per controller
    (`cpu` and `cpuacct` apart or co-mounted). Raises InvalidInput naming the root when
    it holds neither a v2 tree nor the v1 `cpuacct` and `memory` controllers.
    """
    root = Path(cgroup_root)
    below = kubelet_root.strip("/")
    if (root / "cgroup.controllers").is_file():
        tree = root / below
        return Hierarchy(2, tree, tree, cpu=tree, cpuset=tree, blkio=tree, unified=tree, node=root)
    mounts = {c: _v1_mount(root, c) for c in _V1_MOUNTS}
    cpuacct, memory = mounts["cpuacct"], mounts["memory"]
    if cpuacct is None or memory is None:
        raise InvalidInput(
            "not a cgroup filesystem",
            obj="cgroup root",
            field="--cgroup-root",
            value=str(root),
            expected="cgroup v2 (cgroup.controllers at the root) or the v1 controllers "
            "cpuacct (or cpu,cpuacct) and memory mounted below it",
        )

    def under(mount: Path | None) -> Path | None:
        return mount / below if mount is not None else None

    unified = root / "unified"
    return Hierarchy(
        1,
        cpuacct / below,
        memory / below,
        cpu=under(mounts["cpu"]),
        cpuset=under(mounts["cpuset"]),
        blkio=under(mounts["io"]),
        unified=under(unified) if (unified / "cgroup.controllers").is_file() else None,
        node=cpuacct,
    )
