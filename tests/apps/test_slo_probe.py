"""colo-agent's bad input and SLO probes: malformed `colo.io/*` on pods, probe answers,
probes that time out (unknown, never healthy), a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from aiohttp import web

from colo.apps.protect import (
    SLO_PROBE_ANNOTATION,
    SLO_TARGET_ANNOTATION,
    Probe,
    SloProbes,
    judge,
    lenient_pod,
    probes_of,
)
from colo.core.objects import Pod
from colo.core.qos import QoSTier


def raw_pod(labels: dict[str, str] | None = None, **annotations: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "web", "namespace": "shop", "uid": "u1", "resourceVersion": "7",
            "labels": labels or {}, "annotations": annotations,
        },
        "spec": {
            "nodeName": "n1",
            "containers": [
                {"name": "app", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}
            ],
        },
        "status": {"phase": "Running"},
    }  # fmt: skip


def test_a_bad_qos_label_is_read_by_the_pods_qos_class_and_said() -> None:
    pod, why = lenient_pod(raw_pod({"colo.io/qos": "gold"}))
    assert pod is not None and pod.tier is QoSTier.LS  # Burstable → LS
    assert why is not None
    assert "colo.io/qos='gold'" in why and "LSE, LSR, LS, BE" in why and "Burstable" in why
    good, none = lenient_pod(raw_pod({"colo.io/qos": "LSR"}))
    assert good is not None and good.tier is QoSTier.LSR and none is None
    broken = raw_pod({"colo.io/qos": "gold"})
    broken["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "lots"
    pod, why = lenient_pod(broken)
    assert pod is None and why is not None and "cpu" in why


def test_probe_annotations_are_checked() -> None:
    def pod(**ann: str) -> Pod:
        p, _ = lenient_pod(raw_pod(**ann))
        assert p is not None
        return p

    ok = pod(**{SLO_PROBE_ANNOTATION: "http://127.0.0.1:8080/slo", SLO_TARGET_ANNOTATION: "20"})
    bad_url = pod(**{SLO_PROBE_ANNOTATION: "127.0.0.1:8080"})
    bad_target = pod(**{SLO_PROBE_ANNOTATION: "http://x/slo", SLO_TARGET_ANNOTATION: "-3"})
    probes, bad = probes_of([ok, bad_url, bad_target])
    assert probes == [Probe("shop/web", "http://127.0.0.1:8080/slo", 20.0),
                      Probe("shop/web", "http://x/slo", None)]  # fmt: skip
    assert len(bad) == 2
    assert SLO_PROBE_ANNOTATION in bad[0][1] and "http(s) URL" in bad[0][1]
    assert SLO_TARGET_ANNOTATION in bad[1][1] and "milliseconds" in bad[1][1]


@pytest.mark.parametrize(
    ("status", "body", "target", "want"),
    [
        (200, "", None, 0.0),
        (200, '{"ok": true}', None, 0.0),
        (200, '{"ok": false}', None, 1.0),
        (200, "12.5", 20.0, 0.0),
        (200, '{"latency_ms": 30}', 20.0, 1.0),
        (200, '{"latency_ms": 30}', None, 0.0),
        (503, "", None, 1.0),
        (200, "<html>", None, math.nan),
        (200, '{"something": 1}', 20.0, math.nan),
    ],
)
def test_judge(status: int, body: str, target: float | None, want: float) -> None:
    got = judge(status, body, target)
    assert (math.isnan(got) and math.isnan(want)) or got == want


def test_probes_over_http_timeouts_are_unknown() -> None:
    async def main() -> tuple[float, float, float, dict[str, float]]:
        async def fast(_: web.Request) -> web.Response:
            return web.json_response({"latency_ms": 3})

        async def slow_answer(_: web.Request) -> web.Response:
            return web.json_response({"latency_ms": 80})

        async def hang(_: web.Request) -> web.Response:
            await asyncio.sleep(1)
            return web.Response(text="late")

        app = web.Application()
        app.router.add_get("/fast", fast)
        app.router.add_get("/slow", slow_answer)
        app.router.add_get("/hang", hang)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        probes = SloProbes(timeout_s=0.3)
        try:
            healthy = await probes.run([Probe("a/fast", f"{base}/fast", 10.0)])
            failing = await probes.run(
                [Probe("a/fast", f"{base}/fast", 10.0), Probe("a/slow", f"{base}/slow", 10.0)]
            )
            unknown = await probes.run([Probe("a/hang", f"{base}/hang", 10.0)])
            last = dict(probes.last)
        finally:
            await runner.cleanup()
        return healthy, failing, unknown, last

    healthy, failing, unknown, last = asyncio.run(main())
    assert healthy == 0.0 and failing == 1.0
    assert math.isnan(unknown) and math.isnan(last["a/hang"])
    nothing = asyncio.run(SloProbes().run([]))
    assert math.isnan(nothing)
    refused = asyncio.run(SloProbes(0.3).run([Probe("a/x", "http://127.0.0.1:1/none", None)]))
    assert math.isnan(refused)
