"""bench/_cluster.py's waits against the real session API server: `namespace_gone` returns
only once kube-controller-manager has emptied a deleted namespace and it is gone (events
and all), and says so when it is not."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from e2ekit import new_namespace, pod_body, transport

from colo.core.errors import NotFound
from colo.devcluster import ClusterState

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))  # the benches import their helpers as siblings

from _cluster import clear, namespace_gone  # noqa: E402

pytestmark = pytest.mark.e2e


def event_body(ns: str, pod: str) -> dict[str, object]:
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": f"{pod}.e2e"},
        "eventTime": "2026-12-07T12:00:00.000000Z",
        "reportingController": "colo-e2e",
        "reportingInstance": "colo-e2e-1",
        "action": "Binding",
        "reason": "Scheduled",
        "type": "Normal",
        "regarding": {"apiVersion": "v1", "kind": "Pod", "namespace": ns, "name": pod},
    }


def test_namespace_gone_waits_for_the_namespace_not_only_its_pods(
    dev_cluster: ClusterState,
) -> None:
    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            await t.post(f"/api/v1/namespaces/{ns}/pods", pod_body("p", scheduler="nobody"))
            await t.post(f"/apis/events.k8s.io/v1/namespaces/{ns}/events", event_body(ns, "p"))
            kept = await new_namespace(t)
            try:
                with pytest.raises(RuntimeError, match=f"namespace {kept} was not gone"):
                    await namespace_gone(t, kept, timeout_s=1.0)  # not being deleted: it stays
            finally:
                await t.request("DELETE", f"/api/v1/namespaces/{kept}")

            await clear(t, ns)  # the pods are gone; the namespace may still be terminating
            await namespace_gone(t, ns, timeout_s=120.0)
            with pytest.raises(NotFound):
                await t.get(f"/api/v1/namespaces/{ns}")
            with pytest.raises(NotFound):
                await t.get(f"/apis/events.k8s.io/v1/namespaces/{ns}/events/p.e2e")

    asyncio.run(body())
