"""A tiny aiohttp client for the API server: JSON requests and watch streams.

Errors are translated here, at the edge, into colo's hierarchy:
401/403 -> Permanent, 404 -> NotFound, 409 -> Conflict, 410 -> Expired,
429/5xx -> Retryable(delay from Retry-After), connection faults -> Retryable.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from colo.core.errors import Conflict, NotFound, Permanent, Retryable


class Expired(Retryable):
    """410 Gone: the requested resourceVersion is too old; relist."""

    def __init__(self, message: str) -> None:
        super().__init__(message, delay_s=0.0)


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
        return Retryable(f"{url}: server busy ({status}): {text}", delay_s=_retry_after(headers))
    return Permanent(f"{url}: request failed ({status}): {text}")


class Transport:
    """Base URL + bearer token + TLS; one aiohttp session. Use `async with` or `close()`."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        ca_file: str | None = None,
        insecure_skip_verify: bool = False,
        timeout_s: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._ssl: ssl.SSLContext | bool
        if insecure_skip_verify:
            self._ssl = False
        else:
            self._ssl = ssl.create_default_context(cafile=ca_file)
        self._timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    def _sess(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers)
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
    ) -> Any:
        """Send one request; return the decoded JSON body."""
        url = self.base_url + path
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type} if data is not None else None
        try:
            async with self._sess().request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                ssl=self._ssl,
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            ) as resp:
                text = await resp.text()
                if resp.status >= 300:
                    raise error_for_status(resp.status, url, text, resp.headers)
                return json.loads(text) if text else None
        except (aiohttp.ClientConnectionError, TimeoutError) as e:
            raise Retryable(f"cannot reach the API server at {url}: {e}", delay_s=1.0) from e

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, body: Any) -> Any:
        return await self.request("POST", path, body=body)

    async def patch(self, path: str, body: Any, *, kind: str = "merge") -> Any:
        ct = {
            "merge": "application/merge-patch+json",
            "strategic": "application/strategic-merge-patch+json",
        }[kind]
        return await self.request("PATCH", path, body=body, content_type=ct)

    async def stream(
        self, path: str, params: Mapping[str, str] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield one decoded JSON object per line of a watch stream."""
        url = self.base_url + path
        try:
            async with self._sess().get(
                url,
                params=params,
                ssl=self._ssl,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._timeout_s),
            ) as resp:
                if resp.status >= 300:
                    raise error_for_status(resp.status, url, await resp.text(), resp.headers)
                async for line in resp.content:
                    if line.strip():
                        yield json.loads(line)
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as e:
            raise Retryable(f"watch on the API server at {url} broke: {e}", delay_s=1.0) from e
