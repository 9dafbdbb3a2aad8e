"""colo.kube writers against the real API server: binding, node status, eviction,
events and leader election."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from e2ekit import STANDARD_NODES, new_namespace, pod_body, transport

from colo.core.changes import EventType, PodRef
from colo.core.errors import Conflict, NotFound, Retryable
from colo.devcluster import ClusterState
from colo.kube.binder import KubeBinder
from colo.kube.events import KubeEventRecorder
from colo.kube.evictor import KubeEvictor
from colo.kube.informer import Informer
from colo.kube.leader import LeaderElector
from colo.kube.nodestatus import KubeNodeStatusPatcher
from colo.kube.transport import Transport

pytestmark = pytest.mark.e2e

SCHEDULER = "colo-e2e"  # no scheduler serves it: only our binder places these pods


async def create_pods(t: Transport, ns: str, names: list[str], concurrency: int = 32) -> list[Any]:
    sem = asyncio.Semaphore(concurrency)

    async def one(name: str) -> Any:
        async with sem:
            return await t.post(
                f"/api/v1/namespaces/{ns}/pods", pod_body(name, scheduler=SCHEDULER)
            )

    return list(await asyncio.gather(*(one(n) for n in names)))


async def wait_until(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.2)


@pytest.mark.slow
def test_a_thousand_pods_are_bound_to_kwok_nodes_and_run(dev_cluster: ClusterState) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            created = await create_pods(t, ns, [f"p{i:04d}" for i in range(1000)])
            inf = Informer(t, "pods", namespace=ns)
            watcher = asyncio.create_task(inf.run())
            await asyncio.wait_for(inf.wait_synced(), 30)
            binder = KubeBinder(t, concurrency=32)
            nodes = [f"node-{i:04d}" for i in range(STANDARD_NODES)]
            assignments = [
                (PodRef(ns, o["metadata"]["name"], uid=o["metadata"]["uid"]), nodes[i % len(nodes)])
                for i, o in enumerate(created)
            ]
            outcomes = await binder.bind_all(assignments)
            assert [o for o in outcomes if o is not None] == []
            assert binder.stats.bound == 1000

            def running() -> bool:
                phases = [o.get("status", {}).get("phase") for o in inf.raw().values()]
                return len(phases) == 1000 and all(p == "Running" for p in phases)

            await wait_until(running, 120, "1000 bound pods to be Running")
            by_node = {n: len(inf.pods_on_node(n)) for n in nodes}
            assert set(by_node.values()) == {1000 // STANDARD_NODES}
            watcher.cancel()

            # the binder's error mapping, on the real server
            first = assignments[0][0]
            with pytest.raises(Conflict, match="already"):
                await binder.bind(first, nodes[1])
            stale = PodRef(ns, "late", uid="00000000-0000-0000-0000-000000000000")
            await create_pods(t, ns, ["late"])
            with pytest.raises(Conflict, match=r"(?i)precondition|uid"):
                await binder.bind(stale, nodes[0])
            with pytest.raises(NotFound):
                await binder.bind(PodRef(ns, "never-created"), nodes[0])

    asyncio.run(body())


@pytest.mark.slow
def test_extended_resources_patched_into_status_show_in_allocatable_and_schedule(
    dev_cluster: ClusterState,
) -> None:
    node = f"node-{STANDARD_NODES - 1:04d}"

    async def body() -> None:
        async with transport(dev_cluster) as t:
            before = (await t.get(f"/api/v1/nodes/{node}"))["status"]["allocatable"]
            patcher = KubeNodeStatusPatcher(t)
            await patcher.patch_extended_resources(
                node,
                capacity={"colo.io/batch-cpu": 8000, "colo.io/batch-memory": 16 * 2**30},
                allocatable={"colo.io/batch-cpu": 6500, "colo.io/batch-memory": 12 * 2**30},
            )
            got = await t.get(f"/api/v1/nodes/{node}")
            assert got["status"]["allocatable"]["colo.io/batch-cpu"] == "6500"
            assert got["status"]["capacity"]["colo.io/batch-memory"] == str(16 * 2**30)
            for own in ("cpu", "memory", "pods"):  # the node's own resources untouched
                assert got["status"]["allocatable"][own] == before[own]
            await asyncio.sleep(3)  # kwok keeps updating node status; ours must stay
            got = await t.get(f"/api/v1/nodes/{node}")
            assert got["status"]["allocatable"]["colo.io/batch-cpu"] == "6500"

            # kube-scheduler now places a pod that asks for batch cpu, and only there
            ns = await new_namespace(t)
            want = {"colo.io/batch-cpu": "6000"}
            spec = pod_body(
                "batch",
                containers=[
                    {"name": "c", "image": "x", "resources": {"requests": want, "limits": want}}
                ],
            )
            await t.post(f"/api/v1/namespaces/{ns}/pods", spec)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                pod = await t.get(f"/api/v1/namespaces/{ns}/pods/batch")
                if pod["spec"].get("nodeName"):
                    break
                await asyncio.sleep(0.2)
            assert pod["spec"].get("nodeName") == node

            await patcher.remove_extended_resources(
                node, ["colo.io/batch-cpu", "colo.io/batch-memory"]
            )
            got = await t.get(f"/api/v1/nodes/{node}")
            assert "colo.io/batch-cpu" not in got["status"]["allocatable"]

    asyncio.run(body())


def test_eviction_deletes_the_pod_honours_budgets_and_records_an_event(
    dev_cluster: ClusterState,
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            created = await create_pods(t, ns, ["free", "guarded"])
            binder = KubeBinder(t)
            for o in created:
                await binder.bind(PodRef(ns, o["metadata"]["name"]), "node-0000")
            rec = KubeEventRecorder(t, component="colo-e2e")
            evictor = KubeEvictor(t, recorder=rec)
            await evictor.evict(
                PodRef(ns, "free", uid=created[0]["metadata"]["uid"]),
                reason="interference on node-0000",
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    await t.get(f"/api/v1/namespaces/{ns}/pods/free")
                except NotFound:
                    break
                await asyncio.sleep(0.2)
            else:
                pytest.fail("evicted pod still exists after 30 s")
            events = await t.get(f"/api/v1/namespaces/{ns}/events")
            (ev,) = [e for e in events["items"] if e["involvedObject"]["name"] == "free"]
            assert (ev["reason"], ev["type"], ev["message"]) == (
                "Evicted",
                "Warning",
                "interference on node-0000",
            )

            await t.patch(
                f"/api/v1/namespaces/{ns}/pods/guarded", {"metadata": {"labels": {"guard": "yes"}}}
            )
            pdb = {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": "keep"},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": {"guard": "yes"}}},
            }
            await t.post(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets", pdb)
            with pytest.raises(Retryable, match=r"(?i)disruption budget|429"):
                await evictor.evict(PodRef(ns, "guarded"), reason="must not happen")
            assert (await t.get(f"/api/v1/namespaces/{ns}/pods/guarded"))["metadata"]["name"]
            with pytest.raises(NotFound):
                await evictor.evict(PodRef(ns, "free"), reason="already gone")

    asyncio.run(body())


def test_repeated_events_aggregate_on_the_server(dev_cluster: ClusterState) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            rec = KubeEventRecorder(t, component="colo-batch")
            for _ in range(3):
                await rec.record(
                    kind="Pod",
                    key=f"{ns}/p",
                    reason="FailedScheduling",
                    message="0/55 nodes are available",
                    type=EventType.WARNING,
                )
            items = (await t.get(f"/api/v1/namespaces/{ns}/events"))["items"]
            assert [(e["reason"], e["count"]) for e in items] == [("FailedScheduling", 3)]
            assert rec.dropped == 0

    asyncio.run(body())


LEASE_S, RENEW_S, RETRY_S = 3.0, 2.0, 0.25


def _candidate(state: ClusterState, ns: str, identity: str) -> subprocess.Popen[str]:
    script = Path(__file__).with_name("leader_candidate.py")
    args = [state.server, state.token, state.ca_file, ns, identity]
    args += [str(LEASE_S), str(RENEW_S), str(RETRY_S)]
    return subprocess.Popen(
        [sys.executable, str(script), *args], stdout=subprocess.PIPE, text=True, env=os.environ
    )


def _wait_line(proc: subprocess.Popen[str], want: str, timeout_s: float = 30) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    line = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline().strip()
        if line == want:
            return
        if proc.poll() is not None:
            break
    pytest.fail(f"candidate did not print {want} (last line {line!r}, exit {proc.poll()})")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["crash", "clean stop"])
def test_leadership_moves_to_the_standby_within_the_lease(
    dev_cluster: ClusterState, how: str
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            leader = _candidate(dev_cluster, ns, "first")
            try:
                await asyncio.to_thread(_wait_line, leader, "LEADING")
                standby = LeaderElector(
                    t,
                    namespace=ns,
                    name="colo-e2e",
                    identity="second",
                    lease_duration_s=LEASE_S,
                    renew_deadline_s=RENEW_S,
                    retry_period_s=RETRY_S,
                )
                campaign = asyncio.create_task(standby.acquire())
                await asyncio.sleep(LEASE_S + 1)  # longer than a lease: the live leader renews
                assert not campaign.done() and standby.holder == "first"
                killed = time.monotonic()
                if how == "crash":
                    leader.kill()
                else:
                    leader.send_signal(signal.SIGTERM)
                await asyncio.wait_for(campaign, LEASE_S * 3)
                took = time.monotonic() - killed
            finally:
                leader.kill()
                leader.wait()
            assert standby.is_leader
            lease = await t.get(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/colo-e2e")
            assert lease["spec"]["holderIdentity"] == "second"
            if how == "crash":
                # the lease, plus one poll to notice the last renewal and one to take over
                assert took <= LEASE_S + 2 * RETRY_S + 0.5, took
            else:
                assert took <= 2 * RETRY_S + 0.5, took  # released: no need to wait it out

    asyncio.run(body())
