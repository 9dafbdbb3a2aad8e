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
are cgroups below the pod's; a pod's cgroup counts them all (both versions account
hierarchically), so colo reads the pod's own.

Hierarchies: with cgroup v2 (`cgroup.controllers` at the root) one tree holds every
controller. With v1 each controller is a mount of its own under the root, `cpuacct`
alone or co-mounted with `cpu` (`cpu,cpuacct`), and `memory`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

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


def pod_cgroup_paths(uid: str, qos_class: KubernetesQoSClass) -> tuple[PurePosixPath, ...]:
    """Where the kubelet may have put the pod's cgroup, relative to its cgroup root: the
    pod's own class under either driver first, then the other classes (should colo's
    idea of the class differ from the kubelet's)."""
    classes = (qos_class, *(q for q in QOS_CLASSES if q != qos_class))
    return tuple(f(uid, q) for q in classes for f in (cgroupfs_path, systemd_path))


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """The directories holding the kubelet's cgroup root, for cpu accounting and memory
    (the same directory under v2)."""

    version: Literal[1, 2]
    cpu: Path
    memory: Path


def find_hierarchy(cgroup_root: str | Path, kubelet_root: str = "/") -> Hierarchy:
    """The cgroup hierarchies under `cgroup_root` (where cgroupfs is mounted, normally
    `/sys/fs/cgroup`), with `kubelet_root` (the kubelet's `--cgroup-root`) appended.

    Raises InvalidInput naming the root when it holds neither a v2 tree nor the v1
    `cpuacct` and `memory` controllers.
    """
    root = Path(cgroup_root)
    below = kubelet_root.strip("/")
    if (root / "cgroup.controllers").is_file():
        tree = root / below
        return Hierarchy(2, tree, tree)
    cpu = next((root / m for m in _CPUACCT_MOUNTS if (root / m / "cpuacct.usage").is_file()), None)
    memory = root / "memory"
    if cpu is None or not (memory / "memory.usage_in_bytes").is_file():
        raise InvalidInput(
            "not a cgroup filesystem",
            obj="cgroup root",
            field="--cgroup-root",
            value=str(root),
            expected="cgroup v2 (cgroup.controllers at the root) or the v1 controllers "
            "cpuacct (or cpu,cpuacct) and memory mounted below it",
        )
    return Hierarchy(1, cpu / below, memory / below)
