"""deploy/helm/colo against the real kube-apiserver (1.35): every object the chart renders,
for default and non-default values, is accepted with strict field validation, and
SubjectAccessReviews show what each process's service account may and may not do.

The optional kinds (cert-manager's Issuer and Certificate, the Prometheus operator's
ServiceMonitor) are checked against their real CRDs, installed from the modules pinned in
build/cluster/versions.env. Workloads and the MutatingWebhookConfiguration are created
as dry runs (validated and admitted in full, never stored): their controllers would put
pods on the shared session cluster's kwok nodes, and a stored webhook configuration
would have the API server call a webhook that is not running for every pod the other
tests create. Everything else is created for real, so the reviews ask about the roles
and bindings as a cluster would have them, and deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from e2ekit import transport

from colo.core.errors import Conflict, NotFound, Permanent
from colo.devcluster import ClusterState
from colo.devcluster.chart import Rendered, render, schema_dir
from colo.devcluster.nodes import standard_node
from colo.kube.transport import Transport

pytestmark = [pytest.mark.e2e, pytest.mark.chart]

NS = "colo-chart-e2e"
RELEASE = "e2e"  # objects are named e2e-colo-<process>
OPTIONAL_APIS = ["cert-manager.io/v1", "monitoring.coreos.com/v1"]
#: Everything on: the extender, cert-manager with the chart's own Issuer, ServiceMonitors.
ALL_ON = {
    "extender.enabled": True,
    "webhook.tls.certManager": True,
    "metrics.serviceMonitor.enabled": True,
}
#: Kinds whose objects are created as dry runs only (see the module's docstring).
DRY_ONLY = {"Deployment", "DaemonSet", "MutatingWebhookConfiguration"}

#: kind -> (API path prefix, resource, namespaced)
COLLECTIONS = {
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "Service": ("/api/v1", "services", True),
    "Secret": ("/api/v1", "secrets", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "DaemonSet": ("/apis/apps/v1", "daemonsets", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets", True),
    "MutatingWebhookConfiguration": (
        "/apis/admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations", False,
    ),
    "Issuer": ("/apis/cert-manager.io/v1", "issuers", True),
    "Certificate": ("/apis/cert-manager.io/v1", "certificates", True),
    "ServiceMonitor": ("/apis/monitoring.coreos.com/v1", "servicemonitors", True),
}  # fmt: skip


def collection(doc: dict[str, Any]) -> str:
    assert doc["kind"] in COLLECTIONS, f"the test does not know where a {doc['kind']} goes"
    prefix, resource, namespaced = COLLECTIONS[doc["kind"]]
    if namespaced:
        return f"{prefix}/namespaces/{doc['metadata']['namespace']}/{resource}"
    return f"{prefix}/{resource}"


def account(process: str) -> tuple[str, list[str]]:
    """The user name and groups a token of the process's service account authenticates as."""
    return (
        f"system:serviceaccount:{NS}:{RELEASE}-colo-{process}",
        ["system:serviceaccounts", f"system:serviceaccounts:{NS}", "system:authenticated"],
    )


def attrs(verb: str, resource: str, *, group: str = "", sub: str = "", ns: str = "",
          name: str = "") -> dict[str, str]:  # fmt: skip
    out = {"verb": verb, "group": group, "resource": resource}
    for key, value in (("subresource", sub), ("namespace", ns), ("name", name)):
        if value:
            out[key] = value
    return out


