"""bench/_cgroup_layout.py, the private kubelet-style tree bench/interference.py runs in,
on the machine's real cgroup v1 filesystem: the kubelet's layout and values, a process
moved in and back out, and nothing left behind."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.cgroup

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load_layout() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_cgroup_layout", BENCH / "_cgroup_layout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


L = load_layout()
ONLINE = L.Pod(
    "aaaaaaaa-0000-4000-8000-000000000001", "Guaranteed",
    cpu_request_milli=1500, cpu_limit_milli=1500, memory_limit_bytes=256 << 20,
)  # fmt: skip
OFFLINE = L.Pod("bbbbbbbb-0000-4000-8000-000000000002", "BestEffort")


@pytest.fixture
def layout():
    try:
        tree = L.KubeletLayout(f"colo-test-layout-{uuid.uuid4().hex[:8]}", node_cpus=2)
    except L.LayoutUnavailable as e:
        pytest.skip(str(e))  # not root, or no cgroup v1 cpu hierarchy
    try:
        yield tree
    finally:
        tree.close()


def tops(layout) -> list[Path]:
    return [m / layout.name for m in layout.mounts.values()]


def test_the_tree_has_the_kubelets_layout_and_values(layout) -> None:
    layout.create()
    online, offline = layout.add_pod(ONLINE), layout.add_pod(OFFLINE)
    assert str(online) == f"kubepods/pod{ONLINE.uid}/{ONLINE.container_id}"
    assert str(offline) == f"kubepods/besteffort/pod{OFFLINE.uid}/{OFFLINE.container_id}"
    for top in tops(layout):
        for path in ("kubepods", "kubepods/burstable", "kubepods/besteffort", online, offline):
            assert (top / path).is_dir(), top / path
    assert layout.read("cpu", "kubepods", "cpu.shares") == "2048"
    assert layout.read("cpu", "kubepods/besteffort", "cpu.shares") == "2"
    assert layout.read("cpu", "kubepods/burstable", "cpu.shares") == "2"
    for path in (ONLINE.cgroup, online):
        assert layout.read("cpu", path, "cpu.shares") == "1536"
        assert layout.read("cpu", path, "cpu.cfs_quota_us") == "150000"
        assert layout.read("memory", path, "memory.limit_in_bytes") == str(256 << 20)
    assert layout.cpu_limit_cores(ONLINE.cgroup) == 1.5
    assert layout.read("cpu", OFFLINE.cgroup, "cpu.shares") == "2"
    assert layout.cpu_limit_cores("kubepods/besteffort") == float("inf")
    if "cpuset" in layout.mounts:
        machine = (layout.mounts["cpuset"] / "cpuset.cpus").read_text().strip()
        assert layout.read("cpuset", offline, "cpuset.cpus") == machine


def test_reset_writes_the_kubelets_values_again(layout) -> None:
    layout.create()
    layout.add_pod(OFFLINE)
    layout.write("cpu", "kubepods/besteffort", "cpu.cfs_quota_us", 50_000)
    layout.write("cpu", OFFLINE.cgroup, "cpu.cfs_quota_us", 20_000)
    layout.write("memory", "kubepods/besteffort", "memory.limit_in_bytes", 64 << 20)
    layout.reset()
    assert layout.cpu_limit_cores("kubepods/besteffort") == float("inf")
    assert layout.cpu_limit_cores(OFFLINE.cgroup) == float("inf")
    limit = int(layout.read("memory", "kubepods/besteffort", "memory.limit_in_bytes"))
    assert limit > 1 << 40  # -1 reads back as the largest page-aligned value


def test_a_process_moves_in_and_out_and_nothing_is_left(layout) -> None:
    layout.create()
    container = layout.add_pod(OFFLINE)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        layout.enter(container, sleeper.pid)
        assert layout.pids() == {sleeper.pid}
        for controller in layout.mounts:
            procs = layout.read(controller, container, "cgroup.procs").split()
            assert procs == [str(sleeper.pid)], controller
        own = Path(f"/proc/{sleeper.pid}/cgroup").read_text()
        assert f"/{layout.name}/{container}" in own

        layout.remove(OFFLINE.cgroup)  # moves it back home first
        assert sleeper.poll() is None
        assert layout.pids() == set()
        assert layout.name not in Path(f"/proc/{sleeper.pid}/cgroup").read_text()
        assert (
            Path(f"/proc/{sleeper.pid}/cgroup").read_text() == Path("/proc/self/cgroup").read_text()
        )
        assert not any((top / OFFLINE.cgroup).exists() for top in tops(layout))

        layout.enter(layout.add_pod(ONLINE), sleeper.pid)
        layout.close()  # a task still inside: moved out, then everything removed
        assert sleeper.poll() is None
        assert not any(top.exists() for top in tops(layout))
        layout.close()  # idempotent
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_task_may_run_real_time_only_once_its_cgroup_is_allowed(layout) -> None:
    """The bench's real-time client: under RT group scheduling a new cgroup has no
    real-time budget and SCHED_FIFO is refused there; allow_realtime gives every level
    from the layout's root down a budget, and the same request then succeeds."""
    layout.create()
    layout.make("client")
    if not (layout.dir("cpu", "client") / "cpu.rt_runtime_us").exists():
        pytest.skip("this kernel has no RT group scheduling")
    want = "import os; os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1)); print('fifo')"
    script = f"import sys; sys.stdin.readline(); {want}"

    def try_fifo() -> subprocess.CompletedProcess[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        layout.enter("client", proc.pid)
        out, err = proc.communicate("go\n", timeout=30)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    refused = try_fifo()
    assert refused.returncode != 0 and "PermissionError" in refused.stderr

    layout.allow_realtime("client", 200_000)
    assert layout.read("cpu", "", "cpu.rt_runtime_us") == "200000"
    assert layout.read("cpu", "client", "cpu.rt_runtime_us") == "200000"
    allowed = try_fifo()
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == "fifo"
    layout.close()
    assert not any(top.exists() for top in tops(layout))
