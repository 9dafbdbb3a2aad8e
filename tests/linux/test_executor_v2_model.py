"""The v2 driver and the executor on a model of the unified tree (tests/linux/
unifiedmodel.py says what it models and why a model: this machine's controllers are all
bound to cgroup v1). The files and formats the kernel has, its answers to writes, and
the reads of usage, throttling and PSI."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest
from unifiedmodel import UnifiedTree

from colo.core.cgroups import MAX, CgroupIntent, IoLimit, ReclaimIntent
from colo.core.errors import Permanent
from colo.linux import LinuxCgroups

UID = "5f0c8e4a-1b2c-4d3e-9f00-0123456789ab"
UNIT = UID.replace("-", "_")
BOX = "kubepods.slice/kubepods-besteffort.slice"
POD = f"{BOX}/kubepods-besteffort-pod{UNIT}.slice"
CTR = f"{POD}/cri-containerd-{'a' * 64}.scope"
MIB = 2**20
PAGE = os.sysconf("SC_PAGE_SIZE")


def P(path: str) -> PurePosixPath:
    return PurePosixPath(path)


@pytest.fixture
def tree(tmp_path: Path) -> UnifiedTree:
    t = UnifiedTree(tmp_path)
    t.make(CTR)
    return t


def linux(tree: UnifiedTree) -> LinuxCgroups:
    return LinuxCgroups(tree.root, files=tree.files)


def get(tree: UnifiedTree, path: str, name: str) -> str:
    return (tree.root / path / name).read_text().strip()


def written(report) -> list[tuple[str, str, str]]:
    return [(str(c.cgroup), c.file, c.value) for c in report.written]


def test_every_setting_lands_in_its_v2_file_in_the_kernels_format(tree: UnifiedTree) -> None:
    cgroups = linux(tree)
    assert cgroups.version == 2
    report = cgroups.apply(
        [
            CgroupIntent(
                P(BOX),
                cpu_quota_us=200_000,
                cpuset_cpus=frozenset({0, 1, 2}),
                cpuset_mems=frozenset({0}),
                memory_limit=MAX,
                memory_high=512 * MIB + 1,
            ),
            CgroupIntent(P(POD), cpu_weight=39, cpu_period_us=50_000, memory_limit=256 * MIB),
            CgroupIntent(
                P(CTR),
                cpu_idle=True,
                io_max=(IoLimit("8:0", read_bps=MIB, write_iops=100),),
            ),
        ]
    )
    assert report.failed == ()
    assert get(tree, BOX, "cpu.max") == "200000 100000"
    assert get(tree, BOX, "cpuset.cpus") == "0-2"
    assert get(tree, BOX, "memory.high") == str((512 * MIB + 1) // PAGE * PAGE)
    assert get(tree, BOX, "memory.max") == "max"  # already: not written
    assert get(tree, POD, "cpu.weight") == "39"  # v2's own unit, no conversion
    assert get(tree, POD, "cpu.max") == "max 50000"
    assert get(tree, POD, "memory.max") == str(256 * MIB)
    assert get(tree, CTR, "cpu.idle") == "1"
    assert get(tree, CTR, "io.max") == "8:0 rbps=1048576 wbps=max riops=max wiops=100"
    assert ("kubepods.slice/kubepods-besteffort.slice", "memory.max") not in {
        (c, f) for c, f, _ in written(report)
    }


def test_unchanged_values_are_skipped_and_a_new_executor_adopts_them(tree: UnifiedTree) -> None:
    intents = [
        CgroupIntent(P(BOX), cpu_quota_us=400_000, memory_high=MIB * 100),
        CgroupIntent(P(POD), cpu_weight=10, io_max=(IoLimit("8:16", write_bps=MIB),)),
    ]
    assert len(linux(tree).apply(intents).written) == 4
    again = linux(tree).apply(intents)  # a restarted agent
    assert again.written == () and len(again.unchanged) == 4


def test_io_max_keeps_one_line_per_device_and_max_everywhere_drops_it(tree: UnifiedTree) -> None:
    cgroups = linux(tree)
    cgroups.apply(
        [
            CgroupIntent(
                P(POD),
                io_max=(IoLimit("8:0", read_bps=MIB), IoLimit("8:16", write_iops=50)),
            )
        ]
    )
    assert get(tree, POD, "io.max").splitlines() == [
        "8:0 rbps=1048576 wbps=max riops=max wiops=max",
        "8:16 rbps=max wbps=max riops=max wiops=50",
    ]
    report = cgroups.apply([CgroupIntent(P(POD), io_max=(IoLimit("8:0", read_bps=MAX),))])
    assert written(report) == [(POD, "io.max", "8:0 rbps=max")]
    assert get(tree, POD, "io.max") == "8:16 rbps=max wbps=max riops=max wiops=50"
    unknown = cgroups.apply([CgroupIntent(P(POD), io_max=(IoLimit("9:9", read_bps=1),))])
    assert unknown.failed[0].reason.endswith("no such block device")


def test_the_order_of_parent_and_child_is_the_same_as_on_v1(tree: UnifiedTree) -> None:
    """v2 takes a child's cpuset outside its parent's (only the intersection acts), but
    the executor keeps one order for both versions."""
    cgroups = linux(tree)
    cgroups.apply(
        [
            CgroupIntent(P(BOX), cpuset_cpus=frozenset({0})),
            CgroupIntent(P(POD), cpuset_cpus=frozenset({0})),
        ]
    )
    move = cgroups.apply(
        [
            CgroupIntent(P(POD), cpuset_cpus=frozenset({3})),
            CgroupIntent(P(BOX), cpuset_cpus=frozenset({3})),
        ]
    )
    assert written(move) == [
        (BOX, "cpuset.cpus", "0,3"),
        (POD, "cpuset.cpus", "0,3"),
        (POD, "cpuset.cpus", "3"),
        (BOX, "cpuset.cpus", "3"),
    ]


def test_a_controller_the_parent_does_not_enable_is_reported_as_such(tmp_path: Path) -> None:
    tree = UnifiedTree(tmp_path)
    tree.make(BOX, subtree=("cpu", "memory"))  # no cpuset below the box
    tree.make(POD)
    report = linux(tree).apply(
        [CgroupIntent(P(POD), cpuset_cpus=frozenset({1}), cpu_quota_us=100_000)]
    )
    assert written(report) == [(POD, "cpu.max", "100000 100000")]
    (failed,) = report.failed
    assert failed.file == "cpuset.cpus"
    assert failed.reason == (
        "missing: the cpuset controller is not enabled for this cgroup (its parent's "
        "cgroup.subtree_control lacks it; enabled: cpu memory)"
    )


def test_the_kernels_refusals_are_reported_with_their_reason(tree: UnifiedTree) -> None:
    cgroups = linux(tree)
    cgroups.apply([CgroupIntent(P(CTR), cpu_idle=True)])
    report = cgroups.apply(
        [CgroupIntent(P(CTR), cpu_weight=50), CgroupIntent(P(POD), cpuset_cpus=frozenset({9}))]
    )
    reasons = {c.file: c.reason for c in report.failed}
    assert reasons["cpu.weight"].startswith("EINVAL") and "idle" in reasons["cpu.weight"]
    assert reasons["cpuset.cpus"] == "EINVAL (Invalid argument): ids the node does not have"


def test_reclaim_writes_the_page_cache_size_to_memory_reclaim(tree: UnifiedTree) -> None:
    tree.account(POD, anon=10 * MIB, file=40 * MIB, inactive_file=30 * MIB)
    cgroups = linux(tree)
    before = cgroups.memory(P(POD))
    assert before is not None
    assert (before.usage_bytes, before.working_set_bytes, before.file_bytes) == (
        50 * MIB,
        20 * MIB,
        40 * MIB,
    )
    report = cgroups.apply([ReclaimIntent(P(POD))])
    assert written(report) == [(POD, "memory.reclaim", str(40 * MIB))]
    after = cgroups.memory(P(POD))
    assert after is not None and after.file_bytes == 0 and after.usage_bytes == 10 * MIB
    # nothing left to reclaim: nothing written
    assert linux(tree).apply([ReclaimIntent(P(POD))]).written == ()
    # more than there is: the kernel answers EAGAIN, reported
    tree.account(POD, file=MIB, inactive_file=MIB)
    (failed,) = cgroups.apply([ReclaimIntent(P(POD), bytes=8 * MIB)]).failed
    assert failed.reason == "EAGAIN (Resource temporarily unavailable): could not reclaim that much"


def test_a_gone_cgroup_is_not_an_error(tree: UnifiedTree) -> None:
    gone = f"{BOX}/kubepods-besteffort-pod{'0' * 8}_0000_0000_0000_{'0' * 12}.slice"
    report = linux(tree).apply(
        [CgroupIntent(P(gone), cpu_quota_us=100_000), CgroupIntent(P(POD), cpu_quota_us=100_000)]
    )
    assert report.gone == (P(gone),) and report.failed == ()
    assert written(report) == [(POD, "cpu.max", "100000 100000")]


def test_reads_cpu_throttling_and_psi_per_cgroup(tree: UnifiedTree) -> None:
    tree.account(POD, usage_usec=3_000_000, nr_periods=40, nr_throttled=7, throttled_usec=500)
    (tree.root / POD / "memory.pressure").write_text(
        "some avg10=1.25 avg60=0.50 avg300=0.10 total=4000\n"
        "full avg10=0.75 avg60=0.25 avg300=0.05 total=2000\n"
    )
    cgroups = linux(tree)
    cpu = cgroups.cpu(P(POD))
    assert cpu is not None
    assert (cpu.usage_ns, cpu.nr_periods, cpu.nr_throttled, cpu.throttled_ns) == (
        3_000_000_000,
        40,
        7,
        500_000,
    )
    psi = cgroups.pressure(P(POD))
    assert psi is not None and psi.memory is not None and psi.memory.full is not None
    assert (psi.memory.some.avg10, psi.memory.full.total_us) == (1.25, 2000)
    assert cgroups.pressure(P(f"{POD}/nothing")) is None


def test_memory_without_the_memory_controller_is_a_permanent_fault(tmp_path: Path) -> None:
    tree = UnifiedTree(tmp_path)
    tree.make(BOX, subtree=("cpu",))
    tree.make(POD)
    cgroups = linux(tree)
    with pytest.raises(Permanent, match="memory controller is not enabled"):
        cgroups.memory(P(POD))
    assert cgroups.cpu(P(POD)) is not None  # cpu.stat is always there


def test_the_pod_tree_is_scanned_the_same_way(tree: UnifiedTree) -> None:
    (systemd,) = linux(tree).scan()
    assert systemd.driver == "systemd" and str(systemd.box) == BOX
    (pod,) = systemd.pods
    assert (pod.uid, pod.qos_class, [c.runtime for c in pod.containers]) == (
        UID,
        "BestEffort",
        ["cri-containerd"],
    )
