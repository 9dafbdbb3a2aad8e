"""The `e2e` marker, applied by where a test lives and what it uses, so a new test
cannot forget it: every test under tests/e2e/, and every test whose fixtures include
`dev_cluster` (which starts a real control plane; `api` and `kubectl` use it).

`browser`, `cgroup` and `slow` are written on the tests themselves (a browser, a file
system or a duration is not visible from here); tests/test_markers.py checks the
markers against what the test sources use.
"""

from __future__ import annotations

from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent / "e2e"

#: Fixtures that start the dev cluster; `item.fixturenames` also holds the fixtures
#: that a test's fixtures depend on, so `api` and `kubectl` count through these.
CLUSTER_FIXTURES = frozenset({"dev_cluster"})


def needs_cluster(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return E2E_DIR in item.path.parents or bool(fixtures & CLUSTER_FIXTURES)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if needs_cluster(item) and item.get_closest_marker("e2e") is None:
            item.add_marker(pytest.mark.e2e)
