"""colo-agent: the composition root of `colo agent serve` and `colo agent protect`.

One process per node, two loops. The protection loop (`colo.agent.protection`, driven by
`colo.apps.protect.NodeProtector`) keeps online pods safe: the offline box, cpu tiers,
the guard; it runs unless `--no-protect`, and alone, without an API server, in
`colo agent protect` (pods found in the cgroup tree). `NodeAgent` is the asyncio driver
of the reporting loop
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
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from colo.agent.box import BoxOptions
from colo.agent.kubeletcpu import CPU_MANAGER_STATE_PATH, KubeletCPUState
from colo.agent.protection import (
    PROTECTION_ANNOTATION,
    ProtectedNode,
    ProtectedPod,
    ProtectionLoop,
    ProtectionOptions,
)
from colo.agent.reporting import (
    Command,
    NodeSpec,
    PeakOptions,
    PodSpec,
    Publish,
    ReportingLoop,
    ReportingOptions,
)
from colo.apps.metrics import serve_metrics
from colo.apps.protect import (
    LocalPod,
    NodeProtector,
    NodeSampler,
    Probe,
    ProtectionCollector,
    ProtectorHooks,
    SloProbes,
    lenient_pod,
    pods_from_tree,
    probes_of,
    protected_pod,
)
from colo.core.cgroupstats import KubeletTree
from colo.core.errors import ColoError, InvalidInput, Retryable
from colo.core.objects import Node, Pod
from colo.core.resources import BATCH_CPU, Resources
from colo.core.topology import CPUTopology
from colo.core.usage import PodCgroup
from colo.kube.config import ClientConfig
from colo.kube.events import KubeEventRecorder
from colo.kube.evictor import KubeEvictor
from colo.kube.heartbeat import NAMESPACE, NodeHeartbeat
from colo.kube.informer import Informer
from colo.kube.nodestatus import KubeNodeStatusPatcher
from colo.kube.transport import Transport
from colo.linux import CgroupUsageReader, LinuxCgroups
from colo.linux.affinity import OwnCpus
from colo.linux.node import node_busy_reader, read_kubelet_cpu_state, read_memory, read_topology
from colo.ports.api import Api
from colo.ports.cgroups import Cgroups
from colo.ports.cluster import Heartbeat, NodeStatusPatcher
from colo.ports.usage import UsageReader
from colo.predict.reclaim import ReclaimPolicy

#: the offline box's CFS period by default (`BoxOptions.period_us`), seconds
BOX_PERIOD_S = BoxOptions().period_us / 1e6

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
    protect: bool = True
    protect_interval_s: float = 1.0
    target_util: float = 0.90
    box_period_s: float = BOX_PERIOD_S
    probe_timeout_s: float = 0.5
    cpusets: bool = True
    kubelet_state: str = CPU_MANAGER_STATE_PATH
    proc_root: str = "/proc"
    sys_root: str = "/sys"

    def protection(self) -> ProtectionOptions:
        return protection_options(
            self.protect_interval_s, self.target_util, self.cpusets, self.box_period_s
        )

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


def protection_options(
    interval_s: float,
    target_util: float,
    cpusets: bool,
    box_period_s: float = BOX_PERIOD_S,
) -> ProtectionOptions:
    box = BoxOptions(target_util=target_util, period_us=round(box_period_s * 1e6))
    return ProtectionOptions(interval_s=interval_s, box=box, cpusets=cpusets)


@dataclass(frozen=True, slots=True)
class LocalProtectOptions:
    """`colo agent protect`'s settings: protection alone, no API server."""

    node: str
    interval_s: float = 1.0
    target_util: float = 0.90
    box_period_s: float = BOX_PERIOD_S
    cgroup_root: str = "/sys/fs/cgroup"
    kubelet_cgroup_root: str = "/"
    metrics_listen: str | None = None
    cpusets: bool = True
    kubelet_state: str = CPU_MANAGER_STATE_PATH
    proc_root: str = "/proc"
    sys_root: str = "/sys"
    pods: Mapping[str, LocalPod] = field(default_factory=dict)
    """What the tree cannot tell of some pods: tier and cpus, by uid (`--pod`)."""


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
        annotations: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        if len(loop.node_names) != 1:
            raise ValueError("a NodeAgent drives a reporting loop over its own node only")
        self._annotations = annotations
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
        self.measure(pods, self._clock())
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
                    await self._heartbeat.renew({**command.annotations, **self._annotations()})
                    ok = True
                except ColoError as e:
                    ok = False
                    log.warning("node %s: heartbeat failed, retrying next tick: %s", self.name, e)
                self.loop.renewed(self.name, self._clock(), ok=ok)
        return done

    def measure(self, pods: Sequence[Pod], now: float) -> None:
        """Read `pods`' usage at `now` and hand it to the loop (no report: `tick` decides
        that). `tick` measures the node's pods each round; a replay of the past measures
        at earlier times to warm the predictor up."""
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
            (
                "colo_agent_patches",
                "Batch resource patches, by result.",
                loop.publishes,
                loop.publish_failures,
            ),
            (
                "colo_agent_heartbeats",
                "Heartbeat renewals, by result.",
                loop.renewals,
                loop.renew_failures,
            ),
        ):
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
            (
                "colo_agent_published_batch_cpu_millicores",
                "colo.io/batch-cpu as published.",
                published.cpu_milli if published else 0,
            ),
            (
                "colo_agent_published_batch_memory_bytes",
                "colo.io/batch-memory as published.",
                published.memory_bytes if published else 0,
            ),
            (
                "colo_agent_reclaimable_cpu_millicores",
                "Reclaimable cpu at the last report.",
                int(loop.reclaim_cpu[0]),
            ),
            (
                "colo_agent_reclaimable_memory_bytes",
                "Reclaimable memory at the last report.",
                int(loop.reclaim_memory[0]),
            ),
            (
                "colo_agent_online_cpu_millicores",
                "Cpu held back for online pods (predicted peaks or requests).",
                int(loop.online_cpu[0]),
            ),
            (
                "colo_agent_online_memory_bytes",
                "Memory held back for online pods (predicted peaks or requests).",
                int(loop.online_memory[0]),
            ),
            ("colo_agent_online_pods", "Online pods on the node.", len(loop.pods_on(agent.name))),
            ("colo_agent_measured_pods", "Pods measured in the last round.", agent.measured),
        )
        for name, doc, value in gauges:
            g = GaugeMetricFamily(name, doc, labels=["node"])
            g.add_metric(node, value)
            yield g


