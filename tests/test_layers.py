"""The layer contract covers every colo subpackage, so a new one cannot slip past it."""

from __future__ import annotations

import pkgutil
import re
import tomllib
from pathlib import Path

import colo

ROOT = Path(__file__).resolve().parents[1]


def test_every_colo_subpackage_sits_in_a_layer() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    layers = config["tool"]["importlinter"]["contracts"][0]["layers"]
    named = set(re.findall(r"colo\.\w+", " ".join(layers)))
    subpackages = {f"colo.{m.name}" for m in pkgutil.iter_modules(colo.__path__) if m.ispkg}
    assert subpackages, "found no colo subpackages"
    assert subpackages <= named, f"not in any layer: {sorted(subpackages - named)}"
