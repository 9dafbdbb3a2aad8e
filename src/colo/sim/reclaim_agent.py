"""Every node's colo-agent (its reclaim half) at simulated time: a driver of the real loop.

The agents' logic is `colo.agent.reporting.ReportingLoop`, one object over every node
(the real peak estimator over every online pod, the real calculator, one real
`BatchReporter` per node). This driver only feeds it and carries out what it says: each
`report_interval` it samples the online pods' simulated CPU usage, hands it to
`observe`, `tick`s, and executes each `Publish` through the simulated cluster's
`NodeStatusPatcher` port, reporting the outcome back. It also keeps the report's series.
The simulated cluster has no heartbeat leases, so the loop runs without heartbeats.

Online pods are modelled as LS (the traces say nothing of their tiers); their memory is
steady in the model, so its peak is its use.
"""

from __future__ import annotations

import numpy as np

from colo.agent import reporting
from colo.core.qos import QoSTier
from colo.core.resources import Resources
from colo.predict.reclaim import Reclaim, ReclaimPolicy
from colo.sim.cluster import ONLINE_NAMESPACE, SimCluster, complete
from colo.sim.engine import PRIO_CONTROL, EventLoop
from colo.sim.results import PREDICTED_PEAK, RECLAIMED
from colo.sim.scenario import ColoPolicy


def loop_options(config: ColoPolicy, max_request_cpu_milli: int) -> reporting.ReportingOptions:
    """The scenario's `colo` policy as reporting options (estimator defaults otherwise).

    The rises' histogram reaches twice the largest online request: no pod climbs further.
    """
    return reporting.ReportingOptions.every(
        config.report_interval,
        peak=reporting.PeakOptions(
            horizon_s=config.horizon, max_cores=max(1.0, max_request_cpu_milli / 1000.0 * 2)
        ),
        cpu_policy=ReclaimPolicy(config.cpu_policy),
        memory_policy=ReclaimPolicy(config.memory_policy),
        safety_margin=config.safety_margin,
        min_history_s=config.min_history,
        threshold=config.report_threshold,
        heartbeats=False,
    )


