"""NodeAgent (colo-agent's reporting driver) and SilentNodeSweeper on in-memory ports (the
e2e tests use the real ones)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence

from colo.agent.report import EXPLANATION_ANNOTATION
from colo.agent.reporting import Publish, ReportingLoop
from colo.apps.agent import AgentOptions, NodeAgent, node_spec
from colo.apps.reclaim import SilentNodeSweeper
from colo.core.builders import NodeBuilder, PodBuilder
from colo.core.errors import Retryable
from colo.core.objects import Node, Pod
from colo.core.resources import BATCH_CPU, BATCH_MEMORY
from colo.core.usage import PodCgroup, PodSample
from colo.predict.reclaim import from_dict

GIB = 2**30
NODE = NodeBuilder("n1").capacity(cpu="10", memory="10Gi").view()


class Patcher:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, int]]] = []
        self.fail = 0

    async def patch_extended_resources(
        self, node_name: str, *, capacity: Mapping[str, int], allocatable: Mapping[str, int]
    ) -> None:
        if self.fail:
            self.fail -= 1
            raise Retryable("API server busy", delay_s=0)
        assert capacity == allocatable
        self.calls.append((node_name, dict(allocatable)))


class Beat:
    def __init__(self) -> None:
        self.renewals = 0
        self.annotations: list[Mapping[str, str]] = []

    async def renew(self, annotations: Mapping[str, str] | None = None) -> None:
        self.renewals += 1
        self.annotations.append(dict(annotations or {}))


class Reader:
    """A UsageReader serving `usage` (uid → cores, memory bytes) while `up`."""

    def __init__(self) -> None:
        self.up = True
        self.fail = False
        self.usage: dict[str, tuple[float, int]] = {}
        self.asked: list[PodCgroup] = []

    def available(self) -> bool:
        return self.up

    def read(self, pods: Sequence[PodCgroup], now_s: float) -> dict[str, PodSample]:
        if self.fail:
            raise Retryable("cannot read memory.stat")
        self.asked = list(pods)
        return {p.uid: PodSample(*self.usage[p.uid]) for p in pods if p.uid in self.usage}


class Agent:
    """A NodeAgent on fakes, with a hand-driven clock."""

    def __init__(self, pods: list[Pod] | None = None, **options: float) -> None:
        self.clock = [0.0]
        self.pods = pods or []
        self.reader, self.patcher, self.beat = Reader(), Patcher(), Beat()
        opts = AgentOptions(node="n1", interval_s=10.0, **options)  # type: ignore[arg-type]
        self.agent = NodeAgent(
            ReportingLoop([node_spec(NODE)], opts.reporting()),
            pods=lambda: self.pods,
            node=lambda: NODE,
            reader=self.reader,
            patcher=self.patcher,
            heartbeat=self.beat,
            clock=lambda: self.clock[0],
        )

    def tick(self, at: float) -> list[str]:
        """The reasons of the publishes of one round at `at`."""
        self.clock[0] = at
        done = asyncio.run(self.agent.tick())
        return [c.reason for c in done if isinstance(c, Publish)]


def test_agent_publishes_heartbeats_and_survives_a_failed_patch() -> None:
    a = Agent()
    a.patcher.fail = 1
    assert a.tick(0.0) == ["first report"]
    assert a.patcher.calls == [] and a.agent.loop.reporters[0].published is None
    assert a.beat.renewals == 0  # no heartbeat claims a patch that failed
    assert a.tick(10.0) == ["first report"]  # retried on the next tick
    assert a.patcher.calls == [("n1", {BATCH_CPU: 9000, BATCH_MEMORY: 9 * GIB})]
    assert a.beat.renewals == 1
    told = json.loads(a.beat.annotations[-1][EXPLANATION_ANNOTATION])
    assert from_dict(told).cpu_milli == 9000 and told["decision"] == "first report"
    assert told["published"] == {BATCH_CPU: 9000, BATCH_MEMORY: 9 * GIB}
    a.reader.up = False  # the cgroup tree is gone: after 3 intervals, publish zero at once
    assert a.tick(40.0) == []
    assert a.tick(41.0) == ["fell to zero"] and a.patcher.calls[-1][1][BATCH_CPU] == 0
    assert a.beat.renewals == 3 and a.agent.read_faults == 2


def pod(name: str, uid: str, cpu: str = "2", node: str = "n1") -> PodBuilder:
    return PodBuilder(name, "prod").uid(uid).node(node).req(cpu=cpu, memory="1Gi").phase("Running")


def test_the_agent_measures_the_online_pods_on_its_node_by_their_cgroups() -> None:
    a = Agent(
        [
            pod("web", "u-web").view(),
            pod("db", "u-db", cpu="4").lim(cpu="4", memory="1Gi").view(),
            pod("done", "u-done").phase("Succeeded").view(),
            pod("elsewhere", "u-else", node="n2").view(),
            PodBuilder("batch", "prod").uid("u-be").node("n1").view(),
        ],
        min_history_s=0,
        min_rises=1,
        horizon_s=10,
    )
    a.reader.usage = {"u-web": (0.5, GIB // 2), "u-db": (1.0, GIB // 4)}
    a.tick(0.0)
    asked = {(p.uid, p.qos_class) for p in a.reader.asked}
    assert asked == {("u-web", "Burstable"), ("u-db", "Guaranteed"), ("u-be", "BestEffort")}
    assert a.agent.loop.pods_on("n1") == ["prod/web", "prod/db"]  # BE holds nothing back
    assert a.agent.measured == 2
    a.tick(10.0)  # the second sample teaches each estimator its first rise
    held = {t.name: t for t in a.agent.loop.explain("n1").pods}
    assert 500 <= held["prod/web"].cpu_milli < 600 and "predicted peak" in held["prod/web"].source
    assert held["prod/db"].memory_bytes == GIB // 4


def test_a_fault_reading_usage_leaves_the_round_unmeasured_but_still_reports() -> None:
    a = Agent([pod("web", "u-web").view()])
    a.reader.fail = True
    assert a.tick(0.0) == ["first report"]  # never measured: no metrics, so zero
    assert a.patcher.calls[-1][1][BATCH_CPU] == 0 and a.agent.read_faults == 1


def test_sweeper_zeroes_only_silent_nodes_offering_batch() -> None:
    async def body() -> None:
        clock = [0.0]
        beats = {"a": "t0", "b": "t0"}
        offering = {BATCH_CPU: "1000"}
        nodes = [
            Node.from_k8s(NodeBuilder(n).allocatable(extended=x).obj())
            for n, x in (("a", offering), ("b", offering), ("c", {}))
        ]

        async def heartbeats() -> dict[str, str]:
            return dict(beats)

        async def all_nodes() -> list[Node]:
            return nodes

        patcher = Patcher()
        sweeper = SilentNodeSweeper(
            patcher, heartbeats, all_nodes, timeout_s=30, clock=lambda: clock[0]
        )
        assert await sweeper.tick() == []
        clock[0] = 20.0
        beats["b"] = "t1"
        await sweeper.tick()
        clock[0] = 31.0
        assert await sweeper.tick() == ["a"]  # c offers nothing, b beat at 20
        assert patcher.calls == [("a", {BATCH_CPU: 0, BATCH_MEMORY: 0})]
        nodes.pop(0)  # node a is deleted: the monitor forgets it
        await sweeper.tick()
        assert len(sweeper.monitor) == 1

    asyncio.run(body())
