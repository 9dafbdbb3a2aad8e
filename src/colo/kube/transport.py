"""A tiny aiohttp client for the API server: JSON requests and watch streams.

Errors are translated here, at the edge, into colo's hierarchy:
401/403 -> Permanent, 404 -> NotFound, 409 -> Conflict, 410 -> Expired,
429/5xx -> Retryable(delay from Retry-After), connection faults -> Retryable.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
import msgspec

from colo.core.errors import Conflict, NotFound, Permanent, Retryable
from colo.core.ratelimit import RateLimiter
from colo.kube.config import ClientConfig
from colo.kube.shapes import PROTOBUF_MAGIC
from colo.ports.api import BodyShape


class Expired(Retryable):
    """410 Gone: the requested resourceVersion is too old; relist."""

    def __init__(self, message: str) -> None:
        super().__init__(message, delay_s=0.0)


class ServerBusy(Retryable):
    """429 or 5xx: the server asked us to come back after `delay_s` (its Retry-After)."""


def _retry_after(headers: Mapping[str, str], default_s: float = 1.0) -> float:
    try:
        return max(0.0, float(headers.get("Retry-After", default_s)))
    except ValueError:
        return default_s


def error_for_status(status: int, url: str, body: str, headers: Mapping[str, str]) -> Exception:
    """The colo error for a non-2xx response from `url`."""
    text = body[:300]
    if status in (401, 403):
        return Permanent(f"the API server at {url} rejected the credentials ({status}): {text}")
    if status == 404:
        return NotFound(f"{url}: not found: {text}")
    if status == 409:
        return Conflict(f"{url}: conflict: {text}")
    if status == 410:
        return Expired(f"{url}: resource version expired: {text}")
    if status == 429 or status >= 500:
        return ServerBusy(f"{url}: server busy ({status}): {text}", delay_s=_retry_after(headers))
    return Permanent(f"{url}: request failed ({status}): {text}")


def _error_text(body: bytes) -> str:
    """An error body as text: JSON as sent; a Protobuf Status (the answer to a request
    that accepted Protobuf) by its reason and message."""
    if body[:4] == PROTOBUF_MAGIC:
        from colo.kube.protolist import status_text

        return status_text(body)
    return body.decode("utf-8", "replace")


def _decode(body: bytes, url: str, parse: Callable[[bytes], Any] = json.loads) -> Any:
    """JSON from the server; garbage (a proxy's HTML page, a cut line) is retryable."""
    if not body.strip():
        return None
    try:
        return parse(body)
    except (ValueError, msgspec.DecodeError) as e:
        if body[:4] == PROTOBUF_MAGIC:
            what = f"not a Protobuf list colo can read ({e})"
        else:
            what = "not JSON"
        raise Retryable(f"{url}: the response is {what}: {body[:120]!r}", delay_s=1.0) from e


class Transport:
    """Base URL + credentials + TLS + an optional client-side rate limit; one aiohttp session.

    Use `async with` or `close()`. `qps`/`burst` work like client-go's `QPS`/`Burst`
    (token bucket; None = unlimited); the API server's own flow control still applies.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        ca_file: str | None = None,
        insecure_skip_verify: bool = False,
        timeout_s: float = 30.0,
        qps: float | None = None,
        burst: int = 1,
        config: ClientConfig | None = None,
        user_agent: str = "colo",
        token_refresh_s: float = 60.0,
    ) -> None:
        if config is None:
            config = ClientConfig(
                server=base_url,
                token=token,
                ca_file=ca_file,
                insecure_skip_verify=insecure_skip_verify,
            )
        self.config = config
        self.base_url = config.server.rstrip("/")
        self._ssl = config.ssl_context()
        self._timeout_s = timeout_s
        self._static_headers = {"Accept": "application/json", "User-Agent": user_agent}
        # A token file (projected service-account tokens rotate) is re-read at most this
        # often, like client-go's cached file token source, not on every request.
        self._token_refresh_s = token_refresh_s
        self._token = config.token
        self._token_read_at = -math.inf
        self._qps, self._burst = qps, max(1, burst)
        self._limiter: RateLimiter | None = None
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0

    @classmethod
    def from_config(cls, config: ClientConfig, **kwargs: Any) -> Transport:
        return cls(config.server, config=config, **kwargs)

    def _bearer(self) -> str | None:
        if self.config.token_file:
            now = time.monotonic()
            if now - self._token_read_at >= self._token_refresh_s:
                self._token = self.config.bearer_token()
                self._token_read_at = now
        return self._token

    def _headers(self) -> dict[str, str]:
        h = dict(self._static_headers)
        token = self._bearer()
        if token:
            h["Authorization"] = f"Bearer {token}"
        return h

    async def _wait_turn(self) -> None:
        self.requests += 1
        if not self._qps:
            return
        now = asyncio.get_running_loop().time()
        if self._limiter is None:  # the bucket starts full at the first request
            self._limiter = RateLimiter(self._qps, self._burst, now)
        at = self._limiter.reserve(now)
        if at > now:
            await asyncio.sleep(at - now)

    def _sess(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ssl=self._ssl)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        shape: BodyShape | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON body (a list page in `shape`, asked
        for in the shape's `list_accept`: pods and nodes in Protobuf, `colo.kube.protolist`)."""
        url = self.base_url + path
        data = None if body is None else json.dumps(body)
        headers = self._headers()
        if data is not None:
            headers["Content-Type"] = content_type
        if shape is not None:
            headers["Accept"] = shape.list_accept
        await self._wait_turn()
        try:
            async with self._sess().request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            ) as resp:
                body = await resp.read()
                if resp.status >= 300:
                    raise error_for_status(resp.status, url, _error_text(body), resp.headers)
        except (aiohttp.ClientConnectionError, TimeoutError) as e:
            raise Retryable(f"cannot reach the API server at {url}: {e}", delay_s=1.0) from e
        return _decode(body, url, json.loads if shape is None else shape.decode_list)

    async def get(
        self, path: str, params: Mapping[str, str] | None = None, *, shape: BodyShape | None = None
    ) -> Any:
        return await self.request("GET", path, params=params, shape=shape)

    async def post(self, path: str, body: Any) -> Any:
        return await self.request("POST", path, body=body)

    async def patch(self, path: str, body: Any, *, kind: str = "merge") -> Any:
        ct = {
            "merge": "application/merge-patch+json",
            "strategic": "application/strategic-merge-patch+json",
        }[kind]
        return await self.request("PATCH", path, body=body, content_type=ct)

    async def stream(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        read_timeout_s: float | None = None,
        shape: BodyShape | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield one decoded JSON object per line of a watch stream (objects in `shape`).

        `read_timeout_s` bounds the silence between two lines: with bookmarks on, the
        server writes at least once a minute, so a longer silence is a dead connection.
        """
        url = self.base_url + path
        await self._wait_turn()
        try:
            async with self._sess().get(
                url,
                params=params,
                headers=self._headers(),
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self._timeout_s, sock_read=read_timeout_s
                ),
            ) as resp:
                if resp.status >= 300:
                    raise error_for_status(resp.status, url, await resp.text(), resp.headers)
                parse = json.loads if shape is None else shape.decode_event
                async for line in resp.content:
                    if line.strip():
                        yield _decode(line, url, parse)
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as e:
            raise Retryable(f"watch on the API server at {url} broke: {e}", delay_s=1.0) from e
