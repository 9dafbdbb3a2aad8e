"""deploy/agent.yaml against the real kube-apiserver: every object is accepted, and
SubjectAccessReviews show what colo-agent's service account may and may not do.

The objects are the file's own, names and namespace unchanged, so the reviews ask about
system:serviceaccount:colo-system:colo-agent as a cluster would know it. The DaemonSet
is created with dryRun=All: validated and admitted in full, but never stored, so its
controller does not put an agent pod on every kwok node of the shared session cluster
(the other e2e tests count the pods on their nodes). Admission checks a DaemonSet's pod
template only as far as validation goes (an unknown priority class passes), so the pod
its controller would make for one node is created as a dry run too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2ekit import transport

from colo.core.errors import Conflict, NotFound
from colo.devcluster import ClusterState
from colo.devcluster.nodes import standard_node
from colo.kube.transport import Transport

pytestmark = pytest.mark.e2e

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "agent.yaml"
AGENT = "system:serviceaccount:colo-system:colo-agent"
#: What a service account's token authenticates as, besides its user name.
AGENT_GROUPS = [
    "system:serviceaccounts",
    "system:serviceaccounts:colo-system",
    "system:authenticated",
]

#: kind -> (API path prefix, resource): where the manifest's kinds are created.
COLLECTIONS = {
    "Namespace": ("/api/v1", "namespaces"),
    "ServiceAccount": ("/api/v1", "serviceaccounts"),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles"),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings"),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles"),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings"),
    "DaemonSet": ("/apis/apps/v1", "daemonsets"),
}


def collection(doc: dict[str, Any]) -> str:
    assert doc["kind"] in COLLECTIONS, f"the test does not know where to create a {doc['kind']}"
    prefix, resource = COLLECTIONS[doc["kind"]]
    ns = doc["metadata"].get("namespace")
    return f"{prefix}/namespaces/{ns}/{resource}" if ns else f"{prefix}/{resource}"


def attributes(
    verb: str, resource: str, *, group: str = "", sub: str = "", ns: str = ""
) -> dict[str, str]:
    attrs = {"verb": verb, "group": group, "resource": resource}
    if sub:
        attrs["subresource"] = sub
    if ns:
        attrs["namespace"] = ns
    return attrs


#: (what the agent does, resource attributes), allowed.
MAY = [
    ("patch nodes/status", attributes("patch", "nodes", sub="status")),
    ("watch nodes", attributes("watch", "nodes")),
    ("get nodes", attributes("get", "nodes")),
    ("list pods in every namespace", attributes("list", "pods")),
    ("watch pods in every namespace", attributes("watch", "pods")),
    ("get a pod", attributes("get", "pods", ns="default")),
    ("create pods/eviction", attributes("create", "pods", sub="eviction", ns="default")),
    ("create core events", attributes("create", "events", ns="default")),
    ("patch core events", attributes("patch", "events", ns="default")),
    ("create events.k8s.io events", attributes("create", "events", group="events.k8s.io", ns="x")),
    ("patch events.k8s.io events", attributes("patch", "events", group="events.k8s.io", ns="x")),
    ("update leases in colo-system",
     attributes("update", "leases", group="coordination.k8s.io", ns="colo-system")),
    ("patch leases in colo-system",
     attributes("patch", "leases", group="coordination.k8s.io", ns="colo-system")),
    ("create leases in colo-system",
     attributes("create", "leases", group="coordination.k8s.io", ns="colo-system")),
    ("get leases in colo-system",
     attributes("get", "leases", group="coordination.k8s.io", ns="colo-system")),
]  # fmt: skip

#: (what the agent must not do, resource attributes), denied.
MAY_NOT = [
    ("delete pods", attributes("delete", "pods", ns="default")),
    ("create pods", attributes("create", "pods", ns="default")),
    ("update leases in default",
     attributes("update", "leases", group="coordination.k8s.io", ns="default")),
    ("create deployments", attributes("create", "deployments", group="apps", ns="default")),
    ("get secrets", attributes("get", "secrets", ns="colo-system")),
    ("update nodes", attributes("update", "nodes")),
    ("patch pods/status", attributes("patch", "pods", sub="status", ns="default")),
    ("delete events", attributes("delete", "events", ns="default")),
]  # fmt: skip


async def review(t: Transport, attrs: dict[str, str]) -> dict[str, Any]:
    """The API server's SubjectAccessReview status for the agent doing `attrs`."""
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": AGENT, "groups": AGENT_GROUPS, "resourceAttributes": attrs},
    }
    got = await t.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", body)
    status: dict[str, Any] = got["status"]
    return status


