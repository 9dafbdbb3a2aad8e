"""Benchmark (issue 13): an online service's latency next to CPU-hungry offline work, on
this machine's real cgroup v1 filesystem — alone, unprotected, and under colo-agent.

Runs as root in a private kubelet-style tree (bench/_cgroup_layout.py), kubelet cgroup
root `/colo-bench-<pid>`, which the bench makes and removes (also on Ctrl-C, SIGTERM or
an error); nothing else on the machine is written. It plays the kubelet (the layout and
its values); colo writes only through colo-agent.

Processes (each joins its cgroup, in every hierarchy, before it starts working):
- online pod: by default a Guaranteed pod of 1 cpu and 512 MiB
  (`kubepods/pod<uid>/<container>`) running one HTTP/1.1 server on 127.0.0.1 (asyncio,
  one thread, keep-alive) that spins a fixed number of loop iterations per request: at
  the default 250 requests/s of ~2 ms, ~0.6 core. Under colo it is what its
  `colo.io/qos: LSE` label makes it (`--online-tier`): a latency-sensitive service on a
  core of its own, the tier colo promises to keep within a few percent of alone.
  `--workers N` (N > 1) is a Burstable pod requesting 1 cpu and limited to N, running N
  servers, each its own process and port; with `--workers 2 --online-tier LS --rate 550`
  it uses ~1.15 cores, more than its request, in colo's shared pool (the bursting
  service of docs/agent.md). The count is calibrated once at the start, on the still
  idle machine (best of 9), to `--work-ms`; every phase and process uses the same count.
- load generator (`<root>/client`, outside kubepods, cpu.shares 262144, the kernel's
  most): open loop, request k is due at t0 + k/rate whatever came back before (asyncio;
  a new keep-alive connection when none is idle); latency = answer − due time, so a late
  send or a queue counts (no coordinated omission); request k goes to server k mod N.
  A request that fails, or has no answer `--timeout-ms` after its due time, is an error
  with latency = the timeout.
  Load normally comes from other machines, where offline work on this node cannot delay
  the client and the client takes no cpu from the service; here it must share the two
  cpus. With a pinned online pod (LSE, LSR: colo gives it cpus from the first) the
  client is a real-time task (SCHED_FIFO 1) on the last cpu (`--client realtime`, the
  default then): nothing of the node delays it, and it never queues on the service's
  core, in every phase alike (left free at the largest weight, it followed the server
  onto its core, 88 % of its time under colo, and the server waited behind it 37-93 ms
  a second; as a real-time task on the last cpu, 3.4-4.9 ms, and 0.3-1.4 alone). A service
  in the shared pool uses every cpu, and a real-time client there would take its time
  (its waits alone went from 75-115 to 137 ms/s), so the client is left free at the
  kernel's largest weight then (`--client free`). Its cpu is accounted apart.
- offline pod: `stress-ng --cpu <node cpus> --cpu-method matrixprod`, wanting every
  cpu. Without colo (unprotected) it is what a batch job is on a shared node today: a
  Burstable pod requesting the cpu the online pod leaves (1 cpu, cpu.shares 1024), no
  limit (`kubepods/burstable/pod<uid>/<container>`). Under colo it is what colo-webhook
  makes of it: BestEffort, on `colo.io/batch-*`, in the offline box
  (`kubepods/besteffort/pod<uid>/<container>`).
- colo-agent's protection (`colo agent protect --cgroup-root /sys/fs/cgroup
  --kubelet-cgroup-root /colo-bench-<pid> --interval 0.25`), in the bench's own cgroup.

Phases (`--phases`, any subset, in this order), each a warm-up (3 s) then `--duration`
seconds measured; the tree is put back to the kubelet's values before each:
- alone: server + load.
- unprotected: + stress-ng; the kubelet's layout as is.
- colo: + stress-ng + colo-agent, stopped with SIGTERM after the phase.
- step: as colo; after 5 s more, online load steps up by a ~0.8-core burner where the
  box runs: inside the online pod's container when the pod is in the shared pool (LS or
  no tier), else (LSE, LSR: the pod's cpus are its own, and the box is kept off them)
  in a second online pod, Burstable, requesting 800m, in the shared pool. react_s =
  seconds from then until the box's (`kubepods/besteffort`) cpu limit (cfs quota /
  period, polled every 10 ms) is a quarter of the step (0.2 core) below the lowest it
  was during the second before — the margin keeps the limit's interval-to-interval
  jitter from counting as a reaction; omitted (with a note) when that does not happen
  within `--duration`. box_millicores_before_step is that lowest,
  box_millicores_after_step the first limit past the margin (or the last polled).

Phases run in rounds (`--repeats`, 5): alone, unprotected, colo, then again; figures are
medians over the rounds. Figures: p50/p99 latency per phase (ms); inflation_<phase> = the
median over rounds of p99_<phase>/p99_alone (same round) − 1; p99_<phase>_pooled_ms and
inflation_<phase>_pooled the same over every round's requests together (steadier: a
round's p99 rests on its 25 slowest requests);
idle_alone_millicores = whole-machine idle cpu during the alone phase (cpus × 1000 −
busy: every task's run time from the root cpuacct.usage, plus /proc/stat's irq, softirq
and steal, as colo-agent reads it; /proc/stat's own busy jiffies are sampled at the tick
and were 0.4-0.55 core off beside a box throttled every 10 ms); offline_share_of_idle_<phase> = the
box's cpu (cpuacct.usage delta / wall time) / idle_alone_millicores;
runqueue_wait_ms_per_s_<phase> = how long the online pod's threads together waited
runnable for a cpu, ms per second (/proc/<pid>/task/<tid>/schedstat): the scheduler's
share of a tail, apart from the service's own cpu time; requests_<phase> and
errors_<phase>. Figures needing a phase that did not run are left out.

Refuses to run (exit 2) when not root, without a cgroup v1 cpu hierarchy, or without
stress-ng (`make stress-ng`); exits 1 when a phase fails, e.g. while `colo agent protect`
does not exist (checked before anything runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib.util
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from _cgroup_layout import BOX, KubeletLayout, LayoutUnavailable, Pod
from _common import emit, parser
from colo.core.qos import KubernetesQoSClass
from colo.linux import LinuxCgroups
from colo.linux.node import node_busy_reader

PHASES = ("alone", "unprotected", "colo", "step")
#: pod uids: 36 hex digits and dashes, as colo's scan of `pod<uid>` requires
ONLINE = Pod(
    "aaaaaaaa-0000-4000-8000-000000000001", "Guaranteed",
    cpu_request_milli=1000, cpu_limit_milli=1000, memory_limit_bytes=512 << 20,
)  # fmt: skip
OFFLINE_UID = "bbbbbbbb-0000-4000-8000-000000000002"
#: the step phase's second online pod (the burner's, when the online pod is pinned)
STEP_POD = Pod("cccccccc-0000-4000-8000-000000000003", "Burstable", cpu_request_milli=800)
#: tiers whose pods colo gives cpus of their own, which the box stays off
PINNED_TIERS = ("LSE", "LSR")
#: without colo, the offline pod requests what the online pod leaves of the node
OFFLINE_REQUEST_MILLI = 1000
LOADGEN = PurePosixPath("client")
#: the client's cpu.shares: the kernel's most, so nothing on the node delays it
LOADGEN_SHARES = 262_144
#: a real-time client's budget, us of every cpu.rt_period_us (1 s): it uses ~0.1 core;
#: this keeps a runaway one from taking its cpu whole
LOADGEN_RT_RUNTIME_US = 300_000
#: the step phase's burner, cores
BURN_CORES = 0.8
#: how far the box's cpu limit must fall below its lowest before the step to count as
#: colo's reaction, cores: a quarter of the step, so the limit's own jitter from one
#: interval to the next is not taken for one
REACT_DROP_CORES = BURN_CORES / 4
#: how long colo keeps the step phase steady before the step, after the warm-up, s
SETTLE_S = 5.0
POLL_S = 0.010
AGENT_INTERVAL_S = 0.25

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"


class PhaseFailed(Exception):
    """A phase cannot run or broke off; the message says why."""


# -- child processes (`interference.py _child <role> ...`) ---------------------------------


def spin(iterations: int) -> int:
    """The server's work per request: a pure-Python loop."""
    x = 0
    for i in range(iterations):
        x ^= i
    return x


