"""One real dev cluster for the whole e2e session, and helpers to talk to it.

The `dev_cluster` fixture starts etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok on 127.0.0.1 in a temporary directory, with 50 standard and 5
virtual kwok nodes, and stops every process at the end of the session (also when tests
fail). Without the binaries of `make cluster-bins` it fails (it does not skip), saying
so: an e2e run that silently tests nothing is worse than a red one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from e2ekit import STANDARD_NODES, VIRTUAL_NODES, Colo, Kubectl

from colo.devcluster import (
    ApiClient,
    BinariesMissing,
    ClusterOptions,
    ClusterState,
    DevCluster,
    is_running,
    load_binaries,
)
from colo.devcluster.binaries import find_kubectl


@pytest.fixture(scope="session")
def _session_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DevCluster, ClusterState]]:
    cluster = DevCluster(tmp_path_factory.mktemp("dev-cluster"))
    try:
        load_binaries()
    except BinariesMissing as exc:
        missing = str(exc)
    else:
        missing = ""
    if missing:
        pytest.fail(f"e2e tests need the control-plane binaries: {missing}", pytrace=False)
    state = cluster.up(
        ClusterOptions(
            nodes=STANDARD_NODES,
            virtual_nodes=VIRTUAL_NODES,
            with_scheduler=True,
            cronjob_controller=False,  # colo-cron runs CronJobs (tests/e2e/test_cron_controller.py)
        )
    )
    try:
        yield cluster, state
    finally:
        stopped = cluster.down()
        left = [r for r in stopped if is_running(r)]
        assert not left, f"still running after down: {left}"


@pytest.fixture(scope="session")
def dev_cluster(_session_cluster: tuple[DevCluster, ClusterState]) -> ClusterState:
    """A running cluster: `.kubeconfig`, `.server`, `.token`, `.directory`, `.client()`."""
    return _session_cluster[1]


@pytest.fixture(scope="session")
def dev_cluster_handle(_session_cluster: tuple[DevCluster, ClusterState]) -> DevCluster:
    """The session cluster's `DevCluster`, for tests that stop and start one of its
    processes again (`kill`, `restart`)."""
    return _session_cluster[0]


@pytest.fixture(scope="session")
def api(dev_cluster: ClusterState) -> Iterator[ApiClient]:
    client = dev_cluster.client()
    yield client
    client.close()


def _kubectl_binary() -> str:
    """The kubectl built by make cluster-bins (so CI needs nothing installed by hand)."""
    built = find_kubectl()
    if built is None:
        pytest.fail(
            "kubectl missing from the cluster-bins manifest; run make cluster-bins", pytrace=False
        )
    return str(built)


@pytest.fixture(scope="session")
def kubectl(dev_cluster: ClusterState) -> Kubectl:
    """Run kubectl against the session cluster; returns the completed process."""
    binary = _kubectl_binary()

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        merged = {**os.environ, "KUBECONFIG": dev_cluster.kubeconfig, **(env or {})}
        return subprocess.run(
            [binary, *args], env=merged, capture_output=True, text=True, timeout=60, check=False
        )

    return run


@pytest.fixture(scope="session")
def colo() -> Colo:
    """Run the `colo` CLI in a fresh Python process (as a user would)."""

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "colo.cli.main", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run
