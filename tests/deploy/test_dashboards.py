"""The Grafana dashboards in deploy/helm/colo/dashboards query only what colo exports.

Each dashboard is checked for the shape Grafana's sidecar and the chart rely on (unique
panel ids, titles and descriptions, every query through the `${datasource}` variable),
then every PromQL expression, in panels and in template variables, is parsed and each
metric name it selects is looked up among the series the processes really export: their
own collectors, composed as each process's `serve` composes them, over their real loops
(fed a few rounds where a family appears only once there are measurements), scraped in
Prometheus' text format. Counters and histograms must be read through a range function
(`rate`, `irate`, `increase`), gauges must not, and a histogram's buckets must keep
their `le` label up to `histogram_quantile`.

PromQL is parsed with promql-parser (PyPI; Python bindings of the Rust crate of that
name), not a hand-written scanner: it knows every function, keyword, modifier and the
grammar of label matchers, which a regular expression over identifiers would have to
re-learn. Grafana's `$variables` are not PromQL, so they are replaced by plain values
before parsing.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import promql_parser as promql
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from colo.agent.protection import ProtectedNode, ProtectionLoop
from colo.agent.reporting import ReportingLoop
from colo.apps.agent import AgentOptions, NodeAgent, agent_collectors, node_spec
from colo.apps.batch import BatchScheduler
from colo.apps.batch import metrics_collectors as batch_collectors
from colo.apps.coordinator import CoordinatorApp
from colo.apps.coordinator import metrics_collectors as coordinator_collectors
from colo.apps.cron import CronCollector, CronController
from colo.apps.extender import Extender, make_app
from colo.apps.metrics import registry_of
from colo.apps.protect import NodeProtector, NodeSampler, pods_from_tree
from colo.coord.ledger import InProcessCoordinator
from colo.core.builders import NodeBuilder
from colo.core.cgroups import ApplyReport, Intent
from colo.core.cgroupstats import (
    CpuSettings,
    CpuStat,
    KubeletTree,
    MemoryStat,
    Pressure,
    PressureLine,
    PressureStats,
    ScannedPod,
)
from colo.core.objects import Node
from colo.core.qos import KubernetesQoSClass

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "helm" / "colo" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
#: Range functions that turn a counter (or a histogram's parts) into something to plot.
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase"})
GIB = 2**30


# --- the dashboards --------------------------------------------------------------------
def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    assert isinstance(doc, dict), f"{path.name}: not a JSON object"
    return doc


def panels(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows too."""
    for panel in doc.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


@dataclass(frozen=True)
class Query:
    dashboard: str
    where: str  # "panel 'Guard state'" or "variable 'node'"
    promql: str
    values: bool = True
    """False for `label_values(selector, label)`: only the series' labels are read."""


_VARIABLE_QUERY = re.compile(r"^\s*(label_values|query_result)\((.*)\)\s*$", re.DOTALL)


def queries(path: Path) -> list[Query]:
    doc = load(path)
    out = []
    for panel in panels(doc):
        for target in panel.get("targets", []):
            out.append(Query(path.name, f"panel {panel.get('title')!r}", target["expr"]))
    for var in doc.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        text = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        m = _VARIABLE_QUERY.match(text)
        assert m, f"{path.name}: variable {var['name']!r}: cannot check query {text!r}"
        body = m[2]
        if m[1] == "label_values":  # label_values([selector,] label)
            selector, comma, _ = body.rpartition(",")
            if not comma:
                continue  # label_values(label): every series, no metric named
            body = selector
        out.append(Query(path.name, f"variable {var['name']!r}", body, m[1] == "query_result"))
    return out


# --- PromQL ------------------------------------------------------------------------------
_GRAFANA_RANGES = re.compile(r"\$\{?__(rate_interval|interval|range)\b\}?")
_GRAFANA_VARIABLES = re.compile(r"\$\{\w+(:\w+)?\}|\$\w+|\[\[\w+\]\]")


def parse(text: str) -> promql.Expr:
    """Grafana's `$__rate_interval` and friends become a duration, other variables a
    plain word (they appear only inside label matchers' strings here)."""
    plain = _GRAFANA_VARIABLES.sub("x", _GRAFANA_RANGES.sub("5m", text))
    return promql.parse(plain)


