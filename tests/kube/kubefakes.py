"""In-memory stand-ins for the API server, shared by the colo.kube unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from colo.core.builders import PodBuilder
from colo.core.changes import ClusterEvent
from colo.kube.informer import Informer


def pod(name: str, rv: str, node: str | None = None) -> dict[str, Any]:
    b = PodBuilder(name)
    if node:
        b = b.node(node)
    o = b.obj()
    o["metadata"]["resourceVersion"] = rv
    return o


class FakeTransport:
    """Serves scripted list pages and watch streams; a stream item that is an exception raises."""

    def __init__(self) -> None:
        self.lists: list[list[Any]] = []  # each: pages (an exception raises)
        self.watches: list[list[Any]] = []
        self.list_calls: list[dict[str, str]] = []
        self.watch_calls: list[dict[str, str]] = []

    async def get(
        self, path: str, params: Mapping[str, str] | None = None, *, shape: object = None
    ) -> Any:
        self.list_calls.append(dict(params or {}))
        pages = self.lists[0]
        page = pages.pop(0)
        if not pages:
            self.lists.pop(0)
        if isinstance(page, Exception):
            raise page
        return page

    async def stream(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        read_timeout_s: float | None = None,
        shape: object = None,
    ) -> AsyncIterator[dict[str, Any]]:
        self.watch_calls.append(dict(params or {}))
        if not self.watches:
            await asyncio.Event().wait()  # hang like an idle watch
        for item in self.watches.pop(0):
            if isinstance(item, Exception):
                raise item
            yield item


def page(items: list[dict[str, Any]], rv: str, cont: str = "") -> dict[str, Any]:
    return {"items": items, "metadata": {"resourceVersion": rv, "continue": cont}}


def events_of(inf: Informer) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []

    def h(ev: ClusterEvent) -> None:
        assert ev.pod is not None
        seen.append((ev.kind.value, ev.pod.name))

    inf.subscribe(h)
    return seen


async def run_until(inf: Informer, cond: Any) -> None:
    task = asyncio.create_task(inf.run())
    for _ in range(1000):
        await asyncio.sleep(0)
        if cond():
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cond()


class FakeApi:
    """A dict of objects by path with resourceVersion preconditions, and scripted failures.

    Enough of the API server's write semantics for the writers' unit tests: POST to a
    collection creates (409 if it exists), PUT needs the current resourceVersion (409
    otherwise), PATCH merges one level, GET of a missing object is NotFound. Calls are
    recorded; `fail_next` makes the next calls raise the given errors in order, and
    `fail_path[path]` the next calls to that path.
    """

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str, Any]] = []
        self.fail_next: list[Exception] = []
        self.fail_path: dict[str, list[Exception]] = {}
        self._rv = 0
        self.down = False

    def _bump(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._rv)
        return obj

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        import copy

        from colo.core.errors import Conflict, NotFound, Retryable

        self.calls.append((method, path, copy.deepcopy(body)))
        await asyncio.sleep(0)  # let concurrent callers interleave, as on a real server
        if self.down:
            raise Retryable("cannot reach the API server", delay_s=0.0)
        if self.fail_next:
            raise self.fail_next.pop(0)
        if self.fail_path.get(path):
            raise self.fail_path[path].pop(0)
        if method == "GET":
            if path not in self.objects:
                raise NotFound(path)
            return copy.deepcopy(self.objects[path])
        if method == "POST":
            meta = body.get("metadata", {})
            name = meta.get("name") or f"{meta.get('generateName', 'x')}{self._rv + 1}"
            key = f"{path}/{name}"
            if key in self.objects:
                raise Conflict(f"{key} exists")
            obj = copy.deepcopy(body)
            obj["metadata"]["name"] = name
            self.objects[key] = self._bump(obj)
            return copy.deepcopy(self.objects[key])
        if method == "PUT":
            cur = self.objects.get(path)
            if cur is None:
                raise NotFound(path)
            if body["metadata"].get("resourceVersion") != cur["metadata"]["resourceVersion"]:
                raise Conflict(f"{path}: the object has been modified")
            self.objects[path] = self._bump(copy.deepcopy(body))
            return copy.deepcopy(self.objects[path])
        if method == "PATCH":
            cur = self.objects.get(path)
            if cur is None:
                raise NotFound(path)
            for k, v in body.items():
                if isinstance(v, dict) and isinstance(cur.get(k), dict):
                    cur[k].update(v)
                else:
                    cur[k] = v
            return copy.deepcopy(self._bump(cur))
        raise AssertionError(f"FakeApi: {method} not supported")
