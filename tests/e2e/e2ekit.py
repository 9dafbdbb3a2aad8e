"""Helpers shared by the e2e tests: sizes of the session cluster, polling, process checks."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from colo.devcluster import ClusterState
from colo.kube.transport import Transport

#: Nodes of the session cluster (conftest.dev_cluster).
STANDARD_NODES = 50
VIRTUAL_NODES = 5

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
Colo = Callable[..., subprocess.CompletedProcess[str]]


def eventually(
    check: Callable[[], Any], *, timeout_s: float = 30.0, poll_s: float = 0.2, what: str
) -> Any:
    """Call `check` until it returns something truthy; return that. Fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(poll_s)
    pytest.fail(f"timed out after {timeout_s:g} s waiting for {what} (last: {last!r})")


def live_pids_mentioning(text: str, *, exclude: Sequence[int] = ()) -> list[int]:
    """Pids of live (non-zombie) processes whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state = stat[stat.rindex(")") + 2 :].split()[0]
        if text in cmdline and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


# --- async helpers for the colo.kube tests ---------------------------------------


def transport(state: ClusterState, token: str | None = None) -> Transport:
    return Transport(state.server, token=token or state.token, ca_file=state.ca_file)


def pod_body(name: str, *, scheduler: str | None = None, **spec: Any) -> dict[str, Any]:
    """A minimal pod; `scheduler` sets schedulerName (so kube-scheduler leaves it alone)."""
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "colo-e2e"}},
        "spec": {
            "containers": [{"name": "c", "image": "busybox"}],
            "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists"}],
            **spec,
        },
    }
    if scheduler:
        body["spec"]["schedulerName"] = scheduler
    return body


async def new_namespace(t: Transport) -> str:
    ns = f"e2e-{uuid.uuid4().hex[:8]}"
    await t.post(
        "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    )
    return ns


async def delete_pod(t: Transport, ns: str, name: str) -> None:
    await t.request(
        "DELETE", f"/api/v1/namespaces/{ns}/pods/{name}", params={"gracePeriodSeconds": "0"}
    )


async def fresh(t: Transport, ns: str) -> dict[str, str]:
    page = await t.get(f"/api/v1/namespaces/{ns}/pods")
    return {
        f"{ns}/{o['metadata']['name']}": o["metadata"]["resourceVersion"] for o in page["items"]
    }
