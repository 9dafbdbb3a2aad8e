"""colo-agent-replay: the composition root of `colo agent replay`.

One process stands in for colo-agent on every fake (kwok) node of a cluster, which have
no cgroups: each selected node gets colo-agent's own driver (`colo.apps.agent.NodeAgent`)
over its own reporting loop (`colo.agent.reporting.ReportingLoop`), exactly as
`colo agent serve` builds them, except that the usage port is `TraceUsageReader`
(`colo.traces.replay`): the node's online work is a stand-in pod whose usage is a trace
machine's, replayed. Whatever else runs on the node (pods placed by a scheduler) is
handed to the loop too; having no usage to measure, those count their requests. So the
capacity published is what the reporting engine decides, formula for formula.

`ReplayAgents` ties them together: every interval it takes in nodes that appeared (and
drops those that went), then ticks each node's agent in turn. A node taken in first
gets `warmup_s` of its machine's past, measured back to back at the interval's spacing
(`observe` only: nothing is published for the past), so its predictor starts as if the
agent had been running that long. Virtual nodes are never replayed (a serverless pool
has no batch capacity to offer).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from colo.agent.reporting import ReportingLoop
from colo.apps.agent import AgentCollector, AgentOptions, NodeAgent, node_spec, pod_spec
from colo.core.errors import InvalidInput
from colo.core.objects import Node, Pod
from colo.core.virtual import VIRTUAL_NODE_LABEL_KEY, VIRTUAL_NODE_LABEL_VALUE
from colo.kube.config import ClientConfig
from colo.ports.cluster import Heartbeat, NodeStatusPatcher
from colo.traces.common import LoadReport, bad_rows
from colo.traces.replay import (
    MachinePattern,
    OnlineModel,
    TraceUsageReader,
    assign,
    online_pod,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    """`colo agent replay`'s settings. `agent` carries the reporting flags shared with
    `colo agent serve` (its `node` is unused: every selected node gets its own)."""

    agent: AgentOptions = field(default_factory=lambda: AgentOptions(node=""))
    traces: str | None = None
    nodes: str = "all"
    """A label selector, or `all`: the nodes replayed (virtual nodes never are)."""
    speed: float = 1.0
    seed: int = 0
    warmup_s: float = 1800.0
    step_s: float = 10.0
    model: OnlineModel = field(default_factory=OnlineModel)

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise InvalidInput("must be positive", obj="colo agent replay", field="--speed",
                               value=self.speed)  # fmt: skip
        if self.warmup_s < 0:
            raise InvalidInput("must not be negative", obj="colo agent replay",
                               field="--warmup", value=self.warmup_s)  # fmt: skip


def is_virtual(node: Node) -> bool:
    return node.labels.get(VIRTUAL_NODE_LABEL_KEY) == VIRTUAL_NODE_LABEL_VALUE


class ReplayAgents:
    """colo-agent's reporting for many nodes at once, usage from the trace.

    `nodes()` lists the selected nodes now; `pods_on(node)` the pods the cluster has
    there; `heartbeat(node)` makes a node's heartbeat. `clock` is monotonic seconds.
    """

    def __init__(
        self,
        options: ReplayOptions,
        patterns: Sequence[MachinePattern],
        *,
        nodes: Callable[[], Sequence[Node]],
        pods_on: Callable[[str], Sequence[Pod]],
        patcher: NodeStatusPatcher,
        heartbeat: Callable[[str], Heartbeat],
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not patterns:
            raise ValueError("no machine patterns to replay")
        self.options = options
        self.patterns = list(patterns)
        self._nodes = nodes
        self._pods_on = pods_on
        self._patcher = patcher
        self._heartbeat = heartbeat
        self._clock = clock
        self._wall = wall
        self.origin_s = clock()
        self.agents: dict[str, NodeAgent] = {}
        self.readers: dict[str, TraceUsageReader] = {}
        self.stand_ins: dict[str, Pod] = {}
        self._views: dict[str, Node] = {}

    def sync(self) -> tuple[list[str], list[str]]:
        """Take in the selected nodes that appeared, drop those that went; returns
        (added, removed), each sorted."""
        current = {n.name: n for n in self._nodes() if not is_virtual(n)}
        self._views = current
        added = sorted(set(current) - set(self.agents))
        removed = sorted(set(self.agents) - set(current))
        for name in removed:
            del self.agents[name], self.readers[name], self.stand_ins[name]
        for name in added:
            self._add(current[name])
        return added, removed

    def _add(self, node: Node) -> None:
        name = node.name
        assignment = assign(name, self.patterns, seed=self.options.seed)
        pod, replayed = online_pod(node, assignment, self.options.model)
        reader = TraceUsageReader(origin_s=self.origin_s, speed=self.options.speed)
        reader.add(pod.uid, replayed)
        loop = ReportingLoop([node_spec(node)], self.options.agent.reporting())

        def pods() -> list[Pod]:
            return [pod, *self._pods_on(name)]

        agent = NodeAgent(
            loop, pods=pods, node=lambda: self._views.get(name), reader=reader,
            patcher=self._patcher, heartbeat=self._heartbeat(name), clock=self._clock,
            wall=self._wall,
        )  # fmt: skip
        self._warm_up(agent, pod)
        self.agents[name] = agent
        self.readers[name] = reader
        self.stand_ins[name] = pod
        log.info(
            "node %s replays machine %s from trace second %.0f (x%g)",
            name, assignment.machine.name, assignment.offset_s, self.options.speed,
        )  # fmt: skip

    def _warm_up(self, agent: NodeAgent, pod: Pod) -> None:
        """Measure the stand-in pod over the `warmup_s` before now, one interval apart:
        `NodeAgent.measure`, as each round does, only earlier."""
        interval = agent.loop.options.interval_s
        rounds = int(self.options.warmup_s // interval)
        if rounds == 0:
            return
        agent.loop.set_pods({agent.name: [pod_spec(pod)]})
        now = self._clock()
        # One read more than rounds: a read reports the interval since the one before, so
        # the first sample then falls `warmup_s` back and the history is `warmup_s` long.
        for k in range(rounds + 1, 0, -1):
            agent.measure([pod], now - k * interval)

    async def tick(self) -> None:
        """One round: take in node changes, then every node's agent ticks once."""
        self.sync()
        for agent in list(self.agents.values()):
            await agent.tick()

    async def run(self) -> None:
        interval = self.options.agent.interval_s
        while True:
            began = self._clock()
            await self.tick()
            await asyncio.sleep(max(0.0, interval - (self._clock() - began)))


