"""kube-scheduler with colo's Go Reserve plugin (colo-kube-scheduler, build/scheduler-plugin)
reserving every placement at a real colo-coordinator over gRPC, on the session cluster.

The coordinator runs in this process on an event loop of its own thread, so the test can
block (poll the API server, start processes) while it serves; every ledger read or write
goes through that loop (`CoordinatorThread.call`), never racing the gRPC service.

Nodes used here (no other e2e test uses them): node-0020 (32 cores), node-0021 (48),
node-0023 (96).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import pytest
from e2ekit import eventually, pod_body, transport

from colo.apps.coordinator import CoordinatorApp
from colo.coord.ledger import Ledger
from colo.core.reservation import Item, Reply
from colo.devcluster import ApiClient, BinariesMissing, ClusterState, load_binaries
from colo.devcluster.binaries import COLO_KUBE_SCHEDULER
from colo.devcluster.processes import free_ports
from colo.devcluster.scheduler import ExtraScheduler, start_scheduler
from colo.kube.transport import Transport

pytestmark = pytest.mark.e2e

T = TypeVar("T")

PROFILE = "colo-coordinated"
#: Reservations made by hand in the ledger outlive the test (the default TTL is 30 s).
LEDGER_TTL_S = 600.0
#: Plugin args: retry a refused pod after 0.5 s, keep it off the refusing node for 2 s.
RETRY_AFTER = "500ms"
AVOID_FOR = "2s"


class CoordinatorThread:
    """A `CoordinatorApp` serving on 127.0.0.1:`port`, on its own thread's event loop.
    `stop()` and `start()` again give a fresh coordinator on the same port (the plugin's
    address), rebuilt from the API server like a restarted process."""

    def __init__(self, state: ClusterState, port: int) -> None:
        self.state = state
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.app: CoordinatorApp | None = None
        self._transport: Transport | None = None
        self.history: list[tuple[str, str]] = []

    def _run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def call(self, fn: Callable[[Ledger], T]) -> T:
        """`fn(ledger)` on the coordinator's loop; returns its result."""

        async def run() -> T:
            assert self.app is not None, "the coordinator is stopped"
            return fn(self.app.ledger)

        return self._run(run())

    def start(self) -> None:
        async def up() -> None:
            self._transport = transport(self.state)
            self.app = CoordinatorApp(
                self._transport, listen=f"127.0.0.1:{self.port}", ttl_s=LEDGER_TTL_S
            )
            await self.app.start()
            self.history = []
            _record(self.app.ledger, self.history)

        self._run(up())

    def history_of(self, key: str) -> list[str]:
        """What happened to `key` at this coordinator since it started, in order:
        "granted", "refused", "bound" (first seen bound)."""
        return self.call(lambda _: [what for what, pod in self.history if pod == key])

    def stop(self) -> None:
        async def down() -> None:
            if self.app is not None:
                await self.app.stop()
            if self._transport is not None:
                await self._transport.close()
            self.app = self._transport = None

        self._run(down())

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def _record(ledger: Ledger, history: list[tuple[str, str]]) -> None:
    """Append (what, pod) to `history` as the ledger answers reservations and first sees
    a pod bound (by the plugin's PostBind or the coordinator's watch)."""
    reserve, pod_bound = ledger.reserve, ledger.pod_bound
    seen_bound: set[str] = set()

    def recording_reserve(items: Sequence[Item], now_s: float) -> list[Reply]:
        replies = reserve(items, now_s)
        history.extend(("granted" if r.ok else "refused", r.pod) for r in replies)
        return replies

    def recording_pod_bound(pod: str, node: str, resources: Mapping[str, int]) -> None:
        if pod not in seen_bound:
            seen_bound.add(pod)
            history.append(("bound", pod))
        pod_bound(pod, node, resources)

    ledger.reserve = recording_reserve  # type: ignore[method-assign]
    ledger.pod_bound = recording_pod_bound  # type: ignore[method-assign]


def plugin_config(port: int) -> str:
    """The profile of colo-kube-scheduler: every extension point of ColoCoordinator."""
    enabled = "{enabled: [{name: ColoCoordinator}]}"
    return (
        "profiles:\n"
        f"- schedulerName: {PROFILE}\n"
        "  plugins:\n"
        f"    preFilter: {enabled}\n"
        f"    filter: {enabled}\n"
        f"    reserve: {enabled}\n"
        f"    postBind: {enabled}\n"
        "  pluginConfig:\n"
        "  - name: ColoCoordinator\n"
        "    args:\n"
        f"      address: 127.0.0.1:{port}\n"
        "      timeout: 2s\n"
        f"      retryAfter: {RETRY_AFTER}\n"
        f"      avoidRefusedNodeFor: {AVOID_FOR}\n"
    )


