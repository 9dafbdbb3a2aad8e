"""Keep a coordinator's ledger in step with the cluster's nodes and pods.

A pod holds node resources from the moment it is bound until it is deleted or reaches
Succeeded/Failed; a node offers its allocatable (in colo units, batch resources
included). The process wiring turns a reader's changes into the
calls below; `rebuild` starts over from a full listing (after a restart: never grant
what is bound).
"""

from __future__ import annotations

from collections.abc import Iterable

from colo.coord.ledger import Ledger
from colo.core.changes import ChangeKind, ClusterEvent
from colo.core.objects import Node, Pod


def holds_resources(pod: Pod) -> bool:
    return pod.bound and not pod.terminal


class LedgerFeed:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def rebuild(self, nodes: Iterable[Node], pods: Iterable[Pod]) -> None:
        self.ledger.rebuild(
            ((n.name, dict(n.allocatable.items())) for n in nodes),
            (
                (p.key, p.node_name or "", dict(p.requests.items()))
                for p in pods
                if holds_resources(p)
            ),
        )

    def node_changed(self, node: Node) -> None:
        self.ledger.update_node(node.name, dict(node.allocatable.items()))

    def node_removed(self, name: str) -> None:
        self.ledger.remove_node(name)

    def pod_changed(self, pod: Pod) -> None:
        if pod.terminal:
            self.ledger.pod_gone(pod.key)
        elif pod.node_name:
            self.ledger.pod_bound(pod.key, pod.node_name, dict(pod.requests.items()))

    def pod_removed(self, key: str) -> None:
        self.ledger.pod_gone(key)

    def apply(self, event: ClusterEvent) -> None:
        """One change a cluster reader saw (the coordinator's whole loop after `rebuild`)."""
        if event.node is not None:
            if event.kind is ChangeKind.DELETED:
                self.node_removed(event.node.name)
            else:
                self.node_changed(event.node)
        elif event.pod is not None:
            if event.kind is ChangeKind.DELETED:
                self.pod_removed(event.pod.key)
            else:
                self.pod_changed(event.pod)
