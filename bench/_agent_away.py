"""Scenario `agent-kill` of bench/faults.py: colo-agent killed (SIGKILL) on a node running a
real cgroup workload while online load steps up; started again 10 s later.

The node is bench/interference.py's, on this machine's real cgroup v1 tree (root, a
private kubelet root that is removed afterwards): an online pod of `WORKERS` HTTP
servers under an open-loop load of `RATE` requests/s, and `stress-ng` wanting every cpu
in the offline box, governed by `colo agent protect`. Three runs, each `warm-up` then
measured, repeated `repeats` times on the same node (one p99 over a window of ~3,000
requests moves by milliseconds between repeats on 2 shared cores, and by tens of them
between whole runs: docs/reliability.md, "agent-kill"):

- **alone**: online pod + load + the step (a `STEP_CORES` burner in the online pod), no
  offline work: the baseline p99;
- **away**: offline work and the agent; after it has settled, `kill -9` of the agent
  (what it left in the box is read at once: quota, period, `cpu.idle`, shares, memory
  limit, cpusets), the step 1 s later, `AWAY_S` seconds without an agent, then the same
  command again (the kubelet restarting the container), `BACK_S` seconds more;
- **static**: offline work, no agent ever, the box holding exactly what the agent left
  (written by the bench, as the kubelet writes its layout), and the same step: what the
  box's static limits allow.

alone and static measure the same window as away: from 0.5 s after the step for
`AWAY_S` − 0.5 s, the step 1 s after the warm-up.

The checker reads only the cgroup tree, every `POLL_S`:
- `changed_while_away`: polls in which anything in the box differed from what the agent
  left (nobody should touch it: the kernel keeps it);
- `resets`: polls after the return with a setting of the box gone from what the agent
  left back to the kubelet's value (no quota, not idle, cpu.shares 2, no memory limit)
  — an agent that started over;
- `repair_s`: from the restart until the box's quota is `REACT_DROP_CORES` below what
  was left (the agent found the stepped-up online load and cut the box);
- `adopted`: the restarted agent logged that it carried on from the cgroups as found.

Latency figures are p99 over windows of the away run's load (by each request's due
time): `with` (the 4 s before the kill), `away` (from 0.5 s after the step until the
restart), `back` (the last `BACK_S` − 2 s). Each p99 figure is the median over the
repeats; `inflation_<x>` is the median over the repeats of p99_x / p99_alone − 1, both
p99s of the same repeat. The goal: `inflation_away` no worse than `inflation_static`
(noise aside), nothing changed while away, no reset, and a repair within a few seconds
of the return. The counters add up over the repeats; `repair_s` is the slowest repair.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO, Any

import numpy as np

from _cgroup_layout import BOX, KubeletLayout, LayoutUnavailable
from interference import POLL_S, Bench, PhaseFailed, check_agent

#: the online pod (bench/interference.py's Burstable pod of this many servers), its load
#: and the step: ~0.6 core of serving, then ~0.6 core more — 1.2 of the node's 2 cores
WORKERS, RATE, WORK_MS, STEP_CORES = 2, 300.0, 2.0, 0.6
WARMUP_S, SETTLE_S, WITH_S, AWAY_S, BACK_S = 3.0, 5.0, 4.0, 10.0, 6.0
#: how far below what the agent left the box's quota must fall to count as the repair
REACT_DROP_CORES = STEP_CORES / 4
ADOPTED_LOG = "carrying on from the cgroups as found"


@dataclasses.dataclass(frozen=True)
class BoxState:
    """What the box holds (v1 files), and the online pod's cpuset."""

    quota_us: int
    period_us: int
    idle: str  # "" where the kernel has no cpu.idle
    shares: int
    memory_limit: int
    cpus: str
    online_cpus: str

    @classmethod
    def read(cls, layout: KubeletLayout, online: PurePosixPath) -> BoxState:
        idle = layout.dir("cpu", BOX) / "cpu.idle"
        cpuset = "cpuset" in layout.mounts
        return cls(
            quota_us=int(layout.read("cpu", BOX, "cpu.cfs_quota_us")),
            period_us=int(layout.read("cpu", BOX, "cpu.cfs_period_us")),
            idle=idle.read_text().strip() if idle.exists() else "",
            shares=int(layout.read("cpu", BOX, "cpu.shares")),
            memory_limit=int(layout.read("memory", BOX, "memory.limit_in_bytes")),
            cpus=layout.read("cpuset", BOX, "cpuset.cpus") if cpuset else "",
            online_cpus=layout.read("cpuset", online, "cpuset.cpus") if cpuset else "",
        )

    @property
    def cores(self) -> float:
        return math.inf if self.quota_us < 0 else self.quota_us / self.period_us

    def reset_from(self, left: BoxState) -> list[str]:
        """What of it has left `left` for the kubelet's value for a BestEffort QoS cgroup
        (no quota, not idle, cpu.shares 2, no memory limit): an agent that started over."""
        out = []
        if self.quota_us < 0 <= left.quota_us:
            out.append("no cpu quota")
        if self.idle == "0" and left.idle == "1":
            out.append("cpu.idle 0")
        if self.shares == 2 != left.shares:
            out.append("cpu.shares 2")
        if self.memory_limit >= 1 << 60 > left.memory_limit:
            out.append("no memory limit")
        return out

    def write(self, layout: KubeletLayout, online: PurePosixPath) -> None:
        """Put this state into the box (the static run: the bench plays what was left)."""
        if self.idle:
            layout.write("cpu", BOX, "cpu.idle", self.idle)
        if self.idle != "1":
            layout.write("cpu", BOX, "cpu.shares", self.shares)
        layout.write("cpu", BOX, "cpu.cfs_period_us", self.period_us)
        layout.write("cpu", BOX, "cpu.cfs_quota_us", self.quota_us)
        layout.write("memory", BOX, "memory.limit_in_bytes", self.memory_limit)
        if self.cpus:
            layout.write("cpuset", BOX, "cpuset.cpus", self.cpus)
            layout.write("cpuset", online, "cpuset.cpus", self.online_cpus)


