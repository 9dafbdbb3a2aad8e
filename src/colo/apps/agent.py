"""colo-agent (its reporting half): the composition root of `colo agent serve`.

One process per node. `NodeAgent` is the asyncio driver of the reporting loop
(`colo.agent.reporting.ReportingLoop`, here over one node): every interval it hands the
loop the pods on its node (from an informer watching `spec.nodeName=<node>`: QoS tier,
requests), their cpu and memory usage (from the node's cgroup tree, `colo.linux`), and
a tick; then it carries out what the loop says — patch the node's `colo.io/batch-*`
(`colo.kube.nodestatus`), renew the agent's heartbeat Lease with the explanation
(`colo.kube.heartbeat`) — and reports each outcome back. None of the loop's logic lives
here, so `colo sim`, which drives the same loop, shows what this process does.

Faults: a failed patch or renewal (the API server busy, or refusing) is logged and
retried on the next tick; a failure to read the cgroup tree is logged and that round
goes unmeasured — after three such intervals the node's metrics are stale and the loop
publishes zero.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from colo.agent.reporting import (
    Command,
    NodeSpec,
    PeakOptions,
    PodSpec,
    Publish,
    ReportingLoop,
    ReportingOptions,
)
from colo.apps.metrics import registry_of, start_metrics
from colo.core.errors import ColoError, InvalidInput, Retryable
from colo.core.objects import Node, Pod
from colo.core.resources import Resources
from colo.core.usage import PodCgroup
from colo.kube.config import ClientConfig
from colo.kube.heartbeat import NAMESPACE, NodeHeartbeat
from colo.kube.informer import Informer
from colo.kube.nodestatus import KubeNodeStatusPatcher
from colo.kube.transport import Transport
from colo.linux import CgroupUsageReader
from colo.ports.cluster import Heartbeat, NodeStatusPatcher
from colo.ports.usage import UsageReader
from colo.predict.reclaim import ReclaimPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """`colo agent serve`'s settings (the flags of the same names)."""

    node: str
    interval_s: float = 5.0
    cgroup_root: str = "/sys/fs/cgroup"
    kubelet_cgroup_root: str = "/"
    metrics_listen: str | None = None
    safety_margin: float = 0.10
    cpu_policy: ReclaimPolicy = ReclaimPolicy.USAGE
    memory_policy: ReclaimPolicy = ReclaimPolicy.USAGE
    min_history_s: float = 1800.0
    threshold: float = 0.05
    horizon_s: float = 600.0
    min_rises: int = 30
    heartbeat_namespace: str = NAMESPACE
    qps: float = 5.0
    burst: int = 10

    def reporting(self) -> ReportingOptions:
        return ReportingOptions.every(
            self.interval_s,
            peak=PeakOptions(horizon_s=self.horizon_s, min_rises=self.min_rises),
            cpu_policy=self.cpu_policy,
            memory_policy=self.memory_policy,
            safety_margin=self.safety_margin,
            min_history_s=self.min_history_s,
            threshold=self.threshold,
        )


def node_spec(node: Node) -> NodeSpec:
    return NodeSpec(node.name, capacity=node.capacity, allocatable=node.allocatable)


def pod_spec(pod: Pod) -> PodSpec:
    request = Resources.of(cpu_milli=pod.requests.cpu_milli, memory_bytes=pod.requests.memory_bytes)
    return PodSpec(pod.key, pod.tier, request)


