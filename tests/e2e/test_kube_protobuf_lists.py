"""Pod lists in Protobuf (colo.kube.protolist) against the real API server: the same
pods listed as JSON and as Protobuf give the same shaped objects and the same views."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from e2ekit import new_namespace, pod_body, transport

from colo.core.objects import Pod
from colo.devcluster import ClusterState
from colo.kube import protolist
from colo.kube.informer import Informer
from colo.kube.protolist import decode_pod_list
from colo.kube.shapes import POD, PROTOBUF_MAGIC
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


async def listed(t: Transport, ns: str, accept: str) -> bytes:
    """One list page's body, asked for in `accept` (the bytes, to see the encoding)."""
    headers = {"Authorization": f"Bearer {t.config.token}", "Accept": accept}
    async with t._sess().get(t.base_url + f"/api/v1/namespaces/{ns}/pods", headers=headers) as r:
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
            as_pb = await listed(t, ns, POD.list_accept)
            as_json = await listed(t, ns, "application/json")
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
            monkeypatch.setattr(protolist, "decode_pod_list", counting)
            inf = Informer(t, "pods", namespace=ns, page_size=2)
            await inf.relist()
            assert len(decoded) == 2, decoded
            cached = {key.split("/")[1]: obj for key, obj in inf.raw().items()}
            assert cached["rich"] == by_name["rich"]

    asyncio.run(body())
