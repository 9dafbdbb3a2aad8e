"""`colo agent serve` as a real process: a kwok node's pods from the API server, their
usage from real cgroups made by hand in the kubelet's layout, `colo.io/batch-*` on the
Node following that usage."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from e2ekit import delete_pod, new_namespace, pod_body, transport

from colo.core.objects import Node
from colo.core.resources import BATCH_CPU, BATCH_MEMORY
from colo.devcluster import ClusterState
from colo.devcluster.processes import background, free_ports
from colo.kube.heartbeat import read_heartbeat
from colo.kube.nodestatus import KubeNodeStatusPatcher
from colo.kube.transport import Transport

pytestmark = [pytest.mark.e2e, pytest.mark.cgroup]

NODE = "node-0044"  # 32 cores: one busy core is 3 % of it, past the 1 % threshold
T = TypeVar("T")


async def until(check: Callable[[], Awaitable[T | None]], *, what: str, within_s: float) -> T:
    deadline = asyncio.get_running_loop().time() + within_s
    last: T | None = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    pytest.fail(f"timed out after {within_s:g} s waiting for {what} (last: {last!r})")


async def batch_cpu(t: Transport) -> int | None:
    node = await t.get(f"/api/v1/nodes/{NODE}")
    value = node["status"].get("allocatable", {}).get(BATCH_CPU)
    return None if value is None else int(value)


async def scrape(port: int, path: str = "/metrics") -> str:
    async with (
        aiohttp.ClientSession() as s,
        s.get(f"http://127.0.0.1:{port}{path}") as r,
    ):
        assert r.status == 200
        return await r.text()


def sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics:\n{text}")


def test_the_agent_process_publishes_batch_cpu_that_follows_the_pods_cgroup_usage(
    dev_cluster: ClusterState, cgroup_tree: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            node = Node.from_k8s(await t.get(f"/api/v1/nodes/{NODE}"))
            cap, alloc = node.capacity.cpu_milli, node.allocatable.cpu_milli
            room = cap - round(0.1 * cap) - (cap - alloc)  # before any online pod
            ns = await new_namespace(t)
            web = pod_body("web", nodeName=NODE)
            web["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "4", "memory": "1Gi"}}
            created = await t.post(f"/api/v1/namespaces/{ns}/pods", web)
            pod_cgroup = f"kubepods/burstable/pod{created['metadata']['uid']}"
            cgroup_tree.start_idle(f"{pod_cgroup}/container-idle")
            (metrics_port,) = free_ports(1)
            argv = [
                sys.executable, "-m", "colo.cli.main", "agent", "serve", "--node", NODE,
                "--kubeconfig", dev_cluster.kubeconfig, "--interval", "0.5s",
                "--cgroup-root", str(cgroup_tree.cgroup_root),
                "--kubelet-cgroup-root", cgroup_tree.kubelet_root,
                "--metrics-listen", f"127.0.0.1:{metrics_port}",
                "--min-history", "0", "--min-rises", "2", "--horizon", "0.5s",
                "--threshold", "0.01",
            ]  # fmt: skip
            log = tmp_path / "agent.log"
            try:
                with background(argv, log):
                    # idle: once learned, the pod holds back its tiny peak, not its 4 cores
                    async def learned() -> int | None:
                        got = await batch_cpu(t)
                        return got if got is not None and got > room - 1000 else None

                    idle = await until(learned, what="batch cpu of an idle pod", within_s=60)
                    assert idle <= room
                    # busy: one core spins in the pod's cgroup; the batch figure drops
                    cgroup_tree.start_busy(f"{pod_cgroup}/container-busy", megabytes=16)

                    async def dropped() -> int | None:
                        got = await batch_cpu(t)
                        return got if got is not None and got < idle - 400 else None

                    busy = await until(dropped, what="batch cpu to drop", within_s=30)
                    assert busy >= room - 4000  # a core and its margin, within the request

                    text = await scrape(metrics_port)
                    assert sample(text, "colo_agent_reports_total") > 0
                    assert sample(text, 'colo_agent_patches_total{result="ok"}') >= 2
                    assert sample(text, "colo_agent_online_pods") == 1
                    assert await scrape(metrics_port, "/healthz") == "ok\n"
                    lease = await read_heartbeat(t, NODE)
                    assert lease is not None and lease["spec"]["holderIdentity"] == NODE
            finally:
                await delete_pod(t, ns, "web")
                await KubeNodeStatusPatcher(t).remove_extended_resources(
                    NODE, [BATCH_CPU, BATCH_MEMORY]
                )
            text = log.read_text(errors="replace")
            assert "Traceback" not in text, text[-3000:]
            assert "colo-agent on node node-0044" in text, text[-3000:]

    asyncio.run(body())


def test_the_agent_protects_on_real_cgroups_and_says_so(
    dev_cluster: ClusterState, cgroup_tree: Any, tmp_path: Path
) -> None:
    """Protection on (the default): the offline box is written in the tree, a pod with a
    malformed colo.io/qos label gets a Warning event and is still governed, the Lease
    and `colo explain node` show the guard and the box, /metrics has the guard."""

    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            bad = pod_body("bad-label", nodeName=NODE)
            bad["metadata"]["labels"]["colo.io/qos"] = "gold"
            bad["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1", "memory": "1Gi"}}
            bad_uid = (await t.post(f"/api/v1/namespaces/{ns}/pods", bad))["metadata"]["uid"]
            batch = pod_body("batch", nodeName=NODE)
            batch_uid = (await t.post(f"/api/v1/namespaces/{ns}/pods", batch))["metadata"]["uid"]
            cgroup_tree.start_idle(f"kubepods/burstable/pod{bad_uid}/c")
            cgroup_tree.start_busy(f"kubepods/besteffort/pod{batch_uid}/c", megabytes=8)
            (metrics_port,) = free_ports(1)
            argv = [
                sys.executable, "-m", "colo", "agent", "serve", "--node", NODE,
                "--kubeconfig", dev_cluster.kubeconfig, "--interval", "0.5s",
                "--protect-interval", "0.3s",
                "--cgroup-root", str(cgroup_tree.cgroup_root),
                "--kubelet-cgroup-root", cgroup_tree.kubelet_root,
                "--metrics-listen", f"127.0.0.1:{metrics_port}",
            ]  # fmt: skip
            log = tmp_path / "agent.log"
            quota = cgroup_tree.path("cpu", "kubepods/besteffort") / "cpu.cfs_quota_us"
            try:
                with background(argv, log):

                    async def box_written() -> str | None:
                        text = quota.read_text().strip()
                        return text if text != "-1" else None

                    await until(box_written, what="the offline box's quota", within_s=60)

                    async def warned() -> dict[str, Any] | None:
                        events = await t.get(
                            f"/api/v1/namespaces/{ns}/events",
                            params={"fieldSelector": "involvedObject.name=bad-label"},
                        )
                        for e in events["items"]:
                            if e["reason"] == "BadColoAnnotation":
                                return dict(e)
                        return None

                    event = await until(warned, what="a Warning event", within_s=30)
                    assert event["type"] == "Warning"
                    assert "colo.io/qos='gold'" in event["message"]

                    seen: list[dict[str, Any]] = []

                    async def quiet() -> dict[str, Any] | None:
                        lease = await read_heartbeat(t, NODE)
                        notes = ((lease or {}).get("metadata") or {}).get("annotations") or {}
                        raw = notes.get("colo.io/protection")
                        state = None if raw is None else json.loads(raw)
                        if state is None or state["box"]["quota_us"] is None:
                            return None
                        seen.append(state)
                        return state if state["level"] == "NORMAL" else None

                    # node-0044 has 32 cores: this machine's two are far below any cpu
                    # threshold. The node's pressure is the machine's own, though: other
                    # work on it (io PSI of 22 %, once) takes the guard up, and it must come
                    # back down to NORMAL once that has passed (M quiet intervals).
                    try:
                        state = await until(quiet, what="protection at NORMAL", within_s=60)
                    except pytest.fail.Exception:
                        pytest.fail(f"the guard did not settle at NORMAL: last {seen[-1:]}")
                    assert state["box"]["quota_us"] >= 10_000  # at least the 100m floor
                    text = await scrape(metrics_port)
                    assert sample(text, "colo_agent_guard_level") >= 0
                    assert sample(text, "colo_agent_box_cpu_millicores") > 0
                    explained = subprocess.run(
                        [sys.executable, "-m", "colo", "explain", "node", NODE,
                         "--kubeconfig", dev_cluster.kubeconfig],
                        capture_output=True, text=True, timeout=60,
                    )  # fmt: skip
                    assert explained.returncode == 0, explained.stderr
                    assert "protection: guard:" in explained.stdout
                    assert "protection: offline box:" in explained.stdout
            finally:
                for name in ("bad-label", "batch"):
                    await delete_pod(t, ns, name)
                await KubeNodeStatusPatcher(t).remove_extended_resources(
                    NODE, [BATCH_CPU, BATCH_MEMORY]
                )
            text = log.read_text(errors="replace")
            assert "Traceback" not in text, text[-3000:]
            assert "colo-agent protecting node node-0044" in text, text[-3000:]

    asyncio.run(body())