def calibrate(work_ms: float) -> tuple[int, float]:
    """Iterations of `spin` taking `work_ms` on this (idle) cpu, from the best of 9
    timings (the least disturbed), and the median time they then take, ms."""
    probe = 200_000
    spin(probe)
    best = float("inf")
    for _ in range(9):
        t = time.perf_counter()
        spin(probe)
        best = min(best, time.perf_counter() - t)
    n = max(1, round(work_ms / 1000 / (best / probe)))
    times = []
    for _ in range(9):
        t = time.perf_counter()
        spin(n)
        times.append(time.perf_counter() - t)
    return n, 1000 * sorted(times)[len(times) // 2]


async def serve(work_ms: float, iterations: int = 0) -> None:
    """One server process on a port of its own; the first calibrates, the others (more
    `--workers`) take its iteration count."""
    measured_ms = work_ms
    if not iterations:
        iterations, measured_ms = calibrate(work_ms)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                spin(iterations)
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port, "iterations": iterations, "work_ms": measured_ms}))
    sys.stdout.flush()
    await server.serve_forever()


async def load(
    ports: list[int], rate: float, warmup_s: float, duration_s: float, timeout_s: float
) -> None:
    """Open-loop load, request k to server process k mod len(ports) (an even split);
    prints one JSON object: the measured requests' latencies (ms), their count, errors,
    and how late the sends were (ms, p99 and max)."""
    loop = asyncio.get_running_loop()
    pools: list[list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = [[] for _ in ports]
    first_measured = round(warmup_s * rate)
    total = first_measured + round(duration_s * rate)
    latencies = [0.0] * total
    failed = [False] * total
    lag = [0.0] * total

    async def one(k: int, due: float) -> None:
        conn = None
        idle, port = pools[k % len(ports)], ports[k % len(ports)]
        try:
            async with asyncio.timeout_at(due + timeout_s):
                conn = idle.pop() if idle else await asyncio.open_connection("127.0.0.1", port)
                reader, writer = conn
                writer.write(REQUEST)
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise ValueError(head[:40])
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
            latencies[k] = 1000 * (loop.time() - due)
            idle.append(conn)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, StopIteration):
            failed[k] = True
            latencies[k] = 1000 * timeout_s
            if conn is not None:
                conn[1].close()

    tasks = []
    t0 = loop.time() + 0.05
    for k in range(total):
        due = t0 + k / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lag[k] = 1000 * (loop.time() - due)
        tasks.append(asyncio.create_task(one(k, due)))
    await asyncio.gather(*tasks)
    for _, writer in (c for pool in pools for c in pool):
        writer.close()
    measured_lag = sorted(lag[first_measured:])
    print(
        json.dumps({
            # due time (time.monotonic) of the first measured request; request k of
            # latencies_ms was due t0 + k / rate
            "t0": t0 + first_measured / rate,
            "latencies_ms": latencies[first_measured:],
            "errors": sum(failed[first_measured:]),
            "lag_p99_ms": measured_lag[int(0.99 * (len(measured_lag) - 1))],
            "lag_max_ms": measured_lag[-1],
        })
    )  # fmt: skip


