"""The whole colo system live: `up --with-colo` on a small dev cluster of its own.

Its own cluster (4 standard and 1 virtual kwok node), not the session's: colo-batch,
colo-cron and a webhook for every namespace would get in the way of the other e2e tests,
which run their own schedulers and crons. It starts through `DevCluster.up`, the code
path of `colo dev cluster up --with-colo`, and every object below is made with kubectl,
as a user would make it:

- an offline pod is converted by colo-webhook, placed by colo-batch on a standard node
  whose batch capacity colo-agent-replay published, reserved at colo-coordinator, Running;
- a CronJob fires through colo-cron onto the virtual node; once that node is NotReady the
  next CronJob's pod falls back to a standard node;
- a node no agent heartbeats for has its batch capacity zeroed by colo-batch's sweeper.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2ekit import eventually
from prometheus_client.parser import text_string_to_metric_families

from colo.devcluster import (
    ApiClient,
    ClusterOptions,
    ClusterState,
    ComponentFailed,
    DevCluster,
    is_running,
)
from colo.devcluster import withcolo as colo
from colo.devcluster.admission import PATH as WEBHOOKS
from colo.devcluster.binaries import find_kubectl
from colo.devcluster.nodes import make_not_ready, standard_node

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

VIRTUAL = "virtual-node-0000"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterState]:
    cluster = DevCluster(tmp_path_factory.mktemp("live"))
    state = cluster.up(ClusterOptions(nodes=4, virtual_nodes=1, with_colo=True))
    try:
        yield state
    finally:
        stopped = cluster.down()
        assert not [r for r in stopped if is_running(r)]
    for name in colo.PROCESSES:
        text = (Path(state.directory) / "logs" / f"{name}.log").read_text(errors="replace")
        assert "Traceback" not in text, f"{name}:\n{text[-3000:]}"


@pytest.fixture(scope="module")
def api(live: ClusterState) -> Iterator[ApiClient]:
    client = live.client()
    yield client
    client.close()


def kubectl(state: ClusterState, *args: str, stdin: str | None = None) -> str:
    binary = find_kubectl()
    assert binary is not None, "kubectl missing from the cluster-bins manifest"
    done = subprocess.run(
        [str(binary), *args], input=stdin, capture_output=True, text=True, timeout=60,
        env={**os.environ, "KUBECONFIG": state.kubeconfig}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def metrics(state: ClusterState, process: str) -> dict[tuple[str, tuple[Any, ...]], float]:
    port = state.ports[colo.metrics_port(process)]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def pod(api: ApiClient, name: str, ns: str = "default") -> dict[str, Any]:
    got: dict[str, Any] = api.get(f"/api/v1/namespaces/{ns}/pods/{name}")
    return got


def test_up_with_colo_runs_each_process_with_the_charts_flags_and_registers_the_webhook(
    live: ClusterState, api: ApiClient
) -> None:
    names = [r.name for r in live.processes]
    assert set(colo.PROCESSES) <= set(names)
    assert all(is_running(r) for r in live.processes)
    expected = colo.colo_argv(
        live.ports, cert_dir=Path(live.directory) / "config" / "colo-webhook",
        kubeconfigs={p: Path(live.directory) / "config" / f"{p}.kubeconfig"
                     for p in colo.API_CLIENTS},
    )  # fmt: skip
    for name in colo.PROCESSES:
        first = (Path(live.directory) / "logs" / f"{name}.log").read_text().splitlines()[0]
        words, flags = colo.flags(first.split(" -m colo.cli.main ", 1)[1].split())
        want_words, want_flags = colo.flags(expected[name])
        assert words == want_words, name
        trace = flags.pop("--trace", None)  # the traces `up` located: present, not fixed here
        assert flags == want_flags, name
        assert (trace is not None) == (name == colo.REPLAY)
    manager = (Path(live.directory) / "logs" / "kube-controller-manager.log").read_text()
    assert "--controllers=*,-cronjob-controller" in manager.splitlines()[0]
    (hook,) = api.get(f"{WEBHOOKS}/{colo.WEBHOOK_CONFIGURATION}")["webhooks"]
    assert (hook["failurePolicy"], hook["sideEffects"], hook["timeoutSeconds"]) == (
        "Ignore", "None", 5,
    )  # fmt: skip
    assert hook["clientConfig"]["url"] == f"https://127.0.0.1:{live.ports[colo.WEBHOOK]}/mutate"
    assert hook["namespaceSelector"]["matchExpressions"][0]["key"] == "colo.io/webhook"


OFFLINE_POD = """
apiVersion: v1
kind: Pod
metadata:
  name: offline
  labels: {colo.io/qos: BE}
