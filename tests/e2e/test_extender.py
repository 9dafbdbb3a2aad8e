"""kube-scheduler joins colo-coordinator through colo-extender, on the session cluster.

A second kube-scheduler (profile `colo-extended`, extender with filter and bind verbs,
nodeCacheCapable) talks to colo-extender, which reserves at a `CoordinatorApp`; both
run in this process on an event loop of their own thread, so the test reads the
coordinator's ledger while kube-scheduler works. Pods bind only through a reservation,
and a node whose room the coordinator has given to someone kube-scheduler cannot see
keeps a pod pinned there Pending with the coordinator's reason until it is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from aiohttp import web
from e2ekit import eventually, new_namespace, pod_body, transport

from colo.apps.coordinator import CoordinatorApp
from colo.apps.extender import Extender, start
from colo.core.changes import PodRef
from colo.core.reservation import Item
from colo.devcluster import ClusterState
from colo.devcluster.scheduler import start_scheduler
from colo.kube.binder import KubeBinder
from colo.kube.transport import Transport
from colo.rpc.coordinator import CoordinatorClient

pytestmark = pytest.mark.e2e

PROFILE = "colo-extended"
POD_CPU_MILLI = 100

T = TypeVar("T")


class Background:
    """An event loop on a thread of its own: colo's parts run there, the test polls."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="colo", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def call(self, fn: Callable[[], T]) -> T:
        """`fn()` on the loop, between two of its steps (the ledger is not thread-safe)."""

        async def one() -> T:
            return fn()

        return self.run(one())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class WitnessBinder:
    """KubeBinder that first notes whether the coordinator holds the pod's reservation."""

    def __init__(self, inner: KubeBinder, app: CoordinatorApp) -> None:
        self.inner = inner
        self.app = app
        self.seen: dict[str, tuple[str, bool]] = {}  # pod -> (node, reserved there?)

    async def bind(self, pod: PodRef, node_name: str) -> None:
        entry = self.app.ledger.nodes.get(node_name)
        self.seen[pod.key] = (node_name, entry is not None and pod.key in entry.reserved)
        await self.inner.bind(pod, node_name)


@dataclass
class Rig:
    bg: Background
    t: Transport
    app: CoordinatorApp
    client: CoordinatorClient
    binder: WitnessBinder
    extender: Extender
    runner: web.AppRunner
    port: int
    namespaces: list[str] = field(default_factory=list)

    def api(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.bg.run(coro)

    def pod(self, ns: str, name: str) -> dict[str, Any]:
        raw: dict[str, Any] = self.api(self.t.get(f"/api/v1/namespaces/{ns}/pods/{name}"))
        return raw

    def namespace(self) -> str:
        ns = self.api(new_namespace(self.t))
        self.namespaces.append(ns)
        return ns


async def _start(bg: Background, state: ClusterState) -> Rig:
    t = transport(state)
    # a long TTL: the reservation the test makes by hand must outlive the test
    app = CoordinatorApp(t, ttl_s=600)
    coord_port = await app.start()
    client = CoordinatorClient(f"127.0.0.1:{coord_port}", scheduler="kube-scheduler")
    binder = WitnessBinder(KubeBinder(t), app)
    extender = Extender(client, binder, t)
    runner, port = await start(extender, "127.0.0.1", 0)
    return Rig(bg, t, app, client, binder, extender, runner, port)


async def _stop(rig: Rig) -> None:
    await rig.runner.cleanup()
    await rig.client.close()
    await rig.app.stop()
    for ns in rig.namespaces:
        with contextlib.suppress(Exception):
            await rig.t.request("DELETE", f"/api/v1/namespaces/{ns}")
    await rig.t.close()


def extender_config(port: int) -> str:
    return (
        "profiles:\n"
        f"- schedulerName: {PROFILE}\n"
        "extenders:\n"
        f"- urlPrefix: http://127.0.0.1:{port}\n"
        "  filterVerb: filter\n"
        "  bindVerb: bind\n"
        "  nodeCacheCapable: true\n"
        "  weight: 1\n"
    )


@pytest.fixture(scope="module")
def rig(dev_cluster: ClusterState) -> Iterator[Rig]:
    bg = Background()
    try:
        rig = bg.run(_start(bg, dev_cluster))
        try:
            with start_scheduler(
                dev_cluster, name="colo-extender-scheduler", config_tail=extender_config(rig.port)
            ):
                yield rig
        finally:
            bg.run(_stop(rig))
    finally:
        bg.close()


def small_pod(name: str, **spec: Any) -> dict[str, Any]:
    body = pod_body(name, scheduler=PROFILE, **spec)
    body["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": f"{POD_CPU_MILLI}m", "memory": "64Mi"}
    }
    return body


def scheduled_condition(pod: dict[str, Any]) -> dict[str, Any] | None:
    for cond in pod.get("status", {}).get("conditions") or []:
        if cond.get("type") == "PodScheduled":
            return dict(cond)
    return None


