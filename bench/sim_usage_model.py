"""Node usage model throughput: node-steps per second at 1,000 nodes.

One step computes, for every node at once, CPU grants for online and offline work,
memory in use, the contention terms and the number of online pods over their SLO bound.
Target (issue 2): at least 1,000,000 node-steps/s at 1,000 nodes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, median_time_s, parser
from colo.sim.contention import ContentionParams
from colo.sim.usage import NodeUsageModel


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--pods-per-node", type=int, default=12)
    args = p.parse_args()
    rng = np.random.default_rng(7)
    n, steps = args.nodes, args.steps
    cap = rng.choice([32_000, 96_000, 104_000], size=n).astype(np.float64)
    pods = n * args.pods_per_node
    pod_node = rng.integers(0, n, size=pods)
    model = NodeUsageModel(
        cpu_capacity_milli=cap,
        memory_capacity_bytes=cap * 4 * 2**20,
        online_pod_node=pod_node,
        online_pod_sensitivity=rng.uniform(0.5, 1.5, size=pods),
        online_pod_memory_bytes=rng.uniform(1, 8, size=pods) * 2**30,
        params=ContentionParams(),
        slo_bound=1.05,
    )
    online = (rng.random((steps, n)) * cap * 0.5).astype(np.float64)
    offline = rng.random((steps, n)) * cap * 0.6
    on_w = cap * 0.6
    off_w = cap * 0.3
    off_mem = cap * 2**20

    def run() -> None:
        for k in range(steps):
            model.step(online[k], offline[k], on_w, off_w, off_mem)

    seconds = median_time_s(run, args.repeats)
    figures = {
        "node_steps_per_s": n * steps / seconds,
        "nodes": n,
        "steps": steps,
        "step_us": seconds / steps * 1e6,
    }
    emit(
        "node usage model",
        figures,
        as_json=args.json,
        notes=f"median of {args.repeats} runs; target >= 1,000,000 node-steps/s",
    )


if __name__ == "__main__":
    main()
