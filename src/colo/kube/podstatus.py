"""`PodConditionWriter` over the pods/status subresource.

A strategic merge patch: `status.conditions` merges by `type`, so the other conditions
(and a concurrent kubelet's updates to them) are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from colo.core.changes import PodRef
from colo.kube.times import rfc3339
from colo.ports.api import Api


class KubePodConditionWriter:
    def __init__(self, api: Api, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._api = api
        self._now = now
        self.written = 0

    async def set_condition(
        self, pod: PodRef, *, type: str, status: str, reason: str, message: str
    ) -> None:
        condition = {
            "type": type,
            "status": status,
            "reason": reason,
            "message": message,
            "lastProbeTime": None,
            "lastTransitionTime": rfc3339(self._now()),
        }
        await self._api.request(
            "PATCH",
            f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}/status",
            body={"status": {"conditions": [condition]}},
            content_type="application/strategic-merge-patch+json",
        )
        self.written += 1
