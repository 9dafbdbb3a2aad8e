"""The coordinator over real gRPC on loopback, and the generated code's freshness."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from colo.coord.ledger import InProcessCoordinator, Ledger
from colo.core.errors import Retryable
from colo.core.reservation import Item
from colo.rpc.coordinator import CoordinatorClient, CoordinatorService, serve

ROOT = Path(__file__).resolve().parents[2]
CPU = "colo.io/batch-cpu"


def test_two_clients_racing_over_grpc_get_one_grant_and_updates_apply_first() -> None:
    async def body() -> None:
        ledger = Ledger(ttl_s=30)
        ledger.update_node("a", {CPU: 4000, "pods": 110})
        server, port = await serve(CoordinatorService(ledger))
        one = CoordinatorClient(f"127.0.0.1:{port}", scheduler="colo-batch")
        two = CoordinatorClient(f"127.0.0.1:{port}", scheduler="kube-scheduler")
        try:
            got = await asyncio.gather(
                one.reserve([Item("b/p", "a", {CPU: 3000, "pods": 1})]),
                two.reserve([Item("o/q", "a", {CPU: 3000, "pods": 1}, priority=5)]),
            )
            oks = [r[0].ok for r in got]
            assert sorted(oks) == [False, True]
            loser = got[oks.index(False)][0]
            assert "insufficient colo.io/batch-cpu" in loser.reason
            winner = got[oks.index(True)][0]
            await one.pod_bound(winner.pod, "a", {CPU: 3000, "pods": 1})
            assert await two.unreserve([winner.pod]) == 0  # bound, not merely reserved
            assert ledger.free("a")[CPU] == 1000
        finally:
            await one.close()
            await two.close()
            await server.stop(None)

    asyncio.run(body())


def test_filter_over_grpc_names_the_nodes_that_fit_and_why_the_others_do_not() -> None:
    async def body() -> None:
        ledger = Ledger(ttl_s=30)
        for name in ("a", "b", "c"):
            ledger.update_node(name, {CPU: 2000, "pods": 110})
        ledger.reserve([Item("x/held", "b", {CPU: 1500, "pods": 1})], time.monotonic())
        server, port = await serve(CoordinatorService(ledger))
        client = CoordinatorClient(f"127.0.0.1:{port}", scheduler="extender")
        in_process = InProcessCoordinator(ledger, clock=time.monotonic)
        try:
            want = {CPU: 1000, "pods": 1}
            for coord in (client, in_process):
                ok, failed = await coord.filter("y/p", want, ["c", "b", "a", "zz"])
                assert ok == ["c", "a"]
                assert failed == {
                    "b": "insufficient colo.io/batch-cpu: 1000 wanted, 500 free",
                    "zz": "node zz is not known",
                }
            assert ledger.free("a")[CPU] == 2000  # filtering holds nothing
        finally:
            await client.close()
            await server.stop(None)

    asyncio.run(body())


def test_an_unreachable_coordinator_is_retryable() -> None:
    async def body() -> None:
        client = CoordinatorClient("127.0.0.1:1", scheduler="x", timeout_s=0.5)
        try:
            with pytest.raises(Retryable, match="coordinator reserve failed: UNAVAILABLE"):
                await client.reserve([Item("p", "a", {CPU: 1})])
        finally:
            await client.close()

    asyncio.run(body())


def test_the_in_process_coordinator_answers_like_the_service() -> None:
    async def body() -> None:
        ledger = Ledger(ttl_s=30)
        ledger.update_node("a", {CPU: 1000})
        coord = InProcessCoordinator(ledger, clock=lambda: 0.0)
        got = await coord.reserve([Item("p", "a", {CPU: 1000}), Item("q", "a", {CPU: 1})])
        assert [r.ok for r in got] == [True, False]

    asyncio.run(body())


def test_the_committed_generated_code_matches_the_proto(tmp_path: Path) -> None:
    proto = "colo/rpc/coord/v1/coordinator.proto"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'proto'}",
         f"--python_out={tmp_path}", f"--grpc_python_out={tmp_path}", f"--pyi_out={tmp_path}",
         str(ROOT / "proto" / proto)],
        check=True,
    )  # fmt: skip
    # The grpc stubs name the grpcio-tools release that made them (the oldest grpcio they
    # run on): a newer release here changes that line only, not what the proto says.
    made_by = re.compile(r"^GRPC_GENERATED_VERSION = '[0-9.]+'$", re.M)
    for name in ("coordinator_pb2.py", "coordinator_pb2.pyi", "coordinator_pb2_grpc.py"):
        fresh = (tmp_path / "colo/rpc/coord/v1" / name).read_text()
        committed = (ROOT / "src/colo/rpc/coord/v1" / name).read_text()
        if name.endswith("_grpc.py"):
            assert made_by.search(committed), "the stubs no longer name their grpc release"
            fresh, committed = made_by.sub("", fresh), made_by.sub("", committed)
        assert fresh == committed, f"{name} is stale: run make proto"


def test_a_server_without_the_coordinator_service_is_a_permanent_error() -> None:
    import grpc

    from colo.core.errors import Permanent

    async def body() -> None:
        server = grpc.aio.server()  # no services: every method is UNIMPLEMENTED
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        client = CoordinatorClient(f"127.0.0.1:{port}", scheduler="x")
        try:
            with pytest.raises(Permanent, match="coordinator unreserve failed: UNIMPLEMENTED"):
                await client.unreserve(["p"])
        finally:
            await client.close()
            await server.stop(None)

    asyncio.run(body())
