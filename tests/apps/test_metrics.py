"""Prometheus metrics of colo-batch, colo-coordinator and colo-extender: the collectors
read the counters the processes keep, and `/metrics` serves them in the text format."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from test_batch_scheduler import Rig, node, pod

from colo.apps.metrics import (
    BatchCollector,
    LedgerCollector,
    registry_of,
    serve_metrics,
    start_metrics,
)
from colo.cli.main import main
from colo.coord.ledger import Ledger
from colo.core.errors import InvalidInput
from colo.core.reservation import Item

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_batch_metrics_follow_the_schedulers_counters() -> None:
    rig = Rig(node("a"), node("b"))
    for i in range(10):
        rig.add(pod(f"p{i}"))
    registry = registry_of(BatchCollector(rig.loop, rig.sched.times), LedgerCollector(rig.ledger))
    before = samples(generate_latest(registry).decode())
    assert before[("colo_batch_pending_pods", ())] == 10
    assert before[("colo_batch_cycles_total", ())] == 0
    rig.cycle()  # 8 fit (two 4-cpu nodes, 1 cpu each), 2 are reported unschedulable
    after = samples(generate_latest(registry).decode())
    assert after[("colo_batch_cycles_total", ())] == 1
    assert after[("colo_batch_placed_pods_total", ())] == 8
    assert after[("colo_batch_bound_pods_total", ())] == 8
    assert after[("colo_batch_unschedulable_reports_total", ())] == 2
    assert after[("colo_batch_nodes", ())] == 2
    assert (
        after[("colo_batch_cycle_seconds_total", ())]
        >= after[("colo_batch_last_cycle_seconds", ())]
        > 0
    )
    # the hosted coordinator's view of the same cycle
    assert after[("colo_coordinator_reservations_total", (("result", "granted"),))] == 8
    assert after[("colo_coordinator_pods", (("state", "reserved"),))] == 8


def test_ledger_metrics_count_grants_conflicts_and_expiries() -> None:
    ledger = Ledger(ttl_s=10)
    ledger.update_node("a", {"cpu": 1000, "pods": 10})
    replies = ledger.reserve(
        [Item("ns/x", "a", {"cpu": 800}, 0), Item("ns/y", "a", {"cpu": 800}, 0)], 0.0
    )
    assert [r.ok for r in replies] == [True, False]
    ledger.pod_bound("ns/z", "a", {"cpu": 100})
    got = samples(generate_latest(registry_of(LedgerCollector(ledger))).decode())
    assert got[("colo_coordinator_reservations_total", (("result", "granted"),))] == 1
    assert got[("colo_coordinator_reservations_total", (("result", "conflict"),))] == 1
    assert got[("colo_coordinator_pods", (("state", "bound"),))] == 1
    assert got[("colo_coordinator_pods", (("state", "reserved"),))] == 1
    assert got[("colo_coordinator_nodes", ())] == 1
    ledger.expire(11.0)
    got = samples(generate_latest(registry_of(LedgerCollector(ledger))).decode())
    assert got[("colo_coordinator_reservations_expired_total", ())] == 1
    assert got[("colo_coordinator_pods", (("state", "reserved"),))] == 0


def test_metrics_are_served_over_http_on_the_port_asked_for() -> None:
    ledger = Ledger()
    ledger.update_node("a", {"cpu": 1000})

    async def body() -> None:
        runner, port = await start_metrics(registry_of(LedgerCollector(ledger)), "127.0.0.1:0")
        try:
            assert port > 0
            async with aiohttp.ClientSession() as s:
                async with s.get(f"http://127.0.0.1:{port}/metrics") as r:
                    assert r.status == 200
                    assert r.headers["Content-Type"].startswith("text/plain; version=")
                    got = samples(await r.text())
                async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                    assert (r.status, await r.text()) == (200, "ok\n")
            assert got[("colo_coordinator_nodes", ())] == 1
        finally:
            await runner.cleanup()

    asyncio.run(body())


def test_a_port_in_use_is_an_os_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        async def body() -> None:
            with pytest.raises(OSError):
                await start_metrics(registry_of(), f"127.0.0.1:{port}")

        asyncio.run(body())


def test_a_process_whose_metrics_port_is_taken_is_told_which_flag_and_process() -> None:
    """What every process's --metrics-listen goes through: a usage error (exit 2 from the
    CLI) naming the process, the flag and the address, not an OSError traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"

        async def body() -> None:
            with pytest.raises(InvalidInput) as refused:
                await serve_metrics(address, [], process="colo-cron")
            said = str(refused.value)
            assert "colo-cron" in said and "--metrics-listen" in said and address in said
            assert "cannot listen there" in said

        asyncio.run(body())


@pytest.mark.parametrize("command", [["batch", "serve"], ["coord", "serve"]])
def test_the_cli_refuses_a_metrics_address_without_a_port(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--metrics-listen", "localhost"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--metrics-listen: expected HOST:PORT" in err and "'localhost'" in err
