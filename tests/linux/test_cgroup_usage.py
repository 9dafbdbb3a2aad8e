"""The cgroup usage reader: pod cgroups in the kubelet's layout, cpu and memory usage.

The layout and the v2 reader, on a directory model of the unified tree. The v1 reader
runs on the machine's real cgroup filesystem in test_cgroup_v1.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from unifiedmodel import UnifiedTree

from colo.core.errors import InvalidInput
from colo.core.usage import PodCgroup
from colo.linux import CgroupUsageReader, find_hierarchy, pod_cgroup_paths
from colo.linux.layout import cgroupfs_path, systemd_path

UID = "5f0c8e4a-1b2c-4d3e-9f00-0123456789ab"
IDLE_UID = "0d1e2f3a-4b5c-4d6e-8f70-abcdefabcdef"
MIB = 2**20


# --- the layout -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("qos", "cgroupfs", "systemd"),
    [
        pytest.param(
            "Guaranteed",
            f"kubepods/pod{UID}",
            f"kubepods.slice/kubepods-pod{UID.replace('-', '_')}.slice",
            id="guaranteed pods sit right below kubepods",
        ),
        pytest.param(
            "Burstable",
            f"kubepods/burstable/pod{UID}",
            "kubepods.slice/kubepods-burstable.slice/"
            f"kubepods-burstable-pod{UID.replace('-', '_')}.slice",
            id="burstable pods sit below their class",
        ),
        pytest.param(
            "BestEffort",
            f"kubepods/besteffort/pod{UID}",
            "kubepods.slice/kubepods-besteffort.slice/"
            f"kubepods-besteffort-pod{UID.replace('-', '_')}.slice",
            id="best-effort pods sit below their class",
        ),
    ],
)
def test_the_kubelets_pod_cgroup_names(qos: str, cgroupfs: str, systemd: str) -> None:
    assert str(cgroupfs_path(UID, qos)) == cgroupfs  # type: ignore[arg-type]
    assert str(systemd_path(UID, qos)) == systemd  # type: ignore[arg-type]
    first_two = pod_cgroup_paths(UID, qos)[:2]  # type: ignore[arg-type]
    assert [str(p) for p in first_two] == [cgroupfs, systemd]


def test_every_class_under_either_driver_is_tried() -> None:
    assert len(set(pod_cgroup_paths(UID, "Burstable"))) == 6


def test_a_directory_that_is_no_cgroup_filesystem_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="--cgroup-root"):
        find_hierarchy(tmp_path)


POD = {
    "cgroupfs": f"kubepods/burstable/pod{UID}",
    "systemd": "kubepods.slice/kubepods-burstable.slice/"
    f"kubepods-burstable-pod{UID.replace('-', '_')}.slice",
}


# --- cgroup v2, on a model of the unified tree -------------------------------------
class UnifiedModel(UnifiedTree):
    """The model of a v2 tree (unifiedmodel.py) with a pod's counters set in one call:
    cpu.stat usage_usec, memory.current and memory.stat inactive_file."""

    def pod(self, path: str, *, usage_usec: int, current: int, inactive_file: int) -> None:
        self.make(path)
        self.account(
            path,
            usage_usec=usage_usec,
            anon=current - inactive_file,
            file=inactive_file,
            inactive_file=inactive_file,
        )


@pytest.mark.parametrize("driver", ["cgroupfs", "systemd"])
def test_v2_cpu_is_the_usage_usec_rate_and_memory_the_working_set(
    tmp_path: Path, driver: str
) -> None:
    tree = UnifiedModel(tmp_path)
    tree.make(str(Path(POD[driver]).parent))
    reader = CgroupUsageReader(tmp_path)
    assert reader.hierarchy.version == 2 and reader.available()
    pod = [PodCgroup(UID, "Burstable")]
    tree.pod(POD[driver], usage_usec=10_000_000, current=900 * MIB, inactive_file=100 * MIB)
    assert reader.read(pod, 100.0) == {}
    tree.pod(POD[driver], usage_usec=13_000_000, current=900 * MIB, inactive_file=100 * MIB)
    (sample,) = reader.read(pod, 102.0).values()
    assert sample.cpu_cores == pytest.approx(1.5)  # 3 s of cpu time in 2 s
    assert sample.memory_bytes == 800 * MIB


def test_v2_a_recreated_cgroup_starts_its_rate_over(tmp_path: Path) -> None:
    tree = UnifiedModel(tmp_path)
    reader = CgroupUsageReader(tmp_path)
    pod = [PodCgroup(UID, "Burstable")]
    tree.pod(POD["cgroupfs"], usage_usec=50_000_000, current=MIB, inactive_file=0)
    reader.read(pod, 0.0)
    tree.pod(POD["cgroupfs"], usage_usec=1_000, current=MIB, inactive_file=0)  # counter reset
    assert reader.read(pod, 1.0) == {}
    tree.pod(POD["cgroupfs"], usage_usec=501_000, current=MIB, inactive_file=2 * MIB)
    (sample,) = reader.read(pod, 2.0).values()
    assert sample.cpu_cores == pytest.approx(0.5) and sample.memory_bytes == 0
