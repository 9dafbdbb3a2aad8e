"""`ClusterOptions`: what `DevCluster.up` starts, validated before anything runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from colo.core.errors import InvalidInput
from colo.devcluster.binaries import ALL as COMPONENTS
from colo.devcluster.components import PORT_NAMES
from colo.devcluster.withcolo import PORT_NAMES as COLO_PORT_NAMES
from colo.devcluster.withcolo import PROCESSES as COLO_PROCESSES

MAX_NODES = 20_000


@dataclass(frozen=True)
class ClusterOptions:
    """What `up` starts. Defaults: no nodes, no scheduler, stock client rate limits.

    `with_colo` also starts colo's processes (`colo.devcluster.withcolo`) and implies
    `cronjob_controller=False` (colo-cron owns CronJobs); `traces` is the replay agent's
    traces directory (None: found as `colo.traces.TraceSet.locate` finds it).

    `ports` fixes a component's port (keys: `components.PORT_NAMES`) instead of picking a
    free one; `extra_args` appends flags to a component's command line. Both are for tests
    and experiments; the CLI does not expose them.
    """

    nodes: int = 0
    virtual_nodes: int = 0
    with_scheduler: bool = False
    cronjob_controller: bool = True
    controller_qps: float = 20.0
    controller_burst: int = 30
    scheduler_qps: float = 50.0
    scheduler_burst: int = 100
    with_colo: bool = False
    traces: Path | None = None
    component_timeout_s: float = 90.0
    nodes_timeout_s: float | None = None  # None: 60 s + 0.1 s per node
    ports: Mapping[str, int] = field(default_factory=dict)
    extra_args: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise `InvalidInput` naming the first bad option."""
        for name, count in (("--nodes", self.nodes), ("--virtual-nodes", self.virtual_nodes)):
            if not 0 <= count <= MAX_NODES:
                raise InvalidInput(
                    "bad node count", field=name, value=count, expected=f"0..{MAX_NODES}"
                )
        for name, qps, burst in (
            ("--controller", self.controller_qps, self.controller_burst),
            ("--scheduler", self.scheduler_qps, self.scheduler_burst),
        ):
            if not qps > 0:
                raise InvalidInput("must be positive", field=f"{name}-qps", value=qps)
            if burst < 1:
                raise InvalidInput("must be at least 1", field=f"{name}-burst", value=burst)
        if not self.component_timeout_s > 0:
            raise InvalidInput("must be positive", field="component_timeout_s")
        for name, port in self.ports.items():
            if name not in (*PORT_NAMES, *COLO_PORT_NAMES) or not 1 <= port <= 65535:
                raise InvalidInput(
                    "bad port", field=f"ports[{name}]", value=port, expected="a component's port"
                )
        for name in self.extra_args:
            if name not in (*COMPONENTS, *COLO_PROCESSES):
                raise InvalidInput("unknown component", field="extra_args", value=name)

    @property
    def runs_cronjob_controller(self) -> bool:
        return self.cronjob_controller and not self.with_colo

    def node_wait_s(self) -> float:
        if self.nodes_timeout_s is not None:
            return self.nodes_timeout_s
        return 60.0 + 0.1 * (self.nodes + self.virtual_nodes)
