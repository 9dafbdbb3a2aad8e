"""colo's Helm chart (deploy/helm/colo) rendered and checked with the tools `make
cluster-bins` built: helm, and kubeconform against the schemas of `make chart-schemas`.

Used by the chart's tests (tests/deploy, tests/e2e/test_chart_on_the_api_server.py), which
check what the chart renders for default and non-default values, and by anyone who wants
the objects without a cluster: `helm template` needs none.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from colo.core.errors import ColoError
from colo.devcluster.binaries import load_binaries

HELM = "helm"
KUBECONFORM = "kubeconform"
#: The chart, in a checkout (the chart is not part of the installed package).
CHART = Path(__file__).resolve().parents[3] / "deploy" / "helm" / "colo"
SCHEMAS_SCRIPT = Path(__file__).resolve().parents[3] / "build" / "chart" / "schemas.sh"
#: kube-apiserver's version the chart is rendered for (helm's Capabilities.KubeVersion).
KUBE_VERSION = "v1.35.8"


class ChartError(ColoError):
    """helm or kubeconform refused, or a tool is missing; the message says which and why."""


@dataclass(frozen=True)
class Rendered:
    """What `helm template` made: the objects, and the YAML they came from."""

    text: str
    objects: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        if len(found) != 1:
            raise LookupError(f"{kind} {name}: found {len(found)}")
        return found[0]


def _tool(name: str) -> Path:
    return load_binaries([name])[name].path


def _run(argv: list[str], what: str, *, stdin: str | None = None) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ChartError(f"{what} failed (exit {done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


def _set_flags(values: Mapping[str, Any]) -> list[str]:
    """`--set-json key=value` for each dotted key: values given one key at a time, as a
    user would on the command line, so they merge into values.yaml's instead of
    replacing whole sections."""
    out: list[str] = []
    for key, value in values.items():
        out += ["--set-json", f"{key}={json.dumps(value)}"]
    return out


def render(
    values: Mapping[str, Any] | None = None,
    *,
    release: str = "colo",
    namespace: str = "colo-system",
    api_versions: Iterable[str] = (),
    kubeconfig: str | None = None,
    chart: Path = CHART,
) -> Rendered:
    """`helm template` of the chart; `values` maps dotted keys to values. With
    `kubeconfig`, rendered as `helm upgrade` would on that cluster (`--dry-run=server`):
    templates look up what is there (the webhook's certificate), nothing is written."""
    argv = [
        str(_tool(HELM)), "template", release, str(chart), "--namespace", namespace,
        "--kube-version", KUBE_VERSION, *_set_flags(values or {}),
    ]  # fmt: skip
    for api in api_versions:
        argv += ["--api-versions", api]
    if kubeconfig:
        argv += ["--dry-run=server", "--kubeconfig", kubeconfig]
    text = _run(argv, "helm template")
    objects = [o for o in yaml.safe_load_all(text) if o]
    return Rendered(text, objects)


def helm(*args: str, kubeconfig: str, values: Mapping[str, Any] | None = None) -> str:
    """Run the built helm against a cluster (install, upgrade, uninstall, ...); its output."""
    argv = [str(_tool(HELM)), *args, "--kubeconfig", kubeconfig, *_set_flags(values or {})]
    return _run(argv, f"helm {args[0]}")


def lint(values: Mapping[str, Any] | None = None, *, chart: Path = CHART) -> str:
    """`helm lint --strict`; returns its report."""
    argv = [str(_tool(HELM)), "lint", "--strict", str(chart), *_set_flags(values or {})]
    argv += ["--kube-version", KUBE_VERSION]
    return _run(argv, "helm lint")


def schema_dir(python: str = sys.executable) -> Path:
    """Where `make chart-schemas` put the schemas (made now if missing)."""
    out = _run(["bash", str(SCHEMAS_SCRIPT), python], "build/chart/schemas.sh").strip()
    return Path(out.splitlines()[-1])


def validate(rendered: Rendered, *, schemas: Path | None = None) -> list[dict[str, Any]]:
    """kubeconform, strict, every object against its schema (a kind without one is an
    error, not a skip); returns kubeconform's per-object results. Raises `ChartError`
    with kubeconform's report when an object is invalid."""
    where = (schemas or schema_dir()) / "json"
    location = str(where) + "/{{ .Group }}/{{ .ResourceAPIVersion }}/{{ .ResourceKind }}.json"
    argv = [
        str(_tool(KUBECONFORM)), "-strict", "-verbose", "-output", "json",
        "-schema-location", location, "-",
    ]  # fmt: skip
    done = subprocess.run(argv, input=rendered.text, capture_output=True, text=True, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError as e:
        raise ChartError(f"kubeconform said: {done.stdout}{done.stderr}") from e
    results: list[dict[str, Any]] = report.get("resources") or []
    bad = [r for r in results if r.get("status") != "statusValid"]
    if done.returncode != 0 or bad:
        lines = [f"{r.get('kind')} {r.get('name')}: {r.get('status')}: {r.get('msg')}" for r in bad]
        raise ChartError("kubeconform refused:\n" + "\n".join(lines or [done.stderr]))
    return results