spec:
  tolerations: [{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}]
  containers:
  - name: work
    image: busybox
    resources: {requests: {cpu: 500m, memory: 256Mi}}
"""


def test_an_offline_pod_is_converted_placed_on_published_capacity_reserved_and_running(
    live: ClusterState, api: ApiClient
) -> None:
    def replay_published() -> dict[str, float]:
        samples = metrics(live, colo.REPLAY)
        return {
            dict(labels)["node"]: value
            for (name, labels), value in samples.items()
            if name == "colo_agent_published_batch_cpu_millicores" and value > 0
        }

    published = eventually(replay_published, what="the replay agent publishing", timeout_s=30)
    assert set(published) == {f"node-{i:04d}" for i in range(4)}  # never the virtual node
    granted_before = metrics(live, colo.COORDINATOR)[
        ("colo_coordinator_reservations_total", (("result", "granted"),))
    ]

    kubectl(live, "apply", "-f", "-", stdin=OFFLINE_POD)
    running = eventually(
        lambda: (p := pod(api, "offline"))["status"].get("phase") == "Running" and p,
        what="the offline pod Running", timeout_s=30,
    )  # fmt: skip
    spec = running["spec"]
    assert spec["schedulerName"] == colo.SCHEDULER_NAME
    batch = {"colo.io/batch-cpu": "500", "colo.io/batch-memory": str(256 * 2**20)}
    assert spec["containers"][0]["resources"] == {"requests": batch, "limits": batch}
    node_name = spec["nodeName"]
    assert node_name.startswith("node-")
    node = api.get(f"/api/v1/nodes/{node_name}")
    assert int(node["status"]["allocatable"]["colo.io/batch-cpu"]) >= 500
    lease = api.get(
        f"/apis/coordination.k8s.io/v1/namespaces/{colo.NAMESPACE}/leases/colo-agent-{node_name}"
    )
    explained = json.loads(lease["metadata"]["annotations"]["colo.io/reclaim-explanation"])
    assert explained["pods"][0][0] == f"colo-trace/{node_name}"  # the replayed machine
    coordinator = metrics(live, colo.COORDINATOR)
    assert coordinator[("colo_coordinator_reservations_total", (("result", "granted"),))] > (
        granted_before
    )
    assert coordinator[("colo_coordinator_pods", (("state", "bound"),))] >= 1
    assert metrics(live, colo.BATCH)[("colo_batch_bound_pods_total", ())] >= 1


def cronjob(name: str, every: str) -> str:
    return f"""
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {name}
spec:
  schedule: "@every {every}"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          tolerations:
          - {{key: kwok.x-k8s.io/node, operator: Exists}}
          - {{key: virtual-kubelet.io/provider, operator: Exists}}
          containers:
          - name: c
            image: busybox
            resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}
"""


def first_pod_of(api: ApiClient, cronjob_name: str) -> dict[str, Any] | None:
    """The first bound pod of a CronJob's Jobs, or None."""
    items = api.get("/api/v1/namespaces/default/pods")["items"]
    for item in items:
        if item["metadata"]["name"].startswith(f"{cronjob_name}-") and item["spec"].get("nodeName"):
            return dict(item)
    return None