async def apply(t: Transport, docs: list[dict[str, Any]], created: list[str]) -> None:
    """Create every object (the DaemonSet as a dry run); add the paths of those created to
    `created`, also when a later one fails.

    The Namespace may be there already: colo-agent's heartbeat creates colo-system on
    demand, so an earlier agent in this session may have. It is left in place afterwards
    for the same reason: deleting it would fail the heartbeats of agents started later.
    """
    for doc in docs:
        path = collection(doc)
        if doc["kind"] == "DaemonSet":
            got = await t.request("POST", path, params={"dryRun": "All"}, body=doc)
            assert got["kind"] == "DaemonSet", got
            assert got["spec"]["template"]["spec"]["serviceAccountName"] == "colo-agent"
            continue
        try:
            got = await t.post(path, doc)
        except Conflict:
            assert doc["kind"] == "Namespace", f"{doc['kind']} {doc['metadata']['name']} exists"
            continue
        assert (got["kind"], got["metadata"]["name"]) == (doc["kind"], doc["metadata"]["name"])
        if doc["kind"] != "Namespace":
            created.append(f"{path}/{doc['metadata']['name']}")


async def granted(t: Transport, attrs: dict[str, str], *, within_s: float = 10.0) -> bool:
    """True once a review allows `attrs` (the authorizer's RBAC cache follows the API
    server's own watch, a moment after the bindings are created); False after `within_s`."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        if (await review(t, attrs)).get("allowed"):
            return True
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
def applied(dev_cluster: ClusterState) -> Iterator[list[dict[str, Any]]]:
    """deploy/agent.yaml applied to the session cluster, its bindings in effect; deleted after."""
    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8")) if d]

    created: list[str] = []

    async def up() -> None:
        async with transport(dev_cluster) as t:
            await apply(t, docs, created)
            # one permission of each binding, so the denials below are not mere lag
            for what, attrs in MAY:
                if what in ("patch nodes/status", "update leases in colo-system"):
                    assert await granted(t, attrs), f"the agent may not {what} after 10 s"

    async def down() -> None:
        async with transport(dev_cluster) as t:
            for path in reversed(created):
                with contextlib.suppress(NotFound):
                    await t.request("DELETE", path)

    try:
        asyncio.run(up())
        yield docs
    finally:
        asyncio.run(down())


def test_the_api_server_accepts_every_object_of_the_manifest(
    applied: list[dict[str, Any]], dev_cluster: ClusterState
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            for doc in applied:
                path = f"{collection(doc)}/{doc['metadata']['name']}"
                if doc["kind"] == "DaemonSet":
                    with pytest.raises(NotFound):  # a dry run stores nothing
                        await t.get(path)
                else:
                    assert (await t.get(path))["kind"] == doc["kind"]

    asyncio.run(body())


def test_the_pod_the_daemonset_makes_for_a_node_is_admitted(
    applied: list[dict[str, Any]], dev_cluster: ClusterState
) -> None:
    (daemonset,) = (d for d in applied if d["kind"] == "DaemonSet")
    template = daemonset["spec"]["template"]
    ns = daemonset["metadata"]["namespace"]
    node = standard_node(0)["metadata"]["name"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "colo-agent-", "namespace": ns, **template["metadata"]},
        "spec": {**template["spec"], "nodeName": node},
    }

    async def body() -> None:
        async with transport(dev_cluster) as t:
            got = await t.request(
                "POST", f"/api/v1/namespaces/{ns}/pods", params={"dryRun": "All"}, body=pod
            )
            # the Priority admission plugin resolved system-node-critical
            assert got["spec"]["priority"] == 2_000_001_000, got["spec"]
            assert got["spec"]["nodeName"] == node

    asyncio.run(body())


@pytest.mark.parametrize(("what", "attrs"), MAY, ids=[w for w, _ in MAY])
def test_the_agent_may(
    applied: list[dict[str, Any]], dev_cluster: ClusterState, what: str, attrs: dict[str, str]
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            status = await review(t, attrs)
            assert status.get("allowed") is True, f"the agent may not {what}: {status}"

    asyncio.run(body())


@pytest.mark.parametrize(("what", "attrs"), MAY_NOT, ids=[w for w, _ in MAY_NOT])
def test_the_agent_may_not(
    applied: list[dict[str, Any]], dev_cluster: ClusterState, what: str, attrs: dict[str, str]
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            status = await review(t, attrs)
            assert not status.get("allowed"), f"the agent may {what}: {status}"

    asyncio.run(body())
