"""`--box-period` of `colo agent serve` and `colo agent protect`: the CFS period of the
offline box's quota. Refused outside the kernel's 1 ms..1 s with a usage error naming the
flag; the default is the engine's (10 ms) and the value reaches the box's options."""

from __future__ import annotations

from typing import Any

import pytest

from colo.agent.box import BoxOptions
from colo.apps.agent import protection_options
from colo.cli.agent import BOX_PERIOD_S
from colo.cli.main import main


def test_the_flags_default_is_the_engines() -> None:
    assert round(BOX_PERIOD_S * 1e6) == BoxOptions().period_us == 10_000


@pytest.mark.parametrize("command", ["serve", "protect"])
@pytest.mark.parametrize("value", ["500us", "2s", "0", "often"])
def test_a_period_the_kernel_refuses_or_not_a_duration_is_a_usage_error(
    command: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["agent", command, "--node", "n1", "--box-period", value])
    assert exit_.value.code == 2
    assert "argument --box-period: expected " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected_us"), [([], 10_000), (["--box-period", "100ms"], 100_000)]
)
def test_the_period_reaches_the_box_of_colo_agent_protect(
    argv: list[str], expected_us: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Any] = []

    async def fake_protect(options: Any) -> None:
        seen.append(options)

    monkeypatch.setattr("colo.apps.agent.protect_local", fake_protect)
    assert main(["agent", "protect", "--node", "n1", *argv]) == 0
    (options,) = seen
    box = protection_options(options.interval_s, options.target_util, options.cpusets,
                             options.box_period_s).box  # fmt: skip
    assert box.period_us == expected_us


def test_the_period_reaches_the_box_of_colo_agent_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    async def fake_serve(config: object, options: Any) -> None:
        seen.append(options)

    monkeypatch.setattr("colo.apps.agent.serve", fake_serve)
    monkeypatch.setattr("colo.kube.config.load_config", lambda *a, **kw: object())
    assert main(["agent", "serve", "--node", "n1", "--box-period", "20ms"]) == 0
    (options,) = seen
    assert options.protection().box.period_us == 20_000
