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
