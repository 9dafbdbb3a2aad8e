"""The executor on the machine's real cgroup v1 filesystem, below a private kubelet root
(the `cgroup_tree` fixture): what it writes and reads back, what it skips, the order of
parent and child, and what it refuses, reports and survives.

Where a test says "the kernel refuses", it writes the file directly first, in the
wrong order, to show the constraint the executor's order exists for.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
from pathlib import Path, PurePosixPath

import pytest

from colo.core.cgroups import MAX, CgroupIntent
from colo.core.errors import InvalidInput
from colo.core.topology import parse_cpuset
from colo.linux import Executor, LinuxCgroups, driver_for
from colo.linux.files import KernelFiles

pytestmark = pytest.mark.cgroup

UID = "5f0c8e4a-1b2c-4d3e-9f00-0123456789ab"
BOX = "kubepods/besteffort"
POD = f"{BOX}/pod{UID}"
CTR = f"{POD}/{'a' * 64}"
MIB = 2**20


def P(path: str) -> PurePosixPath:
    return PurePosixPath(path)


def linux(tree) -> LinuxCgroups:
    return LinuxCgroups(tree.cgroup_root, kubelet_root=tree.kubelet_root)


def get(tree, controller: str, path: str, name: str) -> str:
    return (tree.path(controller, path) / name).read_text().strip()


def put(tree, controller: str, path: str, name: str, text: str) -> None:
    (tree.path(controller, path) / name).write_text(text)


def refused(tree, controller: str, path: str, name: str, text: str) -> int:
    """The errno the kernel refuses a direct write with (fails if it takes it)."""
    with pytest.raises(OSError) as e:
        put(tree, controller, path, name, text)
    assert e.value.errno is not None
    return e.value.errno


def files_written(report) -> list[tuple[str, str, str]]:
    return [(str(c.cgroup), c.file, c.value) for c in report.written]


# --- writes, read back ----------------------------------------------------------------
def test_quota_period_weight_idle_and_memory_are_written_and_read_back(cgroup_tree) -> None:
    cgroup_tree.make(CTR)
    put(cgroup_tree, "cpu", POD, "cpu.cfs_quota_us", "50000")
    report = linux(cgroup_tree).apply(
        [
            CgroupIntent(P(BOX), cpu_quota_us=200_000, memory_limit=512 * MIB, memory_high=MAX),
            CgroupIntent(P(POD), cpu_weight=39, cpu_quota_us=25_000, cpu_period_us=50_000),
            CgroupIntent(P(CTR), cpu_idle=True, memory_limit=256 * MIB + 123),
        ]
    )
    assert report.failed == () and report.gone == ()
    assert get(cgroup_tree, "cpu", BOX, "cpu.cfs_quota_us") == "200000"
    assert get(cgroup_tree, "cpu", BOX, "cpu.cfs_period_us") == "100000"
    assert get(cgroup_tree, "cpu", POD, "cpu.shares") == "999"  # weight 39 ≈ one cpu
    assert get(cgroup_tree, "cpu", POD, "cpu.cfs_quota_us") == "25000"
    assert get(cgroup_tree, "cpu", POD, "cpu.cfs_period_us") == "50000"
    assert get(cgroup_tree, "cpu", CTR, "cpu.idle") == "1"
    assert get(cgroup_tree, "memory", BOX, "memory.limit_in_bytes") == str(512 * MIB)
    # v1 has no memory.high: the soft limit stands for it ("max" is v1's unlimited)
    assert int(get(cgroup_tree, "memory", BOX, "memory.soft_limit_in_bytes")) >= 2**62
    page = os.sysconf("SC_PAGE_SIZE")
    assert get(cgroup_tree, "memory", CTR, "memory.limit_in_bytes") == str(256 * MIB // page * page)
    # a period change lifts the quota, sets the period, then the quota (see colo.linux.v1)
    pod_cpu = [(f, v) for c, f, v in files_written(report) if c == POD and f != "cpu.shares"]
    assert pod_cpu == [
        ("cpu.cfs_quota_us", "-1"),
        ("cpu.cfs_period_us", "50000"),
        ("cpu.cfs_quota_us", "25000"),
    ]


def test_an_idle_cgroup_refuses_a_weight_so_leaving_idle_comes_first(cgroup_tree) -> None:
    cgroup_tree.make(CTR)
    cgroups = linux(cgroup_tree)
    assert cgroups.apply([CgroupIntent(P(CTR), cpu_idle=True)]).failed == ()
    assert refused(cgroup_tree, "cpu", CTR, "cpu.shares", "1024") == errno.EINVAL
    # one intent naming the weight before leaving idle: the executor leaves idle first
    report = cgroups.apply(
        [CgroupIntent(P(CTR), cpu_weight=39), CgroupIntent(P(CTR), cpu_idle=False)]
    )
    assert report.failed == ()
    assert [f for _, f, _ in files_written(report)] == ["cpu.idle", "cpu.shares"]
    assert get(cgroup_tree, "cpu", CTR, "cpu.shares") == "999"


# --- skipping and adopting ------------------------------------------------------------
INTENTS = [
    CgroupIntent(P(BOX), cpu_quota_us=300_000, cpuset_mems=frozenset({0}), memory_limit=MAX),
    CgroupIntent(P(POD), cpu_weight=2, memory_high=64 * MIB),
]


def test_an_unchanged_value_is_not_written_again_and_a_restart_adopts(cgroup_tree) -> None:
    cgroup_tree.make(POD)
    first = linux(cgroup_tree).apply(INTENTS)
    assert first.failed == ()
    assert len(first.written) == 3  # quota, weight, soft limit; mems and limit held already
    assert {c.knob for c in first.unchanged} == {"cpuset_mems", "memory_limit"}

    restarted = linux(cgroup_tree)  # a new agent: no memory of what the first wrote
    again = restarted.apply(INTENTS)
    assert again.written == () and again.failed == ()
    assert len(again.unchanged) == 5

    put(cgroup_tree, "cpu", POD, "cpu.shares", "1024")  # someone else changed one
    third = restarted.apply(INTENTS)
    assert files_written(third) == [(POD, "cpu.shares", "29")]  # weight 2
    assert len(third.unchanged) == 4


# --- parent and child ---------------------------------------------------------------
def test_a_quota_grows_parent_first_and_shrinks_child_first(cgroup_tree) -> None:
    cgroup_tree.make(POD)
    put(cgroup_tree, "cpu", BOX, "cpu.cfs_quota_us", "50000")
    put(cgroup_tree, "cpu", POD, "cpu.cfs_quota_us", "50000")
    cgroups = linux(cgroup_tree)

    # growing, the child first: v1 refuses a child's quota above its parent's
    assert refused(cgroup_tree, "cpu", POD, "cpu.cfs_quota_us", "150000") == errno.EINVAL
    grow = cgroups.apply(
        [CgroupIntent(P(POD), cpu_quota_us=150_000), CgroupIntent(P(BOX), cpu_quota_us=200_000)]
    )
    assert grow.failed == ()
    assert files_written(grow) == [
        (BOX, "cpu.cfs_quota_us", "200000"),
        (POD, "cpu.cfs_quota_us", "150000"),
    ]

    # shrinking, the parent first: v1 refuses a parent's quota below a child's
    assert refused(cgroup_tree, "cpu", BOX, "cpu.cfs_quota_us", "50000") == errno.EINVAL
    shrink = cgroups.apply(
        [CgroupIntent(P(BOX), cpu_quota_us=50_000), CgroupIntent(P(POD), cpu_quota_us=40_000)]
    )
    assert shrink.failed == ()
    assert files_written(shrink) == [
        (POD, "cpu.cfs_quota_us", "40000"),
        (BOX, "cpu.cfs_quota_us", "50000"),
    ]


def test_a_cpuset_shrinks_child_first_grows_parent_first_and_moves_through_the_union(
    cgroup_tree,
) -> None:
    cgroup_tree.make(POD)
    cpus = parse_cpuset(get(cgroup_tree, "cpuset", "", "cpuset.cpus"))
    if len(cpus) < 2:
        pytest.skip("needs two cpus")
    a, b = sorted(cpus)[:2]
    cgroups = linux(cgroup_tree)
    both = frozenset(cpus)

    def to(box: frozenset[int], pod: frozenset[int]):
        return cgroups.apply(
            [CgroupIntent(P(BOX), cpuset_cpus=box), CgroupIntent(P(POD), cpuset_cpus=pod)]
        )

    # shrinking the parent under its child: EBUSY
    assert refused(cgroup_tree, "cpuset", BOX, "cpuset.cpus", str(a)) == errno.EBUSY
    shrink = to(frozenset({a}), frozenset({a}))
    assert shrink.failed == ()
    assert [c for c, _, _ in files_written(shrink)] == [POD, BOX]

    # growing the child beyond its parent: EACCES
    whole = ",".join(map(str, sorted(cpus)))
    assert refused(cgroup_tree, "cpuset", POD, "cpuset.cpus", whole) == errno.EACCES
    grow = to(both, both)
    assert grow.failed == ()
    assert [c for c, _, _ in files_written(grow)] == [BOX, POD]

    # moving from {a} to {b}: neither order works alone; both widen to the union first
    to(frozenset({a}), frozenset({a}))
    move = to(frozenset({b}), frozenset({b}))
    assert move.failed == ()
    union = f"{a}-{b}" if b == a + 1 else f"{a},{b}"
    assert files_written(move) == [
        (BOX, "cpuset.cpus", union),
        (POD, "cpuset.cpus", union),
        (POD, "cpuset.cpus", str(b)),
        (BOX, "cpuset.cpus", str(b)),
    ]
    assert get(cgroup_tree, "cpuset", POD, "cpuset.cpus") == str(b)


# --- refusals, failures, vanishing ------------------------------------------------------
def test_a_write_outside_the_pod_tree_is_refused_before_anything_is_written(cgroup_tree) -> None:
    cgroup_tree.make(POD)
    cgroup_tree.make("system.slice")
    before = get(cgroup_tree, "cpu", POD, "cpu.cfs_quota_us")
    with pytest.raises(InvalidInput, match="colo writes only the kubelet's pod tree") as e:
        linux(cgroup_tree).apply(
            [
                CgroupIntent(P(POD), cpu_quota_us=20_000),
                CgroupIntent(P("system.slice"), cpu_quota_us=20_000),
            ]
        )
    assert "system.slice" in str(e.value)
    assert get(cgroup_tree, "cpu", POD, "cpu.cfs_quota_us") == before
    assert get(cgroup_tree, "cpu", "system.slice", "cpu.cfs_quota_us") == "-1"


def test_a_missing_file_is_logged_once_and_the_rest_is_applied(cgroup_tree, caplog) -> None:
    """The cpu controller's directory swapped for cpuacct's: there, as on a kernel built
    without CFS bandwidth, the cgroup exists and cpu.cfs_quota_us does not."""
    cgroup_tree.make(POD)
    h = linux(cgroup_tree).hierarchy
    if h.cpu == h.cpuacct:
        pytest.skip("cpu and cpuacct are one mount here")
    executor = Executor(driver_for(dataclasses.replace(h, cpu=h.cpuacct)))
    intents = [CgroupIntent(P(POD), cpu_quota_us=50_000, memory_limit=128 * MIB)]
    with caplog.at_level(logging.WARNING, logger="colo.linux.executor"):
        first = executor.apply(intents)
        second = executor.apply(intents)
    assert files_written(first) == [(POD, "memory.limit_in_bytes", str(128 * MIB))]
    for report in (first, second):
        (failed,) = report.failed
        assert (failed.knob, failed.file) == ("cpu_max", "cpu.cfs_quota_us")
        assert failed.reason.startswith("missing: the kernel has no cpu.cfs_quota_us")
    (logged,) = caplog.records
    assert "cpu.cfs_quota_us" in logged.getMessage()


def test_a_cgroup_gone_before_or_during_apply_is_not_an_error(cgroup_tree, monkeypatch) -> None:
    other = f"{BOX}/pod0d1e2f3a-4b5c-4d6e-8f70-abcdefabcdef"
    cgroup_tree.make(POD)
    cgroup_tree.make(other)
    cgroups = linux(cgroup_tree)

    cgroup_tree.remove(POD)  # deleted before the apply
    before = cgroups.apply(
        [CgroupIntent(P(POD), cpu_quota_us=20_000), CgroupIntent(P(other), cpu_quota_us=20_000)]
    )
    assert before.gone == (P(POD),) and before.failed == ()
    assert files_written(before) == [(other, "cpu.cfs_quota_us", "20000")]

    cgroup_tree.make(POD)
    render = cgroups.driver.render

    def deleted_meanwhile(cgroup, *args):
        if cgroup == P(POD):
            cgroup_tree.remove(POD)  # read, planned, and now gone before the write
        return render(cgroup, *args)

    monkeypatch.setattr(cgroups.driver, "render", deleted_meanwhile)
    during = cgroups.apply(
        [CgroupIntent(P(POD), cpu_quota_us=30_000), CgroupIntent(P(other), cpu_quota_us=30_000)]
    )
    assert during.gone == (P(POD),) and during.failed == ()
    assert files_written(during) == [(other, "cpu.cfs_quota_us", "30000")]


class RefusingPeriods(KernelFiles):
    """The real files, except that every CFS period write is refused."""

    def write(self, path: Path, text: str) -> None:
        if path.name == "cpu.cfs_period_us":
            raise OSError(errno.EINVAL, "Invalid argument", str(path))
        super().write(path, text)


def test_a_period_change_refused_halfway_puts_the_quota_back(cgroup_tree) -> None:
    cgroup_tree.make(POD)
    put(cgroup_tree, "cpu", POD, "cpu.cfs_quota_us", "50000")
    h = linux(cgroup_tree).hierarchy
    executor = Executor(driver_for(h, RefusingPeriods()))
    report = executor.apply([CgroupIntent(P(POD), cpu_quota_us=25_000, cpu_period_us=50_000)])
    assert files_written(report) == [
        (POD, "cpu.cfs_quota_us", "-1"),  # lifted; the period refused;
        (POD, "cpu.cfs_quota_us", "50000"),  # put back
    ]
    (failed,) = report.failed
    assert failed.file == "cpu.cfs_period_us" and failed.reason.startswith("EINVAL")
    assert get(cgroup_tree, "cpu", POD, "cpu.cfs_quota_us") == "50000"  # as it was
    assert get(cgroup_tree, "cpu", POD, "cpu.cfs_period_us") == "100000"


def test_a_value_the_kernel_refuses_is_reported_with_its_reason_and_the_rest_applied(
    cgroup_tree,
) -> None:
    cgroup_tree.make(POD)
    report = linux(cgroup_tree).apply(
        [
            CgroupIntent(P(POD), cpuset_mems=frozenset({63})),  # a NUMA node not there
            CgroupIntent(P(BOX), cpu_quota_us=70_000),
        ]
    )
    (failed,) = report.failed
    assert failed.file == "cpuset.mems" and failed.reason.startswith("EINVAL")
    assert files_written(report)[-1] == (BOX, "cpu.cfs_quota_us", "70000")