@dataclass(frozen=True)
class Selected:
    """A series selector and the expressions enclosing it, outermost first."""

    name: str
    selector: promql.VectorSelector
    within: tuple[promql.Expr, ...]


def _children(node: Any) -> list[Any]:
    if isinstance(node, promql.AggregateExpr):
        return [node.expr, node.param]
    if isinstance(node, promql.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, promql.UnaryExpr | promql.ParenExpr | promql.SubqueryExpr):
        return [node.expr]
    if isinstance(node, promql.Call):
        return list(node.args)
    if isinstance(node, promql.MatrixSelector):
        return [node.vector_selector]
    return []


def selected(expr: promql.Expr) -> list[Selected]:
    """Every series selector in `expr` with the metric it names (by name or by an exact
    `__name__` matcher); a selector naming none (a regex over `__name__`) fails."""
    out: list[Selected] = []

    def visit(node: Any, within: tuple[Any, ...]) -> None:
        if isinstance(node, promql.VectorSelector):
            name = node.name
            if not name:
                exact = [
                    m.value
                    for m in node.matchers.matchers
                    if m.name == "__name__" and m.op == promql.MatchOp.Equal
                ]
                assert exact, f"{node}: selects no metric by name; cannot check it"
                name = exact[0]
            out.append(Selected(name, node, within))
        for child in _children(node):
            if isinstance(child, promql.Expr):
                visit(child, (*within, node))

    visit(expr, ())
    return out


def metric_names(text: str) -> set[str]:
    return {s.name for s in selected(parse(text))}


def _call(node: Any) -> str | None:
    return node.func.name if isinstance(node, promql.Call) else None


def misuse(use: Selected, kind: str) -> str | None:
    """What is wrong with how `use` reads a series of `kind` (counter, histogram or
    gauge), or None. Counters and histogram parts: only as the range vector of
    rate/irate/increase. Gauges: never there. Buckets: every aggregation above them keeps
    `le` unless the selector pins one `le`."""
    parent = use.within[-1] if use.within else None
    grandparent = use.within[-2] if len(use.within) > 1 else None
    under_rate = isinstance(parent, promql.MatrixSelector) and _call(grandparent) in (
        COUNTER_FUNCTIONS
    )
    if kind in ("counter", "histogram") and not under_rate:
        return "a counter read without rate()/irate()/increase()"
    if kind == "gauge" and under_rate:
        return f"a gauge read through {_call(grandparent)}()"
    pinned = any(m.name == "le" for m in use.selector.matchers.matchers)
    if use.name.endswith("_bucket") and not pinned:
        for node in reversed(use.within):
            if _call(node) == "histogram_quantile":
                break
            if isinstance(node, promql.AggregateExpr):
                modifier = node.modifier  # None: a plain sum(...), which drops every label
                by = modifier is not None and modifier.type == promql.AggModifierType.By
                keeps = modifier is not None and by == ("le" in modifier.labels)
                if not keeps:
                    return "histogram buckets aggregated without keeping `le`"
    return None


# --- what the processes export -------------------------------------------------------------
class Unused:
    """A port the scrape never reaches: these tests build the processes' objects and read
    their collectors, they do not run their I/O."""

    def __init__(self, port: str) -> None:
        self._port = port

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{self._port}.{name} used: the metrics test runs no I/O")


KUBEPODS = PurePosixPath("kubepods")
BOX = KUBEPODS / "besteffort"
ONLINE = ScannedPod("u-online", "Burstable", KUBEPODS / "burstable" / "podu-online", ())
OFFLINE = ScannedPod("u-offline", "BestEffort", BOX / "podu-offline", ())


def _psi(avg10: float) -> Pressure:
    line = PressureLine(avg10, avg10, avg10, 0)
    return Pressure(some=line, full=line)


