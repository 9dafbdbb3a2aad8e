"""Benchmark: colo under faults — a 00:00-style wave while one piece of the system breaks.

One dev cluster runs the whole live system (`colo dev cluster up --with-colo`, with
kube-scheduler as every real cluster has) plus a standby colo-batch and a standby
colo-cron, as the chart runs two of each. Then, one scenario at a time, at the next whole
minute T (a fresh namespace each):

- `--cronjobs` CronJobs, made ahead, fire once at T (one pod each, running 5 s);
- at T, `--pods` offline pods (`colo.io/qos: BE`, which colo-webhook converts) are made
  at once, then one more every `--every` seconds until T + `--trickle` s;
- at a moment drawn from `--seed` in [T − 1 s, T + 4 s] the scenario's fault strikes:

| scenario          | fault                                                              |
|-------------------|--------------------------------------------------------------------|
| batch-leader      | `kill -9` of the colo-batch holding the Lease; restarted 2 s later |
| coordinator       | `kill -9` of colo-coordinator; restarted 2 s later                 |
| cron-leader       | `kill -9` of the colo-cron holding the Lease; restarted 2 s later  |
| apiserver-restart | kube-apiserver stopped (SIGTERM) and started again                 |
| etcd-pause        | etcd stopped (SIGSTOP) for 10 s                                    |
| webhook-down      | `kill -9` of colo-webhook; restarted 10 s later                   |
| node-loss         | one standard node deleted, another turned NotReady                 |
| agent-kill        | `kill -9` of colo-agent on real cgroups while online load steps up |

The independent checker (`_audit.py`, reading only the API server) then counts, per
scenario: pods lost, pods bound twice, node over-commit instants, bindings onto a gone
node, CronJob runs missed or doubled, and `recover_s` (the fault's end → the first
binding of a pod made after it began). The goal is zero of every loss, and `recover_s`
≤ 10.

`agent-kill` needs no cluster: it runs after the others (the cluster down, so its
latencies are not the cluster's noise) on this machine's real cgroup tree, with
bench/interference.py's online pod and stress-ng (root and `make stress-ng`); its own
checker reads the cgroup tree (`_agent_away.py` says what it measures), `--agent-repeats`
times (5). Its figures are `agent_kill_*`: p99 latency alone / with the agent / away /
back / under the box's static limits (medians over the repeats), `inflation_away`,
`inflation_back` and `inflation_static`, `changed_while_away` and `resets` (losses),
`repair_s` (its recovery, the slowest), `repairs` and `adopted` (repeats that did).

Figures (`--json`): `<scenario>_<figure>` for each, plus `losses_total` and
`recover_s_max`. Exit 1 when any loss was counted. A scenario takes about a minute (the
CronJobs fire on whole minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _agent_away import AWAY_S, AgentAway, LayoutUnavailable, PhaseFailed, agent_away, unavailable
from _audit import Audit, Recorder, audit
from _cluster import clear
from _common import parser
from colo.core.errors import Conflict, Retryable
from colo.cron.naming import go_rfc3339
from colo.devcluster import ClusterOptions, ClusterState, DevCluster
from colo.devcluster import withcolo as colo
from colo.devcluster.binaries import APISERVER, ETCD
from colo.devcluster.components import http_probe
from colo.devcluster.kwokconfig import JOB_POD_RUN_DURATION_ANNOTATION
from colo.devcluster.nodes import make_not_ready
from colo.devcluster.processes import Probe, free_ports, is_running
from colo.kube.transport import Transport

SCENARIOS = (
    "batch-leader", "coordinator", "cron-leader", "apiserver-restart", "etcd-pause",
    "webhook-down", "agent-kill", "node-loss",
)  # fmt: skip
#: the one scenario that needs no cluster
AGENT_KILL = "agent-kill"
#: Figures of each scenario, in the table's order.
FIGURES = (
    "pods", "lost", "bound_twice", "overcommit", "bound_to_gone_nodes", "cron_missed",
    "cron_doubled", "fault_s", "stall_s", "recover_s",
)  # fmt: skip
STANDBY = "-standby"
TOLERATIONS = [
    {"key": "kwok.x-k8s.io/node", "operator": "Exists"},
    {"key": "virtual-kubelet.io/provider", "operator": "Exists"},
]
#: How long the system has after the trickle ends for every pod to be bound.
SETTLE_S = 30.0


def offline_pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"colo.io/qos": "BE", "app": "faults"}},
        "spec": {
            "tolerations": TOLERATIONS[:1],
            "containers": [{"name": "work", "image": "busybox",
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}],
        },
    }  # fmt: skip


def cronjob(name: str, minute_s: float) -> dict[str, Any]:
    at = datetime.fromtimestamp(minute_s, UTC)
    return {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
        "spec": {
            "schedule": f"{at.minute} {at.hour} {at.day} {at.month} *",
            "jobTemplate": {"spec": {"template": {
                "metadata": {"annotations": {JOB_POD_RUN_DURATION_ANNOTATION: "5s"}},
                "spec": {
                    "restartPolicy": "Never", "tolerations": TOLERATIONS,
                    "containers": [{"name": "c", "image": "busybox",
                                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}],
                },
            }}},
        },
    }  # fmt: skip


@dataclass
class Live:
    """The system under test: the dev cluster, its state, and readiness of the standbys."""

    cluster: DevCluster
    state: ClusterState
    probes: dict[str, Probe]
    quiet: bool

    def say(self, msg: str) -> None:
        if not self.quiet:
            print(f"  faults: {msg}", file=sys.stderr, flush=True)

    def restart(self, name: str) -> None:
        took = self.cluster.restart(name, probe=self.probes.get(name))
        self.say(f"{name} ready again in {took:.1f} s")

    def leader(self, lease: str) -> str:
        """The process holding Lease colo-system/`lease` (identity `<host>_<pid>`)."""
        client = self.state.client()
        try:
            got = client.get(f"/apis/coordination.k8s.io/v1/namespaces/{colo.NAMESPACE}"
                             f"/leases/{lease}")  # fmt: skip
        finally:
            client.close()
        pid = int(str(got["spec"]["holderIdentity"]).rsplit("_", 1)[1])
        state = self.cluster.state()
        assert state is not None
        for record in state.processes:
            if record.pid == pid:
                return record.name
        raise RuntimeError(f"Lease {lease} is held by pid {pid}, which is none of the cluster's")


class Supervisor:
    """The kubelet's part for colo's processes (`restartPolicy: Always`): a colo process
    that exits — killed by a scenario, or on its own, as colo-batch and colo-cron do when
    they cannot renew their Lease — is started again: at once the first time, then after
    10 s, doubling up to 5 min (CrashLoopBackOff); a process that stays up 60 s is
    forgiven. `hold` keeps one down (webhook-down) until `release`. Counts restarts."""

    def __init__(self, live: Live) -> None:
        self.live = live
        self.restarts: Counter[str] = Counter()
        self.failures: list[str] = []
        self._held: set[str] = set()
        self._busy: set[str] = set()
        self._backoff: dict[str, float] = {}
        self._not_before: dict[str, float] = {}
        self._up_since: dict[str, float] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def hold(self, name: str) -> None:
        self._held.add(name)

    def release(self, name: str) -> None:
        self._held.discard(name)

    def _run(self) -> None:
        while not self._stopping.wait(0.1):
            state = self.live.cluster.state()
            if state is None:
                continue
            now = time.monotonic()
            for record in state.processes:
                name = record.name
                if not name.startswith("colo-") or name in self._busy:
                    continue
                if is_running(record):
                    if now - self._up_since.setdefault(name, now) > 60:
                        self._backoff.pop(name, None)
                    continue
                self._up_since.pop(name, None)
                if name in self._held or now < self._not_before.get(name, 0.0):
                    continue
                delay = self._backoff.get(name)
                self._backoff[name] = 10.0 if delay is None else min(300.0, 2 * delay)
                self._not_before[name] = now + (delay or 0.0)
                self._busy.add(name)
                threading.Thread(target=self._restart, args=(name,), daemon=True).start()

    def _restart(self, name: str) -> None:
        try:
            self.live.restart(name)
            self.restarts[name] += 1
        except Exception as exc:  # the next round tries again, after the backoff
            self.failures.append(f"{name}: {exc}")
        finally:
            self._busy.discard(name)


def add_standbys(live: Live) -> None:
    """A second colo-batch and colo-cron: the same command line, another metrics port."""
    state = live.cluster.state()
    assert state is not None
    records = {r.name: r for r in state.processes}
    for name in (colo.BATCH, colo.CRON):
        (port,) = free_ports(1)
        argv = list(records[name].argv)
        argv[argv.index("--metrics-listen") + 1] = f"127.0.0.1:{port}"
        probe = http_probe("/healthz", port, tls=False)
        live.probes[name + STANDBY] = probe
        took = live.cluster.add(name + STANDBY, argv, probe)
        live.say(f"{name}{STANDBY} ready in {took:.1f} s")


def inject(live: Live, supervisor: Supervisor, scenario: str) -> str:
    """Strike; return what was done, for the table's notes. Blocks until the fault ends.
    A killed colo process is started again by the `supervisor`, as the kubelet would."""
    c = live.cluster
    if scenario in ("batch-leader", "cron-leader"):
        name = live.leader(colo.SCHEDULER_NAME if scenario == "batch-leader" else "colo-cron")
        c.kill(name)
        return f"killed {name}"
    if scenario == "coordinator":
        c.kill(colo.COORDINATOR)
        return f"killed {colo.COORDINATOR}"
    if scenario == "webhook-down":
        supervisor.hold(colo.WEBHOOK)
        try:
            c.kill(colo.WEBHOOK)
            time.sleep(10)
        finally:
            supervisor.release(colo.WEBHOOK)
        return f"killed {colo.WEBHOOK}, kept down 10 s"
    if scenario == "apiserver-restart":
        c.kill(APISERVER, signal.SIGTERM)
        live.restart(APISERVER)
        return "restarted kube-apiserver"
    if scenario == "etcd-pause":
        c.pause(ETCD)
        time.sleep(10)
        c.resume(ETCD)
        return "paused etcd 10 s"
    if scenario == "node-loss":
        client = live.state.client()
        try:
            client.request("DELETE", "/api/v1/nodes/node-0001")
            make_not_ready(client, "node-0002", reason="ColoFaults")
        finally:
            client.close()
        return "deleted node-0001, node-0002 NotReady"
    raise ValueError(f"unknown scenario {scenario!r}")


class Wave:
    """Makes the scenario's pods; every create is retried until the API server takes it
    (an AlreadyExists after a retry is a success), so none is lost on the bench's side."""

    def __init__(self, t: Transport, ns: str) -> None:
        self.t, self.ns = t, ns
        self.created = 0
        self.retries = 0

    async def create(self, path: str, body: dict[str, Any]) -> None:
        while True:
            try:
                await self.t.post(path, body)
                break
            except Conflict:
                break
            except Retryable:
                self.retries += 1
                await asyncio.sleep(0.5)
        self.created += 1

    async def run(self, at: float, pods: int, every_s: float, until: float) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))
        path = f"/api/v1/namespaces/{self.ns}/pods"
        sem = asyncio.Semaphore(32)

        async def one(i: int) -> None:
            async with sem:
                await self.create(path, offline_pod(f"w{i:05d}"))

        burst = [asyncio.ensure_future(one(i)) for i in range(pods)]
        tasks, i = list(burst), pods
        while time.time() < until:
            await asyncio.sleep(every_s)
            tasks.append(asyncio.ensure_future(self.create(path, offline_pod(f"w{i:05d}"))))
            i += 1
        await asyncio.gather(*tasks)


