"""Benchmark: reservations per second through the coordinator's batched gRPC calls.

The coordinator runs in its own process (`colo.rpc.coordinator.serve` over a ledger of
`--nodes` nodes, roomy enough that items are granted); this process sends `--items`
reservations in batches of `--batch` from `--streams` concurrent callers on loopback.
reservations_per_s = items answered / wall time, median of `--repeats`.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time

from _common import emit, parser
from colo.coord.ledger import Ledger
from colo.core.reservation import Item
from colo.rpc.coordinator import CoordinatorClient, CoordinatorService, serve

CPU = "colo.io/batch-cpu"


def _server(nodes: int, ready: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    async def main() -> None:
        ledger = Ledger(ttl_s=3600)
        for i in range(nodes):
            ledger.update_node(f"node-{i:05d}", {CPU: 10**12, "pods": 10**9})
        server, port = await serve(CoordinatorService(ledger))
        ready.put(port)
        await server.wait_for_termination()

    asyncio.run(main())


async def _client(port: int, nodes: int, items: int, batch: int, streams: int, run: int) -> float:
    client = CoordinatorClient(f"127.0.0.1:{port}", scheduler="bench", timeout_s=30)
    per_stream = items // streams
    batches = [
        [
            [Item(f"r{run}-s{s}-{b}-{k}", f"node-{(s * 7919 + b * 131 + k) % nodes:05d}",
                  {CPU: 500, "pods": 1}) for k in range(batch)]
            for b in range(per_stream // batch)
        ]
        for s in range(streams)
    ]  # fmt: skip

    async def stream(mine: list[list[Item]]) -> int:
        done = 0
        for b in mine:
            replies = await client.reserve(b)
            done += len(replies)
        return done

    t0 = time.perf_counter()
    answered = sum(await asyncio.gather(*(stream(m) for m in batches)))
    took = time.perf_counter() - t0
    await client.close()
    return answered / took


def main() -> None:
    p = parser(__doc__ or "")
    p.set_defaults(repeats=3)
    p.add_argument("--nodes", type=int, default=5000)
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--streams", type=int, default=4)
    args = p.parse_args()
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    proc = ctx.Process(target=_server, args=(args.nodes, ready), daemon=True)
    proc.start()
    try:
        port = ready.get(timeout=60)
        rates = [
            asyncio.run(_client(port, args.nodes, args.items, args.batch, args.streams, r))
            for r in range(args.repeats)
        ]
    finally:
        proc.terminate()
        proc.join(10)
    figures = {"reservations_per_s": statistics.median(rates)}
    emit("coordinator reservations over gRPC", figures, as_json=args.json,
         notes=f"median of {args.repeats}; {args.items} items, batches of {args.batch}, "
               f"{args.streams} streams; target >= 20,000/s")  # fmt: skip


if __name__ == "__main__":
    main()
