"""`--lease-duration` of the two leader-elected processes: parsed the same way, refused
below 3 s with a usage error naming the flag, and passed to the process."""

from __future__ import annotations

from typing import Any

import pytest

from colo.cli.main import main


@pytest.mark.parametrize("process", ["batch", "cron"])
@pytest.mark.parametrize("value", ["2s", "0", "soon"])
def test_a_lease_shorter_than_3s_or_not_a_duration_is_a_usage_error(
    process: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([process, "serve", "--lease-duration", value])
    assert exit_.value.code == 2
    assert "argument --lease-duration: expected " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("process", "serve"), [("batch", "colo.apps.batch.serve"), ("cron", "colo.apps.cron.serve")]
)
@pytest.mark.parametrize(("argv", "expected"), [([], 15.0), (["--lease-duration", "6s"], 6.0)])
def test_the_lease_duration_reaches_the_process(
    process: str, serve: str, argv: list[str], expected: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []

    async def fake_serve(config: object, options: Any) -> None:
        seen.append(options)

    monkeypatch.setattr(serve, fake_serve)
    monkeypatch.setattr("colo.kube.config.load_config", lambda *a, **kw: object())
    assert main([process, "serve", *argv]) == 0
    (options,) = seen
    assert options.lease_duration_s == expected
