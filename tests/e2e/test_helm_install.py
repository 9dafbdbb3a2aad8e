"""`helm install` of deploy/helm/colo on a dev cluster of its own, as docs/install.md does
it: the release installs and becomes ready (kwok plays the kubelet, so every pod the
chart's workloads make is scheduled and reported Running and Ready, without containers),
an upgrade keeps the webhook's certificate, and an uninstall removes what was installed.

Its own cluster: the chart's MutatingWebhookConfiguration, stored for real here, would
have the session cluster's API server call a webhook Service nothing serves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from e2ekit import eventually

from colo.devcluster import ApiClient, ClusterOptions, ClusterState, DevCluster
from colo.devcluster.apiclient import ApiError
from colo.devcluster.chart import CHART, helm

pytestmark = [pytest.mark.e2e, pytest.mark.chart, pytest.mark.slow]

NS = "colo-system"
#: The fake nodes' taint, tolerated by every Deployment (the agent tolerates everything).
KWOK = [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}]
VALUES = {f"{c}.tolerations": KWOK for c in ("batch", "coordinator", "cron", "webhook")}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterState]:
    dev = DevCluster(tmp_path_factory.mktemp("helm"))
    state = dev.up(ClusterOptions(nodes=3, with_scheduler=True))
    try:
        yield state
    finally:
        dev.down()


@pytest.fixture(scope="module")
def api(cluster: ClusterState) -> Iterator[ApiClient]:
    client = cluster.client()
    yield client
    client.close()


def workloads(api: ApiClient) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for kind, resource in (("Deployment", "deployments"), ("DaemonSet", "daemonsets")):
        items = api.get(f"/apis/apps/v1/namespaces/{NS}/{resource}")["items"]
        out += [{**item, "kind": kind} for item in items]  # lists leave the kind out
    return out


def secret_data(api: ApiClient) -> dict[str, str]:
    data: dict[str, str] = api.get(f"/api/v1/namespaces/{NS}/secrets/colo-webhook-tls")["data"]
    return data


def test_install_upgrade_and_uninstall(cluster: ClusterState, api: ApiClient) -> None:
    kubeconfig = cluster.kubeconfig
    helm("install", "colo", str(CHART), "--namespace", NS, "--create-namespace",
         "--wait", "--timeout", "180s", kubeconfig=kubeconfig, values=VALUES)  # fmt: skip
    status = json.loads(helm("status", "colo", "-n", NS, "-o", "json", kubeconfig=kubeconfig))
    assert status["info"]["status"] == "deployed"

    # every workload is ready: Deployments with all replicas, the agent on every node
    found = {w["metadata"]["name"]: w for w in workloads(api)}
    assert set(found) == {"colo-agent", "colo-batch", "colo-coordinator", "colo-cron",
                          "colo-webhook"}  # fmt: skip
    for name, w in found.items():
        if w["kind"] == "DaemonSet":
            assert w["status"]["numberReady"] == 3, (name, w["status"])  # 3 nodes
        else:
            assert w["status"]["readyReplicas"] == w["spec"]["replicas"], (name, w["status"])

    # the agents run privileged as root, on the host's PID namespace, critical
    pods = api.get(f"/api/v1/namespaces/{NS}/pods?labelSelector=app.kubernetes.io/name=colo-agent")
    assert len(pods["items"]) == 3
    assert {p["spec"]["priority"] for p in pods["items"]} == {2_000_001_000}

    # an upgrade keeps the webhook's certificate (the chart looks the Secret up) ...
    before = secret_data(api)
    hook = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/colo-webhook"
    bundle = api.get(hook)["webhooks"][0]["clientConfig"]["caBundle"]
    helm("upgrade", "colo", str(CHART), "--namespace", NS, "--reuse-values", "--wait",
         "--timeout", "120s", "--set", "batch.qps=400", kubeconfig=kubeconfig)  # fmt: skip
    assert secret_data(api) == before
    assert api.get(hook)["webhooks"][0]["clientConfig"]["caBundle"] == bundle
    batch = api.get(f"/apis/apps/v1/namespaces/{NS}/deployments/colo-batch")
    assert "--qps=400" in batch["spec"]["template"]["spec"]["containers"][0]["command"]

    # ... and an uninstall removes the release's objects, cluster-wide ones included
    helm("uninstall", "colo", "--namespace", NS, "--wait", kubeconfig=kubeconfig)

    def gone(path: str) -> bool:
        try:
            api.get(path)
        except ApiError as e:
            return e.status == 404
        return False

    for path in (hook, "/apis/rbac.authorization.k8s.io/v1/clusterroles/colo-batch",
                 f"/apis/apps/v1/namespaces/{NS}/daemonsets/colo-agent"):  # fmt: skip
        eventually(lambda path=path: gone(path), what=f"{path} deleted", timeout_s=30)
