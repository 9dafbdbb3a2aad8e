"""Test helpers for the cpu allocator: the real machines' layouts and pod builders.

`load(name)` reads `topologies/<name>.json` (format in its README) into a `CPUTopology`
with `CPUInfo(cpu, core, socket, numa)` per entry, as that README prescribes.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from colo.agent.cpus import CPUPod
from colo.core.qos import QoSTier
from colo.core.topology import CPUInfo, CPUTopology

HERE = Path(__file__).resolve().parent / "topologies"
FIXTURES = (
    "2s8c2t-2numa",
    "24s8c2t-24numa",
    "16s6c1t-4numa",
    "4s2c2t-1numa",
    "2s6c2t-2numa-interleaved",
    "local-2cpu",
)


@functools.cache
def load(name: str) -> CPUTopology:
    raw = json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))
    return CPUTopology(CPUInfo(c["cpu"], c["core"], c["socket"], c["numa"]) for c in raw["cpus"])


def pod(
    name: str,
    tier: QoSTier | str,
    cpus: float,
    *,
    limit: float | str | None = "same",
    uid: str | None = None,
    labelled: bool = True,
) -> CPUPod:
    """A pod requesting `cpus` (limit equal unless given; None for no limit); `labelled`:
    its tier came from the `colo.io/qos` label rather than being derived."""
    request = round(cpus * 1000)
    lim = request if limit == "same" else (None if limit is None else round(float(limit) * 1000))
    return CPUPod(
        uid=uid or f"uid-{name}",
        name=f"default/{name}",
        tier=QoSTier(tier),
        cpu_request_milli=request,
        cpu_limit_milli=lim,
        tier_from_label=labelled,
    )


def span(low: int, high: int) -> frozenset[int]:
    return frozenset(range(low, high + 1))