LEASES = "coordination.k8s.io"
#: (process, what, attributes, allowed)
REVIEWS = [
    # colo-agent
    ("agent", "patch nodes/status", attrs("patch", "nodes", sub="status"), True),
    ("agent", "watch pods", attrs("watch", "pods"), True),
    ("agent", "evict pods", attrs("create", "pods", sub="eviction", ns="default"), True),
    ("agent", "renew its heartbeat lease", attrs("patch", "leases", group=LEASES, ns=NS), True),
    ("agent", "delete pods", attrs("delete", "pods", ns="default"), False),
    ("agent", "update nodes", attrs("update", "nodes"), False),
    ("agent", "touch leases elsewhere", attrs("update", "leases", group=LEASES, ns="default"),
     False),
    # colo-batch
    ("batch", "bind pods", attrs("create", "pods", sub="binding", ns="default"), True),
    ("batch", "report PodScheduled", attrs("patch", "pods", sub="status", ns="default"), True),
    ("batch", "watch nodes", attrs("watch", "nodes"), True),
    ("batch", "renew its lease", attrs("update", "leases", group=LEASES, ns=NS,
                                       name="colo-batch"), True),
    ("batch", "take colo-cron's lease", attrs("update", "leases", group=LEASES, ns=NS,
                                              name="colo-cron"), False),
    ("batch", "delete pods", attrs("delete", "pods", ns="default"), False),
    ("batch", "zero a silent node's batch capacity", attrs("patch", "nodes", sub="status"),
     True),
    ("batch", "list heartbeats", attrs("list", "leases", group=LEASES, ns=NS), True),
    ("batch", "update nodes", attrs("update", "nodes"), False),
    ("batch", "read secrets", attrs("get", "secrets", ns=NS), False),
    # colo-coordinator
    ("coordinator", "watch pods", attrs("watch", "pods"), True),
    ("coordinator", "list nodes", attrs("list", "nodes"), True),
    ("coordinator", "bind pods", attrs("create", "pods", sub="binding", ns="default"), False),
    ("coordinator", "create events", attrs("create", "events", ns="default"), False),
    # colo-cron
    ("cron", "create jobs", attrs("create", "jobs", group="batch", ns="default"), True),
    ("cron", "create pods", attrs("create", "pods", ns="default"), True),
    ("cron", "patch cronjobs/status",
     attrs("patch", "cronjobs", group="batch", sub="status", ns="default"), True),
    ("cron", "renew its lease", attrs("update", "leases", group=LEASES, ns=NS,
                                      name="colo-cron"), True),
    ("cron", "update cronjobs", attrs("update", "cronjobs", group="batch", ns="default"), False),
    ("cron", "bind pods", attrs("create", "pods", sub="binding", ns="default"), False),
    ("cron", "delete cronjobs", attrs("delete", "cronjobs", group="batch", ns="default"), False),
    # colo-extender
    ("extender", "bind pods", attrs("create", "pods", sub="binding", ns="default"), True),
    ("extender", "get a pod", attrs("get", "pods", ns="default"), True),
    ("extender", "list pods", attrs("list", "pods"), False),
    # colo-webhook: no token, no roles
    ("webhook", "get pods", attrs("get", "pods", ns="default"), False),
]  # fmt: skip


async def review(t: Transport, process: str, resource_attrs: dict[str, str]) -> dict[str, Any]:
    user, groups = account(process)
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": user, "groups": groups, "resourceAttributes": resource_attrs},
    }
    got = await t.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", body)
    status: dict[str, Any] = got["status"]
    return status


async def install_crds(t: Transport) -> None:
    """The CRDs of the optional kinds, once per cluster; waits until they serve."""
    crds = sorted((schema_dir() / "crds").glob("*.yaml"))
    assert len(crds) == 3, crds
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    for f in crds:
        for doc in yaml.safe_load_all(f.read_text(encoding="utf-8")):
            if not doc:
                continue
            with contextlib.suppress(Conflict):
                await t.post(path, doc)
            for _ in range(100):
                got = await t.get(f"{path}/{doc['metadata']['name']}")
                conditions = (got.get("status") or {}).get("conditions") or []
                if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail(f"CRD {doc['metadata']['name']} not Established after 10 s")


