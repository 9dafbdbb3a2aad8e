"""Binder, node-status patcher, evictor and event recorder against the in-memory API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubefakes import FakeApi

from colo.core.changes import EventType, PodRef
from colo.core.errors import Conflict, InvalidInput, NotFound, Permanent, Retryable
from colo.kube.binder import KubeBinder, RampingLimit, binding_body
from colo.kube.events import KubeEventRecorder
from colo.kube.evictor import KubeEvictor
from colo.kube.nodestatus import KubeNodeStatusPatcher, status_patch


def test_binding_body_carries_the_uid_precondition_only_when_known() -> None:
    with_uid = binding_body(PodRef("ns", "p", uid="u1"), "n1")
    assert with_uid["metadata"] == {"name": "p", "namespace": "ns", "uid": "u1"}
    assert with_uid["target"] == {"apiVersion": "v1", "kind": "Node", "name": "n1"}
    assert "uid" not in binding_body(PodRef("ns", "p"), "n1")["metadata"]


def test_bind_all_reports_each_outcome_and_retries_only_transient_faults() -> None:
    async def body() -> None:
        api = FakeApi()
        slept: list[float] = []

        async def sleep(d: float) -> None:
            slept.append(d)

        binder = KubeBinder(api, concurrency=1, max_attempts=3, sleep=sleep)
        faults: dict[str, Exception] = {
            "a": Retryable("busy", delay_s=2.0),  # retried once, then bound
            "b": Conflict("already assigned"),
            "c": NotFound("gone"),
            "d": Permanent("forbidden"),
        }
        for pod, err in faults.items():
            api.fail_path[f"/api/v1/namespaces/ns/pods/{pod}/binding"] = [err]
        refs = [PodRef("ns", x) for x in "abcd"]
        out = await binder.bind_all([(r, "n1") for r in refs])
        assert out[0] is None
        assert isinstance(out[1], Conflict) and isinstance(out[2], NotFound)
        assert isinstance(out[3], Permanent)
        assert slept == [2.0]
        s = binder.stats
        assert (s.bound, s.conflicts, s.not_found, s.failed, s.retried) == (1, 1, 1, 1, 1)
        posts = [c for c in api.calls if c[0] == "POST"]
        assert posts[0][1] == "/api/v1/namespaces/ns/pods/a/binding"

    asyncio.run(body())


def test_binder_gives_up_after_max_attempts() -> None:
    async def body() -> None:
        api = FakeApi()
        api.down = True

        async def sleep(d: float) -> None:
            pass

        binder = KubeBinder(api, max_attempts=2, sleep=sleep)
        (out,) = await binder.bind_all([(PodRef("ns", "a"), "n1")])
        assert isinstance(out, Retryable) and len(api.calls) == 2

    asyncio.run(body())


def test_binder_never_has_more_than_concurrency_requests_in_flight() -> None:
    class Slow(FakeApi):
        def __init__(self) -> None:
            super().__init__()
            self.now = self.peak = 0

        async def request(self, method: str, path: str, **kw: Any) -> Any:
            self.now += 1
            self.peak = max(self.peak, self.now)
            await asyncio.sleep(0.001)
            self.now -= 1
            return {}

    async def body() -> None:
        api = Slow()
        binder = KubeBinder(api, concurrency=4)
        out = await binder.bind_all([(PodRef("ns", f"p{i}"), "n") for i in range(50)])
        assert out == [None] * 50 and api.peak == 4

    asyncio.run(body())


def test_binder_ramps_up_from_its_initial_concurrency_and_never_passes_its_limit() -> None:
    """A cold pool: the first bindings go out a few at a time (each one beyond the open
    connections costs a TLS handshake), then the window grows by one per answer."""

    class Slow(FakeApi):
        def __init__(self) -> None:
            super().__init__()
            self.now = 0
            self.at_start: list[int] = []

        async def request(self, method: str, path: str, **kw: Any) -> Any:
            self.now += 1
            self.at_start.append(self.now)
            for _ in range(3):  # a round trip of three loop turns: no timers, no races
                await asyncio.sleep(0)
            self.now -= 1
            return {}

    async def body() -> None:
        api = Slow()
        binder = KubeBinder(api, concurrency=16, initial_concurrency=2)
        out = await binder.bind_all([(PodRef("ns", f"p{i}"), "n") for i in range(200)])
        assert out == [None] * 200
        assert max(api.at_start[:4]) <= 2  # the first two answered before more went out
        assert max(api.at_start) == 16  # it got there, and no further

    asyncio.run(body())


def test_ramping_limit_starts_over_only_after_an_idle_pool() -> None:
    now = [0.0]

    async def body() -> None:
        limit = RampingLimit(8, 2, idle_s=15.0, clock=lambda: now[0])
        for _ in range(10):  # ten answers: the window grows to its limit
            async with limit:
                pass
        assert limit.window == 8
        now[0] += 14.0  # the pool's connections are still open
        async with limit:
            assert limit.window == 8
        now[0] += 15.0  # they have been closed: start small again
        async with limit:
            assert limit.window == 2

    asyncio.run(body())


def test_ramping_limit_hands_a_cancelled_waiters_place_on() -> None:
    async def body() -> None:
        limit = RampingLimit(1, 1)
        await limit.acquire()
        waiting = asyncio.ensure_future(limit.acquire())
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        limit.release()
        assert limit.held == 0
        await asyncio.wait_for(limit.acquire(), 1.0)  # not lost to the cancelled waiter
        assert limit.held == 1
        # granted and cancelled in the same turn: the place goes back, not leaked
        second = asyncio.ensure_future(limit.acquire())
        await asyncio.sleep(0)
        limit.release()  # grants `second`
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        assert limit.held == 0
        # cancelled, and passed over by a release before it runs: nothing to take back
        await limit.acquire()
        third = asyncio.ensure_future(limit.acquire())
        await asyncio.sleep(0)
        third.cancel()
        limit.release()
        with pytest.raises(asyncio.CancelledError):
            await third
        assert limit.held == 0

    asyncio.run(body())


def test_binder_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        KubeBinder(FakeApi(), concurrency=0)
    with pytest.raises(ValueError, match="must be >= 1"):
        KubeBinder(FakeApi(), initial_concurrency=0)


def test_status_patch_writes_quantities_and_rejects_non_extended_names() -> None:
    got = status_patch({"colo.io/batch-cpu": 1500}, {"colo.io/batch-cpu": 1200})
    assert got == {
        "status": {
            "capacity": {"colo.io/batch-cpu": "1500"},
            "allocatable": {"colo.io/batch-cpu": "1200"},
        }
    }
    with pytest.raises(InvalidInput, match=r"capacity\.cpu"):
        status_patch({"cpu": 1}, {})
    with pytest.raises(InvalidInput, match=r"allocatable\.colo\.io/batch-memory.*non-negative"):
        status_patch({}, {"colo.io/batch-memory": -1})


def test_node_status_patcher_uses_a_merge_patch_on_the_status_subresource() -> None:
    async def body() -> None:
        api = FakeApi()
        api.objects["/api/v1/nodes/n1/status"] = {"metadata": {}, "status": {}}
        p = KubeNodeStatusPatcher(api)
        await p.patch_extended_resources(
            "n1", capacity={"colo.io/batch-cpu": 2000}, allocatable={"colo.io/batch-cpu": 1000}
        )
        await p.remove_extended_resources("n1", ["colo.io/batch-cpu"])
        (m1, path, b1), (_, _, b2) = api.calls
        assert (m1, path) == ("PATCH", "/api/v1/nodes/n1/status")
        assert b1["status"]["allocatable"] == {"colo.io/batch-cpu": "1000"}
        assert b2["status"]["capacity"] == {"colo.io/batch-cpu": None}

    asyncio.run(body())


def test_evictor_posts_a_policy_v1_eviction_and_records_why() -> None:
    async def body() -> None:
        api = FakeApi()
        rec = KubeEventRecorder(api, component="colo-agent")
        ev = KubeEvictor(api, recorder=rec)
        await ev.evict(PodRef("ns", "p", uid="u"), reason="CPU interference on n1")
        (m, path, b), (m2, path2, e) = api.calls
        assert (m, path) == ("POST", "/api/v1/namespaces/ns/pods/p/eviction")
        assert b["apiVersion"] == "policy/v1"
        assert b["deleteOptions"] == {"preconditions": {"uid": "u"}}
        assert (m2, path2) == ("POST", "/api/v1/namespaces/ns/events")
        assert e["reason"] == "Evicted" and e["type"] == "Warning"
        assert e["message"] == "CPU interference on n1"

    asyncio.run(body())


def test_evictor_passes_a_budget_refusal_through_as_retryable() -> None:
    async def body() -> None:
        api = FakeApi()
        api.fail_next = [Retryable("would violate the disruption budget", delay_s=5)]
        with pytest.raises(Retryable, match="budget"):
            await KubeEvictor(api).evict(PodRef("ns", "p"), reason="x")

    asyncio.run(body())


def test_events_aggregate_repeats_and_failures_are_counted_not_raised() -> None:
    async def body() -> None:
        api = FakeApi()
        clock = [0.0]
        rec = KubeEventRecorder(
            api, component="colo-batch", dedupe_window_s=60, monotonic=lambda: clock[0]
        )
        args = {"kind": "Pod", "key": "ns/p", "reason": "FailedScheduling", "message": "0/3"}
        await rec.record(**args, type=EventType.WARNING)
        await rec.record(**args, type=EventType.WARNING)
        (name,) = [k for k in api.objects if "/events/" in k]
        assert api.objects[name]["count"] == 2
        clock[0] = 61.0  # outside the window: a new Event
        await rec.record(**args, type=EventType.WARNING)
        assert len([k for k in api.objects if "/events/" in k]) == 2
        await rec.record(kind="Node", key="n1", reason="Reclaim", message="m")
        node_ev = api.calls[-1][2]
        assert api.calls[-1][1] == "/api/v1/namespaces/default/events"
        assert node_ev["involvedObject"] == {
            "apiVersion": "v1",
            "kind": "Node",
            "name": "n1",
            "uid": "n1",
        }
        api.down = True
        await rec.record(kind="Pod", key="ns/q", reason="R", message="m")
        assert (rec.recorded, rec.aggregated, rec.dropped) == (3, 1, 1)

    asyncio.run(body())
