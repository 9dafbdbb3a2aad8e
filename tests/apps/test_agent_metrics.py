"""Prometheus metrics of colo-agent (reporting and protection) and colo-cron's count of
objects it could not read: the collectors read what the drivers and loops keep."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

from prometheus_client import generate_latest
from test_metrics import samples
from test_reclaim_loops import Agent, pod

from colo.agent.protection import ProtectedNode, ProtectionLoop
from colo.apps.agent import AgentCollector, protection_options
from colo.apps.cron import CronCollector, CronController
from colo.apps.metrics import registry_of
from colo.apps.protect import NodeProtector, NodeSampler, ProtectionCollector, pods_from_tree
from colo.core.cgroups import ApplyReport, Intent
from colo.core.cgroupstats import (
    CpuSettings,
    CpuStat,
    KubeletTree,
    MemoryStat,
    Pressure,
    PressureLine,
    PressureStats,
    ScannedPod,
)
from colo.core.changes import ChangeKind

GIB = 2**30
NODE = (("node", "n1"),)
KUBEPODS = PurePosixPath("kubepods")
BOX = KUBEPODS / "besteffort"


def test_the_memory_held_for_online_pods_is_what_the_report_explains() -> None:
    a = Agent([pod("web", "u-web").view(), pod("db", "u-db").view()])
    a.reader.usage = {"u-web": (0.5, GIB // 2), "u-db": (1.0, GIB // 4)}
    a.tick(0.0)
    a.tick(10.0)
    got = samples(generate_latest(registry_of(AgentCollector(a.agent))).decode())
    held = sum(p.memory_bytes for p in a.agent.loop.explain("n1").pods)
    assert held > 0
    assert got[("colo_agent_online_memory_bytes", NODE)] == held


class Cgroups:
    """The cgroup port over kubepods (6 GiB usage, 5 GiB working set) holding the box
    (2 GiB usage, 1.5 GiB working set), an online and an offline pod; cpu counters the
    test advances."""

    version = 2

    def __init__(self) -> None:
        self.used_ns = {KUBEPODS: 0, BOX: 0}
        self.pods = (
            ScannedPod("u-on", "Burstable", KUBEPODS / "burstable" / "podu-on", ()),
            ScannedPod("u-off", "BestEffort", BOX / "podu-off", ()),
        )

    def scan(self) -> tuple[KubeletTree, ...]:
        qos: Any = {"Burstable": KUBEPODS / "burstable", "BestEffort": BOX}
        return (KubeletTree("cgroupfs", KUBEPODS, qos, BOX, self.pods),)

    def cpu(self, cgroup: PurePosixPath) -> CpuStat | None:
        used = self.used_ns.get(cgroup)
        return None if used is None else CpuStat(used, 0, 0, 0)

    def cpu_settings(self, cgroup: PurePosixPath) -> CpuSettings | None:
        return None  # a node no agent governed before: nothing to carry on from

    def memory(self, cgroup: PurePosixPath) -> MemoryStat | None:
        return {
            KUBEPODS: MemoryStat(6 * GIB, 5 * GIB, GIB),
            BOX: MemoryStat(2 * GIB, 3 * GIB // 2, GIB // 2),
        }.get(cgroup)

    def pressure(self, cgroup: PurePosixPath) -> PressureStats | None:
        return None

    def node_pressure(self) -> PressureStats:
        line = PressureLine(4.0, 4.0, 4.0, 0)
        return PressureStats(cpu=None, memory=Pressure(line, line), io=None)

    def apply(self, intents: Sequence[Intent]) -> ApplyReport:
        return ApplyReport()


def test_protection_metrics_split_memory_by_kind_of_work_and_count_offline_pods() -> None:
    cgroups = Cgroups()
    clock = [0.0]
    protector = NodeProtector(
        ProtectionLoop(
            [ProtectedNode("n1", capacity_milli=8000, memory_bytes=32 * GIB, box=BOX)],
            protection_options(1.0, 0.9, cpusets=False),
        ),
        sampler=NodeSampler(
            cgroups,  # type: ignore[arg-type]
            read_busy_ns=lambda: cgroups.used_ns[KUBEPODS],
            read_memory=lambda: (32 * GIB, 9 * GIB),
        ),
        pods=lambda tree: pods_from_tree(tree) if tree is not None else [],
        clock=lambda: clock[0],
    )
    registry = registry_of(ProtectionCollector(protector))

    def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return samples(generate_latest(registry).decode())

    asyncio.run(protector.tick())  # the first round reads counters: no rates, no sample
    first = scrape()
    assert first[("colo_agent_offline_pods", NODE)] == 1
    assert not any(name.endswith("_memory_used_bytes") for name, _ in first)  # absent, not 0
    clock[0] = 1.0
    cgroups.used_ns[KUBEPODS] += 3 * 10**9
    cgroups.used_ns[BOX] += 10**9
    asyncio.run(protector.tick())
    got = scrape()
    assert got[("colo_agent_online_memory_used_bytes", NODE)] == 5 * GIB - 3 * GIB // 2
    assert got[("colo_agent_offline_memory_used_bytes", NODE)] == 2 * GIB
    assert got[("colo_agent_system_memory_used_bytes", NODE)] == 9 * GIB - 6 * GIB
    assert got[("colo_agent_online_cpu_used_millicores", NODE)] == 2000
    assert got[("colo_agent_pressure_memory", NODE)] == 0.04
    assert ("colo_agent_pressure_cpu", NODE) not in got  # no per-pod PSI: unknown


def test_cron_counts_the_objects_it_could_not_read() -> None:
    controller = CronController(object(), object())  # type: ignore[arg-type]
    controller.on_raw("cronjobs", ChangeKind.ADDED, {"metadata": {"name": "x"}, "spec": 7})
    got = samples(generate_latest(registry_of(CronCollector(controller))).decode())
    assert got[("colo_cron_unreadable_objects_total", ())] == 1
