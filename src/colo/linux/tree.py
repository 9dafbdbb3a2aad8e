"""What is in the kubelet's pod tree: QoS classes, pods and the containers below them.

Pod cgroups (`colo.linux.layout`):

    cgroupfs   kubepods[/burstable|/besteffort]/pod<uid>
    systemd    kubepods.slice[/kubepods-<class>.slice]/kubepods[-<class>]-pod<uid_>.slice

Container cgroups below a pod's, by runtime and driver:

    cgroupfs   <id>                     containerd, docker (a 64-hex container id)
               crio-<id>, crio-conmon-<id>
    systemd    cri-containerd-<id>.scope, crio-<id>.scope, crio-conmon-<id>.scope,
               docker-<id>.scope

Every directory below a pod is listed (the sandbox's too); a name of none of these
shapes is kept whole as the id, with no runtime. Directories below `kubepods` that are
neither a QoS class nor a pod (someone else's) are not pods and are left out.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from colo.core.cgroupstats import CgroupDriver, KubeletTree, ScannedContainer, ScannedPod
from colo.core.qos import QOS_CLASSES, KubernetesQoSClass
from colo.linux.files import KernelFiles
from colo.linux.layout import box_cgroup, qos_cgroup

_CONTAINER = re.compile(
    r"^(?:(?P<runtime>cri-containerd|crio-conmon|crio|docker)-)?(?P<id>[0-9a-f]{12,64})"
    r"(?P<scope>\.scope)?$"
)
_CGROUPFS_POD = re.compile(r"^pod(?P<uid>[0-9a-fA-F-]{36})$")
_SYSTEMD_POD = {
    q: re.compile(rf"^kubepods{'-' + c if c else ''}-pod(?P<uid>[0-9a-fA-F_]{{36}})\.slice$")
    for q, c in (("Guaranteed", ""), ("Burstable", "burstable"), ("BestEffort", "besteffort"))
}


def container_of(name: str, pod: PurePosixPath) -> ScannedContainer:
    m = _CONTAINER.match(name)
    if m is None:
        return ScannedContainer(id=name, runtime="", cgroup=pod / name)
    return ScannedContainer(id=m["id"], runtime=m["runtime"] or "", cgroup=pod / name)


def pod_uid(driver: CgroupDriver, qos_class: KubernetesQoSClass, name: str) -> str | None:
    """The uid of the pod whose cgroup is `name`, found in `qos_class`'s cgroup; None
    when it names no pod of that class (e.g. `burstable` inside `kubepods`)."""
    if driver == "cgroupfs":
        m = _CGROUPFS_POD.match(name)
        return m["uid"] if m else None
    m = _SYSTEMD_POD[qos_class].match(name)
    return m["uid"].replace("_", "-") if m else None


def scan(files: KernelFiles, root: Path) -> tuple[KubeletTree, ...]:
    """The kubelet's pod tree under each driver whose `kubepods` is below `root` (one
    hierarchy's directory of the kubelet's cgroup root)."""
    trees = []
    for driver in ("cgroupfs", "systemd"):
        kubepods = qos_cgroup(driver, "Guaranteed")
        if files.is_dir(root / kubepods):
            trees.append(_scan_driver(files, root, driver))
    return tuple(trees)


def _scan_driver(files: KernelFiles, root: Path, driver: CgroupDriver) -> KubeletTree:
    qos = {q: qos_cgroup(driver, q) for q in QOS_CLASSES}
    pods: list[ScannedPod] = []
    for qos_class in QOS_CLASSES:
        parent = qos[qos_class]
        for name in files.children(root / parent):
            uid = pod_uid(driver, qos_class, name)
            if uid is None:
                continue
            cgroup = parent / name
            containers = tuple(container_of(c, cgroup) for c in files.children(root / cgroup))
            pods.append(ScannedPod(uid, qos_class, cgroup, containers))
    return KubeletTree(
        driver=driver,
        kubepods=qos["Guaranteed"],
        qos=qos,
        box=box_cgroup(driver),
        pods=tuple(pods),
    )
