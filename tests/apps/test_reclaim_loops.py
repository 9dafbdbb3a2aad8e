"""ReportingLoop and SilentNodeSweeper on in-memory ports (the e2e test uses the real ones)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping

from colo.agent.report import EXPLANATION_ANNOTATION, BatchReporter, ReportOptions
from colo.apps.reclaim import ReportingLoop, SilentNodeSweeper
from colo.core.builders import NodeBuilder
from colo.core.errors import Retryable
from colo.core.objects import Node
from colo.core.resources import BATCH_CPU, BATCH_MEMORY, Resources
from colo.predict.reclaim import NodeUsage, ReclaimOptions, from_dict

CAP = Resources.of(cpu_milli=10_000, memory_bytes=10 * 2**30)


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


def test_loop_publishes_heartbeats_and_survives_a_failed_patch() -> None:
    async def body() -> None:
        clock = [0.0]
        usage = {"at": 0.0}

        def source() -> NodeUsage:
            return NodeUsage("n1", CAP, CAP, [], metrics_at_s=usage["at"])

        patcher, beat = Patcher(), Beat()
        opts = ReportOptions(heartbeat_interval_s=10, heartbeat_timeout_s=30)
        loop = ReportingLoop(
            "n1",
            source,
            patcher,
            beat,
            BatchReporter(opts, cpu_capacity=10_000, memory_capacity=10 * 2**30),
            reclaim_options=ReclaimOptions(safety_margin=0.1, stale_after_s=60),
            clock=lambda: clock[0],
        )
        patcher.fail = 1
        with contextlib.suppress(Retryable):
            await loop.tick()
        assert patcher.calls == [] and loop.reporter.published is None  # retried next tick
        await loop.tick()
        assert patcher.calls == [("n1", {BATCH_CPU: 9000, BATCH_MEMORY: 9 * 2**30})]
        assert beat.renewals == 1
        told = json.loads(beat.annotations[-1][EXPLANATION_ANNOTATION])
        assert from_dict(told).cpu_milli == 9000 and told["decision"] == "first report"
        assert told["published"] == {BATCH_CPU: 9000, BATCH_MEMORY: 9 * 2**30}
        clock[0] = 61.0  # the metrics source stopped updating: publish zero at once
        d = await loop.tick()
        assert d.reason == "fell to zero" and patcher.calls[-1][1][BATCH_CPU] == 0
        assert beat.renewals == 2

    asyncio.run(body())


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
