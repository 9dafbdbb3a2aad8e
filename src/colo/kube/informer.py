"""List-then-watch informer over raw JSON, with relist-diff on 410 and backoff on faults.

Pod lists are asked for in Kubernetes' Protobuf encoding and decoded to the same dicts
(`colo.kube.protolist`: it costs the API server far less than JSON); watches are JSON.

The cache holds raw dicts keyed by `namespace/name` (or `name` for cluster objects);
Pod/Node views are built lazily and memoised per resourceVersion. Pods and nodes are
decoded in their shape (`colo.kube.shapes`: only the fields the views read), and a
change that leaves the shape as it was (a kubelet's status heartbeat, a condition's
time) only moves the cached resourceVersion: no view is rebuilt and no subscriber
called, since there is nothing new for them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Literal

from colo.core.changes import ChangeKind, ClusterEvent
from colo.core.errors import InvalidInput, Permanent, Retryable
from colo.core.objects import Node, Pod
from colo.kube.shapes import SHAPES
from colo.kube.transport import Expired, ServerBusy
from colo.ports.api import WatchTransport
from colo.ports.cluster import Unsubscribe

log = logging.getLogger(__name__)

Raw = dict[str, Any]
Resource = Literal["pods", "nodes", "cronjobs", "jobs"]


def key_of(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{ns}/{meta['name']}" if ns else str(meta["name"])


def _rv(obj: Mapping[str, Any]) -> str:
    return str(obj.get("metadata", {}).get("resourceVersion", ""))


_MISSING = object()
#: What a pod's binding and its kubelet's first status change touch: a view with these
#: two changed is the old view with them replaced, not built again from the object.
_MOVES = frozenset({("spec", "nodeName"), ("status", "phase")})


def _changed_fields(old: Raw, new: Raw) -> set[tuple[str, str]] | None:
    """The (section, field) pairs in which two versions of an object differ, their
    resourceVersion aside; None when a section came or went or is not an object."""
    if old.keys() != new.keys():
        return None
    changed: set[tuple[str, str]] = set()
    for section, value in new.items():
        before = old[section]
        if section != "metadata" and before == value:
            continue
        if not (isinstance(value, dict) and isinstance(before, dict)):
            return None
        for name in before.keys() | value.keys():
            if name != "resourceVersion" and before.get(name, _MISSING) != value.get(
                name, _MISSING
            ):
                changed.add((section, name))
    return changed


def _moved(view: Pod, obj: Raw) -> Pod | None:
    """`view` with the node and phase of `obj` (None if either is not a string: then the
    whole build names the field)."""
    node = (obj.get("spec") or {}).get("nodeName")
    phase = (obj.get("status") or {}).get("phase")
    if not (node is None or isinstance(node, str)) or not (phase is None or isinstance(phase, str)):
        return None
    return dataclasses.replace(view, node_name=node or None, phase=phase or "Pending")


class Informer:
    """Keeps a local cache of one resource in step with the API server."""

    def __init__(
        self,
        transport: WatchTransport,
        resource: Resource = "pods",
        *,
        api: str = "/api/v1",
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = 500,
        watch_timeout_s: int = 300,
        idle_timeout_s: float = 90.0,
        backoff_cap_s: float = 5.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        shaped: bool = True,
    ) -> None:
        """`shaped`: decode pods and nodes in their shape (the module docstring); off,
        the cache keeps whole objects."""
        self._t = transport
        self._shape = SHAPES.get(resource) if shaped else None
        self.resource = resource
        ns = f"/namespaces/{namespace}" if namespace else ""
        self._path = f"{api}{ns}/{resource}"
        self._selector = label_selector
        self._field_selector = field_selector  # e.g. spec.nodeName=<node>: one node's pods
        self._page_size = page_size
        self._watch_timeout_s = watch_timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._backoff_cap_s = backoff_cap_s
        self._rng = rng or random.Random(0)
        self._sleep = sleep
        self._cache: dict[str, Raw] = {}
        self._views: dict[str, tuple[str, Pod | Node | None]] = {}  # None: unreadable
        self._by_node: dict[str, set[str]] = {}
        self._handlers: list[Callable[[ClusterEvent], None]] = []
        self._raw_handlers: list[Callable[[ChangeKind, Raw], None]] = []
        self._synced = asyncio.Event()
        self.resource_version = ""
        self.relists = 0
        self.events = 0
        self.handler_errors = 0
        self.bad_objects = 0
        self.faults = 0
        self.unchanged = 0  # changes that left the shape as it was (module docstring)

    # --- reading -------------------------------------------------------------------
    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def raw(self) -> dict[str, Raw]:
        return dict(self._cache)

    def view(self, key: str) -> Pod | Node | None:
        obj = self._cache.get(key)
        if obj is None:
            return None
        rv = _rv(obj)
        hit = self._views.get(key)
        if hit is not None and hit[0] == rv:
            return hit[1]
        v = self._build(obj)
        self._views[key] = (rv, v)  # failures too: one warning per resourceVersion
        return v

    def _build(self, obj: Raw) -> Pod | Node | None:
        """colo's view of a raw object; None (counted, logged) if colo cannot read it,
        so one odd object never stops the informer or its readers."""
        try:
            return Pod.from_k8s(obj) if self.resource == "pods" else Node.from_k8s(obj)
        except InvalidInput as e:
            self.bad_objects += 1
            log.warning("informer %s: skipping %s: %s", self._path, key_of(obj), e)
            return None

    def cached_keys(self) -> list[str]:
        return list(self._cache)

    def pods_on_node(self, node_name: str) -> list[str]:
        """Keys of cached pods whose spec.nodeName is `node_name`."""
        return sorted(self._by_node.get(node_name, ()))

    def subscribe(self, handler: Callable[[ClusterEvent], None]) -> Unsubscribe:
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    def subscribe_raw(self, handler: Callable[[ChangeKind, Raw], None]) -> Unsubscribe:
        """Call `handler(kind, object)` with every change's JSON, for resources colo has
        no view of here (CronJobs, Jobs: their readers build their own)."""
        self._raw_handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._raw_handlers:
                self._raw_handlers.remove(handler)

        return unsubscribe

    # --- cache mutation ------------------------------------------------------------
    def _index(self, key: str, old: Raw | None, new: Raw | None) -> None:
        if self.resource != "pods":
            return
        for obj, add in ((old, False), (new, True)):
            if obj is None:
                continue
            node = obj.get("spec", {}).get("nodeName")
            if not node:
                continue
            bucket = self._by_node.setdefault(node, set())
            if add:
                bucket.add(key)
            else:
                bucket.discard(key)
                if not bucket:
                    del self._by_node[node]

    def _apply(self, kind: ChangeKind, obj: Raw) -> None:
        key = key_of(obj)
        old = self._cache.get(key)
        shaped_change = self._shape is not None and kind is ChangeKind.MODIFIED
        if shaped_change and old is not None and self._carry_view(key, old, obj):
            return
        if kind is ChangeKind.DELETED:
            self._cache.pop(key, None)
            self._views.pop(key, None)
            self._index(key, old, None)
        else:
            self._cache[key] = obj
            self._index(key, old, obj)
        self.events += 1
        for raw_handler in list(self._raw_handlers):
            try:
                raw_handler(kind, obj)
            except Exception:
                self.handler_errors += 1
                log.exception("informer %s: a subscriber failed on %s %s", self._path, kind, key)
        if not self._handlers:
            return  # views are built when someone reads them, not for every event
        view = self._build(obj) if kind is ChangeKind.DELETED else self.view(key)
        if view is None:
            return  # an object colo cannot read: counted and logged in _build
        ev = (
            ClusterEvent(kind, pod=view) if isinstance(view, Pod) else ClusterEvent(kind, node=view)
        )
        for h in list(self._handlers):
            try:
                h(ev)
            except Exception:
                # One broken subscriber must not stop the cache or the others.
                self.handler_errors += 1
                log.exception("informer %s: a subscriber failed on %s %s", self._path, kind, key)

    def _carry_view(self, key: str, old: Raw, obj: Raw) -> bool:
        """Carry the memoised view of `old` over to `obj` (module docstring). True: the
        change left the view as it was, and is fully taken in. False: the change goes on
        as any other; if it only moved the pod (node, phase), its view is the old one with
        those replaced, memoised for `obj`."""
        hit = self._views.get(key)
        if hit is None or hit[0] != _rv(old):
            return False
        changed = _changed_fields(old, obj)
        if changed is None:
            return False
        if not changed:
            self._cache[key] = obj
            self._views[key] = (_rv(obj), hit[1])
            self.events += 1
            self.unchanged += 1
            return True
        if changed <= _MOVES and isinstance(hit[1], Pod):
            moved = _moved(hit[1], obj)
            if moved is not None:
                self._views[key] = (_rv(obj), moved)
        return False

    def _replace(self, items: list[Raw]) -> None:
        """Make the cache equal `items`, emitting the differences as events."""
        fresh = {key_of(o): o for o in items}
        for key, gone in list(self._cache.items()):
            if key not in fresh:
                self._apply(ChangeKind.DELETED, gone)
        for key, obj in fresh.items():
            old = self._cache.get(key)
            if old is None:
                self._apply(ChangeKind.ADDED, obj)
            elif _rv(old) != _rv(obj):
                self._apply(ChangeKind.MODIFIED, obj)

    # --- list and watch ------------------------------------------------------------
    def _params(self, **extra: str) -> dict[str, str]:
        p = dict(extra)
        if self._selector:
            p["labelSelector"] = self._selector
        if self._field_selector:
            p["fieldSelector"] = self._field_selector
        return p

    async def list_all(self, *, from_cache: bool = False) -> tuple[list[Raw], str]:
        """All objects (paginated) and the list's resourceVersion.

        `from_cache`: resourceVersion=0, served from the API server's watch cache (no
        etcd read; what client-go's reflector does for its first list). It may be
        slightly stale, which the watch from its resourceVersion then makes good. After
        a 410 the list is a consistent one instead, so the cache never goes backwards.
        """
        items: list[Raw] = []
        version = ""
        async for page, rv in self._pages(from_cache=from_cache):
            items.extend(page)
            version = rv
        return items, version

    async def _pages(self, *, from_cache: bool) -> AsyncIterator[tuple[list[Raw], str]]:
        """The list's pages as they come, each with the list's resourceVersion so far.

        The next page is asked for before this one is handed out, so the API server
        encodes it while the caller takes this one in (two cores, both busy)."""
        params = self._params(limit=str(self._page_size))
        if from_cache:
            params["resourceVersion"] = "0"
        fetching: asyncio.Future[Any] | None = asyncio.ensure_future(
            self._t.get(self._path, params, shape=self._shape)
        )
        while fetching is not None:
            page = await fetching
            meta = page.get("metadata", {})
            cont = meta.get("continue") or ""
            fetching = None
            try:
                if cont:
                    params = self._params(limit=str(self._page_size), **{"continue": cont})
                    fetching = asyncio.ensure_future(
                        self._t.get(self._path, params, shape=self._shape)
                    )
                    await asyncio.sleep(0)  # let it send the request before the caller works
                yield page.get("items") or [], str(meta.get("resourceVersion", ""))
            except BaseException:  # cancelled, or the caller stopped: no request left behind
                if fetching is not None:
                    fetching.cancel()
                raise

    async def relist(self) -> None:
        """List and make the cache equal the list.

        The first list (an empty cache) is a consistent one, in pages, taken in page by
        page as they arrive (each object an ADDED event) while the server encodes the
        next. Not `resourceVersion=0` as client-go's first list: the watch cache answers
        that with every object in one response whatever the limit, so nothing could be
        taken in before the last byte (measured: 10,000 pods synced in 0.56-0.62 s in
        pages of 500 against 0.78-1.08 s in one; docs/scheduling.md). API servers since
        1.31 serve consistent lists from the watch cache too (ConsistentListFromCache, on
        by default since then, locked on since 1.34). A relist is applied once
        whole, as differences."""
        first = not self.resource_version and not self._cache
        if first:
            version = ""
            async for page, rv in self._pages(from_cache=False):
                for obj in page:
                    self._apply(ChangeKind.ADDED, obj)
                version = rv
        else:
            items, version = await self.list_all(from_cache=not self.resource_version)
            self._replace(items)
        self.resource_version = version
        self.relists += 1
        self._synced.set()

    async def watch_once(self) -> int:
        """One watch request from `resource_version` until the server closes it.

        Returns how many changes and bookmarks it delivered.
        """
        delivered = 0
        params = self._params(
            watch="true",
            resourceVersion=self.resource_version,
            allowWatchBookmarks="true",
            timeoutSeconds=str(self._watch_timeout_s),
        )
        async for ev in self._t.stream(
            self._path, params, read_timeout_s=self._idle_timeout_s, shape=self._shape
        ):
            typ = ev.get("type")
            obj = ev.get("object") or {}
            if typ == "ERROR":
                code = obj.get("code")
                if code == 410:
                    raise Expired(f"watch {self._path}: {obj.get('message', 'expired')}")
                raise Retryable(f"watch {self._path} error {code}: {obj.get('message')}")
            delivered += 1
            if typ == "BOOKMARK":
                self.resource_version = _rv(obj) or self.resource_version
                continue
            if typ not in ("ADDED", "MODIFIED", "DELETED") or not obj.get("metadata"):
                raise Retryable(f"watch {self._path}: unexpected event {str(ev)[:120]}")
            self._apply(ChangeKind(str(typ)), obj)
            self.resource_version = _rv(obj) or self.resource_version
        return delivered

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform(0, min(cap, 0.1 * 2^attempt)) seconds."""
        return self._rng.uniform(0.0, min(self._backoff_cap_s, 0.1 * 2**attempt))

    async def run(self) -> None:
        """List, then watch forever; relist on 410; back off on faults. Permanent raises.

        A 410 relists at once the first time; a watch that expires again before
        delivering anything backs off like any other fault, so a server that keeps
        answering 410 is not hammered with lists. A server's Retry-After is honoured.
        """
        attempt = 0
        need_list = True
        while True:
            try:
                if need_list:
                    await self.relist()
                    need_list = False
                if await self.watch_once():
                    attempt = 0
            except Expired:
                need_list = True
                if attempt:
                    await self._sleep(self._backoff(attempt))
                attempt += 1
            except Permanent:
                raise
            except Retryable as e:
                self.faults += 1
                delay = self._backoff(attempt)
                if isinstance(e, ServerBusy):
                    delay = max(delay, min(e.delay_s, 60.0))
                log.debug("informer %s: %s; retrying in %.2fs", self._path, e, delay)
                await self._sleep(delay)
                attempt += 1
