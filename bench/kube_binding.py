"""Benchmark: binding throughput of colo.kube's binder on the local control plane.

A dev cluster with 1,000 kwok nodes (no kube-scheduler). For each concurrency level,
`--pods` pods that no scheduler serves are created, then bound round-robin across the
nodes through `pods/binding`; binds/s = pods / wall time of the binding phase, median of
`--repeats` rounds (fresh pods each round). No client-side QPS limit: the API server's
own limits apply. kwok turns the bound pods Running meanwhile, as kubelets would.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from _cluster import create_pods, dev_cluster, namespace, transport
from _common import emit, parser
from colo.core.changes import PodRef
from colo.kube.binder import KubeBinder


async def one_round(state, nodes: list[str], pods: int, concurrency: int) -> float:  # type: ignore[no-untyped-def]
    async with transport(state) as t:
        ns = await namespace(t, f"bind-c{concurrency}")
        created = await create_pods(t, ns, pods)
        binder = KubeBinder(t, concurrency=concurrency)
        work = [
            (PodRef(ns, o["metadata"]["name"], uid=o["metadata"]["uid"]), nodes[i % len(nodes)])
            for i, o in enumerate(created)
        ]
        t0 = time.perf_counter()
        out = await binder.bind_all(work)
        took = time.perf_counter() - t0
        failed = [e for e in out if e is not None]
        if failed:
            raise SystemExit(f"{len(failed)} bindings failed; first: {failed[0]}")
        await asyncio.sleep(2.0)  # let kwok catch up before the next round
        return pods / took


def main() -> None:
    p = parser(__doc__ or "")
    p.set_defaults(repeats=3)
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--pods", type=int, default=1000, help="pods bound per round")
    p.add_argument("--concurrency", default="1,4,16,64", help="comma-separated levels")
    args = p.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    nodes = [f"node-{i:04d}" for i in range(args.nodes)]
    rates: dict[str, float] = {}
    with dev_cluster(args.nodes, quiet=args.json) as state:
        for c in levels:
            runs = [asyncio.run(one_round(state, nodes, args.pods, c)) for _ in range(args.repeats)]
            rates[str(c)] = statistics.median(runs)
    if args.json:
        import json

        print(json.dumps({"binds_per_s": rates}, sort_keys=True))
        return
    emit(
        f"pods/binding on {args.nodes} kwok nodes",
        {f"binds_per_s @ concurrency {c}": v for c, v in rates.items()},
        as_json=False,
        notes=f"median of {args.repeats} rounds of {args.pods} pods; no client QPS limit",
    )


if __name__ == "__main__":
    main()