class NodeCgroups:
    """The cgroup port over one node whose cpu counters the test advances: kubepods with
    the offline box, an online and an offline pod; PSI everywhere, writes accepted."""

    version = 2

    def __init__(self) -> None:
        self.used_ns = {KUBEPODS: 0, BOX: 0}

    def run(self, seconds: float, *, online_cores: float, offline_cores: float) -> None:
        self.used_ns[BOX] += int(offline_cores * seconds * 1e9)
        self.used_ns[KUBEPODS] += int((online_cores + offline_cores) * seconds * 1e9)

    def scan(self) -> tuple[KubeletTree, ...]:
        qos: dict[KubernetesQoSClass, PurePosixPath] = {
            "Burstable": KUBEPODS / "burstable", "BestEffort": BOX, "Guaranteed": KUBEPODS
        }  # fmt: skip
        return (KubeletTree("cgroupfs", KUBEPODS, qos, BOX, (ONLINE, OFFLINE)),)

    def cpu(self, cgroup: PurePosixPath) -> CpuStat | None:
        used = self.used_ns.get(cgroup)
        return None if used is None else CpuStat(used, 0, 0, 0)

    def cpu_settings(self, cgroup: PurePosixPath) -> CpuSettings | None:
        return None  # a node no agent governed before: nothing to carry on from

    def memory(self, cgroup: PurePosixPath) -> MemoryStat | None:
        held = {KUBEPODS: 6 * GIB, BOX: 2 * GIB}.get(cgroup)
        return None if held is None else MemoryStat(held, held, 0)

    def pressure(self, cgroup: PurePosixPath) -> PressureStats | None:
        return PressureStats(cpu=_psi(3.0), memory=_psi(0.0), io=_psi(0.0))

    def node_pressure(self) -> PressureStats:
        return PressureStats(cpu=_psi(10.0), memory=_psi(1.0), io=_psi(2.0))

    def apply(self, intents: Sequence[Intent]) -> ApplyReport:
        return ApplyReport()


NODE = Node.from_k8s(NodeBuilder("n1").capacity(cpu="8", memory="32Gi").obj())


async def _agent() -> str:
    """colo-agent serve's /metrics: the reporting driver (whose families do not depend on
    what it has seen) and the protector after two rounds, the first a protection round
    measures (its cpu rates need two readings)."""
    options = AgentOptions(node="n1", cpusets=False)
    agent = NodeAgent(
        ReportingLoop([node_spec(NODE)], options.reporting()),
        pods=list, node=lambda: NODE, reader=Unused("UsageReader"),
        patcher=Unused("NodeStatusPatcher"), heartbeat=Unused("Heartbeat"),
    )  # fmt: skip
    cgroups = NodeCgroups()
    clock = [0.0]
    node = ProtectedNode("n1", capacity_milli=8000, memory_bytes=32 * GIB, box=BOX)
    protector = NodeProtector(
        ProtectionLoop([node], options.protection()),
        sampler=NodeSampler(
            cgroups,  # type: ignore[arg-type]
            read_busy_ns=lambda: cgroups.used_ns[KUBEPODS] + int(clock[0] * 5e8),
            read_memory=lambda: (32 * GIB, 7 * GIB),
        ),
        pods=lambda tree: pods_from_tree(tree) if tree is not None else [],
        clock=lambda: clock[0],
    )
    for _ in range(2):
        cgroups.run(1.0, online_cores=2.0, offline_cores=1.0)
        clock[0] += 1.0
        await protector.tick()
    assert protector.sample is not None, "the protector measured nothing"
    ready: asyncio.Future[NodeProtector] = asyncio.get_running_loop().create_future()
    ready.set_result(protector)
    return generate_latest(registry_of(*agent_collectors(agent, ready))).decode()


def _batch() -> str:
    """colo-batch serve --coordinator-listen: its own collector and the hosted ledger's
    (`colo.apps.batch.serve` serves the same list)."""
    hosted = CoordinatorApp(Unused("WatchTransport"))
    sched = BatchScheduler(
        Unused("RetryingBinder"), Unused("PodConditionWriter"), Unused("EventRecorder"),
        coordinator=InProcessCoordinator(hosted.ledger, lambda: 0.0),
    )  # fmt: skip
    return generate_latest(registry_of(*batch_collectors(sched, hosted))).decode()


def _coordinator() -> str:
    app = CoordinatorApp(Unused("WatchTransport"))
    return generate_latest(registry_of(*coordinator_collectors(app))).decode()


