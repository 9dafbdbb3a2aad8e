"""`NodeStatusPatcher`: extended resources in a node's status (capacity and allocatable).

A JSON merge patch on `nodes/NAME/status` touches only the keys it names, so the
kubelet's (or kwok's) own cpu/memory/pods stay as they are; `None` removes a resource.
Values are integers in the resource's unit (`colo.io/batch-cpu` in millicores,
`colo.io/batch-memory` in bytes), written as Kubernetes quantities.
"""

from __future__ import annotations

from collections.abc import Mapping

from colo.core.errors import InvalidInput
from colo.ports.api import Api


def _quantities(values: Mapping[str, int | None], field: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name, v in values.items():
        if "/" not in name or name.startswith("kubernetes.io/"):
            raise InvalidInput(
                "only extended resources (domain/name) may be patched",
                obj="node status patch",
                field=f"{field}.{name}",
            )
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise InvalidInput(
                "must be a non-negative integer",
                obj="node status patch",
                field=f"{field}.{name}",
                value=v,
            )
        out[name] = None if v is None else str(v)
    return out


def status_patch(
    capacity: Mapping[str, int | None], allocatable: Mapping[str, int | None]
) -> dict[str, object]:
    return {
        "status": {
            "capacity": _quantities(capacity, "capacity"),
            "allocatable": _quantities(allocatable, "allocatable"),
        }
    }


class KubeNodeStatusPatcher:
    def __init__(self, api: Api) -> None:
        self._api = api
        self.patches = 0

    async def patch_extended_resources(
        self,
        node_name: str,
        *,
        capacity: Mapping[str, int],
        allocatable: Mapping[str, int],
    ) -> None:
        await self._patch(node_name, status_patch(capacity, allocatable))

    async def remove_extended_resources(self, node_name: str, names: list[str]) -> None:
        gone: dict[str, int | None] = dict.fromkeys(names)
        await self._patch(node_name, status_patch(gone, gone))

    async def _patch(self, node_name: str, body: dict[str, object]) -> None:
        await self._api.request(
            "PATCH",
            f"/api/v1/nodes/{node_name}/status",
            body=body,
            content_type="application/merge-patch+json",
        )
        self.patches += 1
