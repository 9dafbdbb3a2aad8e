"""The cgroup v1 usage reader on the machine's real cgroup filesystem, below a private
root made by hand (the `cgroup_tree` fixture), with real processes in the pods' cgroups."""

from __future__ import annotations

import time

import pytest

from colo.core.usage import PodCgroup
from colo.linux import CgroupUsageReader

pytestmark = pytest.mark.cgroup

UID = "5f0c8e4a-1b2c-4d3e-9f00-0123456789ab"
IDLE_UID = "0d1e2f3a-4b5c-4d6e-8f70-abcdefabcdef"
MIB = 2**20

# --- cgroup v1, on the real cgroup filesystem ---------------------------------------
POD = {
    "cgroupfs": f"kubepods/burstable/pod{UID}",
    "systemd": "kubepods.slice/kubepods-burstable.slice/"
    f"kubepods-burstable-pod{UID.replace('-', '_')}.slice",
}
IDLE = {
    "cgroupfs": f"kubepods/pod{IDLE_UID}",
    "systemd": f"kubepods.slice/kubepods-pod{IDLE_UID.replace('-', '_')}.slice",
}


@pytest.mark.parametrize("driver", ["cgroupfs", "systemd"])
def test_v1_a_busy_pod_shows_its_cpu_and_memory_and_an_idle_pod_shows_none(
    cgroup_tree, driver: str
) -> None:
    cgroup_tree.start_busy(f"{POD[driver]}/container-1", megabytes=64)
    cgroup_tree.start_idle(f"{IDLE[driver]}/container-1")
    reader = CgroupUsageReader(cgroup_tree.cgroup_root, kubelet_root=cgroup_tree.kubelet_root)
    assert reader.hierarchy.version == 1 and reader.available()
    pods = [PodCgroup(UID, "Burstable"), PodCgroup(IDLE_UID, "Guaranteed")]
    began = time.monotonic()
    assert reader.read(pods, began) == {}  # a first read: no rate yet
    time.sleep(1.5)
    got = reader.read(pods, time.monotonic())
    busy, idle = got[UID], got[IDLE_UID]
    # one spinning thread on a shared 2-core machine: at most a core, and surely some
    assert 0.2 < busy.cpu_cores < 1.1, busy
    assert idle.cpu_cores < 0.05, idle
    assert 64 * MIB <= busy.memory_bytes < 256 * MIB, busy
    assert idle.memory_bytes < 16 * MIB, idle


def test_v1_a_pod_not_there_yet_or_gone_is_left_out(cgroup_tree) -> None:
    cgroup_tree.make("kubepods/burstable")
    reader = CgroupUsageReader(cgroup_tree.cgroup_root, kubelet_root=cgroup_tree.kubelet_root)
    pod = [PodCgroup(UID, "Burstable")]
    assert reader.read(pod, 0.0) == {}  # not created yet
    proc = cgroup_tree.start_idle(f"{POD['cgroupfs']}/container-1")
    reader.read(pod, 1.0)
    assert set(reader.read(pod, 2.0)) == {UID}
    cgroup_tree.stop(proc)
    cgroup_tree.remove(POD["cgroupfs"])
    assert reader.read(pod, 3.0) == {}


def test_v1_without_the_kubelets_tree_nothing_is_available(cgroup_tree) -> None:
    reader = CgroupUsageReader(cgroup_tree.cgroup_root, kubelet_root=cgroup_tree.kubelet_root)
    assert not reader.available()
    cgroup_tree.make("kubepods")
    assert reader.available()
