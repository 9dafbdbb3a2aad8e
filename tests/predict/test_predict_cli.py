"""`colo predict evaluate` as a user runs it: JSON shape, outputs, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from colo.cli.main import main
from colo.traces.bitbrains import COLUMNS


def bitbrains_dir(root: Path, constant: float | None = None) -> Path:
    root.mkdir()
    t = 1_376_314_846 + 300 * np.arange(3 * 288)  # three days, 5 min
    for vm in range(3):
        lines = [";\t".join(COLUMNS)]
        for i, ts in enumerate(t):
            pct = constant if constant is not None else 20 + 15 * ((i // 12 + vm) % 4 == 0)
            cells = [ts, 2, 5000.0, 0.0, pct, 1000, 500, 0, 0, 0, 0]
            lines.append(";\t".join(str(c) for c in cells))
        (root / f"{vm}.csv").write_text("\n".join(lines) + "\n")
    return root


def test_json_and_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = bitbrains_dir(tmp_path / "vms")
    out = tmp_path / "out"
    code = main(
        ["predict", "evaluate", "--trace", str(trace), "--format", "bitbrains",
         "--horizon-s", "900", "--json", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    got = json.loads(capsys.readouterr().out)
    assert got["series"] == 3
    for name in ("colo", "vpa-p90", "vpa-p95", "koordinator", "katalyst"):
        fig = got["estimators"][name]
        assert 0.0 <= fig["violation_rate"] <= 1.0 and fig["reclaim_efficiency"] > 0
    assert (out / "predict-evaluate.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((out / "predict-evaluate.json").read_text()) == got


def test_known_figures_on_a_flat_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = bitbrains_dir(tmp_path / "flat", constant=30.0)
    code = main(["predict", "evaluate", "--trace", str(trace), "--format", "bitbrains", "--json"])
    assert code == 0
    got = json.loads(capsys.readouterr().out)["estimators"]
    # usage 0.3 all the time: 0.7 idle; Koordinator-style predicts 0.3 + 0.35, Katalyst-style
    # 0.3 × 1.25; nobody is ever exceeded
    assert got["koordinator"] == {
        "violation_rate": 0.0,
        "reclaim_efficiency": pytest.approx(0.35 / 0.7),
    }
    assert got["katalyst"] == {
        "violation_rate": 0.0,
        "reclaim_efficiency": pytest.approx(0.625 / 0.7),
    }
    assert got["colo"]["violation_rate"] == 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "csv"], "invalid choice"),
        (["--format", "bitbrains", "--horizon-s", "-5"], "expected a number of seconds > 0"),
        (["--format", "azure", "--trace-missing"], "unrecognized arguments"),
    ],
)
def test_bad_flags_exit_2_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    trace = bitbrains_dir(tmp_path / "vms")
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "evaluate", "--trace", str(trace), *args])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_horizon_below_the_sampling_step_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = bitbrains_dir(tmp_path / "vms")
    code = main(["predict", "evaluate", "--trace", str(trace), "--format", "bitbrains",
                 "--horizon-s", "60"])  # fmt: skip
    assert code == 2 and "--horizon-s: shorter than the trace" in capsys.readouterr().err


def test_a_missing_trace_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["predict", "evaluate", "--trace", str(tmp_path / "no"), "--format", "bitbrains"])
    assert code == 2 and "not found" in capsys.readouterr().err