@pytest.fixture(scope="module")
def coordinator(dev_cluster: ClusterState) -> Iterator[CoordinatorThread]:
    (port,) = free_ports(1)
    coord = CoordinatorThread(dev_cluster, port)
    try:
        coord.start()
        yield coord
    finally:
        coord.close()


@pytest.fixture(scope="module")
def scheduler(
    dev_cluster: ClusterState, coordinator: CoordinatorThread
) -> Iterator[ExtraScheduler]:
    try:
        binary = load_binaries([COLO_KUBE_SCHEDULER])[COLO_KUBE_SCHEDULER].path
    except BinariesMissing as exc:
        pytest.fail(f"this test needs colo-kube-scheduler: {exc}", pytrace=False)
    with start_scheduler(
        dev_cluster,
        name="colo-reserve-plugin",
        config_tail=plugin_config(coordinator.port),
        binary=binary,
    ) as sched:
        yield sched


@pytest.fixture
def ns(api: ApiClient) -> Iterator[str]:
    name = f"e2e-go-{uuid.uuid4().hex[:8]}"
    api.post(
        "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )
    yield name
    api.request("DELETE", f"/api/v1/namespaces/{name}")


def create_pod(api: ApiClient, ns: str, name: str, *, cpu: str, memory: str, **spec: Any) -> str:
    body = pod_body(name, scheduler=PROFILE, **spec)
    body["spec"]["containers"][0]["resources"] = {"requests": {"cpu": cpu, "memory": memory}}
    api.post(f"/api/v1/namespaces/{ns}/pods", body)
    return f"{ns}/{name}"


def get_pod(api: ApiClient, key: str) -> dict[str, Any]:
    ns, name = key.split("/")
    pod: dict[str, Any] = api.get(f"/api/v1/namespaces/{ns}/pods/{name}")
    return pod


def node_of(api: ApiClient, key: str) -> str:
    return str(get_pod(api, key)["spec"].get("nodeName") or "")


def scheduled_condition(api: ApiClient, key: str) -> dict[str, Any]:
    for cond in get_pod(api, key).get("status", {}).get("conditions", []):
        if cond.get("type") == "PodScheduled":
            return dict(cond)
    return {}


def failed_scheduling_messages(api: ApiClient, key: str) -> list[str]:
    ns, name = key.split("/")
    events = api.get(f"/api/v1/namespaces/{ns}/events?fieldSelector=involvedObject.name={name}")
    return [e.get("message", "") for e in events["items"] if e.get("reason") == "FailedScheduling"]


def fill(coordinator: CoordinatorThread, node: str, filler: str) -> int:
    """Reserve all of `node`'s free cpu for `filler` (another scheduler's pod, as far as
    the ledger knows); returns the millicores reserved."""

    def reserve(ledger: Ledger) -> int:
        free = ledger.free(node)["cpu"]
        (reply,) = ledger.reserve([Item(filler, node, {"cpu": free})], time.monotonic())
        assert reply.ok, reply
        return free

    return coordinator.call(reserve)


def test_pods_of_the_profile_are_reserved_at_the_coordinator_then_bound(
    api: ApiClient, coordinator: CoordinatorThread, scheduler: ExtraScheduler, ns: str
) -> None:
    assert coordinator.app is not None
    granted = coordinator.call(lambda ledger: ledger.granted)
    calls = coordinator.app.service.batches
    pods = [create_pod(api, ns, f"p{i}", cpu="100m", memory="64Mi") for i in range(5)]

    def bound() -> dict[str, str] | None:
        found = {k: node_of(api, k) for k in pods}
        return found if all(found.values()) else None

    nodes: dict[str, str] = eventually(
        bound, timeout_s=60, what="the 5 pods bound by colo-kube-scheduler"
    )
    # one Reserve call and one granted reservation per pod ...
    assert coordinator.call(lambda ledger: ledger.granted) - granted == len(pods)
    assert coordinator.app.service.batches - calls == len(pods)

    # ... which became bound entries (PostBind, or the coordinator's own watch)
    def all_bound(ledger: Ledger) -> bool:
        return all(
            key in ledger.nodes[node].bound and key not in ledger.nodes[node].reserved
            for key, node in nodes.items()
        )

    eventually(lambda: coordinator.call(all_bound), what="the pods bound in the ledger")
    for key in pods:
        assert coordinator.history_of(key) == ["granted", "bound"], key
    key, node = next(iter(nodes.items()))
    held = coordinator.call(lambda ledger: dict(ledger.nodes[node].bound[key]))
    assert held == {"cpu": 100, "memory": 64 * 2**20, "pods": 1}


@pytest.mark.slow
def test_a_node_whose_room_went_to_another_scheduler_is_refused_until_it_is_released(
    api: ApiClient, coordinator: CoordinatorThread, scheduler: ExtraScheduler, ns: str
) -> None:
    node, filler = "node-0021", f"{ns}-other/filler"
    fill(coordinator, node, filler)
    try:
        conflicts = coordinator.call(lambda ledger: ledger.conflicts)
        pinned = {"nodeSelector": {"kubernetes.io/hostname": node}}
        key = create_pod(api, ns, "pinned", cpu="500m", memory="64Mi", **pinned)

        def unschedulable() -> dict[str, Any] | None:
            cond = scheduled_condition(api, key)
            return cond if cond.get("status") == "False" else None

        cond = eventually(unschedulable, what="the pinned pod marked unschedulable")
        assert cond["reason"] == "Unschedulable", cond
        assert "insufficient cpu: 500 wanted, 0 free" in cond["message"], cond
        messages = eventually(
            lambda: failed_scheduling_messages(api, key), what="a FailedScheduling event"
        )
        assert any("insufficient cpu" in m for m in messages), messages
        # retried (the plugin requeues it itself: kube-scheduler sees no change) and
        # refused again: it stays Pending
        eventually(
            lambda: coordinator.call(lambda ledger: ledger.conflicts) >= conflicts + 2,
            what="a second refusal",
        )
        assert node_of(api, key) == "", "bound although the coordinator refused it"
    finally:
        released = coordinator.call(lambda ledger: ledger.unreserve([filler]))
    assert released == 1

    eventually(lambda: node_of(api, key) == node, timeout_s=30, what="the pod bound once released")
    eventually(
        lambda: coordinator.call(lambda ledger: key in ledger.nodes[node].bound),
        what="the pod bound in the ledger",
    )
    history = coordinator.history_of(key)
    assert history[-2:] == ["granted", "bound"] and set(history[:-2]) == {"refused"}, history


def test_a_refused_pod_is_retried_on_another_node(
    api: ApiClient, coordinator: CoordinatorThread, scheduler: ExtraScheduler, ns: str
) -> None:
    # Both nodes fit; kube-scheduler prefers the emptier one (96 cores against 32), whose
    # room the coordinator has given away.
    preferred, other, filler = "node-0023", "node-0020", f"{ns}-other/filler"
    fill(coordinator, preferred, filler)
    try:
        match = {"key": "kubernetes.io/hostname", "operator": "In", "values": [preferred, other]}
        required = {"nodeSelectorTerms": [{"matchExpressions": [match]}]}
        affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}
        key = create_pod(api, ns, "either", cpu="4", memory="16Gi", affinity=affinity)

        eventually(lambda: node_of(api, key), timeout_s=30, what="the pod bound")
        assert node_of(api, key) == other, "bound where the coordinator gave the room away"
        # it went to the preferred node first and was refused there, then reserved here
        eventually(lambda: "bound" in coordinator.history_of(key), what="the pod seen bound")
        assert coordinator.history_of(key) == ["refused", "granted", "bound"]
    finally:
        coordinator.call(lambda ledger: ledger.unreserve([filler]))


def test_with_the_coordinator_down_nothing_is_bound_until_it_is_back(
    api: ApiClient, coordinator: CoordinatorThread, scheduler: ExtraScheduler, ns: str
) -> None:
    coordinator.stop()
    try:
        pods = [create_pod(api, ns, f"d{i}", cpu="100m", memory="64Mi") for i in range(3)]

        def all_failed() -> bool:
            conds = [scheduled_condition(api, k) for k in pods]
            return all(
                c.get("reason") == "SchedulerError"
                and f"colo-coordinator at 127.0.0.1:{coordinator.port}" in c.get("message", "")
                for c in conds
            )

        eventually(all_failed, timeout_s=30, what="every pod's Reserve failing on the coordinator")
        assert [node_of(api, k) for k in pods] == ["", "", ""]
    finally:
        coordinator.start()  # a fresh one on the same port, rebuilt from the API server

    eventually(
        lambda: all(node_of(api, k) for k in pods),
        timeout_s=60,
        what="the pods bound once the coordinator is back",
    )
    # the new coordinator started with none of them bound: each was reserved there first
    for key in pods:
        eventually(lambda k=key: "bound" in coordinator.history_of(k), what=f"{key} seen bound")
        assert coordinator.history_of(key) == ["granted", "bound"], key
