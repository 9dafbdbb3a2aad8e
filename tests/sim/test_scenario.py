"""Scenario files: defaults, units, and clear errors naming the key and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from colo.core.errors import InvalidInput
from colo.sim.scenario import load_scenario


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_default_scenario_is_a_day_on_about_200_nodes_with_a_midnight_wave() -> None:
    s = load_scenario("default")
    assert s.name == "default"
    assert s.cluster.nodes == 200
    assert s.duration == 24 * 3600
    assert s.wave is not None and s.wave.at == 0.0 and s.wave.jobs >= 1000
    assert s.wave.cpu == 500 and s.wave.memory == 512 * 2**20


def test_units_are_parsed_as_kubernetes_quantities_and_durations(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            """
name: units
duration: 1h30m
step: 15s
wave: {at: "23:59:30", cpu: 1500m, memory: 1Gi, duration: 2m}
""",
        )
    )
    assert s.duration == 5400
    assert s.step == 15
    assert s.wave is not None
    assert (s.wave.at, s.wave.cpu, s.wave.memory, s.wave.duration) == (
        23 * 3600 + 59 * 60 + 30,
        1500,
        2**30,
        120,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("name: x\nofline: {}\n", "key ofline: unknown key", id="unknown top key"),
        pytest.param(
            "name: x\noffline: {target_lod: 1}\n",
            "key offline.target_lod: unknown key",
            id="unknown nested key",
        ),
        pytest.param(
            "name: x\noffline: {target_load: 1.5}\n",
            "key offline.target_load",
            id="fraction out of range",
        ),
        pytest.param("name: x\nwave: {cpu: 1.5.2}\n", "key wave.cpu", id="bad quantity"),
        pytest.param("name: x\nduration: soon\n", "key duration", id="bad duration"),
        pytest.param("name: x\nwave: {at: '25:00'}\n", "key wave.at", id="bad time of day"),
        pytest.param("duration: 1h\n", "key name: required key is missing", id="missing name"),
        pytest.param("name: x\nstep: 0\n", "key step: must be greater than zero", id="zero step"),
        pytest.param("- a\n- b\n", "not a mapping", id="not a mapping"),
        pytest.param("name: [unclosed\n", "not valid YAML", id="broken yaml"),
    ],
)
def test_bad_scenarios_name_the_file_and_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as err:
        load_scenario(write(tmp_path, text))
    assert "scenario mine.yaml" in str(err.value)
    assert expected in str(err.value)


def test_a_missing_scenario_file_says_what_was_expected() -> None:
    with pytest.raises(InvalidInput, match=r"no such scenario.*built-in name"):
        load_scenario("/nonexistent/scenario.yaml")


def test_quick_shrinks_the_cluster_and_the_window_but_keeps_the_wave() -> None:
    s = load_scenario("default").quickened()
    assert s.cluster.nodes == 24
    assert s.duration == 2 * 3600
    assert s.wave is not None and s.wave.jobs == 300