def test_a_cronjob_fires_onto_the_virtual_node_and_the_next_falls_back_when_it_is_not_ready(
    live: ClusterState, api: ApiClient
) -> None:
    # Both made now: `@every` counts from creation, so "later" fires 35 s from now,
    # well after "first" (15 s) has landed and the virtual node has gone NotReady.
    created = time.time()
    kubectl(
        live, "apply", "-f", "-", stdin=cronjob("first", "15s") + "---" + cronjob("later", "35s")
    )

    first = eventually(lambda: first_pod_of(api, "first"), what="first's pod", timeout_s=30)
    assert first["spec"]["nodeName"] == VIRTUAL
    assert time.time() - created >= 14  # it fired on its schedule, not at once
    owner = first["metadata"]["ownerReferences"][0]
    job = api.get(f"/apis/batch/v1/namespaces/default/jobs/{owner['name']}")
    assert job["spec"]["managedBy"] == "colo.io/cron"  # colo-cron ran it, not the Job controller
    assert job["metadata"]["ownerReferences"][0]["name"] == "first"

    make_not_ready(api, VIRTUAL)
    later = eventually(lambda: first_pod_of(api, "later"), what="later's pod", timeout_s=40)
    assert later["spec"]["nodeName"].startswith("node-"), "did not fall back to a standard node"
    ready = [
        c["status"]
        for c in api.get(f"/api/v1/nodes/{VIRTUAL}")["status"]["conditions"]
        if c["type"] == "Ready"
    ]
    assert ready == ["False"]  # still NotReady when the fallback happened


def test_a_node_whose_agent_is_silent_offers_no_batch_capacity(
    live: ClusterState, api: ApiClient
) -> None:
    """colo-batch's sweeper (--sweep-silent-nodes, as the chart runs it) zeroes the
    capacity of a node no agent heartbeats for, and leaves the replayed nodes alone."""
    body = standard_node(90)
    body["metadata"]["name"] = name = "silent-node"
    body["metadata"]["labels"] = {"type": "no-agent"}  # not a node the replay agent takes
    batch = {"colo.io/batch-cpu": "8000", "colo.io/batch-memory": str(16 * 2**30)}
    api.post("/api/v1/nodes", body)
    try:
        api.request(
            "PATCH", f"/api/v1/nodes/{name}/status",
            {"status": {"capacity": batch, "allocatable": batch}},
            content_type="application/merge-patch+json",
        )  # fmt: skip

        def zeroed() -> bool:
            got = api.get(f"/api/v1/nodes/{name}")["status"]["allocatable"]
            return got.get("colo.io/batch-cpu") == "0" and got.get("colo.io/batch-memory") == "0"

        eventually(zeroed, what="the silent node's batch capacity zeroed", timeout_s=60)
        replayed = api.get("/api/v1/nodes/node-0000")["status"]["allocatable"]
        assert int(replayed["colo.io/batch-cpu"]) > 0  # its agent (the replay) heartbeats
        log = (Path(live.directory) / "logs" / f"{colo.BATCH}.log").read_text()
        assert f"node {name}: agent heartbeat silent" in log
    finally:
        api.request("DELETE", f"/api/v1/nodes/{name}")


def test_a_colo_process_that_does_not_come_up_is_named_with_its_log(tmp_path: Path) -> None:
    cluster = DevCluster(tmp_path)
    with pytest.raises(ComponentFailed) as failed:
        cluster.up(ClusterOptions(with_colo=True, extra_args={colo.BATCH: ["--qps", "0"]}))
    assert failed.value.component == colo.BATCH
    assert failed.value.log == tmp_path / "logs" / "colo-batch.log"
    assert "exited with code 2" in str(failed.value)
    assert "--qps" in str(failed.value)  # argparse's complaint, from the log's tail
    assert cluster.state() is None  # everything it started is stopped again
