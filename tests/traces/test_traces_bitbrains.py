"""The Bitbrains GWA-T-12 loader on files in the published layout, odd rows included."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from colo.core.errors import InvalidInput
from colo.traces.bitbrains import COLUMNS, load_bitbrains

HEADER = ";\t".join(COLUMNS)


def vm(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    return path


def row(t: object, pct: object, mem_cap: object = 4194304, mem: object = 1048576) -> str:
    cells = [t, 4, 10400.0, 0.0, pct, mem_cap, mem, 0.0, 0.0, 0.0, 0.0]
    return ";\t".join(str(c) for c in cells)


def test_a_directory_of_vms_with_bad_rows_skipped_and_counted(tmp_path: Path) -> None:
    vm(tmp_path / "1.csv", [row(1376314846, 12.5), row(1376315146, 50), row(1376315146, 70)])
    vm(tmp_path / "2.csv", [row(1376314846, 3), row(1376315146, 101), row("x", 3), "1;2;3", "",
                            row("inf", 3), row(1376315446, "nan")])  # fmt: skip
    series, report = load_bitbrains(tmp_path)
    assert sorted(series) == ["1", "2"]
    one = series["1"]
    assert np.allclose(one.cpu, [0.125, 0.60]) and one.t_s[0] == 1376314846.0  # seconds
    assert one.mem is not None and np.allclose(one.mem, 0.25)
    assert report.reasons == {
        "duplicate timestamp": 1,
        "cpu usage out of range": 1,
        "timestamp not a number": 2,  # "x" and "inf"
        "cpu usage not a number": 1,
        "wrong column count": 1,
        "blank line": 1,
    }


def test_a_single_file_and_the_errors_that_name_it(tmp_path: Path) -> None:
    series, _ = load_bitbrains(vm(tmp_path / "7.csv", [row(0, 1)]))
    assert list(series) == ["7"]
    bad = tmp_path / "bad.csv"
    bad.write_text("time,cpu\n1,2\n")
    with pytest.raises(InvalidInput, match=r"bad\.csv.*unrecognised header"):
        load_bitbrains(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidInput, match=r"no \.csv files"):
        load_bitbrains(empty)
    with pytest.raises(InvalidInput, match="not found"):
        load_bitbrains(tmp_path / "missing.csv")
    whole = gzip.compress((HEADER + "\n" + row(0, 1) + "\n").encode() * 50)
    (tmp_path / "cut.csv.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InvalidInput, match=r"cut\.csv\.gz.*corrupt or truncated gzip"):
        load_bitbrains(tmp_path / "cut.csv.gz")
