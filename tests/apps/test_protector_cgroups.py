"""colo-agent's protection on this machine's real cgroup tree (v1), no API server.

Pod cgroups made by hand in the kubelet's layout below a private kubelet root; the
protector (the real `LinuxCgroups`, the real loop) finds them, sizes the offline box
and writes it; online load rising cuts the box at once. Also `colo agent protect` as a
process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from colo.agent.protection import ProtectedNode, ProtectionLoop
from colo.apps.agent import protection_options
from colo.apps.protect import NodeProtector, NodeSampler, pods_from_tree
from colo.core.cgroupstats import PressureStats
from colo.linux import LinuxCgroups
from colo.linux.node import read_memory, read_topology

pytestmark = pytest.mark.cgroup

if os.geteuid() != 0:
    pytest.skip("needs root to make cgroups", allow_module_level=True)


def _read(tree: Any, controller: str, path: str, name: str) -> str:
    return str((tree.path(controller, path) / name).read_text()).strip()


class _TreeOnly(LinuxCgroups):
    """The node's pressure read as none: the machine's other work (a test
    suite writing files beside this one) put io at 5 % of the time (full, avg10) once,
    which the guard rightly answers with THROTTLE and half a box, and the box's sizing
    is what these tests are about. The guard's answer to pressure has its own tests."""

    def node_pressure(self) -> PressureStats:
        return PressureStats(cpu=None, memory=None, io=None)


def _protector(tree: Any, interval: float = 0.2) -> NodeProtector:
    """A protector of the private tree. The node's own busy time is read as the tree's
    (system = 0) and its pressure as none: the machine's other work (this test runs
    beside others) must not decide what the box gets here."""
    cgroups = _TreeOnly(tree.cgroup_root, kubelet_root=tree.kubelet_root)
    (found,) = cgroups.scan()
    spec = ProtectedNode(
        "local", capacity_milli=2000, memory_bytes=8 << 30, box=found.box,
        topology=read_topology(),
    )  # fmt: skip
    loop = ProtectionLoop([spec], protection_options(interval, 0.9, True))

    def busy_ns() -> int:
        stat = cgroups.cpu(found.kubepods)
        assert stat is not None
        return stat.usage_ns

    return NodeProtector(
        loop,
        sampler=NodeSampler(cgroups, read_busy_ns=busy_ns, read_memory=lambda: read_memory()),
        pods=lambda t: pods_from_tree(t) if t is not None else [],
    )


def test_the_box_is_written_and_cut_when_online_load_rises(cgroup_tree: Any) -> None:
    online = f"kubepods/pod{uuid.uuid4()}"
    offline = f"kubepods/besteffort/pod{uuid.uuid4()}"
    cgroup_tree.make("kubepods/burstable")
    cgroup_tree.start_idle(f"{online}/app")
    cgroup_tree.start_busy(f"{offline}/worker", megabytes=8)
    protector = _protector(cgroup_tree)

    async def rounds(n: int) -> None:
        for _ in range(n):
            await protector.tick()
            await asyncio.sleep(0.2)

    asyncio.run(rounds(12))
    box = "kubepods/besteffort"
    assert _read(cgroup_tree, "cpu", box, "cpu.cfs_period_us") == "10000"  # not the kubelet's
    if (cgroup_tree.path("cpu", box) / "cpu.idle").exists():
        assert _read(cgroup_tree, "cpu", box, "cpu.idle") == "1"
    quiet = int(_read(cgroup_tree, "cpu", box, "cpu.cfs_quota_us"))
    assert protector.loop.sized is not None
    assert quiet == int(protector.loop.sized.quota_us[0])  # the file holds the loop's intent
    assert quiet > 10_000, "with online pods idle the box grows past one cpu"
    limit = int(_read(cgroup_tree, "memory", box, "memory.limit_in_bytes"))
    assert limit < 8 << 30
    assert protector.stats.applied["written"] > 0
    # online load: one core spins in the online pod; the box is cut within a round or two
    cgroup_tree.start_busy(f"{online}/spin", megabytes=8)
    asyncio.run(rounds(3))
    busy = int(_read(cgroup_tree, "cpu", box, "cpu.cfs_quota_us"))
    assert busy < quiet - 5_000, (quiet, busy)
    sample = protector.sample
    assert sample is not None and sample.online_milli > 500
    state = protector.state()
    # one busy core of two, no system work here: below every threshold
    assert state["level"] == "NORMAL", state


