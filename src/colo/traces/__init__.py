"""Loaders for the real cluster traces colo replays, and where to find them.

One module per trace family (`alibaba2018`, `alibaba2017`, `alibaba_k8s_2023`,
`azure2019`, `bitbrains`); each loader returns `(data, LoadReport)` and skips bad rows
with a count by reason instead of failing (see `common`). `TraceSet.locate()` finds the
traces directory (the repository's sibling `shared/traces`).

A reader of files on disk, so an adapter-level package: the simulator (`colo.sim`)
builds its workload from it and `colo predict evaluate` (`colo.cli.predict`) feeds it to
the estimators. Engines never import it; they get the arrays it returns.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from colo.core.errors import InvalidInput
from colo.traces.common import LoadReport, NodeShape, UsageSeries, resample

__all__ = ["ENV_VAR", "LoadReport", "NodeShape", "TraceSet", "UsageSeries", "resample"]

ENV_VAR = "COLO_TRACES"
FAMILIES = ("alibaba2018", "alibaba2017", "alibaba_k8s_2023", "azure2019")


def _looks_like_traces(path: Path) -> bool:
    return path.is_dir() and any((path / family).is_dir() for family in FAMILIES)


@dataclass(frozen=True)
class TraceSet:
    """The traces directory and the path of each file in it.

    A file may be stored gzip-compressed (`name.csv.gz`) or plain (`name.csv`); each
    property returns whichever exists (the `.gz` name first). When neither does, it
    returns the published name, and the loader reports the missing file.
    """

    root: Path

    @classmethod
    def locate(
        cls,
        root: str | os.PathLike[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        search_from: Sequence[Path] | None = None,
    ) -> TraceSet:
        """Find the traces directory.

        In order: `root` if given; else the `COLO_TRACES` environment variable if set (both
        must then point at a traces directory: no silent fallback); else the first
        `shared/traces` found in the current directory or any parent, then next to the
        installed package or any of its parents. The repository's checkout sits beside
        `shared/` (e.g. /work/main and /work/shared/traces), so walking up finds it.
        `env` and `search_from` replace `os.environ` and (cwd, package dir) in tests.
        """
        environ = os.environ if env is None else env
        if root is not None:
            path = Path(root).expanduser()
            if _looks_like_traces(path):
                return cls(path.resolve())
            raise InvalidInput(
                "not a traces directory",
                obj=str(path),
                expected=f"a directory containing one of {', '.join(FAMILIES)}",
            )
        configured = environ.get(ENV_VAR, "").strip()
        if configured:
            path = Path(configured).expanduser()
            if _looks_like_traces(path):
                return cls(path.resolve())
            raise InvalidInput(
                f"{ENV_VAR} does not point at a traces directory",
                obj=str(path),
                expected=f"a directory containing one of {', '.join(FAMILIES)}",
            )
        tried: list[str] = []
        starts = search_from if search_from is not None else (Path.cwd(), Path(__file__).parent)
        for start in starts:
            start = start.resolve()
            for base in (start, *start.parents):
                candidate = base / "shared" / "traces"
                if str(candidate) in tried:
                    continue
                tried.append(str(candidate))
                if _looks_like_traces(candidate):
                    return cls(candidate)
        raise InvalidInput(
            "traces directory not found (tried " + ", ".join(tried) + ")",
            expected=f"set {ENV_VAR} or pass --traces",
        )

    def _file(self, family: str, stem: str) -> Path:
        plain = self.root / family / f"{stem}.csv"
        gz = self.root / family / f"{stem}.csv.gz"
        if gz.exists() or not plain.exists():
            return gz
        return plain

    @property
    def machine_usage(self) -> Path:
        return self._file("alibaba2018", "machine_usage")

    @property
    def machine_meta(self) -> Path:
        return self._file("alibaba2018", "machine_meta")

    @property
    def container_snapshot(self) -> Path:
        return self._file("alibaba2018", "container_usage_snapshot")

    @property
    def machine_usage_snapshot(self) -> Path:
        return self._file("alibaba2018", "machine_usage_snapshot")

    @property
    def batch_task(self) -> Path:
        return self._file("alibaba2017", "batch_task")

    @property
    def k8s_pod_list(self) -> Path:
        return self._file("alibaba_k8s_2023", "pod_list")

    @property
    def k8s_node_list(self) -> Path:
        return self._file("alibaba_k8s_2023", "node_list")

    @property
    def azure_readings(self) -> Path:
        return self._file("azure2019", "vm_cpu_readings")

    @property
    def azure_vmtable(self) -> Path:
        return self._file("azure2019", "vmtable")