class NodeAgent:
    """Drives a one-node `ReportingLoop` against the API server and the cgroup tree.

    `pods()` and `node()` read the informers' caches; `tick()` is one round (tests drive
    it step by step), `run()` ticks every interval.
    """

    def __init__(
        self,
        loop: ReportingLoop,
        *,
        pods: Callable[[], Sequence[Pod]],
        node: Callable[[], Node | None],
        reader: UsageReader,
        patcher: NodeStatusPatcher,
        heartbeat: Heartbeat,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if len(loop.node_names) != 1:
            raise ValueError("a NodeAgent drives a reporting loop over its own node only")
        self.loop = loop
        self.name = loop.node_names[0]
        self._pods = pods
        self._node = node
        self._reader = reader
        self._patcher = patcher
        self._heartbeat = heartbeat
        self._clock = clock
        self._wall = wall
        self._spec: NodeSpec | None = None
        self.measured = 0  # pods measured in the last round
        self.read_faults = 0

    async def tick(self) -> list[Command]:
        """One round: pods and node → measure → tick → carry out the commands."""
        node = self._node()
        if node is not None and node_spec(node) != self._spec:
            self._spec = node_spec(node)
            self.loop.set_node(self._spec)
        pods = [p for p in self._pods() if p.node_name == self.name and not p.terminal]
        self.loop.set_pods({self.name: [pod_spec(p) for p in pods]})
        self._measure(pods)
        now = self._clock()
        todo = self.loop.tick(now, self._wall().isoformat(timespec="seconds"))
        done: list[Command] = []
        while todo:
            command = todo.pop(0)
            done.append(command)
            if isinstance(command, Publish):
                todo += await self._publish(command)
            else:
                try:
                    await self._heartbeat.renew(command.annotations)
                    ok = True
                except ColoError as e:
                    ok = False
                    log.warning("node %s: heartbeat failed, retrying next tick: %s", self.name, e)
                self.loop.renewed(self.name, self._clock(), ok=ok)
        return done

    def _measure(self, pods: list[Pod]) -> None:
        now = self._clock()
        by_uid = {p.uid: p for p in pods if p.uid}
        try:
            if not self._reader.available():
                self.read_faults += 1
                log.warning("node %s: no kubelet pod cgroups to read; not measured", self.name)
                return
            cgroups = [PodCgroup(p.uid, p.qos_class) for p in by_uid.values()]
            samples = self._reader.read(cgroups, now)
        except Retryable as e:
            self.read_faults += 1
            log.warning("node %s: reading usage failed; not measured: %s", self.name, e)
            return
        usage = {
            by_uid[uid].key: (s.cpu_cores * 1000.0, s.memory_bytes) for uid, s in samples.items()
        }
        self.measured = len(usage)
        self.loop.observe(self.loop.usage(now, usage, nodes=[self.name]))

    async def _publish(self, command: Publish) -> list[Command]:
        values = command.batch.as_extended()
        try:
            await self._patcher.patch_extended_resources(
                command.node, capacity=values, allocatable=values
            )
            ok = True
            log.info("node %s: batch %s (%s)", command.node, values, command.reason)
        except ColoError as e:
            ok = False
            log.warning("node %s: patch failed, retrying next tick: %s", command.node, e)
        return self.loop.published(command.node, command.batch, self._clock(), ok=ok)

    async def run(self) -> None:
        """Tick every interval (measured from one tick's start to the next)."""
        interval = self.loop.options.interval_s
        while True:
            began = self._clock()
            await self.tick()
            await asyncio.sleep(max(0.0, interval - (self._clock() - began)))


class AgentCollector(Collector):
    """colo-agent: reports, patches, heartbeats, and the node's figures now."""

    def __init__(self, agent: NodeAgent) -> None:
        self._agent = agent

    def collect(self) -> Iterator[Metric]:
        agent, loop = self._agent, self._agent.loop
        node = [agent.name]
        yield CounterMetricFamily("colo_agent_reports", "Reporting rounds run.", value=loop.ticks)
        for name, doc, ok, failed in (
            ("colo_agent_patches", "Batch resource patches, by result.",
             loop.publishes, loop.publish_failures),
            ("colo_agent_heartbeats", "Heartbeat renewals, by result.",
             loop.renewals, loop.renew_failures),
        ):  # fmt: skip
            family = CounterMetricFamily(name, doc, labels=["result"])
            family.add_metric(["ok"], ok)
            family.add_metric(["failed"], failed)
            yield family
        yield CounterMetricFamily(
            "colo_agent_usage_read_faults",
            "Rounds whose usage could not be read.",
            value=agent.read_faults,
        )
        published = loop.reporters[0].published
        gauges = (
            ("colo_agent_published_batch_cpu_millicores", "colo.io/batch-cpu as published.",
             published.cpu_milli if published else 0),
            ("colo_agent_published_batch_memory_bytes", "colo.io/batch-memory as published.",
             published.memory_bytes if published else 0),
            ("colo_agent_reclaimable_cpu_millicores", "Reclaimable cpu at the last report.",
             int(loop.reclaim_cpu[0])),
            ("colo_agent_reclaimable_memory_bytes", "Reclaimable memory at the last report.",
             int(loop.reclaim_memory[0])),
            ("colo_agent_online_cpu_millicores",
             "Cpu held back for online pods (predicted peaks or requests).",
             int(loop.online_cpu[0])),
            ("colo_agent_online_pods", "Online pods on the node.", len(loop.pods_on(agent.name))),
            ("colo_agent_measured_pods", "Pods measured in the last round.", agent.measured),
        )  # fmt: skip
        for name, doc, value in gauges:
            g = GaugeMetricFamily(name, doc, labels=["node"])
            g.add_metric(node, value)
            yield g


async def serve(config: ClientConfig, options: AgentOptions) -> None:
    """The colo-agent process (reporting): informers for the node and its pods → the
    reporting loop → node status patches and heartbeats, until cancelled."""
    reader = CgroupUsageReader(options.cgroup_root, kubelet_root=options.kubelet_cgroup_root)
    async with Transport.from_config(
        config, qps=options.qps, burst=options.burst, user_agent="colo-agent"
    ) as t:
        pods = Informer(t, "pods", field_selector=f"spec.nodeName={options.node}")
        nodes = Informer(t, "nodes", field_selector=f"metadata.name={options.node}")
        informers = asyncio.ensure_future(asyncio.gather(pods.run(), nodes.run()))
        metrics: web.AppRunner | None = None
        try:
            await pods.wait_synced()
            await nodes.wait_synced()
            node = nodes.view(options.node)
            if not isinstance(node, Node):
                raise InvalidInput(
                    "node not found", obj="colo-agent", field="--node", value=options.node
                )

            def on_node() -> list[Pod]:
                views = (pods.view(k) for k in pods.cached_keys())
                return [p for p in views if isinstance(p, Pod)]

            def this_node() -> Node | None:
                v = nodes.view(options.node)
                return v if isinstance(v, Node) else None

            agent = NodeAgent(
                ReportingLoop([node_spec(node)], options.reporting()),
                pods=on_node,
                node=this_node,
                reader=reader,
                patcher=KubeNodeStatusPatcher(t),
                heartbeat=NodeHeartbeat(
                    t,
                    options.node,
                    namespace=options.heartbeat_namespace,
                    interval_s=options.interval_s,
                ),
            )
            if options.metrics_listen:
                try:
                    metrics, port = await start_metrics(
                        registry_of(AgentCollector(agent)), options.metrics_listen
                    )
                except OSError as e:
                    raise InvalidInput(
                        f"cannot listen there: {e.strerror or e}", obj="colo-agent",
                        field="--metrics-listen", value=options.metrics_listen,
                    ) from None  # fmt: skip
                log.info("serving metrics on port %d", port)
            log.info(
                "colo-agent on node %s: reporting every %g s, cgroups %s (v%d)",
                options.node, options.interval_s, reader.hierarchy.cpu, reader.hierarchy.version,
            )  # fmt: skip
            await asyncio.gather(informers, agent.run())
        finally:
            informers.cancel()
            if metrics is not None:
                await metrics.cleanup()