async def _extender() -> str:
    """colo-extender serves /metrics from its own app: ask that route."""
    app = make_app(Extender(Unused("Coordinator"), Unused("Binder"), Unused("PodGetter")))
    for route in app.router.routes():
        if route.method == "GET" and route.resource and route.resource.canonical == "/metrics":
            response = await route.handler(make_mocked_request("GET", "/metrics", app=app))
            assert isinstance(response, web.Response) and isinstance(response.body, bytes)
            return response.body.decode()
    raise AssertionError("colo-extender serves no /metrics")


async def _cron() -> str:
    controller = CronController(Unused("Api"), Unused("EventRecorder"))
    return generate_latest(registry_of(CronCollector(controller))).decode()


#: What Prometheus stores of each family type (`_created` when the client writes one).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "summary": ("", "_sum", "_count", "_created"),
    "gauge": ("",),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}


def series(exposition: str) -> dict[str, str]:
    """Series name → the type of its family, from a scrape in the text format. A family
    with no samples yet (a labelled counter before its first event) still names its
    series by its type."""
    out: dict[str, str] = {}
    for family in text_string_to_metric_families(exposition):
        for suffix in SUFFIXES[family.type]:
            out[family.name + suffix] = family.type
        for sample in family.samples:
            out[sample.name] = family.type
    return out


@pytest.fixture(scope="module")
def exported() -> dict[str, dict[str, str]]:
    """Each process's series (name → family type)."""

    async def scrape() -> dict[str, str]:
        return {
            "colo-agent": await _agent(),
            "colo-batch": _batch(),
            "colo-coordinator": _coordinator(),
            "colo-extender": await _extender(),
            "colo-cron": await _cron(),
        }

    return {process: series(text) for process, text in asyncio.run(scrape()).items()}


def all_series(exported: dict[str, dict[str, str]]) -> dict[str, str]:
    return {name: kind for names in exported.values() for name, kind in names.items()}


# --- the tests ---------------------------------------------------------------------------
def test_there_are_dashboards() -> None:
    assert dashboard_files(), f"no dashboards in {DASHBOARDS}"


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_a_dashboard_is_well_formed(path: Path) -> None:
    doc = load(path)
    name = path.name
    assert doc.get("uid") and doc.get("title"), f"{name}: needs a uid and a title"
    assert doc.get("schemaVersion", 0) >= 36, f"{name}: schemaVersion {doc.get('schemaVersion')}"
    variables = {v["name"]: v for v in doc.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    assert ds is not None and (ds["type"], ds["query"]) == ("datasource", "prometheus"), (
        f"{name}: needs a `datasource` variable of type datasource over prometheus"
    )
    for var in variables.values():
        if var["type"] == "query":
            assert var.get("datasource") == DATASOURCE, (
                f"{name}: variable {var['name']!r} must query ${{datasource}}, "
                f"not {var.get('datasource')}"
            )
    ids: set[int] = set()
    titles: set[str] = set()
    for panel in panels(doc):
        title = panel.get("title")
        assert title, f"{name}: a panel without a title (id {panel.get('id')})"
        where = f"{name}: panel {title!r}"
        assert title not in titles, f"{where}: the title repeats (failures name panels by it)"
        titles.add(title)
        assert isinstance(panel.get("id"), int), f"{where}: no id"
        assert panel["id"] not in ids, f"{where}: id {panel['id']} repeats"
        ids.add(panel["id"])
        assert panel.get("description"), f"{where}: no description"
        assert {"h", "w", "x", "y"} <= set(panel.get("gridPos", {})), f"{where}: no gridPos"
        if panel.get("type") == "row":
            continue
        assert panel.get("datasource") == DATASOURCE, (
            f"{where}: datasource {panel.get('datasource')}, expected {DATASOURCE}"
        )
        targets = panel.get("targets") or []
        assert targets, f"{where}: no queries"
        refs = [t.get("refId") for t in targets]
        assert len(set(refs)) == len(refs), f"{where}: refIds repeat: {refs}"
        for target in targets:
            assert str(target.get("expr", "")).strip(), f"{where}: a query without expr"
            assert target.get("datasource", DATASOURCE) == DATASOURCE, (
                f"{where}: query {target['refId']} bypasses ${{datasource}}"
            )


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_every_metric_a_dashboard_queries_is_exported(
    path: Path, exported: dict[str, dict[str, str]]
) -> None:
    known = all_series(exported)
    missing = [
        f"{q.dashboard}: {q.where}: metric {name!r}"
        for q in queries(path)
        for name in sorted(metric_names(q.promql))
        if name not in known
    ]
    assert not missing, "queried but exported by no colo process:\n" + "\n".join(missing)


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_counters_and_histograms_are_read_through_rate(
    path: Path, exported: dict[str, dict[str, str]]
) -> None:
    known = all_series(exported)
    wrong = [
        f"{q.dashboard}: {q.where}: {use.name}: {why}"
        for q in queries(path)
        if q.values
        for use in selected(parse(q.promql))
        if use.name in known and (why := misuse(use, known[use.name])) is not None
    ]
    assert not wrong, "\n".join(wrong)


def test_every_process_with_metrics_has_a_dashboard(exported: dict[str, dict[str, str]]) -> None:
    queried = {
        name for p in dashboard_files() for q in queries(p) for name in metric_names(q.promql)
    }
    unseen = [process for process, names in exported.items() if not queried & set(names)]
    assert not unseen, f"no dashboard shows any metric of {unseen}"


# --- the checker itself --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "names"),
    [
        ('sum by (node, le) (rate(a_total{job=~"$job", node="n"}[$__rate_interval]))', {"a_total"}),
        ("a / on (instance) group_left (node) b", {"a", "b"}),
        ("a > bool ignoring (result) b offset 5m", {"a", "b"}),
        ('{__name__="c", job="x"}', {"c"}),
        ("histogram_quantile(0.9, sum without (pod) (rate(d_bucket[${__range}])))", {"d_bucket"}),
        ('count_values("value", e) or vector(0)', {"e"}),
        ('label_replace(f, "dst", "$1", "src", "(.*)")', {"f"}),
        ("max_over_time(g[1h:5m]) - time()", {"g"}),
        ("sum(h) by (le)", {"h"}),
        ("-i unless j", {"i", "j"}),
    ],
)
def test_the_metric_names_of_a_query(text: str, names: set[str]) -> None:
    assert metric_names(text) == names


