"""`colo cron next` as a user runs it: fire times, JSON, and the exit codes and messages of
what Kubernetes would refuse."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from colo.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(["cron", "next", *args])
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_the_next_five_fire_times_with_their_offsets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "*/15 * * * *", "--after", "2024-01-01T00:07:00Z")
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "2024-01-01T00:15:00+00:00",
        "2024-01-01T00:30:00+00:00",
        "2024-01-01T00:45:00+00:00",
        "2024-01-01T01:00:00+00:00",
        "2024-01-01T01:15:00+00:00",
    ]


def test_a_time_zone_and_a_dst_change_show_in_the_offsets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys, "30 1 * * *", "--time-zone", "America/New_York",
        "--after", "2021-11-06T12:00:00-04:00", "--count", "3",
    )  # fmt: skip
    assert code == 0
    assert out.splitlines() == [
        "2021-11-07T01:30:00-04:00",
        "2021-11-07T01:30:00-05:00",
        "2021-11-08T01:30:00-05:00",
    ]


def test_json_prints_one_list_of_strings(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "@every 90m", "--after", "2024-01-01T00:00:30+01:00", "--count", "2", "--json"
    )
    assert code == 0
    assert json.loads(out) == ["2024-01-01T00:30:30+00:00", "2024-01-01T02:00:30+00:00"]


def test_the_default_start_is_now(capsys: pytest.CaptureFixture[str]) -> None:
    before = datetime.now(UTC)
    code, out, _ = run(capsys, "* * * * *", "--count", "1")
    assert code == 0
    first = datetime.fromisoformat(out.strip())
    assert 0 < (first - before).total_seconds() <= 61


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["0 0 * * 7"], "field spec.schedule: unparseable schedule: end of range (7) above "
         "maximum (6): 7"),
        (["TZ=UTC 0 * * * *"], "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
        ([""], "field spec.schedule: required value"),
        (["@often"], "unrecognized descriptor: @often"),
        (["0 * * * *", "--time-zone", "Mars/Olympus"],
         "field spec.timeZone: unknown time zone Mars/Olympus"),
        (["0 * * * *", "--time-zone", "Local"],
         "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"),
        (["0 * * * *", "--time-zone", ""], "timeZone must be nil or non-empty string"),
    ],
)  # fmt: skip
def test_what_kubernetes_refuses_exits_2_with_its_reason(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.startswith("colo: error: ")
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["* * * * *", "--count", "0"], "--count"),
        (["* * * * *", "--count", "many"], "--count"),
        (["* * * * *", "--after", "yesterday"], "--after"),
        (["* * * * *", "--after", "2024-01-01T00:00:00"], "--after"),  # no offset
        (["* * * * *", "--bogus"], "--bogus"),
    ],
)
def test_a_bad_flag_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], args: list[str], flag: str
) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert flag in err
    assert "Traceback" not in err


def test_a_schedule_that_never_fires_prints_nothing_and_says_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "0 0 30 2 *", "--after", "2024-01-01T00:00:00Z", "--json")
    assert code == 0
    assert json.loads(out) == []
    assert "0 of 5 fire times" in err


def test_the_installed_command_runs_as_a_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "colo.cli.main", "cron", "next", "0 9 * * MON-FRI",
         "--time-zone", "Europe/Berlin", "--after", "2024-03-29T12:00:00+01:00", "--count", "2"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["2024-04-01T09:00:00+02:00", "2024-04-02T09:00:00+02:00"]
