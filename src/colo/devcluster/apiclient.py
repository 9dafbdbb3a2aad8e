"""A minimal JSON-over-HTTPS client for the dev cluster's API server (stdlib only).

Enough to create nodes, list them, and let tests create Jobs: `request()` returns the
decoded body of a 2xx reply and raises `ApiError` otherwise. Each thread keeps its own
keep-alive connection, so one client can be shared by a thread pool.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from colo.core.errors import InfrastructureError

#: HTTP statuses worth retrying: the server is busy or briefly unavailable.
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ApiError(InfrastructureError):
    """A non-2xx reply; `status` is the HTTP code, `reason` the Status object's reason."""

    def __init__(self, method: str, path: str, status: int, reason: str, message: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status} {reason}: {message}")
        self.status = status
        self.reason = reason


class ApiClient:
    """Talks to ``https://127.0.0.1:PORT`` with a bearer token.

    `ca_file` verifies the server certificate; without it, verification is off (only for
    readiness probes before the API server has written its certificate).
    """

    def __init__(
        self, server: str, token: str, *, ca_file: Path | None, timeout_s: float = 30.0
    ) -> None:
        parts = urlsplit(server)
        if parts.scheme != "https" or parts.hostname is None or parts.port is None:
            raise ValueError(f"server must be https://HOST:PORT, got {server!r}")
        self.server = server
        self._host = parts.hostname
        self._port = parts.port
        self._token = token
        self._timeout_s = timeout_s
        if ca_file is None:
            self._ssl = ssl._create_unverified_context()
        else:
            self._ssl = ssl.create_default_context(cafile=str(ca_file))
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[http.client.HTTPSConnection] = []

    def _connection(self) -> http.client.HTTPSConnection:
        conn: http.client.HTTPSConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(
                self._host, self._port, context=self._ssl, timeout=self._timeout_s
            )
            self._local.conn = conn
            with self._lock:
                self._open.append(conn)
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        retries: int = 3,
    ) -> Any:
        """Send one request; return the decoded JSON body (or the text, if not JSON).

        Retries connection errors and 429/5xx up to `retries` times with a short backoff.
        """
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        attempt = 0
        while True:
            attempt += 1
            try:
                conn = self._connection()
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                if attempt > retries:
                    raise InfrastructureError(f"{method} {path} on {self.server}: {exc}") from exc
                time.sleep(0.2 * attempt)
                continue
            if 200 <= status < 300:
                return _decode(raw)
            if status in _RETRY_STATUSES and attempt <= retries:
                time.sleep(0.2 * attempt)
                continue
            decoded = _decode(raw)
            if isinstance(decoded, dict):
                reason = str(decoded.get("reason", ""))
                message = str(decoded.get("message", ""))
            else:
                reason, message = "", str(decoded)[:500]
            raise ApiError(method, path, status, reason, message)

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            conn.close()


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
