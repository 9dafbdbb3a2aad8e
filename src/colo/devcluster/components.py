"""Command lines, config files and readiness probes of the five components.

Everything listens on 127.0.0.1 only. Ports come in a `Ports` mapping keyed by the names
below; `etcd-peer` is etcd's peer port, the rest are each component's serving port.

| component               | ready when                                  |
|-------------------------|---------------------------------------------|
| etcd                    | GET http://…/health says ``"health":"true"`` |
| kube-apiserver          | GET https://…/readyz with the admin token → 200 |
| kube-controller-manager | GET https://…/healthz → 200                 |
| kube-scheduler          | GET https://…/healthz → 200                 |
| kwok                    | GET http://…/healthz → 200 (served once its controllers run) |
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Mapping
from pathlib import Path

from colo.devcluster.binaries import APISERVER, CONTROLLER_MANAGER, ETCD, KWOK, SCHEDULER
from colo.devcluster.layout import Layout
from colo.devcluster.nodes import KWOK_ANNOTATION
from colo.devcluster.processes import Probe

ETCD_PEER = "etcd-peer"
PORT_NAMES = (ETCD, ETCD_PEER, APISERVER, CONTROLLER_MANAGER, SCHEDULER, KWOK)
HOST = "127.0.0.1"

SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
NODE_IP = "10.0.0.1"
NODE_LEASE_DURATION_S = 40

Ports = Mapping[str, int]


def server_url(ports: Ports) -> str:
    return f"https://{HOST}:{ports[APISERVER]}"


def etcd_argv(binary: Path, layout: Layout, ports: Ports) -> list[str]:
    client = f"http://{HOST}:{ports[ETCD]}"
    peer = f"http://{HOST}:{ports[ETCD_PEER]}"
    return [
        str(binary),
        "--name=colo",
        f"--data-dir={layout.etcd_dir}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=colo={peer}",
        # A throwaway cluster: losing the last writes on a crash is fine, speed is not.
        "--unsafe-no-fsync",
    ]


def apiserver_argv(binary: Path, layout: Layout, ports: Ports) -> list[str]:
    return [
        str(binary),
        f"--etcd-servers=http://{HOST}:{ports[ETCD]}",
        f"--bind-address={HOST}",
        f"--advertise-address={HOST}",
        f"--secure-port={ports[APISERVER]}",
        f"--cert-dir={layout.cert_dir}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={layout.config('sa.pub')}",
        f"--service-account-signing-key-file={layout.config('sa.key')}",
        f"--token-auth-file={layout.config('tokens.csv')}",
        "--authorization-mode=RBAC",
        # ServiceAccount: no kubelet mounts service-account tokens into pods here.
        # TaintNodesByCondition: it taints every new Node not-ready, and at the stock
        # controller-manager QPS lifting those taints takes ~0.2 s per node (minutes for a
        # thousand); kwok marks nodes Ready at once, so they start schedulable instead.
        # Nodes that later turn NotReady are still tainted by the node-lifecycle controller.
        "--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
        # The endpoints of service "kubernetes" would name 127.0.0.1, which is invalid.
        "--endpoint-reconciler-type=none",
        "--allow-privileged=true",
        # Thousands of nodes and bursts of pods: no server-side throttling.
        "--max-requests-inflight=0",
        "--max-mutating-requests-inflight=0",
        "--enable-priority-and-fairness=false",
    ]


def controller_manager_argv(
    binary: Path,
    layout: Layout,
    ports: Ports,
    *,
    cronjob_controller: bool,
    qps: float,
    burst: int,
) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={layout.config('kube-controller-manager.kubeconfig')}",
        "--leader-elect=false",
        f"--bind-address={HOST}",
        f"--secure-port={ports[CONTROLLER_MANAGER]}",
        "--controllers=*" if cronjob_controller else "--controllers=*,-cronjob-controller",
        f"--kube-api-qps={qps:g}",
        f"--kube-api-burst={burst}",
        f"--service-account-private-key-file={layout.config('sa.key')}",
        f"--root-ca-file={layout.ca_file}",
        # Its default is under /usr/libexec, which it would create.
        f"--flex-volume-plugin-dir={layout.config('flexvolume')}",
    ]


def render_scheduler_config(layout: Layout, *, qps: float, burst: int) -> str:
    kubeconfig = json.dumps(str(layout.config("kube-scheduler.kubeconfig")))
    return (
        "apiVersion: kubescheduler.config.k8s.io/v1\n"
        "kind: KubeSchedulerConfiguration\n"
        "clientConnection:\n"
        f"  kubeconfig: {kubeconfig}\n"
        f"  qps: {float(qps)}\n"
        f"  burst: {burst}\n"
        "leaderElection:\n"
        "  leaderElect: false\n"
    )


def scheduler_argv(binary: Path, layout: Layout, ports: Ports) -> list[str]:
    return [
        str(binary),
        f"--config={layout.config('kube-scheduler.yaml')}",
        f"--bind-address={HOST}",
        f"--secure-port={ports[SCHEDULER]}",
    ]


def kwok_argv(binary: Path, layout: Layout, ports: Ports) -> list[str]:
    return [
        str(binary),
        f"--config={layout.config('kwok.yaml')}",
        f"--kubeconfig={layout.config('kwok.kubeconfig')}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake",
        f"--cidr={POD_CIDR}",
        f"--node-ip={NODE_IP}",
        f"--node-lease-duration-seconds={NODE_LEASE_DURATION_S}",
        f"--server-address={HOST}:{ports[KWOK]}",
    ]


def http_probe(
    url_path: str,
    port: int,
    *,
    tls: bool,
    token: str | None = None,
    body_contains: bytes | None = None,
    timeout_s: float = 2.0,
) -> Probe:
    """A probe: GET `url_path` on 127.0.0.1:`port` answers 200 (and contains `body_contains`).

    TLS is not verified: the probe only asks whether the component serves yet.
    """

    context = ssl._create_unverified_context() if tls else None  # once, not per poll

    def probe() -> bool:
        conn: http.client.HTTPConnection
        if context is not None:
            conn = http.client.HTTPSConnection(HOST, port, timeout=timeout_s, context=context)
        else:
            conn = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            conn.request("GET", url_path, headers=headers)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()
        return response.status == 200 and (body_contains is None or body_contains in body)

    return probe


def readiness_probe(component: str, ports: Ports, *, admin_token: str) -> Probe:
    if component == ETCD:
        return http_probe("/health", ports[ETCD], tls=False, body_contains=b'"health":"true"')
    if component == APISERVER:
        return http_probe("/readyz", ports[APISERVER], tls=True, token=admin_token)
    if component in (CONTROLLER_MANAGER, SCHEDULER):
        return http_probe("/healthz", ports[component], tls=True)
    if component == KWOK:
        return http_probe("/healthz", ports[KWOK], tls=False)
    raise ValueError(f"unknown component {component!r}")
