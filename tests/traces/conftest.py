"""Fixtures for the trace loader tests: synthetic files (plain and gzip) and the real traces."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from colo.core.errors import InvalidInput
from colo.traces import TraceSet

WriteFile = Callable[..., Path]


@pytest.fixture(params=["plain", "gzip"])
def write(request: pytest.FixtureRequest, tmp_path: Path) -> WriteFile:
    """Write lines to a file in tmp_path, plain or gzip-compressed (both variants run).

    The name never reveals the compression: loaders must tell by content.
    """
    counter = iter(range(1_000_000))

    def _write(lines: list[str], name: str = "trace", *, newline: str = "\n") -> Path:
        path = tmp_path / f"{name}-{next(counter)}.csv"
        data = "".join(line + newline for line in lines).encode()
        if request.param == "gzip":
            data = gzip.compress(data)
        path.write_bytes(data)
        return path

    return _write


@pytest.fixture(scope="session")
def traces() -> TraceSet:
    """The real traces directory; tests that need it are skipped when it is not found."""
    try:
        return TraceSet.locate()
    except InvalidInput as exc:
        pytest.skip(f"real traces not found: {exc}")
