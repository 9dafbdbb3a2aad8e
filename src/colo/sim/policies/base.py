"""The policy seam of the simulator."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from colo.sim.cluster import SimCluster
from colo.sim.engine import EventLoop
from colo.sim.scenario import Scenario
from colo.sim.workload import Workload


class SimPolicy(Protocol):
    name: str
    relative_cost: float
    """How long a run takes next to other policies' on the same scenario (a rough guide,
    measured on the default one): parallel runs start the longest first."""

    def node_pools(self, workload: Workload) -> list[str | None]:
        """Per node: the pool label (`colo.io/pool`), or None for a shared node."""
        ...

    def place_online(self, workload: Workload, pools: list[str | None]) -> np.ndarray:
        """Per online pod: the node index it runs on for the whole run (-1: did not fit)."""
        ...

    def install(self, cluster: SimCluster, loop: EventLoop) -> None:
        """Wire the components that move offline work; they schedule their own events."""
        ...


def allocatable(scenario: Scenario, workload: Workload) -> tuple[np.ndarray, np.ndarray]:
    c = scenario.cluster
    return (
        workload.node_cpu_milli - c.system_reserved_cpu,
        workload.node_memory_bytes - c.system_reserved_memory,
    )