async def create(t: Transport, doc: dict[str, Any], *, dry: bool) -> dict[str, Any]:
    params = {"fieldValidation": "Strict"}
    if dry:
        params["dryRun"] = "All"
    got: dict[str, Any] = await t.request("POST", collection(doc), params=params, body=doc)
    return got


@pytest.fixture(scope="module")
def installed(dev_cluster: ClusterState) -> Iterator[Rendered]:
    """The chart with everything on, created in NS (workloads as dry runs); deleted after."""
    rendered = render(ALL_ON, release=RELEASE, namespace=NS, api_versions=OPTIONAL_APIS)
    created: list[str] = []

    async def up() -> None:
        async with transport(dev_cluster) as t:
            await install_crds(t)
            with contextlib.suppress(Conflict):
                await t.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                    "metadata": {"name": NS}})  # fmt: skip
            # Roles before the bindings that name them; the order helm installs in.
            for doc in sorted(rendered.objects, key=lambda d: d["kind"] in DRY_ONLY):
                got = await create(t, doc, dry=doc["kind"] in DRY_ONLY)
                assert (got["kind"], got["metadata"]["name"]) == (
                    doc["kind"], doc["metadata"]["name"],
                )  # fmt: skip
                if doc["kind"] not in DRY_ONLY:
                    created.append(f"{collection(doc)}/{doc['metadata']['name']}")
            # The authorizer follows the bindings a moment after they are stored: wait
            # for one permission of each process, so the denials are not mere lag.
            first = {p: a for p, _, a, allowed in reversed(REVIEWS) if allowed}
            for process, resource_attrs in first.items():
                for _ in range(100):
                    if (await review(t, process, resource_attrs)).get("allowed"):
                        break
                    await asyncio.sleep(0.1)

    async def down() -> None:
        async with transport(dev_cluster) as t:
            for path in reversed(created):
                with contextlib.suppress(NotFound):
                    await t.request("DELETE", path)

    try:
        asyncio.run(up())
        yield rendered
    finally:
        asyncio.run(down())


def test_every_object_of_the_chart_with_everything_on_is_accepted(
    installed: Rendered, dev_cluster: ClusterState
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            for doc in installed.objects:
                path = f"{collection(doc)}/{doc['metadata']['name']}"
                if doc["kind"] in DRY_ONLY:
                    with pytest.raises(NotFound):  # a dry run stores nothing
                        await t.get(path)
                else:
                    assert (await t.get(path))["kind"] == doc["kind"]

    asyncio.run(body())
    kinds = {d["kind"] for d in installed.objects}
    assert {"Certificate", "Issuer", "ServiceMonitor", "MutatingWebhookConfiguration"} <= kinds


def test_the_default_chart_is_accepted_in_full(
    installed: Rendered, dev_cluster: ClusterState
) -> None:
    """The default values, every object as a strict dry run (the namespace exists)."""
    rendered = render(release="dflt", namespace=NS)

    async def body() -> None:
        async with transport(dev_cluster) as t:
            for doc in rendered.objects:
                got = await create(t, doc, dry=True)
                assert got["metadata"]["name"] == doc["metadata"]["name"]

    asyncio.run(body())


def test_a_misspelt_field_is_refused_by_the_api_server(
    installed: Rendered, dev_cluster: ClusterState
) -> None:
    """Strict field validation is on: the acceptance above means something."""
    (deployment,) = [d for d in installed.of_kind("Deployment")
                     if d["metadata"]["name"] == f"{RELEASE}-colo-batch"]  # fmt: skip
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 3}}

    async def body() -> None:
        async with transport(dev_cluster) as t:
            with pytest.raises(Permanent, match=r'unknown field \\?"spec\.replica\\?"'):
                await create(t, broken, dry=True)

    asyncio.run(body())