async def wait_for_tree(cgroups: Cgroups, node: str, interval_s: float) -> KubeletTree:
    """The kubelet's pod tree, once there is one (logged once while there is none)."""
    said = False
    while True:
        trees = cgroups.scan()
        if trees:
            return trees[0]
        if not said:
            log.warning("node %s: no kubelet pod tree (kubepods) yet; protection waits", node)
            said = True
        await asyncio.sleep(interval_s)


def node_topology(sys_root: str, node: str) -> CPUTopology | None:
    """The node's cpu topology for cpusets; None (logged) when sysfs cannot tell it."""
    try:
        return read_topology(sys_root)
    except (ColoError, OSError) as e:
        log.warning("node %s: cpu topology unreadable, no cpusets written: %s", node, e)
        return None


def node_cgroups(cgroup_root: str, kubelet_root: str, proc_root: str) -> LinuxCgroups:
    pressure = f"{proc_root}/pressure"
    return LinuxCgroups(cgroup_root, kubelet_root=kubelet_root, proc_pressure=pressure)


def kubelet_state_reader(path: str, node: str) -> Callable[[], KubeletCPUState | None]:
    """Reads the kubelet's CPU manager checkpoint each round; says once when it is static
    (colo allocates around the cpus it pinned) and logs a malformed one without stopping."""
    said: set[str] = set()

    def read() -> KubeletCPUState | None:
        try:
            state = read_kubelet_cpu_state(path)
        except ColoError as e:
            if str(e) not in said:
                log.warning("node %s: kubelet cpu manager state unreadable: %s", node, e)
                said.add(str(e))
            return None
        if state is not None and "static" not in said:
            log.info(
                "node %s: the kubelet's static CPU manager pins cpus for some pods; colo "
                "leaves those cpus and pods to it (colo explain node says which)",
                node,
            )
            said.add("static")
        return state

    return read


def sampler_for(cgroups: LinuxCgroups, proc_root: str) -> NodeSampler:
    return NodeSampler(
        cgroups,
        read_busy_ns=node_busy_reader(cgroups, proc_root),
        read_memory=lambda: read_memory(proc_root),
    )


