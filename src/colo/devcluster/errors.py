"""What can go wrong while running the local dev cluster, as colo errors.

The CLI maps `InvalidInput` subclasses to exit code 2 and every other `ColoError` to 1.
"""

from __future__ import annotations

from pathlib import Path

from colo.core.errors import ColoError, InfrastructureError, InvalidInput


class BinariesMissing(InvalidInput):
    """The control-plane binaries (or their manifest) are not where the manifest says.

    The message always ends with the fix: ``run make cluster-bins``.
    """

    def __init__(self, problem: str, *, manifest: Path) -> None:
        super().__init__(
            f"control-plane binaries not ready: {problem} (manifest {manifest}); "
            "run make cluster-bins"
        )
        self.manifest = manifest


class ComponentFailed(InfrastructureError):
    """A component exited or did not become ready in time.

    `log_tail` holds the last lines of the component's log, which the message repeats.
    """

    def __init__(self, component: str, reason: str, *, log: Path, log_tail: list[str]) -> None:
        self.component = component
        self.reason = reason
        self.log = log
        self.log_tail = log_tail
        shown = "\n".join(f"    {line}" for line in log_tail) or "    (log is empty)"
        super().__init__(f"{component} {reason}; last {len(log_tail)} lines of {log}:\n{shown}")


class ClusterNotRunning(ColoError):
    """No dev cluster runs from the given state directory."""

    def __init__(self, directory: Path) -> None:
        super().__init__(
            f"no dev cluster is running from {directory}; start one with: colo dev cluster up"
            + ("" if _is_default(directory) else f" --dir {directory}")
        )
        self.directory = directory


class ClusterAlreadyRunning(ColoError):
    """`up` found live processes of an earlier `up` in the same state directory."""

    def __init__(self, directory: Path, pids: list[int]) -> None:
        super().__init__(
            f"a dev cluster is already running from {directory} (pids "
            f"{', '.join(map(str, pids))}); stop it first with: colo dev cluster down"
            + ("" if _is_default(directory) else f" --dir {directory}")
        )
        self.directory = directory


class NodesFailed(InfrastructureError):
    """Creating fake nodes failed, or they did not become Ready in time."""


def _is_default(directory: Path) -> bool:
    from colo.devcluster.layout import default_state_dir

    return directory.resolve() == default_state_dir().resolve()
