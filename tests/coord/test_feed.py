"""The ledger follows the cluster: bound pods hold room until deleted or finished."""

from __future__ import annotations

from colo.coord.feed import LedgerFeed
from colo.coord.ledger import Ledger
from colo.core.builders import NodeBuilder, PodBuilder
from colo.core.objects import Node, Pod
from colo.core.reservation import Item


def node(name: str, cpu: str) -> Node:
    return Node.from_k8s(NodeBuilder(name).allocatable(cpu=cpu, memory="8Gi", pods=10).obj())


def pod(name: str, cpu: str, *, on: str | None = None, phase: str = "Running") -> Pod:
    obj = PodBuilder(name, namespace="ns").obj()
    obj["spec"]["containers"][0]["resources"] = {"requests": {"cpu": cpu}}
    if on:
        obj["spec"]["nodeName"] = on
    obj["status"] = {"phase": phase}
    return Pod.from_k8s(obj)


def test_rebuild_counts_only_bound_live_pods_and_changes_follow() -> None:
    feed = LedgerFeed(Ledger(ttl_s=10))
    feed.rebuild(
        [node("a", "4")],
        [pod("run", "1", on="a"), pod("done", "2", on="a", phase="Succeeded"), pod("wait", "2")],
    )
    assert feed.ledger.free("a")["cpu"] == 3000
    assert feed.ledger.free("a")["pods"] == 9
    feed.pod_changed(pod("new", "2", on="a"))
    assert feed.ledger.free("a")["cpu"] == 1000
    refused = feed.ledger.reserve([Item("ns/x", "a", {"cpu": 1001})], 0.0)
    assert not refused[0].ok
    feed.pod_changed(pod("new", "2", on="a", phase="Failed"))
    feed.pod_removed("ns/run")
    assert feed.ledger.free("a")["cpu"] == 4000
    feed.node_changed(node("a", "6"))
    assert feed.ledger.free("a")["cpu"] == 6000
    feed.node_removed("a")
    assert "a" not in feed.ledger.nodes


def test_a_status_update_of_a_bound_pod_does_not_count_it_twice() -> None:
    feed = LedgerFeed(Ledger(ttl_s=10))
    feed.node_changed(node("a", "4"))
    for _ in range(3):
        feed.pod_changed(pod("p", "1", on="a"))
    assert feed.ledger.free("a")["cpu"] == 3000
