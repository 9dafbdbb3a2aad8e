"""Two schedulers filling the same nodes: kube-scheduler (through colo-extender) and
colo-batch, both reserving at colo-coordinator, never over-commit a node at any instant;
the same race without the coordinator does.

Each run gets five of the session cluster's nodes to itself and pods (4 cpu each) pinned
there by node affinity, enough for each scheduler alone to fill them: together they ask
twice the room. kube-scheduler runs with a slow client (QPS 2), so it decides its pods
at once but its bindings trickle out, as they do under load; colo-batch starts a moment
later. Without a coordinator neither sees the other's decisions in time and kube-
scheduler's late bindings land on nodes colo-batch already filled. A test-side watch of
every pod checks each node's bound requests against its allocatable after every event,
so every state the API server went through is checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2ekit import new_namespace, pod_body, transport

from colo.core.changes import ChangeKind, ClusterEvent
from colo.core.objects import Pod
from colo.devcluster import ClusterState
from colo.devcluster.processes import background, free_ports, wait_listening
from colo.devcluster.scheduler import start_scheduler
from colo.kube.informer import Informer
from colo.kube.transport import Transport

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

POD_CPU_MILLI = 4000


def colo(args: list[str], log: Path) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return background([sys.executable, "-m", "colo.cli.main", *args], log)


class Watch:
    """Every pod, cluster-wide; after each change, each watched node's bound cpu."""

    def __init__(self, t: Transport, alloc: dict[str, int]) -> None:
        self.alloc = alloc
        self.informer = Informer(t, "pods")
        self.on: dict[str, tuple[str, int]] = {}  # pod -> (node, cpu) while it holds room
        self.used = dict.fromkeys(alloc, 0)
        self.worst = dict.fromkeys(alloc, 0)  # the most a node ever went over (milli)
        self.bound_by: dict[str, int] = {}
        self.informer.subscribe(self.change)

    def change(self, ev: ClusterEvent) -> None:
        pod = ev.pod
        if pod is None:
            return
        held = self.on.pop(pod.key, None)
        if held is not None:
            self.used[held[0]] -= held[1]
        if ev.kind is not ChangeKind.DELETED and pod.node_name in self.alloc and not pod.terminal:
            self.on[pod.key] = (pod.node_name, pod.requests.cpu_milli)
            self.used[pod.node_name] += pod.requests.cpu_milli
            if held is None:
                self.bound_by[pod.scheduler_name] = self.bound_by.get(pod.scheduler_name, 0) + 1
        for node, used in self.used.items():
            self.worst[node] = max(self.worst[node], used - self.alloc[node])