def burn(cores: float) -> None:
    """Spin `cores` of one cpu: busy for that share of every 10 ms."""
    busy = 0.010 * cores
    while True:
        t = time.perf_counter()
        while time.perf_counter() - t < busy:
            pass
        time.sleep(0.010 - busy)


def realtime_on(cpu: int) -> None:
    """This process as a real-time task (SCHED_FIFO, the lowest priority) on `cpu` only."""
    try:
        os.sched_setaffinity(0, {cpu})
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except OSError as e:
        raise SystemExit(f"the load generator cannot run real-time on cpu {cpu}: {e}") from e


def child(argv: list[str]) -> None:
    """A child's entry: it waits for a line on stdin (its pid is moved into its cgroup
    meanwhile), then works."""
    sys.stdin.readline()
    role, *rest = argv
    if role == "server":
        asyncio.run(serve(float(rest[0]), *(int(x) for x in rest[1:])))
    elif role == "loadgen":
        ports, rate, warmup, duration, timeout, rt_cpu = rest
        if int(rt_cpu) >= 0:
            realtime_on(int(rt_cpu))
        asyncio.run(
            load([int(x) for x in ports.split(",")], float(rate), float(warmup),
                 float(duration), float(timeout))
        )  # fmt: skip
    elif role == "burn":
        burn(float(rest[0]))
    else:
        raise SystemExit(f"unknown child role {role!r}")


# -- measuring -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The machine's busy cpu time and cgroup cpu times at one moment."""

    at: float  # time.monotonic(), s
    #: every task's run time (the root cpuacct.usage) + /proc/stat's irq, softirq and
    #: steal, ns: what colo-agent reads. Not /proc/stat's busy jiffies: they are sampled
    #: at the tick and were 0.4-0.55 core off beside the box throttled every 10 ms.
    busy_ns: int
    usage_ns: dict[str, int]
    #: thread id → ns spent runnable but waiting for a cpu (/proc schedstat), of the
    #: online pod's threads
    online_waits_ns: dict[int, int]

    @classmethod
    def take(
        cls, layout: KubeletLayout, cgroups: dict[str, PurePosixPath], busy_ns: Callable[[], int]
    ) -> Snapshot:
        """`busy_ns`: the machine's busy time, colo-agent's own reader of it."""
        return cls(
            time.monotonic(),
            busy_ns(),
            {name: layout.cpu_usage_ns(path) for name, path in cgroups.items()},
            runqueue_waits_ns(layout.pids(cgroups["online"])),
        )


def runqueue_waits_ns(pids: set[int]) -> dict[int, int]:
    """Per thread of `pids`, the ns it has spent runnable but not running (the second
    field of /proc/<pid>/task/<tid>/schedstat). A thread that has gone is left out."""
    out: dict[int, int] = {}
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                stat = Path(f"/proc/{pid}/task/{tid}/schedstat")
                with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                    out[int(tid)] = int(stat.read_text().split()[1])
    return out


def node_cpus() -> int:
    return sum(
        1
        for line in Path("/proc/stat").read_text().splitlines()
        if line.startswith("cpu") and line[3:4].isdigit()
    )


