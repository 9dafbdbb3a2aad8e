"""The cgroup port on the machine's real cgroup v1 filesystem (the `cgroup_tree`
fixture): throttling and memory of real processes, PSI for the node and for a cgroup
in the hybrid cgroup2 tree, the kubelet's pod tree as found, reclaiming page cache, and
block I/O limits on a real device."""

from __future__ import annotations

import errno
import sys
import time
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from colo.core.cgroups import MAX, CgroupIntent, IoLimit, ReclaimIntent
from colo.linux import LinuxCgroups

pytestmark = pytest.mark.cgroup

UID = "5f0c8e4a-1b2c-4d3e-9f00-0123456789ab"
UID2 = "0d1e2f3a-4b5c-4d6e-8f70-abcdefabcdef"
BOX = "kubepods/besteffort"
POD = f"{BOX}/pod{UID}"
MIB = 2**20


def linux(tree) -> LinuxCgroups:
    return LinuxCgroups(tree.cgroup_root, kubelet_root=tree.kubelet_root)


def test_a_busy_pod_under_a_small_quota_is_throttled_and_holds_its_memory(cgroup_tree) -> None:
    cgroup_tree.make(POD)
    cgroups = linux(cgroup_tree)
    cgroups.apply([CgroupIntent(PurePosixPath(POD), cpu_quota_us=10_000)])  # 0.1 core
    cgroup_tree.start_busy(f"{POD}/{'a' * 64}", megabytes=64)
    time.sleep(1.0)
    cpu, memory = cgroups.cpu(PurePosixPath(POD)), cgroups.memory(PurePosixPath(POD))
    assert cpu is not None and memory is not None
    assert cpu.nr_periods >= 5 and cpu.nr_throttled >= 5 and cpu.throttled_ns > 0, cpu
    assert 0 < cpu.usage_ns < 0.5e9, cpu  # at most ~0.1 s of cpu in ~1 s
    assert 64 * MIB <= memory.usage_bytes < 256 * MIB, memory
    assert 64 * MIB <= memory.working_set_bytes <= memory.usage_bytes, memory


def test_reads_of_a_cgroup_that_is_not_there_are_none(cgroup_tree) -> None:
    cgroups = linux(cgroup_tree)
    absent = PurePosixPath(POD)
    assert cgroups.cpu(absent) is None
    assert cgroups.memory(absent) is None
    assert cgroups.pressure(absent) is None


def test_psi_for_the_node_always_and_per_cgroup_only_in_the_hybrid_cgroup2_tree(
    cgroup_tree,
) -> None:
    cgroups = linux(cgroup_tree)
    node = cgroups.node_pressure()
    if node.cpu is None:
        pytest.skip("PSI is off on this kernel (psi=0)")
    assert node.memory is not None and node.io is not None
    cgroup_tree.make(POD)
    assert cgroups.pressure(PurePosixPath(POD)) is None  # v1 keeps no PSI per cgroup
    if cgroup_tree.unified is None:
        pytest.skip("no hybrid cgroup2 tree at /sys/fs/cgroup/unified")
    # as systemd mirrors a slice into the cgroup2 tree: three spinners on this node's
    # cores make some of them wait, and the cgroup2 twin accounts the stall
    hybrid = f"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID2}.slice"
    procs = [cgroup_tree.start_busy(hybrid, megabytes=1, hybrid=True) for _ in range(3)]
    time.sleep(1.0)
    stats = cgroups.pressure(PurePosixPath(hybrid))
    for p in procs:
        cgroup_tree.stop(p)
    assert stats is not None and stats.cpu is not None and stats.memory is not None
    assert stats.cpu.some.total_us > 0, stats


def test_the_kubelets_pod_tree_is_found_under_both_drivers(cgroup_tree) -> None:
    unit = UID2.replace("-", "_")
    containerd = "cri-containerd-" + "b" * 64 + ".scope"
    cgroup_tree.make(f"kubepods/pod{UID}/{'a' * 64}")
    cgroup_tree.make(f"kubepods/burstable/pod{UID2}")
    cgroup_tree.make("kubepods/besteffort")
    cgroup_tree.make("kubepods/not-a-pod")
    cgroup_tree.make(
        f"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{unit}.slice/{containerd}"
    )
    cgroupfs, systemd = linux(cgroup_tree).scan()

    assert (cgroupfs.driver, str(cgroupfs.box)) == ("cgroupfs", BOX)
    assert [(p.uid, p.qos_class) for p in cgroupfs.pods] == [
        (UID, "Guaranteed"),
        (UID2, "Burstable"),
    ]
    (ctr,) = cgroupfs.pods[0].containers
    assert (ctr.id, ctr.runtime, str(ctr.cgroup)) == ("a" * 64, "", f"kubepods/pod{UID}/{'a' * 64}")

    assert str(systemd.box) == "kubepods.slice/kubepods-besteffort.slice"
    (pod,) = systemd.pods
    assert (pod.uid, pod.qos_class) == (UID2, "BestEffort")
    (ctr,) = pod.containers
    assert (ctr.id, ctr.runtime) == ("b" * 64, "cri-containerd")


