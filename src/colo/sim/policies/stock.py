"""Wiring shared by the policies that run the stock Kubernetes control plane."""

from __future__ import annotations

from colo.sim.cluster import SimCluster
from colo.sim.controlplane import StockJobController, StockScheduler
from colo.sim.engine import EventLoop
from colo.sim.scenario import Scenario


def install_stock(
    scenario: Scenario, cluster: SimCluster, loop: EventLoop, *, pool: str | None
) -> tuple[StockJobController, StockScheduler]:
    """kube-controller-manager's job controllers and kube-scheduler, with their rate limits."""
    cp = scenario.control_plane
    controller = StockJobController(
        cluster,
        loop,
        qps=cp.controller_qps,
        burst=cp.controller_burst,
        requests_per_job=cp.requests_per_job,
        pool=pool,
    )
    scheduler = StockScheduler(
        cluster, loop, qps=cp.scheduler_qps, burst=cp.scheduler_burst, round_s=cp.scheduling_round
    )
    controller.start()
    return controller, scheduler
