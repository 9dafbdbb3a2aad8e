"""Small clusters and pods for the colo.sched tests."""

from __future__ import annotations

from typing import Any

from colo.core.builders import NodeBuilder, PodBuilder
from colo.core.objects import Node, Pod
from colo.sched.requirements import Requirements, requirements_of
from colo.sched.snapshot import Snapshot


def node(name: str, cpu: str = "8", mem: str = "32Gi", pods: int = 110, *, batch_cpu: int = 0,
         labels: dict[str, str] | None = None, taints: list[tuple[str, str]] | None = None,
         annotations: dict[str, str] | None = None) -> Node:  # fmt: skip
    ext = {"colo.io/batch-cpu": str(batch_cpu)} if batch_cpu else None
    b = NodeBuilder(name).allocatable(cpu=cpu, memory=mem, pods=pods, extended=ext)
    for k, v in (labels or {}).items():
        b = b.label(k, v)
    for k, v in taints or []:
        b = b.taint(k, v)
    for k, v in (annotations or {}).items():
        b = b.annotation(k, v)
    return Node.from_k8s(b.obj())


def pod(name: str, *, cpu: str | None = "1", batch_cpu: int = 0, job: str | None = None,
        priority: int = 0, spec: dict[str, Any] | None = None,
        labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
        ) -> Requirements:  # fmt: skip
    b = PodBuilder(name, namespace="ns")
    if job:
        b = b.owner("Job", job)
    for k, v in (labels or {}).items():
        b = b.label(k, v)
    obj = b.obj()
    req: dict[str, str] = {}
    if cpu:
        req["cpu"] = cpu
    if batch_cpu:
        req["colo.io/batch-cpu"] = str(batch_cpu)
    obj["spec"]["containers"][0]["resources"] = {"requests": req}
    obj["spec"]["priority"] = priority
    obj["spec"].update(spec or {})
    if annotations:
        obj["metadata"].setdefault("annotations", {}).update(annotations)
    return requirements_of(Pod.from_k8s(obj))


def snapshot(*nodes: Node) -> Snapshot:
    snap = Snapshot(capacity=4)
    for n in nodes:
        snap.upsert_node(n)
    return snap
