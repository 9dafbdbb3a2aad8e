"""deploy/*.yaml without a cluster: RBAC without wildcards, containers with requests and
probes, and a command line `colo` itself accepts, wired to the volumes and roles it needs.

tests/e2e/test_agent_manifest.py has a real API server accept deploy/agent.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from colo import __version__
from colo.agent.kubeletcpu import CPU_MANAGER_STATE_PATH
from colo.cli.main import _parser

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
AGENT = DEPLOY / "agent.yaml"

#: Values the downward API would give the env vars a command refers to, by field path.
DOWNWARD = {"spec.nodeName": "node-0001", "metadata.name": "colo-agent-x7k2p"}

#: Workload kinds and where their pod template is.
WORKLOADS = {"DaemonSet", "Deployment", "StatefulSet", "Job"}


def load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def the(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"{kind}: expected one, found {len(found)}"
    return found[0]


def containers(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = doc["spec"]["template"]["spec"]
    yield from spec.get("initContainers") or []
    yield from spec["containers"]


def expand(container: dict[str, Any], namespace: str) -> list[str]:
    """The container's command and args with `$(VAR)` replaced as the kubelet would, from
    its env (downward API fields get the values in DOWNWARD, or the pod's namespace)."""
    env: dict[str, str] = {}
    for var in container.get("env") or []:
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            field = var["valueFrom"]["fieldRef"]["fieldPath"]
            env[var["name"]] = namespace if field == "metadata.namespace" else DOWNWARD[field]

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in env, f"container {container['name']}: $({name}) is not in its env"
        return env[name]

    argv = [*container.get("command", []), *container.get("args", [])]
    return [re.sub(r"\$\((\w+)\)", one, arg) for arg in argv]


def parse_colo(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    assert argv[0] == "colo", f"expected the colo entry point, got {argv[0]!r}"
    try:
        return _parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"colo refuses {argv[1:]}: {capsys.readouterr().err}", pytrace=False)


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return load(AGENT)


@pytest.fixture(scope="module")
def daemonset(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return the(docs, "DaemonSet")


def test_every_manifest_is_yaml_of_kubernetes_objects() -> None:
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in load(path):
            assert {"apiVersion", "kind", "metadata"} <= doc.keys(), f"{path.name}: {doc}"
            assert doc["metadata"].get("name"), f"{path.name}: a {doc['kind']} without a name"


def test_the_agent_manifest_holds_its_namespace_account_roles_bindings_and_daemonset(
    docs: list[dict[str, Any]],
) -> None:
    assert sorted(d["kind"] for d in docs) == [
        "ClusterRole", "ClusterRoleBinding", "DaemonSet", "Namespace", "Role", "RoleBinding",
        "ServiceAccount",
    ]  # fmt: skip


@pytest.mark.parametrize("path", sorted(DEPLOY.glob("*.yaml")), ids=lambda p: p.name)
def test_no_role_grants_a_wildcard(path: Path) -> None:
    for doc in load(path):
        if doc["kind"] not in ("Role", "ClusterRole"):
            continue
        assert "aggregationRule" not in doc, f"{doc['kind']} {doc['metadata']['name']}"
        for rule in doc.get("rules") or []:
            for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                for value in rule.get(key) or []:
                    assert "*" not in value, (
                        f"{path.name}: {doc['kind']} {doc['metadata']['name']}: "
                        f"{key} has a wildcard {value!r} in {rule}"
                    )


@pytest.mark.parametrize("path", sorted(DEPLOY.glob("*.yaml")), ids=lambda p: p.name)
def test_every_container_requests_resources_and_has_a_liveness_probe(path: Path) -> None:
    for doc in load(path):
        if doc["kind"] not in WORKLOADS:
            continue
        for c in containers(doc):
            where = f"{path.name}: {doc['kind']} {doc['metadata']['name']}, container {c['name']}"
            requests = (c.get("resources") or {}).get("requests") or {}
            assert {"cpu", "memory"} <= requests.keys(), f"{where}: requests {requests}"
            limits = (c.get("resources") or {}).get("limits") or {}
            assert "memory" in limits, f"{where}: no memory limit"
            assert "livenessProbe" in c, f"{where}: no livenessProbe"


def test_the_agent_command_is_one_colo_agent_serve_accepts(
    daemonset: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    (agent,) = daemonset["spec"]["template"]["spec"]["containers"]
    args = parse_colo(expand(agent, daemonset["metadata"]["namespace"]), capsys)
    assert (args.command, args.agent_command) == ("agent", "serve")
    assert args.node == DOWNWARD["spec.nodeName"]


def test_the_agent_learns_its_node_from_the_downward_api(daemonset: dict[str, Any]) -> None:
    (agent,) = daemonset["spec"]["template"]["spec"]["containers"]
    env = {v["name"]: v for v in agent["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert "--node=$(NODE_NAME)" in agent["command"]


def test_the_probes_ask_for_healthz_where_the_agent_serves_its_metrics(
    daemonset: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    (agent,) = daemonset["spec"]["template"]["spec"]["containers"]
    args = parse_colo(expand(agent, daemonset["metadata"]["namespace"]), capsys)
    port = int(args.metrics_listen.rpartition(":")[2])
    named = {p["name"]: p["containerPort"] for p in agent["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = agent[probe]["httpGet"]
        assert get["path"] == "/healthz", probe
        assert named.get(get["port"], get["port"]) == port, probe


def test_the_cgroup_root_is_the_hosts_cgroup_tree(
    daemonset: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """The path mounted at --cgroup-root is, on the host, where the agent looks by default,
    and writable: the protection loop writes the offline box and the cpusets there."""
    pod = daemonset["spec"]["template"]["spec"]
    (agent,) = pod["containers"]
    args = parse_colo(expand(agent, daemonset["metadata"]["namespace"]), capsys)
    on_host = _parser().parse_args(["agent", "serve"]).cgroup_root
    mounts = {m["mountPath"]: m["name"] for m in agent["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert args.cgroup_root in mounts, f"nothing is mounted at --cgroup-root {args.cgroup_root}"
    assert volumes[mounts[args.cgroup_root]]["hostPath"]["path"] == on_host
    (mount,) = [m for m in agent["volumeMounts"] if m["mountPath"] == args.cgroup_root]
    assert not mount.get("readOnly"), "the cgroup tree must be writable for protection"


def test_the_kubelet_checkpoint_is_mounted_read_only_where_the_agent_reads_it(
    daemonset: dict[str, Any],
) -> None:
    pod = daemonset["spec"]["template"]["spec"]
    (agent,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    holding = [
        m for m in agent["volumeMounts"] if CPU_MANAGER_STATE_PATH.startswith(m["mountPath"] + "/")
    ]
    assert len(holding) == 1, f"no mount holds {CPU_MANAGER_STATE_PATH}"
    (mount,) = holding
    assert mount.get("readOnly") is True
    assert volumes[mount["name"]]["hostPath"]["path"] == mount["mountPath"]


def test_the_daemonset_runs_as_the_account_its_roles_are_bound_to(
    docs: list[dict[str, Any]], daemonset: dict[str, Any]
) -> None:
    account = the(docs, "ServiceAccount")["metadata"]
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["name"]
    assert daemonset["metadata"]["namespace"] == account["namespace"]
    for binding, role in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
        b = the(docs, binding)
        assert b["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": role,
            "name": the(docs, role)["metadata"]["name"],
        }
        assert b["subjects"] == [
            {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
        ]


def test_the_heartbeat_leases_live_where_the_role_grants_them(
    docs: list[dict[str, Any]], daemonset: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    (agent,) = daemonset["spec"]["template"]["spec"]["containers"]
    args = parse_colo(expand(agent, daemonset["metadata"]["namespace"]), capsys)
    assert args.heartbeat_namespace == the(docs, "Role")["metadata"]["namespace"]
    assert the(docs, "Namespace")["metadata"]["name"] == args.heartbeat_namespace


def test_the_agent_runs_on_every_node_privileged_and_critical(daemonset: dict[str, Any]) -> None:
    pod = daemonset["spec"]["template"]["spec"]
    assert {"operator": "Exists"} in pod["tolerations"]
    assert pod["priorityClassName"] == "system-node-critical"
    assert pod["hostPID"] is True
    assert pod["containers"][0]["securityContext"]["privileged"] is True


def test_the_image_is_the_release_whose_flags_were_checked(daemonset: dict[str, Any]) -> None:
    (agent,) = daemonset["spec"]["template"]["spec"]["containers"]
    assert agent["image"].rpartition(":")[2] == __version__
