"""KubeClusterReader: the ClusterReader port over a pod and a node informer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubefakes import FakeTransport, page, pod

from colo.core.builders import NodeBuilder
from colo.core.changes import ClusterEvent
from colo.core.errors import Permanent
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


def test_waiting_for_the_listing_raises_an_informer_that_gave_up_instead_of_hanging() -> None:
    async def body() -> None:
        pt, nt = FakeTransport(), FakeTransport()
        pt.lists = [[Permanent("the API server rejected the credentials (401)")]]
        nt.lists = [[page([node("n1", "4")], "5")]]
        reader = KubeClusterReader(pods=Informer(pt, "pods"), nodes=Informer(nt, "nodes"))
        running = asyncio.ensure_future(reader.run())
        with pytest.raises(Permanent, match="401"):
            await asyncio.wait_for(reader.wait_synced(running), 1)
        # without the task, the same wait never ends
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.wait_synced(), 0.05)

    asyncio.run(body())


def test_waiting_for_the_listing_with_the_task_returns_once_both_have_listed() -> None:
    async def body() -> None:
        pt, nt = FakeTransport(), FakeTransport()
        pt.lists = [[page([pod("a", "1")], "3")]]
        nt.lists = [[page([node("n1", "4")], "5")]]
        reader = KubeClusterReader(pods=Informer(pt, "pods"), nodes=Informer(nt, "nodes"))
        running = asyncio.ensure_future(reader.run())
        await asyncio.wait_for(reader.wait_synced(running), 1)
        assert not running.done()  # still watching
        running.cancel()

    asyncio.run(body())
