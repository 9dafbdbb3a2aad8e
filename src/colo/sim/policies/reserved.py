"""`reserved`: online and offline on separate, statically sized pools.

The world before co-location: a share of the nodes (`offline_pool_fraction`) is kept for
offline work, the rest for online services; no node runs both. Pools are labelled
`colo.io/pool=online|offline` and offline pods carry the matching node selector.
"""

from __future__ import annotations

import numpy as np

from colo.sim.cluster import SimCluster
from colo.sim.controlplane import place_online, pool_mask
from colo.sim.engine import EventLoop
from colo.sim.policies.base import allocatable
from colo.sim.policies.stock import install_stock
from colo.sim.scenario import Scenario
from colo.sim.workload import Workload


class ReservedPolicy:
    name = "reserved"
    relative_cost = 1.0

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.offline_fraction = scenario.policies.reserved.offline_pool_fraction

    def node_pools(self, workload: Workload) -> list[str | None]:
        n = len(workload.node_cpu_milli)
        offline = round(n * self.offline_fraction)
        offline = min(max(offline, 1 if self.offline_fraction > 0 else 0), n - 1)
        pools: list[str | None] = ["online"] * (n - offline)
        return pools + ["offline"] * offline

    def place_online(self, workload: Workload, pools: list[str | None]) -> np.ndarray:
        cpu, mem = allocatable(self.scenario, workload)
        online = workload.online
        return place_online(
            online.cpu_milli, online.memory_bytes, cpu, mem, pool_mask(pools, "online")
        )

    def install(self, cluster: SimCluster, loop: EventLoop) -> None:
        install_stock(self.scenario, cluster, loop, pool="offline")