@dataclasses.dataclass
class PhaseResult:
    name: str
    latencies_ms: list[float]
    errors: int
    lag_p99_ms: float
    idle_millicores: float
    #: cgroup name → its cpu use over the window, millicores
    millicores: dict[str, float]
    #: how long the online pod's threads together waited runnable for a cpu, ms per s
    runqueue_wait_ms_per_s: float

    @classmethod
    def of(cls, name: str, out: dict[str, Any], a: Snapshot, b: Snapshot) -> PhaseResult:
        wall_ns = 1e9 * (b.at - a.at)
        busy_milli = 1000 * (b.busy_ns - a.busy_ns) / wall_ns
        return cls(
            name,
            out["latencies_ms"],
            out["errors"],
            out["lag_p99_ms"],
            max(0.0, 1000 * node_cpus() - busy_milli),
            {k: 1000 * (b.usage_ns[k] - a.usage_ns[k]) / wall_ns for k in a.usage_ns},
            1000 * sum(b.online_waits_ns[t] - w for t, w in a.online_waits_ns.items()
                       if t in b.online_waits_ns) / wall_ns,
        )  # fmt: skip

    def percentile_ms(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile of `values` (NaN for none)."""
    import numpy as np

    return float(np.percentile(values, q)) if values else float("nan")


@dataclasses.dataclass
class StepResult:
    react_s: float | None
    box_before_cores: float
    box_after_cores: float


# -- the bench -----------------------------------------------------------------------------


def agent_command() -> list[str]:
    """How to start the colo CLI: `python -m colo` when the package has a __main__, else
    the `colo` script installed beside this interpreter (pyproject's [project.scripts])."""
    if importlib.util.find_spec("colo.__main__") is not None:
        return [sys.executable, "-m", "colo"]
    script = Path(sys.executable).parent / "colo"
    if script.exists():
        return [str(script)]
    found = shutil.which("colo")
    if found is None:
        raise PhaseFailed("the colo CLI is not installed (make venv)")
    return [found]


def check_agent() -> None:
    """Fail clearly, before anything runs, when `colo agent protect` does not exist yet."""
    argv = [*agent_command(), "agent", "protect", "--help"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PhaseFailed(
            f"`colo agent protect` is not available ({' '.join(argv)} exited "
            f"{done.returncode}: {said[0]}); the colo and step phases need it — "
            "run --phases alone,unprotected until it exists"
        )


class Bench:
    """Runs the phases in a made layout; `stop_all` ends every process it started."""

    def __init__(
        self,
        layout: KubeletLayout,
        *,
        rate: float,
        warmup_s: float,
        duration_s: float,
        settle_s: float,
        timeout_s: float,
        log: IO[str],
        online_tier: str = "LSE",
        target_util: float = 0.9,
        workers: int = 1,
        box_period: str = "",
        agent_log: Path | None = None,
        client_cpu: int | None = None,
    ) -> None:
        """`agent_log`: colo-agent's output of every phase it ran in is appended there;
        `client_cpu`: the load generator runs real-time there (None: free)."""
        self.client_cpu = client_cpu
        self.layout = layout
        #: the machine's busy time as colo-agent reads it (the root cgroup + irq and steal)
        self.busy_ns = node_busy_reader(LinuxCgroups(layout.cgroup_root))
        self.agent_log = agent_log
        self.workers = workers
        self.online_tier = online_tier
        self.target_util = target_util
        self.box_period = box_period
        self.rate, self.warmup_s, self.duration_s = rate, warmup_s, duration_s
        self.settle_s, self.timeout_s = settle_s, timeout_s
        self.log = log
        self.procs: list[subprocess.Popen[bytes]] = []
        self.port = 0
        self.ports: list[int] = []
        self.iterations = 0
        self.work_ms = 0.0
        # more workers than the pod's request: a Burstable pod allowed to burst to them
        self.online = (
            ONLINE
            if workers == 1
            else dataclasses.replace(ONLINE, qos="Burstable", cpu_limit_milli=1000 * workers)
        )
        self.online_container = PurePosixPath()

    def say(self, text: str) -> None:
        print(text, file=self.log, flush=True)

    # processes

    def spawn(self, argv: list[str], cgroup: PurePosixPath, **kw: Any) -> subprocess.Popen[bytes]:
        """Start `argv` in a session of its own, move it into `cgroup`, then let it go
        (it waits for a line on stdin first)."""
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, start_new_session=True, **kw)
        self.procs.append(proc)
        self.layout.enter(cgroup, proc.pid)
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        return proc

    def spawn_child(self, cgroup: PurePosixPath, *args: object) -> subprocess.Popen[bytes]:
        argv = [sys.executable, __file__, "_child", *map(str, args)]
        return self.spawn(argv, cgroup, stdout=subprocess.PIPE)

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
        """Signal its process group, wait 10 s, then SIGKILL it. Returns its exit code."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for f in (proc.stdin, proc.stdout):
            if f is not None:
                f.close()
        if proc in self.procs:
            self.procs.remove(proc)
        return proc.returncode

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc, signal.SIGKILL)
        for _ in range(50):  # anything else left in the tree is ours too (stress-ng's workers)
            pids = self.layout.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)

    def start_server(self, work_ms: float) -> None:
        self.online_container = self.layout.add_pod(self.online)
        self.layout.make(LOADGEN, cpu_shares=LOADGEN_SHARES)
        if self.client_cpu is not None:
            # without RT group scheduling any task may run real-time: nothing to allow
            with contextlib.suppress(LayoutUnavailable):
                self.layout.allow_realtime(LOADGEN, LOADGEN_RT_RUNTIME_US)
            self.say(f"load generator: real-time, on cpu {self.client_cpu}")
        server = self.spawn_child(self.online_container, "server", work_ms)
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line:
            raise PhaseFailed(f"the online server exited ({server.wait()}) before listening")
        started = json.loads(line)
        self.port, self.iterations, self.work_ms = (
            started["port"], started["iterations"], started["work_ms"],
        )  # fmt: skip
        self.ports = [self.port]
        for _ in range(1, self.workers):
            more = self.spawn_child(self.online_container, "server", work_ms, self.iterations)
            assert more.stdout is not None
            line = more.stdout.readline()
            if not line:
                raise PhaseFailed(f"an online server worker exited ({more.wait()})")
            self.ports.append(json.loads(line)["port"])
        self.say(
            f"online server on 127.0.0.1:{','.join(map(str, self.ports))} "
            f"({self.workers} process(es)): "
            f"{self.iterations:,} iterations = {self.work_ms:.2f} ms of work per request "
            "(idle machine)"
        )

    @contextlib.contextmanager
    def offline(self, *, colo: bool) -> Iterator[None]:
        """stress-ng in a fresh pod for the block's duration: as offline work runs without
        colo (Burstable, requesting the cpu the online pod leaves, no limit), or as colo's
        webhook makes it (BestEffort on colo.io/batch-*, in the box)."""
        pod = (
            Pod(OFFLINE_UID, "BestEffort")
            if colo
            else Pod(OFFLINE_UID, "Burstable", cpu_request_milli=OFFLINE_REQUEST_MILLI)
        )
        container = self.layout.add_pod(pod)
        argv = ["sh", "-c", 'read _; exec "$@"', "sh", "stress-ng", "--cpu",
                str(self.layout.node_cpus), "--cpu-method", "matrixprod", "--quiet"]  # fmt: skip
        with tempfile.TemporaryFile() as err:
            proc = self.spawn(argv, container, stdout=subprocess.DEVNULL, stderr=err)
            try:
                yield
            finally:
                self.stop(proc)
                for pid in self.layout.pids(pod.cgroup):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.layout.remove(pod.cgroup)
            if proc.returncode not in (0, -signal.SIGTERM):
                err.seek(0)
                said = err.read().decode(errors="replace").strip()
                raise PhaseFailed(f"stress-ng exited {proc.returncode} during the phase: {said}")

    @contextlib.contextmanager
    def agent(self) -> Iterator[subprocess.Popen[bytes]]:
        """colo-agent's protection for the tree, stopped with SIGTERM at the block's end."""
        argv = self.agent_argv()
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                    start_new_session=True)  # fmt: skip
            self.procs.append(proc)
            try:
                yield proc
                if proc.poll() is not None:
                    raise PhaseFailed(f"colo-agent exited {proc.returncode} during the phase")
            except PhaseFailed as e:
                err.seek(0)
                tail = err.read().decode(errors="replace").strip().splitlines()[-15:]
                raise PhaseFailed(f"{e}; it said:\n  " + "\n  ".join(tail)) from None
            finally:
                running = proc.poll() is None
                code = self.stop(proc)
                if running and code not in (0, -signal.SIGTERM):
                    self.say(f"colo-agent exited {code} after SIGTERM")
                if self.agent_log is not None:
                    err.seek(0)
                    with self.agent_log.open("ab") as out:
                        out.write(f"--- colo-agent, exit {code}\n".encode())
                        shutil.copyfileobj(err, out)

    def agent_argv(self) -> list[str]:
        """`colo agent protect` of this tree."""
        return [*agent_command(), "agent", "protect", "--cgroup-root", str(self.layout.cgroup_root),
                "--kubelet-cgroup-root", self.layout.kubelet_root,
                "--interval", str(AGENT_INTERVAL_S), *self.agent_flags()]  # fmt: skip

    def agent_flags(self) -> list[str]:
        """`--pod` for the online pod's tier under colo (what its colo.io/qos label says on
        a real node; the cgroup tree cannot tell), and the box's `--target-util`."""
        tier = [f"--pod={ONLINE.uid}={self.online_tier}:1"] if self.online_tier else []
        period = [f"--box-period={self.box_period}"] if self.box_period else []
        verbose = ["--verbose"] if self.agent_log is not None else []  # every round logged
        return [*tier, f"--target-util={self.target_util}", *period, *verbose]

    def loadgen(self, duration_s: float) -> subprocess.Popen[bytes]:
        return self.spawn_child(
            LOADGEN,
            "loadgen",
            ",".join(map(str, self.ports)),
            self.rate,
            self.warmup_s,
            duration_s,
            self.timeout_s,
            -1 if self.client_cpu is None else self.client_cpu,
        )

    def results(self, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
        out, _ = proc.communicate(timeout=self.timeout_s + 60)
        self.procs.remove(proc)
        if proc.returncode != 0 or not out:
            raise PhaseFailed(f"the load generator exited {proc.returncode}")
        result: dict[str, Any] = json.loads(out)
        return result

    def wait_until(self, deadline: float, agent: subprocess.Popen[bytes] | None) -> None:
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.5))
            if agent is not None and agent.poll() is not None:
                raise PhaseFailed(f"colo-agent exited {agent.returncode} during the phase")

    # phases

    def settle(self) -> None:
        """Wait (up to 60 s) until the online pod is idle: an overloaded phase leaves the
        servers requests the client gave up on, which must not spill into the next."""
        deadline = time.monotonic() + 60
        before = self.layout.cpu_usage_ns(self.online.cgroup)
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.layout.cpu_usage_ns(self.online.cgroup)
            if now - before < 0.05 * 0.5e9:  # under 50 millicores
                return
            before = now
        self.say("the online pod did not go idle within 60 s; measuring anyway")

    def measure(self, name: str) -> PhaseResult:
        self.settle()
        self.layout.reset()
        self.say(f"phase {name}: {self.warmup_s:g} s warm-up + {self.duration_s:g} s")
        with contextlib.ExitStack() as stack:
            if name != "alone":
                stack.enter_context(self.offline(colo=name == "colo"))
            agent = stack.enter_context(self.agent()) if name == "colo" else None
            qos: KubernetesQoSClass = "BestEffort" if name == "colo" else "Burstable"
            cgroups = {
                "online": self.online.cgroup, "loadgen": LOADGEN,
                "kubepods": PurePosixPath("kubepods"),
            }  # fmt: skip
            if name != "alone":
                cgroups["offline"] = Pod(OFFLINE_UID, qos).cgroup
            load = self.loadgen(self.duration_s)
            start = time.monotonic() + self.warmup_s
            self.wait_until(start, agent)
            a = Snapshot.take(self.layout, cgroups, self.busy_ns)
            self.wait_until(start + self.duration_s, agent)
            b = Snapshot.take(self.layout, cgroups, self.busy_ns)
            out = self.results(load)
        return PhaseResult.of(name, out, a, b)

    def step(self) -> StepResult:
        self.layout.reset()
        # the step must come where the box runs to ask anything of it: a pinned pod's
        # cpus are not the box's (and its own limit would cap the burner)
        pinned = self.online_tier in PINNED_TIERS
        self.say(
            f"phase step: {self.warmup_s + self.settle_s:g} s under colo, then a "
            f"{BURN_CORES:g}-core burner in "
            f"{'a second online pod in the shared pool' if pinned else 'the online pod'}; "
            f"up to {self.duration_s:g} s"
        )
        with self.offline(colo=True), self.agent() as agent:
            load = self.loadgen(self.settle_s + self.duration_s + 2)
            baseline_from = time.monotonic() + self.warmup_s + self.settle_s - 1.0
            self.wait_until(baseline_from, agent)
            before = float("inf")
            while time.monotonic() < baseline_from + 1.0:
                before = min(before, self.layout.cpu_limit_cores(BOX))
                time.sleep(POLL_S)
            where = self.layout.add_pod(STEP_POD) if pinned else self.online_container
            burner = self.spawn_child(where, "burn", BURN_CORES)
            stepped = time.monotonic()
            react_s, after = None, before
            while time.monotonic() < stepped + self.duration_s:
                after = self.layout.cpu_limit_cores(BOX)
                # a box still unlimited before the step has no level to fall from
                if math.isfinite(before) and after < before - REACT_DROP_CORES:
                    react_s = time.monotonic() - stepped
                    break
                if agent.poll() is not None:
                    raise PhaseFailed(f"colo-agent exited {agent.returncode} during the phase")
                time.sleep(POLL_S)
            self.stop(burner)
            self.stop(load)
            if pinned:
                self.layout.remove(STEP_POD.cgroup)
        if react_s is None and not math.isfinite(before):
            self.say("the box had no cpu limit in the second before the step: no reaction to time")
        elif react_s is None:
            self.say(f"the box's cpu limit did not drop within {self.duration_s:g} s")
        return StepResult(react_s, before, after)


