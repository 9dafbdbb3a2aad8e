"""Benchmark: colo's live system under steady churn for `--minutes` (30), no faults.

The live system of bench/faults.py (standbys and the kubelet-like supervisor included).
`--cronjobs` CronJobs fire every minute (`* * * * *`, one pod each, running 5 s), and
every minute at :30 the bench makes `--pods` offline pods and deletes those it made the
minute before (only bound ones; an unbound pod is left for the checker to count).

Every colo process's resident memory (VmRSS) and open file descriptors are read from
/proc at the first :30 after `--warmup` minutes and at the last :30 of the run, both just
before that minute's pods are made: half a minute after the CronJobs fired, when the
HTTP connections their bursts opened have idled out (aiohttp keeps an idle connection
15 s), so both samples see the same quiet moment. Growth beyond noise is a leak.
The checker of bench/faults.py counts pods lost, pods bound twice, over-commit instants
and CronJob runs missed or doubled over the whole run.

Figures (`--json`): `<process>_rss_start_mib`, `<process>_rss_end_mib`,
`<process>_fds_start`, `<process>_fds_end` for each process (dashes as underscores),
`rss_growth_max_pct`, `fds_growth_max`, `losses_total`, `pods`, `cron_runs`, `restarts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _audit import Audit, Recorder, audit
from _common import emit, parser
from colo.core.errors import NotFound, Retryable
from colo.cron.naming import go_rfc3339
from colo.devcluster.processes import is_running
from colo.kube.transport import Transport
from faults import Live, Supervisor, Wave, cronjob, live_system, offline_pod

NAMESPACE = "soak"


def every_minute(name: str) -> dict[str, Any]:
    body = cronjob(name, 0.0)
    body["spec"]["schedule"] = "* * * * *"
    return body


def footprint(live: Live) -> dict[str, tuple[float, int]]:
    """(VmRSS MiB, open fds) of every running colo process, by name."""
    state = live.cluster.state()
    assert state is not None
    out = {}
    for record in state.processes:
        if not record.name.startswith("colo-") or not is_running(record):
            continue
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{record.pid}/status").read_text()
            rss_kib = next(int(line.split()[1]) for line in status.splitlines()
                           if line.startswith("VmRSS:"))  # fmt: skip
            out[record.name] = (rss_kib / 1024, len(os.listdir(f"/proc/{record.pid}/fd")))
    return out


async def churn(
    live: Live, *, minutes: float, warmup: float, pods: int, cronjobs: int
) -> tuple[dict[str, tuple[float, int]], dict[str, tuple[float, int]], list[str], float]:
    """Run the churn; (footprint after warm-up, at the end, CronJob names, start time)."""
    state = live.state
    t = Transport(state.server, token=state.token, ca_file=state.ca_file, qps=500, burst=1000)
    try:
        wave = Wave(t, NAMESPACE)
        await wave.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": NAMESPACE}})  # fmt: skip
        names = [f"every-{i:03d}" for i in range(cronjobs)]
        path = f"/apis/batch/v1/namespaces/{NAMESPACE}/cronjobs"
        await asyncio.gather(*(wave.create(path, every_minute(n)) for n in names))
        began = time.time()
        end, start_footprint, end_footprint = began + minutes * 60, None, None
        previous: list[str] = []
        minute = 0
        while True:
            at = (int(time.time()) // 60) * 60 + 30.0
            if at <= time.time():
                at += 60
            if at > end:
                break
            await asyncio.sleep(at - time.time())
            if time.time() - began >= warmup * 60:
                end_footprint = footprint(live)  # the last one taken is the end's
                start_footprint = start_footprint or end_footprint
            batch = [f"m{minute:03d}-{i:04d}" for i in range(pods)]
            pods_path = f"/api/v1/namespaces/{NAMESPACE}/pods"
            await asyncio.gather(*(wave.create(pods_path, offline_pod(n)) for n in batch))
            for name in previous:
                with contextlib.suppress(NotFound, Retryable):
                    got = await t.get(f"{pods_path}/{name}")
                    if got["spec"].get("nodeName"):
                        await t.request("DELETE", f"{pods_path}/{name}")
            previous, minute = batch, minute + 1
            live.say(f"minute {minute}: {pods} pods made, the previous minute's deleted")
        await asyncio.sleep(max(0.0, end - time.time()))
        # no :30 after the warm-up (main() asks for a minute of it): now, whatever the phase
        return start_footprint or footprint(live), end_footprint or footprint(live), names, began
    finally:
        await t.close()


def run(
    *, minutes: float = 30.0, warmup: float = 2.0, nodes: int = 4, pods: int = 100,
    cronjobs: int = 20, quiet: bool = True,
) -> dict[str, Any]:  # fmt: skip
    figures: dict[str, Any] = {}
    with live_system(nodes, quiet=quiet) as live:
        recorder = Recorder(live.state.server, token=live.state.token, ca_file=live.state.ca_file)
        recorder.start()
        supervisor = Supervisor(live)
        supervisor.start()
        try:
            first, last, names, began = asyncio.run(
                churn(live, minutes=minutes, warmup=warmup, pods=pods, cronjobs=cronjobs)
            )
            # colo-cron makes a run's pods 10 s (--lead) ahead of its minute: wait past the
            # next minute, so the runs made ahead of it are bound and seen, not counted lost
            time.sleep(60 - time.time() % 60 + 10)
        finally:
            supervisor.stop()
            recorder.stop()
        fired = [m * 60.0 for m in range(int(began) // 60 + 1, int(began + minutes * 60) // 60)]
        runs = [go_rfc3339(datetime.fromtimestamp(at, UTC), UTC) for at in fired]
        found: Audit = audit(recorder.events(), namespace=NAMESPACE, since=began,
                             cron_runs={n: runs for n in names})  # fmt: skip
    growth, fds = [], []
    for name, (rss0, fd0) in sorted(first.items()):
        rss1, fd1 = last.get(name, (float("nan"), -1))
        key = name.replace("-", "_")
        figures[f"{key}_rss_start_mib"], figures[f"{key}_rss_end_mib"] = (
            round(rss0, 1),
            round(rss1, 1),
        )
        figures[f"{key}_fds_start"], figures[f"{key}_fds_end"] = fd0, fd1
        growth.append(100 * (rss1 - rss0) / rss0)
        fds.append(fd1 - fd0)
    figures["rss_growth_max_pct"] = round(max(growth), 1) if growth else None
    figures["fds_growth_max"] = max(fds) if fds else None
    figures["pods"] = found.pods_created
    figures["cron_runs"] = found.cron_runs_expected
    figures["losses_total"] = found.losses
    figures["restarts"] = sum(supervisor.restarts.values())
    figures["details"] = found.details[:20]
    return figures


def main() -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0, help="how long (default 30)")
    p.add_argument("--warmup", type=float, default=2.0, help="minutes before the first sample")
    p.add_argument("--nodes", type=int, default=4, help="standard kwok nodes (default 4)")
    p.add_argument("--pods", type=int, default=100, help="offline pods a minute (default 100)")
    p.add_argument("--cronjobs", type=int, default=20, help="CronJobs firing every minute")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    if args.minutes - args.warmup < 1:
        p.error("--minutes: at least a minute more than --warmup (the samples are a minute apart)")
    figures = run(minutes=args.minutes, warmup=args.warmup, nodes=args.nodes, pods=args.pods,
                  cronjobs=args.cronjobs, quiet=args.quiet)  # fmt: skip
    details = figures.pop("details")
    emit("colo soak: footprint and losses under steady churn", figures, as_json=args.json,
         notes=f"{args.minutes:g} minutes")  # fmt: skip
    for line in details:
        print(f"  {line}", file=sys.stderr)
    return 1 if figures["losses_total"] else 0


if __name__ == "__main__":
    sys.exit(main())
