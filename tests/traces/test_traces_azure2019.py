"""azure2019 VM table and CPU readings on small synthetic files with real-world oddities."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from colo.core.errors import InvalidInput
from colo.traces.azure2019 import VMInfo, load_vm_cpu, load_vm_table

WriteFile = Callable[..., Path]

TABLE_HEADER = (
    "vm_id,subscription_id,deployment_id,timestamp_vm_created,timestamp_vm_deleted,max_cpu,"
    "avg_cpu,p95_max_cpu,vm_category,vm_virtual_core_count_bucket,vm_memory_gb_bucket,duration"
)
READ_HEADER = "timestamp,vm_id,min_cpu,max_cpu,avg_cpu"


def vm(
    vm_id: str, category: str, cores: str = "2", mem: str = "4", *, duration: bool = True
) -> str:
    row = f"{vm_id},sub,dep,0,2591400,98.5,30.3,98.2,{category},{cores},{mem}"
    return row + ",2591400" if duration else row


TABLE = [
    TABLE_HEADER,
    vm("a", "Interactive"),
    vm("b", "Interactive", "8", "32"),
    vm("c", "Delay-insensitive", ">24", ">64"),
]


def test_vm_table_sizes_and_categories(write: WriteFile) -> None:
    table, report = load_vm_table(write(TABLE))
    assert table == {
        "a": VMInfo("a", "Interactive", "2", "4", 2.0, 4.0),
        "b": VMInfo("b", "Interactive", "8", "32", 8.0, 32.0),
        "c": VMInfo("c", "Delay-insensitive", ">24", ">64", 24.0, 64.0),
    }
    assert report.rows_read == 3 and report.rows_skipped == 0


def test_vm_table_published_headerless_variant(write: WriteFile) -> None:
    rows = [vm("a", "Interactive", duration=False), vm("b", "Unknown"), vm("c", "x", "0", "4")]
    table, report = load_vm_table(write(rows))
    assert sorted(table) == ["a", "b"]
    assert not report.has_header
    assert report.reasons == {"core bucket out of range": 1}


def test_vm_table_bad_rows(write: WriteFile) -> None:
    rows = [vm("a", ""), vm("", "Interactive"), vm("b", "Interactive", "x"), "d,1,2"]
    rows += [vm("e", "Interactive", mem=""), vm("f", "Interactive"), vm("f", "Interactive")]
    table, report = load_vm_table(write([TABLE_HEADER, *rows]))
    assert list(table) == ["f"]
    assert report.reasons == {
        "missing vm_category": 1,
        "missing vm_id": 1,
        "core bucket not a number": 1,
        "wrong column count": 1,
        "missing memory bucket": 1,
        "duplicate vm_id": 1,
    }


def r(t: str, vm_id: str, lo: str = "1", hi: str = "50", avg: str = "10") -> str:
    return f"{t},{vm_id},{lo},{hi},{avg}"


# (readings rows, category, reasons, expected: vm -> (t_s, cpu, cpu_max))
CASES = {
    "interactive only": (
        [r("0", "a"), r("0", "b", avg="20", hi="30"), r("0", "c"), r("0", "d"), r("300", "a")],
        "Interactive",
        {"vm not in category": 1, "vm not in vmtable": 1},
        {"a": ([0, 300], [0.1, 0.1], [0.5, 0.5]), "b": ([0], [0.2], [0.3])},
    ),
    "all categories": (
        [r("0", "a"), r("0", "c"), r("0", "d")],
        None,
        {},
        {"a": ([0], [0.1], [0.5]), "c": ([0], [0.1], [0.5]), "d": ([0], [0.1], [0.5])},
    ),
    "category is case-insensitive": (
        [r("0", "c")],
        "delay-insensitive",
        {},
        {"c": ([0], [0.1], [0.5])},
    ),
    "out of range and garbage": (
        [
            r("0", "a", avg="-1"),
            r("300", "a", avg="101"),
            r("600", "a", hi="101"),
            r("900", "a", hi=""),
            r("1200", "a", avg="x"),
            r("-300", "a"),
            r("abc", "a"),
            r("1500", ""),
            "1800,a,1,2",
            r("2100", "a", lo="garbage min is not read", avg="100", hi="100"),
        ],
        "Interactive",
        {
            "cpu out of range": 2,
            "cpu_max out of range": 1,
            "missing cpu_max": 1,
            "cpu not a number": 1,
            "negative time": 1,
            "time not a number": 1,
            "missing vm_id": 1,
            "wrong column count": 1,
        },
        {"a": ([2100], [1.0], [1.0])},
    ),
    "unsorted and duplicate timestamps": (
        [
            r("600", "a", avg="30", hi="40"),
            r("0", "a", avg="10", hi="20"),
            r("300", "a", avg="10", hi="20"),
            r("300", "a", avg="30", hi="60"),
        ],
        "Interactive",
        {"duplicate timestamp": 1},
        {"a": ([0, 300, 600], [0.1, 0.2, 0.3], [0.2, 0.6, 0.4])},
    ),
}


@pytest.mark.parametrize("header", [True, False], ids=["header", "no-header"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_vm_cpu(write: WriteFile, case: str, header: bool) -> None:
    rows, category, reasons, expected = CASES[case]
    readings = write([READ_HEADER, *rows] if header else rows)
    series, report = load_vm_cpu(readings, write(TABLE), category=category)
    assert report.path == str(readings)
    assert report.rows_read == len(rows)
    assert report.reasons == reasons
    assert sorted(series) == sorted(expected)
    for vm_id, (t, cpu, cpu_max) in expected.items():
        s = series[vm_id]
        np.testing.assert_array_equal(s.t_s, t)
        np.testing.assert_allclose(s.cpu, cpu)
        assert s.cpu_max is not None and s.mem is None
        np.testing.assert_allclose(s.cpu_max, cpu_max)


def test_vm_cpu_notes_vms_without_readings_and_table_problems(write: WriteFile) -> None:
    table = write([*TABLE, vm("z", "Interactive", "x")])
    _, report = load_vm_cpu(write([READ_HEADER, r("0", "a")]), table)
    assert report.notes == {"vms without readings": 1, "vmtable: core bucket not a number": 1}


def test_vm_cpu_unknown_category_raises(write: WriteFile) -> None:
    table = write(TABLE)
    with pytest.raises(InvalidInput, match="Delay-insensitive, Interactive") as info:
        load_vm_cpu(write([READ_HEADER, r("0", "a")]), table, category="Batch")
    assert str(table) in str(info.value)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        pytest.param(
            ["timestamp,container_id,machine_id,cpu,mem", "0,c,m,1,2"], "header", id="other"
        ),
        pytest.param([READ_HEADER, r("0", "c")], "no valid rows", id="no-vm-in-category"),
        pytest.param([READ_HEADER], "no data rows", id="header-only"),
    ],
)
def test_vm_cpu_wrong_format(write: WriteFile, lines: list[str], message: str) -> None:
    readings = write(lines)
    with pytest.raises(InvalidInput, match=message) as info:
        load_vm_cpu(readings, write(TABLE))
    assert str(readings) in str(info.value)
