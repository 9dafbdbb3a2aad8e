"""The dev cluster: real control plane, kwok nodes, scheduling, the CLI, and failures."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from e2ekit import (
    STANDARD_NODES,
    VIRTUAL_NODES,
    Colo,
    Kubectl,
    eventually,
    live_pids_mentioning,
)

from colo.core.quantity import parse_quantity
from colo.devcluster import (
    JOB_POD_RUN_DURATION_ANNOTATION,
    KWOK_TAINT,
    VIRTUAL_TAINT,
    ApiClient,
    BinariesMissing,
    ClusterAlreadyRunning,
    ClusterOptions,
    ClusterState,
    ComponentFailed,
    DevCluster,
    ProcessRecord,
    is_running,
)
from colo.devcluster.binaries import find_kubectl

pytestmark = pytest.mark.e2e

GIB = 1024**3

NS = "default"


def _toleration(taint: dict[str, str]) -> dict[str, str]:
    return {"key": taint["key"], "operator": "Exists", "effect": taint["effect"]}


def _pod_spec(*, node_type: str, tolerate: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "restartPolicy": "Never",
        "nodeSelector": {"type": node_type},
        "tolerations": [_toleration(t) for t in tolerate],
        "containers": [
            {
                "name": "work",
                "image": "busybox",
                "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}},
            }
        ],
    }


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _pods_of_job(api: ApiClient, job: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get(
        f"/api/v1/namespaces/{NS}/pods?labelSelector=job-name%3D{job}"
    )["items"]
    return items


def _job_condition(api: ApiClient, job: str, kind: str) -> bool:
    status = api.get(f"/apis/batch/v1/namespaces/{NS}/jobs/{job}").get("status", {})
    return any(c["type"] == kind and c["status"] == "True" for c in status.get("conditions") or [])


# --- nodes ---------------------------------------------------------------------------


def test_every_standard_and_virtual_node_is_listed_ready_and_tainted(kubectl: Kubectl) -> None:
    done = kubectl("get", "nodes", "-o", "json")
    assert done.returncode == 0, done.stderr
    nodes = {n["metadata"]["name"]: n for n in json.loads(done.stdout)["items"]}
    standard = [f"node-{i:04d}" for i in range(STANDARD_NODES)]
    virtual = [f"virtual-node-{i:04d}" for i in range(VIRTUAL_NODES)]
    assert sorted(nodes) == sorted(standard + virtual)
    for name, node in nodes.items():
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
        assert ready == "True", name
        assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
        assert node["metadata"]["labels"]["kubernetes.io/hostname"] == name
        taints = {(t["key"], t["effect"]) for t in node["spec"]["taints"]}
        assert (KWOK_TAINT["key"], "NoSchedule") in taints
    for name in standard:
        node = nodes[name]
        capacity = {k: parse_quantity(v) for k, v in node["status"]["capacity"].items()}
        assert node["metadata"]["labels"]["type"] == "kwok"
        assert 32 <= capacity["cpu"] <= 96
        assert 128 * GIB <= capacity["memory"] <= 384 * GIB
        assert capacity["pods"] == 110
    for name in virtual:
        node = nodes[name]
        assert node["metadata"]["labels"]["type"] == "virtual-kubelet"
        assert (VIRTUAL_TAINT["key"], "NoSchedule") in {
            (t["key"], t["effect"]) for t in node["spec"]["taints"]
        }
        assert parse_quantity(node["status"]["allocatable"]["pods"]) == 5000


# --- scheduling and kwok's pod lifecycle ---------------------------------------------


@pytest.mark.slow
def test_a_job_is_scheduled_onto_kwok_nodes_runs_and_completes(api: ApiClient) -> None:
    name = _unique("wave")
    template_annotations = {JOB_POD_RUN_DURATION_ANNOTATION: "3s"}
    api.post(
        f"/apis/batch/v1/namespaces/{NS}/jobs",
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {
                "completions": 3,
                "parallelism": 3,
                "template": {
                    "metadata": {"annotations": template_annotations},
                    "spec": _pod_spec(node_type="kwok", tolerate=[KWOK_TAINT]),
                },
            },
        },
    )

    def all_running() -> list[dict[str, Any]]:
        pods = _pods_of_job(api, name)
        ok = len(pods) == 3 and all(p["status"].get("phase") == "Running" for p in pods)
        return pods if ok else []

    pods = eventually(all_running, timeout_s=30, what=f"3 Running pods of job {name}")
    for pod in pods:
        assert pod["spec"]["nodeName"].startswith("node-")
        assert pod["spec"]["schedulerName"] == "default-scheduler"
        assert pod["status"]["podIP"].startswith("10.244.")
    eventually(
        lambda: _job_condition(api, name, "Complete"), timeout_s=30, what=f"job {name} Complete"
    )
    phases = {p["status"]["phase"] for p in _pods_of_job(api, name)}
    assert phases == {"Succeeded"}


def test_a_pod_for_the_virtual_pool_lands_on_a_virtual_node_and_stays_running(
    api: ApiClient,
) -> None:
    name = _unique("serverless")
    api.post(
        f"/api/v1/namespaces/{NS}/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": _pod_spec(node_type="virtual-kubelet", tolerate=[KWOK_TAINT, VIRTUAL_TAINT]),
        },
    )
    path = f"/api/v1/namespaces/{NS}/pods/{name}"
    pod = eventually(
        lambda: (p := api.get(path))["status"].get("phase") == "Running" and p,
        timeout_s=30,
        what=f"pod {name} Running",
    )
    assert pod["spec"]["nodeName"].startswith("virtual-node-")
    # Not owned by a Job: kwok leaves it Running. Job pods without a run-duration
    # annotation complete at once, so 2 s of Running shows the job stage did not match.
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        assert api.get(path)["status"]["phase"] == "Running"
        time.sleep(0.2)


def test_a_pod_that_does_not_tolerate_the_kwok_taint_stays_pending(api: ApiClient) -> None:
    name = _unique("intolerant")
    api.post(
        f"/api/v1/namespaces/{NS}/pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": _pod_spec(node_type="kwok", tolerate=[]),
        },
    )

    def unschedulable() -> bool:
        status = api.get(f"/api/v1/namespaces/{NS}/pods/{name}")["status"]
        return any(
            c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable"
            for c in status.get("conditions") or []
        )

    eventually(unschedulable, timeout_s=30, what=f"pod {name} marked Unschedulable")
    assert api.get(f"/api/v1/namespaces/{NS}/pods/{name}")["status"]["phase"] == "Pending"


# --- the CLI -------------------------------------------------------------------------


def test_env_prints_exports_that_work_with_kubectl(
    dev_cluster: ClusterState, colo: Colo, kubectl: Kubectl
) -> None:
    done = colo("dev", "cluster", "env", "--dir", dev_cluster.directory)
    assert done.returncode == 0, done.stderr
    exported: dict[str, str] = {}
    for line in done.stdout.splitlines():
        assert line.startswith("export "), line
        key, _, value = line.removeprefix("export ").partition("=")
        exported[key] = shlex.split(value)[0]
    built = find_kubectl()
    assert built is not None
    assert exported == {
        "KUBECONFIG": dev_cluster.kubeconfig,
        "COLO_DEV_SERVER": dev_cluster.server,
        "COLO_DEV_TOKEN": dev_cluster.token,
        "PATH": f"{built.parent}:$PATH",
    }
    # as a user runs it: eval the exports in a shell, then the built kubectl comes first
    env_cmd = f"{sys.executable} -m colo.cli.main dev cluster env --dir {dev_cluster.directory}"
    script = f'eval "$({env_cmd})"; command -v kubectl; kubectl get nodes --no-headers'
    shell = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert shell.returncode == 0, shell.stderr
    first, *nodes = shell.stdout.splitlines()
    assert first == str(built)
    assert len(nodes) == STANDARD_NODES + VIRTUAL_NODES
    # The server and token work without a kubeconfig, too.
    raw = ApiClient(exported["COLO_DEV_SERVER"], exported["COLO_DEV_TOKEN"], ca_file=None)
    assert raw.get("/version")["gitVersion"].startswith("v1.")
    raw.close()


@pytest.mark.slow
def test_cli_up_outlives_the_command_and_down_leaves_no_process(
    tmp_path: Path, colo: Colo, kubectl: Kubectl
) -> None:
    directory = tmp_path / "cli-cluster"
    up = colo(
        "dev", "cluster", "up", "--nodes", "2", "--virtual-nodes", "1", "--dir", str(directory)
    )
    try:
        assert up.returncode == 0, up.stderr
        assert f"export KUBECONFIG={directory / 'kubeconfig'}" in up.stdout
        state = json.loads((directory / "state.json").read_text())
        records = [ProcessRecord.from_json(p) for p in state["processes"]]
        assert {r.name for r in records} == {
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kwok",
        }
        assert all(is_running(r) for r in records), "components must outlive `colo ... up`"
        nodes = kubectl("get", "nodes", "--no-headers", env={"KUBECONFIG": state["kubeconfig"]})
        assert nodes.returncode == 0, nodes.stderr
        assert len(nodes.stdout.splitlines()) == 3
    finally:
        down = colo("dev", "cluster", "down", "--dir", str(directory))
    assert down.returncode == 0, down.stderr
    assert "stopped" in down.stdout
    assert not [r for r in records if is_running(r)]
    assert not live_pids_mentioning(str(directory))
    assert not (directory / "state.json").exists()
    assert (directory / "logs" / "kube-apiserver.log").stat().st_size > 0

    env = colo("dev", "cluster", "env", "--dir", str(directory))
    assert env.returncode == 1
    assert "no dev cluster is running" in env.stderr
    again = colo("dev", "cluster", "down", "--dir", str(directory))
    assert again.returncode == 0
    assert "no dev cluster running" in again.stdout


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--nodes", "-1"], id="negative nodes"),
        pytest.param(["--controller-qps", "0"], id="zero qps"),
        pytest.param(["--no-such-flag"], id="unknown flag"),
    ],
)
def test_bad_up_flags_exit_2(argv: list[str], colo: Colo, tmp_path: Path) -> None:
    done = colo("dev", "cluster", "up", *argv, "--dir", str(tmp_path / "never"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "never").exists()


# --- failures --------------------------------------------------------------------------


def _assert_nothing_left(directory: Path) -> None:
    assert not (directory / "state.json").exists()
    assert not live_pids_mentioning(str(directory))


def test_an_occupied_apiserver_port_names_kube_apiserver_and_shows_its_log(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ComponentFailed) as failed:
            DevCluster(tmp_path).up(ClusterOptions(ports={"kube-apiserver": port}))
    assert failed.value.component == "kube-apiserver"
    message = str(failed.value)
    assert message.startswith("kube-apiserver exited with code")
    assert "address already in use" in message
    assert str(tmp_path / "logs" / "kube-apiserver.log") in message
    _assert_nothing_left(tmp_path)


@pytest.mark.slow
def test_a_broken_flag_names_the_component_and_shows_the_last_log_lines(tmp_path: Path) -> None:
    with pytest.raises(ComponentFailed) as failed:
        DevCluster(tmp_path).up(
            ClusterOptions(extra_args={"kube-controller-manager": ["--no-such-flag"]})
        )
    assert failed.value.component == "kube-controller-manager"
    assert len(failed.value.log_tail) == 20
    assert "unknown flag: --no-such-flag" in failed.value.log_tail[-1]
    assert "unknown flag: --no-such-flag" in str(failed.value)
    _assert_nothing_left(tmp_path)


@pytest.mark.slow
def test_a_component_that_crashes_at_start_is_named_with_its_output(tmp_path: Path) -> None:
    fake_kwok = tmp_path / "fake-kwok"
    fake_kwok.write_text("#!/bin/sh\necho 'kwok: pretend crash' >&2\nexit 3\n")
    fake_kwok.chmod(0o755)
    manifest = _manifest_with(tmp_path, kwok=fake_kwok)
    with pytest.raises(ComponentFailed) as failed:
        DevCluster(tmp_path / "state", manifest=manifest).up(ClusterOptions())
    assert failed.value.component == "kwok"
    assert "exited with code 3" in str(failed.value)
    assert "kwok: pretend crash" in failed.value.log_tail
    _assert_nothing_left(tmp_path / "state")


def test_missing_binaries_say_to_run_make_cluster_bins(tmp_path: Path) -> None:
    manifest = _manifest_with(tmp_path, **{"kube-apiserver": tmp_path / "no-such-binary"})
    with pytest.raises(BinariesMissing, match="run make cluster-bins"):
        DevCluster(tmp_path / "state", manifest=manifest).up(ClusterOptions())
    with pytest.raises(BinariesMissing, match=r"manifest does not exist.*run make cluster-bins"):
        DevCluster(tmp_path / "state", manifest=tmp_path / "absent.json").up()


def test_up_refuses_while_a_cluster_runs_from_the_same_directory(
    dev_cluster: ClusterState,
) -> None:
    with pytest.raises(ClusterAlreadyRunning, match="colo dev cluster down"):
        DevCluster(dev_cluster.directory).up(ClusterOptions())
    assert DevCluster(dev_cluster.directory).running().server == dev_cluster.server


def _manifest_with(tmp_path: Path, **overrides: Path) -> Path:
    """A copy of the real manifest with some binaries pointed elsewhere."""
    from colo.devcluster.binaries import default_manifest

    source = default_manifest()
    if not source.exists():
        pytest.fail(f"no manifest at {source}; run make cluster-bins", pytrace=False)
    manifest = json.loads(source.read_text())
    for name, path in overrides.items():
        manifest[name] = {**manifest[name], "path": str(path)}
    target = tmp_path / "manifest.json"
    target.write_text(json.dumps(manifest))
    return target


def test_each_component_has_its_own_token_and_the_user_kubeconfig_is_private(
    dev_cluster: ClusterState,
) -> None:
    # Every component was given its own kubeconfig with its own token.
    config = Path(dev_cluster.directory) / "config"
    tokens = {
        p.name: next(line for line in p.read_text().splitlines() if "token:" in line)
        for p in config.glob("*.kubeconfig")
    }
    assert set(tokens) == {
        "kube-controller-manager.kubeconfig",
        "kube-scheduler.kubeconfig",
        "kwok.kubeconfig",
    }
    assert len(set(tokens.values())) == 3
    assert os.stat(dev_cluster.kubeconfig).st_mode & 0o077 == 0
