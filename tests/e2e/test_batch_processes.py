"""colo-batch and colo-coordinator as processes (`colo batch serve`, `colo coord serve`)
against the real API server with kwok nodes."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from e2ekit import STANDARD_NODES, VIRTUAL_NODES, new_namespace, pod_body, transport
from prometheus_client.parser import text_string_to_metric_families

from colo.apps.coordinator import CoordinatorApp
from colo.core.reservation import Item
from colo.devcluster import ClusterState
from colo.devcluster.processes import background, free_ports
from colo.kube.transport import Transport

pytestmark = pytest.mark.e2e

SCHEDULER = "colo-batch-e2e"
NODES = STANDARD_NODES + VIRTUAL_NODES


@pytest.fixture(scope="module")
def metrics_ports() -> tuple[int, int]:
    """Where colo-batch and colo-coordinator serve /metrics."""
    batch, coord = free_ports(2)
    return batch, coord


@pytest.fixture(scope="module")
def colo_batch(
    dev_cluster: ClusterState,
    tmp_path_factory: pytest.TempPathFactory,
    metrics_ports: tuple[int, int],
) -> Iterator[int]:
    """colo-coordinator and colo-batch running against the session cluster; yields the
    coordinator's port."""
    logs = tmp_path_factory.mktemp("colo-batch")
    (port,) = free_ports(1)
    kube = ["--kubeconfig", dev_cluster.kubeconfig]
    colo = [sys.executable, "-m", "colo.cli.main"]
    batch_metrics, coord_metrics = metrics_ports
    coord_args = [*colo, "coord", "serve", *kube, "--listen", f"127.0.0.1:{port}",
                  "--metrics-listen", f"127.0.0.1:{coord_metrics}"]  # fmt: skip
    batch_args = [*colo, "batch", "serve", *kube, "--coordinator", f"127.0.0.1:{port}",
                  "--no-leader-elect", "--scheduler-name", SCHEDULER, "--qps", "200",
                  "--burst", "200", "--metrics-listen", f"127.0.0.1:{batch_metrics}"]  # fmt: skip
    with (
        background(coord_args, logs / "coord.log"),
        background(batch_args, logs / "batch.log"),
    ):
        yield port
    for log in ("coord.log", "batch.log"):
        text = (logs / log).read_text(errors="replace")
        assert "Traceback" not in text, text[-3000:]


async def _pods(t: Transport, ns: str) -> dict[str, dict[str, Any]]:
    page = await t.get(f"/api/v1/namespaces/{ns}/pods")
    return {o["metadata"]["name"]: o for o in page["items"]}


