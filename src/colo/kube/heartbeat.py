"""The agent's heartbeat: one Lease per node, like the kubelet's node leases.

`colo-system/colo-agent-<node>` carries `holderIdentity: <node>` and a `renewTime`
the agent bumps every heartbeat interval; `list_heartbeats` reads them all at once for
the monitor that zeroes silent nodes (see `colo.agent.report.HeartbeatMonitor`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from colo.core.errors import Conflict, NotFound
from colo.kube.times import micro_time
from colo.ports.api import Api

NAMESPACE = "colo-system"
LABEL = "colo.io/agent-heartbeat"
PREFIX = "colo-agent-"


async def ensure_namespace(api: Api, namespace: str = NAMESPACE) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    with contextlib.suppress(Conflict):  # already there
        await api.request("POST", "/api/v1/namespaces", body=body)


class NodeHeartbeat:
    def __init__(
        self,
        api: Api,
        node: str,
        *,
        namespace: str = NAMESPACE,
        interval_s: float = 10.0,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._api = api
        self.node = node
        self._ns = namespace
        self._path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self._interval_s = interval_s
        self._wall = wall
        self.renewals = 0

    def _body(self) -> dict[str, Any]:
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": PREFIX + self.node,
                "namespace": self._ns,
                "labels": {LABEL: "true"},
            },
            "spec": {
                "holderIdentity": self.node,
                "leaseDurationSeconds": max(1, round(self._interval_s * 4)),
                "renewTime": micro_time(self._wall()),
            },
        }

    async def renew(self, annotations: Mapping[str, str] | None = None) -> None:
        """Bump renewTime (a merge patch: no read, no conflict); create the Lease if missing.

        `annotations` ride along (the agent's latest reclaim explanation).
        """
        patch: dict[str, Any] = {"spec": {"renewTime": micro_time(self._wall())}}
        if annotations:
            patch["metadata"] = {"annotations": dict(annotations)}
        try:
            await self._api.request(
                "PATCH",
                f"{self._path}/{PREFIX}{self.node}",
                body=patch,
                content_type="application/merge-patch+json",
            )
        except NotFound:
            body = self._body()
            if annotations:
                body["metadata"]["annotations"] = dict(annotations)
            try:
                await self._api.request("POST", self._path, body=body)
            except NotFound:
                await ensure_namespace(self._api, self._ns)
                await self._api.request("POST", self._path, body=body)
        self.renewals += 1


async def read_heartbeat(api: Api, node: str, namespace: str = NAMESPACE) -> dict[str, Any] | None:
    """The node's heartbeat Lease, or None when its agent never wrote one."""
    try:
        got: dict[str, Any] = await api.request(
            "GET", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{PREFIX}{node}"
        )
    except NotFound:
        return None
    return got


async def list_heartbeats(api: Api, namespace: str = NAMESPACE) -> dict[str, str]:
    """{node: renewTime} of every agent heartbeat Lease."""
    try:
        got = await api.request(
            "GET",
            f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases",
            params={"labelSelector": f"{LABEL}=true"},
        )
    except NotFound:
        return {}
    out: dict[str, str] = {}
    for lease in got.get("items") or []:
        spec = lease.get("spec") or {}
        node = spec.get("holderIdentity")
        if node:
            out[str(node)] = str(spec.get("renewTime") or "")
    return out
