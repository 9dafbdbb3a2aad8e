"""A coordinator hosted in colo-batch's process takes the first listing in as it arrives
(`CoordinatorApp.follow`): its ledger must be the one a rebuild after the listing gives."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubefakes import FakeTransport, page, pod

from colo.apps.coordinator import CoordinatorApp
from colo.core.builders import NodeBuilder
from colo.kube.informer import Informer
from colo.kube.reader import KubeClusterReader


def node(name: str, rv: str, cpu: str = "4") -> dict[str, Any]:
    o = NodeBuilder(name).capacity(cpu=cpu, memory="8Gi", pods=110).obj()
    o["metadata"]["resourceVersion"] = rv
    return o


def finished(name: str, rv: str, node_name: str) -> dict[str, Any]:
    o = pod(name, rv, node=node_name)
    o["status"] = {"phase": "Succeeded"}
    return o


def scripted() -> KubeClusterReader:
    """Pods in two pages (bound, pending, finished; one on a node the node list has not
    shown yet when it arrives), nodes in one."""
    pt, nt = FakeTransport(), FakeTransport()
    pt.lists = [
        [
            page([pod("a", "1", node="n1"), pod("b", "2"), pod("c", "3", node="n2")], "9", "more"),
            page([finished("d", "4", "n1"), pod("e", "5", node="n1")], "9"),
        ]
    ]
    nt.lists = [[page([node("n1", "6"), node("n2", "7", cpu="8")], "9")]]
    return KubeClusterReader(pods=Informer(pt, "pods"), nodes=Informer(nt, "nodes"))


def ledger_of(app: CoordinatorApp) -> dict[str, Any]:
    return {
        name: (dict(e.allocatable), dict(e.used), {k: dict(v) for k, v in e.bound.items()})
        for name, e in app.ledger.nodes.items()
    }


def test_a_ledger_that_followed_the_listing_equals_one_rebuilt_after_it() -> None:
    async def synced(follow: bool) -> dict[str, Any]:
        reader = scripted()
        app = CoordinatorApp(reader=reader)
        if follow:
            app.follow()
        task = asyncio.create_task(reader.run())
        await asyncio.wait_for(app.sync(), 2)
        task.cancel()
        return ledger_of(app)

    followed = asyncio.run(synced(True))
    rebuilt = asyncio.run(synced(False))
    assert followed == rebuilt
    assert sorted(followed["n1"][2]) == ["default/a", "default/e"]  # not b, nor finished d
    assert sorted(followed["n2"][2]) == ["default/c"]


def test_following_after_the_reader_took_objects_in_is_refused() -> None:
    async def body() -> None:
        reader = scripted()
        task = asyncio.create_task(reader.run())
        await asyncio.wait_for(reader.wait_synced(), 2)
        with pytest.raises(RuntimeError, match="sync"):
            CoordinatorApp(reader=reader).follow()
        task.cancel()

    asyncio.run(body())