def test_the_agent_pod_for_a_node_is_admitted_critical(
    installed: Rendered, dev_cluster: ClusterState
) -> None:
    """Admission checks a DaemonSet's template only as far as validation goes; the pod
    its controller would make for one node is created as a dry run too."""
    (ds,) = installed.of_kind("DaemonSet")
    template = ds["spec"]["template"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "colo-agent-", "namespace": NS, **template["metadata"]},
        "spec": {**template["spec"], "nodeName": standard_node(0)["metadata"]["name"]},
    }

    async def body() -> None:
        async with transport(dev_cluster) as t:
            got = await t.request(
                "POST", f"/api/v1/namespaces/{NS}/pods", params={"dryRun": "All"}, body=pod
            )
            assert got["spec"]["priority"] == 2_000_001_000, got["spec"]

    asyncio.run(body())


@pytest.mark.parametrize(
    ("process", "what", "resource_attrs", "allowed"),
    REVIEWS,
    ids=[f"{p}-{'may' if a else 'may-not'}-{w.replace(' ', '-')}" for p, w, _, a in REVIEWS],
)
def test_each_process_may_do_what_it_needs_and_no_more(
    installed: Rendered,
    dev_cluster: ClusterState,
    process: str,
    what: str,
    resource_attrs: dict[str, str],
    allowed: bool,
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            status = await review(t, process, resource_attrs)
            assert bool(status.get("allowed")) is allowed, f"colo-{process}: {what}: {status}"

    asyncio.run(body())


def test_an_upgrade_keeps_the_webhook_certificate_until_it_is_due_for_renewal(
    installed: Rendered, dev_cluster: ClusterState
) -> None:
    """`helm upgrade` renders against the cluster: a certificate with more than
    renewDaysBefore days left is kept (the caBundle too, so running pods stay trusted);
    one closer to its expiry is replaced. (cert-manager's CRDs are in this cluster, so
    the chart's own certificate is asked for.)"""
    own = {"webhook.tls.certManager": False}
    first = render(own, release="rot", namespace=NS)
    secret = first.named("Secret", "rot-colo-webhook-tls")
    path = f"{collection(secret)}/{secret['metadata']['name']}"

    def ca_bundle(r: Rendered) -> str:
        (config,) = r.of_kind("MutatingWebhookConfiguration")
        bundle: str = config["webhooks"][0]["clientConfig"]["caBundle"]
        return bundle

    async def store(not_after: str | None) -> None:
        # what `helm install` leaves on the objects it owns
        owned = {"meta.helm.sh/release-name": "rot", "meta.helm.sh/release-namespace": NS}
        body = {**secret, "metadata": {**secret["metadata"], "annotations": owned}}
        if not_after:
            body["metadata"]["annotations"]["colo.io/not-after"] = not_after
        async with transport(dev_cluster) as t:
            with contextlib.suppress(NotFound):
                await t.request("DELETE", path)
            await create(t, body, dry=False)

    async def drop() -> None:
        async with transport(dev_cluster) as t:
            with contextlib.suppress(NotFound):
                await t.request("DELETE", path)

    try:
        asyncio.run(store(secret["metadata"]["annotations"]["colo.io/not-after"]))
        kept = render(own, release="rot", namespace=NS, kubeconfig=dev_cluster.kubeconfig)
        assert kept.named("Secret", secret["metadata"]["name"])["data"] == secret["data"]
        assert ca_bundle(kept) == ca_bundle(first)
        # 10 days left, renewDaysBefore is 30: due
        soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        asyncio.run(store(soon))
        renewed = render(own, release="rot", namespace=NS, kubeconfig=dev_cluster.kubeconfig)
        assert renewed.named("Secret", secret["metadata"]["name"])["data"] != secret["data"]
        assert ca_bundle(renewed) != ca_bundle(first)
        # a Secret without the annotation (made by hand) is replaced, not trusted blindly
        asyncio.run(store(None))
        unknown = render(own, release="rot", namespace=NS, kubeconfig=dev_cluster.kubeconfig)
        assert unknown.named("Secret", secret["metadata"]["name"])["data"] != secret["data"]
    finally:
        asyncio.run(drop())
