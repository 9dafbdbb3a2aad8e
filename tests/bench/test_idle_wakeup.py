"""bench/idle_wakeup.py on the real cgroup v1 tree, briefly: every figure comes out, the
stress phases really load every cpu, its private cgroup is gone afterwards, and a bad
flag is a usage error."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "idle_wakeup.py"
CPU_ROOT = Path("/sys/fs/cgroup/cpu")

pytestmark = pytest.mark.cgroup


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=120
    )


def test_a_short_run_gives_every_figure_and_leaves_no_cgroup() -> None:
    done = run("--duration", "0.3", "--repeats", "1", "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    phases = ("alone", "task_idle", "cgroup_idle", "normal")
    names = ("wake_p50_ms", "wake_p99_ms", "wake_p999_ms", "steal_pct", "busy_pct")
    assert set(figures) == {f"{n}_{p}" for n in names for p in phases}
    assert all(math.isfinite(v) and v >= 0 for v in figures.values()), figures
    for phase in ("task_idle", "cgroup_idle", "normal"):  # stress-ng ran on every cpu
        assert figures[f"busy_pct_{phase}"] > 90, (phase, figures)
    assert not list(CPU_ROOT.glob("colo-bench-idle-*"))


def test_a_bad_duration_is_a_usage_error() -> None:
    done = run("--duration", "0")
    assert done.returncode == 2
    assert "--duration" in done.stderr
