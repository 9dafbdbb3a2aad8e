"""`EventRecorder` writing core/v1 Events, with client-go-style aggregation.

The same (object, type, reason, message) recorded again within `dedupe_window_s`
bumps `count` and `lastTimestamp` on the existing Event instead of creating a new one,
so a scheduler that reports the same unschedulable pod every cycle does not flood etcd.

Events are best effort, as in client-go: a failure to write one is logged and counted
in `dropped`, never raised into the code that reported it.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from colo.core.changes import EventType
from colo.core.errors import ColoError
from colo.kube.times import rfc3339
from colo.ports.api import Api

log = logging.getLogger(__name__)

_API_VERSIONS = {"Pod": "v1", "Node": "v1", "CronJob": "batch/v1", "Job": "batch/v1"}
#: Namespace for events about cluster-scoped objects (nodes), as kubectl expects.
CLUSTER_SCOPED_EVENT_NAMESPACE = "default"


class KubeEventRecorder:
    def __init__(
        self,
        api: Api,
        *,
        component: str,
        instance: str = "",
        dedupe_window_s: float = 600.0,
        max_tracked: int = 4096,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self.component = component
        self.instance = instance
        self._window = dedupe_window_s
        self._max = max_tracked
        self._now = now
        self._mono = monotonic
        # key -> (namespace, event name, count, first seen (monotonic))
        self._seen: OrderedDict[tuple[str, ...], tuple[str, str, int, float]] = OrderedDict()
        self.recorded = 0
        self.aggregated = 0
        self.dropped = 0

    async def record(
        self,
        *,
        kind: str,
        key: str,
        reason: str,
        message: str,
        type: EventType = EventType.NORMAL,
        uid: str = "",
    ) -> None:
        ns, _, name = key.rpartition("/")
        event_ns = ns or CLUSTER_SCOPED_EVENT_NAMESPACE
        dedupe = (kind, key, str(type), reason, message)
        now = self._now()
        try:
            hit = self._seen.get(dedupe)
            if hit is not None and self._mono() - hit[3] <= self._window:
                ev_ns, ev_name, count, first = hit
                await self._api.request(
                    "PATCH",
                    f"/api/v1/namespaces/{ev_ns}/events/{ev_name}",
                    body={"count": count + 1, "lastTimestamp": rfc3339(now)},
                    content_type="application/merge-patch+json",
                )
                self._seen[dedupe] = (ev_ns, ev_name, count + 1, first)
                self._seen.move_to_end(dedupe)
                self.aggregated += 1
                return
            created = await self._api.request(
                "POST",
                f"/api/v1/namespaces/{event_ns}/events",
                body=self._body(kind, ns, name, event_ns, reason, message, type, now, uid),
            )
            self._remember(dedupe, (event_ns, created["metadata"]["name"], 1, self._mono()))
            self.recorded += 1
        except ColoError as e:
            # Best effort (see the module docstring); a recreated aggregate starts afresh.
            self._seen.pop(dedupe, None)
            self.dropped += 1
            log.warning("event %s %s on %s %s dropped: %s", type, reason, kind, key, e)

    def _remember(self, dedupe: tuple[str, ...], entry: tuple[str, str, int, float]) -> None:
        self._seen[dedupe] = entry
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)

    def _body(
        self,
        kind: str,
        ns: str,
        name: str,
        event_ns: str,
        reason: str,
        message: str,
        type: EventType,
        now: datetime,
        uid: str = "",
    ) -> dict[str, Any]:
        involved: dict[str, Any] = {"kind": kind, "name": name}
        if kind in _API_VERSIONS:
            involved["apiVersion"] = _API_VERSIONS[kind]
        if ns:
            involved["namespace"] = ns
        if uid:
            involved["uid"] = uid
        elif kind == "Node":
            involved["uid"] = name  # what the kubelet puts there, so `kubectl describe` finds it
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{name}.", "namespace": event_ns},
            "involvedObject": involved,
            "reason": reason,
            "message": message[:1024],
            "type": str(type),
            "source": {"component": self.component},
            "reportingComponent": self.component,
            "reportingInstance": self.instance or self.component,
            "firstTimestamp": rfc3339(now),
            "lastTimestamp": rfc3339(now),
            "count": 1,
        }
