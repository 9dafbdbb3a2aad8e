"""Builders for synthetic `SimulationResult`s and an HTML parser for the report tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np
import pytest

from colo.sim.results import PolicyResult, SimulationResult

DAY_S = 86_400.0

# Distinct, hand-picked metric values per policy so tests can check formatting and which
# value is highlighted as best.
METRICS: dict[str, dict[str, float | int]] = {
    "reserved": {
        "cpu_util_mean": 0.2512,
        "cpu_util_p95": 0.4,
        "mem_util_mean": 0.3,
        "online_interference_rate": 0.0,
        "offline_jobs_completed": 120,
        "offline_wait_p50_s": 340.0,
        "offline_wait_p95_s": 5400.0,
        "evictions": 0,
        "node_hours": 480.0,
        "job_start_delay_p99_s": 7200.0,
    },
    "request-based": {
        "cpu_util_mean": 0.4123,
        "cpu_util_p95": 0.71,
        "mem_util_mean": 0.55,
        "online_interference_rate": 0.0432,
        "offline_jobs_completed": 310,
        "offline_wait_p50_s": 12.5,
        "offline_wait_p95_s": 610.0,
        "evictions": 17,
        "node_hours": 480.0,
        "job_start_delay_p99_s": 900.0,
    },
    "colo": {
        "cpu_util_mean": 0.6049,
        "cpu_util_p95": 0.83,
        "mem_util_mean": 0.61,
        "online_interference_rate": 0.0031,
        "offline_jobs_completed": 1204,
        "offline_wait_p50_s": 0.42,
        "offline_wait_p95_s": 45.0,
        "evictions": 3,
        "node_hours": 480.0,
        "job_start_delay_p99_s": 95.25,
    },
}


def make_policy(
    name: str,
    index: int,
    *,
    ticks: int,
    duration_s: float,
    metrics: dict[str, float | int] | None = None,
    waits: np.ndarray | None = None,
    wave: np.ndarray | None = None,
    extra: dict[str, np.ndarray] | None = None,
) -> PolicyResult:
    t = np.linspace(0.0, duration_s, ticks, endpoint=False)
    phase = 2 * np.pi * t / DAY_S
    online = 0.2 + 0.1 * np.sin(phase)
    offline = np.clip(0.1 * (index + 1) + 0.05 * np.cos(3 * phase), 0.0, None)
    rng = np.random.default_rng(index)
    if waits is None:
        waits = rng.lognormal(mean=1.0 + index, sigma=1.5, size=200)
    if wave is None:
        wave = rng.exponential(scale=30.0 * (3 - index), size=100)
    return PolicyResult(
        name=name,
        metrics=dict(METRICS.get(name, METRICS["colo"]) if metrics is None else metrics),
        t_s=t,
        cpu_util=online + offline,
        mem_util=0.3 + 0.1 * index + 0.05 * np.sin(phase),
        online_cpu_util=online,
        offline_cpu_util=offline,
        interference=np.clip(0.02 * index * (1 + np.sin(5 * phase)), 0.0, 1.0),
        offline_waits_s=waits,
        wave_start_delays_s=wave,
        extra_series=dict(extra or {}),
    )


def build_result(
    policies: Sequence[str] = ("reserved", "request-based", "colo"),
    *,
    scenario: str = "diurnal-web",
    ticks: int = 288,
    duration_s: float = DAY_S,
    start_time_of_day_s: float = 8 * 3600.0,
    wave_fire_s: float | None = 16 * 3600.0,
    empty_samples: bool = False,
    extra: dict[str, dict[str, np.ndarray]] | None = None,
    metrics: dict[str, dict[str, float | int]] | None = None,
) -> SimulationResult:
    """A small synthetic result. `extra` maps policy -> extra_series; `metrics` overrides."""
    empty = np.empty(0)
    return SimulationResult(
        scenario=scenario,
        seed=42,
        start_time_of_day_s=start_time_of_day_s,
        duration_s=duration_s,
        nodes=20,
        trace_rows_skipped=3,
        trace_files={
            "online.csv": {"rows_read": 1000, "rows_skipped": 0},
            "batch.csv": {"rows_read": 5000, "rows_skipped": 3},
        },
        policies={
            name: make_policy(
                name,
                i,
                ticks=ticks,
                duration_s=duration_s,
                metrics=(metrics or {}).get(name),
                waits=empty if empty_samples else None,
                wave=empty if empty_samples else None,
                extra=(extra or {}).get(name),
            )
            for i, name in enumerate(policies)
        },
        wave_fire_s=wave_fire_s,
    )


@pytest.fixture
def make_result() -> Callable[..., SimulationResult]:
    """`build_result`: a synthetic result, defaults overridable by keyword."""
    return build_result


@pytest.fixture(scope="session")
def default_report() -> str:
    """The report of `build_result()`, rendered once per session (rendering takes ~1-2 s)."""
    from colo.report import render_report

    return render_report(build_result())


# ---------------------------------------------------------------------------------------------
# A small DOM built with html.parser, enough for structural assertions.

VOID = {"meta", "link", "br", "img", "input", "hr", "col", "area", "base", "source", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def iter(self) -> list[Node]:
        out: list[Node] = []
        for c in self.children:
            if isinstance(c, Node):
                out.append(c)
                out.extend(c.iter())
        return out

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        return [n for n in self.iter() if n.tag == tag and (cls is None or cls in n.classes())]

    def by_id(self, ident: str) -> Node:
        for n in self.iter():
            if n.attrs.get("id") == ident:
                return n
        raise AssertionError(f"no element with id={ident!r}")


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.cur = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), parent=self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.cur.children.append(Node(tag, dict(attrs), parent=self.cur))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.cur
        while node is not None and node.tag != tag:
            node = node.parent
        if node is None:
            raise AssertionError(f"stray end tag </{tag}>")
        if node is not self.cur:
            raise AssertionError(f"</{tag}> closes <{self.cur.tag}> implicitly")
        assert node.parent is not None
        self.cur = node.parent

    def handle_data(self, data: str) -> None:
        self.cur.children.append(data)


def parse_html(text: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    assert builder.cur is builder.root, f"unclosed <{builder.cur.tag}>"
    return builder.root


@pytest.fixture
def parse() -> Callable[[str], Node]:
    """Parse report HTML into a small tree; fails on unbalanced tags."""
    return parse_html


@pytest.fixture
def metrics_table() -> dict[str, dict[str, float | int]]:
    """The per-policy metric values `make_result` uses unless overridden."""
    return METRICS
