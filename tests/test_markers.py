"""The markers tell the truth: `-m "not e2e"` never starts the dev cluster, `-m "not
browser"` never launches Chromium, `-m "not cgroup"` never touches /sys/fs/cgroup, `-m "not
chart"` never runs helm or kubeconform.

A test module needs what a marker names when its source says so (the patterns below);
each such module is collected in a fresh pytest with that marker deselected, and nothing
of it may be left.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

#: What a test module's source says when its tests need what the marker names.
NEEDS = {
    "e2e": re.compile(r"dev_cluster|DevCluster\(|[\"']dev[\"'],\s*[\"']cluster[\"']"),
    "browser": re.compile(r"playwright|chromium", re.IGNORECASE),
    # the fixture that makes real cgroups, or a path into the real tree in code
    "cgroup": re.compile(r"\bcgroup_tree\b|[\"']/sys/fs/cgroup"),
    # helm or kubeconform, through colo.devcluster.chart
    "chart": re.compile(r"colo\.devcluster\.chart\b"),
}


def modules_needing(marker: str) -> list[Path]:
    found = set()
    for path in TESTS.rglob("test_*.py"):
        if path == Path(__file__).resolve():
            continue
        if NEEDS[marker].search(path.read_text(encoding="utf-8")):
            found.add(path)
    if marker == "e2e":
        found |= set((TESTS / "e2e").glob("test_*.py"))
    return sorted(found)


def collected(where: Path, marker_expression: str, *paths: Path) -> list[str]:
    """The test ids a fresh pytest in `where` selects with `-m marker_expression`."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-m", marker_expression, *map(str, paths)],
        cwd=where, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode in (0, 5), out.stdout + out.stderr  # 5: nothing selected
    return [line for line in out.stdout.splitlines() if "::" in line]


@pytest.mark.parametrize("marker", sorted(NEEDS))
def test_deselecting_a_marker_leaves_no_test_that_needs_it(marker: str) -> None:
    modules = modules_needing(marker)
    if marker == "e2e":
        assert any(p.name == "test_dev_cluster.py" for p in modules), "the patterns are stale"
    if not modules:
        return
    left = collected(ROOT, f"not {marker}", *modules)
    assert not left, f"these need {marker} but lack the marker: {left}"


def test_a_test_using_the_dev_cluster_anywhere_is_marked_e2e(tmp_path: Path) -> None:
    (tmp_path / "tests" / "sim").mkdir(parents=True)
    (tmp_path / "tests" / "conftest.py").write_text(
        (TESTS / "conftest.py").read_text(encoding="utf-8")
        + textwrap.dedent("""
            @pytest.fixture
            def dev_cluster():
                return "a cluster"

            @pytest.fixture
            def api(dev_cluster):
                return "its client"
        """),
        encoding="utf-8",
    )
    (tmp_path / "tests" / "sim" / "test_uses_it.py").write_text(
        textwrap.dedent("""
            def test_through_dev_cluster(dev_cluster): pass
            def test_through_api(api): pass
            def test_without(): pass
        """),
        encoding="utf-8",
    )
    (tmp_path / "pyproject.toml").write_text(
        (ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    # Collection errors fail inside `collected`, so the other two were deselected.
    assert collected(tmp_path, "not e2e", tmp_path / "tests") == [
        "tests/sim/test_uses_it.py::test_without"
    ]
