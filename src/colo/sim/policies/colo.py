"""`colo`: co-location the colo way (reclaim, colo-batch and the coordinator).

Every node is shared. Online pods are placed by kube-scheduler as under `request-based`.
Offline pods are what colo-webhook makes of them: they request `colo.io/batch-cpu` and
`colo.io/batch-memory` instead of cpu and memory, run BestEffort in the offline box (a
tiny cpu weight next to online pods), and fit only into the batch capacity that each
node's colo-agent publishes from its predicted online peak (`colo.sim.reclaim_agent`:
the real estimator, calculator and reporter). colo-batch places them (`colo.sim.
batch_scheduler`: the real batch cycle), reserving every placement at the coordinator's
ledger (`colo.sim.coordinator`) before binding within its own client rate limit.
The jobs CronJobs fire (the wave) are colo-cron's (`colo.sim.cron`: the real loop, runs
made ahead and bound at their second); the other jobs stay with kube-controller-manager's
job controllers. With `policies.colo.protect`, every node's agent also runs its protection
loop (`colo.sim.protect_agent`: the real guard and offline box): the box caps offline CPU
and runs SCHED_IDLE, a troubled node publishes no batch capacity and evicts offline pods.
"""

from __future__ import annotations

from colo.sched.requirements import VirtualNodePolicy
from colo.sim.batch_scheduler import SimBatchScheduler
from colo.sim.cluster import SimCluster
from colo.sim.controlplane import StockJobController
from colo.sim.coordinator import SimCoordinator
from colo.sim.cron import SimCronController
from colo.sim.engine import EventLoop
from colo.sim.policies.request_based import RequestBasedPolicy
from colo.sim.protect_agent import SimProtectionAgents
from colo.sim.protect_agent import install as install_protection
from colo.sim.reclaim_agent import SimReclaimAgents, install
from colo.sim.scenario import Scenario


class ColoPolicy(RequestBasedPolicy):
    """Nodes shared and online pods placed as under `request-based`; offline work differs."""

    name = "colo"
    relative_cost = 3.0  # every colo component runs, at every event

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        self.agents: SimReclaimAgents | None = None
        self.protection: SimProtectionAgents | None = None
        self.coordinator: SimCoordinator | None = None
        self.scheduler: SimBatchScheduler | None = None
        self.cron: SimCronController | None = None

    def install(self, cluster: SimCluster, loop: EventLoop) -> None:
        config = self.scenario.policies.colo
        cp = self.scenario.control_plane
        cluster.use_batch_resources()
        cluster.offline_weight_per_milli = config.offline_cpu_weight_per_milli
        # The coordinator and colo-batch follow the cluster before anything changes it.
        self.coordinator = SimCoordinator(cluster)
        self.scheduler = SimBatchScheduler(
            cluster,
            loop,
            ledger=self.coordinator.ledger,
            qps=config.batch_scheduler_qps,
            burst=config.batch_scheduler_burst,
            cycle_s=config.batch_cycle,
            virtual=VirtualNodePolicy(jobs=config.jobs_on_virtual_nodes),
        )
        self.agents = install(cluster, loop, config)
        if config.protect:
            self.protection = install_protection(cluster, loop, config, self.agents)
        # CronJobs are colo-cron's (the real loop); other jobs stay with the stock controller.
        self.cron = SimCronController(cluster, loop, lead_s=config.cron_lead)
        controller = StockJobController(
            cluster,
            loop,
            qps=cp.controller_qps,
            burst=cp.controller_burst,
            requests_per_job=cp.requests_per_job,
            cron=False,
        )
        self.cron.start()
        controller.start()
