"""Informer behaviour against an in-memory transport: relist-diff, 410, bookmarks, backoff."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from colo.core.builders import PodBuilder
from colo.core.errors import Permanent, Retryable
from colo.kube.informer import Informer
from colo.kube.transport import Expired, error_for_status
from colo.ports.cluster import ClusterEvent


def pod(name: str, rv: str, node: str | None = None) -> dict[str, Any]:
    b = PodBuilder(name)
    if node:
        b = b.node(node)
    o = b.obj()
    o["metadata"]["resourceVersion"] = rv
    return o


class FakeTransport:
    """Serves scripted list pages and watch streams; a stream item that is an exception raises."""

    def __init__(self) -> None:
        self.lists: list[list[dict[str, Any]]] = []  # each: pages
        self.watches: list[list[Any]] = []
        self.list_calls: list[dict[str, str]] = []
        self.watch_calls: list[dict[str, str]] = []

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        self.list_calls.append(dict(params or {}))
        pages = self.lists[0]
        page = pages.pop(0)
        if not pages:
            self.lists.pop(0)
        return page

    async def stream(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        self.watch_calls.append(dict(params or {}))
        if not self.watches:
            await asyncio.Event().wait()  # hang like an idle watch
        for item in self.watches.pop(0):
            if isinstance(item, Exception):
                raise item
            yield item


def page(items: list[dict[str, Any]], rv: str, cont: str = "") -> dict[str, Any]:
    return {"items": items, "metadata": {"resourceVersion": rv, "continue": cont}}


def events_of(inf: Informer) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []

    def h(ev: ClusterEvent) -> None:
        assert ev.pod is not None
        seen.append((ev.kind.value, ev.pod.name))

    inf.subscribe(h)
    return seen


async def run_until(inf: Informer, cond: Any) -> None:
    task = asyncio.create_task(inf.run())
    for _ in range(1000):
        await asyncio.sleep(0)
        if cond():
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cond()


def test_list_paginates_and_syncs() -> None:
    asyncio.run(_test_list_paginates_and_syncs())


async def _test_list_paginates_and_syncs() -> None:
    t = FakeTransport()
    t.lists = [[page([pod("a", "1")], "5", cont="c1"), page([pod("b", "2")], "9")]]
    inf = Informer(t, "pods", page_size=1)
    seen = events_of(inf)
    await inf.relist()
    assert inf.has_synced and inf.resource_version == "9"
    assert sorted(inf.cached_keys()) == ["default/a", "default/b"]
    assert t.list_calls[1]["continue"] == "c1"
    assert seen == [("ADDED", "a"), ("ADDED", "b")]


def test_expired_watch_relists_and_emits_the_differences() -> None:
    asyncio.run(_test_expired_watch_relists_and_emits_the_differences())


async def _test_expired_watch_relists_and_emits_the_differences() -> None:
    t = FakeTransport()
    t.lists = [
        [page([pod("a", "1"), pod("b", "2", node="n1"), pod("c", "3")], "10")],
        [page([pod("b", "2", node="n1"), pod("c", "7"), pod("d", "8")], "20")],
    ]
    t.watches = [[{"type": "ERROR", "object": {"code": 410, "message": "too old"}}]]
    inf = Informer(t, "pods")
    seen = events_of(inf)
    await run_until(inf, lambda: inf.relists == 2 and len(t.watch_calls) == 2)
    assert seen[3:] == [("DELETED", "a"), ("MODIFIED", "c"), ("ADDED", "d")]
    assert inf.resource_version == "20"
    assert t.watch_calls[1]["resourceVersion"] == "20"
    assert inf.pods_on_node("n1") == ["default/b"]


def test_watch_applies_events_bookmarks_and_resumes_after_disconnect() -> None:
    asyncio.run(_test_watch_applies_events_bookmarks_and_resumes_after_disconnect())


async def _test_watch_applies_events_bookmarks_and_resumes_after_disconnect() -> None:
    t = FakeTransport()
    t.lists = [[page([], "1")]]
    t.watches = [
        [
            {"type": "ADDED", "object": pod("a", "2", node="n1")},
            {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "5"}}},
            Retryable("connection reset", delay_s=0.0),
        ],
        [
            {"type": "MODIFIED", "object": pod("a", "6", node="n2")},
            {"type": "DELETED", "object": pod("a", "7", node="n2")},
        ],
    ]
    inf = Informer(t, "pods", backoff_cap_s=0.0, rng=random.Random(1))
    seen = events_of(inf)
    await run_until(inf, lambda: len(t.watch_calls) == 3)
    assert seen == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    assert t.watch_calls[1]["resourceVersion"] == "5"
    assert inf.relists == 1 and inf.cached_keys() == []
    assert inf.pods_on_node("n1") == [] and inf.pods_on_node("n2") == []


def test_permanent_errors_stop_the_informer() -> None:
    asyncio.run(_test_permanent_errors_stop_the_informer())


async def _test_permanent_errors_stop_the_informer() -> None:
    t = FakeTransport()
    t.lists = [[page([], "1")]]
    t.watches = [[Permanent("the API server at X rejected the credentials")]]
    with pytest.raises(Permanent):
        await Informer(t, "pods").run()


def test_status_codes_become_colo_errors() -> None:
    assert isinstance(error_for_status(410, "u", "", {}), Expired)
    busy = error_for_status(429, "u", "", {"Retry-After": "3"})
    assert isinstance(busy, Retryable) and busy.delay_s == 3.0
    denied = error_for_status(401, "https://x", "", {})
    assert isinstance(denied, Permanent) and "https://x rejected the credentials" in str(denied)
