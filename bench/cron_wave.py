"""Benchmark: a wave of CronJobs all due at the same second, stock Kubernetes vs colo.

Each run has a dev cluster of its own (`--nodes` kwok nodes, 1,000, and
`--virtual-nodes` virtual ones, 50) and `--cronjobs` CronJobs (1,000, one pod each,
runs 30 s) whose schedule fires once, at the same minute, about a minute and a half
ahead. A watch in the bench sees every pod bound and Running; a pod's lateness is that
time minus the scheduled second. Runs:

- **A, stock**: kube-controller-manager's CronJob and Job controllers, kube-scheduler,
  each at its default client limits (QPS 20 / burst 30; QPS 50 / burst 100).
- **B, stock raised**: the same with both raised to what colo runs with (QPS `--qps`,
  burst twice that).
- **C, colo**: `colo cron serve` (kube-controller-manager's CronJob controller off;
  `--write-concurrency` API writes in flight, 64) and `colo batch serve` (hosting the
  coordinator), at QPS `--qps`.
- **the ceiling**: no controller, no scheduler. On C's cluster, at the next minute, the
  bench binds pods it created ahead, round-robin over the nodes, with colo's binder at
  the same QPS: no scheduler can bind a wave faster on this machine.

Figures: `stock_p99_s`, `stock_raised_p99_s`, `colo_p50_s`, `colo_p99_s`, `colo_max_s`,
`ratio_vs_stock` and `ratio_vs_raised` (their p99 over colo's), `ceiling_p99_s`, and
p50/p99 of scheduled second → Running for each; `colo_cron_cpu_s` and `colo_batch_cpu_s`,
the CPU seconds (user + system) each colo process used during C, from before its
CronJobs are made until every pod is bound and Running (not the ceiling's). `--runs`
picks which to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from _cluster import namespace, transport
from _common import cpu_s, emit, parser
from colo.core.changes import ChangeKind, ClusterEvent, PodRef
from colo.devcluster import ClusterOptions, ClusterState, DevCluster
from colo.devcluster.kwokconfig import JOB_POD_RUN_DURATION_ANNOTATION
from colo.devcluster.processes import background, free_ports
from colo.kube.binder import KubeBinder
from colo.kube.informer import Informer
from colo.kube.transport import Transport

TOLERATE_KWOK = [{"key": "kwok.x-k8s.io/node", "operator": "Exists"}]


@contextlib.contextmanager
def cluster(options: ClusterOptions, *, quiet: bool) -> Iterator[ClusterState]:
    def progress(msg: str) -> None:
        if not quiet:
            print(f"  cluster: {msg}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="colo-cron-wave-") as tmp:
        dev = DevCluster(Path(tmp), progress=progress)
        state = dev.up(options)
        try:
            yield state
        finally:
            dev.down()


def once_at(minute_s: float) -> str:
    """A schedule that fires once a year: at that minute (UTC)."""
    at = datetime.fromtimestamp(minute_s, UTC)
    return f"{at.minute} {at.hour} {at.day} {at.month} *"


def cronjob(name: str, schedule: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {
            "schedule": schedule,
            "jobTemplate": {"spec": {"template": {
                "metadata": {"annotations": {JOB_POD_RUN_DURATION_ANNOTATION: "30s"}},
                "spec": {
                    "restartPolicy": "Never",
                    "tolerations": TOLERATE_KWOK,
                    "containers": [{"name": "c", "image": "busybox",
                                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}],
                },
            }}},
        },
    }  # fmt: skip


class Watch:
    """When each pod of a namespace was first seen bound, and Running."""

    def __init__(self, t: Transport, ns: str) -> None:
        self.bound: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self._informer = Informer(t, "pods", namespace=ns)
        self._informer.subscribe(self._seen)
        self._task: asyncio.Task[None] | None = None

    def _seen(self, ev: ClusterEvent) -> None:
        pod = ev.pod
        if pod is None or ev.kind is ChangeKind.DELETED:
            return
        now = time.time()
        if pod.node_name:
            self.bound.setdefault(pod.key, now)
        if pod.phase in ("Running", "Succeeded"):
            self.running.setdefault(pod.key, now)

    async def __aenter__(self) -> Watch:
        self._task = asyncio.ensure_future(self._informer.run())
        await self._informer.wait_synced()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def next_minute(room_s: float) -> float:
    now = time.time()
    minute = (int(now) // 60 + 1) * 60
    while minute - now < room_s:
        minute += 60
    return float(minute)


async def wave(
    state: ClusterState, count: int, timeout_s: float, lead_room_s: float
) -> dict[str, np.ndarray]:
    """Make the CronJobs for one minute, wait until every pod is bound; lateness arrays."""
    async with transport(state, qps=500, burst=1000) as t:
        ns = await namespace(t, "cron")
        tick = next_minute(lead_room_s)
        schedule = once_at(tick)
        async with Watch(t, ns) as watch:
            sem = asyncio.Semaphore(32)

            async def make(i: int) -> None:
                async with sem:
                    await t.post(
                        f"/apis/batch/v1/namespaces/{ns}/cronjobs", cronjob(f"c{i:04d}", schedule)
                    )

            await asyncio.gather(*(make(i) for i in range(count)))
            made_by = time.time()
            if made_by > tick:
                raise SystemExit(f"the CronJobs took until {made_by - tick:.1f} s after their time")
            deadline = tick + timeout_s
            while (
                len(watch.bound) < count or len(watch.running) < count
            ) and time.time() < deadline:
                await asyncio.sleep(0.25)
            if len(watch.bound) < count:
                raise SystemExit(
                    f"only {len(watch.bound)}/{count} pods bound {timeout_s:g} s after the tick"
                )
            return {
                "bound": np.array(sorted(watch.bound.values())) - tick,
                "running": np.array(sorted(watch.running.values())) - tick,
            }  # fmt: skip


async def ceiling(state: ClusterState, count: int, qps: float, timeout_s: float) -> np.ndarray:
    """Bind `count` pods made ahead at the next minute, no scheduler, colo's binder."""
    async with transport(state, qps=500, burst=1000) as t:
        ns = await namespace(t, "bind")
        tick = next_minute(40.0)
        sem = asyncio.Semaphore(32)
        made: list[tuple[str, str]] = []

        async def make(i: int) -> None:
            body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i:04d}"},
                    "spec": {"schedulerName": "nobody", "tolerations": TOLERATE_KWOK,
                             "containers": [{"name": "c", "image": "busybox"}]}}  # fmt: skip
            async with sem:
                out = await t.post(f"/api/v1/namespaces/{ns}/pods", body)
                made.append((out["metadata"]["name"], out["metadata"]["uid"]))

        await asyncio.gather(*(make(i) for i in range(count)))
        nodes = [f"virtual-{i:04d}" for i in range(state.virtual_nodes)] + [
            f"node-{i:04d}" for i in range(state.nodes)
        ]
        work = [(PodRef(ns, n, uid=u), nodes[i % len(nodes)]) for i, (n, u) in enumerate(made)]
        async with Watch(t, ns) as watch:
            await asyncio.sleep(max(0.0, tick - time.time()))
            async with transport(state, qps=qps, burst=int(2 * qps)) as binder_t:
                failures = [
                    e for e in await KubeBinder(binder_t, concurrency=64).bind_all(work) if e
                ]
            if failures:
                raise SystemExit(f"{len(failures)} bindings failed; first: {failures[0]}")
            deadline = tick + timeout_s
            while len(watch.bound) < count and time.time() < deadline:
                await asyncio.sleep(0.1)
            return np.array(sorted(watch.bound.values())) - tick


