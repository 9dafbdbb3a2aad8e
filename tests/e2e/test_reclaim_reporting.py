"""The agent's reporting loop and the silent-node sweeper against the real API server."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from e2ekit import Colo, transport

from colo.agent.report import BatchReporter, ReportOptions
from colo.apps.reclaim import ReportingLoop, SilentNodeSweeper
from colo.core.objects import Node
from colo.core.qos import QoSTier
from colo.core.resources import BATCH_CPU, BATCH_MEMORY, Resources
from colo.devcluster import ClusterState
from colo.kube.heartbeat import NodeHeartbeat, list_heartbeats
from colo.kube.nodestatus import KubeNodeStatusPatcher
from colo.kube.transport import Transport
from colo.predict.reclaim import NodeUsage, PodUsage, ReclaimOptions

pytestmark = pytest.mark.e2e

OPTS = ReportOptions(
    threshold=0.05, min_interval_s=1.0, heartbeat_interval_s=0.3, heartbeat_timeout_s=1.5
)
RECLAIM = ReclaimOptions(safety_margin=0.1, min_history_s=0)


async def batch_of(t: Transport, name: str) -> tuple[str | None, str | None]:
    node = await t.get(f"/api/v1/nodes/{name}")
    alloc = node["status"]["allocatable"]
    return alloc.get(BATCH_CPU), alloc.get(BATCH_MEMORY)


def agent(t: Transport, node: Node, peak: list[int]) -> tuple[ReportingLoop, KubeNodeStatusPatcher]:
    def source() -> NodeUsage:
        pod = PodUsage(
            "prod/web",
            QoSTier.LS,
            request=Resources.of(cpu_milli=16_000, memory_bytes=32 * 2**30),
            peak=Resources.of(cpu_milli=peak[0], memory_bytes=8 * 2**30),
            history_s=3600,
        )
        return NodeUsage(node.name, node.capacity, node.allocatable, [pod], time.monotonic())

    reporter = BatchReporter(
        OPTS, cpu_capacity=node.capacity.cpu_milli, memory_capacity=node.capacity.memory_bytes
    )
    patcher = KubeNodeStatusPatcher(t)
    beat = NodeHeartbeat(t, node.name, interval_s=OPTS.heartbeat_interval_s)
    loop = ReportingLoop(node.name, source, patcher, beat, reporter, reclaim_options=RECLAIM)
    return loop, patcher


@pytest.mark.slow
def test_the_agent_publishes_batch_resources_and_a_silent_agent_is_zeroed(
    dev_cluster: ClusterState,
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            a = Node.from_k8s(await t.get("/api/v1/nodes/node-0030"))
            b = Node.from_k8s(await t.get("/api/v1/nodes/node-0031"))
            peak_a, peak_b = [4000], [2000]
            loop_a, patcher_a = agent(t, a, peak_a)
            loop_b, _ = agent(t, b, peak_b)
            try:
                d = await loop_a.tick()
                assert d.reason == "first report"
                # by hand: capacity − 10 % − (capacity − allocatable) − the pod's peak
                cap, alloc = a.capacity, a.allocatable
                batch_cpu = (
                    cap.cpu_milli
                    - round(0.1 * cap.cpu_milli)
                    - (cap.cpu_milli - alloc.cpu_milli)
                    - 4000
                )
                mem = (
                    cap.memory_bytes
                    - round(0.1 * cap.memory_bytes)
                    - (cap.memory_bytes - alloc.memory_bytes)
                    - 8 * 2**30
                )
                assert batch_cpu > 0
                assert await batch_of(t, a.name) == (str(batch_cpu), str(mem))

                patches = patcher_a.patches
                peak_a[0] += a.capacity.cpu_milli // 100  # +1 % of capacity: below the threshold
                assert (await loop_a.tick()).publish is None
                assert patcher_a.patches == patches

                peak_a[0] += a.capacity.cpu_milli // 4  # online peak rises by 25 %: batch drops now
                d = await loop_a.tick()
                assert d.reason == "dropped past the threshold"
                dropped = batch_cpu - a.capacity.cpu_milli // 100 - a.capacity.cpu_milli // 4
                assert (await batch_of(t, a.name))[0] == str(dropped)

                await loop_b.tick()
                heartbeats = await list_heartbeats(t)
                assert {a.name, b.name} <= set(heartbeats)

                async def nodes() -> list[Node]:
                    got = await t.get("/api/v1/nodes")
                    return [Node.from_k8s(o) for o in got["items"]]

                sweeper = SilentNodeSweeper(
                    KubeNodeStatusPatcher(t),
                    lambda: list_heartbeats(t),
                    nodes,
                    timeout_s=OPTS.heartbeat_timeout_s,
                )
                # a's agent is gone from now on; b's keeps beating
                stopped = time.monotonic()
                zeroed_after = None
                while time.monotonic() - stopped < 3 * OPTS.heartbeat_timeout_s:
                    await loop_b.tick()
                    if a.name in await sweeper.tick() and zeroed_after is None:
                        zeroed_after = time.monotonic() - stopped
                    await asyncio.sleep(0.1)
                assert zeroed_after is not None, "the silent node kept its batch resources"
                assert zeroed_after <= OPTS.heartbeat_timeout_s + 1.0
                assert await batch_of(t, a.name) == ("0", "0")
                cpu_b, _ = await batch_of(t, b.name)
                assert cpu_b is not None and int(cpu_b) > 0
                assert b.name not in sweeper.zeroed
            finally:
                for n in (a.name, b.name):
                    await KubeNodeStatusPatcher(t).remove_extended_resources(
                        n, [BATCH_CPU, BATCH_MEMORY]
                    )

    asyncio.run(body())


def test_explain_node_reads_what_the_agent_published(dev_cluster: ClusterState, colo: Colo) -> None:
    async def publish() -> int:
        async with transport(dev_cluster) as t:
            node = Node.from_k8s(await t.get("/api/v1/nodes/node-0032"))
            loop, _ = agent(t, node, [3000])
            await loop.tick()
            assert loop.last is not None
            return loop.last.cpu_milli

    cpu = asyncio.run(publish())
    try:
        done = colo("explain", "node", "node-0032", "--kubeconfig", dev_cluster.kubeconfig)
        assert done.returncode == 0, done.stderr
        out = " ".join(done.stdout.split())
        assert re.search(rf"reclaimable\W+{cpu / 1000:.2f}\b", out), out
        assert "prod/web" in out and "predicted peak" in out
        assert f"colo.io/batch-cpu {cpu}" in out and "agent heartbeat:" in out
        silent = colo("explain", "node", "node-0033", "--kubeconfig", dev_cluster.kubeconfig)
        assert silent.returncode == 0 and "no colo-agent heartbeat" in silent.stdout
        missing = colo("explain", "node", "nope", "--kubeconfig", dev_cluster.kubeconfig)
        assert missing.returncode == 2 and "node not found" in missing.stderr
    finally:

        async def clean() -> None:
            async with transport(dev_cluster) as t:
                await KubeNodeStatusPatcher(t).remove_extended_resources(
                    "node-0032", [BATCH_CPU, BATCH_MEMORY]
                )

        asyncio.run(clean())
