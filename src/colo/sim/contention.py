"""How a node's demand turns into online latency inflation.

The model has two terms, both per node and per tick.

1. CPU share (starvation). When online demand D_on plus offline demand D_off exceeds the
   node's capacity C, the kernel's CFS splits C between the online pods and the offline
   pods in proportion to their cpu weights (cpu.shares/cpu.weight), each group taking
   at most what it asks for and leaving the rest to the other (water-filling):

       g_on  = min(D_on,  max(C · w_on / (w_on + w_off), C − D_off))
       g_off = min(D_off, C − g_on)

   An offline quota (the offline box's cfs quota, set by colo's agent) caps D_off first.
   Online work that gets less CPU than it asks for waits for it: the starvation term is
   D_on / g_on − 1 (zero when fully served).

2. Shared resources (interference). Even with CPU to spare, offline work on the same
   node slows online requests through hyperthread siblings, last-level cache and memory
   bandwidth. This grows with the offline share of the node and sharply once the node is
   busy past a knee, as measured in co-location studies (CPI rises with utilisation):

       shared = alpha · (g_off / C) · (1 + beta · max(0, rho − knee) / (1 − knee)),
       rho = (g_on + g_off) / C

A pod's inflation is 1 + sensitivity_pod · shared + starvation; it violates its SLO while
inflation exceeds the scenario's bound (default 1.05: latency up by more than 5 %).
`sensitivity_pod` is drawn per online pod (services differ in how cache-bound they are).
Parameters live in the scenario's `contention` section; the defaults are placeholders of
the right shape, to be calibrated on real cgroups by a later issue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ContentionParams:
    alpha: float = 0.01
    knee: float = 0.5
    beta: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.knee < 1.0:
            raise ValueError(f"knee must be in [0, 1), got {self.knee}")
        if self.alpha < 0 or self.beta < 0:
            raise ValueError("alpha and beta must be non-negative")


def cpu_grants(
    capacity: np.ndarray,
    online_demand: np.ndarray,
    offline_demand: np.ndarray,
    online_weight: np.ndarray,
    offline_weight: np.ndarray,
    offline_cap: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """CPU granted to the online and the offline group of each node (same unit as capacity)."""
    d_off = offline_demand if offline_cap is None else np.minimum(offline_demand, offline_cap)
    total_w = online_weight + offline_weight
    share_on = np.divide(
        capacity * online_weight,
        total_w,
        out=np.array(capacity, dtype=np.float64),
        where=total_w > 0,
    )
    g_on = np.minimum(online_demand, np.maximum(share_on, capacity - d_off))
    g_off = np.minimum(d_off, capacity - g_on)
    return g_on, np.maximum(g_off, 0.0)


def interference(
    params: ContentionParams,
    capacity: np.ndarray,
    g_on: np.ndarray,
    g_off: np.ndarray,
    online_demand: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per node: (shared-resource term, starvation term) of online latency inflation."""
    rho = (g_on + g_off) / capacity
    busy = np.maximum(rho - params.knee, 0.0) / (1.0 - params.knee)
    shared = params.alpha * (g_off / capacity) * (1.0 + params.beta * busy)
    starved = (
        np.divide(
            online_demand,
            g_on,
            out=np.ones_like(online_demand, dtype=np.float64),
            where=g_on > 0,
        )
        - 1.0
    )
    starved = np.where((g_on <= 0) & (online_demand > 0), 10.0, np.maximum(starved, 0.0))
    return shared, starved