@contextlib.contextmanager
def colo_processes(
    state: ClusterState, qps: float, lead_s: float, write_concurrency: int, logs: Path
) -> Iterator[dict[str, int]]:
    """colo-batch and colo-cron for the block; their pids by name."""
    colo = [sys.executable, "-m", "colo.cli.main"]
    kube = ["--kubeconfig", state.kubeconfig]
    (port,) = free_ports(1)
    limits = ["--qps", f"{qps:g}", "--burst", f"{int(2 * qps)}"]
    hosted = ["--coordinator-listen", f"127.0.0.1:{port}"]
    with contextlib.ExitStack() as stack:
        batch = stack.enter_context(background(
            [*colo, "batch", "serve", *kube, "--no-leader-elect", *hosted, *limits],
            logs / "colo-batch.log"))  # fmt: skip
        cron = stack.enter_context(background(
            [*colo, "cron", "serve", *kube, "--no-leader-elect", "--lead", f"{lead_s:g}s",
             "--write-concurrency", str(write_concurrency), *limits],
            logs / "colo-cron.log"))  # fmt: skip
        yield {"colo_batch": batch.pid, "colo_cron": cron.pid}


def summary(prefix: str, late: dict[str, np.ndarray], figures: dict[str, float]) -> None:
    for what, values in late.items():
        suffix = "" if what == "bound" else "_running"
        figures[f"{prefix}_p50{suffix}_s"] = round(float(np.percentile(values, 50)), 2)
        figures[f"{prefix}_p99{suffix}_s"] = round(float(np.percentile(values, 99)), 2)
        figures[f"{prefix}_max{suffix}_s"] = round(float(values.max()), 2)


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--virtual-nodes", type=int, default=50)
    p.add_argument("--cronjobs", type=int, default=1000)
    p.add_argument("--qps", type=float, default=500.0, help="colo's client QPS (burst twice)")
    p.add_argument("--lead", type=float, default=30.0, help="colo-cron's --lead, seconds")
    p.add_argument(
        "--write-concurrency", type=int, default=64,
        help="colo-cron's --write-concurrency: API writes in flight (default: 64)",
    )  # fmt: skip
    p.add_argument("--timeout", type=float, default=900.0, help="seconds after the tick per run")
    p.add_argument(
        "--runs", default="stock,raised,colo", help="which runs (the ceiling goes with colo)"
    )
    p.add_argument("--logs", type=Path, default=None, help="keep colo's logs here")
    args = p.parse_args()
    runs = set(args.runs.split(","))
    figures: dict[str, float] = {}
    base = {"nodes": args.nodes, "virtual_nodes": args.virtual_nodes, "with_scheduler": True,
            "nodes_timeout_s": 300.0}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="colo-cron-wave-logs-") as tmp:
        logs = args.logs or Path(tmp)
        logs.mkdir(parents=True, exist_ok=True)
        if "stock" in runs:
            with cluster(ClusterOptions(**base), quiet=args.json) as state:  # type: ignore[arg-type]
                summary(
                    "stock", asyncio.run(wave(state, args.cronjobs, args.timeout, 45.0)), figures
                )
        if "raised" in runs:
            burst = int(2 * args.qps)
            raised = ClusterOptions(
                **base, controller_qps=args.qps, controller_burst=burst,  # type: ignore[arg-type]
                scheduler_qps=args.qps, scheduler_burst=burst,
            )  # fmt: skip
            with cluster(raised, quiet=args.json) as state:
                summary(
                    "stock_raised",
                    asyncio.run(wave(state, args.cronjobs, args.timeout, 45.0)),
                    figures,
                )
        if "colo" in runs:
            options = ClusterOptions(**base, cronjob_controller=False)  # type: ignore[arg-type]
            with (
                cluster(options, quiet=args.json) as state,
                colo_processes(state, args.qps, args.lead, args.write_concurrency, logs) as pids,
            ):
                time.sleep(3.0)  # colo-batch and colo-cron list the cluster
                before = {name: cpu_s(pid) for name, pid in pids.items()}
                late = asyncio.run(wave(state, args.cronjobs, args.timeout, args.lead + 20.0))
                for name, pid in pids.items():  # read while they live, before the ceiling
                    figures[f"{name}_cpu_s"] = round(cpu_s(pid) - before[name], 1)
                summary("colo", late, figures)
                bound = asyncio.run(ceiling(state, args.cronjobs, args.qps, args.timeout))
                summary("ceiling", {"bound": bound}, figures)
    if "colo_p99_s" in figures:
        for other, key in (
            ("stock_p99_s", "ratio_vs_stock"),
            ("stock_raised_p99_s", "ratio_vs_raised"),
        ):
            if other in figures:
                figures[key] = round(figures[other] / max(figures["colo_p99_s"], 0.01), 1)
    emit(
        f"{args.cronjobs} CronJobs due at one second, "
        f"{args.nodes} + {args.virtual_nodes} kwok nodes",
        figures, as_json=args.json,
        notes=f"{os.cpu_count()} cores shared with the control plane; lateness = scheduled "
        "second → pod seen bound (_running: seen Running). Goal: colo_p99_s <= 3",
    )  # fmt: skip


if __name__ == "__main__":
    main()
