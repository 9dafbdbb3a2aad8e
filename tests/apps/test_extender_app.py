"""colo-extender over HTTP on loopback: filter and bind verbs against the in-process
coordinator and a fake binder; the CLI's usage errors. (tests/e2e/test_extender.py and
tests/e2e/test_coordinated_schedulers.py run it with the real kube-scheduler.)"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from colo.apps.extender import Extender, start
from colo.cli.main import main
from colo.coord.ledger import InProcessCoordinator, Ledger
from colo.core.builders import NodeBuilder, PodBuilder
from colo.core.changes import PodRef
from colo.core.errors import NotFound, Retryable
from colo.core.reservation import Item, Reply


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
        name = path.rsplit("/", 1)[1]
        if name not in self.pods:
            raise NotFound(f"GET {path}: 404 pods {name!r} not found")
        return self.pods[name]


class DownCoordinator(InProcessCoordinator):
    """Every call fails the way `CoordinatorClient` fails when nobody listens."""

    async def reserve(self, items: Sequence[Item]) -> list[Reply]:
        raise Retryable("coordinator reserve failed: UNAVAILABLE")

    async def unreserve(self, pods: Sequence[str]) -> int:
        raise Retryable("coordinator unreserve failed: UNAVAILABLE")

    async def filter(self, pod: Any, resources: Any, nodes: Any) -> Any:
        raise Retryable("coordinator filter failed: UNAVAILABLE")


class GoesDownAfterGrant(InProcessCoordinator):
    async def unreserve(self, pods: Sequence[str]) -> int:
        raise Retryable("coordinator unreserve failed: UNAVAILABLE")


def raw_pod(name: str, cpu: str = "1", priority: int | None = None) -> dict[str, Any]:
    obj = PodBuilder(name, namespace="ns").req(cpu=cpu).obj()
    obj["metadata"]["uid"] = f"uid-{name}"
    if priority is not None:
        obj["spec"]["priority"] = priority
    return obj


def binding(name: str, node: str) -> dict[str, str]:
    return {"PodName": name, "PodNamespace": "ns", "PodUID": f"uid-{name}", "Node": node}


Call = Callable[[str, Any], Awaitable[tuple[int, Any]]]


def served(ext: Extender, body: Callable[[Call], Awaitable[None]]) -> None:
    """Run `body` against `ext` served on a free loopback port."""

    async def run() -> None:
        runner, port = await start(ext, "127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession() as s:

                async def call(verb: str, payload: Any) -> tuple[int, Any]:
                    kw = {"data": payload} if isinstance(payload, str) else {"json": payload}
                    async with s.post(f"http://127.0.0.1:{port}/{verb}", **kw) as r:
                        text = await r.text()
                        return r.status, (await r.json() if r.status == 200 else text)

                await body(call)
                async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                    assert (r.status, await r.text()) == (200, "ok\n")
                # /metrics shows every counter the extender keeps, as it is now
                async with s.get(f"http://127.0.0.1:{port}/metrics") as r:
                    assert r.status == 200
                    metrics = {
                        sample.name: sample.value
                        for family in text_string_to_metric_families(await r.text())
                        for sample in family.samples
                        if sample.name.endswith("_total")
                    }
                assert metrics == {f"colo_extender_{k}_total": v for k, v in ext.stats.items()}
        finally:
            await runner.cleanup()

    asyncio.run(run())


def rig(**nodes: int) -> tuple[Ledger, FakeBinder, FakeApi, Extender]:
    """Nodes with that much cpu (milli); pods p and q (1 cpu) in the fake API server."""
    ledger = Ledger(ttl_s=30)
    for name, cpu in nodes.items():
        ledger.update_node(name, {"cpu": cpu, "pods": 110})
    binder, api = FakeBinder(), FakeApi({"p": raw_pod("p"), "q": raw_pod("q")})
    ext = Extender(InProcessCoordinator(ledger, clock=lambda: 0.0), binder, api)
    return ledger, binder, api, ext


# --- filter ----------------------------------------------------------------------------


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
        assert out["Error"] == "" and "Nodes" not in out

    served(ext, body)
    assert ledger.free("a")["cpu"] == 4000  # filter holds nothing


def test_filter_names_nodes_the_coordinator_does_not_know() -> None:
    _, _, _, ext = rig(a=4000)

    async def body(call: Call) -> None:
        out = (await call("filter", {"Pod": raw_pod("p"), "NodeNames": ["a", "new"]}))[1]
        assert out["NodeNames"] == ["a"] and out["FailedNodes"] == {"new": "node new is not known"}

    served(ext, body)


def test_without_node_cache_filter_answers_the_node_objects_it_keeps() -> None:
    # kube-scheduler without nodeCacheCapable sends and reads `Nodes`, never `NodeNames`
    _, _, _, ext = rig(a=4000, b=500)
    nodes = [NodeBuilder(n).capacity(cpu="4").obj() for n in ("a", "b")]

    async def body(call: Call) -> None:
        args = {"Pod": raw_pod("p"), "Nodes": {"kind": "NodeList", "items": nodes}}
        status, out = await call("filter", args)
        assert status == 200 and "NodeNames" not in out
        assert out["Nodes"]["items"] == [nodes[0]]
        assert out["FailedNodes"] == {"b": "insufficient cpu: 1000 wanted, 500 free"}

    served(ext, body)


# --- bind ------------------------------------------------------------------------------


def test_bind_reserves_first_then_binds_with_the_uid_from_what_filter_saw() -> None:
    ledger, binder, api, ext = rig(a=4000)

    async def body(call: Call) -> None:
        await call("filter", {"Pod": raw_pod("p"), "NodeNames": ["a"]})
        status, out = await call("bind", binding("p", "a"))
        assert (status, out) == (200, {"Error": ""})
        assert binder.bound == [("ns/p", "uid-p", "a")]
        assert ledger.nodes["a"].reserved["ns/p"][0] == {"cpu": 1000, "pods": 1}
        assert api.gets == []  # the requests were remembered from filter

    served(ext, body)
    assert ext.stats == {"requests": 2, "bad_requests": 0, "filters": 1, "binds": 1,
                         "bound": 1, "conflicts": 0, "errors": 0}  # fmt: skip


def test_bind_reads_a_pod_filter_never_saw_from_the_api_server() -> None:
    ledger, binder, api, ext = rig(a=4000)

    async def body(call: Call) -> None:
        assert (await call("bind", binding("q", "a")))[1] == {"Error": ""}
        assert api.gets == ["/api/v1/namespaces/ns/pods/q"]
        assert binder.bound == [("ns/q", "uid-q", "a")] and ledger.free("a")["cpu"] == 3000

    served(ext, body)


def test_bind_reserves_with_the_pods_priority() -> None:
    seen: list[Item] = []

    class Recording(InProcessCoordinator):
        async def reserve(self, items: Sequence[Item]) -> list[Reply]:
            seen.extend(items)
            return await super().reserve(items)

    ledger = Ledger(ttl_s=30)
    ledger.update_node("a", {"cpu": 4000, "pods": 110})
    ext = Extender(Recording(ledger, clock=lambda: 0.0), FakeBinder(), FakeApi({}))

    async def body(call: Call) -> None:
        await call("filter", {"Pod": raw_pod("p", cpu="250m", priority=1000), "NodeNames": ["a"]})
        assert (await call("bind", binding("p", "a")))[1] == {"Error": ""}

    served(ext, body)
    assert seen == [Item("ns/p", "a", {"cpu": 250, "pods": 1}, 1000)]


def test_a_refused_reservation_binds_nothing_and_tells_kube_scheduler_why() -> None:
    ledger, binder, _, ext = rig(a=1000)
    ledger.reserve([Item("colo/batch-pod", "a", {"cpu": 1000})], 0.0)

    async def body(call: Call) -> None:
        await call("filter", {"Pod": raw_pod("p"), "NodeNames": ["a"]})
        status, out = await call("bind", binding("p", "a"))
        assert status == 200
        assert out["Error"] == (
            "colo-coordinator refused a for ns/p: insufficient cpu: 1000 wanted, 0 free"
        )
        assert binder.bound == [] and ext.stats["conflicts"] == 1

    served(ext, body)
    assert "ns/p" not in ledger.nodes["a"].reserved


def test_a_failed_binding_gives_the_reservation_back() -> None:
    ledger, binder, _, ext = rig(a=1000)
    binder.fail = Retryable("API server busy")

    async def body(call: Call) -> None:
        await call("filter", {"Pod": raw_pod("p"), "NodeNames": ["a"]})
        out = (await call("bind", binding("p", "a")))[1]
        assert out["Error"] == "binding ns/p to a failed: API server busy"
        assert ledger.free("a")["cpu"] == 1000 and ledger.nodes["a"].reserved == {}

    served(ext, body)
    assert ext.stats["errors"] == 1 and ext.stats["bound"] == 0


def test_a_failed_binding_is_an_error_even_when_the_unreserve_fails_too() -> None:
    ledger = Ledger(ttl_s=30)
    ledger.update_node("a", {"cpu": 4000, "pods": 110})
    binder = FakeBinder()
    binder.fail = Retryable("API server busy")
    ext = Extender(GoesDownAfterGrant(ledger, clock=lambda: 0.0), binder, FakeApi({}))

    async def body(call: Call) -> None:
        await call("filter", {"Pod": raw_pod("p"), "NodeNames": ["a"]})
        out = (await call("bind", binding("p", "a")))[1]
        assert out["Error"] == "binding ns/p to a failed: API server busy"

    served(ext, body)
    # left to the reservation's TTL
    assert "ns/p" in ledger.nodes["a"].reserved


def test_a_coordinator_fault_is_an_error_never_an_unreserved_binding() -> None:
    ledger = Ledger(ttl_s=30)
    binder, api = FakeBinder(), FakeApi({"p": raw_pod("p")})
    ext = Extender(DownCoordinator(ledger, clock=lambda: 0.0), binder, api)

    async def body(call: Call) -> None:
        status, out = await call("filter", {"Pod": raw_pod("p"), "NodeNames": ["a"]})
        assert status == 200 and "NodeNames" not in out
        assert out["Error"] == "colo-coordinator: coordinator filter failed: UNAVAILABLE"
        status, out = await call("bind", binding("p", "a"))
        assert status == 200
        assert out["Error"] == "colo-coordinator: coordinator reserve failed: UNAVAILABLE"
        assert binder.bound == []

    served(ext, body)
    assert ext.stats["errors"] == 2


def test_a_pod_that_cannot_be_read_is_an_error_and_nothing_is_reserved() -> None:
    ledger, binder, _, ext = rig(a=4000)

    async def body(call: Call) -> None:
        status, out = await call("bind", binding("gone", "a"))
        assert status == 200
        assert out["Error"] == (
            "colo-extender: reading pod ns/gone: GET /api/v1/namespaces/ns/pods/gone: "
            "404 pods 'gone' not found"
        )

    served(ext, body)
    assert binder.bound == [] and ledger.nodes["a"].reserved == {}


# --- bad requests ----------------------------------------------------------------------

BAD_REQUESTS = [
    ("filter", "{not json", "filter request body: not JSON"),
    ("filter", "[1, 2]", "filter request body: must be a JSON object"),
    ("filter", {"NodeNames": ["a"]}, "ExtenderArgs: field Pod: missing"),
    ("filter", {"Pod": raw_pod("p")}, "ExtenderArgs: field NodeNames: missing"),
    ("filter", {"Pod": raw_pod("p"), "NodeNames": "a"}, "field NodeNames: must be a list"),
    ("filter", {"Pod": raw_pod("p"), "Nodes": {"items": [{}]}},
     "field Nodes.items[0].metadata.name: missing"),
    ("filter", {"Pod": raw_pod("p", cpu="lots"), "NodeNames": ["a"]}, "lots"),
    ("bind", {"PodName": "p", "PodNamespace": "ns"}, "ExtenderBindingArgs: field Node: missing"),
    ("bind", {"PodNamespace": "ns", "Node": "a"}, "field PodName: missing"),
    ("bind", {**binding("p", "a"), "PodUID": 7}, "field PodUID: must be a string"),
]  # fmt: skip


@pytest.mark.parametrize(("verb", "payload", "message"), BAD_REQUESTS)
def test_bad_requests_get_400_naming_the_field(verb: str, payload: Any, message: str) -> None:
    ledger, binder, _, ext = rig(a=4000)

    async def body(call: Call) -> None:
        status, text = await call(verb, payload)
        assert status == 400 and text.startswith("colo-extender: ")
        assert message in text

    served(ext, body)
    assert binder.bound == [] and ledger.nodes["a"].reserved == {}
    assert ext.stats["requests"] == ext.stats["bad_requests"] == 1


# --- the command line ------------------------------------------------------------------


def test_cli_refuses_a_coordinator_address_without_a_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["extender", "serve", "--coordinator", "coordinator.local"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--coordinator: expected HOST:PORT" in err and "'coordinator.local'" in err


def test_cli_says_when_it_cannot_listen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["extender", "serve", "--coordinator", "127.0.0.1:7070",
                     "--kubeconfig", str(kubeconfig), "--port", str(port)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "colo-extender: field --host/--port: cannot listen there" in err
    assert f"127.0.0.1:{port}" in err and "Traceback" not in err
