"""Informer behaviour against an in-memory transport: relist-diff, 410, bookmarks, backoff."""

from __future__ import annotations

import asyncio
import random

import pytest
from kubefakes import FakeTransport, events_of, page, pod, run_until

from colo.core.changes import ClusterEvent
from colo.core.errors import Permanent, Retryable
from colo.kube.informer import Informer
from colo.kube.transport import Expired, error_for_status


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
    assert "resourceVersion" not in t.list_calls[1]  # a continued page carries its own
    assert seen == [("ADDED", "a"), ("ADDED", "b")]


def test_the_first_list_asks_for_the_next_page_before_taking_this_one_in() -> None:
    """Pipelined: while the subscribers take page k in, page k+1 is already asked for
    (the API server encodes it meanwhile), and page k's objects are ADDED before the
    list has ended."""

    async def body() -> None:
        log: list[str] = []
        t = FakeTransport()
        t.lists = [
            [
                page([pod("a", "1")], "5", cont="c1"),
                page([pod("b", "2")], "5", cont="c2"),
                page([pod("c", "3")], "9"),
            ]
        ]
        asked = t.get

        async def logged(*args: object, **kwargs: object) -> object:
            log.append(f"ask {len(t.list_calls) + 1}")
            return await asked(*args, **kwargs)  # type: ignore[arg-type]

        t.get = logged  # type: ignore[method-assign]
        inf = Informer(t, "pods", page_size=1)
        inf.subscribe(lambda ev: log.append(f"added {ev.pod.name}") if ev.pod else None)
        await inf.relist()
        assert log == ["ask 1", "ask 2", "added a", "ask 3", "added b", "added c"]
        assert inf.resource_version == "9" and inf.has_synced

    asyncio.run(body())


def test_a_first_list_cut_by_a_410_is_listed_again_as_differences() -> None:
    """The continue token expired in the middle of the first list: what its first pages
    added stays, and the next list (whole; still from the watch cache, since no list has
    finished yet) emits only the differences."""

    async def body() -> None:
        t = FakeTransport()
        t.lists = [
            [page([pod("a", "1"), pod("gone", "2")], "5", cont="c1"), Expired("expired")],
            [page([pod("a", "1"), pod("b", "6")], "20")],
        ]
        inf = Informer(t, "pods", page_size=2)
        seen = events_of(inf)
        await run_until(inf, lambda: inf.relists == 1)
        assert seen == [("ADDED", "a"), ("ADDED", "gone"), ("DELETED", "gone"), ("ADDED", "b")]
        assert sorted(inf.cached_keys()) == ["default/a", "default/b"]
        assert inf.resource_version == "20"

    asyncio.run(body())


def test_expired_watch_relists_and_emits_the_differences() -> None:
    asyncio.run(_test_expired_watch_relists_and_emits_the_differences())


async def _test_expired_watch_relists_and_emits_the_differences() -> None:
    t = FakeTransport()
    t.lists = [
        [page([pod("a", "1"), pod("b", "2", node="n1"), pod("c", "3")], "10")],
        [page([pod("b", "2", node="n1"), pod("c", "7", node="n2"), pod("d", "8")], "20")],
    ]
    t.watches = [[{"type": "ERROR", "object": {"code": 410, "message": "too old"}}]]
    inf = Informer(t, "pods")
    seen = events_of(inf)
    await run_until(inf, lambda: inf.relists == 2 and len(t.watch_calls) == 2)
    assert seen[3:] == [("DELETED", "a"), ("MODIFIED", "c"), ("ADDED", "d")]
    assert inf.resource_version == "20"
    assert t.watch_calls[1]["resourceVersion"] == "20"
    assert inf.pods_on_node("n1") == ["default/b"]
    assert inf.pods_on_node("n2") == ["default/c"]
    # both consistent: the first in pages (not resourceVersion=0, which the watch cache
    # answers in one piece), the one after a 410 so the cache never goes backwards
    assert "resourceVersion" not in t.list_calls[0]
    assert "resourceVersion" not in t.list_calls[1]


def test_a_change_of_version_only_moves_the_version_and_calls_nobody() -> None:
    asyncio.run(_test_a_change_of_version_only_moves_the_version_and_calls_nobody())


async def _test_a_change_of_version_only_moves_the_version_and_calls_nobody() -> None:
    for shaped, expected in ((True, []), (False, [("MODIFIED", "a")])):
        t = FakeTransport()
        t.lists = [[page([pod("a", "1", node="n1")], "10")]]
        # what a status heartbeat looks like once shaped: the same fields, a new version
        t.watches = [[{"type": "MODIFIED", "object": pod("a", "11", node="n1")}]]
        inf = Informer(t, "pods", shaped=shaped)
        seen = events_of(inf)
        await run_until(inf, lambda inf=inf: inf.resource_version == "11")
        assert seen[1:] == expected, shaped
        assert inf.unchanged == (1 if shaped else 0)
        view = inf.view("default/a")  # served again for the new version, not rebuilt
        assert view is not None and view.node_name == "n1"
        assert inf.raw()["default/a"]["metadata"]["resourceVersion"] == "11"
        assert inf.events == 2


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


