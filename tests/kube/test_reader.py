"""KubeClusterReader: the ClusterReader port over a pod and a node informer."""

from __future__ import annotations

import asyncio
from typing import Any

from kubefakes import FakeTransport, page, pod

from colo.core.builders import NodeBuilder
from colo.core.changes import ClusterEvent
from colo.kube.informer import Informer
from colo.kube.reader import KubeClusterReader


def node(name: str, rv: str) -> dict[str, Any]:
    o = NodeBuilder(name).obj()
    o["metadata"]["resourceVersion"] = rv
    return o


def test_reader_serves_views_index_and_events_from_both_informers() -> None:
    async def body() -> None:
        pt, nt = FakeTransport(), FakeTransport()
        pt.lists = [[page([pod("a", "1", node="n1"), pod("b", "2")], "3")]]
        nt.lists = [[page([node("n1", "4")], "5")]]
        reader = KubeClusterReader(pods=Informer(pt, "pods"), nodes=Informer(nt, "nodes"))
        seen: list[ClusterEvent] = []
        unsubscribe = reader.subscribe(seen.append)
        task = asyncio.create_task(reader.run())
        await asyncio.wait_for(reader.wait_synced(), 1)
        assert [n.name for n in reader.nodes()] == ["n1"]
        node_view = reader.node("n1")
        assert node_view is not None and node_view.name == "n1"
        assert sorted(p.name for p in reader.pods()) == ["a", "b"]
        assert [p.name for p in reader.pods_on_node("n1")] == ["a"]
        assert reader.pod("default/b") is not None and reader.pod("default/zz") is None
        assert reader.pod("default/a") is reader.pod("default/a")  # views are memoised
        assert len(seen) == 3
        unsubscribe()
        task.cancel()

    asyncio.run(body())
