"""The cluster-wide half of reclaim: `SilentNodeSweeper`.

It zeroes the batch resources of nodes whose agent heartbeat stopped, so nobody
schedules onto a number nobody maintains. (The per-node half, the agent's reporting, is
`colo.apps.agent.NodeAgent` driving `colo.agent.reporting.ReportingLoop`.) The decisions
are `colo.agent.report.HeartbeatMonitor`'s; this driver only reads the heartbeats and
nodes, and patches. It takes a monotonic clock and exposes `tick()` so tests drive it
step by step.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from colo.agent.report import BATCH_RESOURCES, HeartbeatMonitor
from colo.core.errors import Retryable
from colo.core.objects import Node
from colo.ports.cluster import NodeStatusPatcher

log = logging.getLogger(__name__)


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
