"""Find the control-plane binaries that `make cluster-bins` built and listed in its manifest.

The manifest (written by build/cluster/build.sh) maps each binary name to
``{"path": ..., "version": ..., "component": ...}``. Where it is, first match wins:

1. the `manifest` argument (tests point it at a manifest of their own);
2. ``$COLO_BIN_MANIFEST``;
3. ``$COLO_BIN_DIR/manifest.json``;
4. ``~/.cache/colo/bin/manifest.json`` (the Makefile's default).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from colo.devcluster.errors import BinariesMissing

ETCD = "etcd"
APISERVER = "kube-apiserver"
CONTROLLER_MANAGER = "kube-controller-manager"
SCHEDULER = "kube-scheduler"
KWOK = "kwok"
KUBECTL = "kubectl"
#: kube-scheduler with colo's ColoCoordinator Reserve plugin (build/scheduler-plugin);
#: not in ALL: a cluster does not need it, only tests of the plugin do.
COLO_KUBE_SCHEDULER = "colo-kube-scheduler"

ALL = (ETCD, APISERVER, CONTROLLER_MANAGER, SCHEDULER, KWOK)


def find_kubectl() -> Path | None:
    """The kubectl that `make cluster-bins` built (same version as the API server), or None."""
    try:
        return load_binaries([KUBECTL])[KUBECTL].path
    except BinariesMissing:
        return None


def default_manifest() -> Path:
    explicit = os.environ.get("COLO_BIN_MANIFEST")
    if explicit:
        return Path(explicit).expanduser()
    bin_dir = os.environ.get("COLO_BIN_DIR") or str(Path.home() / ".cache" / "colo" / "bin")
    return Path(bin_dir).expanduser() / "manifest.json"


@dataclass(frozen=True)
class Binary:
    name: str
    path: Path
    version: str


@dataclass(frozen=True)
class Binaries:
    """The binaries one cluster needs, each checked to exist and be executable."""

    manifest: Path
    by_name: dict[str, Binary]

    def __getitem__(self, name: str) -> Binary:
        return self.by_name[name]

    def versions(self) -> dict[str, str]:
        return {name: binary.version for name, binary in self.by_name.items()}


def load_binaries(names: Iterable[str] = ALL, *, manifest: Path | None = None) -> Binaries:
    """Read the manifest and check that every binary in `names` is there and executable.

    Raises `BinariesMissing` (whose message says to run make cluster-bins) when the manifest
    is missing or unreadable, lacks a name, or points at a file that is not executable.
    """
    path = (manifest or default_manifest()).expanduser()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BinariesMissing("the manifest does not exist", manifest=path) from None
    except (OSError, ValueError) as exc:
        raise BinariesMissing(f"cannot read the manifest: {exc}", manifest=path) from None
    if not isinstance(raw, dict):
        raise BinariesMissing("the manifest is not a JSON object", manifest=path)
    found: dict[str, Binary] = {}
    for name in names:
        entry = raw.get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise BinariesMissing(f"{name} is not listed", manifest=path)
        binary_path = Path(entry["path"]).expanduser()
        if not binary_path.is_file():
            raise BinariesMissing(f"{name} not found at {binary_path}", manifest=path)
        if not os.access(binary_path, os.X_OK):
            raise BinariesMissing(f"{name} at {binary_path} is not executable", manifest=path)
        found[name] = Binary(name, binary_path, str(entry.get("version", "unknown")))
    return Binaries(manifest=path, by_name=found)
