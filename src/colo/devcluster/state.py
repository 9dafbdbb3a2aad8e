"""`ClusterState`: DIR/state.json, how one process finds a cluster another one started."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colo.devcluster.apiclient import ApiClient
from colo.devcluster.processes import ProcessRecord

STATE_VERSION = 1


@dataclass
class ClusterState:
    """DIR/state.json: enough for another process to use or stop the cluster."""

    directory: str
    server: str
    token: str
    kubeconfig: str
    ca_file: str
    ports: dict[str, int]
    processes: list[ProcessRecord]
    nodes: int
    virtual_nodes: int
    versions: dict[str, str]
    started_at: float  # unix time
    ready: bool = False
    timings_s: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "directory": self.directory,
            "server": self.server,
            "token": self.token,
            "kubeconfig": self.kubeconfig,
            "ca_file": self.ca_file,
            "ports": self.ports,
            "processes": [p.to_json() for p in self.processes],
            "nodes": self.nodes,
            "virtual_nodes": self.virtual_nodes,
            "versions": self.versions,
            "started_at": self.started_at,
            "ready": self.ready,
            "timings_s": self.timings_s,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ClusterState:
        if raw.get("version") != STATE_VERSION:
            raise ValueError(f"state version {raw.get('version')!r}, expected {STATE_VERSION}")
        return cls(
            directory=str(raw["directory"]),
            server=str(raw["server"]),
            token=str(raw["token"]),
            kubeconfig=str(raw["kubeconfig"]),
            ca_file=str(raw["ca_file"]),
            ports={str(k): int(v) for k, v in raw["ports"].items()},
            processes=[ProcessRecord.from_json(p) for p in raw["processes"]],
            nodes=int(raw["nodes"]),
            virtual_nodes=int(raw["virtual_nodes"]),
            versions={str(k): str(v) for k, v in raw["versions"].items()},
            started_at=float(raw["started_at"]),
            ready=bool(raw["ready"]),
            timings_s={str(k): float(v) for k, v in raw.get("timings_s", {}).items()},
        )

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename), readable by the owner only."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        tmp.chmod(0o600)
        os.replace(tmp, path)

    def env(self) -> dict[str, str]:
        """Environment for clients: KUBECONFIG, plus server and token for raw HTTP."""
        return {
            "KUBECONFIG": self.kubeconfig,
            "COLO_DEV_SERVER": self.server,
            "COLO_DEV_TOKEN": self.token,
        }

    def client(self) -> ApiClient:
        return ApiClient(self.server, self.token, ca_file=Path(self.ca_file))
