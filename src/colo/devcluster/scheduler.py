"""Extra kube-schedulers beside a running dev cluster, each with its own profile.

Tests and benchmarks use them to run kube-scheduler the way colo integrates with it: a
profile with an HTTP extender (`extenders:`), or a kube-scheduler binary built with
colo's Reserve plugin (`binary=`, `profiles[].plugins.reserve`). Each one gets a
free port on 127.0.0.1, the cluster's kube-scheduler credentials, leader election off,
and its log in the cluster's log directory.

    with start_scheduler(state, name="colo-extended", config_tail=yaml) as sched:
        ... pods with spec.schedulerName = a profile's schedulerName ...
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from colo.devcluster import components as comp
from colo.devcluster.binaries import SCHEDULER, load_binaries
from colo.devcluster.layout import Layout
from colo.devcluster.processes import ProcessRecord, free_ports, start, stop, wait_ready
from colo.devcluster.state import ClusterState


@dataclass
class ExtraScheduler:
    name: str
    port: int
    config: Path
    log: Path
    record: ProcessRecord
    popen: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop([self.record], children={self.popen.pid: self.popen})

    def __enter__(self) -> ExtraScheduler:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_scheduler(
    state: ClusterState,
    *,
    name: str,
    config_tail: str,
    binary: Path | None = None,
    qps: float = 50.0,
    burst: int = 100,
    timeout_s: float = 60.0,
) -> ExtraScheduler:
    """Start kube-scheduler (`binary`, default the cluster's own) and wait until it serves.

    `config_tail` is appended to the KubeSchedulerConfiguration as top-level YAML
    (`profiles:`, `extenders:`); `name` names its config and log files. Raises
    `ComponentFailed` with the log tail when it exits or does not get ready.
    """
    layout = Layout.at(state.directory)
    if binary is None:
        binary = load_binaries([SCHEDULER])[SCHEDULER].path
    config = layout.config(f"{name}.yaml")
    config.write_text(
        comp.render_scheduler_config(layout, qps=qps, burst=burst) + config_tail, encoding="utf-8"
    )
    (port,) = free_ports(1)
    argv = [
        str(binary),
        f"--config={config}",
        f"--bind-address={comp.HOST}",
        f"--secure-port={port}",
    ]
    log = layout.log(name)
    popen, record = start(name, argv, log=log, cwd=layout.root)
    try:
        wait_ready(
            name, popen, comp.http_probe("/healthz", port, tls=True), log=log, timeout_s=timeout_s
        )
    except BaseException:
        stop([record], children={popen.pid: popen})
        raise
    return ExtraScheduler(name, port, config, log, record, popen)
