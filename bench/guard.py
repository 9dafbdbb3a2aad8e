"""Benchmark: the node agent's protection decisions for a whole simulated cluster.

10,000 nodes, one interval (one second of simulated time) each, through the protection
loop the simulator drives (`colo.agent.protection.ProtectionLoop` without cgroup
intents): the guard's state machine (which level every node's signals call for,
hysteresis, transitions), the offline box's sizing, anti-starvation and the commands
(transitions, forbid, evictions) over all nodes at once. Signals are random walks, so
nodes keep crossing thresholds and changing state (the transitions are counted).
node_decisions_per_s = nodes × intervals / wall time, median of `--repeats` runs of
`--intervals` intervals.
"""

from __future__ import annotations

import time

import numpy as np

from _common import emit, parser
from colo.agent.protection import Measurements, ProtectedNode, ProtectionLoop, Transitioned


def run(nodes: int, intervals: int, seed: int) -> tuple[float, int]:
    rng = np.random.default_rng(seed)
    loop = ProtectionLoop(
        [ProtectedNode(f"n{i}", 32_000, 128 * 2**30) for i in range(nodes)], cgroups=False
    )
    loop.set_offline_counts(rng.integers(0, 20, nodes))
    online = rng.uniform(0.2, 0.6, nodes)
    m = Measurements.of(
        nodes, 0.0,
        system_milli=np.full(nodes, 1000.0), online_memory=np.full(nodes, 40.0 * 2**30),
        system_memory=np.full(nodes, 4.0 * 2**30), offline_memory=np.full(nodes, 20.0 * 2**30),
    )  # fmt: skip
    transitions = 0
    started = time.perf_counter()
    for k in range(intervals):
        online = np.clip(online + rng.normal(0, 0.03, nodes), 0.0, 1.0)
        m.now_s = float(k)
        m.online_milli = online * 32_000
        m.offline_milli = loop.box_milli
        m.psi_cpu = np.clip(rng.normal(0.05, 0.05, nodes), 0.0, 1.0)
        loop.observe(m)
        transitions += sum(isinstance(c, Transitioned) for c in loop.tick(float(k)))
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
    title = f"protection loop (guard + box + starvation), {args.nodes:,} nodes"
    emit(title, figures, as_json=args.json, notes="goal: node_decisions_per_s >= 100,000")


if __name__ == "__main__":
    main()