# -- figures -------------------------------------------------------------------------------


def pooled_p99_ms(runs: list[PhaseResult]) -> float:
    return percentile([x for r in runs for x in r.latencies_ms], 99)


def figures(rounds: dict[str, list[PhaseResult]], step: StepResult | None) -> dict[str, float]:
    """Medians over the rounds: each phase's p50 and p99, the offline share of the alone
    phase's idle cpu, and inflation as the median of each round's p99 ratio to its own
    alone phase (a round disturbed by something else on the machine moves a median
    little). Also each phase's p99 over all its rounds' requests together
    (`p99_<phase>_pooled_ms`, `inflation_<phase>_pooled`): a round's p99 is its 25th
    slowest request of 2,500, and on this machine the alone phase's p99 moved by up to
    a quarter between rounds of one run (3.31-4.45 ms, 2026-12-07), so a ratio of two of
    them resolves less than the 5 % asked; the pooled p99 of five rounds stands on five
    times the requests."""
    f: dict[str, float] = {}
    for name, runs in rounds.items():
        f[f"p50_{name}_ms"] = statistics.median(r.percentile_ms(50) for r in runs)
        f[f"p99_{name}_ms"] = statistics.median(r.percentile_ms(99) for r in runs)
        f[f"p99_{name}_pooled_ms"] = pooled_p99_ms(runs)
        f[f"runqueue_wait_ms_per_s_{name}"] = statistics.median(
            r.runqueue_wait_ms_per_s for r in runs
        )
    alone = rounds.get("alone")
    idle = statistics.median(r.idle_millicores for r in alone) if alone else 0.0
    for name in ("unprotected", "colo"):
        if alone and name in rounds:
            # paired: each round's p99 over the same round's alone p99 (the machine drifts
            # over minutes; a round's phases are seconds apart), the median of the ratios
            ratios = [
                b.percentile_ms(99) / a.percentile_ms(99)
                for a, b in zip(alone, rounds[name], strict=False)
            ]
            f[f"inflation_{name}"] = statistics.median(ratios) - 1
            f[f"inflation_{name}_pooled"] = pooled_p99_ms(rounds[name]) / pooled_p99_ms(alone) - 1
        if alone and idle > 0 and name in rounds:
            used = statistics.median(r.millicores["offline"] for r in rounds[name])
            f[f"offline_share_of_idle_{name}"] = used / idle
    if step is not None and step.react_s is not None:
        f["react_s"] = step.react_s
    if step is not None:  # an unlimited box (inf) has no figure
        for key, cores in (("before", step.box_before_cores), ("after", step.box_after_cores)):
            if math.isfinite(cores):
                f[f"box_millicores_{key}_step"] = 1000 * cores
    if alone:
        f["idle_alone_millicores"] = idle
    for name, runs in rounds.items():
        f[f"requests_{name}"] = sum(len(r.latencies_ms) for r in runs)
        f[f"errors_{name}"] = sum(r.errors for r in runs)
    f["rounds"] = max((len(runs) for runs in rounds.values()), default=0)
    return f