def _requests(cpu: str) -> dict[str, Any]:
    return {"resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}


def _pod(name: str, cpu: str = "100m", **spec: Any) -> dict[str, Any]:
    body = pod_body(name, scheduler=SCHEDULER, **spec)
    body["spec"]["containers"][0].update(_requests(cpu))
    return body


async def _wait(check: Any, *, what: str, timeout_s: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    last = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    pytest.fail(f"timed out after {timeout_s:g} s waiting for {what} (last: {last!r})")


@pytest.mark.slow
def test_a_wave_of_pods_is_bound_through_the_coordinator_and_runs(
    dev_cluster: ClusterState, colo_batch: int
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            path = f"/api/v1/namespaces/{ns}/pods"
            await asyncio.gather(*(t.post(path, _pod(f"w{i}")) for i in range(300)))

            async def all_running() -> bool:
                pods = await _pods(t, ns)
                return len(pods) == 300 and all(
                    p["status"].get("phase") == "Running" for p in pods.values()
                )

            await _wait(all_running, what="300 pods Running", timeout_s=90)
            pods = await _pods(t, ns)
            nodes = {p["spec"]["nodeName"] for p in pods.values()}
            # plain pods avoid virtual nodes and spread (least allocated) over many nodes
            assert not any(n.startswith("virtual-") for n in nodes)
            assert len(nodes) >= 25

    asyncio.run(body())


def test_an_unschedulable_pod_gets_the_condition_and_event_in_kube_scheduler_words(
    dev_cluster: ClusterState, colo_batch: int
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            await t.post(f"/api/v1/namespaces/{ns}/pods", _pod("huge", cpu="5000"))

            async def condition() -> dict[str, Any] | None:
                pod = (await _pods(t, ns))["huge"]
                for c in pod["status"].get("conditions") or []:
                    if c["type"] == "PodScheduled" and c["status"] == "False":
                        return dict(c)
                return None

            c = await _wait(condition, what="PodScheduled=False")
            assert c["reason"] == "Unschedulable"
            # 50 standard nodes have too little cpu; the virtual nodes are avoided (the
            # reasons sorted as strings, as kube-scheduler sorts them: "5 n" < "50 ")
            assert c["message"] == (
                f"0/{NODES} nodes are available: {VIRTUAL_NODES} node(s) were virtual nodes "
                f"the pod avoids, {STANDARD_NODES} Insufficient cpu."
            )
            events = await t.get(
                f"/api/v1/namespaces/{ns}/events",
                {"fieldSelector": "involvedObject.name=huge,reason=FailedScheduling"},
            )
            (ev,) = events["items"]
            assert ev["type"] == "Warning" and ev["message"] == c["message"]
            assert ev["source"]["component"] == SCHEDULER

    asyncio.run(body())


def test_a_pod_colo_cannot_read_is_reported_and_others_still_schedule(
    dev_cluster: ClusterState, colo_batch: int
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            path = f"/api/v1/namespaces/{ns}/pods"
            bad = _pod("bad")
            bad["metadata"]["labels"]["colo.io/gang"] = "g"
            bad["metadata"]["annotations"] = {"colo.io/gang-min-members": "many"}
            await t.post(path, bad)
            await t.post(path, _pod("good"))

            async def reported() -> str:
                pods = await _pods(t, ns)
                if not pods["good"]["spec"].get("nodeName"):
                    return ""
                for c in pods["bad"]["status"].get("conditions") or []:
                    if c["type"] == "PodScheduled" and c["status"] == "False":
                        return str(c["message"])
                return ""

            message = await _wait(reported, what="bad reported, good bound")
            assert "metadata.annotations[colo.io/gang-min-members]" in message
            assert "many" in message

    asyncio.run(body())


def _job(name: str, *, pods: int) -> dict[str, Any]:
    template = _pod("unused")
    del template["metadata"]["name"]
    template["spec"]["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "parallelism": pods,
            "completions": pods,
            "backoffLimit": 3,
            "template": template,
        },
    }


@pytest.mark.slow
def test_job_pods_prefer_virtual_nodes_and_fall_back_when_one_fails_there(
    dev_cluster: ClusterState, colo_batch: int
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            await t.post(f"/apis/batch/v1/namespaces/{ns}/jobs", _job("j", pods=1))

            async def first_bound() -> dict[str, Any] | None:
                pods = [p for p in (await _pods(t, ns)).values() if p["spec"].get("nodeName")]
                return pods[0] if pods else None

            first = await _wait(first_bound, what="the job's pod bound")
            assert first["spec"]["nodeName"].startswith("virtual-node-")
            # the virtual node reports that the pod failed to start
            name = first["metadata"]["name"]
            await t.patch(
                f"/api/v1/namespaces/{ns}/pods/{name}/status",
                {"status": {"phase": "Failed", "reason": "ProviderFailed"}},
            )

            async def replacement() -> dict[str, Any] | None:
                for p in (await _pods(t, ns)).values():
                    if p["metadata"]["name"] != name and p["spec"].get("nodeName"):
                        return p
                return None

            second = await _wait(replacement, what="the Job's replacement pod bound")
            assert not second["spec"]["nodeName"].startswith("virtual-node-")

    asyncio.run(body())


def test_a_restarted_coordinator_rebuilds_from_the_api_server_and_never_grants_what_is_bound(
    dev_cluster: ClusterState, colo_batch: int
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            pin = {"nodeSelector": {"kubernetes.io/hostname": "node-0001"}}
            await t.post(f"/api/v1/namespaces/{ns}/pods", _pod("pinned", cpu="2", **pin))

            async def bound() -> bool:
                return bool((await _pods(t, ns))["pinned"]["spec"].get("nodeName"))

            await _wait(bound, what="the pinned pod bound")
            app = CoordinatorApp(t)  # a fresh coordinator: nothing but the API server to go on
            await app.start()
            try:
                entry = app.ledger.nodes["node-0001"]
                assert entry.bound[f"{ns}/pinned"]["cpu"] == 2000
                free = app.ledger.free("node-0001")["cpu"]
                too_much = Item("x/y", "node-0001", {"cpu": free + 1})
                just_right = Item("x/z", "node-0001", {"cpu": free})
                replies = app.ledger.reserve([too_much, just_right], time.monotonic())
                assert [r.ok for r in replies] == [False, True]
            finally:
                await app.stop()

    asyncio.run(body())


async def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample on http://127.0.0.1:port/metrics, keyed by name and labels."""
    url = f"http://127.0.0.1:{port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        text = await r.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_the_pods_colo_batch_bound_and_the_coordinator_granted(
    dev_cluster: ClusterState, colo_batch: int, metrics_ports: tuple[int, int]
) -> None:
    batch_port, coord_port = metrics_ports
    bound = ("colo_batch_bound_pods_total", ())
    granted = ("colo_coordinator_reservations_total", (("result", "granted"),))

    async def body() -> None:
        async with transport(dev_cluster) as t:
            # the processes may still be starting when this test runs first
            await _wait(lambda: _scrape_ok(batch_port), what="colo-batch /metrics")
            await _wait(lambda: _scrape_ok(coord_port), what="colo-coordinator /metrics")
            before_batch, before_coord = await _scrape(batch_port), await _scrape(coord_port)
            ns = await new_namespace(t)
            path = f"/api/v1/namespaces/{ns}/pods"
            await asyncio.gather(*(t.post(path, _pod(f"m{i}")) for i in range(20)))

            async def counted() -> bool:
                after = await _scrape(batch_port)
                return after[bound] - before_batch[bound] >= 20

            await _wait(counted, what="20 more bound pods counted")
            after_coord = await _scrape(coord_port)
            assert after_coord[granted] - before_coord[granted] >= 20
            assert after_coord[("colo_coordinator_nodes", ())] == NODES
            after_batch = await _scrape(batch_port)
            assert (
                after_batch[("colo_batch_cycles_total", ())]
                > before_batch[("colo_batch_cycles_total", ())]
            )
            assert after_batch[("colo_batch_nodes", ())] == NODES

    asyncio.run(body())


async def _scrape_ok(port: int) -> bool:
    try:
        await _scrape(port)
    except (aiohttp.ClientError, OSError):
        return False
    return True


def test_a_token_the_api_server_refuses_ends_colo_batch_with_the_error_not_a_hang(
    dev_cluster: ClusterState, tmp_path: Path
) -> None:
    """Its informers give up on a 401; the process used to wait for their listing
    forever, saying nothing (without leader election: with it, the Lease requests fail
    first and are retried with a warning each, as client-go's election does)."""
    config = Path(dev_cluster.kubeconfig).read_text()
    refused = re.sub(r"token: .*", "token: not-a-token-this-server-knows", config)
    assert refused != config
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(refused)
    args = [sys.executable, "-m", "colo.cli.main", "batch", "serve",
            "--kubeconfig", str(kubeconfig), "--no-leader-elect"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "rejected the credentials (401)" in done.stderr
    assert "Traceback" not in done.stderr


def test_colo_batch_hosting_the_coordinator_binds_first_then_serves_other_schedulers(
    dev_cluster: ClusterState, tmp_path: Path
) -> None:
    """With --coordinator-listen, colo-batch reserves in its own process from the ledger
    it rebuilt, and serves that ledger over gRPC once its first bindings are out (the
    gRPC start no longer stands in front of them): its pod is bound, the log says it
    hosts only after it synced, and another scheduler reserving through the port meets
    the same ledger: the node's room less every pod bound there, this one included."""
    from colo.core.objects import Node, Pod
    from colo.rpc.coordinator import CoordinatorClient

    name = "colo-batch-hosting-e2e"
    node = f"node-{STANDARD_NODES - 1:04d}"
    (port,) = free_ports(1)
    args = [sys.executable, "-m", "colo.cli.main", "batch", "serve",
            "--kubeconfig", dev_cluster.kubeconfig, "--no-leader-elect",
            "--scheduler-name", name, "--coordinator-listen", f"127.0.0.1:{port}"]  # fmt: skip
    log = tmp_path / "batch.log"

    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            pin = {"nodeSelector": {"kubernetes.io/hostname": node}}
            body = pod_body("h", scheduler=name, **pin)
            body["spec"]["containers"][0].update(_requests("300m"))
            await t.post(f"/api/v1/namespaces/{ns}/pods", body)

            async def bound() -> bool:
                return (await _pods(t, ns))["h"]["spec"].get("nodeName") == node

            await _wait(bound, what="colo-batch to bind its pod")

            async def hosting() -> bool:
                return "hosting colo-coordinator on port" in log.read_text()

            await _wait(hosting, what="colo-batch to serve the coordinator", timeout_s=10)
            text = log.read_text()
            assert text.index("synced in") < text.index("hosting colo-coordinator")
            there = await t.get("/api/v1/pods", {"fieldSelector": f"spec.nodeName={node}"})
            views = [Pod.from_k8s(p) for p in there["items"]]
            used = sum(v.requests.cpu_milli for v in views if not v.terminal)
            assert used >= 300  # this test's pod, at least
            alloc = Node.from_k8s(await t.get(f"/api/v1/nodes/{node}")).allocatable.cpu_milli
            client = CoordinatorClient(f"127.0.0.1:{port}", scheduler="another")
            try:
                (too_much,) = await client.reserve([Item("x/y", node, {"cpu": alloc - used + 1})])
                (fits,) = await client.reserve([Item("x/z", node, {"cpu": alloc - used})])
            finally:
                await client.close()
            assert not too_much.ok and fits.ok

    with background(args, log):
        asyncio.run(body())
    assert "Traceback" not in log.read_text()
