"""The colo.kube informer against the real session API server, including its restart."""

from __future__ import annotations

import asyncio
import random
import signal
import time

import pytest
from e2ekit import delete_pod, fresh, new_namespace, pod_body, transport

from colo.core.changes import ClusterEvent
from colo.core.errors import Permanent, Retryable
from colo.devcluster import ClusterState, DevCluster
from colo.devcluster.processes import free_ports
from colo.kube.informer import Informer
from colo.kube.transport import Transport

pytestmark = pytest.mark.e2e


def cached(inf: Informer) -> dict[str, str]:
    return {k: o["metadata"]["resourceVersion"] for k, o in inf.raw().items()}


async def converges(inf: Informer, t: Transport, ns: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    want: dict[str, str] = {}
    while time.monotonic() < deadline:
        try:
            want = await fresh(t, ns)
        except Retryable:
            await asyncio.sleep(0.2)
            continue
        if cached(inf) == want:
            return
        await asyncio.sleep(0.2)
    assert cached(inf) == want


def test_cache_equals_a_fresh_list_and_events_arrive_in_order(dev_cluster: ClusterState) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            for i in range(3):
                await t.post(f"/api/v1/namespaces/{ns}/pods", pod_body(f"pre-{i}"))
            inf = Informer(t, "pods", namespace=ns, page_size=2)
            seen: list[tuple[str, str]] = []

            def on(ev: ClusterEvent) -> None:
                assert ev.pod is not None
                seen.append((ev.kind.value, ev.pod.name))

            inf.subscribe(on)
            task = asyncio.create_task(inf.run())
            await asyncio.wait_for(inf.wait_synced(), 10)
            await converges(inf, t, ns)
            await t.post(f"/api/v1/namespaces/{ns}/pods", pod_body("new"))
            await t.patch(
                f"/api/v1/namespaces/{ns}/pods/new", {"metadata": {"labels": {"step": "two"}}}
            )
            await delete_pod(t, ns, "new")
            await converges(inf, t, ns)
            task.cancel()
            mine = [kind for kind, name in seen if name == "new"]
            assert mine[0] == "ADDED" and mine[-1] == "DELETED" and "MODIFIED" in mine
            # Order is promised per object, not across objects: a list may be served from
            # the API server's watch cache, which may lag etcd by a moment, so a
            # pre-existing pod can come by the watch after another one's binding. Each pod
            # still starts with ADDED and never gets a second one.
            for i in range(3):
                kinds = [k for k, n in seen if n == f"pre-{i}"]
                assert kinds and kinds[0] == "ADDED", (i, kinds)
                assert kinds.count("ADDED") == 1 and "DELETED" not in kinds, (i, kinds)

    asyncio.run(body())


def test_bad_token_is_permanent_and_closed_port_is_retryable(dev_cluster: ClusterState) -> None:
    async def body() -> None:
        async with transport(dev_cluster, token="not-a-token") as t:
            with pytest.raises(Permanent, match="rejected the credentials"):
                await Informer(t, "pods").run()
        port = free_ports(1)[0]
        url = f"https://127.0.0.1:{port}"
        async with Transport(url, insecure_skip_verify=True) as t:
            with pytest.raises(Retryable, match=url):
                await t.get("/api/v1/pods")

    asyncio.run(body())


@pytest.mark.slow
def test_watch_survives_an_apiserver_restart_without_losing_changes(
    dev_cluster: ClusterState, dev_cluster_handle: DevCluster
) -> None:
    def apiserver_pid() -> int:
        state = dev_cluster_handle.state()
        assert state is not None
        return next(p.pid for p in state.processes if p.name == "kube-apiserver")

    def restart_apiserver() -> None:
        """SIGTERM (it drains), then start it again with its recorded command line."""
        before = apiserver_pid()
        dev_cluster_handle.kill("kube-apiserver", signal.SIGTERM, grace_s=30)
        time.sleep(1.0)  # the watch is down; the informer backs off
        dev_cluster_handle.restart("kube-apiserver")
        assert apiserver_pid() != before, "a new kube-apiserver serves"

    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            for i in range(3):
                await t.post(f"/api/v1/namespaces/{ns}/pods", pod_body(f"p{i}"))
            inf = Informer(t, "pods", namespace=ns, rng=random.Random(7))
            task = asyncio.create_task(inf.run())
            await asyncio.wait_for(inf.wait_synced(), 10)
            await converges(inf, t, ns)
            await asyncio.to_thread(restart_apiserver)
            deadline = time.monotonic() + 60
            while True:  # the server is coming back; the informer may still be backing off
                try:
                    await t.post(f"/api/v1/namespaces/{ns}/pods", pod_body("after-1"))
                    break
                except (Retryable, Permanent):
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
            await delete_pod(t, ns, "p0")
            await t.patch(
                f"/api/v1/namespaces/{ns}/pods/p1", {"metadata": {"labels": {"after": "restart"}}}
            )
            await converges(inf, t, ns, timeout_s=60)
            await t.post(f"/api/v1/namespaces/{ns}/pods", pod_body("after-2"))
            await converges(inf, t, ns, timeout_s=30)
            assert not task.done()
            task.cancel()

    asyncio.run(body())
