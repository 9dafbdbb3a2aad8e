"""The layer contract covers every colo subpackage, so a new one cannot slip past it."""

from __future__ import annotations

import pkgutil
import re
import tomllib
from pathlib import Path

import colo

ROOT = Path(__file__).resolve().parents[1]


def test_every_colo_subpackage_sits_in_a_layer() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    layers = config["tool"]["importlinter"]["contracts"][0]["layers"]
    named = set(re.findall(r"colo\.\w+", " ".join(layers)))
    subpackages = {f"colo.{m.name}" for m in pkgutil.iter_modules(colo.__path__) if m.ispkg}
    assert subpackages, "found no colo subpackages"
    assert subpackages <= named, f"not in any layer: {sorted(subpackages - named)}"


SRC = ROOT / "src" / "colo"
#: Extension points that belong to their engine (as kube-scheduler's plugin interfaces
#: do) or to the simulator, not I/O seams: the only Protocols allowed outside colo.ports.
PLUGIN_SEAMS = {"sched/framework.py", "sim/policies/base.py"}


def classes_in(path: Path) -> list[tuple[str, str]]:
    """(class name, its bases as written) of every top-level class in a module."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.name, ", ".join(ast.unparse(b) for b in node.bases))
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    ]


def test_protocols_live_in_colo_ports_only() -> None:
    stray = [
        f"{path.relative_to(SRC)}:{name}"
        for path in SRC.rglob("*.py")
        if "ports" not in path.relative_to(SRC).parts[:1]
        and str(path.relative_to(SRC)) not in PLUGIN_SEAMS
        for name, bases in classes_in(path)
        if "Protocol" in bases
    ]
    assert not stray, f"Protocols outside colo.ports: {stray}"


def test_the_ports_hold_protocols_and_nothing_else_of_their_own() -> None:
    """The values the Protocols exchange belong to colo.core (the vocabulary)."""
    not_protocols = [
        f"{path.relative_to(SRC)}:{name}"
        for path in (SRC / "ports").rglob("*.py")
        for name, bases in classes_in(path)
        if "Protocol" not in bases
    ]
    assert not not_protocols, f"put these in colo.core: {not_protocols}"


def test_only_the_executor_writes_cgroup_files() -> None:
    """ARCHITECTURE.md: only colo.linux's executor writes cgroup files. The one way to
    write is `KernelFiles.write` (colo/linux/files.py), and only the executor calls it;
    nothing else in colo.linux writes a file."""
    writes_files = re.compile(
        r"\.write_text\(|\.write_bytes\(|os\.write\(|O_WRONLY|O_RDWR|[\"']w[b+]?[\"']"
    )
    linux = SRC / "linux"
    writers = sorted(
        str(p.relative_to(SRC))
        for p in linux.rglob("*.py")
        if writes_files.search(p.read_text(encoding="utf-8"))
    )
    assert writers == ["linux/files.py"], writers
    callers = sorted(
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if ".files.write(" in p.read_text(encoding="utf-8")
    )
    assert callers == ["linux/executor.py"], callers
