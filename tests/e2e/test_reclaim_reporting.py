"""The agent's reporting driver and the silent-node sweeper against the real API server.

The usage comes from an in-memory reader here (the cgroup reader has its own tests, and
`test_agent_process.py` runs the whole process on real cgroups); the node status
patches and heartbeat Leases are real.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence

import pytest
from e2ekit import Colo, transport

from colo.agent.reporting import Publish, ReportingLoop
from colo.apps.agent import AgentOptions, NodeAgent, node_spec
from colo.apps.reclaim import SilentNodeSweeper
from colo.core.builders import PodBuilder
from colo.core.objects import Node
from colo.core.resources import BATCH_CPU, BATCH_MEMORY
from colo.core.usage import PodCgroup, PodSample
from colo.devcluster import ClusterState
from colo.kube.heartbeat import NodeHeartbeat, list_heartbeats
from colo.kube.nodestatus import KubeNodeStatusPatcher
from colo.kube.transport import Transport

pytestmark = pytest.mark.e2e

GIB = 2**30
# a pod's estimate is used from its second sample on; a heartbeat every 0.3 s
OPTS = AgentOptions(
    node="", interval_s=0.3, min_history_s=0, min_rises=1, horizon_s=0.3, threshold=0.05
)
TIMEOUT_S = OPTS.reporting().report.heartbeat_timeout_s


async def batch_of(t: Transport, name: str) -> tuple[str | None, str | None]:
    node = await t.get(f"/api/v1/nodes/{name}")
    alloc = node["status"]["allocatable"]
    return alloc.get(BATCH_CPU), alloc.get(BATCH_MEMORY)


class Reader:
    """Usage of the one pod `u-web`: `cpu[0]` millicores, 8 GiB."""

    def __init__(self, cpu: list[int]) -> None:
        self.cpu = cpu

    def available(self) -> bool:
        return True

    def read(self, pods: Sequence[PodCgroup], now_s: float) -> dict[str, PodSample]:
        return {"u-web": PodSample(self.cpu[0] / 1000.0, 8 * GIB)}


def agent(t: Transport, node: Node, peak: list[int]) -> tuple[NodeAgent, KubeNodeStatusPatcher]:
    web = PodBuilder("web", "prod").uid("u-web").node(node.name).req(cpu="16", memory="32Gi")
    patcher = KubeNodeStatusPatcher(t)
    beat = NodeHeartbeat(t, node.name, interval_s=OPTS.interval_s)
    loop = ReportingLoop([node_spec(node)], OPTS.reporting())
    a = NodeAgent(
        loop,
        pods=lambda: [web.view()],
        node=lambda: node,
        reader=Reader(peak),
        patcher=patcher,
        heartbeat=beat,
    )
    return a, patcher


async def reasons(a: NodeAgent) -> list[str]:
    return [c.reason for c in await a.tick() if isinstance(c, Publish)]


async def learned(a: NodeAgent) -> None:
    """Two rounds, one interval apart: the pod's estimator has seen its first rise."""
    assert await reasons(a) == ["first report"]
    await asyncio.sleep(OPTS.interval_s + 0.05)
    await a.tick()


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
                await learned(loop_a)
                # by hand: capacity − 10 % − (capacity − allocatable) − the pod's peak,
                # predicted from its samples: 4 cores and a margin of a bucket or two
                (pod,) = loop_a.loop.explain(a.name).pods
                assert 4000 <= pod.cpu_milli <= 4030 and "predicted peak" in pod.source
                cap, alloc = a.capacity, a.allocatable
                batch_cpu = (
                    cap.cpu_milli
                    - round(0.1 * cap.cpu_milli)
                    - (cap.cpu_milli - alloc.cpu_milli)
                    - pod.cpu_milli
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
                assert await reasons(loop_a) == []
                assert patcher_a.patches == patches

                peak_a[0] += a.capacity.cpu_milli // 4  # online peak rises by 25 %: batch drops now
                assert await reasons(loop_a) == ["dropped past the threshold"]
                dropped = int(loop_a.loop.reclaim_cpu[0])
                assert dropped <= batch_cpu - a.capacity.cpu_milli // 4
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
                    timeout_s=TIMEOUT_S,
                )
                # a's agent is gone from now on; b's keeps beating
                stopped = time.monotonic()
                zeroed_after = None
                while time.monotonic() - stopped < 3 * TIMEOUT_S:
                    await loop_b.tick()
                    if a.name in await sweeper.tick() and zeroed_after is None:
                        zeroed_after = time.monotonic() - stopped
                    await asyncio.sleep(0.1)
                assert zeroed_after is not None, "the silent node kept its batch resources"
                assert zeroed_after <= TIMEOUT_S + 1.0
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
            a, _ = agent(t, node, [3000])
            await learned(a)
            assert a.loop.reporters[0].published is not None
            return a.loop.reporters[0].published.cpu_milli

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
