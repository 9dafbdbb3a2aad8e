"""Fixtures and markers shared across test folders.

- The `e2e` marker, applied by where a test lives and what it uses, so a new test cannot
  forget it: every test under tests/e2e/, and every test whose fixtures include
  `dev_cluster` (which starts a real control plane; `api` and `kubectl` use it).
  `browser`, `cgroup` and `slow` are written on the tests themselves (a browser, a file
  system or a duration is not visible from here); tests/test_markers.py checks the
  markers against what the test sources use.
- `cgroup_tree`: a private tree on the real cgroup filesystem.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent / "e2e"

#: Fixtures that start the dev cluster; `item.fixturenames` also holds the fixtures
#: that a test's fixtures depend on, so `api` and `kubectl` count through these.
CLUSTER_FIXTURES = frozenset({"dev_cluster"})


def needs_cluster(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return E2E_DIR in item.path.parents or bool(fixtures & CLUSTER_FIXTURES)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if needs_cluster(item) and item.get_closest_marker("e2e") is None:
            item.add_marker(pytest.mark.e2e)


CGROUP_ROOT = Path("/sys/fs/cgroup")
#: v1 controllers the tree makes cgroups in: mount names that may hold each, and a file
#: proving it (cpu and cpuacct may be one mount, `cpu,cpuacct`)
_V1 = {
    "cpu": (("cpu", "cpu,cpuacct", "cpuacct,cpu"), "cpu.shares"),
    "cpuacct": (("cpuacct", "cpu,cpuacct", "cpuacct,cpu"), "cpuacct.usage"),
    "cpuset": (("cpuset",), "cpuset.cpus"),
    "memory": (("memory",), "memory.usage_in_bytes"),
    "blkio": (("blkio",), "blkio.throttle.read_bps_device"),
}

#: Waits for a line on stdin (so its pid can be moved first), then touches `sys.argv[1]`
#: MiB (charged to its cgroup from then on) and spins on one core until killed.
BUSY = """
import sys
sys.stdin.readline()
held = b"x" * (int(sys.argv[1]) << 20)
while True:
    pass
"""


class CgroupTree:
    """Cgroups made by hand below `/sys/fs/cgroup/<controller>/<name>` for the v1
    controllers cpu, cpuacct, cpuset, memory and blkio (those mounted): a private
    stand-in for the kubelet's cgroup root (its `--cgroup-root` is `/<name>`), never
    the machine's own kubepods. With `hybrid=True`, `make` also makes the cgroup in the
    cgroup2 tree at `/sys/fs/cgroup/unified` (as systemd does on a hybrid node).
    `close()` kills what it started and removes every cgroup it made, leaves first."""

    def __init__(self, cgroup_root: Path = CGROUP_ROOT) -> None:
        mounts: dict[str, Path] = {}
        for controller, (names, proof) in _V1.items():
            found = next(
                (cgroup_root / n for n in names if (cgroup_root / n / proof).is_file()), None
            )
            if found is not None:
                mounts[controller] = found
        if "cpuacct" not in mounts or "memory" not in mounts:
            pytest.skip(f"no cgroup v1 cpuacct and memory controllers under {cgroup_root}")
        self.cgroup_root = cgroup_root
        self.name = f"colo-test-{uuid.uuid4().hex[:8]}"
        self.kubelet_root = f"/{self.name}"
        #: controller → this tree's top cgroup in it (co-mounted controllers share one)
        self.dirs = {c: m / self.name for c, m in mounts.items()}
        unified = cgroup_root / "unified"
        self.unified = unified / self.name if (unified / "cgroup.controllers").is_file() else None
        self._tops = list(dict.fromkeys(self.dirs.values()))
        self._procs: list[subprocess.Popen[bytes]] = []
        for top in self._tops:
            self._mkdir(top)
        if self.unified is not None:
            self.unified.mkdir()

    def _mkdir(self, d: Path) -> None:
        d.mkdir()
        if (d / "cpuset.cpus").exists() and not (d / "cpuset.cpus").read_text().strip():
            # v1 cpusets start empty, and no task may join one until it has cpus and mems
            for name in ("cpuset.cpus", "cpuset.mems"):
                (d / name).write_text((d.parent / name).read_text())

    def path(self, controller: str, path: str = "") -> Path:
        """The directory of cgroup `path` (relative to the kubelet root) for `controller`
        (`unified` for the cgroup2 tree)."""
        top = self.unified if controller == "unified" else self.dirs.get(controller)
        if top is None:
            pytest.skip(f"no {controller} hierarchy under {self.cgroup_root}")
        return top / path if path else top

    def make(self, path: str, *, hybrid: bool = False) -> None:
        """Create the cgroup `path` (relative to the kubelet root) and its parents, in
        every controller (and the cgroup2 tree with `hybrid`)."""
        tops = self._tops + ([self.unified] if hybrid and self.unified is not None else [])
        for top in tops:
            d = top
            for part in Path(path).parts:
                d = d / part
                if not d.is_dir():
                    self._mkdir(d)

    def enter(self, path: str, pid: int) -> None:
        tops = self._tops + ([self.unified] if self.unified is not None else [])
        for top in tops:
            if (top / path).is_dir():
                (top / path / "cgroup.procs").write_text(f"{pid}\n")

    def start_busy(
        self, path: str, megabytes: int = 64, *, hybrid: bool = False
    ) -> subprocess.Popen[bytes]:
        """A process in cgroup `path` spinning on one core and holding `megabytes`."""
        self.make(path, hybrid=hybrid)
        proc = subprocess.Popen([sys.executable, "-c", BUSY, str(megabytes)], stdin=subprocess.PIPE)
        self._procs.append(proc)
        self.enter(path, proc.pid)
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        return proc

    def start_idle(self, path: str) -> subprocess.Popen[bytes]:
        self.make(path)
        proc = subprocess.Popen(["sleep", "3600"])
        self._procs.append(proc)
        self.enter(path, proc.pid)
        return proc

    def run_in(self, path: str, argv: list[str]) -> None:
        """Run `argv` to completion as a member of cgroup `path` (it joins before it
        execs, so everything it does is charged there)."""
        self.make(path)
        proc = subprocess.Popen(
            ["sh", "-c", 'read _; exec "$@"', "sh", *argv], stdin=subprocess.PIPE
        )
        self._procs.append(proc)
        self.enter(path, proc.pid)
        proc.communicate(b"go\n", timeout=120)
        assert proc.returncode == 0, argv

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        proc.kill()
        proc.wait(timeout=10)

    def remove(self, path: str) -> None:
        """Remove the cgroup `path` and everything below it (its processes must be gone)."""
        for top in self._tops + ([self.unified] if self.unified is not None else []):
            _rmtree(top / path)

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                self.stop(proc)
        for top in self._tops + ([self.unified] if self.unified is not None else []):
            if top.exists():
                _rmtree(top)


def _rmtree(top: Path) -> None:
    """rmdir every cgroup below and at `top`, leaves first (cgroup files go with them).
    The kernel may hold a cgroup briefly after its last process exits: retry a little."""
    for dirpath, _, _ in os.walk(top, topdown=False):
        for attempt in range(50):
            try:
                os.rmdir(dirpath)
                break
            except FileNotFoundError:
                break
            except OSError:
                if attempt == 49:
                    raise
                time.sleep(0.1)


@pytest.fixture
def cgroup_tree() -> Iterator[CgroupTree]:
    tree = CgroupTree()
    try:
        yield tree
    finally:
        tree.close()
