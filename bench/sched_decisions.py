"""Benchmark: colo-batch's decision throughput, pure compute (no API server).

10,000 pending pods onto 5,000 nodes in one batch cycle with the default plugins
(unschedulable, node affinity, taints, resource fit incl. colo.io/batch-*, least
allocated + job spread). Pods come from 200 jobs of 50 identical pods (a batch
workload's shape); nodes mix four sizes, 5 % are tainted, half carry a zone label that
a quarter of the jobs select. pods_per_s = pods placed / wall time of `BatchCycle.run`,
median of `--repeats` (a fresh snapshot each time).
"""

from __future__ import annotations

import time

import numpy as np

from _common import emit, parser
from colo.core.builders import NodeBuilder, PodBuilder
from colo.core.objects import Node, Pod
from colo.sched.cycle import BatchCycle
from colo.sched.requirements import requirements_of
from colo.sched.snapshot import Snapshot


def make_nodes(n: int, rng: np.random.Generator) -> list[Node]:
    nodes = []
    for i in range(n):
        cores = int(rng.choice([32, 48, 64, 96]))
        b = NodeBuilder(f"node-{i:05d}").allocatable(
            cpu=str(cores), memory=f"{cores * 4}Gi", pods=110,
            extended={"colo.io/batch-cpu": str(cores * 400), "colo.io/batch-memory": f"{cores}Gi"},
        )  # fmt: skip
        if i % 2 == 0:
            b = b.label("topology.kubernetes.io/zone", f"zone-{i % 3}")
        if i % 20 == 0:
            b = b.taint("dedicated", "gpu")
        nodes.append(Node.from_k8s(b.obj()))
    return nodes


def make_pods(jobs: int, per_job: int) -> list[Pod]:
    pods = []
    for j in range(jobs):
        for k in range(per_job):
            b = PodBuilder(f"job{j}-{k}", namespace="batch").label("colo.io/qos", "BE")
            b = b.owner("Job", f"job{j}")
            obj = b.obj()
            obj["spec"]["containers"][0]["resources"] = {
                "requests": {"colo.io/batch-cpu": str(500 + 250 * (j % 4)),
                             "colo.io/batch-memory": str((1 + j % 3) * 2**30)},
            }  # fmt: skip
            if j % 4 == 0:
                obj["spec"]["nodeSelector"] = {"topology.kubernetes.io/zone": f"zone-{j % 3}"}
            pods.append(Pod.from_k8s(obj))
    return pods


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--nodes", type=int, default=5000)
    p.add_argument("--pods", type=int, default=10_000)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    nodes = make_nodes(args.nodes, rng)
    per_job = 50
    reqs = [requirements_of(p) for p in make_pods(args.pods // per_job, per_job)]
    rates, placed = [], 0
    for _ in range(args.repeats):
        snap = Snapshot()
        for node in nodes:
            snap.upsert_node(node)
        cycle = BatchCycle(snap)
        t0 = time.perf_counter()
        result = cycle.run(reqs, now_s=0.0)
        took = time.perf_counter() - t0
        placed = len(result.assignments)
        rates.append(placed / took)
    figures = {"pods_per_s": float(np.median(rates)), "placed": placed, "pods": len(reqs),
               "nodes": args.nodes}  # fmt: skip
    if args.json:
        figures = {"pods_per_s": figures["pods_per_s"]}
    emit("batch cycle decisions", figures, as_json=args.json,
         notes=f"median of {args.repeats}; target >= 20,000 pods/s")  # fmt: skip


if __name__ == "__main__":
    main()