def test_a_failing_subscriber_neither_stops_the_cache_nor_the_others() -> None:
    async def body() -> None:
        t = FakeTransport()
        t.lists = [[page([pod("a", "1"), pod("b", "2")], "3")]]
        inf = Informer(t, "pods")

        def broken(ev: ClusterEvent) -> None:
            raise RuntimeError("subscriber bug")

        inf.subscribe(broken)
        seen = events_of(inf)
        await inf.relist()
        assert seen == [("ADDED", "a"), ("ADDED", "b")]
        assert inf.handler_errors == 2 and sorted(inf.cached_keys()) == ["default/a", "default/b"]

    asyncio.run(body())


def test_garbage_on_the_watch_is_a_fault_and_the_watch_resumes() -> None:
    async def body() -> None:
        t = FakeTransport()
        t.lists = [[page([], "1")]]
        t.watches = [
            [{"type": "ADDED", "object": pod("a", "2")}, {"type": "WHAT", "object": {}}],
            [{"type": "ADDED", "object": pod("b", "4")}],
        ]
        inf = Informer(t, "pods", backoff_cap_s=0.0)
        await run_until(inf, lambda: "default/b" in inf.cached_keys())
        assert inf.faults == 1 and t.watch_calls[1]["resourceVersion"] == "2"

    asyncio.run(body())


def test_repeated_410_backs_off_instead_of_relisting_in_a_loop() -> None:
    async def body() -> None:
        t = FakeTransport()
        gone = {"type": "ERROR", "object": {"code": 410, "message": "too old"}}
        t.lists = [[page([], str(i))] for i in range(1, 5)]
        t.watches = [[gone], [gone], [gone]]
        slept: list[float] = []

        async def sleep(d: float) -> None:
            slept.append(d)

        inf = Informer(t, "pods", backoff_cap_s=4.0, sleep=sleep, rng=random.Random(5))
        await run_until(inf, lambda: inf.relists == 4)
        # the first 410 relists at once; the two that follow each wait first, with full
        # jitter under a bound that doubles: (0, 0.2] s, then (0, 0.4] s
        assert len(slept) == 2
        assert 0 < slept[0] <= 0.2 and 0 < slept[1] <= 0.4

    asyncio.run(body())


def test_retry_after_from_a_busy_server_is_honoured() -> None:
    async def body() -> None:
        t = FakeTransport()
        t.lists = [[page([], "1")]]
        t.watches = [[error_for_status(429, "u", "", {"Retry-After": "7"})]]
        slept: list[float] = []

        async def sleep(d: float) -> None:
            slept.append(d)

        inf = Informer(t, "pods", backoff_cap_s=0.5, sleep=sleep)
        await run_until(inf, lambda: len(t.watch_calls) == 2)
        assert slept == [7.0]

    asyncio.run(body())


def test_an_object_colo_cannot_read_is_skipped_and_views_are_built_only_on_demand() -> None:
    async def body() -> None:
        bad = pod("bad", "2")
        bad["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "lots"}}
        t = FakeTransport()
        t.lists = [[page([pod("a", "1")], "1")]]
        quiet = Informer(t, "pods")
        await quiet.relist()
        assert quiet._views == {}  # nobody subscribed: no view was built
        assert quiet.view("default/a") is not None and len(quiet._views) == 1

        t.lists = [[page([], "1")]]
        t.watches = [[{"type": "ADDED", "object": bad}, {"type": "ADDED", "object": pod("b", "3")}]]
        inf = Informer(t, "pods")
        seen = events_of(inf)
        await run_until(inf, lambda: ("ADDED", "b") in seen)
        assert seen == [("ADDED", "b")] and inf.bad_objects == 1
        assert "default/bad" in inf.cached_keys() and inf.view("default/bad") is None
        assert inf.view("default/bad") is None and inf.bad_objects == 1  # parsed, logged once

    asyncio.run(body())


def test_a_field_selector_goes_on_every_list_and_watch() -> None:
    async def body() -> None:
        t = FakeTransport()
        t.lists = [[page([pod("a", "1", node="n1")], "5")]]
        inf = Informer(t, "pods", field_selector="spec.nodeName=n1")
        await run_until(inf, lambda: len(t.watch_calls) == 1)
        assert t.list_calls[0]["fieldSelector"] == "spec.nodeName=n1"
        assert t.watch_calls[0]["fieldSelector"] == "spec.nodeName=n1"

    asyncio.run(body())
