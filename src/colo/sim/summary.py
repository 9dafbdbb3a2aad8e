"""`summary.json`: the stable, documented machine-readable result of `colo sim`.

Schema (version 1; see docs/summary-schema.md):

    {
      "schema_version": 1,
      "scenario": str, "seed": int, "quick": bool,
      "duration_s": float, "nodes": int,
      "trace_rows_skipped": int,
      "trace_files": {"<dir>/<file>": {"rows_read": int, "rows_skipped": int}},
      "policies": {"<policy>": {<every name in POLICY_METRICS>: number}},
      "warnings": [str]
    }

Floats are rounded to 6 significant digits and keys are sorted, so the same scenario and
seed give byte-identical files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from colo.sim.results import POLICY_METRICS, SimulationResult

SCHEMA_VERSION = 1


def _round(value: float | int) -> float | int:
    if isinstance(value, int):
        return value
    if not math.isfinite(value):
        raise ValueError(f"non-finite figure in summary: {value}")
    return float(f"{value:.6g}")


def summary_dict(result: SimulationResult, *, quick: bool) -> dict[str, Any]:
    policies: dict[str, dict[str, float | int]] = {}
    for name, policy in result.policies.items():
        missing = [m for m in POLICY_METRICS if m not in policy.metrics]
        if missing:
            raise ValueError(f"policy {name} lacks figures {missing}")
        policies[name] = {m: _round(policy.metrics[m]) for m in POLICY_METRICS}
    return {
        "schema_version": SCHEMA_VERSION,
        "scenario": result.scenario,
        "seed": result.seed,
        "quick": quick,
        "duration_s": _round(result.duration_s),
        "nodes": result.nodes,
        "trace_rows_skipped": result.trace_rows_skipped,
        "trace_files": result.trace_files,
        "policies": policies,
        "warnings": result.warnings(),
    }


def write_summary(result: SimulationResult, path: Path, *, quick: bool) -> dict[str, Any]:
    data = summary_dict(result, quick=quick)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return data
