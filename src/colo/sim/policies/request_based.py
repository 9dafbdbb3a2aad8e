"""`request-based`: what stock Kubernetes does when online and offline share nodes.

Every node is shared. Online pods are spread by kube-scheduler; offline pods are placed
by their requests like any other pod and run with cpu weights proportional to those
requests. Nothing watches interference: no throttling, no eviction beyond the kubelet's
memory pressure. Utilization is bounded by what online pods *request*, not by what they use.
"""

from __future__ import annotations

import numpy as np

from colo.sim.cluster import SimCluster
from colo.sim.controlplane import place_online
from colo.sim.engine import EventLoop
from colo.sim.policies.base import allocatable
from colo.sim.policies.stock import install_stock
from colo.sim.scenario import Scenario
from colo.sim.workload import Workload


class RequestBasedPolicy:
    name = "request-based"
    relative_cost = 1.0

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    def node_pools(self, workload: Workload) -> list[str | None]:
        return [None] * len(workload.node_cpu_milli)

    def place_online(self, workload: Workload, pools: list[str | None]) -> np.ndarray:
        cpu, mem = allocatable(self.scenario, workload)
        online = workload.online
        allowed = np.ones(len(cpu), bool)
        return place_online(online.cpu_milli, online.memory_bytes, cpu, mem, allowed)

    def install(self, cluster: SimCluster, loop: EventLoop) -> None:
        install_stock(self.scenario, cluster, loop, pool=None)
