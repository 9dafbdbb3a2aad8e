"""colo-coordinator at simulated time: the real `Ledger`, fed the way the process feeds it.

`colo coord serve` lists nodes and pods, rebuilds its ledger from them
(`colo.coord.feed.LedgerFeed`), then applies every watched change as it comes. Here the
same feed does the same over the simulated cluster's `ClusterReader` port: the listing
at install (every node, every online pod bound since the start), then every change the
cluster announces — a node's extended resources patched (a colo-agent published
`colo.io/batch-*`), a pod bound by any scheduler (confirms a reservation), a pod that
succeeded, failed or was evicted (its room is free).

Updates are applied the instant they happen, which is what the service guarantees
("every status update that has arrived is applied before the next batch is answered"),
minus the watch latency a real cluster adds. Schedulers call the ledger in-process.
"""

from __future__ import annotations

from colo.coord.feed import LedgerFeed
from colo.coord.ledger import Ledger
from colo.sim.cluster import SimCluster

#: What `colo coord serve --ttl` defaults to: an unconfirmed reservation lives this long.
RESERVATION_TTL_S = 30.0


class SimCoordinator:
    """Keeps `ledger` in step with `cluster`; one per simulated cluster."""

    def __init__(self, cluster: SimCluster, *, ttl_s: float = RESERVATION_TTL_S) -> None:
        self.ledger = Ledger(ttl_s=ttl_s)
        self.feed = LedgerFeed(self.ledger)
        self.feed.rebuild(cluster.nodes(), cluster.pods())
        cluster.subscribe(self.feed.apply)