async def _race(
    state: ClusterState, nodes: list[str], logs: Path, *, coordinated: bool
) -> tuple[Watch, dict[str, int]]:
    tag = "coord" if coordinated else "control"
    kube_name, batch_name = f"{tag}-kube-scheduler", f"{tag}-colo-batch"
    async with transport(state) as t:
        alloc = {}
        for n in nodes:
            raw = await t.get(f"/api/v1/nodes/{n}")
            cpu = raw["status"]["allocatable"]["cpu"]
            container = {"name": "c", "resources": {"requests": {"cpu": cpu}}}
            probe = {"metadata": {"name": "x"}, "spec": {"containers": [container]}}
            alloc[n] = Pod.from_k8s(probe).requests.cpu_milli
        watch = Watch(t, alloc)
        watching = asyncio.ensure_future(watch.informer.run())
        try:
            await watch.informer.wait_synced()
            room = sum((alloc[n] - watch.used[n]) // POD_CPU_MILLI for n in nodes)
            assert room >= 10, f"too little room left on {nodes}: {watch.used}"
            ns = await new_namespace(t)
            match = {"key": "kubernetes.io/hostname", "operator": "In", "values": nodes}
            required = {"nodeSelectorTerms": [{"matchExpressions": [match]}]}
            affinity = {
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}
            }
            # kube-scheduler asks for half the room, colo-batch for all of it
            for scheduler, count in ((kube_name, room // 2), (batch_name, room)):
                for i in range(count):
                    body = pod_body(f"{scheduler}-{i}", scheduler=scheduler, affinity=affinity)
                    body["spec"]["containers"][0]["resources"] = {
                        "requests": {"cpu": f"{POD_CPU_MILLI}m", "memory": "64Mi"}
                    }
                    await t.post(f"/api/v1/namespaces/{ns}/pods", body)
            await _run_schedulers(state, logs, kube_name, batch_name, watch, coordinated)
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            with contextlib.suppress(Exception):
                await t.request("DELETE", f"/api/v1/namespaces/{ns}")
        return watch, alloc


async def _run_schedulers(
    state: ClusterState, logs: Path, kube_name: str, batch_name: str, watch: Watch,
    coordinated: bool,
) -> None:  # fmt: skip
    kube = ["--kubeconfig", state.kubeconfig]
    with contextlib.ExitStack() as stack:
        batch_args = ["batch", "serve", *kube, "--no-leader-elect", "--scheduler-name", batch_name]
        tail = f"profiles:\n- schedulerName: {kube_name}\n"
        if coordinated:
            coord_port, ext_port = free_ports(2)
            coord_log = logs / "coordinator.log"
            coord = stack.enter_context(
                colo(["coord", "serve", *kube, "--listen", f"127.0.0.1:{coord_port}"], coord_log)
            )
            wait_listening(coord_port, coord, coord_log)
            ext_log = logs / "extender.log"
            # kube-scheduler hands its bindings to the extender: slow them there
            ext = stack.enter_context(colo(
                ["extender", "serve", *kube, "--coordinator", f"127.0.0.1:{coord_port}",
                 "--port", str(ext_port), "--qps", "2", "--burst", "1"], ext_log))  # fmt: skip
            wait_listening(ext_port, ext, ext_log)
            batch_args += ["--coordinator", f"127.0.0.1:{coord_port}"]
            tail += (
                "extenders:\n"
                f"- urlPrefix: http://127.0.0.1:{ext_port}\n"
                "  filterVerb: filter\n"
                "  bindVerb: bind\n"
                "  nodeCacheCapable: true\n"
                "  weight: 1\n"
            )
        sched = await asyncio.to_thread(
            start_scheduler, state, name=kube_name, config_tail=tail, qps=2.0, burst=1
        )
        stack.callback(sched.stop)
        stack.enter_context(colo(batch_args, logs / f"{batch_name}.log"))
        # until nothing more gets bound for a while (the nodes are full)
        last, quiet_since = -1, time.monotonic()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            bound = len(watch.on)
            if bound != last:
                last, quiet_since = bound, time.monotonic()
            elif time.monotonic() - quiet_since > 8:
                break
            await asyncio.sleep(0.2)
    for log in logs.glob("*.log"):
        text = log.read_text(errors="replace")
        assert "Traceback" not in text, f"{log}: {text[-3000:]}"


def test_with_the_coordinator_no_node_is_ever_over_committed(
    dev_cluster: ClusterState, tmp_path: Path
) -> None:
    nodes = [f"node-{i:04d}" for i in range(40, 45)]
    watch, alloc = asyncio.run(_race(dev_cluster, nodes, tmp_path, coordinated=True))
    assert max(watch.worst.values()) <= 0, watch.worst
    print(f"with the coordinator: worst per node {watch.worst}, pods bound {watch.bound_by}")
    # both schedulers placed pods, and together they filled the nodes
    assert watch.bound_by.get("coord-kube-scheduler", 0) > 0, watch.bound_by
    assert watch.bound_by.get("coord-colo-batch", 0) > 0, watch.bound_by
    assert all(alloc[n] - watch.used[n] < POD_CPU_MILLI for n in nodes), watch.used
    # and they did race: colo-batch's view missed kube-scheduler's reservations
    batch_log = (tmp_path / "coord-colo-batch.log").read_text()
    assert "coordinator refused" in batch_log, batch_log[-2000:]


def test_without_the_coordinator_the_same_race_over_commits_nodes(
    dev_cluster: ClusterState, tmp_path: Path
) -> None:
    nodes = [f"node-{i:04d}" for i in range(45, 50)]
    watch, _ = asyncio.run(_race(dev_cluster, nodes, tmp_path, coordinated=False))
    over = {n: w for n, w in watch.worst.items() if w > 0}
    print(f"without the coordinator: worst over-commit per node (milli-cpu) {watch.worst}, "
          f"pods bound {watch.bound_by}")  # fmt: skip
    assert over, f"expected over-committed nodes without the coordinator: {watch.worst}"