def print_phases(rounds: dict[str, list[PhaseResult]]) -> None:
    """A row per phase and round; cpu in millicores over the measured window."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="per phase and round")
    columns: list[tuple[str, Callable[[PhaseResult], str]]] = [
        ("requests", lambda r: str(len(r.latencies_ms))),
        ("errors", lambda r: str(r.errors)),
        *((f"p{q:g} ms", lambda r, q=q: f"{r.percentile_ms(q):.2f}") for q in (50, 99, 99.9)),
        ("max ms", lambda r: f"{r.percentile_ms(100):.1f}"),
        ("lag p99 ms", lambda r: f"{r.lag_p99_ms:.2f}"),
        ("online m", lambda r: f"{r.millicores['online']:.0f}"),
        ("online waits ms/s", lambda r: f"{r.runqueue_wait_ms_per_s:.0f}"),
        ("offline m", lambda r: f"{r.millicores.get('offline', 0.0):.0f}"),
        ("client m", lambda r: f"{r.millicores['loadgen']:.0f}"),
        ("idle m", lambda r: f"{r.idle_millicores:.0f}"),
    ]
    table.add_column("phase")
    for label, _ in columns:
        table.add_column(label, justify="right")
    table.add_column("p99 / alone's", justify="right")
    for k, runs in enumerate(zip(*rounds.values(), strict=False)):
        alone = next((r for r in runs if r.name == "alone"), None)
        for r in runs:
            ratio = (
                f"{r.percentile_ms(99) / alone.percentile_ms(99):.3f}"
                if alone is not None and r is not alone
                else ""
            )
            table.add_row(f"{r.name} {k + 1}", *(cell(r) for _, cell in columns), ratio)
    # piped to a file, rich would squeeze the 13 columns into 80 and cut every number
    Console(width=None if sys.stdout.isatty() else 160).print(table)


def main() -> int:
    if sys.argv[1:2] == ["_child"]:
        child(sys.argv[2:])
        return 0
    p = parser(__doc__ or "")
    p.add_argument(
        "--duration", type=float, default=None, help="measured seconds per phase and round (10)"
    )
    p.add_argument("--warmup", type=float, default=None, help="warm-up seconds per phase (3)")
    p.add_argument("--rate", type=float, default=250.0, help="requests per second (250)")
    p.add_argument("--work-ms", type=float, default=2.0, help="server cpu per request (2 ms)")
    p.add_argument("--timeout-ms", type=float, default=1000.0, help="request timeout (1000)")
    p.add_argument("--phases", default=",".join(PHASES), help=f"subset of {','.join(PHASES)}")
    p.add_argument("--quick", action="store_true", help="5 s phases, 1 s warm-up: a smoke run")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (1: a Guaranteed 1-cpu pod; N > 1: a Burstable pod "
        "requesting 1 cpu, limited to N, that bursts past its request) (1)",
    )
    p.add_argument(
        "--target-util",
        type=float,
        default=0.9,
        help="colo agent protect --target-util: the box gets the node's cpu up to this (0.9)",
    )
    p.add_argument(
        "--box-period",
        default="",
        help="colo agent protect --box-period: the CFS period of the box's quota "
        "(default: colo's own, 10ms)",
    )
    p.add_argument(
        "--agent-log",
        type=Path,
        default=None,
        help="append colo-agent's log of every colo and step phase, every round of it "
        "(--verbose), to this file: the box it sized and the guard's transitions",
    )
    p.add_argument(
        "--online-tier",
        choices=("LSE", "LSR", "LS", "none"),
        default="LSE",
        help="the online pod's colo.io/qos tier under colo (colo agent protect --pod; "
        "none: by its QoS class; LSE needs --workers 1) (LSE)",
    )
    p.add_argument(
        "--client",
        choices=("auto", "realtime", "free"),
        default="auto",
        help="the load generator: a real-time task on the last cpu, or free at the kernel's "
        "largest weight (auto: real-time with an LSE or LSR online pod, else free)",
    )
    args = p.parse_args()
    phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    unknown = sorted(set(phases) - set(PHASES))
    if unknown or not phases:
        p.error(f"--phases: unknown {unknown}; choose from {','.join(PHASES)}")
    phases = [x for x in PHASES if x in phases]
    if args.workers < 1:
        p.error(f"--workers: expected 1 or more server processes, got {args.workers}")
    if args.workers > 1 and args.online_tier == "LSE":
        p.error(
            f"--workers {args.workers} makes a Burstable pod, and --online-tier LSE (the "
            "default) is for a Guaranteed one: give --online-tier LS (or none, LSR) with "
            "it, e.g. --workers 2 --online-tier LS --rate 550 for the bursting service"
        )
    duration = args.duration if args.duration is not None else (5.0 if args.quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    settle = 2.0 if args.quick else SETTLE_S

    try:
        layout = KubeletLayout(f"colo-bench-{os.getpid()}")
    except LayoutUnavailable as e:
        print(f"interference: {e}", file=sys.stderr)
        return 2
    if set(phases) - {"alone"} and shutil.which("stress-ng") is None:
        print("interference: stress-ng is not installed (make stress-ng)", file=sys.stderr)
        return 2
    try:
        if {"colo", "step"} & set(phases):
            check_agent()
    except PhaseFailed as e:
        print(f"interference: {e}", file=sys.stderr)
        return 1

    # SIGINT (even when started in the background, where it is ignored) and SIGTERM
    # unwind, so the tree is cleaned up
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    realtime = args.client == "realtime" or (
        args.client == "auto" and args.online_tier in PINNED_TIERS
    )
    client_cpu = layout.node_cpus - 1 if realtime else None
    rounds: dict[str, list[PhaseResult]] = {x: [] for x in phases if x != "step"}
    step: StepResult | None = None
    repeats = 1 if args.quick else max(1, args.repeats)
    with layout:
        bench = Bench(
            layout, rate=args.rate, warmup_s=warmup, duration_s=duration, settle_s=settle,
            timeout_s=args.timeout_ms / 1000, log=sys.stderr,
            online_tier="" if args.online_tier == "none" else args.online_tier,
            target_util=args.target_util, workers=args.workers, box_period=args.box_period,
            agent_log=args.agent_log, client_cpu=client_cpu,
        )  # fmt: skip
        try:
            bench.start_server(args.work_ms)
            for _ in range(repeats):  # the phases in turn, so a disturbance hits one round
                for name in rounds:
                    rounds[name].append(bench.measure(name))
            if "step" in phases:
                step = bench.step()
        except PhaseFailed as e:
            print(f"interference: {e}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interference: interrupted; removing the tree", file=sys.stderr)
            return 130
        finally:
            bench.stop_all()
    if not args.json and rounds:
        print_phases(rounds)
    emit(
        f"online latency next to offline work ({args.rate:g} req/s, "
        f"{bench.work_ms:.2f} ms each, {duration:g} s phases)",
        figures(rounds, step),
        as_json=args.json,
        notes=f"{node_cpus()} cpus; goal: inflation_colo small, offline_share_of_idle_colo high",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