WINDOWS = ("alone", "with", "away", "back", "static")


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else math.nan


@dataclasses.dataclass
class AgentAway:
    """The scenario's result over its repeats (module docstring)."""

    #: p99 (ms) of each window, one entry per repeat
    p99s: dict[str, list[float]] = dataclasses.field(
        default_factory=lambda: {w: [] for w in WINDOWS}
    )
    box_left_milli: float = math.nan  # of the last repeat
    box_back_milli: float = math.nan
    changed_while_away: int = 0
    resets: int = 0
    repair_s: float | None = None
    repairs: int = 0  # repeats whose restarted agent cut the box
    adopted: int = 0  # repeats whose restarted agent said it carried on
    errors: int = 0
    details: list[str] = dataclasses.field(default_factory=list)

    @property
    def repeats(self) -> int:
        return len(self.p99s["static"])

    def p99_ms(self, window: str) -> float:
        """The median over the repeats."""
        return _median(self.p99s[window])

    def inflation(self, window: str) -> float:
        """Median over the repeats of p99_window / p99_alone − 1 (same repeat)."""
        pairs = zip(self.p99s[window], self.p99s["alone"], strict=False)
        return _median([x / alone - 1 for x, alone in pairs])

    @property
    def inflation_away(self) -> float:
        return self.inflation("away")

    @property
    def inflation_static(self) -> float:
        return self.inflation("static")

    @property
    def all_adopted(self) -> bool:
        return self.repeats > 0 and self.adopted == self.repeats

    @property
    def all_repaired(self) -> bool:
        return self.repeats > 0 and self.repairs == self.repeats

    @property
    def losses(self) -> int:
        return self.changed_while_away + self.resets

    def figures(self, prefix: str = "agent_kill_") -> dict[str, Any]:
        def r(v: float | None, n: int = 2) -> float | None:
            return None if v is None or not math.isfinite(v) else round(v, n)

        values: dict[str, Any] = {f"p99_{w}_ms": r(self.p99_ms(w)) for w in WINDOWS}
        values |= {
            "inflation_away": r(self.inflation_away, 3),
            "inflation_back": r(self.inflation("back"), 3),
            "inflation_static": r(self.inflation_static, 3),
            "box_left_milli": r(self.box_left_milli, 0),
            "box_back_milli": r(self.box_back_milli, 0),
            "changed_while_away": self.changed_while_away, "resets": self.resets,
            "repair_s": r(self.repair_s), "repairs": self.repairs, "adopted": self.adopted,
            "repeats": self.repeats, "errors": self.errors,
        }  # fmt: skip
        return {prefix + k: v for k, v in values.items()}


def p99(out: dict[str, Any], start: float, end: float) -> float:
    """p99 latency (ms) of the requests due in [start, end) (time.monotonic)."""
    t0, lat = float(out["t0"]), np.asarray(out["latencies_ms"], np.float64)
    due = t0 + np.arange(len(lat)) / RATE
    window = lat[(due >= start) & (due < end)]
    return float(np.percentile(window, 99)) if len(window) else math.nan


