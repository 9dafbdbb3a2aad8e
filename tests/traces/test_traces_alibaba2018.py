"""alibaba2018 loaders on small synthetic files holding each real-world oddity."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from colo.core.errors import InvalidInput
from colo.traces.alibaba2018 import (
    load_container_snapshot,
    load_machine_meta,
    load_machine_usage,
)
from colo.traces.common import NodeShape

WriteFile = Callable[..., Path]

USAGE_HEADER = (
    "machine_id,time_stamp,cpu_util_percent,mem_util_percent,mem_gps,mkpi,net_in,net_out,"
    "disk_io_percent"
)


def u(machine: str, t: str, cpu: str, mem: str, disk: str = "5") -> str:
    return f"{machine},{t},{cpu},{mem},,,43.04,33.08,{disk}"


# (lines, expected reasons, expected series: id -> (t_s, cpu, mem))
USAGE_CASES = {
    "clean": (
        [u("m_1", "0", "10", "20"), u("m_1", "10", "30", "40"), u("m_2", "5", "0", "100")],
        {},
        {"m_1": ([0, 10], [0.1, 0.3], [0.2, 0.4]), "m_2": ([5], [0.0], [1.0])},
    ),
    "header present": (
        [USAGE_HEADER, u("m_1", "0", "10", "20")],
        {},
        {"m_1": ([0], [0.1], [0.2])},
    ),
    "out of range -1 and 101": (
        [
            u("m_1", "0", "-1", "20"),
            u("m_1", "10", "101", "20"),
            u("m_1", "20", "50", "101"),
            u("m_1", "30", "50", "-1"),
            u("m_1", "40", "100", "0"),
        ],
        {"cpu out of range": 2, "mem out of range": 2},
        {"m_1": ([40], [1.0], [0.0])},
    ),
    "unused columns out of range cost nothing": (
        [u("m_1", "0", "10", "20", disk="-1"), u("m_1", "10", "10", "20", disk="101")],
        {},
        {"m_1": ([0, 10], [0.1, 0.1], [0.2, 0.2])},
    ),
    "empty fields": (
        [
            u("", "0", "10", "20"),
            u("m_1", "", "10", "20"),
            u("m_1", "10", "", "20"),
            u("m_1", "20", "10", " "),
            u("m_1", "30", "10", "20"),
        ],
        {"missing machine_id": 1, "missing time": 1, "missing cpu": 1, "missing mem": 1},
        {"m_1": ([30], [0.1], [0.2])},
    ),
    "garbage": (
        [
            u("m_1", "abc", "10", "20"),
            u("m_1", "10", "ten", "20"),
            u("m_1", "20", "nan", "20"),
            u("m_1", "30", "10", "inf"),
            u("m_1", "40", "10", "20"),
        ],
        {"time not a number": 1, "cpu not a number": 2, "mem not a number": 1},
        {"m_1": ([40], [0.1], [0.2])},
    ),
    "wrong column count": (
        ["m_1,0,10,20", u("m_1", "10", "10", "20") + ",extra", u("m_1", "20", "10", "20")],
        {"wrong column count": 2},
        {"m_1": ([20], [0.1], [0.2])},
    ),
    "negative time": (
        [u("m_1", "-10", "10", "20"), u("m_1", "0", "10", "20")],
        {"negative time": 1},
        {"m_1": ([0], [0.1], [0.2])},
    ),
    "unsorted rows": (
        [u("m_1", "20", "30", "60"), u("m_1", "0", "10", "40"), u("m_1", "10", "20", "50")],
        {},
        {"m_1": ([0, 10, 20], [0.1, 0.2, 0.3], [0.4, 0.5, 0.6])},
    ),
    "duplicate timestamps are averaged": (
        [u("m_1", "0", "10", "20"), u("m_1", "10", "20", "40"), u("m_1", "10", "40", "60")],
        {"duplicate timestamp": 1},
        {"m_1": ([0, 10], [0.1, 0.3], [0.2, 0.5])},
    ),
    "blank line": (
        [u("m_1", "0", "10", "20"), "", u("m_1", "10", "10", "20")],
        {"blank line": 1},
        {"m_1": ([0, 10], [0.1, 0.1], [0.2, 0.2])},
    ),
    "first row bad": (
        [u("m_1", "0", "101", "20"), u("m_1", "10", "10", "20")],
        {"cpu out of range": 1},
        {"m_1": ([10], [0.1], [0.2])},
    ),
}


@pytest.mark.parametrize("case", list(USAGE_CASES), ids=list(USAGE_CASES))
def test_machine_usage(write: WriteFile, case: str) -> None:
    lines, reasons, expected = USAGE_CASES[case]
    series, report = load_machine_usage(write(lines))
    assert report.reasons == reasons
    assert report.rows_skipped == sum(reasons.values())
    data_lines = len(lines) - (1 if lines[0] == USAGE_HEADER else 0)
    assert report.rows_read == data_lines
    assert report.has_header == (lines[0] == USAGE_HEADER)
    assert sorted(series) == sorted(expected)
    for machine, (t, cpu, mem) in expected.items():
        s = series[machine]
        assert s.series_id == machine
        np.testing.assert_array_equal(s.t_s, t)
        np.testing.assert_allclose(s.cpu, cpu)
        assert s.mem is not None
        np.testing.assert_allclose(s.mem, mem)
        assert s.cpu_max is None
    assert sum(len(s) for s in series.values()) == report.rows_read - report.rows_skipped


def test_machine_usage_min_samples_drops_sparse_machines(write: WriteFile) -> None:
    lines = [u("m_1", str(t), "10", "20") for t in (0, 10, 20)] + [u("m_2", "0", "10", "20")]
    series, report = load_machine_usage(write(lines), min_samples=2)
    assert list(series) == ["m_1"]
    assert report.reasons == {"sparse machine (< min_samples)": 1}
    assert report.notes == {"machines dropped (< min_samples)": 1}
    with pytest.raises(InvalidInput, match="min_samples"):
        load_machine_usage(write(lines), min_samples=10)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        pytest.param([], "no data rows", id="empty"),
        pytest.param([USAGE_HEADER], "no data rows", id="header-only"),
        pytest.param(
            ["name,cpu_milli,memory_mib", "p,1,2"], "unrecognised header", id="other-header"
        ),
        pytest.param(["m_1,0,219,17,96,100,USING"], "no valid rows", id="meta-file"),
        pytest.param([u("m_1", "0", "101", "20")], "no valid rows", id="all-bad"),
    ],
)
def test_machine_usage_wrong_format_raises(
    write: WriteFile, lines: list[str], message: str
) -> None:
    path = write(lines)
    with pytest.raises(InvalidInput, match=message) as info:
        load_machine_usage(path)
    assert str(path) in str(info.value)


def meta(machine: str, t: str, cpu: str, mem: str, status: str = "USING") -> str:
    return f"{machine},{t},219,17,{cpu},{mem},{status}"


GIB = 2**30


@pytest.mark.parametrize(
    ("lines", "reasons", "expected"),
    [
        pytest.param(
            [meta("m_1", "0", "96", "100"), meta("m_2", "0", "64", "50")],
            {},
            [NodeShape("m_1", 96_000, 512 * GIB), NodeShape("m_2", 64_000, 256 * GIB)],
            id="clean",
        ),
        pytest.param(
            [meta("m_1", "0", "96", "100"), meta("m_1", "100", "48", "25")],
            {},
            [NodeShape("m_1", 48_000, 128 * GIB)],
            id="latest-row-wins",
        ),
        pytest.param(
            [meta("m_1", "100", "48", "25"), meta("m_1", "0", "96", "100")],
            {},
            [NodeShape("m_1", 48_000, 128 * GIB)],
            id="unsorted-latest-by-time",
        ),
        pytest.param(
            [meta("m_1", "100", "48", "25"), meta("m_1", "100", "96", "100")],
            {},
            [NodeShape("m_1", 96_000, 512 * GIB)],
            id="tie-later-row-wins",
        ),
        pytest.param(
            [
                meta("m_1", "0", "0", "100"),
                meta("m_1", "0", "-1", "100"),
                meta("m_1", "0", "1.5", "100"),
                meta("m_1", "0", "96", "101"),
                meta("m_1", "0", "96", "0"),
                meta("m_1", "0", "96", ""),
                meta("", "0", "96", "100"),
                meta("m_1", "-5", "96", "100"),
                "m_1,0,219,17,96,100",
                meta("m_1", "0", "96", "100"),
            ],
            {
                "cpu_num out of range": 2,
                "cpu_num not an integer": 1,
                "mem_size out of range": 2,
                "missing mem_size": 1,
                "missing machine_id": 1,
                "negative time": 1,
                "wrong column count": 1,
            },
            [NodeShape("m_1", 96_000, 512 * GIB)],
            id="bad-rows",
        ),
    ],
)
def test_machine_meta(
    write: WriteFile, lines: list[str], reasons: dict[str, int], expected: list[NodeShape]
) -> None:
    shapes, report = load_machine_meta(write(lines), max_memory_gib=512)
    assert shapes == expected
    assert report.reasons == reasons
    assert report.rows_read == len(lines)
    assert report.rows_skipped == sum(reasons.values())


def test_machine_meta_rejects_bad_max_memory(write: WriteFile) -> None:
    with pytest.raises(InvalidInput, match="max_memory_gib"):
        load_machine_meta(write([meta("m_1", "0", "96", "100")]), max_memory_gib=0)


SNAP_HEADER = "timestamp,container_id,machine_id,cpu,mem"


@pytest.mark.parametrize(
    ("lines", "reasons", "expected", "moved"),
    [
        pytest.param(
            [SNAP_HEADER, "386600,c_1,m_1,1,23", "386610,c_1,m_1,2,23", "386600,c_2,m_1,0,5"],
            {},
            {"m_1": 2},
            0,
            id="distinct-containers",
        ),
        pytest.param(
            [SNAP_HEADER, "386610,c_3,m_3,1,1", "386600,c_3,m_2,1,1", "386600,c_4,m_2,1,1"],
            {},
            {"m_2": 1, "m_3": 1},
            1,
            id="moved-container-counts-at-latest",
        ),
        pytest.param(
            ["386600,c_1,m_1,1,23", "386600,c_2,m_2,101,-1"],
            {},
            {"m_1": 1, "m_2": 1},
            0,
            id="no-header-and-unused-columns",
        ),
        pytest.param(
            [
                SNAP_HEADER,
                "386600,,m_1,1,1",
                "386600,c_1,,1,1",
                "x,c_1,m_1,1,1",
                "386600,c_1,m_1",
                "386600,c_2,m_2,1,1",
            ],
            {
                "missing container_id": 1,
                "missing machine_id": 1,
                "time not a number": 1,
                "wrong column count": 1,
            },
            {"m_2": 1},
            0,
            id="bad-rows",
        ),
    ],
)
def test_container_snapshot(
    write: WriteFile,
    lines: list[str],
    reasons: dict[str, int],
    expected: dict[str, int],
    moved: int,
) -> None:
    counts, report = load_container_snapshot(write(lines))
    assert counts == expected
    assert report.reasons == reasons
    assert report.notes.get("containers seen on more than one machine", 0) == moved


def test_container_snapshot_wrong_format(write: WriteFile) -> None:
    path = write(["timestamp,machine_id,cpu,mem", "386610,m_1,5,79"])
    with pytest.raises(InvalidInput, match="container_id") as info:
        load_container_snapshot(path)
    assert str(path) in str(info.value)
