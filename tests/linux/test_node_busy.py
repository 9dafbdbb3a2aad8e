"""The node's busy cpu time as colo-agent reads it: every task's run time from the node's
root cgroup (v2 on the model of the unified tree here; the real v1 root in
test_cgroups_v1.py) plus /proc/stat's irq, softirq and steal. /proc/stat's user and
system are sampled at the tick and were 0.4-0.55 core off next to a box throttled every
10 ms (docs/agent.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from unifiedmodel import UnifiedTree

from colo.core.errors import InvalidInput, Retryable
from colo.linux import LinuxCgroups
from colo.linux.node import node_busy_reader, read_cpu_busy_ns, read_cpu_kernel_ns

TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _tree(tmp_path: Path) -> UnifiedTree:
    root = tmp_path / "cg"
    root.mkdir()
    return UnifiedTree(root)


def _proc(tmp_path: Path, *, user: int, system: int, irq: int, softirq: int, steal: int) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir(exist_ok=True)
    (proc / "stat").write_text(
        f"cpu  {user} 0 {system} 9000 40 {irq} {softirq} {steal} 0 0\n"
        f"cpu0 {user} 0 {system} 9000 40 {irq} {softirq} {steal} 0 0\nintr 1\n"
    )
    return proc


def test_the_kernel_share_of_proc_stat_is_irq_softirq_and_steal(tmp_path: Path) -> None:
    proc = _proc(tmp_path, user=100, system=20, irq=5, softirq=7, steal=3)
    assert read_cpu_kernel_ns(proc) == 15 * TICK_NS
    assert read_cpu_busy_ns(proc) == 135 * TICK_NS  # user..steal, idle and iowait left out


def test_an_old_kernels_short_line_and_a_garbled_one(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text("cpu  100 0 20 9000 40 5 7\n")  # before steal existed
    assert read_cpu_kernel_ns(tmp_path) == 12 * TICK_NS
    (tmp_path / "stat").write_text("cpu  100 zero 20 9000\n")
    with pytest.raises(InvalidInput, match="aggregate cpu line"):
        read_cpu_kernel_ns(tmp_path)


def test_v2_node_time_sums_the_roots_children_not_the_roots_own_tick_counts(
    tmp_path: Path,
) -> None:
    tree = _tree(tmp_path)
    for path in ("kubepods/burstable", "system.slice"):
        tree.make(path)
    tree.account("kubepods", usage_usec=3000)
    tree.account("kubepods/burstable", usage_usec=2000)  # inside kubepods': not again
    tree.account("system.slice", usage_usec=500)
    # the root's own cpu.stat is the kernel's tick-sampled sum (root_cgroup_cputime)
    (tree.root / "cpu.stat").write_text("usage_usec 999999\nuser_usec 0\nsystem_usec 0\n")
    cgroups = LinuxCgroups(tree.root, kubelet_root="/kubepods", files=tree.files)
    assert cgroups.node_task_ns() == 3_500_000


def test_the_busy_reader_adds_proc_stats_kernel_time_to_the_tasks(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    tree.make("kubepods")
    tree.account("kubepods", usage_usec=4000)
    proc = _proc(tmp_path, user=100, system=20, irq=5, softirq=7, steal=3)
    read = node_busy_reader(LinuxCgroups(tree.root, files=tree.files), str(proc))
    assert read() == 4_000_000 + 15 * TICK_NS
    tree.account("kubepods", usage_usec=9000)
    assert read() == 9_000_000 + 15 * TICK_NS


def test_the_busy_reader_keeps_the_source_it_started_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No rate may mix the two sources: /proc/stat when the root was unreadable at the
    start, even once it is readable; a root that goes unreadable later is a fault of
    that round (Retryable), not a switch."""
    tree = _tree(tmp_path)
    tree.make("kubepods")
    tree.account("kubepods", usage_usec=4000)
    proc = _proc(tmp_path, user=100, system=20, irq=5, softirq=7, steal=3)
    cgroups = LinuxCgroups(tree.root, files=tree.files)
    readable = [False]
    real = cgroups.node_task_ns
    monkeypatch.setattr(cgroups, "node_task_ns", lambda: real() if readable[0] else None)
    from_stat = node_busy_reader(cgroups, str(proc))
    assert from_stat() == 135 * TICK_NS
    readable[0] = True
    assert from_stat() == 135 * TICK_NS

    exact = node_busy_reader(cgroups, str(proc))
    assert exact() == 4_000_000 + 15 * TICK_NS
    readable[0] = False
    with pytest.raises(Retryable):
        exact()
