"""colo-webhook: an HTTPS server for the API server's mutating admission calls.

    POST /mutate   AdmissionReview v1 in, AdmissionReview v1 out (colo.webhook.mutate)
    GET  /healthz  "ok"

A body that is not an AdmissionReview gets HTTP 400 with the reason (the API server then
applies the webhook's failurePolicy); a pod colo refuses gets `allowed: false` with a
message naming the field, which kubectl shows to the user.

The certificate and key are read again when their files change (cert-manager renews the
Secret in place and the kubelet swaps the mounted files): new connections get the new
certificate, without a restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import sys
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from colo.core.errors import InvalidInput
from colo.webhook.mutate import WebhookOptions, review

log = logging.getLogger(__name__)

OPTIONS_KEY = web.AppKey("options", WebhookOptions)
STATS_KEY = web.AppKey("stats", dict)


async def _mutate(request: web.Request) -> web.Response:
    stats = request.app[STATS_KEY]
    stats["requests"] += 1
    try:
        body = json.loads(await request.read())
        out = review(body, request.app[OPTIONS_KEY])
    except (ValueError, InvalidInput) as e:
        stats["bad_requests"] += 1
        return web.Response(status=400, text=f"colo-webhook: {e}\n")
    resp = out["response"]
    if not resp["allowed"]:
        stats["denied"] += 1
        log.info("denied %s: %s", resp["uid"], resp["status"]["message"])
    elif "patch" in resp:
        stats["mutated"] += 1
    return web.json_response(out)


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def make_app(options: WebhookOptions | None = None) -> web.Application:
    app = web.Application(client_max_size=8 * 2**20)
    app[OPTIONS_KEY] = options or WebhookOptions()
    app[STATS_KEY] = {"requests": 0, "mutated": 0, "denied": 0, "bad_requests": 0}
    app.router.add_post("/mutate", _mutate)
    app.router.add_get("/healthz", _healthz)
    return app


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as e:
        raise InvalidInput(
            f"cannot load the TLS certificate and key: {e}",
            obj="colo-webhook",
            field="--cert/--key",
            value=f"{cert}, {key}",
        ) from e
    return ctx


class CertificateReloader:
    """Loads the certificate and key into a serving context again when either file
    changes. A pair that does not load (a renewal caught half-written) keeps the old one
    and is tried again at the next check."""

    def __init__(self, ctx: ssl.SSLContext, cert: Path, key: Path) -> None:
        self._ctx, self._cert, self._key = ctx, cert, key
        self._seen = self._stamp()
        self.reloads = 0
        self.failures = 0

    def _stamp(self) -> tuple[tuple[int, int, int], ...] | None:
        try:
            # The kubelet swaps a mounted Secret by renaming a symlink: the inode changes.
            return tuple(
                (st.st_ino, st.st_mtime_ns, st.st_size)
                for st in (self._cert.stat(), self._key.stat())
            )
        except OSError:
            return None

    def check(self) -> bool:
        """Reload if the files changed since the last load; True when it reloaded."""
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return False
        try:
            # Tried on a spare context first: a failed load into the serving one would
            # leave it with the new certificate and the old key, and every handshake fails.
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                str(self._cert), str(self._key)
            )
            self._ctx.load_cert_chain(str(self._cert), str(self._key))
        except (OSError, ssl.SSLError) as e:
            self.failures += 1
            log.warning("colo-webhook: keeping the old certificate: %s does not load: %s",
                        self._cert, e)  # fmt: skip
            return False
        self._seen = stamp
        self.reloads += 1
        log.info("colo-webhook: reloaded the certificate from %s", self._cert)
        return True


async def start(
    host: str, port: int, *, cert: Path, key: Path, options: WebhookOptions | None = None
) -> tuple[web.AppRunner, CertificateReloader]:
    """Start serving; returns the runner (`await runner.cleanup()` stops it) and the
    reloader of its certificate."""
    runner = web.AppRunner(make_app(options), access_log=None)
    await runner.setup()
    ctx = tls_context(cert, key)
    site = web.TCPSite(runner, host, port, ssl_context=ctx)
    await site.start()
    return runner, CertificateReloader(ctx, cert, key)


@dataclass(frozen=True)
class WebhookServerOptions:
    """How `serve` runs colo-webhook (the CLI's flags); `mutate` is what it does to pods."""

    cert: Path  # PEM certificate (chain)
    key: Path  # PEM private key
    host: str = "127.0.0.1"
    port: int = 9443
    mutate: WebhookOptions = field(default_factory=WebhookOptions)
    reload_every_s: float = 10.0  # how often to look for a renewed certificate


async def serve(options: WebhookServerOptions) -> None:
    """The colo-webhook process: AdmissionReview over HTTPS until cancelled. It needs no
    API server (the API server calls it), so it takes no client config. Says
    "colo-webhook serving https://HOST:PORT/mutate" on stderr once it serves. Raises
    `InvalidInput` naming `--cert/--key` when they do not load.
    """
    runner, reloader = await start(
        options.host, options.port, cert=options.cert, key=options.key, options=options.mutate
    )
    print(f"colo-webhook serving https://{options.host}:{options.port}/mutate", file=sys.stderr)
    try:
        while True:
            await asyncio.sleep(options.reload_every_s)
            reloader.check()
    finally:
        await runner.cleanup()
