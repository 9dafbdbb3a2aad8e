"""A real cgroup2 mount on this machine, driven through colo's port.

`mount -t cgroup2` mounts the one cgroup2 hierarchy (the same tree as the hybrid
`unified` mount). On a node whose cpu, cpuset, memory and io controllers are bound to
cgroup v1, that tree offers none of them: enabling one answers ENOENT, so no cgroup in
it has cpu.max, memory.max or io.max. What it does have, in every cgroup: cpu.stat with
usage_usec and the PSI files. So the v2 driver reads a real cgroup's cpu time and
pressure here, and every write is reported missing, naming the controller — the
executor neither raises nor writes anything. The v2 write semantics are tested on the
model (test_executor_v2_model.py).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

from colo.core.cgroups import CgroupIntent
from colo.core.errors import Permanent
from colo.linux import LinuxCgroups

pytestmark = pytest.mark.cgroup

UID = "5f0c8e4a-1b2c-4d3e-9f00-0123456789ab"
POD = PurePosixPath(f"kubepods/besteffort/pod{UID}")
SPIN = "while True:\n    pass\n"


class Mounted:
    def __init__(self, mount: Path) -> None:
        self.mount = mount
        self.name = f"colo-test-{uuid.uuid4().hex[:8]}"
        self.top = mount / self.name
        self.procs: list[subprocess.Popen[bytes]] = []

    def make(self, path: PurePosixPath) -> Path:
        d = self.top / path
        d.mkdir(parents=True)
        return d

    def spin_in(self, path: PurePosixPath) -> None:
        proc = subprocess.Popen([sys.executable, "-c", SPIN])
        self.procs.append(proc)
        (self.top / path / "cgroup.procs").write_text(f"{proc.pid}\n")

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait(timeout=10)
        for dirpath, _, _ in os.walk(self.top, topdown=False):
            for attempt in range(50):  # the kernel may hold a cgroup briefly after exit
                try:
                    os.rmdir(dirpath)
                    break
                except OSError:
                    if attempt == 49:
                        raise
                    time.sleep(0.1)


@pytest.fixture
def cgroup2(tmp_path: Path) -> Iterator[Mounted]:
    mount = tmp_path / "cgroup2"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "cgroup2", "none", str(mount)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount cgroup2: {done.stderr.strip()}")
    mounted = Mounted(mount)
    try:
        mounted.top.mkdir()
        yield mounted
    finally:
        try:
            mounted.close()
        finally:
            subprocess.run(["umount", str(mount)], check=True)


def test_a_cgroup2_mount_on_this_v1_node_reads_but_cannot_govern(cgroup2: Mounted) -> None:
    available = set((cgroup2.mount / "cgroup.controllers").read_text().split())
    if available & {"cpu", "cpuset", "memory", "io"}:
        pytest.skip(f"this node's cgroup2 tree has controllers ({available}): not this case")
    with pytest.raises(OSError) as e:
        (cgroup2.top / "cgroup.subtree_control").write_text("+cpu\n")
    assert e.value.errno == errno.ENOENT  # bound to v1: not available here

    cgroup2.make(POD)
    cgroup2.spin_in(POD)
    time.sleep(0.5)
    cgroups = LinuxCgroups(cgroup2.mount, kubelet_root=f"/{cgroup2.name}")
    assert cgroups.version == 2

    cpu = cgroups.cpu(POD)
    assert cpu is not None and cpu.usage_ns > 0.1e9 and cpu.nr_throttled == 0, cpu
    psi = cgroups.pressure(POD)
    assert psi is not None and psi.cpu is not None and psi.io is not None
    with pytest.raises(Permanent, match="memory controller is not enabled"):
        cgroups.memory(POD)
    (tree,) = cgroups.scan()
    assert [p.uid for p in tree.pods] == [UID]

    report = cgroups.apply(
        [CgroupIntent(POD, cpu_quota_us=50_000, cpuset_cpus=frozenset({0}), memory_limit=1 << 30)]
    )
    assert report.written == () and report.gone == ()
    assert {c.file: c.reason.split(" (")[0] for c in report.failed} == {
        "cpu.max": "missing: the cpu controller is not enabled for this cgroup",
        "cpuset.cpus": "missing: the cpuset controller is not enabled for this cgroup",
        "memory.max": "missing: the memory controller is not enabled for this cgroup",
    }
