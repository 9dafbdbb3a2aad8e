"""colo-cron's driver (`colo.apps.cron.CronController`) keeps at most `write_concurrency`
API writes in flight: a wave's burst waits its turn, in order, and every write is still
made and its answer still reaches the loop. `colo cron serve --write-concurrency` sets it.

The API server is a fake through the driver's two seams (`Api` and `EventRecorder`, one
object here, as both are the API server in production); tests/e2e/test_cron_controller.py
runs the process against a real one.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from colo.apps.cron import CronCollector, CronController, CronServeOptions
from colo.apps.metrics import registry_of
from colo.cli.main import main
from colo.core.changes import ChangeKind, EventType
from colo.core.errors import Conflict, Permanent
from colo.cron.loop import CronOptions

T0 = datetime(2026, 12, 4, 23, 0, tzinfo=UTC).timestamp()
FIRE = T0 + 300.0  # when "*/5 * * * *" fires first after T0
NOW = FIRE - 5.0  # within the lead: every CronJob's run is made at once


def rfc3339(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cronjob(name: str, schedule: str = "*/5 * * * *") -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                     "creationTimestamp": rfc3339(T0)},
        "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}],
        }}}}},
    }  # fmt: skip


class FakeApiServer:
    """Answers colo-cron's writes as the API server would (a create returns the object with
    a uid), `turns` event-loop turns after each arrives, or once `gate` is set; counts the
    writes in flight and remembers the most at once. `fail[path-or-key]` answers that
    create with the error instead."""

    def __init__(self, *, turns: int = 3, gate: asyncio.Event | None = None) -> None:
        self.turns = turns
        self.gate = gate
        self.in_flight = 0
        self.peak = 0
        self.writes: list[tuple[str, str]] = []  # (method, path or event reason), in order
        self.fail: dict[str, Exception] = {}
        self._uids = itertools.count(1)

    async def _answer(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            for _ in range(self.turns):
                await asyncio.sleep(0)
        finally:
            self.in_flight -= 1

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        name = body["metadata"]["name"] if method == "POST" else path
        self.writes.append((method, f"{path}/{name}" if method == "POST" else path))
        await self._answer()
        if name in self.fail:
            raise self.fail.pop(name)
        if method != "POST":
            return {}
        made = copy.deepcopy(body)
        made["metadata"]["uid"] = f"uid-made-{next(self._uids)}"
        made["metadata"]["creationTimestamp"] = rfc3339(NOW)
        return made

    async def record(
        self, *, kind: str, key: str, reason: str, message: str,
        type: EventType = EventType.NORMAL, uid: str = "",
    ) -> None:  # fmt: skip
        self.writes.append(("EVENT", f"{key} {reason}"))
        await self._answer()


def controller(api: FakeApiServer, write_concurrency: int) -> CronController:
    return CronController(
        api, api, options=CronOptions(lead_s=10.0), clock=lambda: NOW,
        write_concurrency=write_concurrency,
    )  # fmt: skip


def posted(api: FakeApiServer, resource: str) -> list[str]:
    return [path.rsplit("/", 1)[1] for method, path in api.writes
            if method == "POST" and f"/{resource}/" in path]  # fmt: skip


def see_cronjobs(c: CronController, count: int) -> list[str]:
    names = [f"c{i:03d}" for i in range(count)]
    for name in names:
        c.on_raw("cronjobs", ChangeKind.ADDED, cronjob(name))
    return names


@pytest.mark.parametrize("limit", [1, 8, 64])
def test_a_wave_never_has_more_writes_in_flight_than_the_limit_and_all_are_made(
    limit: int,
) -> None:
    async def body() -> None:
        api = FakeApiServer()
        c = controller(api, limit)
        names = see_cronjobs(c, 150)
        await c.drain()
        assert api.peak == limit  # bounded, and the bound is used
        assert c.writes_in_flight == 0 and api.in_flight == 0
        jobs = [f"{name}-{int(FIRE // 60)}" for name in names]
        assert posted(api, "jobs") == jobs  # in the order the loop asked
        assert sorted(posted(api, "pods")) == [f"{job}-0" for job in jobs]
        assert c.loop.stats.runs_created == c.loop.stats.runs_ahead == 150
        assert c.loop.stats.pods_created == 150
        assert sorted(c.loop.jobs) == [f"ns/{job}" for job in jobs]  # each answer went in
        created = [w for m, w in api.writes if m == "EVENT" and w.endswith("SuccessfulCreate")]
        assert len(created) == 150

    asyncio.run(body())


def test_failed_writes_are_still_reported_to_the_loop() -> None:
    async def body() -> None:
        api = FakeApiServer()
        job = f"-{int(FIRE // 60)}"
        api.fail["c001" + job] = Conflict("jobs.batch c001 already exists")
        api.fail["c002" + job] = Permanent("admission webhook denied the request")
        c = controller(api, 4)
        see_cronjobs(c, 10)
        await c.drain()
        assert api.peak == 4
        assert c.loop.stats.create_failures == 1  # AlreadyExists counts as made
        assert c.loop.stats.runs_created == 9
        assert "ns/c002" + job not in c.loop.jobs
        failed = [w for m, w in api.writes if m == "EVENT" and w.endswith("FailedCreate")]
        assert failed == ["ns/c002 FailedCreate"]

    asyncio.run(body())


def test_the_metric_counts_the_writes_in_flight() -> None:
    def in_flight(c: CronController) -> float:
        text = generate_latest(registry_of(CronCollector(c))).decode()
        (family,) = (f for f in text_string_to_metric_families(text)
                     if f.name == "colo_cron_writes_in_flight")  # fmt: skip
        return float(family.samples[0].value)

    async def body() -> None:
        gate = asyncio.Event()
        api = FakeApiServer(gate=gate)
        c = controller(api, 5)
        see_cronjobs(c, 20)
        for _ in range(10):
            await asyncio.sleep(0)
        assert in_flight(c) == 5 == api.in_flight
        gate.set()
        await c.drain()
        assert in_flight(c) == 0

    asyncio.run(body())


def test_a_limit_below_one_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match="write_concurrency must be at least 1, got 0"):
        controller(FakeApiServer(), 0)


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_the_cli_refuses_a_write_concurrency_below_one(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["cron", "serve", "--write-concurrency", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --write-concurrency: expected a whole number >= 1" in err


@pytest.mark.parametrize(("argv", "expected"), [([], 64), (["--write-concurrency", "16"], 16)])
def test_the_cli_passes_write_concurrency_to_the_process(
    argv: list[str], expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[CronServeOptions] = []

    async def serve(config: object, options: CronServeOptions) -> None:
        seen.append(options)

    monkeypatch.setattr("colo.apps.cron.serve", serve)
    monkeypatch.setattr("colo.kube.config.load_config", lambda *a, **kw: object())
    assert main(["cron", "serve", *argv]) == 0
    (options,) = seen
    assert options.write_concurrency == expected
    assert CronServeOptions().write_concurrency == 64  # the process's default is the CLI's
