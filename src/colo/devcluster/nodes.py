"""Fake nodes for the dev cluster: build the Node objects, create them, wait for Ready.

Two kinds, both managed by kwok (annotation ``kwok.x-k8s.io/node: fake``) and both tainted
``kwok.x-k8s.io/node=fake:NoSchedule`` so only pods that tolerate it land there:

- standard ``node-0000``…: label ``type=kwok``; capacity cycles through four machine
  shapes (32/48/64/96 cores with 4 GiB of memory per core), 110 pods; allocatable keeps
  back 1 core and 4 GiB for the system, like a kubelet's system-reserved.
- virtual ``virtual-node-0000``…: label ``type=virtual-kubelet``, taint
  ``virtual-kubelet.io/provider=colo:NoSchedule`` (what virtual-kubelet providers set),
  1000 cores, 4 TiB, 5000 pods — a serverless pool.

The API server keeps the status a client sends when it *creates* a Node, so capacity is
set in the create request; kwok then adds the Ready condition.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from colo.core.virtual import VIRTUAL_NODE_LABEL_KEY, VIRTUAL_NODE_LABEL_VALUE, VIRTUAL_TAINT_KEY
from colo.devcluster.apiclient import ApiClient, ApiError
from colo.devcluster.errors import NodesFailed

KWOK_ANNOTATION = "kwok.x-k8s.io/node"
KWOK_TAINT = {"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}
VIRTUAL_TAINT = {"key": VIRTUAL_TAINT_KEY, "value": "colo", "effect": "NoSchedule"}
NOT_READY_TAINT_KEY = "node.kubernetes.io/not-ready"

STANDARD_PREFIX = "node-"
VIRTUAL_PREFIX = "virtual-node-"

#: (cores, GiB) of standard nodes, used in turn: node i gets shape i mod 4.
STANDARD_SHAPES: tuple[tuple[int, int], ...] = ((32, 128), (48, 192), (64, 256), (96, 384))
STANDARD_PODS = 110
RESERVED_CORES = 1
RESERVED_GIB = 4
VIRTUAL_CORES = 1000
VIRTUAL_GIB = 4096
VIRTUAL_PODS = 5000


def node_name(prefix: str, index: int) -> str:
    return f"{prefix}{index:04d}"


def _node(
    name: str,
    *,
    labels: dict[str, str],
    taints: list[dict[str, str]],
    capacity: dict[str, str],
    allocatable: dict[str, str],
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                **labels,
            },
            "annotations": {KWOK_ANNOTATION: "fake"},
        },
        "spec": {"taints": taints},
        "status": {"capacity": capacity, "allocatable": allocatable},
    }


def standard_node(index: int) -> dict[str, Any]:
    cores, gib = STANDARD_SHAPES[index % len(STANDARD_SHAPES)]
    return _node(
        node_name(STANDARD_PREFIX, index),
        labels={"type": "kwok"},
        taints=[dict(KWOK_TAINT)],
        capacity={"cpu": str(cores), "memory": f"{gib}Gi", "pods": str(STANDARD_PODS)},
        allocatable={
            "cpu": str(cores - RESERVED_CORES),
            "memory": f"{gib - RESERVED_GIB}Gi",
            "pods": str(STANDARD_PODS),
        },
    )


def virtual_node(index: int) -> dict[str, Any]:
    resources = {"cpu": str(VIRTUAL_CORES), "memory": f"{VIRTUAL_GIB}Gi", "pods": str(VIRTUAL_PODS)}
    return _node(
        node_name(VIRTUAL_PREFIX, index),
        labels={VIRTUAL_NODE_LABEL_KEY: VIRTUAL_NODE_LABEL_VALUE},
        taints=[dict(VIRTUAL_TAINT), dict(KWOK_TAINT)],
        capacity=dict(resources),
        allocatable=dict(resources),
    )


def fleet(standard: int, virtual: int) -> list[dict[str, Any]]:
    """`standard` standard nodes, then `virtual` virtual nodes."""
    return [standard_node(i) for i in range(standard)] + [virtual_node(i) for i in range(virtual)]


def create_nodes(client: ApiClient, nodes: Sequence[dict[str, Any]], *, workers: int = 32) -> None:
    """POST every node, `workers` at a time. A node that already exists counts as created
    (a retried POST may have succeeded the first time). Raises `NodesFailed` on any error."""
    if not nodes:
        return

    def create(node: dict[str, Any]) -> None:
        try:
            client.post("/api/v1/nodes", node)
        except ApiError as exc:
            if exc.status != 409:
                raise

    with ThreadPoolExecutor(max_workers=min(workers, len(nodes))) as pool:
        futures = [pool.submit(create, node) for node in nodes]
        errors = [f.exception() for f in futures]
    failed = [(node["metadata"]["name"], e) for node, e in zip(nodes, errors, strict=True) if e]
    if failed:
        name, first = failed[0]
        raise NodesFailed(f"creating {len(failed)} of {len(nodes)} nodes failed; {name}: {first}")


def is_schedulable(node: dict[str, Any]) -> bool:
    """Ready=True, and the node-lifecycle controller has lifted the not-ready taint."""
    conditions = node.get("status", {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    taints = node.get("spec", {}).get("taints") or []
    return ready and not any(t.get("key") == NOT_READY_TAINT_KEY for t in taints)


def wait_schedulable(
    client: ApiClient,
    names: Sequence[str],
    *,
    timeout_s: float,
    on_progress: Callable[[int, int], None] | None = None,
    poll_s: float = 1.0,
) -> float:
    """Wait until every named node `is_schedulable`; return the seconds it took.

    Raises `NodesFailed` naming a node that is still not ready after `timeout_s`.
    """
    started = time.monotonic()
    wanted = set(names)
    last_count = -1
    while True:
        listing = client.get("/api/v1/nodes?labelSelector=type")
        done = {
            item["metadata"]["name"]
            for item in listing.get("items", [])
            if item["metadata"]["name"] in wanted and is_schedulable(item)
        }
        if on_progress is not None and len(done) != last_count:
            on_progress(len(done), len(wanted))
            last_count = len(done)
        if done >= wanted:
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            missing = sorted(wanted - done)
            raise NodesFailed(
                f"{len(missing)} of {len(wanted)} nodes not Ready and untainted after "
                f"{timeout_s:g} s (first: {missing[0]}); see the kwok and "
                "kube-controller-manager logs"
            )
        time.sleep(poll_s)


def make_not_ready(client: ApiClient, name: str, *, reason: str = "ColoDevCluster") -> None:
    """Turn a kwok node NotReady, as a dead kubelet would leave it: kwok keeps its nodes
    Ready, so the node is first taken out of kwok's hands (annotation off), then its
    Ready condition is set False. The node-lifecycle controller then taints it."""
    client.request(
        "PATCH", f"/api/v1/nodes/{name}", {"metadata": {"annotations": {KWOK_ANNOTATION: "off"}}},
        content_type="application/merge-patch+json",
    )  # fmt: skip
    conditions = client.get(f"/api/v1/nodes/{name}")["status"]["conditions"]
    for c in conditions:
        if c["type"] == "Ready":
            c.update(status="False", reason=reason, message="taken down on purpose")
    client.request(
        "PATCH", f"/api/v1/nodes/{name}/status", {"status": {"conditions": conditions}},
        content_type="application/merge-patch+json",
    )  # fmt: skip