def test_nothing_is_found_before_the_kubelet_made_kubepods(cgroup_tree) -> None:
    assert linux(cgroup_tree).scan() == ()


# --- reclaim ------------------------------------------------------------------------
WRITE = """
import os, sys
with open(sys.argv[1], "wb") as f:
    for _ in range(64):
        f.write(b"x" * (1 << 20))
    f.flush()
    os.fsync(f.fileno())
"""


def test_force_empty_gives_back_the_page_cache_a_pod_left(cgroup_tree, tmp_path: Path) -> None:
    # a process of the pod writes 64 MiB to a file on disk and exits: its page cache
    # stays charged to the pod
    cgroup_tree.run_in(POD, [sys.executable, "-c", WRITE, str(tmp_path / "data")])
    cgroups = linux(cgroup_tree)
    before = cgroups.memory(PurePosixPath(POD))
    assert before is not None and before.file_bytes >= 48 * MIB, before

    report = cgroups.apply([ReclaimIntent(PurePosixPath(POD))])
    assert [(c.file, c.value) for c in report.written] == [("memory.force_empty", "0")]
    after = cgroups.memory(PurePosixPath(POD))
    assert after is not None
    assert after.usage_bytes < before.usage_bytes - 48 * MIB, (before, after)
    assert after.file_bytes < 8 * MIB, after


# --- block I/O ------------------------------------------------------------------------
def block_device() -> str | None:
    """MAJ:MIN of a whole disk of this machine (not a loop, ram or zram device)."""
    for line in Path("/proc/partitions").read_text().splitlines()[2:]:
        major, minor, blocks, name = line.split()
        disk = Path("/sys/block", name).is_dir() and int(blocks) > 0
        if disk and not name.startswith(("loop", "ram", "zram")):
            return f"{major}:{minor}"
    return None


def test_blkio_throttles_a_real_device_and_max_lifts_it(cgroup_tree) -> None:
    device = block_device()
    if device is None:
        pytest.skip("no whole disk in /proc/partitions (the unknown-device test still runs)")
    cgroup_tree.make(POD)
    cgroups = linux(cgroup_tree)
    limit = IoLimit(device, read_bps=MIB, write_iops=100)
    report = cgroups.apply([CgroupIntent(PurePosixPath(POD), io_max=(limit,))])
    assert report.failed == ()
    blkio = cgroup_tree.path("blkio", POD)
    assert (blkio / "blkio.throttle.read_bps_device").read_text().split() == [device, str(MIB)]
    assert (blkio / "blkio.throttle.write_iops_device").read_text().split() == [device, "100"]
    assert (blkio / "blkio.throttle.write_bps_device").read_text() == ""
    again = cgroups.apply([CgroupIntent(PurePosixPath(POD), io_max=(limit,))])
    assert again.written == () and len(again.unchanged) == 2

    lift = IoLimit(device, read_bps=MAX)
    cgroups.apply([CgroupIntent(PurePosixPath(POD), io_max=(lift,))])
    assert (blkio / "blkio.throttle.read_bps_device").read_text() == ""


def test_blkio_on_a_device_the_node_lacks_is_refused_with_enodev(cgroup_tree) -> None:
    cgroup_tree.make(POD)
    report = linux(cgroup_tree).apply(
        [CgroupIntent(PurePosixPath(POD), io_max=(IoLimit("4095:0", read_bps=MIB),))]
    )
    (failed,) = report.failed
    assert failed.knob == "io_max[4095:0].read_bps"
    assert failed.reason.startswith(errno.errorcode[errno.ENODEV])
    assert failed.reason.endswith("no such block device")


def test_the_node_time_is_the_node_roots_whatever_the_kubelet_root(cgroup_tree: Any) -> None:
    """The private kubelet root holds no task; cpu this test burns outside it counts."""
    cgroup_tree.make("kubepods")
    cgroups = LinuxCgroups(cgroup_tree.cgroup_root, kubelet_root=cgroup_tree.kubelet_root)
    before = cgroups.node_task_ns()
    assert before is not None
    spun = time.process_time()
    while time.process_time() - spun < 0.3:
        pass
    spun = time.process_time() - spun
    after = cgroups.node_task_ns()
    assert after is not None
    assert after - before >= 0.95 * spun * 1e9