class Run:
    """One node, three runs (module docstring)."""

    def __init__(self, layout: KubeletLayout, log: IO[str]) -> None:
        self.layout = layout
        self.log = log
        self.bench = Bench(
            layout, rate=RATE, warmup_s=WARMUP_S, duration_s=AWAY_S, settle_s=SETTLE_S,
            timeout_s=1.0, log=log, online_tier="LS", target_util=0.9, workers=WORKERS,
        )  # fmt: skip
        self.out = AgentAway()

    def say(self, text: str) -> None:
        print(f"  agent-kill: {text}", file=self.log, flush=True)

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        b = self.bench
        burner = b.spawn_child(b.online_container, "burn", STEP_CORES)
        try:
            yield
        finally:
            b.stop(burner)

    def wait(self, until: float) -> None:
        time.sleep(max(0.0, until - time.monotonic()))

    def reference(self, left: BoxState | None) -> float:
        """p99 of the step without an agent, in the away window's span (module
        docstring): no offline work (`left` None), or the offline work in a box holding
        `left`."""
        b = self.bench
        b.settle()
        self.layout.reset()
        with contextlib.ExitStack() as stack:
            if left is not None:
                stack.enter_context(b.offline(colo=True))
                left.write(self.layout, b.online.cgroup)
            load = b.loadgen(1.0 + AWAY_S)
            self.wait(time.monotonic() + b.warmup_s + 1.0)
            with self.step():
                stepped = time.monotonic()
                out = b.results(load)
        self.out.errors += int(out["errors"])
        return p99(out, stepped + 0.5, stepped + AWAY_S)

    def start_agent(self, err: IO[bytes]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(self.bench.agent_argv(), stdin=subprocess.DEVNULL, stdout=err,
                                stderr=err, start_new_session=True)  # fmt: skip
        self.bench.procs.append(proc)
        return proc

    def away(self) -> BoxState:
        b, out, layout = self.bench, self.out, self.layout
        b.settle()
        layout.reset()
        online = b.online.cgroup
        with b.offline(colo=True), tempfile.NamedTemporaryFile() as err:
            agent = self.start_agent(err)
            total = SETTLE_S + WITH_S + 1 + AWAY_S + BACK_S
            load = b.loadgen(total)
            kill_at = time.monotonic() + WARMUP_S + SETTLE_S + WITH_S
            self.wait(kill_at)
            if agent.poll() is not None:
                raise PhaseFailed(f"colo-agent exited {agent.returncode} before the kill")
            os.killpg(agent.pid, signal.SIGKILL)
            agent.wait()
            b.procs.remove(agent)
            killed = time.monotonic()
            left = BoxState.read(layout, online)
            out.box_left_milli = 1000 * left.cores
            self.say(f"killed colo-agent; the box holds {left}")
            self.wait(killed + 1.0)
            repair_s: float | None = None
            with self.step():
                stepped = time.monotonic()
                back_at = stepped + AWAY_S
                while time.monotonic() < back_at:
                    now = BoxState.read(layout, online)
                    if now != left:
                        out.changed_while_away += 1
                        if out.changed_while_away == 1:
                            out.details.append(f"the box changed while no agent ran: {now}")
                    time.sleep(POLL_S)
                agent = self.start_agent(err)
                restarted = time.monotonic()
                while time.monotonic() < restarted + BACK_S:
                    now = BoxState.read(layout, online)
                    if defaults := now.reset_from(left):
                        out.resets += 1
                        if out.resets == 1:
                            out.details.append("after the restart the box was reset: "
                                               + ", ".join(defaults))  # fmt: skip
                    if repair_s is None and now.cores < left.cores - REACT_DROP_CORES:
                        repair_s = time.monotonic() - restarted
                    time.sleep(POLL_S)
                out.box_back_milli = 1000 * BoxState.read(layout, online).cores
                result = b.results(load)
            b.stop(agent)
            err.seek(0)
            said = err.read().decode(errors="replace")
        out.adopted += ADOPTED_LOG in said
        if "Traceback" in said:
            out.details.append("colo-agent logged a traceback:\n" + said[-2000:])
        out.errors += int(result["errors"])
        out.p99s["with"].append(p99(result, killed - WITH_S, killed))
        out.p99s["away"].append(p99(result, stepped + 0.5, restarted))
        out.p99s["back"].append(p99(result, restarted + 2.0, restarted + BACK_S))
        if repair_s is None:
            out.details.append(f"the restarted agent did not cut the box within {BACK_S:g} s")
        else:
            out.repairs += 1
            out.repair_s = max(repair_s, out.repair_s or 0.0)
        return left

    def run(self, repeats: int) -> AgentAway:
        b, p99s = self.bench, self.out.p99s
        b.start_server(WORK_MS)
        for i in range(1, repeats + 1):
            self.say(f"repeat {i}/{repeats}: alone, the step without offline work")
            p99s["alone"].append(self.reference(None))
            self.say("away: kill -9 of colo-agent, the step, the agent back 10 s later")
            left = self.away()
            self.say("static: the step with the box as the agent left it, no agent")
            p99s["static"].append(self.reference(left))
        return self.out


def unavailable() -> str | None:
    """Why scenario agent-kill cannot run here (None: it can)."""
    if os.geteuid() != 0:
        return "needs root (it makes cgroups)"
    if shutil.which("stress-ng") is None:
        return "stress-ng is not installed (make stress-ng)"
    try:
        check_agent()
    except PhaseFailed as e:
        return str(e)
    return None


def agent_away(log: IO[str], repeats: int = 1) -> AgentAway:
    """Scenario 6 on this machine, `repeats` times; raises PhaseFailed (or
    LayoutUnavailable) when it cannot run."""
    if repeats < 1:
        raise ValueError(f"repeats: at least 1, got {repeats}")
    with KubeletLayout(f"colo-faults-{os.getpid()}") as layout:
        run = Run(layout, log)
        try:
            return run.run(repeats)
        finally:
            run.bench.stop_all()


__all__ = ["AgentAway", "LayoutUnavailable", "PhaseFailed", "agent_away", "unavailable"]
