"""colo-coordinator at simulated time: the real `Ledger`, fed by the simulated cluster.

`colo coord serve` lists nodes and pods, rebuilds its ledger from them, then applies every
watched change as it comes (`colo.coord.feed`). Here the same ledger is rebuilt from the
simulated cluster at install (every node's allocatable; every online pod bound with its
cpu, memory and one pod slot) and then follows the cluster's hooks:

- a node's extended resources patched (a colo-agent published `colo.io/batch-*`):
  `update_node` with the node's whole allocatable;
- a pod bound and admitted, by any scheduler: `pod_bound` (confirms a reservation);
- a pod that succeeded or was evicted: `pod_gone`.

Updates are applied the instant they happen, which is what the service guarantees
("every status update that has arrived is applied before the next batch is answered"),
minus the watch latency a real cluster adds. Schedulers call the ledger in-process.
"""

from __future__ import annotations

from colo.coord.ledger import Ledger
from colo.core.resources import CPU, MEMORY, PODS
from colo.sim.cluster import ONLINE_NAMESPACE, SimCluster, SimPod

#: What `colo coord serve --ttl` defaults to: an unconfirmed reservation lives this long.
RESERVATION_TTL_S = 30.0


class SimCoordinator:
    """Keeps `ledger` in step with `cluster`; one per simulated cluster."""

    def __init__(self, cluster: SimCluster, *, ttl_s: float = RESERVATION_TTL_S) -> None:
        self.cluster = cluster
        self.ledger = Ledger(ttl_s=ttl_s)
        c = cluster
        online = c.workload.online
        placed = [int(i) for i in (c.online_pod_node >= 0).nonzero()[0]]
        self.ledger.rebuild(
            ((name, c.offline_allocatable(i)) for i, name in enumerate(c.node_names)),
            (
                (
                    f"{ONLINE_NAMESPACE}/online-{i}",
                    c.node_names[int(c.online_pod_node[i])],
                    {CPU: int(online.cpu_milli[i]), MEMORY: int(online.memory_bytes[i]), PODS: 1},
                )
                for i in placed
            ),
        )
        c.on_node_patched(self._node_patched)
        c.on_bound(self._bound)
        c.on_released(self._released)

    def _node_patched(self, node: int) -> None:
        c = self.cluster
        self.ledger.update_node(c.node_names[node], c.offline_allocatable(node))

    def _bound(self, pod: SimPod) -> None:
        c = self.cluster
        self.ledger.pod_bound(pod.key, c.node_names[pod.node], c.requests_of(pod))

    def _released(self, pod: SimPod) -> None:
        self.ledger.pod_gone(pod.key)
