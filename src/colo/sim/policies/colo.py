"""`colo`: co-location the colo way (so far its reclaim half).

Every node is shared. Online pods are placed by kube-scheduler as under `request-based`.
Offline pods are what colo-webhook makes of them: they request `colo.io/batch-cpu` and
`colo.io/batch-memory` instead of cpu and memory, run BestEffort in the offline box (a
tiny cpu weight next to online pods), and fit only into the batch capacity that each
node's colo-agent publishes from its predicted online peak (`colo.sim.reclaim_agent`:
the real estimator, calculator and reporter). Still stock for now, until colo-batch and
the coordinator land: kube-controller-manager's job controllers and kube-scheduler.
"""

from __future__ import annotations

from colo.sim.cluster import SimCluster
from colo.sim.engine import EventLoop
from colo.sim.policies.request_based import RequestBasedPolicy
from colo.sim.policies.stock import install_stock
from colo.sim.reclaim_agent import SimReclaimAgents, install
from colo.sim.scenario import Scenario


class ColoPolicy(RequestBasedPolicy):
    """Nodes shared and online pods placed as under `request-based`; offline work differs."""

    name = "colo"

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        self.agents: SimReclaimAgents | None = None

    def install(self, cluster: SimCluster, loop: EventLoop) -> None:
        config = self.scenario.policies.colo
        cluster.use_batch_resources()
        cluster.offline_weight_per_milli = config.offline_cpu_weight_per_milli
        self.agents = install(cluster, loop, config)
        install_stock(self.scenario, cluster, loop, pool=None)