class SimReclaimAgents:
    def __init__(self, cluster: SimCluster, loop: EventLoop, config: ColoPolicy) -> None:
        self.cluster = cluster
        self.loop = loop
        self.config = config
        online = cluster.workload.online
        placed = cluster.online_pod_node >= 0
        pods = np.flatnonzero(placed)
        pod_node = cluster.online_pod_node[placed].astype(np.intp)
        request_cpu = online.cpu_milli[pods].astype(np.int64)
        request_memory = online.memory_bytes[pods].astype(np.int64)
        self.engine = reporting.ReportingLoop(
            [
                reporting.NodeSpec(
                    name,
                    capacity=Resources.of(cpu_milli=cpu, memory_bytes=memory),
                    allocatable=Resources.of(cpu_milli=alloc_cpu, memory_bytes=alloc_memory),
                )
                for name, cpu, memory, alloc_cpu, alloc_memory in zip(
                    cluster.node_names,
                    cluster.capacity_cpu.tolist(),
                    cluster.capacity_memory.tolist(),
                    cluster.alloc_cpu.tolist(),
                    cluster.alloc_memory.tolist(),
                    strict=True,
                )
            ],
            loop_options(config, int(request_cpu.max(initial=1000))),
        )
        keys = [f"{ONLINE_NAMESPACE}/online-{int(j)}" for j in pods]
        by_node: dict[str, list[reporting.PodSpec]] = {name: [] for name in cluster.node_names}
        for key, node, cpu, memory in zip(
            keys, pod_node.tolist(), request_cpu.tolist(), request_memory.tolist(), strict=True
        ):
            request = Resources.of(cpu_milli=cpu, memory_bytes=memory)
            by_node[cluster.node_names[node]].append(reporting.PodSpec(key, QoSTier.LS, request))
        self.engine.set_pods(by_node)
        self.pods = pods  # online pod indices, as the workload numbers them
        self.slots = self.engine.slots(keys)  # their slots in the loop
        self.memory_use = np.zeros(self.engine.size, np.int64)
        self.memory_use[self.slots] = online.memory_usage_bytes[pods]
        self.patches = 0
        self.immediate = 0  # reports run at once (`publish_now`)
        ticks = len(cluster.workload.tick_s)
        self.predicted = np.full(ticks, np.nan)  # predicted online peak, share of capacity
        self.reclaimed = np.full(ticks, np.nan)  # published batch cpu, share of capacity

    @property
    def computed_cpu(self) -> np.ndarray:
        """Every node's reclaimable cpu (millicores) at the last report."""
        return self.engine.reclaim_cpu

    @property
    def computed_memory(self) -> np.ndarray:
        return self.engine.reclaim_memory

    @property
    def last_at(self) -> float | None:
        return self.engine.last_at

    def start(self) -> None:
        self.loop.schedule(0.0, self._report, priority=PRIO_CONTROL)

    def _tick_index(self, now: float) -> int:
        ticks = self.cluster.workload.tick_s
        at = int(np.searchsorted(ticks, now, side="right")) - 1
        return min(len(ticks) - 1, max(0, at))

    def _report(self) -> None:
        c = self.cluster
        now = self.loop.now()
        k = self._tick_index(now)
        cpu = np.zeros(self.engine.size)
        cpu[self.slots] = c.online_usage_per_pod(self.pods, k)  # millicores
        self.engine.observe(reporting.Usage(now, cpu, self.memory_use))
        self._publish(now)
        total = float(c.capacity_cpu.sum())
        self.predicted[k] = float(self.engine.online_cpu.sum()) / total
        self.loop.after(self.config.report_interval, self._report, priority=PRIO_CONTROL)

    def publish_now(self) -> None:
        """Tick the reporting loop now, between its scheduled reports, and carry out what
        it says: an agent whose guard forbade (or freed) its node publishes at once, not
        at its next interval. No usage is sampled (the peak estimators keep their pace)
        and the regular reports keep their schedule. The loop decides for every node, as
        at a report, on the samples of the last one: beyond the forbidden or freed nodes
        it publishes little (a rise the rate limit held back, a pod whose history just
        reached `min_history`)."""
        self.immediate += 1
        self._publish(self.loop.now())

    def _publish(self, now: float) -> None:
        c = self.cluster
        for command in self.engine.tick(now):
            assert isinstance(command, reporting.Publish)  # no heartbeats here
            values = command.batch.as_extended()
            complete(c.patch_extended_resources(command.node, capacity=values, allocatable=values))
            self.engine.published(command.node, command.batch, now, ok=True)
            self.patches += 1
        self.reclaimed[self._tick_index(now)] = float(c.batch_alloc_cpu.sum()) / float(
            c.capacity_cpu.sum()
        )

    def series(self) -> dict[str, np.ndarray]:
        """Forward-filled onto the tick grid, for the report."""
        return {
            PREDICTED_PEAK: forward_fill(self.predicted),
            RECLAIMED: forward_fill(self.reclaimed),
        }

    def explain(self, node_name: str) -> Reclaim:
        """`compute`'s term-by-term explanation of one node at the last report."""
        return self.engine.explain(node_name)


def forward_fill(values: np.ndarray) -> np.ndarray:
    """Along the last axis, each NaN takes the last value before it (leading NaNs stay
    NaN). Rows of a 2-D array are filled by the first row's gaps: the series of one
    source are recorded together."""
    first = values if values.ndim == 1 else values[0]
    seen = np.where(np.isnan(first), 0, np.arange(values.shape[-1]))
    return values[..., np.maximum.accumulate(seen)]


def install(cluster: SimCluster, loop: EventLoop, config: ColoPolicy) -> SimReclaimAgents:
    agents = SimReclaimAgents(cluster, loop, config)
    agents.start()
    cluster.series_sources.append(agents.series)
    return agents
