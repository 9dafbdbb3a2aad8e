"""Pod and node lists in Protobuf (colo.kube.protolist) against the real API server: the
same objects listed as JSON and as Protobuf give the same shaped objects and views."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from e2ekit import new_namespace, pod_body, transport

from colo.core.objects import Node, Pod
from colo.devcluster import ClusterState
from colo.kube import protolist
from colo.kube.informer import Informer
from colo.kube.protolist import decode_node_list, decode_pod_list
from colo.kube.shapes import NODE, POD, PROTOBUF_MAGIC
from colo.kube.transport import Transport

pytestmark = pytest.mark.e2e


def rich_pod(name: str, owner: dict[str, Any]) -> dict[str, Any]:
    """A pod with every field the shape keeps, in the forms a user writes them."""
    term = {
        "labelSelector": {
            "matchLabels": {"app": "colo-e2e"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}],
        },
        "namespaces": ["default"],
        "topologyKey": "kubernetes.io/hostname",
        "namespaceSelector": {},
        "matchLabelKeys": ["pod-template-hash"],
    }
    body = pod_body(
        name,
        scheduler="colo-e2e-nobody",
        nodeSelector={"type": "kwok", "zone": "z1"},
        tolerations=[
            {"key": "kwok.x-k8s.io/node", "operator": "Exists"},
            {"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"},
            {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30},
        ],
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "type", "operator": "Exists"}]},
                        {"matchFields": [
                            {"key": "metadata.name", "operator": "In", "values": ["node-0"]}
                        ]},
                    ]
                },
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 7, "preference": {"matchExpressions": [
                        {"key": "zone", "operator": "NotIn", "values": ["z9"]}
                    ]}}
                ],
            },
            "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]},
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 50, "podAffinityTerm": {**term, "mismatchLabelKeys": ["x"]}}
                ]
            },
        },
        initContainers=[
            {"name": "setup", "image": "busybox",
             "resources": {"requests": {"cpu": "1500m", "memory": "1Gi"}}},
            {"name": "sidecar", "image": "busybox", "restartPolicy": "Always",
             "resources": {"requests": {"cpu": "0.1"}, "limits": {"cpu": "200m"}}},
        ],
        containers=[
            {"name": "main", "image": "busybox",
             "resources": {"requests": {"cpu": "2", "memory": "3.5Gi",
                                        "colo.io/batch-cpu": "2k"},
                           "limits": {"memory": "4Gi", "colo.io/batch-cpu": "2k"}}},
            {"name": "second", "image": "busybox"},
        ],
    )  # fmt: skip
    meta = body["metadata"]
    meta["labels"] = {"app": "colo-e2e", "tier": "a", "colo.io/tier": "batch"}
    meta["annotations"] = {"colo.io/start-at": "2026-12-08T00:00:00Z", "note": ""}
    meta["ownerReferences"] = [owner]
    return body


async def listed(t: Transport, path: str, accept: str) -> bytes:
    """One list page's body, asked for in `accept` (the bytes, to see the encoding)."""
    headers = {"Authorization": f"Bearer {t.config.token}", "Accept": accept}
    async with t._sess().get(t.base_url + path, headers=headers) as r:
        assert r.status == 200, await r.text()
        return await r.read()


