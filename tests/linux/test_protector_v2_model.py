"""colo-agent's protection on cgroup v2, on the faithful model of the unified tree
(tests/linux/unifiedmodel.py: this machine's controllers are all v1). The same driver
and loop as on v1: the box lands in `cpu.max`, `cpu.idle`, `memory.max`; an LSE pod's
cores in its cpuset and out of the box's; online load rising cuts the box."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path, PurePosixPath

from unifiedmodel import UnifiedTree, quiet_node_pressure

from colo.agent.protection import ProtectedNode, ProtectionLoop
from colo.apps.agent import protection_options
from colo.apps.protect import LocalPod, NodeProtector, NodeSampler, pods_from_tree
from colo.core.qos import QoSTier
from colo.core.topology import CPUTopology, parse_cpuset
from colo.linux import LinuxCgroups

ONLINE = str(uuid.UUID(int=1))
OFFLINE = str(uuid.UUID(int=2))
GIB = 2**30


class Node:
    """A 4-core node on the model: an LSE online pod asking for 2 cores, an offline job in
    the box, and the load each round accounts (the test plays the kernel's counters)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tree = UnifiedTree(tmp_path, cpus="0-3")
        for path in ("kubepods/burstable", f"kubepods/pod{ONLINE}/app",
                     f"kubepods/besteffort/pod{OFFLINE}/job"):  # fmt: skip
            self.tree.make(path)
        # the node's PSI is the model's too, and quiet: read from the real /proc/pressure,
        # io pressure from other work on the machine (8 %, full avg10, once during make
        # test) put the guard in THROTTLE and halved the box these tests size
        quiet = quiet_node_pressure(tmp_path / "proc-pressure")
        self.cgroups = LinuxCgroups(self.tree.root, files=self.tree.files, proc_pressure=quiet)
        (found,) = self.cgroups.scan()
        assert str(found.box) == "kubepods/besteffort"
        self.box = found.box
        self.clock = 0.0
        self.usage = {"kubepods": 0, "box": 0}

    def account(self, online_cores: float, offline_cores: float, dt: float = 1.0) -> None:
        self.clock += dt
        self.usage["box"] += int(offline_cores * dt * 1e6)
        self.usage["kubepods"] += int((online_cores + offline_cores) * dt * 1e6)
        self.tree.account("kubepods/besteffort", usage_usec=self.usage["box"], anon=GIB)
        self.tree.account("kubepods", usage_usec=self.usage["kubepods"], anon=3 * GIB)

    def protector(self) -> NodeProtector:
        """A new agent's protector (as after a restart: nothing carried in memory)."""
        node = ProtectedNode(
            "n1", capacity_milli=4000, memory_bytes=16 * GIB, box=self.box,
            topology=CPUTopology.uniform(sockets=1, cores_per_socket=4, threads_per_core=1),
        )  # fmt: skip
        return NodeProtector(
            ProtectionLoop([node], protection_options(1.0, 0.9, True)),
            sampler=NodeSampler(
                self.cgroups,
                read_busy_ns=lambda: self.usage["kubepods"] * 1000,  # no system work
                read_memory=lambda: (16 * GIB, 4 * GIB),
            ),
            pods=lambda t: pods_from_tree(t, {ONLINE: LocalPod(QoSTier.LSE, 2)}) if t else [],
            clock=lambda: self.clock,
        )

    def rounds(
        self, protector: NodeProtector, n: int, online: float, offline: float
    ) -> list[int | None]:
        """`n` rounds; the box's cpu.max quota after each."""
        quotas = []

        async def run() -> None:
            for _ in range(n):
                self.account(online, offline)
                await protector.tick()
                quotas.append(self.quota())

        asyncio.run(run())
        return quotas

    def quota(self) -> int | None:
        """The box's cpu.max quota (None: `max`, no limit)."""
        got = (self.tree.root / self.box / "cpu.max").read_text().split()[0]
        return None if got == "max" else int(got)

    def cpus(self, path: str) -> frozenset[int]:
        return parse_cpuset((self.tree.root / path / "cpuset.cpus").read_text().strip())


def test_protection_on_the_unified_model(tmp_path: Path) -> None:
    n = Node(tmp_path)
    tree = n.tree
    protector = n.protector()
    n.rounds(protector, 6, online=0.5, offline=1.0)
    box = tree.root / "kubepods/besteffort"
    quota, period = (box / "cpu.max").read_text().split()
    assert period == "10000"  # colo's period for the box, not the kernel's 100 ms
    # 4000 × 0.9 − 500 online = 3100m, but the box runs on the 2 cpus the LSE pod leaves:
    # 2000m, reached at 1000m a second from the 100m floor
    assert int(quota) == 20_000
    assert (box / "cpu.idle").read_text().strip() == "1"
    limit = int((box / "memory.max").read_text())
    assert 0 < limit <= int(16 * GIB * 0.95) - 2 * GIB
    lse = n.cpus(f"kubepods/pod{ONLINE}")
    assert len(lse) == 2
    assert n.cpus(f"kubepods/pod{ONLINE}/app") == lse
    be = n.cpus("kubepods/besteffort")
    assert be and not (be & lse)
    assert n.cpus(f"kubepods/besteffort/pod{OFFLINE}/job") == be
    # online load steps up by two cores: the box is cut in the next round
    assert n.rounds(protector, 1, online=2.5, offline=1.0) == [11_000]  # 3600 − 2500
    assert protector.stats.applied["failed"] == 0


def test_cpu_settings_reads_what_the_unified_tree_holds(tmp_path: Path) -> None:
    tree = UnifiedTree(tmp_path, cpus="0-3")
    tree.make("kubepods/besteffort")
    tree.make("kubepods/nocpuset", subtree=("cpu", "memory"))
    tree.make("kubepods/nocpuset/leaf")
    cgroups = LinuxCgroups(tree.root, files=tree.files)
    fresh = cgroups.cpu_settings(PurePosixPath("kubepods/besteffort"))
    # the kernel's defaults: no limit, an empty cpuset (the parent's cpus)
    assert fresh is not None
    assert (fresh.quota_us, fresh.period_us, fresh.cpus, fresh.limit_milli) == (
        None, 100_000, None, None)  # fmt: skip
    tree.files.write(tree.root / "kubepods/besteffort/cpu.max", "150000 50000")
    tree.files.write(tree.root / "kubepods/besteffort/cpuset.cpus", "1,3")
    set_ = cgroups.cpu_settings(PurePosixPath("kubepods/besteffort"))
    assert set_ is not None
    assert (set_.quota_us, set_.period_us, set_.cpus) == (150_000, 50_000, frozenset({1, 3}))
    assert set_.limit_milli == 3000.0
    # the parent enabled no cpuset for this one: its cpus are not its own to report
    leaf = cgroups.cpu_settings(PurePosixPath("kubepods/nocpuset/leaf"))
    assert leaf is not None and leaf.cpus is None
    assert cgroups.cpu_settings(PurePosixPath("kubepods/gone")) is None


def test_a_restarted_protector_adopts_the_unified_tree_it_finds(tmp_path: Path) -> None:
    """kill -9 and start again on v2: the box carries on from its cpu.max instead of the
    100m floor, and the LSE pod keeps its cores."""
    n = Node(tmp_path)
    before = n.protector()
    left = n.rounds(before, 6, online=0.5, offline=1.0)[-1]
    assert left == 20_000  # the 2 cpus the LSE pod leaves
    lse, be = n.cpus(f"kubepods/pod{ONLINE}"), n.cpus("kubepods/besteffort")
    assert before.stats.adopted == 0  # the kubelet's tree had no quota: nothing to carry on
    after = n.protector()
    # without adopting, its first round would ramp from the floor: 100m + 1000m = 11000
    assert n.rounds(after, 2, online=0.5, offline=1.0) == [20_000, 20_000]
    assert after.stats.adopted >= 1
    assert n.cpus(f"kubepods/pod{ONLINE}") == lse and n.cpus("kubepods/besteffort") == be


def test_a_box_left_against_the_kubelets_100ms_period_is_adopted_as_cpu_not_as_quota(
    tmp_path: Path,
) -> None:
    """An agent from before the 10 ms period left half a cpu as `50000 100000`: the new
    one carries on from 500m and writes against its own period, instead of reading the
    bare quota as 5 cpus or starting from the floor."""
    n = Node(tmp_path)
    box = n.tree.root / "kubepods/besteffort/cpu.max"
    n.tree.files.write(box, "50000 100000")
    after = n.protector()
    # round one only measures (usage needs two samples); round two grows 500m by 1000m
    # toward the target (3100m, cut to the box's 2 cpus: 2000m): 15000 per 10 ms (from
    # the floor: 11000; from 5 cpus, clamped and cut: 20000)
    assert n.rounds(after, 2, online=0.5, offline=1.0) == [50_000, 15_000]
    assert box.read_text().split() == ["15000", "10000"]
    assert after.stats.adopted >= 1
    assert after.stats.applied["failed"] == 0
