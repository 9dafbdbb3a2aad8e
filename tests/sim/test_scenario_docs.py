"""docs/scenarios.md documents every scenario key the schema accepts."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from colo.sim.scenario import Scenario

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"


def keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out: list[str] = []
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        args = getattr(field.annotation, "__args__", (field.annotation,))
        inner = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if inner and inner[0].model_fields:
            out.extend(keys(inner[0], key + "."))
        else:
            out.append(key)
    return out


def test_every_scenario_key_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = []
    for key in keys(Scenario):
        # A row may document siblings together: `a.b_min`, `_max` or `a.cpu`, `.memory`.
        head, _, leaf = key.rpartition(".")
        if f"`{key}`" in text:
            continue
        if f"`{head}.{leaf.split('_')[0]}" in text or (head and f"`.{leaf}`" in text):
            continue
        if head and (f"`_{leaf.split('_')[-1]}`" in text or f"`{leaf}`" in text):
            continue
        missing.append(key)
    assert not missing, f"undocumented scenario keys: {missing}"