class ReplayCollector(Collector):
    """colo-agent's metrics (`AgentCollector`) over every replayed node: per-node gauges
    keep their `node` label; counters are summed over the nodes. Plus the replay's own."""

    def __init__(self, replay: ReplayAgents, report: LoadReport) -> None:
        self._replay = replay
        self._report = report

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        sums: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        for agent in list(self._replay.agents.values()):
            for family in AgentCollector(agent).collect():
                if family.name not in merged:
                    merged[family.name] = Metric(family.name, family.documentation, family.type)
                    sums[family.name] = {}
                into = sums[family.name]
                for sample in family.samples:
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    into[key] = into.get(key, 0.0) + sample.value
        for name, metric in merged.items():
            for (sample_name, labels), value in sums[name].items():
                metric.add_sample(sample_name, dict(labels), value)
            yield metric
        yield GaugeMetricFamily(
            "colo_agent_replay_nodes", "Nodes whose agent is replayed.",
            value=len(self._replay.agents),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "colo_agent_replay_trace_rows_skipped",
            "Malformed trace rows skipped when the traces were loaded.",
            value=bad_rows(self._report),
        )
        machines = GaugeMetricFamily(
            "colo_agent_replay_machine", "The trace machine each node replays (value 1).",
            labels=["node", "machine"],
        )  # fmt: skip
        for node, pod in sorted(self._replay.stand_ins.items()):
            machines.add_metric([node, pod.labels["colo.io/trace-machine"]], 1)
        yield machines

    def describe(self) -> Iterator[Metric]:
        return iter(())  # its families depend on the nodes: none to check at registration


async def serve(config: ClientConfig, options: ReplayOptions) -> None:
    """The colo-agent-replay process: traces → node and pod informers → one `NodeAgent`
    per selected node (status patches, heartbeats), until cancelled. Raises
    `InvalidInput` when the traces are missing or `--metrics-listen` cannot be served."""
    from colo.apps.metrics import serve_metrics
    from colo.kube.heartbeat import NodeHeartbeat, ensure_namespace
    from colo.kube.informer import Informer
    from colo.kube.nodestatus import KubeNodeStatusPatcher
    from colo.kube.reader import KubeClusterReader
    from colo.kube.transport import Transport
    from colo.traces import TraceSet
    from colo.traces.replay import load_patterns

    traces = TraceSet.locate(options.traces)
    patterns, report = load_patterns(traces.machine_usage, step_s=options.step_s)
    log.info("trace %s: %d machines to replay; %s", traces.machine_usage, len(patterns),
             report.summary())  # fmt: skip
    agent = options.agent
    async with Transport.from_config(
        config, qps=agent.qps, burst=agent.burst, user_agent="colo-agent-replay"
    ) as t:
        selector = None if options.nodes == "all" else options.nodes
        reader = KubeClusterReader(
            pods=Informer(t, "pods"), nodes=Informer(t, "nodes", label_selector=selector)
        )
        informers = asyncio.ensure_future(reader.run())
        metrics = None
        try:
            await reader.wait_synced()
            await ensure_namespace(t, agent.heartbeat_namespace)
            replay = ReplayAgents(
                options, patterns, nodes=reader.nodes, pods_on=reader.pods_on_node,
                patcher=KubeNodeStatusPatcher(t),
                heartbeat=lambda node: NodeHeartbeat(
                    t, node, namespace=agent.heartbeat_namespace, interval_s=agent.interval_s
                ),
            )  # fmt: skip
            began = time.monotonic()
            added, _ = replay.sync()
            log.info("colo-agent-replay: %d nodes (selector %s), %.0f s of warm-up each in "
                     "%.1f s; reporting every %g s", len(added), options.nodes,
                     options.warmup_s, time.monotonic() - began, agent.interval_s)  # fmt: skip
            if agent.metrics_listen:
                metrics = await serve_metrics(
                    agent.metrics_listen, [ReplayCollector(replay, report)],
                    process="colo-agent-replay",
                )  # fmt: skip
            await asyncio.gather(informers, replay.run())
        finally:
            informers.cancel()
            if metrics is not None:
                await metrics.cleanup()