@contextlib.contextmanager
def _colo_agent_protect(tree: Any, log: Path, *flags: str) -> Iterator[subprocess.Popen[bytes]]:
    """`colo agent protect` of the private tree as a process, its output in `log`,
    stopped with SIGTERM at the block's end."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "colo", "agent", "protect",
                "--cgroup-root", str(tree.cgroup_root),
                "--kubelet-cgroup-root", tree.kubelet_root,
                "--interval", "0.2", "--node", "bench-node", *flags,
            ],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)


def test_colo_agent_protect_runs_alone_and_stops_cleanly(cgroup_tree: Any, tmp_path: Path) -> None:
    cgroup_tree.make("kubepods/burstable")
    cgroup_tree.start_busy(f"kubepods/besteffort/pod{uuid.uuid4()}/w", megabytes=8)
    log = tmp_path / "agent.log"
    with _colo_agent_protect(cgroup_tree, log):
        box = cgroup_tree.path("cpu", "kubepods/besteffort") / "cpu.cfs_quota_us"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and box.read_text().strip() == "-1":
            time.sleep(0.1)
        assert box.read_text().strip() != "-1", log.read_text(errors="replace")
    text = log.read_text(errors="replace")
    assert "protecting node bench-node" in text
    assert "Traceback" not in text


def test_a_restarted_protector_carries_on_from_the_box_it_finds(cgroup_tree: Any) -> None:
    """kill -9 and start again: the new protector's first round writes nothing the old one
    left right, and never drops the box to its floor (100m) on the way."""
    cgroup_tree.make("kubepods/burstable")
    cgroup_tree.start_idle(f"kubepods/pod{uuid.uuid4()}/app")
    cgroup_tree.start_busy(f"kubepods/besteffort/pod{uuid.uuid4()}/worker", megabytes=8)
    box = cgroup_tree.path("cpu", "kubepods/besteffort") / "cpu.cfs_quota_us"
    before = _protector(cgroup_tree)

    async def rounds(protector: NodeProtector, n: int) -> list[int]:
        seen = []
        for _ in range(n):
            await protector.tick()
            seen.append(int(box.read_text()))
            await asyncio.sleep(0.2)
        return seen

    left = asyncio.run(rounds(before, 12))[-1]
    assert left > 15_000, "online pods idle: the box grew past 1.5 cpus"
    assert before.stats.adopted == 0  # the kubelet's tree had no quota: nothing to carry on
    after = _protector(cgroup_tree)  # the old one is gone without a word, as after kill -9
    seen = asyncio.run(rounds(after, 3))
    assert after.stats.adopted >= 1
    # online pods still idle: the same target; without adopting, round one would write 11000
    assert min(seen) >= left - 2_000, (left, seen)
    report = after.stats.last_apply
    assert report is not None
    assert not [c for c in report.written if c.knob in ("cpu_idle", "cpu_weight")]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="an LSE pod needs a cpu to itself")
def test_colo_agent_protect_keeps_itself_off_the_lse_pods_cpu(
    cgroup_tree: Any, tmp_path: Path
) -> None:
    """Run outside the pod tree, the agent is in no cpuset colo writes: it moves its own
    threads to the shared pool, off the cpu it pinned the LSE pod to."""
    uid = str(uuid.uuid4())
    cgroup_tree.make("kubepods/burstable")
    cgroup_tree.make("kubepods/besteffort")
    cgroup_tree.start_idle(f"kubepods/pod{uid}/app")
    log = tmp_path / "agent.log"
    pod_cpus = cgroup_tree.path("cpuset", f"kubepods/pod{uid}") / "cpuset.cpus"
    everything = pod_cpus.read_text().strip()
    with _colo_agent_protect(cgroup_tree, log, "--pod", f"{uid}=LSE:1") as proc:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and pod_cpus.read_text().strip() == everything:
            time.sleep(0.1)
        pinned = pod_cpus.read_text().strip()
        assert pinned != everything, log.read_text(errors="replace")
        lse = {int(pinned)}
        masks: dict[int, set[int]] = {}
        while time.monotonic() < deadline:
            masks = {}
            for t in os.listdir(f"/proc/{proc.pid}/task"):
                with contextlib.suppress(ProcessLookupError):
                    masks[int(t)] = os.sched_getaffinity(int(t))
            if masks and all(not (m & lse) for m in masks.values()):
                break
            time.sleep(0.1)
        assert masks and all(not (m & lse) for m in masks.values()), (lse, masks)
    text = log.read_text(errors="replace")
    assert "keeps its own threads on cpus" in text
    assert "Traceback" not in text


def test_rounds_without_a_box_say_so_once_and_start_when_it_comes(
    cgroup_tree: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """kubepods without its BestEffort cgroup (a kubelet still starting): nothing to
    measure the box by, so nothing is decided, and the log says which cgroup, once."""
    cgroup_tree.make("kubepods/burstable")
    protector = _protector(cgroup_tree)

    async def rounds(n: int) -> None:
        for _ in range(n):
            await protector.tick()
            await asyncio.sleep(0.05)

    with caplog.at_level(logging.WARNING, logger="colo.apps.protect"):
        asyncio.run(rounds(4))
    said = [m for r in caplog.records if "cannot read cpu and memory" in (m := r.getMessage())]
    assert len(said) == 1 and "kubepods/besteffort" in said[0], said
    assert protector.stats.unmeasured == 4 and protector.stats.last_apply is None
    cgroup_tree.make("kubepods/besteffort")
    asyncio.run(rounds(3))
    assert protector.stats.unmeasured == 5  # the first round with a box has no rates yet
    assert protector.stats.last_apply is not None
