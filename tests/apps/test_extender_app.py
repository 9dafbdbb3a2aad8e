"""colo-extender over HTTP on loopback: filter and bind verbs against the in-process
coordinator, a fake binder (tests/e2e/test_coordinated_schedulers.py runs it with the
real kube-scheduler)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from colo.apps.extender import Extender, start
from colo.coord.ledger import InProcessCoordinator, Item, Ledger
from colo.core.builders import PodBuilder
from colo.core.errors import Retryable
from colo.ports.cluster import PodRef


class FakeBinder:
    def __init__(self) -> None:
        self.bound: list[tuple[str, str, str]] = []
        self.fail: Exception | None = None

    async def bind(self, pod: PodRef, node_name: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.bound.append((pod.key, pod.uid, node_name))


class FakeApi:
    def __init__(self, pods: dict[str, dict[str, Any]]) -> None:
        self.pods = pods
        self.gets: list[str] = []

    async def get(self, path: str) -> Any:
        self.gets.append(path)
        return self.pods[path.rsplit("/", 1)[1]]


class DownCoordinator(InProcessCoordinator):
    async def reserve(self, items: Any) -> Any:
        raise Retryable("coordinator reserve failed: UNAVAILABLE")

    async def filter(self, pod: Any, resources: Any, nodes: Any) -> Any:
        raise Retryable("coordinator filter failed: UNAVAILABLE")


def raw_pod(name: str, cpu: str = "1") -> dict[str, Any]:
    obj = PodBuilder(name, namespace="ns").obj()
    obj["metadata"]["uid"] = f"uid-{name}"
    obj["spec"]["containers"][0]["resources"] = {"requests": {"cpu": cpu}}
    return obj


Call = Callable[[str, Any], Awaitable[tuple[int, Any]]]


def served(ext: Extender, body: Callable[[Call], Awaitable[None]]) -> None:
    async def run() -> None:
        runner, port = await start(ext, "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession() as s:

                async def call(verb: str, payload: Any) -> tuple[int, Any]:
                    data = payload if isinstance(payload, str) else None
                    kw = {"data": data} if data is not None else {"json": payload}
                    async with s.post(f"http://127.0.0.1:{port}/{verb}", **kw) as r:
                        text = await r.text()
                        return r.status, (await r.json() if r.status == 200 else text)

                await body(call)
        finally:
            await runner.cleanup()

    asyncio.run(run())


def rig(**nodes: int) -> tuple[Ledger, FakeBinder, FakeApi, Extender]:
    ledger = Ledger(ttl_s=30)
    for name, cpu in nodes.items():
        ledger.update_node(name, {"cpu": cpu, "pods": 110})
    binder, api = FakeBinder(), FakeApi({"p": raw_pod("p"), "q": raw_pod("q")})
    ext = Extender(InProcessCoordinator(ledger, clock=lambda: 0.0), binder, api)
    return ledger, binder, api, ext


def test_filter_keeps_the_nodes_the_coordinator_has_room_on_and_says_why_not() -> None:
    ledger, _, _, ext = rig(a=4000, b=4000, c=500)
    ledger.reserve([Item("other/x", "b", {"cpu": 3500})], 0.0)

    async def body(call: Call) -> None:
        status, out = await call("filter", {"Pod": raw_pod("p"), "NodeNames": ["a", "b", "c"]})
        assert status == 200
        assert out["NodeNames"] == ["a"]
        assert out["FailedNodes"] == {
            "b": "insufficient cpu: 1000 wanted, 500 free",
            "c": "insufficient cpu: 1000 wanted, 500 free",
        }
        assert out["Error"] == ""

    served(ext, body)


def test_bind_reserves_first_then_binds_with_the_uid_from_what_filter_saw() -> None:
    ledger, binder, api, ext = rig(a=4000)

    async def body(call: Call) -> None:
        await call("filter", {"Pod": raw_pod("p"), "NodeNames": ["a"]})
        args = {"PodName": "p", "PodNamespace": "ns", "PodUID": "uid-p", "Node": "a"}
        status, out = await call("bind", args)
        assert (status, out) == (200, {"Error": ""})
        assert binder.bound == [("ns/p", "uid-p", "a")]
        assert ledger.free("a")["cpu"] == 3000 and api.gets == []  # requests remembered
        # a pod filter never saw is read from the API server
        args = {"PodName": "q", "PodNamespace": "ns", "PodUID": "uid-q", "Node": "a"}
        assert (await call("bind", args))[1] == {"Error": ""}
        assert api.gets == ["/api/v1/namespaces/ns/pods/q"] and ledger.free("a")["cpu"] == 2000

    served(ext, body)


def test_a_refused_reservation_binds_nothing_and_tells_kube_scheduler_why() -> None:
    ledger, binder, _, ext = rig(a=1000)
    ledger.reserve([Item("colo/batch-pod", "a", {"cpu": 1000})], 0.0)

    async def body(call: Call) -> None:
        await call("filter", {"Pod": raw_pod("p"), "NodeNames": ["a"]})
        args = {"PodName": "p", "PodNamespace": "ns", "PodUID": "uid-p", "Node": "a"}
        status, out = await call("bind", args)
        assert status == 200
        assert out["Error"] == "colo-coordinator refused a: insufficient cpu: 1000 wanted, 0 free"
        assert binder.bound == [] and ext.stats["conflicts"] == 1

    served(ext, body)


def test_a_failed_binding_gives_the_reservation_back() -> None:
    ledger, binder, _, ext = rig(a=1000)
    binder.fail = Retryable("API server busy")

    async def body(call: Call) -> None:
        await call("filter", {"Pod": raw_pod("p"), "NodeNames": ["a"]})
        args = {"PodName": "p", "PodNamespace": "ns", "PodUID": "uid-p", "Node": "a"}
        out = (await call("bind", args))[1]
        assert out["Error"].startswith("binding ns/p to a failed: API server busy")
        assert ledger.free("a")["cpu"] == 1000

    served(ext, body)


def test_a_coordinator_fault_is_an_error_never_an_unreserved_binding() -> None:
    ledger = Ledger(ttl_s=30)
    binder, api = FakeBinder(), FakeApi({"p": raw_pod("p")})
    ext = Extender(DownCoordinator(ledger, clock=lambda: 0.0), binder, api)

    async def body(call: Call) -> None:
        out = (await call("filter", {"Pod": raw_pod("p"), "NodeNames": ["a"]}))[1]
        assert out["Error"] == "colo-coordinator: coordinator filter failed: UNAVAILABLE"
        args = {"PodName": "p", "PodNamespace": "ns", "PodUID": "uid-p", "Node": "a"}
        out = (await call("bind", args))[1]
        assert out["Error"] == "colo-coordinator: coordinator reserve failed: UNAVAILABLE"
        assert binder.bound == []

    served(ext, body)


def test_bad_requests_get_400_naming_the_field() -> None:
    _, binder, _, ext = rig(a=1000)

    async def body(call: Call) -> None:
        status, text = await call("filter", "{not json")
        assert status == 400 and "not JSON" in text
        status, text = await call("filter", {"NodeNames": ["a"]})
        assert status == 400 and "ExtenderArgs" in text and "Pod" in text
        status, text = await call("filter", {"Pod": raw_pod("p"), "NodeNames": "a"})
        assert status == 400 and "NodeNames" in text
        status, text = await call("bind", {"PodName": "p", "PodNamespace": "ns"})
        assert status == 400 and "ExtenderBindingArgs" in text and "Node" in text
        assert binder.bound == []

    served(ext, body)
