"""colo-webhook's HTTP layer: answers, 400s for garbage, and the CLI's certificate errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from colo.apps.webhook import STATS_KEY, make_app
from colo.cli.main import main


def test_mutate_answers_reviews_and_rejects_garbage_with_400() -> None:
    async def body() -> None:
        app = make_app()
        async with TestClient(TestServer(app)) as client:
            review = {
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "request": {
                    "uid": "x",
                    "kind": {"kind": "Pod"},
                    "operation": "CREATE",
                    "object": {"metadata": {"name": "p", "labels": {"colo.io/qos": "LS"}}},
                },
            }
            r = await client.post("/mutate", json=review)
            assert r.status == 200 and (await r.json())["response"]["allowed"] is True
            r = await client.post("/mutate", data=b"{not json")
            assert r.status == 400 and "colo-webhook" in await r.text()
            r = await client.post("/mutate", json={"kind": "Pod"})
            assert r.status == 400 and "AdmissionReview" in await r.text()
            assert (await client.get("/healthz")).status == 200
        assert app[STATS_KEY] == {"requests": 3, "mutated": 0, "denied": 0, "bad_requests": 2}

    asyncio.run(body())


def test_serve_with_a_missing_certificate_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["webhook", "serve", "--cert", str(tmp_path / "c"), "--key", str(tmp_path / "k")])
    assert code == 2
    assert "--cert/--key: cannot load the TLS certificate" in capsys.readouterr().err


def test_a_renewed_certificate_is_served_to_new_connections_without_a_restart(
    tmp_path: Path,
) -> None:
    """cert-manager renews the Secret in place: the reloader picks the new pair up, and a
    half-written renewal keeps the old one until it loads."""
    import os
    import ssl

    from colo.apps.webhook import start
    from colo.devcluster.credentials import write_serving_cert
    from colo.devcluster.processes import free_ports

    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    write_serving_cert(cert, key)
    port = free_ports(1)[0]

    async def served() -> bytes:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        await writer.wait_closed()
        return bytes(der)

    async def body() -> None:
        runner, reloader = await start("127.0.0.1", port, cert=cert, key=key)
        try:
            first = await served()
            assert reloader.check() is False  # nothing changed
            renewed = tmp_path / "renewed"
            renewed.mkdir()
            write_serving_cert(renewed / "tls.crt", renewed / "tls.key")
            # half-written: the new certificate beside a key that is not there yet
            os.replace(renewed / "tls.crt", cert)
            key.write_text("")
            assert reloader.check() is False
            assert reloader.failures == 1
            assert await served() == first
            os.replace(renewed / "tls.key", key)
            assert reloader.check() is True
            assert reloader.reloads == 1
            assert await served() not in (first, b"")
        finally:
            await runner.cleanup()

    asyncio.run(body())
