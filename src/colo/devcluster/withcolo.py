"""colo's own processes beside a dev cluster: `colo dev cluster up --with-colo`.

| process           | command              | healthy when (`readiness_probe`)          |
|-------------------|----------------------|-------------------------------------------|
| colo-coordinator  | `colo coord serve`   | /healthz (metrics port) and gRPC accepts  |
| colo-webhook      | `colo webhook serve` | /healthz over TLS; then `up` registers it |
| colo-batch        | `colo batch serve`   | /healthz (metrics port)                   |
| colo-cron         | `colo cron serve`    | /healthz (metrics port)                   |
| colo-agent-replay | `colo agent replay`  | /healthz (served once nodes are warm)     |

`colo_argv` is the one place their command lines are made. Their flags are the Helm
chart's (deploy/helm/colo), except those that say *where* — `ADDRESS_FLAGS`: addresses,
ports, certificate paths and the kubeconfig (the chart's pods use their service account).
colo-agent-replay stands in for the chart's colo-agent DaemonSet (kwok nodes have no
cgroups) with the agent's reporting values (interval, safety margin, threshold, heartbeat
namespace). A test of the chart compares `flags(colo_argv(...)[name])` with the flags
of the chart's container, leaving out `ADDRESS_FLAGS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from colo.devcluster.components import HOST, http_probe
from colo.devcluster.processes import Probe, tcp_probe

COORDINATOR = "colo-coordinator"
WEBHOOK = "colo-webhook"
BATCH = "colo-batch"
CRON = "colo-cron"
REPLAY = "colo-agent-replay"
#: In the order `up` starts them (colo-batch reserves at the coordinator).
PROCESSES = (COORDINATOR, WEBHOOK, BATCH, CRON, REPLAY)
#: Those that talk to the API server: each has its own token and kubeconfig.
API_CLIENTS = (COORDINATOR, BATCH, CRON, REPLAY)

SCHEDULER_NAME = "colo-batch"
#: Where the leader-election and heartbeat Leases live (the chart's release namespace).
NAMESPACE = "colo-system"
#: The kwok nodes the replay agent reports for (standard ones: `nodes.standard_node`).
REPLAY_NODES = "type=kwok"
WEBHOOK_CONFIGURATION = "colo-webhook"
#: colo-batch's and colo-cron's --lease-duration (the chart's default)
LEASE_DURATION = "6s"


def metrics_port(process: str) -> str:
    """The `state.ports` key of a process's /metrics and /healthz port."""
    return f"{process}-metrics"


#: Keys of `state.ports`: the webhook's HTTPS port, the coordinator's gRPC port, and the
#: metrics port of every process that serves one.
PORT_NAMES = (
    WEBHOOK,
    COORDINATOR,
    *(metrics_port(p) for p in (COORDINATOR, BATCH, CRON, REPLAY)),
)

#: Flags whose values say where things are; they differ from the chart's by design.
ADDRESS_FLAGS = frozenset(
    {"--kubeconfig", "--cert", "--key", "--host", "--port", "--listen", "--metrics-listen",
     "--coordinator", "--trace"}
)  # fmt: skip


