"""Benchmark: the node agent's protection decisions for a whole simulated cluster.

10,000 nodes, one interval (one second of simulated time) each: the guard's state machine
(`colo.agent.guard.Guard.step`: which level every node's signals call for, hysteresis,
transitions) and the offline box's sizing (`colo.agent.box.Box.size`) over all nodes at
once, as the simulator runs them. Signals are random walks, so nodes keep crossing
thresholds and changing state (the transitions are counted). node_decisions_per_s =
nodes × intervals / wall time, median of `--repeats` runs of `--intervals` intervals.
"""

from __future__ import annotations

import time

import numpy as np

from _common import emit, parser
from colo.agent.box import Box
from colo.agent.guard import Guard, Signals


def run(nodes: int, intervals: int, seed: int) -> tuple[float, int]:
    rng = np.random.default_rng(seed)
    guard = Guard(nodes)
    box = Box(np.full(nodes, 32_000.0), np.full(nodes, 128.0 * 2**30))
    online = rng.uniform(0.2, 0.6, nodes)
    signals = Signals.unavailable(nodes)
    memory = np.full(nodes, 40.0 * 2**30)
    system = np.full(nodes, 1000.0)
    transitions = 0
    started = time.perf_counter()
    for k in range(intervals):
        online = np.clip(online + rng.normal(0, 0.03, nodes), 0.0, 1.0)
        signals.online = online
        signals.cpu = np.clip(online + rng.uniform(0.1, 0.4, nodes), 0.0, 1.0)
        signals.psi_cpu = np.clip(rng.normal(0.05, 0.05, nodes), 0.0, 1.0)
        transitions += len(guard.step(signals, float(k)))
        box.size(
            float(k),
            online_milli=online * 32_000,
            system_milli=system,
            level=guard.state.level,
            online_memory=memory,
            system_memory=memory / 10,
            offline_memory=memory / 2,
        )
    return time.perf_counter() - started, transitions


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--nodes", type=int, default=10_000)
    p.add_argument("--intervals", type=int, default=60)
    args = p.parse_args()
    runs = [run(args.nodes, args.intervals, seed) for seed in range(max(1, args.repeats))]
    wall = float(np.median([r[0] for r in runs]))
    figures = {
        "node_decisions_per_s": args.nodes * args.intervals / wall,
        "ms_per_interval_all_nodes": 1000.0 * wall / args.intervals,
        "transitions_per_interval": float(np.median([r[1] for r in runs])) / args.intervals,
    }
    emit(
        f"guard + box, {args.nodes:,} nodes", figures, as_json=args.json,
        notes="goal: node_decisions_per_s >= 100,000",
    )  # fmt: skip


if __name__ == "__main__":
    main()
