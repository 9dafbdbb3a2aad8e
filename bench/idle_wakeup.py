"""Benchmark (issue 13, a diagnostic): how late a normal thread wakes up next to CPU-hungry
work of the idle class, on this machine's kernel and cgroup v1 tree.

colo's offline box relies on SCHED_IDLE (cgroup v1 `cpu.idle=1` on the box): a waking
online thread should preempt idle-class work at once. This measures exactly that and
nothing else, so a tail seen in `bench/interference.py` can be told apart from the
scheduler's idle class and from the host taking the vCPUs away (steal).

A probe thread in this process (root cgroup, normal priority) sleeps 1 ms, then spins
0.5 ms (a small request's work), over and over for `--duration` seconds; its wake-up
delay is the time past the 1 ms it asked for. Phases, each next to `stress-ng --cpu
<cpus> --cpu-method matrixprod` but for `alone`:

- alone: nothing else (idle cpus: their wake-up from a halted vCPU shows here);
- task_idle: stress-ng's threads in SCHED_IDLE (`sched_setscheduler`), root cgroup;
- cgroup_idle: stress-ng in a private cgroup `<cpu>/colo-bench-idle-<pid>` with
  `cpu.idle=1`, as colo's box is (removed afterwards, also on an error or SIGTERM);
- normal: stress-ng at normal priority in the root cgroup: the unprotected case.

Figures per phase (medians over `--repeats` rounds, phases in turn): wake_p50_ms_,
wake_p99_ms_, wake_p999_ms_ (milliseconds past the asked 1 ms), steal_pct_ and
busy_pct_ (of all cpus' time, /proc/stat). Refuses to run (exit 2) when not root,
without a cgroup v1 cpu hierarchy with `cpu.idle`, or without stress-ng (`make stress-ng`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from _common import emit, machine_cpu_jiffies, parser

CPU_ROOT = Path("/sys/fs/cgroup/cpu")
PHASES = ("alone", "task_idle", "cgroup_idle", "normal")


def probe(seconds: float) -> list[float]:
    """Wake-up delays (s) of a 1 ms sleep, each followed by 0.5 ms of work."""
    delays = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        asked = time.perf_counter()
        time.sleep(0.001)
        delays.append(time.perf_counter() - asked - 0.001)
        until = time.perf_counter() + 0.0005
        while time.perf_counter() < until:
            pass
    return sorted(delays)


def quantile_ms(sorted_s: list[float], q: float) -> float:
    return 1000.0 * sorted_s[min(len(sorted_s) - 1, int(q * (len(sorted_s) - 1)))]


@contextlib.contextmanager
def offline(phase: str, cgroup: Path) -> Iterator[None]:
    """stress-ng on every cpu, placed as `phase` says (nothing for `alone`)."""
    if phase == "alone":
        yield
        return
    setup: Callable[[], None] | None = None
    if phase == "task_idle":

        def setup() -> None:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))

    elif phase == "cgroup_idle":

        def setup() -> None:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    cmd = ["stress-ng", "--cpu", str(os.cpu_count() or 1), "--cpu-method", "matrixprod", "-q"]
    # preexec_fn runs in the child before exec; safe here: this process starts no threads
    proc = subprocess.Popen(cmd, preexec_fn=setup)
    try:
        time.sleep(1.0)  # its workers started and spinning
        if proc.poll() is not None:
            raise SystemExit(f"stress-ng exited at once ({proc.returncode}) in phase {phase}")
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(phase: str, seconds: float, cgroup: Path) -> dict[str, float]:
    with offline(phase, cgroup):
        before = machine_cpu_jiffies()
        delays = probe(seconds)
        after = machine_cpu_jiffies()
    d = [b - a for a, b in zip(before, after, strict=False)]
    total = sum(d) or 1
    idle = d[3] + d[4]
    return {
        "wake_p50_ms": quantile_ms(delays, 0.5),
        "wake_p99_ms": quantile_ms(delays, 0.99),
        "wake_p999_ms": quantile_ms(delays, 0.999),
        "steal_pct": 100.0 * (d[7] if len(d) > 7 else 0) / total,
        "busy_pct": 100.0 * (total - idle) / total,
    }


def refuse_unless_able() -> None:
    problems = []
    if os.geteuid() != 0:
        problems.append("it must run as root (it makes a cgroup)")
    if not (CPU_ROOT / "cpu.idle").exists():
        problems.append(f"no cgroup v1 cpu hierarchy with cpu.idle at {CPU_ROOT}")
    if shutil.which("stress-ng") is None:
        problems.append("stress-ng is not installed (make stress-ng)")
    if problems:
        print("idle_wakeup: " + "; ".join(problems), file=sys.stderr)
        raise SystemExit(2)


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--duration", type=float, default=8.0, help="seconds probed per phase (8)")
    p.set_defaults(repeats=3)
    args = p.parse_args()
    if args.duration <= 0 or args.repeats < 1:
        p.error("--duration must be > 0 and --repeats >= 1")
    refuse_unless_able()
    cgroup = CPU_ROOT / f"colo-bench-idle-{os.getpid()}"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rounds: dict[str, list[dict[str, float]]] = {phase: [] for phase in PHASES}
    cgroup.mkdir()
    try:
        (cgroup / "cpu.idle").write_text("1")
        for _ in range(args.repeats):
            for phase in PHASES:
                rounds[phase].append(measure(phase, args.duration, cgroup))
    finally:
        for _ in range(50):  # stress-ng's workers leave the cgroup a moment after exiting
            with contextlib.suppress(OSError):
                cgroup.rmdir()
                break
            time.sleep(0.1)
    figures: dict[str, float] = {}
    for phase, results in rounds.items():
        for name in results[0]:
            figures[f"{name}_{phase}"] = round(statistics.median(r[name] for r in results), 3)
    emit(
        "wake-up delay of a normal thread next to idle-class work",
        figures,
        as_json=args.json,
        notes=f"{os.cpu_count()} cpus; medians of {args.repeats} rounds of {args.duration:g} s "
        "per phase; delay past a 1 ms sleep",
    )


if __name__ == "__main__":
    main()
