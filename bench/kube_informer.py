"""Benchmark: colo.kube informer throughput on the local control plane (1,000 kwok nodes).

1. `--pods` pods are created; an informer lists them (list_objects_per_s, pages of 500).
2. Live: while the informer watches, every pod's labels are patched once by 64 concurrent
   writers; live_events_per_s = events delivered / time from the first write to the last
   event, and lag = event arrival - write acknowledged (p50/p99). This is bounded by
   how fast the API server accepts writes.
3. Replay (the headline, events_per_s): a second informer watches from the
   resourceVersion before step 2, so the server streams the whole backlog as fast as
   server and informer can; events_per_s = backlog / time to consume it. If the server's
   watch cache no longer holds that resourceVersion (410), the live figure is reported.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

from _cluster import create_pods, dev_cluster, namespace, transport
from _common import emit, parser
from colo.core.changes import ClusterEvent
from colo.kube.informer import Informer
from colo.kube.transport import Expired


async def measure(state: Any, pods: int) -> dict[str, float]:
    async with transport(state) as t:
        ns = await namespace(t, "informer")
        await create_pods(t, ns, pods)

        inf = Informer(t, "pods", namespace=ns)
        t0 = time.perf_counter()
        await inf.relist()
        list_s = time.perf_counter() - t0
        rv_before = inf.resource_version

        arrived: dict[str, float] = {}

        def on(ev: ClusterEvent) -> None:
            if ev.pod is not None and ev.pod.labels.get("round") == "1":
                arrived.setdefault(ev.pod.name, time.perf_counter())

        inf.subscribe(on)
        watcher = asyncio.create_task(inf.run())
        await asyncio.sleep(0.5)
        acked: dict[str, float] = {}
        sem = asyncio.Semaphore(64)
        names = [f"p{i:05d}" for i in range(pods)]

        async def touch(name: str) -> None:
            async with sem:
                await t.patch(
                    f"/api/v1/namespaces/{ns}/pods/{name}", {"metadata": {"labels": {"round": "1"}}}
                )
                acked[name] = time.perf_counter()

        w0 = time.perf_counter()
        await asyncio.gather(*(touch(n) for n in names))
        write_s = time.perf_counter() - w0
        deadline = time.monotonic() + 120
        while len(arrived) < pods and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        watcher.cancel()
        if len(arrived) < pods:
            raise SystemExit(f"only {len(arrived)} of {pods} events arrived in 120 s")
        live_s = max(arrived.values()) - w0
        lags = sorted(arrived[n] - acked[n] for n in names)

        replay = Informer(t, "pods", namespace=ns, watch_timeout_s=600)
        replay.resource_version = rv_before
        seen = [0]
        done = asyncio.Event()

        def count(ev: ClusterEvent) -> None:
            seen[0] += 1
            if seen[0] >= pods:
                done.set()

        replay.subscribe(count)
        r0 = time.perf_counter()
        task = asyncio.create_task(replay.watch_once())
        replay_s = None
        waiter = asyncio.create_task(done.wait())
        finished, _ = await asyncio.wait(
            {task, waiter}, timeout=120, return_when=asyncio.FIRST_COMPLETED
        )
        if waiter in finished:
            replay_s = time.perf_counter() - r0
        elif task in finished and isinstance(task.exception(), Expired):
            replay_s = None
        task.cancel()
        waiter.cancel()
        await asyncio.gather(task, waiter, return_exceptions=True)

    live = pods / live_s
    return {
        "events_per_s": pods / replay_s if replay_s else live,
        "replay_events_per_s": pods / replay_s if replay_s else 0.0,
        "live_events_per_s": live,
        "live_writes_per_s": pods / write_s,
        "lag_p50_ms": 1e3 * lags[len(lags) // 2],
        "lag_p99_ms": 1e3 * lags[min(len(lags) - 1, int(0.99 * len(lags)))],
        "list_objects_per_s": pods / list_s,
    }


def main() -> None:
    p = parser(__doc__ or "")
    p.set_defaults(repeats=3)
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--pods", type=int, default=5000)
    args = p.parse_args()
    with dev_cluster(args.nodes, quiet=args.json) as state:
        runs = [asyncio.run(measure(state, args.pods)) for _ in range(args.repeats)]
    figures = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    if args.json:
        print(json.dumps(figures, sort_keys=True))
        return
    emit(
        f"informer on {args.nodes} kwok nodes, {args.pods} pods",
        figures,
        as_json=False,
        notes=f"median of {args.repeats} rounds; events_per_s is the replay figure",
    )


if __name__ == "__main__":
    main()
