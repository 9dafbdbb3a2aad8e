"""`Evictor` through the `policy/v1` Eviction subresource.

The API server checks PodDisruptionBudgets: an eviction a budget forbids comes back as
429 and surfaces as `Retryable` (try later), never as a silent delete. A pod already
gone is `NotFound`; a uid precondition that no longer matches is `Conflict`.
When a recorder is given, each eviction is also reported as an `Evicted` Warning event
with colo's reason.
"""

from __future__ import annotations

from typing import Any

from colo.core.changes import EventType, PodRef
from colo.ports.api import Api
from colo.ports.cluster import EventRecorder


def eviction_body(pod: PodRef) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod.name, "namespace": pod.namespace},
    }
    if pod.uid:
        body["deleteOptions"] = {"preconditions": {"uid": pod.uid}}
    return body


class KubeEvictor:
    def __init__(self, api: Api, *, recorder: EventRecorder | None = None) -> None:
        self._api = api
        self._recorder = recorder
        self.evicted = 0

    async def evict(self, pod: PodRef, *, reason: str) -> None:
        await self._api.request(
            "POST",
            f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}/eviction",
            body=eviction_body(pod),
        )
        self.evicted += 1
        if self._recorder is not None:
            await self._recorder.record(
                kind="Pod", key=pod.key, reason="Evicted", message=reason, type=EventType.WARNING
            )