def test_protobuf_and_json_lists_give_the_same_pods(
    dev_cluster: ClusterState, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[int] = []  # the Protobuf pages the informer took in: their sizes

    def counting(body: bytes) -> dict[str, Any]:
        decoded.append(len(body))
        return decode_pod_list(body)

    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            got_ns = await t.get(f"/api/v1/namespaces/{ns}")
            owner = {"apiVersion": "v1", "kind": "Namespace", "name": ns,
                     "uid": got_ns["metadata"]["uid"], "controller": True}  # fmt: skip
            await t.post(
                f"/api/v1/namespaces/{ns}/pods", pod_body("plain", scheduler="colo-e2e-nobody")
            )
            await t.post(f"/api/v1/namespaces/{ns}/pods", rich_pod("rich", owner))
            await t.post(
                f"/api/v1/namespaces/{ns}/pods",
                pod_body("bound", nodeName="node-0", schedulerName="colo-e2e-nobody"),
            )
            as_pb = await listed(t, f"/api/v1/namespaces/{ns}/pods", POD.list_accept)
            as_json = await listed(t, f"/api/v1/namespaces/{ns}/pods", "application/json")
            assert as_pb[:4] == PROTOBUF_MAGIC, "the API server did not answer in Protobuf"
            from_pb = decode_pod_list(as_pb)["items"]
            from_json = POD.decode_list(as_json)["items"]
            by_name = {p["metadata"]["name"]: p for p in from_json}
            assert len(from_pb) == 3
            for pod in from_pb:
                name = pod["metadata"]["name"]
                if (
                    pod["metadata"]["resourceVersion"]
                    != by_name[name]["metadata"]["resourceVersion"]
                ):
                    continue  # changed between the two lists (kwok's status on "bound")
                assert pod == by_name[name], name
                assert Pod.from_k8s(pod) == Pod.from_k8s(by_name[name]), name
            rich = next(p for p in from_pb if p["metadata"]["name"] == "rich")
            assert (
                rich["metadata"]["resourceVersion"]
                == by_name["rich"]["metadata"]["resourceVersion"]
            )
            view = Pod.from_k8s(rich)
            assert view.owner_kind == "Namespace" and view.affinity is not None
            assert [t.toleration_seconds for t in view.tolerations] == [None, None, 30]

            # The informer lists in Protobuf (three pods: a page of two, then one) and its cache
            # holds the same objects.
            monkeypatch.setitem(protolist.DECODERS, "pods", counting)
            inf = Informer(t, "pods", namespace=ns, page_size=2)
            await inf.relist()
            assert len(decoded) == 2, decoded
            cached = {key.split("/")[1]: obj for key, obj in inf.raw().items()}
            assert cached["rich"] == by_name["rich"]

    asyncio.run(body())


def test_protobuf_and_json_lists_give_the_same_nodes(dev_cluster: ClusterState) -> None:
    """kwok's nodes (capacity, allocatable, conditions) and one of the test's own, with
    what kwok's lack: taints (one with the time it was added), cordoned, no status."""
    name = "colo-e2e-pb-node"
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"colo-e2e": "pb", "zone": "z1"},
                     "annotations": {"note": "not kwok's"}},
        "spec": {
            "unschedulable": True,
            "taints": [
                {"key": "dedicated", "value": "batch", "effect": "NoSchedule"},
                {"key": "gone", "effect": "NoExecute", "timeAdded": "2026-12-08T01:02:03Z"},
                {"key": "plain", "effect": "PreferNoSchedule"},
            ],
        },
    }  # fmt: skip

    async def body() -> None:
        async with transport(dev_cluster) as t:
            await t.post("/api/v1/nodes", node)
            try:
                as_pb = await listed(t, "/api/v1/nodes", NODE.list_accept)
                as_json = await listed(t, "/api/v1/nodes", "application/json")
            finally:
                await t.request("DELETE", f"/api/v1/nodes/{name}")
            assert as_pb[:4] == PROTOBUF_MAGIC, "the API server did not answer in Protobuf"
            from_pb = decode_node_list(as_pb)["items"]
            by_name = {n["metadata"]["name"]: n for n in NODE.decode_list(as_json)["items"]}
            assert sorted(n["metadata"]["name"] for n in from_pb) == sorted(by_name)
            same = 0
            for n in from_pb:
                other = by_name[n["metadata"]["name"]]
                if n["metadata"]["resourceVersion"] != other["metadata"]["resourceVersion"]:
                    continue  # kwok's heartbeat between the two lists
                assert n == other, n["metadata"]["name"]
                assert Node.from_k8s(n) == Node.from_k8s(other)
                same += 1
            assert same >= 2
            ours = next(n for n in from_pb if n["metadata"]["name"] == name)
            assert ours["spec"]["taints"][1]["timeAdded"] == "2026-12-08T01:02:03Z"
            view = Node.from_k8s(ours)
            assert view.unschedulable and [x.key for x in view.taints] == [
                "dedicated",
                "gone",
                "plain",
            ]
            kwok = next(n for n in from_pb if n["metadata"]["name"] != name)
            assert Node.from_k8s(kwok).allocatable.cpu_milli > 0

    asyncio.run(body())