def colo_argv(
    ports: Mapping[str, int],
    *,
    cert_dir: Path,
    kubeconfigs: Mapping[str, Path] | None = None,
    traces: Path | None = None,
) -> dict[str, list[str]]:
    """The arguments of `colo` (program name not included) for each process, by name.

    `ports`: the `PORT_NAMES` ports; `cert_dir`: holds the webhook's tls.crt and tls.key;
    `kubeconfigs`: each API client's kubeconfig (None: no `--kubeconfig`, as in the
    chart); `traces`: the replay's traces directory (None: its default). Flags go as
    separate words (`--qps 500`); the chart writes `--qps=500`, which `flags` reads alike.
    """

    def at(port: str) -> str:
        return f"{HOST}:{ports[port]}"

    def kube(process: str) -> list[str]:
        return [] if kubeconfigs is None else ["--kubeconfig", str(kubeconfigs[process])]

    return {
        WEBHOOK: [
            "webhook", "serve",
            "--cert", str(cert_dir / "tls.crt"), "--key", str(cert_dir / "tls.key"),
            "--host", HOST, "--port", str(ports[WEBHOOK]),
            "--scheduler-name", SCHEDULER_NAME,
        ],
        COORDINATOR: [
            "coord", "serve", *kube(COORDINATOR),
            "--listen", at(COORDINATOR), "--ttl", "30",
            "--metrics-listen", at(metrics_port(COORDINATOR)),
        ],
        BATCH: [
            "batch", "serve", *kube(BATCH),
            "--scheduler-name", SCHEDULER_NAME, "--coordinator", at(COORDINATOR),
            "--jobs-on-virtual-nodes", "prefer",
            "--qps", "500", "--burst", "1000", "--bind-concurrency", "64",
            "--leader-elect", "--lease-namespace", NAMESPACE, "--lease-duration", LEASE_DURATION,
            "--metrics-listen", at(metrics_port(BATCH)),
            "--sweep-silent-nodes", "30s", "--heartbeat-namespace", NAMESPACE,
        ],
        CRON: [
            "cron", "serve", *kube(CRON),
            "--scheduler-name", SCHEDULER_NAME, "--lead", "10s", "--status-delay", "5s",
            "--manage-jobs", "--qps", "500", "--burst", "1000",
            "--leader-elect", "--lease-namespace", NAMESPACE, "--lease-duration", LEASE_DURATION,
            "--metrics-listen", at(metrics_port(CRON)),
        ],
        REPLAY: [
            "agent", "replay", *kube(REPLAY),
            *([] if traces is None else ["--trace", str(traces)]),
            "--nodes", REPLAY_NODES, "--interval", "5s",
            "--safety-margin", "0.1", "--threshold", "0.05",
            "--heartbeat-namespace", NAMESPACE,
            "--metrics-listen", at(metrics_port(REPLAY)),
        ],
    }  # fmt: skip


def flags(args: Sequence[str]) -> tuple[list[str], dict[str, str | None]]:
    """(the command words, {flag: value}) of an argument list; `--flag=value` and
    `--flag value` read alike, a flag without a value maps to None.

    >>> flags(["batch", "serve", "--qps=500", "--leader-elect", "--burst", "1000"])
    (['batch', 'serve'], {'--qps': '500', '--leader-elect': None, '--burst': '1000'})
    """
    words: list[str] = []
    out: dict[str, str | None] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-"):
            words.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if eq:
            out[name] = value
        elif i < len(args) and not args[i].startswith("--"):
            out[name] = args[i]
            i += 1
        else:
            out[name] = None
    return words, out


def readiness_probe(process: str, ports: Mapping[str, int]) -> Probe:
    """When a colo process counts as up (see the table in the module docstring)."""
    if process == WEBHOOK:
        return http_probe("/healthz", ports[WEBHOOK], tls=True)
    healthz = http_probe("/healthz", ports[metrics_port(process)], tls=False)
    if process == COORDINATOR:
        grpc = tcp_probe(ports[COORDINATOR])
        return lambda: healthz() and grpc()
    return healthz


def endpoints(ports: Mapping[str, int]) -> dict[str, list[str]]:
    """How to reach each process, for people: URLs and addresses by process."""
    out = {
        WEBHOOK: [f"https://{HOST}:{ports[WEBHOOK]}/mutate"],
        COORDINATOR: [f"gRPC {HOST}:{ports[COORDINATOR]}"],
    }
    for process in (COORDINATOR, BATCH, CRON, REPLAY):
        out.setdefault(process, []).append(f"http://{HOST}:{ports[metrics_port(process)]}/metrics")
    return {p: out[p] for p in PROCESSES}
