"""`colo` command-line errors: a message naming what was wrong, exit code 2, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colo.cli.main import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["sim", "--policies", "reserved,magic"], "unknown policy", id="unknown policy"
        ),
        pytest.param(
            ["sim", "--policies", "reserved,,request-based"],
            "empty policy name",
            id="empty policy name",
        ),
        pytest.param(["sim", "--scenario", "/no/such.yaml"], "no such scenario", id="missing file"),
        pytest.param(
            ["sim", "--traces", "/no/such/dir"], "not a traces directory", id="missing traces"
        ),
    ],
)
def test_user_errors_exit_2_with_a_clear_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main([*argv, "--no-progress", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_an_output_path_that_is_a_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["sim", "--quick", "--no-progress", "--out", str(target)]) == 2
    assert "--out" in capsys.readouterr().err


def test_argparse_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sim", "--seed", "many"])
    assert exc.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


@pytest.mark.slow
def test_online_pods_that_do_not_fit_are_reported_not_silently_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "crowded.yaml"
    scenario.write_text(
        "name: crowded\nduration: 10m\nwave: null\ncluster: {nodes: 8}\n"
        "online: {request_share: 0.9}\npolicies: {reserved: {offline_pool_fraction: 0.5}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code = main(["sim", "--scenario", str(scenario), "--no-progress", "--out", str(out)])
    assert code == 0
    assert "reserved: " in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert any(w.startswith("reserved: ") and "did not fit" in w for w in summary["warnings"])
    assert not any(w.startswith("request-based") for w in summary["warnings"])