def test_a_selector_without_a_metric_name_cannot_be_checked() -> None:
    with pytest.raises(AssertionError, match="selects no metric by name"):
        metric_names('{__name__=~"colo_.*"}')


@pytest.mark.parametrize(
    ("text", "kind", "complaint"),
    [
        ("rate(m_total[5m])", "counter", None),
        ("sum(increase(m_total[5m]))", "counter", None),
        ("m_total", "counter", "without rate()"),
        ("delta(m_total[5m])", "counter", "without rate()"),
        ("m", "gauge", None),
        ("max_over_time(m[5m])", "gauge", None),
        ("rate(m[5m])", "gauge", "a gauge read through rate()"),
        ("histogram_quantile(0.9, sum by (le) (rate(m_bucket[5m])))", "histogram", None),
        ("histogram_quantile(0.9, sum(rate(m_bucket[5m])))", "histogram", "without keeping `le`"),
        ("sum without (le) (rate(m_bucket[5m]))", "histogram", "without keeping `le`"),
        ('sum(rate(m_bucket{le="3.0"}[5m]))', "histogram", None),
        ("sum(rate(m_sum[5m])) / sum(rate(m_count[5m]))", "histogram", None),
    ],
)
def test_how_a_series_of_each_type_may_be_read(text: str, kind: str, complaint: str | None) -> None:
    complaints = [misuse(use, kind) for use in selected(parse(text))]
    if complaint is None:
        assert complaints == [None] * len(complaints)
    else:
        assert any(c is not None and complaint in c for c in complaints), complaints


def test_counters_are_exported_as_total_and_histograms_as_their_parts(
    exported: dict[str, dict[str, str]],
) -> None:
    cron = exported["colo-cron"]
    assert cron["colo_cron_runs_created_total"] == "counter"
    assert "colo_cron_runs_created" not in cron  # Prometheus stores no bare counter name
    for part in ("_bucket", "_sum", "_count"):
        assert cron[f"colo_cron_fire_lateness_seconds{part}"] == "histogram"
    assert "colo_cron_fire_lateness_seconds" not in cron
    # a labelled counter that has counted nothing yet still names its series
    assert exported["colo-agent"]["colo_agent_evictions_total"] == "counter"
