"""Benchmark: one node's cpu allocation (colo.agent.cpus) on the 2-socket, 32-cpu layout.

40 pods: 6 LSE, 6 LSR, 20 LS, 8 BE. Four cases, per allocation:
- unchanged: the same pods handed back with the previous assignment (the fast path);
- unchanged, rebuilt: equal but newly built pod objects (as from a fresh informer list);
- one new pod: every other pod is kept, one LSR pod is placed;
- cold: no previous assignment, every exclusive pod placed.

Measured on the 2-core development machine (python 3.11): unchanged 0.35 µs, rebuilt
7.6 µs, one new pod 93 µs, cold 268 µs per node.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from _common import emit, median_time_s, parser
from colo.agent.cpus import CPUAllocator, CPUPod
from colo.core.qos import QoSTier
from colo.core.topology import CPUInfo, CPUTopology

LAYOUT = Path(__file__).resolve().parents[1] / "tests/agent/topologies/2s8c2t-2numa.json"


def pods() -> list[CPUPod]:
    def make(i: int, tier: QoSTier, milli: int) -> CPUPod:
        return CPUPod(f"uid-{i:02d}", f"default/p{i:02d}", tier, milli, milli)

    out = [make(i, QoSTier.LSE, 2000 * (1 + i % 2)) for i in range(6)]
    out += [make(6 + i, QoSTier.LSR, 1000 * (1 + i % 3)) for i in range(6)]
    out += [make(12 + i, QoSTier.LS, 500) for i in range(20)]
    out += [make(32 + i, QoSTier.BE, 0) for i in range(8)]
    return out


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--calls", type=int, default=1000, help="allocations per timed repetition")
    args = p.parse_args()
    raw = json.loads(LAYOUT.read_text(encoding="utf-8"))
    topo = CPUTopology(CPUInfo(c["cpu"], c["core"], c["socket"], c["numa"]) for c in raw["cpus"])
    alloc = CPUAllocator(topo, reserved_cpus=[0, 16])
    base = pods()
    first = alloc.allocate(base)
    if first.refusals:
        sys.exit(f"unexpected refusals: {first.refusals}")
    rebuilt = pods()
    extra = CPUPod("uid-99", "default/new", QoSTier.LSR, 1000, 1000)
    grown = [*base, extra]
    n = args.calls

    def loop(fn: Callable[[], object]) -> float:
        def run() -> None:
            for _ in range(n):
                fn()

        return median_time_s(run, args.repeats) / n * 1e6

    figures = {
        "unchanged (µs)": loop(lambda: alloc.allocate(base, previous=first)),
        "unchanged, rebuilt pods (µs)": loop(lambda: alloc.allocate(rebuilt, previous=first)),
        "one new pod (µs)": loop(lambda: alloc.allocate(grown, previous=first)),
        "cold, no previous (µs)": loop(lambda: alloc.allocate(base)),
    }
    emit("cpu allocation, one node of 32 cpus, 40 pods", figures, as_json=args.json)


if __name__ == "__main__":
    main()