def cluster_activity(rig: Rig, ns: str, avoid: str) -> None:
    """A pod bound straight to some node other than `avoid`: the kind of event a busy
    cluster has all the time. kube-scheduler retries a pod an extender turned away on
    any cluster event (a coordinator's ledger changing is not one)."""
    nodes = rig.bg.call(lambda: sorted(rig.app.ledger.nodes))
    node = next(n for n in nodes if n.startswith("node-") and n != avoid)
    body = pod_body(f"activity-{uuid.uuid4().hex[:6]}", nodeName=node)
    rig.api(rig.t.post(f"/api/v1/namespaces/{ns}/pods", body))


def test_pods_of_the_extended_profile_bind_only_through_a_reservation(rig: Rig) -> None:
    ns = rig.namespace()
    granted_before = rig.bg.call(lambda: rig.app.ledger.granted)
    names = [f"ext-{i}" for i in range(5)]
    for name in names:
        rig.api(rig.t.post(f"/api/v1/namespaces/{ns}/pods", small_pod(name)))

    def placed() -> dict[str, str] | None:
        nodes = {n: rig.pod(ns, n)["spec"].get("nodeName") for n in names}
        return nodes if all(nodes.values()) else None

    nodes = eventually(placed, timeout_s=60, what=f"kube-scheduler to bind {names}")
    for name, node in nodes.items():
        # the extender bound it, holding the coordinator's reservation at that moment
        assert rig.binder.seen[f"{ns}/{name}"] == (node, True), rig.binder.seen

    def confirmed() -> bool:
        def check() -> bool:
            ledger = rig.app.ledger
            return all(
                f"{ns}/{n}" in ledger.nodes[node].bound
                and f"{ns}/{n}" not in ledger.nodes[node].reserved
                for n, node in nodes.items()
            )

        return rig.bg.call(check)

    # the coordinator's watch turns each reservation into a bound entry
    eventually(confirmed, what="the ledger to show the pods bound")
    assert rig.bg.call(lambda: rig.app.ledger.granted) - granted_before >= len(names)
    assert rig.extender.stats["conflicts"] == 0 and rig.extender.stats["errors"] == 0


def test_a_node_whose_room_the_coordinator_gave_away_keeps_the_pod_pending(rig: Rig) -> None:
    ledger = rig.app.ledger

    def roomiest_node() -> tuple[str, int]:
        # earlier tests leave pods everywhere: take the standard node with the most room
        free = {n: ledger.free(n)["cpu"] for n in ledger.nodes if n.startswith("node-")}
        name = max(sorted(free), key=lambda n: free[n])
        assert free[name] >= 1000, f"too little cpu left in the session cluster: {free}"
        return name, free[name]

    node, free_cpu = rig.bg.call(roomiest_node)
    holder = f"elsewhere/holder-{uuid.uuid4().hex[:6]}"
    # another scheduler's reservation, which kube-scheduler cannot see: all the node's cpu
    (reply,) = rig.bg.call(
        lambda: ledger.reserve([Item(holder, node, {"cpu": free_cpu})], time.monotonic())
    )
    assert reply.ok, reply
    try:
        ns = rig.namespace()
        selector = {"kubernetes.io/hostname": node}
        pinned = small_pod("pinned", nodeSelector=selector)
        rig.api(rig.t.post(f"/api/v1/namespaces/{ns}/pods", pinned))
        reason = f"insufficient cpu: {POD_CPU_MILLI} wanted, 0 free"

        def refused() -> dict[str, Any] | None:
            cond = scheduled_condition(rig.pod(ns, "pinned"))
            if cond and cond.get("reason") == "Unschedulable" and reason in cond.get("message", ""):
                return cond
            return None

        cond = eventually(refused, timeout_s=60, what=f"PodScheduled=False naming {reason!r}")
        assert cond["status"] == "False", cond
        assert not rig.pod(ns, "pinned")["spec"].get("nodeName")

        # kube-scheduler tries again on cluster activity; the coordinator still says no
        filters, binds = rig.extender.stats["filters"], rig.extender.stats["binds"]
        cluster_activity(rig, ns, avoid=node)
        eventually(
            lambda: rig.extender.stats["filters"] > filters,
            what="kube-scheduler to retry the pinned pod after cluster activity",
        )
        assert rig.extender.stats["binds"] == binds
        assert not rig.pod(ns, "pinned")["spec"].get("nodeName")
    finally:
        released = rig.bg.call(lambda: ledger.unreserve([holder]))
    assert released == 1

    # the room is back; at kube-scheduler's next try the pod binds there
    cluster_activity(rig, ns, avoid=node)
    eventually(
        lambda: rig.pod(ns, "pinned")["spec"].get("nodeName") == node,
        timeout_s=60,
        what=f"the pinned pod to bind to {node} once the coordinator released the room",
    )
    assert rig.binder.seen[f"{ns}/pinned"] == (node, True)