async def protect_local(options: LocalProtectOptions) -> None:
    """`colo agent protect`: the protection loop alone, pods from the cgroup tree, no API
    server (evictions are logged, not made). For nodes and benchmarks without a kubelet."""
    cgroups = node_cgroups(options.cgroup_root, options.kubelet_cgroup_root, options.proc_root)
    tree = await wait_for_tree(cgroups, options.node, options.interval_s)
    total_memory, _ = read_memory(options.proc_root)
    topology = read_topology(options.sys_root)  # the capacity: every cpu is the node's
    node = ProtectedNode(
        options.node, capacity_milli=len(topology.cpus) * 1000, memory_bytes=total_memory,
        box=tree.box, topology=topology if options.cpusets else None,
    )  # fmt: skip
    loop = ProtectionLoop(
        [node],
        protection_options(
            options.interval_s, options.target_util, options.cpusets, options.box_period_s
        ),
    )
    protector = NodeProtector(
        loop,
        sampler=sampler_for(cgroups, options.proc_root),
        pods=lambda t: pods_from_tree(t, options.pods) if t is not None else [],
        kubelet=kubelet_state_reader(options.kubelet_state, options.node),
        hooks=ProtectorHooks(keep_self_on=OwnCpus().keep_on),
    )
    metrics: web.AppRunner | None = None
    try:
        if options.metrics_listen:
            metrics = await serve_metrics(
                options.metrics_listen, [ProtectionCollector(protector)], process="colo-agent"
            )
        log.info(
            "colo-agent protecting node %s (no API server): box %s, every %g s, target %g, "
            "cfs period %g ms",
            options.node,
            tree.box,
            options.interval_s,
            options.target_util,
            options.box_period_s * 1000,
        )
        await protector.run()
    finally:
        if metrics is not None:
            await metrics.cleanup()


async def room_elsewhere(api: Api, node: str) -> bool:
    """Whether some other schedulable node publishes batch cpu (`colo.io/batch-cpu` > 0):
    where a starved offline pod, evicted, could run. A coarse check (it ignores what is
    already placed there), made only while the node is starving."""
    try:
        listing = await api.request("GET", "/api/v1/nodes")
    except ColoError as e:
        log.warning("node %s: cannot list nodes to find room elsewhere: %s", node, e)
        return False
    for raw in (listing or {}).get("items") or []:
        try:
            other = Node.from_k8s(raw)
        except InvalidInput:
            continue
        if other.name != node and other.schedulable and other.allocatable.get(BATCH_CPU) > 0:
            return True
    return False


class _ApiPods:
    """The node's pods from the informer, read leniently (a malformed `colo.io/qos` label
    is a Warning event once per resourceVersion, the pod read by its QoS class)."""

    def __init__(self, informer: Informer, node: str) -> None:
        self._informer = informer
        self._node = node
        self._warned: set[tuple[str, str]] = set()
        self.pending: list[tuple[Pod, str]] = []

    def pods(self) -> list[Pod]:
        out = []
        raw: dict[str, Any] | None = None  # the cache's raw objects, copied only if needed
        for key in self._informer.cached_keys():
            view = self._informer.view(key)
            if isinstance(view, Pod):
                pod: Pod | None = view
            else:
                raw = self._informer.raw() if raw is None else raw
                obj = raw.get(key)
                if obj is None:
                    continue
                pod, why = lenient_pod(obj)
                rv = str((obj.get("metadata") or {}).get("resourceVersion", ""))
                if pod is not None and why is not None and (key, rv) not in self._warned:
                    self._warned.add((key, rv))
                    self.pending.append((pod, why))
            if pod is not None and pod.node_name == self._node and not pod.terminal:
                out.append(pod)
        return out


