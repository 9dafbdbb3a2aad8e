"""colo-agent's protection on cgroup v2, on the faithful model of the unified tree
(tests/linux/unifiedmodel.py: this machine's controllers are all v1). The same driver
and loop as on v1: the box lands in `cpu.max`, `cpu.idle`, `memory.max`; an LSE pod's
cores in its cpuset and out of the box's; online load rising cuts the box."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from unifiedmodel import UnifiedTree

from colo.agent.protection import ProtectedNode, ProtectionLoop
from colo.apps.agent import protection_options
from colo.apps.protect import LocalPod, NodeProtector, NodeSampler, pods_from_tree
from colo.core.qos import QoSTier
from colo.core.topology import CPUTopology, parse_cpuset
from colo.linux import LinuxCgroups

ONLINE = str(uuid.UUID(int=1))
OFFLINE = str(uuid.UUID(int=2))
GIB = 2**30


def test_protection_on_the_unified_model(tmp_path: Path) -> None:
    tree = UnifiedTree(tmp_path, cpus="0-3")
    for path in ("kubepods/burstable", f"kubepods/pod{ONLINE}/app",
                 f"kubepods/besteffort/pod{OFFLINE}/job"):  # fmt: skip
        tree.make(path)
    cgroups = LinuxCgroups(tree.root, files=tree.files)
    (found,) = cgroups.scan()
    assert str(found.box) == "kubepods/besteffort"
    clock = [0.0]
    usage = {"kubepods": 0, "box": 0}

    def account(online_cores: float, offline_cores: float, dt: float = 1.0) -> None:
        clock[0] += dt
        usage["box"] += int(offline_cores * dt * 1e6)
        usage["kubepods"] += int((online_cores + offline_cores) * dt * 1e6)
        tree.account("kubepods/besteffort", usage_usec=usage["box"], anon=GIB)
        tree.account("kubepods", usage_usec=usage["kubepods"], anon=3 * GIB)

    node = ProtectedNode(
        "n1", capacity_milli=4000, memory_bytes=16 * GIB, box=found.box,
        topology=CPUTopology.uniform(sockets=1, cores_per_socket=4, threads_per_core=1),
    )  # fmt: skip
    protector = NodeProtector(
        ProtectionLoop([node], protection_options(1.0, 0.9, True)),
        sampler=NodeSampler(
            cgroups,
            read_busy_ns=lambda: usage["kubepods"] * 1000,  # no system work
            read_memory=lambda: (16 * GIB, 4 * GIB),
        ),
        pods=lambda t: pods_from_tree(t, {ONLINE: LocalPod(QoSTier.LSE, 2)}) if t else [],
        clock=lambda: clock[0],
    )

    async def rounds(n: int, online: float, offline: float) -> None:
        for _ in range(n):
            account(online, offline)
            await protector.tick()

    asyncio.run(rounds(6, online=0.5, offline=1.0))
    box = tree.root / "kubepods/besteffort"
    quota, period = (box / "cpu.max").read_text().split()
    assert period == "100000"
    # 4000 × 0.9 − 500 online = 3100m, reached at 1000m a second from the 100m floor
    assert int(quota) == 310_000
    assert (box / "cpu.idle").read_text().strip() == "1"
    limit = int((box / "memory.max").read_text())
    assert 0 < limit <= int(16 * GIB * 0.95) - 2 * GIB
    lse = parse_cpuset((tree.root / f"kubepods/pod{ONLINE}/cpuset.cpus").read_text().strip())
    assert len(lse) == 2
    assert parse_cpuset((tree.root / f"kubepods/pod{ONLINE}/app/cpuset.cpus").read_text()) == lse
    be = parse_cpuset((box / "cpuset.cpus").read_text().strip())
    assert be and not (be & lse)
    job = parse_cpuset((box / f"pod{OFFLINE}/job/cpuset.cpus").read_text().strip())
    assert job == be
    # online load steps up by two cores: the box is cut in the next round
    asyncio.run(rounds(1, online=2.5, offline=1.0))
    assert int((box / "cpu.max").read_text().split()[0]) == 110_000  # 3600 − 2500
    assert protector.stats.applied["failed"] == 0
