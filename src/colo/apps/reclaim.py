"""The reclaim loops as processes run them, wired to Kubernetes through the ports.

- `ReportingLoop` (in colo-agent, one per node): measure → predict → reclaim → publish
  `colo.io/batch-*` in the node's status when the reporter says so → heartbeat.
- `SilentNodeSweeper` (in a cluster-wide process): zero the batch resources of nodes
  whose agent heartbeat stopped, so nobody schedules onto a number nobody maintains.

Both take a monotonic clock and expose `tick()` so tests drive them step by step.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from colo.agent.report import (
    BATCH_RESOURCES,
    EXPLANATION_ANNOTATION,
    Batch,
    BatchReporter,
    Decision,
    HeartbeatMonitor,
)
from colo.core.errors import Retryable
from colo.core.objects import Node
from colo.ports.cluster import Heartbeat, NodeStatusPatcher
from colo.predict.reclaim import NodeUsage, Reclaim, ReclaimOptions, compute, to_dict

log = logging.getLogger(__name__)

UsageSource = Callable[[], NodeUsage]


class ReportingLoop:
    def __init__(
        self,
        node: str,
        source: UsageSource,
        patcher: NodeStatusPatcher,
        heartbeat: Heartbeat,
        reporter: BatchReporter,
        *,
        reclaim_options: ReclaimOptions,
        tick_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.node = node
        self._wall = wall
        self._source = source
        self._patcher = patcher
        self._heartbeat = heartbeat
        self.reporter = reporter
        self._opts = reclaim_options
        self._tick_s = tick_s
        self._clock = clock
        self.last: Reclaim | None = None
        self.faults = 0

    async def tick(self) -> Decision:
        now = self._clock()
        self.last = reclaim = compute(self._source(), now, self._opts)
        decision = self.reporter.decide(Batch(reclaim.cpu_milli, reclaim.memory_bytes), now)
        if decision.publish is not None:
            values = decision.publish.as_extended()
            await self._patcher.patch_extended_resources(
                self.node, capacity=values, allocatable=values
            )
            self.reporter.published_ok(decision.publish, now)
            log.info("node %s: batch %s (%s)", self.node, values, decision.reason)
        if self.reporter.heartbeat_due(now) or decision.publish is not None:
            explanation = {
                **to_dict(reclaim),
                "published": self.reporter.published.as_extended()
                if self.reporter.published
                else None,
                "decision": decision.reason,
                "at": self._wall().isoformat(timespec="seconds"),
            }
            await self._heartbeat.renew({EXPLANATION_ANNOTATION: json.dumps(explanation)})
            self.reporter.heartbeat_ok(now)
        return decision

    async def run(self) -> None:
        """Tick forever; transient API faults are logged and retried on the next tick."""
        while True:
            try:
                await self.tick()
            except Retryable as e:
                self.faults += 1
                log.warning("node %s: report failed, retrying next tick: %s", self.node, e)
            await asyncio.sleep(self._tick_s)


def offers_batch(node: Node) -> bool:
    return any(node.allocatable.get(name) > 0 for name in BATCH_RESOURCES)


class SilentNodeSweeper:
    def __init__(
        self,
        patcher: NodeStatusPatcher,
        heartbeats: Callable[[], Awaitable[dict[str, str]]],
        nodes: Callable[[], Awaitable[list[Node]]],
        *,
        timeout_s: float,
        interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._patcher = patcher
        self._heartbeats = heartbeats
        self._nodes = nodes
        self.monitor = HeartbeatMonitor(timeout_s)
        self._interval_s = interval_s
        self._clock = clock
        self._started = clock()
        self.zeroed: list[str] = []

    async def tick(self) -> list[str]:
        beats = await self._heartbeats()
        now = self._clock()
        for node, marker in beats.items():
            self.monitor.observe(node, marker, now)
        nodes = await self._nodes()
        self.monitor.retain(n.name for n in nodes)
        offering = [n.name for n in nodes if offers_batch(n)]
        silent = self.monitor.silent(offering, now, started_s=self._started)
        zero = dict.fromkeys(BATCH_RESOURCES, 0)
        for name in silent:
            await self._patcher.patch_extended_resources(name, capacity=zero, allocatable=zero)
            self.zeroed.append(name)
            log.warning("node %s: agent heartbeat silent; batch resources set to zero", name)
        return silent

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Retryable as e:
                log.warning("silent-node sweep failed, retrying: %s", e)
            await asyncio.sleep(self._interval_s)