async def protect(
    options: AgentOptions,
    *,
    api: Api,
    node: Node,
    agent: NodeAgent,
    pods: _ApiPods,
    protector_ready: asyncio.Future[NodeProtector],
) -> None:
    """The protection half of `colo agent serve` (see the module docstring)."""
    cgroups = node_cgroups(options.cgroup_root, options.kubelet_cgroup_root, options.proc_root)
    tree = await wait_for_tree(cgroups, options.node, options.protect_interval_s)
    spec = ProtectedNode(
        options.node, capacity_milli=node.capacity.cpu_milli,
        memory_bytes=node.capacity.memory_bytes, box=tree.box,
        topology=node_topology(options.sys_root, options.node) if options.cpusets else None,
    )  # fmt: skip
    recorder = KubeEventRecorder(api, component="colo-agent", instance=options.node)
    probes: list[Probe] = []

    def api_pods(t: KubeletTree | None) -> list[ProtectedPod]:
        mono, wall = time.monotonic(), time.time()
        views = pods.pods()
        found, bad = probes_of(views)
        probes[:] = found
        pods.pending.extend(bad)
        return [protected_pod(p, t, mono_now=mono, wall_now=wall) for p in views]

    async def warn_bad_pods() -> None:
        while pods.pending:
            pod, why = pods.pending.pop(0)
            await protector.warn_pod(pod, why)

    protector = NodeProtector(
        ProtectionLoop([spec], options.protection()),
        sampler=sampler_for(cgroups, options.proc_root),
        pods=api_pods,
        probes=lambda: probes,
        slo=SloProbes(options.probe_timeout_s),
        kubelet=kubelet_state_reader(options.kubelet_state, options.node),
        hooks=ProtectorHooks(
            on_forbid=lambda on: agent.loop.forbid(options.node, on),
            evictor=KubeEvictor(api, recorder=recorder),
            recorder=recorder,
            room_elsewhere=lambda: room_elsewhere(api, options.node),
            after_round=warn_bad_pods,
            keep_self_on=OwnCpus().keep_on,
        ),
    )
    protector_ready.set_result(protector)
    log.info(
        "colo-agent protecting node %s: box %s, every %g s, target %g, cfs period %g ms",
        options.node, tree.box, options.protect_interval_s, options.target_util,
        options.box_period_s * 1000,
    )  # fmt: skip
    await protector.run()


async def serve(config: ClientConfig, options: AgentOptions) -> None:
    """The colo-agent process: informers for the node and its pods → the reporting loop
    (node status patches, heartbeats) and, unless `--no-protect`, the protection loop
    (cgroups, evictions, events), until cancelled."""
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
            api_pods = _ApiPods(pods, options.node)

            def this_node() -> Node | None:
                v = nodes.view(options.node)
                return v if isinstance(v, Node) else None

            ready: asyncio.Future[NodeProtector] = asyncio.get_running_loop().create_future()

            def protection_state() -> dict[str, str]:
                if not ready.done():
                    return {}
                return {PROTECTION_ANNOTATION: json.dumps(ready.result().state())}

            agent = NodeAgent(
                ReportingLoop([node_spec(node)], options.reporting()),
                pods=api_pods.pods,
                node=this_node,
                reader=reader,
                patcher=KubeNodeStatusPatcher(t),
                heartbeat=NodeHeartbeat(
                    t,
                    options.node,
                    namespace=options.heartbeat_namespace,
                    interval_s=options.interval_s,
                ),
                annotations=protection_state,
            )
            loops = [agent.run()]
            if options.protect:
                loops.append(
                    protect(
                        options, api=t, node=node, agent=agent, pods=api_pods, protector_ready=ready
                    )
                )
            if options.metrics_listen:
                metrics = await serve_metrics(
                    options.metrics_listen,
                    agent_collectors(agent, ready if options.protect else None),
                    process="colo-agent",
                )
            log.info(
                "colo-agent on node %s: reporting every %g s, cgroups %s (v%d); protection %s",
                options.node,
                options.interval_s,
                reader.hierarchy.cpu,
                reader.hierarchy.version,
                f"every {options.protect_interval_s:g} s" if options.protect else "off",
            )
            await asyncio.gather(informers, *loops)
        finally:
            informers.cancel()
            if metrics is not None:
                await metrics.cleanup()


def agent_collectors(
    agent: NodeAgent, protector: asyncio.Future[NodeProtector] | None
) -> list[Collector]:
    """What `colo agent serve` serves on /metrics: the reporting loop's figures and, with
    protection on, the protector's once it exists (it waits for the pod tree)."""
    out: list[Collector] = [AgentCollector(agent)]
    if protector is not None:
        out.append(_LateCollector(protector))
    return out


class _LateCollector(Collector):
    """The protection metrics once the protector exists (it waits for the pod tree)."""

    def __init__(self, ready: asyncio.Future[NodeProtector]) -> None:
        self._ready = ready

    def collect(self) -> Iterator[Metric]:
        if self._ready.done() and not self._ready.cancelled():
            yield from ProtectionCollector(self._ready.result()).collect()

    def describe(self) -> Iterator[Metric]:
        return iter(())
