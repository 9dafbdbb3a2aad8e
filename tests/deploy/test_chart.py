"""deploy/helm/colo without a cluster: `helm lint`, `helm template` for default and
non-default values validated by kubeconform against Kubernetes 1.35's own schemas (and
the CRDs' for the optional kinds), and what the objects must say to work together:
command lines `colo` accepts, probes where health is served, roles bound to the accounts
pods run as, leases where the roles grant them, a webhook whose CA signs what it serves.

tests/e2e/test_chart_on_the_api_server.py has the real kube-apiserver accept the objects.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from colo import __version__
from colo.agent.kubeletcpu import CPU_MANAGER_STATE_PATH
from colo.cli.main import _parser
from colo.devcluster.chart import CHART, ChartError, Rendered, lint, render, validate
from colo.devcluster.withcolo import ADDRESS_FLAGS, PORT_NAMES, colo_argv, flags

pytestmark = pytest.mark.chart

ROOT = CHART.parents[2]
NS = "colo-system"
#: Values the downward API gives the env vars a command refers to, by field path.
DOWNWARD = {"spec.nodeName": "node-0001", "metadata.name": "colo-batch-7d9f-x7k2p"}
WORKLOADS = {"DaemonSet", "Deployment"}
OPTIONAL_APIS = ["cert-manager.io/v1", "monitoring.coreos.com/v1"]

#: Every option away from its default: the extender on, cert-manager and ServiceMonitors
#: forced, the agent reporting only, other names and ports, one replica, extra flags.
NON_DEFAULT: dict[str, Any] = {
    "schedulerName": "offline-batch",
    "image.tag": "0.1.0-rc1",
    "imagePullSecrets": ["regcred"],
    "commonLabels": {"team": "platform"},
    "metrics.serviceMonitor.enabled": True,
    "metrics.serviceMonitor.labels": {"release": "prometheus"},
    "agent.protect": False,
    "agent.cpusets": False,
    "agent.metricsPort": 19310,
    "agent.nodeSelector": {"colo.io/pool": "shared"},
    "agent.extraArgs": ["--min-rises=10"],
    "batch.replicas": 1,
    "batch.jobsOnVirtualNodes": "avoid",
    "batch.tolerations": [{"key": "dedicated", "operator": "Equal", "value": "infra",
                           "effect": "NoSchedule"}],
    "coordinator.port": 17070,
    "cron.manageJobs": False,
    "cron.lead": "30s",
    "webhook.failurePolicy": "Fail",
    "webhook.tls.certManager": True,
    "webhook.tls.issuerRef": {"name": "cluster-ca", "kind": "ClusterIssuer",
                              "group": "cert-manager.io"},
    "extender.enabled": True,
    "extender.replicas": 2,
    "dashboards.namespace": "monitoring",
}  # fmt: skip


@pytest.fixture(scope="module")
def default() -> Rendered:
    return render()


@pytest.fixture(scope="module")
def other() -> Rendered:
    return render(NON_DEFAULT, release="offline")


@pytest.fixture(scope="module", params=["default", "non-default"])
def each(request: pytest.FixtureRequest, default: Rendered, other: Rendered) -> Rendered:
    return default if request.param == "default" else other


def containers(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = doc["spec"]["template"]["spec"]
    yield from spec.get("initContainers") or []
    yield from spec["containers"]


def expand(container: dict[str, Any], namespace: str) -> list[str]:
    """The command with `$(VAR)` replaced as the kubelet would, from its env."""
    env: dict[str, str] = {}
    for var in container.get("env") or []:
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            field = var["valueFrom"]["fieldRef"]["fieldPath"]
            env[var["name"]] = namespace if field == "metadata.namespace" else DOWNWARD[field]

    def one(match: re.Match[str]) -> str:
        assert match.group(1) in env, f"{container['name']}: $({match.group(1)}) not in env"
        return env[match.group(1)]

    argv = [*container.get("command", []), *container.get("args", [])]
    return [re.sub(r"\$\((\w+)\)", one, arg) for arg in argv]


def parsed(doc: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Any:
    (c,) = doc["spec"]["template"]["spec"]["containers"]
    argv = expand(c, doc["metadata"]["namespace"])
    assert argv[0] == "colo", f"{doc['metadata']['name']}: not the colo entry point: {argv}"
    try:
        return _parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"colo refuses {argv[1:]}: {capsys.readouterr().err}", pytrace=False)


def workload(r: Rendered, component: str) -> dict[str, Any]:
    (found,) = [
        o for o in r.objects
        if o["kind"] in WORKLOADS
        and o["metadata"]["labels"]["app.kubernetes.io/name"] == f"colo-{component}"
    ]  # fmt: skip
    return found


def port_of(address: str) -> int:
    return int(address.rpartition(":")[2])


# --- helm and kubeconform ------------------------------------------------------------


def test_helm_lint_passes_strictly_for_default_and_non_default_values() -> None:
    for values in ({}, NON_DEFAULT):
        report = lint(values)
        assert "0 chart(s) failed" in report, report


def test_every_object_is_valid_against_the_kubernetes_1_35_schemas(each: Rendered) -> None:
    results = validate(each)
    assert len(results) == len(each.objects)
    assert {r["status"] for r in results} == {"statusValid"}


def test_the_optional_kinds_are_validated_against_their_crds() -> None:
    r = render({"webhook.tls.certManager": "auto"}, api_versions=OPTIONAL_APIS)
    kinds = {o["kind"] for o in r.objects}
    assert {"Certificate", "Issuer", "ServiceMonitor"} <= kinds
    validate(r)


def test_kubeconform_refuses_what_the_api_server_would(default: Rendered) -> None:
    """The validation is not a formality: a misspelt field, a string for a number, and
    a kind nobody defined are each refused, by name."""
    bad_field = default.text.replace("serviceAccountName:", "serviceAcountName:", 1)
    bad_type = re.sub(r"replicas: \d+", "replicas: two", default.text, count=1)
    unknown = default.text + "\n---\napiVersion: colo.io/v1\nkind: Mystery\nmetadata:\n  name: x\n"
    for text, says in (
        (bad_field, "serviceAcountName"),
        (bad_type, "replicas"),
        (unknown, "Mystery"),
    ):
        with pytest.raises(ChartError, match=says):
            validate(Rendered(text, default.objects))


def test_values_of_the_wrong_type_or_unknown_keys_are_refused_by_name() -> None:
    for values, says in (
        ({"batch.replicas": "two"}, "replicas"),
        ({"webhook.failurePolicy": "Sometimes"}, "failurePolicy"),
        ({"agent.interval": "5 minutes"}, "interval"),
        ({"batch.qsp": 10}, "qsp"),
    ):
        with pytest.raises(ChartError, match=says):
            render(values)


def test_the_extender_without_a_coordinator_is_refused_with_the_reason() -> None:
    with pytest.raises(ChartError, match=r"extender\.enabled needs coordinator\.enabled"):
        render({"extender.enabled": True, "coordinator.enabled": False})


# --- every process ---------------------------------------------------------------------


def test_each_process_runs_by_default_and_the_extender_only_when_asked(
    default: Rendered, other: Rendered
) -> None:
    names = {
        o["metadata"]["labels"]["app.kubernetes.io/name"]
        for o in default.objects
        if o["kind"] in WORKLOADS
    }
    assert names == {"colo-agent", "colo-batch", "colo-coordinator", "colo-cron", "colo-webhook"}
    assert workload(other, "extender")["kind"] == "Deployment"


def test_every_command_line_is_one_the_chart_s_colo_release_accepts(
    each: Rendered, capsys: pytest.CaptureFixture[str]
) -> None:
    for doc in each.objects:
        if doc["kind"] in WORKLOADS:
            args = parsed(doc, capsys)
            component = doc["metadata"]["labels"]["app.kubernetes.io/name"].removeprefix("colo-")
            assert args.command == {"coordinator": "coord"}.get(component, component)


def test_no_role_grants_a_wildcard(each: Rendered) -> None:
    for doc in each.objects:
        if doc["kind"] not in ("Role", "ClusterRole"):
            continue
        assert "aggregationRule" not in doc, doc["metadata"]["name"]
        for rule in doc.get("rules") or []:
            for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                for value in rule.get(key) or []:
                    assert "*" not in value, f"{doc['metadata']['name']}: {key} {value!r}"


def test_every_container_requests_resources_and_is_probed_where_it_serves_health(
    each: Rendered, capsys: pytest.CaptureFixture[str]
) -> None:
    for doc in each.objects:
        if doc["kind"] not in WORKLOADS:
            continue
        args = parsed(doc, capsys)
        serves = (
            args.port if args.command in ("webhook", "extender") else port_of(args.metrics_listen)
        )
        for c in containers(doc):
            where = f"{doc['metadata']['name']}/{c['name']}"
            assert {"cpu", "memory"} <= c["resources"]["requests"].keys(), where
            assert "memory" in c["resources"]["limits"], where
            named = {p["name"]: p["containerPort"] for p in c["ports"]}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                get = c[probe]["httpGet"]
                assert get["path"] == "/healthz", (where, probe)
                assert named[get["port"]] == serves, (where, probe)
                assert get.get("scheme", "HTTP") == (
                    "HTTPS" if args.command == "webhook" else "HTTP"
                ), (where, probe)


def test_pods_run_as_the_accounts_their_roles_are_bound_to(each: Rendered) -> None:
    accounts = {
        (o["metadata"]["namespace"], o["metadata"]["name"]) for o in each.of_kind("ServiceAccount")
    }
    for doc in each.objects:
        if doc["kind"] not in WORKLOADS:
            continue
        pod = doc["spec"]["template"]["spec"]
        account = (doc["metadata"]["namespace"], pod["serviceAccountName"])
        assert account in accounts, f"{doc['metadata']['name']}: no ServiceAccount {account}"
        subject = {"kind": "ServiceAccount", "name": account[1], "namespace": account[0]}
        bound = [
            b
            for b in each.objects
            if b["kind"] in ("RoleBinding", "ClusterRoleBinding") and subject in b["subjects"]
        ]
        if pod.get("automountServiceAccountToken") is False:
            assert not bound, f"{account} has no token yet is bound to roles"
            continue
        assert any(b["kind"] == "ClusterRoleBinding" for b in bound), account
        for b in bound:
            role_kind = b["roleRef"]["kind"]
            each.named(role_kind, b["roleRef"]["name"])  # the role exists
            if b["kind"] == "RoleBinding":
                role = each.named("Role", b["roleRef"]["name"])
                assert role["metadata"]["namespace"] == b["metadata"]["namespace"]


def test_selectors_match_their_pods(each: Rendered) -> None:
    pods = {}
    for doc in each.objects:
        if doc["kind"] in WORKLOADS:
            selector = doc["spec"]["selector"]["matchLabels"]
            labels = doc["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= labels.items(), doc["metadata"]["name"]
            pods[doc["metadata"]["name"]] = labels
    for doc in each.of_kind("Service") + each.of_kind("PodDisruptionBudget"):
        selector = doc["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        assert any(selector.items() <= labels.items() for labels in pods.values()), doc


def test_leader_elected_processes_may_hold_the_lease_they_elect_with(
    each: Rendered, capsys: pytest.CaptureFixture[str]
) -> None:
    for component, lease_of in (
        ("batch", lambda a: a.scheduler_name),
        ("cron", lambda a: "colo-cron"),
    ):
        doc = workload(each, component)
        args = parsed(doc, capsys)
        assert args.leader_elect is True
        account = doc["spec"]["template"]["spec"]["serviceAccountName"]
        subject = {
            "kind": "ServiceAccount",
            "name": account,
            "namespace": doc["metadata"]["namespace"],
        }
        roles = [
            each.named("Role", b["roleRef"]["name"])
            for b in each.of_kind("RoleBinding")
            if subject in b["subjects"]
        ]
        assert any(
            role["metadata"]["namespace"] == args.lease_namespace
            and lease_of(args) in r["resourceNames"]
            and {"get", "update"} <= set(r["verbs"])
            for role in roles
            for r in role["rules"]
            if r.get("resourceNames")
        ), roles


def test_colo_batch_reserves_at_the_coordinator_service(
    each: Rendered, capsys: pytest.CaptureFixture[str]
) -> None:
    batch, coord = (
        parsed(workload(each, "batch"), capsys),
        parsed(workload(each, "coordinator"), capsys),
    )
    host, _, port = batch.coordinator.rpartition(":")
    service_name, service_ns = host.split(".")[:2]
    service = each.named("Service", service_name)
    assert service["metadata"]["namespace"] == service_ns
    (grpc,) = [p for p in service["spec"]["ports"] if p["port"] == int(port)]
    (c,) = workload(each, "coordinator")["spec"]["template"]["spec"]["containers"]
    named = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert named[grpc["targetPort"]] == port_of(coord.listen)
    assert workload(each, "coordinator")["spec"]["replicas"] == 1


def test_schedulers_and_webhook_agree_on_the_scheduler_name(
    each: Rendered, capsys: pytest.CaptureFixture[str]
) -> None:
    names = {parsed(workload(each, c), capsys).scheduler_name for c in ("batch", "cron", "webhook")}
    assert len(names) == 1, names


def test_only_replicated_processes_have_disruption_budgets(each: Rendered) -> None:
    budgets = {p["metadata"]["name"] for p in each.of_kind("PodDisruptionBudget")}
    replicated = {
        d["metadata"]["name"] for d in each.of_kind("Deployment") if d["spec"]["replicas"] > 1
    }
    assert budgets == replicated


def test_colo_batch_sweeps_silent_nodes_where_the_agents_heartbeat_and_may(
    default: Rendered, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = workload(default, "batch")
    args = parsed(batch, capsys)
    agent = parsed(workload(default, "agent"), capsys)
    assert args.sweep_silent_nodes == 30.0
    assert args.heartbeat_namespace == agent.heartbeat_namespace
    # a node is silent after several of the agent's intervals, not within one
    assert args.sweep_silent_nodes >= 4 * agent.interval
    account = batch["spec"]["template"]["spec"]["serviceAccountName"]
    subject = {"kind": "ServiceAccount", "name": account, "namespace": NS}
    rules = [
        r
        for b in default.of_kind("RoleBinding") + default.of_kind("ClusterRoleBinding")
        if subject in b["subjects"]
        for r in default.named(b["roleRef"]["kind"], b["roleRef"]["name"])["rules"]
    ]
    assert any("nodes/status" in r["resources"] and "patch" in r["verbs"] for r in rules)
    assert any("leases" in r["resources"] and "list" in r["verbs"] for r in rules)
    # without agents there is nothing to sweep for
    off = parsed(workload(render({"agent.enabled": False}), "batch"), capsys)
    assert off.sweep_silent_nodes is None


# --- the agent -------------------------------------------------------------------------


def test_the_agent_runs_on_every_node_privileged_as_root_and_critical(default: Rendered) -> None:
    ds = workload(default, "agent")
    pod = ds["spec"]["template"]["spec"]
    assert {"operator": "Exists"} in pod["tolerations"]
    assert pod["priorityClassName"] == "system-node-critical"
    assert pod["hostPID"] is True
    sc = pod["containers"][0]["securityContext"]
    assert sc["privileged"] is True and sc["runAsUser"] == 0


def test_the_agent_s_cgroup_root_is_the_host_s_tree_writable(
    each: Rendered, capsys: pytest.CaptureFixture[str]
) -> None:
    ds = workload(each, "agent")
    pod = ds["spec"]["template"]["spec"]
    (agent,) = pod["containers"]
    args = parsed(ds, capsys)
    on_host = _parser().parse_args(["agent", "serve"]).cgroup_root
    (mount,) = [m for m in agent["volumeMounts"] if m["mountPath"] == args.cgroup_root]
    volume = {v["name"]: v for v in pod["volumes"]}[mount["name"]]
    assert volume["hostPath"]["path"] == on_host
    assert not mount.get("readOnly")
    assert args.node == DOWNWARD["spec.nodeName"]


def test_the_kubelet_checkpoint_is_mounted_read_only_where_the_agent_reads_it(
    default: Rendered,
) -> None:
    pod = workload(default, "agent")["spec"]["template"]["spec"]
    (agent,) = pod["containers"]
    (mount,) = [
        m for m in agent["volumeMounts"] if CPU_MANAGER_STATE_PATH.startswith(m["mountPath"] + "/")
    ]
    assert mount.get("readOnly") is True
    assert {v["name"]: v for v in pod["volumes"]}[mount["name"]]["hostPath"]["path"] == mount[
        "mountPath"
    ]


def test_the_agent_flags_follow_the_values(
    other: Rendered, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parsed(workload(other, "agent"), capsys)
    assert args.no_protect is True and args.no_cpusets is True
    assert port_of(args.metrics_listen) == NON_DEFAULT["agent.metricsPort"]
    assert args.min_rises == 10
    assert args.heartbeat_namespace == "colo-system"


# --- the webhook ---------------------------------------------------------------------


def _pem(data: str) -> bytes:
    import base64

    return base64.b64decode(data)


def test_the_webhook_s_ca_bundle_signs_the_certificate_it_serves_for_its_service(
    default: Rendered, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (config,) = default.of_kind("MutatingWebhookConfiguration")
    (hook,) = config["webhooks"]
    svc_ref = hook["clientConfig"]["service"]
    service = default.named("Service", svc_ref["name"])
    deploy = workload(default, "webhook")
    args = parsed(deploy, capsys)
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == svc_ref["port"]]
    (c,) = deploy["spec"]["template"]["spec"]["containers"]
    assert {p["name"]: p["containerPort"] for p in c["ports"]}[port["targetPort"]] == args.port
    assert svc_ref["path"] == "/mutate"
    # the Secret the pod mounts at the directory of --cert
    (mount,) = [m for m in c["volumeMounts"] if str(args.cert).startswith(m["mountPath"] + "/")]
    volume = {v["name"]: v for v in deploy["spec"]["template"]["spec"]["volumes"]}[mount["name"]]
    secret = default.named("Secret", volume["secret"]["secretName"])
    (tmp_path / "ca.crt").write_bytes(_pem(hook["clientConfig"]["caBundle"]))
    (tmp_path / "tls.crt").write_bytes(_pem(secret["data"][Path(args.cert).name]))
    (tmp_path / "tls.key").write_bytes(_pem(secret["data"][Path(args.key).name]))
    dns = f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc"
    verify = subprocess.run(
        [
            "openssl",
            "verify",
            "-CAfile",
            str(tmp_path / "ca.crt"),
            "-verify_hostname",
            dns,
            str(tmp_path / "tls.crt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # the key is the certificate's
    pub = [
        subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        for argv in (["openssl", "x509", "-noout", "-pubkey", "-in", str(tmp_path / "tls.crt")],
                     ["openssl", "pkey", "-pubout", "-in", str(tmp_path / "tls.key")])
    ]  # fmt: skip
    assert pub[0] == pub[1]


def test_the_webhook_leaves_its_own_namespace_alone_and_fails_open_by_default(
    default: Rendered, other: Rendered
) -> None:
    for r, policy in ((default, "Ignore"), (other, "Fail")):
        (config,) = r.of_kind("MutatingWebhookConfiguration")
        (hook,) = config["webhooks"]
        assert hook["failurePolicy"] == policy
        assert hook["sideEffects"] == "None"
        (own,) = [
            e
            for e in hook["namespaceSelector"]["matchExpressions"]
            if e["key"] == "kubernetes.io/metadata.name"
        ]
        assert own["operator"] == "NotIn" and {NS, "kube-system"} <= set(own["values"])
        assert {"operations": ["CREATE"], "resources": ["pods"]}.items() <= hook["rules"][0].items()


def test_with_cert_manager_the_ca_is_injected_from_the_certificate_the_pods_mount(
    other: Rendered,
) -> None:
    (config,) = other.of_kind("MutatingWebhookConfiguration")
    assert "caBundle" not in config["webhooks"][0]["clientConfig"]
    ns, name = config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"].split("/")
    cert = other.named("Certificate", name)
    assert cert["metadata"]["namespace"] == ns
    assert cert["spec"]["issuerRef"] == NON_DEFAULT["webhook.tls.issuerRef"]
    assert not other.of_kind("Issuer") and not other.of_kind("Secret")
    pod = workload(other, "webhook")["spec"]["template"]["spec"]
    assert {v["name"]: v for v in pod["volumes"]}["tls"]["secret"]["secretName"] == cert["spec"][
        "secretName"
    ]
    svc = other.named("Service", config["webhooks"][0]["clientConfig"]["service"]["name"])
    assert (
        f"{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc" in cert["spec"]["dnsNames"]
    )


def test_the_chart_makes_a_new_certificate_per_render_without_a_cluster_to_keep_one() -> None:
    """No Secret to look up (helm template): each render makes its own pair, and rolls the
    pods with it."""
    a, b = render(), render()
    sa, sb = a.named("Secret", "colo-webhook-tls"), b.named("Secret", "colo-webhook-tls")
    assert sa["data"]["tls.crt"] != sb["data"]["tls.crt"]
    annotations = [
        workload(r, "webhook")["spec"]["template"]["metadata"]["annotations"] for r in (a, b)
    ]
    assert annotations[0]["checksum/tls"] != annotations[1]["checksum/tls"]


# --- metrics and dashboards ------------------------------------------------------------


def test_service_monitors_follow_the_api_and_scrape_every_metrics_port() -> None:
    assert not render().of_kind("ServiceMonitor")
    r = render(api_versions=OPTIONAL_APIS)
    monitors = r.of_kind("ServiceMonitor")
    services = [s for s in r.of_kind("Service") if s["metadata"]["labels"].get("colo.io/metrics")]
    assert len(monitors) == len(services) == 4  # agent, batch, coordinator, cron
    for m in monitors:
        selector = m["spec"]["selector"]["matchLabels"]
        (svc,) = [s for s in services if selector.items() <= s["metadata"]["labels"].items()]
        assert m["spec"]["endpoints"][0]["port"] in {p["name"] for p in svc["spec"]["ports"]}


def test_each_dashboard_ships_as_a_configmap_for_grafana_s_sidecar(other: Rendered) -> None:
    files = sorted(p.name for p in (CHART / "dashboards").glob("*.json"))
    assert files, "the chart has no dashboards"
    maps = [
        m for m in other.of_kind("ConfigMap") if m["metadata"]["labels"].get("grafana_dashboard")
    ]
    assert sorted(k for m in maps for k in m["data"]) == files
    for m in maps:
        assert m["metadata"]["namespace"] == "monitoring"
        for text in m["data"].values():
            assert json.loads(text)["title"]


# --- the image -------------------------------------------------------------------------


def test_the_image_is_the_release_whose_flags_were_checked(default: Rendered) -> None:
    chart = (CHART / "Chart.yaml").read_text(encoding="utf-8")
    assert re.search(rf'^appVersion: "{re.escape(__version__)}"$', chart, re.M)
    for doc in default.objects:
        if doc["kind"] in WORKLOADS:
            for c in containers(doc):
                assert c["image"].rpartition(":")[2] == __version__


def test_the_dockerfile_builds_the_package_on_the_python_ci_tests() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    oldest = project["requires-python"].removeprefix(">=")
    bases = re.findall(r"^FROM python:(\d+\.\d+)-", dockerfile, re.M)
    assert bases and set(bases) == {oldest}
    for src in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.M):
        for path in src.split():
            assert (ROOT / path).exists(), f"Dockerfile copies {path}, which is not there"
    assert "colo" in project["scripts"]
    assert re.search(r"^USER 65532:65532$", dockerfile, re.M)


# --- the live system on the dev cluster ------------------------------------------------


def test_the_live_system_runs_each_process_with_the_chart_s_flags(default: Rendered) -> None:
    """`colo dev cluster up --with-colo` (colo.devcluster.withcolo) and the chart's
    defaults pass the same flags, but for where things are (addresses, files). The
    replay agent stands in for colo-agent: every flag they share has the same value."""
    dev = colo_argv(
        dict.fromkeys(PORT_NAMES, 1), cert_dir=Path("/tls"), kubeconfigs=None, traces=None
    )
    chart = {
        f"colo-{component}": expand(
            workload(default, component)["spec"]["template"]["spec"]["containers"][0], NS
        )[1:]
        for component in ("webhook", "coordinator", "batch", "cron", "agent")
    }

    def without_addresses(argv: list[str]) -> tuple[list[str], dict[str, str | None]]:
        words, given = flags(argv)
        return words, {k: v for k, v in given.items() if k not in ADDRESS_FLAGS}

    for process in ("colo-webhook", "colo-coordinator", "colo-batch", "colo-cron"):
        assert without_addresses(dev[process]) == without_addresses(chart[process]), process
    _, replay = without_addresses(dev["colo-agent-replay"])
    _, agent = without_addresses(chart["colo-agent"])
    shared = replay.keys() & agent.keys()
    assert {"--interval", "--safety-margin", "--threshold", "--heartbeat-namespace"} <= shared
    assert {k: replay[k] for k in shared} == {k: agent[k] for k in shared}
