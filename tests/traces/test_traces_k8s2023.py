"""alibaba_k8s_2023 pod and node loaders on small synthetic files with real-world oddities."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from colo.core.errors import InvalidInput
from colo.traces.alibaba_k8s_2023 import load_nodes, load_pods
from colo.traces.common import NodeShape

WriteFile = Callable[..., Path]

POD_HEADER = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"
    "deletion_time,scheduled_time"
)
NODE_HEADER = "sn,cpu_milli,memory_mib,gpu,model"
MIB = 2**20
NAN = math.nan


def pod(
    name: str,
    cpu: str = "1000",
    mem: str = "1024",
    gpu: str = "0",
    qos: str = "BE",
    phase: str = "Running",
    created: str = "10",
    deleted: str = "100",
    scheduled: str = "11",
) -> str:
    return f"{name},{cpu},{mem},{gpu},0,,{qos},{phase},{created},{deleted},{scheduled}"


# (rows, reasons, expected (name, cpu, memory bytes, gpu, qos, phase, created, deleted, sched))
POD_CASES = {
    "clean": (
        [
            "openb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0",
            pod("p1", qos="Burstable", phase="Succeeded", created="5", scheduled="6"),
        ],
        {},
        [
            ("openb-pod-0000", 12000, 16384 * MIB, 1, "LS", "Running", 0.0, 12537496.0, 0.0),
            ("p1", 1000, 1024 * MIB, 0, "Burstable", "Succeeded", 5.0, 100.0, 6.0),
        ],
    ),
    "empty times become nan": (
        [pod("p1", phase="Pending", scheduled=""), pod("p2", deleted="", created="20")],
        {},
        [
            ("p1", 1000, 1024 * MIB, 0, "BE", "Pending", 10.0, 100.0, NAN),
            ("p2", 1000, 1024 * MIB, 0, "BE", "Running", 20.0, NAN, 11.0),
        ],
    ),
    "bad rows": (
        [
            pod("p1", cpu="-1"),
            pod("p2", mem="lots"),
            pod("p3", gpu="1.5"),
            pod("p4", gpu="-1"),
            pod("p5", qos=""),
            pod("p6", phase=""),
            pod("p7", created=""),
            pod("p8", deleted="5"),
            pod("p9", scheduled="soon"),
            pod(""),
            "p10,1000,1024",
            pod("ok", mem="0", created="-3"),
            pod("ok", cpu="5"),
        ],
        {
            "cpu out of range": 1,
            "memory not a number": 1,
            "num_gpu not an integer": 1,
            "num_gpu out of range": 1,
            "missing qos": 1,
            "missing phase": 1,
            "missing creation time": 1,
            "deletion before creation": 1,
            "scheduled time not a number": 1,
            "missing name": 1,
            "wrong column count": 1,
            "duplicate name": 1,
        },
        [("ok", 1000, 0, 0, "BE", "Running", -3.0, 100.0, 11.0)],
    ),
    "sorted by creation": (
        [pod("late", created="50"), pod("early", created="1"), pod("mid", created="20")],
        {},
        [
            ("early", 1000, 1024 * MIB, 0, "BE", "Running", 1.0, 100.0, 11.0),
            ("mid", 1000, 1024 * MIB, 0, "BE", "Running", 20.0, 100.0, 11.0),
            ("late", 1000, 1024 * MIB, 0, "BE", "Running", 50.0, 100.0, 11.0),
        ],
    ),
}


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


@pytest.mark.parametrize("header", [True, False], ids=["header", "no-header"])
@pytest.mark.parametrize("case", list(POD_CASES), ids=list(POD_CASES))
def test_pods(write: WriteFile, case: str, header: bool) -> None:
    rows, reasons, expected = POD_CASES[case]
    pods, report = load_pods(write([POD_HEADER, *rows] if header else rows))
    assert report.has_header is header
    assert report.rows_read == len(rows)
    assert report.reasons == reasons
    assert report.rows_skipped == sum(reasons.values())
    assert len(pods) == len(expected)
    columns = (
        pods.name,
        pods.cpu_milli,
        pods.memory_bytes,
        pods.num_gpu,
        pods.qos,
        pods.phase,
        pods.creation_s,
        pods.deletion_s,
        pods.scheduled_s,
    )
    got = list(zip(*(c.tolist() for c in columns), strict=True))
    for g, e in zip(got, expected, strict=True):
        assert all(_same(x, y) for x, y in zip(e, g, strict=True)), (g, e)


def test_pods_qos_filter_works_on_arrays(write: WriteFile) -> None:
    pods, _ = load_pods(write([POD_HEADER, pod("a", qos="LS"), pod("b"), pod("c")]))
    assert (pods.qos == "BE").sum() == 2


@pytest.mark.parametrize(
    ("rows", "reasons", "expected"),
    [
        pytest.param(
            ["openb-node-0000,32000,262144,0,", "openb-node-0001,96000,786432,8,V100M16"],
            {},
            [
                NodeShape("openb-node-0000", 32000, 262144 * MIB),
                NodeShape("openb-node-0001", 96000, 786432 * MIB),
            ],
            id="clean",
        ),
        pytest.param(
            [
                "n0,0,1024,0,",
                "n1,-1,1024,0,",
                "n2,1000,,0,",
                "n3,1000,x,0,",
                ",1000,1024,0,",
                "n4,1000,1024",
                "n5,1000,1024,0,",
                "n5,2000,1024,0,",
            ],
            {
                "cpu out of range": 2,
                "missing memory": 1,
                "memory not a number": 1,
                "missing name": 1,
                "wrong column count": 1,
                "duplicate name": 1,
            },
            [NodeShape("n5", 1000, 1024 * MIB)],
            id="bad-rows",
        ),
    ],
)
@pytest.mark.parametrize("header", [True, False], ids=["header", "no-header"])
def test_nodes(
    write: WriteFile,
    rows: list[str],
    reasons: dict[str, int],
    expected: list[NodeShape],
    header: bool,
) -> None:
    shapes, report = load_nodes(write([NODE_HEADER, *rows] if header else rows))
    assert shapes == expected
    assert report.reasons == reasons
    assert report.rows_read == len(rows)


def test_nodes_wrong_format(write: WriteFile) -> None:
    path = write([POD_HEADER, pod("p1")])
    with pytest.raises(InvalidInput, match=r"unrecognised header.*sn") as info:
        load_nodes(path)
    assert str(path) in str(info.value)


def test_pods_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "pod_list.csv.gz"
    with pytest.raises(InvalidInput, match="not found") as info:
        load_pods(path)
    assert "pod_list.csv.gz" in str(info.value)
