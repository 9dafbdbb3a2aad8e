"""Benchmark: time to bind a wave of pods, colo-batch vs. kube-scheduler, same cluster.

One dev cluster with `--nodes` kwok nodes (1,000) and no default scheduler. Each run
creates `--pods` pending pods (5,000; 10m cpu, 64Mi) for one scheduler, then starts
that scheduler as its own process and times from its start until the last pod is seen
bound (a watch on the namespace). Both get the same client rate limit (`--qps`, burst
equal), so neither wins by being allowed more API requests:

- kube-scheduler (the cluster's version, stock profile; QPS/burst raised to `--qps`);
- colo-batch (`colo batch serve`) reserving every placement at colo-coordinator before
  binding; the coordinator is hosted in colo-batch's process (`--coordinator-listen`:
  it shares colo-batch's informers and still serves gRPC to other schedulers), which
  spares the API server a second list and watch of every pod.

- the ceiling: no scheduler at all. The bench binds a third wave itself, round-robin
  over the nodes, through colo's binder with the same QPS and colo-batch's default of 64
  bindings in flight; it has nothing to list, watch or decide. No scheduler can bind
  faster than this on the same cluster, so `ceiling_ratio` (kube-scheduler's time over
  this one) is the largest `ratio` this machine can show.
- the watched ceiling: the same binder on a fourth wave, while an idle colo-batch
  (started with it, hosting the coordinator, scheduling nothing: no pod has its
  scheduler name) lists and watches every pod and node and keeps its snapshot and
  ledger. It is the ceiling of any scheduler that keeps a cache of the cluster, as
  kube-scheduler and colo-batch do: the list and every watched change cost the API
  server and the shared cores on top of the bindings (`colo_over_ceiling_watched`).

Every timed run meets the same cluster, after the same thing. First the bench binds a
resident wave of `--pods` pods itself (untimed, the ceiling's binder) and waits until
kwok has reported them all Running (its status updates lag the bindings by seconds and
would load the next run); they stay, as a working cluster's pods do. Then it binds one
more wave and deletes it (untimed), so that kube-scheduler's run, like every later one,
starts right after a bound wave was deleted. Each timed wave is deleted after its run,
and the next run waits until its namespace is gone too (`remove_wave`), so
kube-scheduler, colo-batch and the watcher each list the same 10,000 pods, half of them
Running, on a control plane done with the last run. (Until 2026-12-07 kube-scheduler ran
first on the 5,000 pods of its own wave alone, and the later runs listed its Running
pods; then colo-batch's run started while the API server was still deleting
kube-scheduler's 5,000 events of the last run.) The two ceilings run last. Everything
shares the machine's cores with the API server, etcd, kwok and kube-controller-manager;
the CPU seconds each process used during each run are printed too.

The four runs come in rounds (`--repeats`, 3): kube-scheduler, colo-batch, the ceiling,
the watched ceiling, then again. Each figure is the median over the rounds, and each
ratio the median of the rounds' own ratios (colo-batch's time over the ceiling's of the
same round): on this 2-core virtual machine the bare ceiling alone moved from 7.5 to
10.7 s between rounds of one run (2026-12-07), as the host's share of the cpu changed
under the guest, so one run of each would compare two draws of that noise.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, NamedTuple

from _cluster import clear, dev_cluster, namespace, namespace_gone, transport
from _common import cpu_s, emit, parser
from colo.core.changes import ClusterEvent, PodRef
from colo.devcluster import ClusterState
from colo.devcluster.processes import background, free_ports
from colo.devcluster.scheduler import start_scheduler
from colo.kube.binder import KubeBinder
from colo.kube.informer import Informer


def pod(name: str, scheduler: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "colo-bench"}},
        "spec": {
            "schedulerName": scheduler,
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}},
                }
            ],
            "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists"}],
        },
    }


async def create(state: ClusterState, ns: str, count: int, scheduler: str) -> list[tuple[str, str]]:
    """Create the wave; (name, uid) of each pod."""
    async with transport(state) as t:
        sem = asyncio.Semaphore(64)

        async def one(i: int) -> tuple[str, str]:
            async with sem:
                out = await t.post(f"/api/v1/namespaces/{ns}/pods", pod(f"p{i:05d}", scheduler))
                return str(out["metadata"]["name"]), str(out["metadata"]["uid"])

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def cluster_cpu_s(state: ClusterState) -> dict[str, float]:
    return {p.name: cpu_s(p.pid) for p in state.processes}


class Run(NamedTuple):
    """One timed run: seconds from the scheduler's start to the first and the last pod
    seen bound, and the cpu seconds each process used meanwhile."""

    first_s: float
    last_s: float
    cpu_s: dict[str, float]


async def time_to_bind(
    state: ClusterState,
    ns: str,
    count: int,
    start: Callable[[], None],
    timeout_s: float,
    scheduler_cpu_s: Callable[[], float],
) -> Run:
    """Start the scheduler with `start()`; seconds until the first and the last pod of
    `ns` is seen bound, and the CPU seconds each process used meanwhile."""
    async with transport(state) as t:
        informer = Informer(t, "pods", namespace=ns)
        bound: dict[str, float] = {}

        def seen(ev: ClusterEvent) -> None:
            if ev.pod is not None and ev.pod.node_name and ev.pod.key not in bound:
                bound[ev.pod.key] = time.monotonic()

        informer.subscribe(seen)
        watching = asyncio.ensure_future(informer.run())
        try:
            await informer.wait_synced()
            if bound:
                raise SystemExit(f"{len(bound)} pods of {ns} were bound before the scheduler ran")
            before = cluster_cpu_s(state)
            t0 = time.monotonic()
            await asyncio.get_running_loop().run_in_executor(None, start)
            while len(bound) < count:
                if time.monotonic() - t0 > timeout_s:
                    raise SystemExit(f"only {len(bound)}/{count} pods bound after {timeout_s} s")
                await asyncio.sleep(0.1)
            times = sorted(bound.values())
            after = cluster_cpu_s(state)
            cpu = {k: round(after[k] - before.get(k, 0.0), 1) for k in after}
            cpu["scheduler"] = round(scheduler_cpu_s(), 1)
            return Run(times[0] - t0, times[-1] - t0, cpu)
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching


def colo_process(
    args: list[str], log: Path
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return background([sys.executable, "-m", "colo.cli.main", *args], log)


def run_kube_scheduler(state: ClusterState, pods: int, qps: float, timeout_s: float) -> Run:
    ns = asyncio.run(_namespace(state, "kube"))
    asyncio.run(create(state, ns, pods, "bench-kube-scheduler"))
    handle: list[Any] = []

    def start() -> None:
        tail = "profiles:\n- schedulerName: bench-kube-scheduler\n"
        handle.append(
            start_scheduler(
                state, name="bench-kube-scheduler", config_tail=tail, qps=qps, burst=int(qps)
            )
        )

    try:
        result = asyncio.run(
            time_to_bind(state, ns, pods, start, timeout_s, lambda: cpu_s(handle[0].record.pid))
        )
    finally:
        for h in handle:
            h.stop()
    remove_wave(state, ns)
    return result


def settle(state: ClusterState, ns: str, timeout_s: float) -> None:
    """Wait until kwok has reported every pod of `ns` Running (it lags the bindings by
    seconds), then a few seconds more: the next run must not inherit this one's tail of
    status updates, which cost the API server as much as bindings do."""

    async def go() -> None:
        async with transport(state) as t:
            deadline = time.monotonic() + timeout_s
            params = {"fieldSelector": "status.phase!=Running", "limit": "1"}
            while time.monotonic() < deadline:
                if not (await t.get(f"/api/v1/namespaces/{ns}/pods", params))["items"]:
                    return
                await asyncio.sleep(1.0)
            raise SystemExit(f"the pods of {ns} were not all Running after {timeout_s} s")

    asyncio.run(go())
    time.sleep(5.0)


def run_colo_batch(state: ClusterState, pods: int, qps: float, timeout_s: float, logs: Path) -> Run:
    ns = asyncio.run(_namespace(state, "colo"))
    asyncio.run(create(state, ns, pods, "bench-colo-batch"))
    (port,) = free_ports(1)
    args = ["batch", "serve", "--kubeconfig", state.kubeconfig, "--no-leader-elect",
            "--coordinator-listen", f"127.0.0.1:{port}", "--scheduler-name", "bench-colo-batch",
            "--qps", str(qps), "--burst", str(int(qps))]  # fmt: skip
    with contextlib.ExitStack() as stack:
        batch: list[subprocess.Popen[bytes]] = []

        def start() -> None:
            batch.append(stack.enter_context(colo_process(args, logs / "colo-batch.log")))

        result = asyncio.run(
            time_to_bind(state, ns, pods, start, timeout_s, lambda: cpu_s(batch[0].pid))
        )
    remove_wave(state, ns)
    return result


def remove_wave(state: ClusterState, ns: str) -> None:
    """Delete a run's wave and its namespace and wait until both are gone (and a few
    seconds more for the control plane to settle), so that every run meets the same
    cluster: the resident wave's bound, Running pods and its own wave. The namespace
    matters: kube-scheduler's holds an event per pod, which the API server deletes one
    by one after the pods, and the next run met that work (`namespace_gone`)."""

    async def go() -> None:
        async with transport(state, timeout_s=600.0) as t:
            t0 = time.monotonic()
            await clear(t, ns, timeout_s=600.0)
            pods_s = time.monotonic() - t0
            await namespace_gone(t, ns, timeout_s=600.0)
            print(f"  {ns}: pods gone in {pods_s:.1f} s, the namespace in "
                  f"{time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)  # fmt: skip

    asyncio.run(go())
    time.sleep(5.0)


def run_binder(
    state: ClusterState,
    pods: int,
    qps: float,
    timeout_s: float,
    watcher_log: Path | None = None,
    *,
    then: Literal["remove", "stay", "leave"] = "remove",
) -> Run:
    """The ceiling: bind a wave round-robin without scheduling it (see the docstring).

    With `watcher_log`, an idle colo-batch (a scheduler name no pod has, hosting the
    coordinator as in colo's run) starts with the binder: it lists and watches every pod
    and node and keeps its snapshot and ledger as colo-batch does, and schedules
    nothing. What it costs the shared cores is what any scheduler that keeps a cache of
    the cluster pays on top of its bindings (the watched ceiling). `then`, what becomes
    of the wave after: "remove" (deleted, awaited), "stay" (kept once kwok reports it
    Running: the resident wave) or "leave" (the bench's last run: it goes with the
    cluster)."""
    ns = asyncio.run(_namespace(state, "resident" if then == "stay" else "bind"))
    created = asyncio.run(create(state, ns, pods, "bench-nobody"))
    nodes = [f"node-{i:04d}" for i in range(state.nodes)]
    work = [
        (PodRef(ns, name, uid=uid), nodes[i % len(nodes)]) for i, (name, uid) in enumerate(created)
    ]
    failures: list[Exception] = []
    done = threading.Event()

    def bind_all() -> None:
        async def go() -> None:
            async with transport(state, qps=qps, burst=int(qps)) as t:
                out = await KubeBinder(t, concurrency=64).bind_all(work)
                failures.extend(e for e in out if e is not None)

        try:
            asyncio.run(go())
        finally:
            done.set()

    began = [0.0]
    stack = contextlib.ExitStack()
    watchers: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        began[0] = time.process_time()
        if watcher_log is not None:
            (port,) = free_ports(1)
            args = ["batch", "serve", "--kubeconfig", state.kubeconfig, "--no-leader-elect",
                    "--coordinator-listen", f"127.0.0.1:{port}",
                    "--scheduler-name", "bench-watcher-only",
                    "--qps", str(qps), "--burst", str(int(qps))]  # fmt: skip
            watchers.append(stack.enter_context(colo_process(args, watcher_log)))
        threading.Thread(target=bind_all, daemon=True).start()

    def binder_cpu_s() -> float:
        """This process's CPU seconds since the start: the binder and the bench's watch."""
        return time.process_time() - began[0]

    try:
        with stack:
            first, last_s, cpu = asyncio.run(
                time_to_bind(state, ns, pods, start, timeout_s, binder_cpu_s)
            )
            for w in watchers:
                cpu["watcher"] = round(cpu_s(w.pid), 1)
    finally:
        done.wait(timeout_s)
        if failures:
            raise SystemExit(f"{len(failures)} bindings failed; first: {failures[0]}")
    if then == "remove":
        remove_wave(state, ns)
    elif then == "stay":
        settle(state, ns, timeout_s)
    return Run(first, last_s, cpu)


async def _namespace(state: ClusterState, prefix: str) -> str:
    async with transport(state) as t:
        return await namespace(t, f"sched-{prefix}")


def compile_colo() -> None:
    """colo's modules compiled to bytecode, as an installed package's are (pip compiles
    at install; an editable checkout run with PYTHONDONTWRITEBYTECODE never is).
    colo-batch's start is timed against a compiled kube-scheduler, and compiling colo's
    modules from source took ~0.1 s of it on 2 cores."""
    import compileall

    import colo

    compileall.compile_dir(Path(colo.__file__).parent, quiet=1)


@dataclass
class Round:
    """One round's four runs, each named as its figures are (`colo_s`, `ceiling_watched_s`)."""

    kube_scheduler: Run
    colo: Run
    ceiling: Run
    ceiling_watched: Run


def summarize(rounds: list[Round], pods: int) -> dict[str, float]:
    """Medians over the rounds; a ratio is the median of the rounds' own ratios, so that
    each compares two runs minutes apart, not the medians of different rounds."""

    def med(values: list[float], digits: int = 2) -> float:
        return round(statistics.median(values), digits)

    def ratio(a: list[float], b: list[float], digits: int = 3) -> float:
        return med([x / y for x, y in zip(a, b, strict=True)], digits)

    runs = {f.name: [getattr(r, f.name) for r in rounds] for f in fields(Round)}
    last = {name: [r.last_s for r in rs] for name, rs in runs.items()}
    colo, kube, ceiling = last["colo"], last["kube_scheduler"], last["ceiling"]
    figures: dict[str, float] = {
        "colo_s": med(colo),
        "kube_scheduler_s": med(kube),
        "ceiling_s": med(ceiling),
        "colo_over_ceiling": ratio(colo, ceiling),
        "ratio": ratio(kube, colo, 2),
        "ceiling_ratio": ratio(kube, ceiling, 2),
        "ceiling_watched_s": med(last["ceiling_watched"]),
        "colo_over_ceiling_watched": ratio(colo, last["ceiling_watched"]),
        "colo_pods_per_s": med([pods / c for c in colo], 1),
        "kube_scheduler_pods_per_s": med([pods / k for k in kube], 1),
    }
    for name, rs in runs.items():
        figures[f"first_bind_{name}_s"] = med([r.first_s for r in rs])
    for name in ("colo", "kube_scheduler"):
        figures[f"cpu_ms_per_pod_{name}"] = med(
            [1000 * r.cpu_s["scheduler"] / pods for r in runs[name]], 3
        )
    for name, rs in runs.items():
        for process in dict.fromkeys(k for r in rs for k in r.cpu_s):
            figures[f"{name}_cpu_s_{process}"] = med([r.cpu_s.get(process, 0.0) for r in rs], 1)
    figures["rounds"] = len(rounds)
    return figures


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--pods", type=int, default=5000)
    p.add_argument("--qps", type=float, default=1000.0, help="client QPS (and burst) of both")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per run before giving up")
    p.add_argument(
        "--logs",
        type=Path,
        default=None,
        help="keep colo-batch's and the watcher's logs here, a folder per round",
    )
    p.set_defaults(repeats=3)
    args = p.parse_args()
    if args.repeats < 1:
        p.error(f"--repeats: expected 1 or more rounds, got {args.repeats}")
    compile_colo()
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="colo-sched-e2e-") as tmp:
        logs = args.logs or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        with dev_cluster(args.nodes, quiet=args.json) as state:
            # untimed: the resident wave, then a wave bound and deleted (docstring)
            run_binder(state, args.pods, args.qps, args.timeout, then="stay")
            run_binder(state, args.pods, args.qps, args.timeout)
            for k in range(args.repeats):
                last = k == args.repeats - 1
                here = logs / f"round-{k + 1}"  # each round's logs kept
                here.mkdir(exist_ok=True)
                one = Round(
                    kube_scheduler=run_kube_scheduler(state, args.pods, args.qps, args.timeout),
                    colo=run_colo_batch(state, args.pods, args.qps, args.timeout, here),
                    ceiling=run_binder(state, args.pods, args.qps, args.timeout),
                    ceiling_watched=run_binder(
                        state, args.pods, args.qps, args.timeout,
                        watcher_log=here / "watcher.log", then="leave" if last else "remove",
                    ),
                )  # fmt: skip
                rounds.append(one)
                print(
                    f"  round {k + 1}: colo-batch {one.colo.last_s:.2f} s (first "
                    f"{one.colo.first_s:.2f}), ceiling {one.ceiling.last_s:.2f} s, watched "
                    f"{one.ceiling_watched.last_s:.2f} s, kube-scheduler "
                    f"{one.kube_scheduler.last_s:.2f} s (first {one.kube_scheduler.first_s:.2f}): "
                    f"colo_over_ceiling "
                    f"{one.colo.last_s / one.ceiling.last_s:.3f}",
                    file=sys.stderr, flush=True,
                )  # fmt: skip
    figures = summarize(rounds, args.pods)
    emit(
        f"{args.pods} pods onto {args.nodes} kwok nodes, client QPS {args.qps:g} for both",
        figures,
        as_json=args.json,
        notes=f"{os.cpu_count()} cores shared with the control plane; from scheduler start to "
        "the last pod seen bound. Goals: colo_over_ceiling <= 1.15, first_bind_colo_s <= "
        "first_bind_kube_scheduler_s, cpu_ms_per_pod_colo <= 1/3 of kube-scheduler's",
    )


if __name__ == "__main__":
    main()
