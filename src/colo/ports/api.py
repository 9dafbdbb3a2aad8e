"""The raw Kubernetes API, as colo's adapters use it: requests and watch streams.

`colo.kube.transport.Transport` implements both Protocols over HTTP; unit tests use
in-memory twins. Paths are API paths (`/api/v1/pods`); bodies and answers are decoded
JSON. Faults are colo errors (`colo.core.errors`), never client-library exceptions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol


class Api(Protocol):
    """What the writers need: one request, its decoded answer."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any: ...


class BodyShape(Protocol):
    """Decodes list pages and watch lines keeping only the fields a reader needs
    (`colo.kube.shapes`); a transport without it may hand out whole objects instead."""

    #: the Accept header of a list request in this shape
    list_accept: str

    def decode_list(self, body: bytes) -> Any: ...

    def decode_event(self, line: bytes) -> dict[str, Any]: ...


class WatchTransport(Protocol):
    """What an informer needs: a list (`get`) and a watch (`stream` of watch events)."""

    async def get(
        self, path: str, params: Mapping[str, str] | None = None, *, shape: BodyShape | None = None
    ) -> Any: ...

    def stream(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        read_timeout_s: float | None = None,
        shape: BodyShape | None = None,
    ) -> AsyncIterator[dict[str, Any]]: ...
