"""Where a dev cluster keeps its files: one state directory, fixed names inside it.

    DIR/
      .colo-dev-cluster       marker: this directory belongs to a dev cluster
      .lock                   flock held while `up` or `down` runs
      state.json              pids, ports, server, token, kubeconfig (see cluster.ClusterState)
      kubeconfig              for users: admin token, CA from certs/
      etcd/                   etcd data (deleted by `down`)
      certs/                  the API server's self-signed serving cert (apiserver.crt, its CA
                              appended) and key
      config/                 service-account keys, token file, per-component kubeconfigs,
                              kube-scheduler and kwok configuration
      logs/<component>.log    stdout+stderr of each component, kept after `down`

`up` clears etcd/, certs/, config/ and logs/ of a previous run, and refuses a non-empty
directory without the marker, so `--dir` cannot wipe somebody else's files.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from colo.core.errors import ColoError, InvalidInput

MARKER = ".colo-dev-cluster"


def default_state_dir() -> Path:
    """``$XDG_CACHE_HOME/colo/dev-cluster``, else ``~/.cache/colo/dev-cluster``."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "colo" / "dev-cluster"


@dataclass(frozen=True)
class Layout:
    """Paths inside one state directory (absolute, so they can go into flags and files)."""

    root: Path

    @classmethod
    def at(cls, root: Path | str | None) -> Layout:
        return cls(Path(root if root is not None else default_state_dir()).expanduser().absolute())

    @property
    def marker(self) -> Path:
        return self.root / MARKER

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def etcd_dir(self) -> Path:
        return self.root / "etcd"

    @property
    def cert_dir(self) -> Path:
        return self.root / "certs"

    @property
    def ca_file(self) -> Path:
        """Written by kube-apiserver at start: its serving cert followed by the signing CA."""
        return self.cert_dir / "apiserver.crt"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def log(self, component: str) -> Path:
        return self.log_dir / f"{component}.log"

    def config(self, name: str) -> Path:
        return self.config_dir / name

    def claim(self) -> None:
        """Create the directory, or check an existing one is ours; then mark it.

        Raises `InvalidInput` for a file, or a non-empty directory without the marker.
        """
        if self.root.exists() and not self.root.is_dir():
            raise InvalidInput("not a directory", field="--dir", value=str(self.root))
        if self.root.is_dir() and not self.marker.exists() and any(self.root.iterdir()):
            raise InvalidInput(
                "directory is not empty and was not created by colo dev cluster",
                field="--dir",
                value=str(self.root),
                expected="an empty or new directory, or one used by colo dev cluster before",
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.marker.touch()
        except OSError as exc:
            raise InvalidInput(
                f"cannot create state directory: {exc.strerror}",
                field="--dir",
                value=str(self.root),
            ) from None

    def reset(self) -> None:
        """Remove what a previous run left (data, certs, config, logs, state)."""
        for path in (self.etcd_dir, self.cert_dir, self.config_dir, self.log_dir):
            shutil.rmtree(path, ignore_errors=True)
        self.state_file.unlink(missing_ok=True)
        self.kubeconfig.unlink(missing_ok=True)
        for path in (self.cert_dir, self.config_dir, self.log_dir):
            path.mkdir(mode=0o700)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive flock on DIR/.lock, so two `up`/`down` never interleave."""
        with open(self.lock_file, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ColoError(
                    f"another colo dev cluster command is using {self.root}; try again when "
                    "it has finished"
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
