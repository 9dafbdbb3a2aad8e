"""A dev cluster for the Kubernetes benchmarks: started in a temp dir, always stopped."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from colo.core.errors import NotFound, Retryable
from colo.devcluster import ClusterOptions, ClusterState, DevCluster
from colo.kube.transport import Transport


@contextmanager
def dev_cluster(nodes: int, *, quiet: bool, with_scheduler: bool = False) -> Iterator[ClusterState]:
    def progress(msg: str) -> None:
        if not quiet:
            print(f"  cluster: {msg}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="colo-bench-") as tmp:
        cluster = DevCluster(Path(tmp), progress=progress)
        t0 = time.monotonic()
        state = cluster.up(ClusterOptions(nodes=nodes, with_scheduler=with_scheduler))
        progress(f"{nodes} nodes Ready in {time.monotonic() - t0:.1f} s")
        try:
            yield state
        finally:
            cluster.down()


def transport(state: ClusterState, **kw: Any) -> Transport:
    return Transport(state.server, token=state.token, ca_file=state.ca_file, **kw)


async def namespace(t: Transport, prefix: str) -> str:
    ns = f"{prefix}-{uuid.uuid4().hex[:6]}"
    await t.post(
        "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    )
    return ns


def pod(name: str) -> dict[str, Any]:
    """A pod no scheduler serves (schedulerName colo-bench): it waits for our binder."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "colo-bench"}},
        "spec": {
            "schedulerName": "colo-bench",
            "containers": [
                {"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "10m"}}}
            ],
            "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists"}],
        },
    }


async def create_pods(
    t: Transport, ns: str, count: int, *, prefix: str = "p", concurrency: int = 64
) -> list[dict[str, Any]]:
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> dict[str, Any]:
        async with sem:
            out: dict[str, Any] = await t.post(
                f"/api/v1/namespaces/{ns}/pods", pod(f"{prefix}{i:05d}")
            )
            return out

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def clear(t: Transport, ns: str, timeout_s: float = 60.0) -> None:
    """Delete the scenario's namespace, its pods at once (grace 0), and wait until they
    are gone: the next wave finds the nodes' pod slots and batch capacity free, as work
    that finished leaves them (the kwok nodes hold 110 pods each)."""
    await t.request("DELETE", f"/api/v1/namespaces/{ns}/pods", body={"gracePeriodSeconds": 0})
    await t.request("DELETE", f"/api/v1/namespaces/{ns}")

    async def pods_gone() -> bool:
        return not (await t.get(f"/api/v1/namespaces/{ns}/pods"))["items"]

    await _until_gone(pods_gone, timeout_s, f"the pods of namespace {ns} were")


async def namespace_gone(t: Transport, ns: str, timeout_s: float = 600.0) -> None:
    """Wait until namespace `ns`, being deleted, is gone: kube-controller-manager has
    deleted everything in it, after its pods (`clear`). On 2 cores a namespace of 5,000
    deleted pods went 5.5-6.1 s after its pods, one where kube-scheduler had written its
    5,000 `Scheduled` events 13.6-15.1 s after (2026-12-07): the API server deletes a
    collection one object at a time (`--delete-collection-workers` is 1 by default),
    and the next run met that work."""

    async def gone() -> bool:
        try:
            await t.get(f"/api/v1/namespaces/{ns}")
        except NotFound:
            return True
        return False

    await _until_gone(gone, timeout_s, f"namespace {ns} was")


async def _until_gone(gone: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    """Ask `gone()` every 0.5 s (a Retryable answer counts as not yet) until it says so;
    RuntimeError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Retryable):
            if await gone():
                return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"{what} not gone {timeout_s:g} s after deleting")
