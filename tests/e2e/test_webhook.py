"""colo-webhook end to end: the real kube-apiserver calls `colo webhook serve` over TLS."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from e2ekit import new_namespace, pod_body, transport

from colo.core.errors import Permanent
from colo.devcluster import ClusterState
from colo.devcluster.admission import only_namespace, webhook_configuration
from colo.devcluster.credentials import write_serving_cert
from colo.devcluster.processes import free_ports
from colo.kube.transport import Transport
from colo.webhook.mutate import ORIGINAL_ANNOTATION

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`colo webhook serve` in its own process; yields (url, CA/cert file)."""
    d = tmp_path_factory.mktemp("webhook")
    cert, key = d / "tls.crt", d / "tls.key"
    write_serving_cert(cert, key)
    port = free_ports(1)[0]
    proc = subprocess.Popen(
        [sys.executable, "-m", "colo.cli.main", "webhook", "serve",
         "--cert", str(cert), "--key", str(key), "--port", str(port)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"https://127.0.0.1:{port}"

    async def healthy() -> bool:
        ctx = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession() as s:
            for _ in range(100):
                try:
                    async with s.get(f"{url}/healthz", ssl=ctx) as r:
                        return r.status == 200
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        return False

    try:
        assert asyncio.run(healthy()), "colo webhook serve did not come up"
        yield url, cert
    finally:
        proc.terminate()
        proc.wait(10)


def configuration(name: str, url: str, cert: Path, ns: str) -> dict[str, Any]:
    # only this test's namespace: the other e2e tests keep their pods as written
    return webhook_configuration(
        name, f"{url}/mutate", cert, namespace_selector=only_namespace(ns), failure_policy="Fail"
    )


def be(name: str, **res: Any) -> dict[str, Any]:
    body = pod_body(name)
    body["metadata"]["labels"]["colo.io/qos"] = "BE"
    body["spec"]["containers"][0]["resources"] = res
    return body


async def create_when_active(t: Transport, ns: str) -> dict[str, Any]:
    """The API server picks the configuration up asynchronously: retry a probe until mutated."""
    deadline = time.monotonic() + 20
    i = 0
    while True:
        i += 1
        got: dict[str, Any] = await t.post(
            f"/api/v1/namespaces/{ns}/pods", be(f"probe-{i}", requests={"cpu": "250m"})
        )
        if got["spec"].get("schedulerName") == "colo-batch" or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.3)


def test_the_api_server_mutates_offline_pods_through_colo_webhook(
    dev_cluster: ClusterState, webhook: tuple[str, Path]
) -> None:
    url, cert = webhook

    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            name = f"colo-e2e-{ns}"
            path = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
            await t.post(path, configuration(name, url, cert, ns))
            try:
                probe = await create_when_active(t, ns)
                assert probe["spec"]["schedulerName"] == "colo-batch", "webhook never called"

                got = await t.post(
                    f"/api/v1/namespaces/{ns}/pods",
                    be("job", requests={"cpu": "500m", "memory": "1Gi"}, limits={"cpu": "2"}),
                )
                res = got["spec"]["containers"][0]["resources"]
                want = {"colo.io/batch-cpu": "500", "colo.io/batch-memory": str(2**30)}
                assert res["requests"] == want and res["limits"] == want
                assert got["status"]["qosClass"] == "BestEffort"
                original = json.loads(got["metadata"]["annotations"][ORIGINAL_ANNOTATION])
                assert original["c"]["limits"] == {"cpu": "2"}

                online = pod_body("web")
                online["metadata"]["labels"]["colo.io/qos"] = "LS"
                online["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1"}}
                got = await t.post(f"/api/v1/namespaces/{ns}/pods", online)
                assert got["spec"]["containers"][0]["resources"] == {"requests": {"cpu": "1"}}
                assert got["spec"]["schedulerName"] == "default-scheduler"

                bad = be("typo")
                bad["metadata"]["labels"]["colo.io/qos"] = "batch"
                with pytest.raises(Permanent, match=r"colo: pod .*typo.*colo\.io/qos"):
                    await t.post(f"/api/v1/namespaces/{ns}/pods", bad)
            finally:
                await t.request("DELETE", f"{path}/{name}")

    asyncio.run(body())