async def settled(t: Transport, ns: str, cronjobs: int, deadline: float) -> bool:
    """Until every pod of `ns` is bound and each CronJob has its pod, or `deadline`."""
    while time.time() < deadline:
        with contextlib.suppress(Retryable):
            items = (await t.get(f"/api/v1/namespaces/{ns}/pods"))["items"]
            cron = [p for p in items if not p["metadata"]["name"].startswith("w")]
            if len(cron) >= cronjobs and all(p["spec"].get("nodeName") for p in items):
                return True
        await asyncio.sleep(0.5)
    return False


def next_minute(after: float) -> float:
    return (int(after) // 60 + 1) * 60.0


async def scenario_run(
    live: Live, recorder: Recorder, supervisor: Supervisor, scenario: str, *, index: int,
    seed: int, pods: int, cronjobs: int, every_s: float, trickle_s: float,
) -> tuple[Audit, str, float]:  # fmt: skip
    rng = random.Random(f"{seed}/{scenario}")
    state = live.state
    t = Transport(state.server, token=state.token, ca_file=state.ca_file, qps=500, burst=1000)
    try:
        ns = f"faults-{index}-{scenario}"
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        await t.post("/api/v1/namespaces", namespace)
        at = next_minute(time.time() + 15)
        names = [f"cron-{i:03d}" for i in range(cronjobs)]
        jobs = Wave(t, ns)
        await asyncio.gather(*(
            jobs.create(f"/apis/batch/v1/namespaces/{ns}/cronjobs", cronjob(n, at)) for n in names
        ))  # fmt: skip
        fault_at = at + rng.uniform(-1.0, 4.0)
        live.say(f"{scenario}: wave at {datetime.fromtimestamp(at, UTC):%H:%M:%S}, "
                 f"fault at T{fault_at - at:+.2f} s")  # fmt: skip
        done = threading.Event()
        what: list[str] = []

        ended: list[float] = []

        def strike() -> None:
            time.sleep(max(0.0, fault_at - time.time()))
            try:
                what.append(inject(live, supervisor, scenario))
            finally:
                ended.append(time.time())
                done.set()

        striker = threading.Thread(target=strike, name=f"fault-{scenario}")
        striker.start()
        wave = Wave(t, ns)
        await wave.run(at, pods, every_s, at + trickle_s)
        while not done.is_set():
            await asyncio.sleep(0.2)
        striker.join()
        ok = await settled(t, ns, cronjobs, time.time() + SETTLE_S)
        time.sleep(1.0)  # the checker's watches catch up
        found = audit(
            recorder.events(), namespace=ns, since=at - 5, fault_at=fault_at, fault_ended=ended[0],
            cron_runs={n: [go_rfc3339(datetime.fromtimestamp(at, UTC), UTC)] for n in names},
        )  # fmt: skip
        note = f"{what[0] if what else 'no fault'}; wave retried {wave.retries} creates"
        if not ok:
            note += "; not settled in time"
        await clear(t, ns)
        return found, note, ended[0] - fault_at
    finally:
        await t.close()


@contextlib.contextmanager
def live_system(nodes: int, *, quiet: bool, keep_logs: Path | None = None) -> Iterator[Live]:
    def progress(msg: str) -> None:
        if not quiet:
            print(f"  cluster: {msg}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="colo-faults-") as tmp:
        cluster = DevCluster(Path(tmp), progress=progress)
        state = cluster.up(ClusterOptions(nodes=nodes, virtual_nodes=1, with_scheduler=True,
                                          with_colo=True))  # fmt: skip
        try:
            live = Live(cluster, state, {}, quiet)
            add_standbys(live)
            yield live
        finally:
            cluster.down()
            logs = Path(tmp) / "logs"
            if keep_logs is not None:
                shutil.copytree(logs, keep_logs, dirs_exist_ok=True)
            tracebacks = [p.name for p in logs.glob("colo-*.log") if "Traceback" in p.read_text()]
            if tracebacks and not quiet:
                print(f"  faults: tracebacks in {', '.join(tracebacks)}", file=sys.stderr)


def run(
    scenarios: tuple[str, ...] = SCENARIOS, *, seed: int = 0, nodes: int = 4, pods: int = 200,
    cronjobs: int = 50, every_s: float = 0.2, trickle_s: float = 15.0, quiet: bool = True,
    keep_logs: Path | None = None, on_scenario: Callable[[str, Audit], None] | None = None,
    agent_repeats: int = 1,
) -> dict[str, Any]:  # fmt: skip
    """Every scenario; figures by `<scenario>_<figure>`, the cluster scenarios' audits
    under `audits` and agent-kill's result under `agent` (neither a figure).

    Raises `Unavailable` before anything runs when agent-kill is asked for and cannot
    run on this machine."""
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario {unknown[0]!r}; known: {', '.join(SCENARIOS)}")
    if AGENT_KILL in scenarios and (why := unavailable()) is not None:
        raise Unavailable(f"scenario {AGENT_KILL}: {why}")
    figures: dict[str, Any] = {}
    audits: dict[str, tuple[Audit, str]] = {}
    faults_s: dict[str, float] = {}
    on_cluster = [s for s in SCENARIOS if s in scenarios and s != AGENT_KILL]
    if on_cluster:
        with live_system(nodes, quiet=quiet, keep_logs=keep_logs) as live:
            recorder = Recorder(
                live.state.server, token=live.state.token, ca_file=live.state.ca_file
            )
            recorder.start()
            supervisor = Supervisor(live)
            supervisor.start()
            try:
                for index, scenario in enumerate(on_cluster):
                    before = Counter(supervisor.restarts)
                    found, note, faults_s[scenario] = asyncio.run(scenario_run(
                        live, recorder, supervisor, scenario, index=index, seed=seed,
                        pods=pods, cronjobs=cronjobs, every_s=every_s, trickle_s=trickle_s,
                    ))  # fmt: skip
                    restarted = supervisor.restarts - before
                    if restarted:
                        note += "; restarted " + ", ".join(
                            f"{n} ×{k}" for n, k in sorted(restarted.items())
                        )
                    audits[scenario] = (found, note)
                    if on_scenario is not None:
                        on_scenario(scenario, found)
            finally:
                supervisor.stop()
                recorder.stop()
            figures["checker_relists"] = recorder.relists
            figures["restarts"] = sum(supervisor.restarts.values())
            figures["restart_failures"] = len(supervisor.failures)
            for failure in supervisor.failures:
                live.say(f"a restart failed: {failure}")
    agent: AgentAway | None = None
    if AGENT_KILL in scenarios:
        try:
            agent = agent_away(io.StringIO() if quiet else sys.stderr, agent_repeats)
        except (PhaseFailed, LayoutUnavailable) as e:
            raise Unavailable(f"scenario {AGENT_KILL}: {e}") from e
        figures.update(agent.figures())
    for scenario, (found, _) in audits.items():
        key = scenario.replace("-", "_")
        values = {
            "pods": found.pods_created, "lost": found.pods_lost,
            "bound_twice": found.pods_bound_twice, "overcommit": found.overcommit_instants,
            "bound_to_gone_nodes": found.bound_to_gone_nodes, "cron_missed": found.cron_runs_missed,
            "cron_doubled": found.cron_runs_doubled,
            "fault_s": round(faults_s[scenario], 2),
            "stall_s": None if found.stall_s is None else round(found.stall_s, 2),
            "recover_s": None if found.recover_s is None else round(found.recover_s, 2),
        }  # fmt: skip
        figures.update({f"{key}_{name}": value for name, value in values.items()})
    figures["losses_total"] = sum(a.losses for a, _ in audits.values()) + (
        agent.losses if agent is not None else 0
    )
    recovered = [a.recover_s for a, _ in audits.values()]
    if agent is not None:
        recovered.append(agent.repair_s)
    figures["recover_s_max"] = (
        None if not recovered or None in recovered else round(max(r for r in recovered if r), 2)
    )
    figures["audits"] = audits
    figures["agent"] = agent
    return figures


class Unavailable(Exception):
    """A scenario cannot run on this machine; the message says why."""


def print_table(figures: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    if figures["audits"]:
        table = Table(title="colo under faults (one wave per scenario; checker: the API server)")
        table.add_column("scenario")
        for name in FIGURES:
            table.add_column(name.replace("_", " "), justify="right")
        for scenario in figures["audits"]:
            key = scenario.replace("-", "_")
            table.add_row(scenario, *(str(figures[f"{key}_{n}"]) for n in FIGURES))
        console.print(table)
    agent: AgentAway | None = figures["agent"]
    if agent is not None:
        table = Table(title=f"{AGENT_KILL}: colo-agent away {AWAY_S:g} s on real cgroups "
                            f"(checker: the cgroup tree; median of {agent.repeats})")  # fmt: skip
        table.add_column("")
        for column in ("alone", "agent there", "agent away", "agent back", "static box"):
            table.add_column(column, justify="right")
        windows = ("alone", "with", "away", "back", "static")
        table.add_row("online p99 ms", *(f"{agent.p99_ms(w):.2f}" for w in windows))
        table.add_row("inflation", "", *(f"{agent.inflation(w):+.1%}" for w in windows[1:]))
        for i in range(agent.repeats):
            table.add_row(f"  repeat {i + 1}", *(f"{agent.p99s[w][i]:.2f}" for w in windows))
        console.print(table)
        repair = agent.repair_s if agent.repair_s is None else round(agent.repair_s, 2)
        console.print(
            f"box left {agent.box_left_milli:.0f}m, after the return {agent.box_back_milli:.0f}m"
            f" (last repeat); changed while away {agent.changed_while_away}, resets "
            f"{agent.resets}, repaired {agent.repairs}/{agent.repeats} (slowest {repair} s), "
            f"adopted {agent.adopted}/{agent.repeats}, request errors {agent.errors}"
        )
        for line in agent.details:
            console.print(f"  {line}")
    console.print(
        f"losses_total {figures['losses_total']}, recover_s_max "
        f"{figures['recover_s_max']}, checker relists {figures.get('checker_relists')}"
    )
    for scenario, (found, note) in figures["audits"].items():
        console.print(f"{scenario}: {note}")
        for line in found.details[:10]:
            console.print(f"  {line}")


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        help="run only this one (repeatable; default: all, in the table's order)",
    )
    p.add_argument("--seed", type=int, default=0, help="picks each fault's moment (default 0)")
    p.add_argument("--nodes", type=int, default=4, help="standard kwok nodes (default 4)")
    p.add_argument("--pods", type=int, default=200, help="offline pods made at T (default 200)")
    p.add_argument("--cronjobs", type=int, default=50, help="CronJobs firing at T (default 50)")
    p.add_argument("--every", type=float, default=0.2, help="seconds between trickle pods")
    p.add_argument("--trickle", type=float, default=15.0, help="seconds the trickle lasts")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--logs", type=Path, default=None, help="copy every process's log here")
    p.add_argument("--agent-repeats", type=int, default=5,
                   help="times agent-kill runs; its p99s are medians (default 5)")  # fmt: skip
    args = p.parse_args()
    if args.nodes < 3:
        p.error("--nodes: at least 3 (node-loss deletes node-0001 and takes node-0002 down)")
    if args.agent_repeats < 1:
        p.error(f"--agent-repeats: at least 1, got {args.agent_repeats}")
    try:
        figures = run(
            tuple(args.scenario or SCENARIOS), seed=args.seed, nodes=args.nodes, pods=args.pods,
            cronjobs=args.cronjobs, every_s=args.every, trickle_s=args.trickle,
            quiet=args.quiet, keep_logs=args.logs, agent_repeats=args.agent_repeats,
        )  # fmt: skip
    except Unavailable as e:
        print(f"faults: {e}", file=sys.stderr)
        return 2
    if args.json:
        import json

        shown = {k: v for k, v in figures.items() if k not in ("audits", "agent")}
        print(json.dumps(shown, sort_keys=True))
    else:
        print_table(figures)
    return 1 if figures["losses_total"] else 0


if __name__ == "__main__":
    sys.exit(main())
