"""`up --with-colo`'s command lines: one function makes them, with the chart's flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from colo.core.errors import InvalidInput
from colo.devcluster.options import ClusterOptions
from colo.devcluster.withcolo import (
    ADDRESS_FLAGS,
    API_CLIENTS,
    PORT_NAMES,
    PROCESSES,
    colo_argv,
    endpoints,
    flags,
)

PORTS = {name: 20_000 + i for i, name in enumerate(PORT_NAMES)}
CERTS = Path("/certs")

# What the Helm chart passes (the list), addresses left out.
CHART = {
    "colo-webhook": (["webhook", "serve"], {"--scheduler-name": "colo-batch"}),
    "colo-coordinator": (["coord", "serve"], {"--ttl": "30"}),
    "colo-batch": (
        ["batch", "serve"],
        {"--scheduler-name": "colo-batch", "--jobs-on-virtual-nodes": "prefer", "--qps": "500",
         "--burst": "1000", "--bind-concurrency": "64", "--leader-elect": None,
         "--lease-namespace": "colo-system", "--lease-duration": "6s",
         "--sweep-silent-nodes": "30s", "--heartbeat-namespace": "colo-system"},
    ),
    "colo-cron": (
        ["cron", "serve"],
        {"--scheduler-name": "colo-batch", "--lead": "10s", "--status-delay": "5s",
         "--manage-jobs": None, "--qps": "500", "--burst": "1000", "--leader-elect": None,
         "--lease-namespace": "colo-system", "--lease-duration": "6s"},
    ),
    "colo-agent-replay": (
        ["agent", "replay"],
        {"--nodes": "type=kwok", "--interval": "5s", "--safety-margin": "0.1",
         "--threshold": "0.05", "--heartbeat-namespace": "colo-system"},
    ),
}  # fmt: skip


def without_addresses(args: list[str]) -> tuple[list[str], dict[str, str | None]]:
    words, found = flags(args)
    return words, {k: v for k, v in found.items() if k not in ADDRESS_FLAGS}


def test_every_process_gets_the_charts_flags_and_only_addresses_differ() -> None:
    argv = colo_argv(PORTS, cert_dir=CERTS)
    assert set(argv) == set(PROCESSES) == set(CHART)
    for name, (words, chart_flags) in CHART.items():
        assert without_addresses(argv[name]) == (words, chart_flags), name


def test_addresses_come_from_the_ports_certs_kubeconfigs_and_traces_given() -> None:
    kubeconfigs = {p: Path(f"/k/{p}") for p in API_CLIENTS}
    argv = colo_argv(PORTS, cert_dir=CERTS, kubeconfigs=kubeconfigs, traces=Path("/t"))
    _, webhook = flags(argv["colo-webhook"])
    assert webhook["--cert"] == "/certs/tls.crt" and webhook["--key"] == "/certs/tls.key"
    assert (webhook["--host"], webhook["--port"]) == ("127.0.0.1", str(PORTS["colo-webhook"]))
    _, batch = flags(argv["colo-batch"])
    assert batch["--coordinator"] == f"127.0.0.1:{PORTS['colo-coordinator']}"
    assert batch["--metrics-listen"] == f"127.0.0.1:{PORTS['colo-batch-metrics']}"
    assert batch["--kubeconfig"] == "/k/colo-batch"
    assert flags(argv["colo-agent-replay"])[1]["--trace"] == "/t"
    assert "--kubeconfig" not in flags(argv["colo-webhook"])[1]  # it talks to no API server
    assert "--kubeconfig" not in flags(colo_argv(PORTS, cert_dir=CERTS)["colo-batch"])[1]


def test_flags_reads_the_charts_equals_form_and_separate_words_alike() -> None:
    assert flags(["cron", "serve", "--lead=10s", "--manage-jobs", "--qps", "500"]) == (
        ["cron", "serve"],
        {"--lead": "10s", "--manage-jobs": None, "--qps": "500"},
    )


def test_endpoints_say_how_to_reach_every_process() -> None:
    where = endpoints(PORTS)
    assert list(where) == list(PROCESSES)
    assert where["colo-webhook"] == [f"https://127.0.0.1:{PORTS['colo-webhook']}/mutate"]
    assert f"gRPC 127.0.0.1:{PORTS['colo-coordinator']}" in where["colo-coordinator"]


def test_with_colo_turns_the_cronjob_controller_off_and_accepts_colo_ports() -> None:
    options = ClusterOptions(with_colo=True, ports={"colo-webhook": 9443})
    options.validate()
    assert not options.runs_cronjob_controller
    assert ClusterOptions().runs_cronjob_controller
    with pytest.raises(InvalidInput, match="ports"):
        ClusterOptions(ports={"colo-nothing": 1}).validate()
