"""colo-extender: kube-scheduler joins the coordinator through its HTTP extender protocol.

    POST /filter   ExtenderArgs in, ExtenderFilterResult out
    POST /bind     ExtenderBindingArgs in, ExtenderBindingResult out
    GET  /healthz  "ok"

The bodies are k8s.io/kube-scheduler/extender/v1 types, which carry no JSON tags, so
their keys are the Go field names (`Pod`, `NodeNames`, `FailedNodes`, `PodUID`, ...).
Configure kube-scheduler with both verbs, `nodeCacheCapable: true` (only node names
travel) and never `ignorable: true` (kube-scheduler would then bind a pod the
coordinator refused with its own binder); see docs/extender.md.

- filter: the nodes whose room the coordinator has not already given away (its light
  fit, holding nothing); the others come back in `FailedNodes` with the coordinator's
  reason, which kube-scheduler puts in the pod's unschedulable message. Without
  `nodeCacheCapable` the nodes come and go as a `NodeList` in `Nodes`.
- bind: reserve (pod, node, requests, priority) at the coordinator; only if granted,
  bind through the API server (uid precondition). A refusal or a coordinator fault is
  an `Error` in the result: kube-scheduler then forgets its assumption and retries the
  pod after a backoff, so nothing is ever bound without a reservation. A binding that
  fails after a grant is unreserved.
- bind only names the pod; its requests come from what filter saw (remembered by uid,
  the most recent `remember` pods), else from a GET of the pod.

A body that is not what the protocol says gets HTTP 400 naming the field.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from colo.apps.metrics import StatsCollector, listening_port, metrics_handler, registry_of
from colo.core.changes import PodRef
from colo.core.errors import ColoError, InvalidInput
from colo.core.objects import Pod
from colo.core.reservation import Item
from colo.kube.binder import KubeBinder
from colo.kube.config import ClientConfig
from colo.kube.transport import Transport
from colo.ports.cluster import Binder, PodGetter
from colo.ports.coordinator import Coordinator
from colo.rpc.coordinator import CoordinatorClient

log = logging.getLogger(__name__)

#: The error prefix kube-scheduler shows when the coordinator could not be asked.
COORDINATOR = "colo-coordinator"


class Extender:
    """The two verbs over the ports; `make_app` serves them.

    `stats` counts: requests (every POST), bad_requests (answered 400), filters, binds
    (bind requests), bound (bindings made), conflicts (reservations refused), errors
    (coordinator or API server faults answered as `Error`).
    """

    def __init__(
        self,
        coordinator: Coordinator,
        binder: Binder,
        api: PodGetter,
        *,
        remember: int = 20_000,
    ) -> None:
        if remember < 1:
            raise ValueError(f"the extender must remember at least 1 pod, got {remember}")
        self._coordinator = coordinator
        self._binder = binder
        self._api = api
        self._remember = remember
        # uid -> the pod as filter saw it: bind only gets names, but needs the requests
        self._pods: OrderedDict[str, Pod] = OrderedDict()
        self.stats = dict.fromkeys(
            ("requests", "bad_requests", "filters", "binds", "bound", "conflicts", "errors"), 0
        )

    # --- filter --------------------------------------------------------------------
    async def filter(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """ExtenderArgs -> ExtenderFilterResult. Raises `InvalidInput` for a bad body."""
        pod = _pod(args.get("Pod"))
        names, node_objects = _candidates(args)
        self.stats["filters"] += 1
        if pod.uid:
            self._pods[pod.uid] = pod
            self._pods.move_to_end(pod.uid)
            while len(self._pods) > self._remember:
                self._pods.popitem(last=False)
        try:
            ok, failed = await self._coordinator.filter(pod.key, dict(pod.requests.items()), names)
        except ColoError as e:
            self.stats["errors"] += 1
            return {"FailedNodes": {}, "FailedAndUnresolvableNodes": {},
                    "Error": f"{COORDINATOR}: {e}"}  # fmt: skip
        out: dict[str, Any] = {"FailedNodes": failed, "FailedAndUnresolvableNodes": {}, "Error": ""}
        if node_objects is None:
            out["NodeNames"] = ok
        else:
            keep = set(ok)
            items = [n for n, name in zip(node_objects, names, strict=True) if name in keep]
            out["Nodes"] = {"apiVersion": "v1", "kind": "NodeList", "metadata": {}, "items": items}
        return out

    # --- bind ----------------------------------------------------------------------
    async def bind(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """ExtenderBindingArgs -> ExtenderBindingResult. Raises `InvalidInput` for a bad body."""
        fields = {}
        for name in ("PodName", "PodNamespace", "Node"):
            value = args.get(name)
            if not isinstance(value, str) or not value:
                raise InvalidInput("missing", obj="ExtenderBindingArgs", field=name,
                                   expected="a non-empty string", value=value)  # fmt: skip
            fields[name] = value
        uid = args.get("PodUID")
        if uid is None:
            uid = ""
        if not isinstance(uid, str):
            raise InvalidInput("must be a string", obj="ExtenderBindingArgs", field="PodUID",
                               value=uid)  # fmt: skip
        self.stats["binds"] += 1
        ref = PodRef(fields["PodNamespace"], fields["PodName"], uid)
        node = fields["Node"]
        pod = self._pods.pop(uid, None) if uid else None
        if pod is None:
            try:
                pod = await self._fetch(ref)
            except ColoError as e:  # the API server's fault, or a pod colo cannot read
                self.stats["errors"] += 1
                return {"Error": f"colo-extender: reading pod {ref.key}: {e}"}
        try:
            replies = await self._coordinator.reserve(
                [Item(ref.key, node, dict(pod.requests.items()), pod.priority)]
            )
        except ColoError as e:
            self.stats["errors"] += 1
            return {"Error": f"{COORDINATOR}: {e}"}
        reply = replies[0]
        if not reply.ok:
            self.stats["conflicts"] += 1
            return {"Error": f"{COORDINATOR} refused {node} for {ref.key}: {reply.reason}"}
        try:
            await self._binder.bind(ref, node)
        except ColoError as e:
            self.stats["errors"] += 1
            with contextlib.suppress(ColoError):  # else the reservation expires on its own
                await self._coordinator.unreserve([ref.key])
            return {"Error": f"binding {ref.key} to {node} failed: {e}"}
        self.stats["bound"] += 1
        return {"Error": ""}

    async def _fetch(self, ref: PodRef) -> Pod:
        raw = await self._api.get(f"/api/v1/namespaces/{ref.namespace}/pods/{ref.name}")
        return Pod.from_k8s(raw)


def _pod(raw: object) -> Pod:
    if not isinstance(raw, Mapping):
        raise InvalidInput("missing", obj="ExtenderArgs", field="Pod", expected="a Pod object")
    return Pod.from_k8s(raw)


def _candidates(args: Mapping[str, Any]) -> tuple[list[str], list[Any] | None]:
    """The candidate node names, and the Node objects when they came as `Nodes` (a
    kube-scheduler without `nodeCacheCapable`), which the answer must then echo."""
    names = args.get("NodeNames")
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InvalidInput("must be a list of node names", obj="ExtenderArgs",
                               field="NodeNames")  # fmt: skip
        return names, None
    nodes = args.get("Nodes")
    if nodes is None:
        raise InvalidInput("missing", obj="ExtenderArgs", field="NodeNames",
                           expected="NodeNames (nodeCacheCapable: true) or Nodes")  # fmt: skip
    items = nodes.get("items") if isinstance(nodes, Mapping) else None
    if not isinstance(items, list):
        raise InvalidInput("must be a NodeList", obj="ExtenderArgs", field="Nodes.items",
                           expected="a list of Node objects")  # fmt: skip
    out = []
    for i, node in enumerate(items):
        meta = node.get("metadata") if isinstance(node, Mapping) else None
        name = meta.get("name") if isinstance(meta, Mapping) else None
        if not isinstance(name, str) or not name:
            raise InvalidInput("missing", obj="ExtenderArgs",
                               field=f"Nodes.items[{i}].metadata.name")  # fmt: skip
        out.append(name)
    return out, items


EXTENDER_KEY = web.AppKey("extender", Extender)

#: `Extender.stats` as Prometheus counters (`colo_extender_<key>_total`).
STAT_DOCS = {
    "requests": "Filter and bind requests received.",
    "bad_requests": "Requests answered 400 (a body colo could not read).",
    "filters": "Filter requests answered.",
    "binds": "Bind requests answered.",
    "bound": "Pods bound after a granted reservation.",
    "conflicts": "Reservations the coordinator refused.",
    "errors": "Coordinator or API server faults answered as Error.",
}

Verb = Callable[[Extender, Mapping[str, Any]], Awaitable[dict[str, Any]]]


def _serve(verb: Verb, what: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        extender = request.app[EXTENDER_KEY]
        extender.stats["requests"] += 1
        try:
            out = await verb(extender, await _body(request, what))
        except InvalidInput as e:
            extender.stats["bad_requests"] += 1
            log.warning("bad %s request: %s", what, e)
            return web.Response(status=400, text=f"colo-extender: {e}\n")
        if out["Error"]:
            log.info("%s: %s", what, out["Error"])
        return web.json_response(out)

    return handle


async def _body(request: web.Request, what: str) -> Mapping[str, Any]:
    try:
        body = json.loads(await request.read())
    except ValueError as e:
        raise InvalidInput(f"not JSON: {e}", obj=f"{what} request body") from None
    if not isinstance(body, Mapping):
        raise InvalidInput("must be a JSON object", obj=f"{what} request body")
    return body


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def make_app(extender: Extender) -> web.Application:
    app = web.Application(client_max_size=64 * 2**20)  # a NodeList of thousands of nodes
    app[EXTENDER_KEY] = extender
    app.router.add_post("/filter", _serve(Extender.filter, "filter"))
    app.router.add_post("/bind", _serve(Extender.bind, "bind"))
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", metrics_handler(registry_of(StatsCollector(
        "colo_extender", STAT_DOCS, lambda: extender.stats
    ))))  # fmt: skip
    return app


async def start(extender: Extender, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve on host:port (0 picks one); returns the runner (`await runner.cleanup()`
    stops it) and the port. Raises `OSError` when it cannot listen there."""
    runner = web.AppRunner(make_app(extender), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, listening_port(runner, port)


@dataclass(frozen=True)
class ExtenderOptions:
    """How `serve` runs colo-extender (the CLI's flags)."""

    coordinator: str  # host:port of colo-coordinator's gRPC server
    host: str = "127.0.0.1"
    port: int = 8888  # 0 picks a free one
    qps: float = 200.0  # client-side API request rate for bindings
    burst: int = 400


async def serve(config: ClientConfig, options: ExtenderOptions) -> None:
    """The colo-extender process: filter and bind over HTTP, reserving at the
    coordinator, binding through the API server; runs until cancelled. Says
    "colo-extender serving http://HOST:PORT (coordinator ADDRESS)" on stderr once it
    serves. Raises `InvalidInput` naming `--host/--port` when it cannot listen there.
    """
    async with Transport.from_config(
        config, qps=options.qps, burst=options.burst, user_agent="colo-extender"
    ) as t:
        coordinator = CoordinatorClient(options.coordinator, scheduler="kube-scheduler")
        try:
            extender = Extender(coordinator, KubeBinder(t), t)
            try:
                runner, port = await start(extender, options.host, options.port)
            except OSError as e:
                raise InvalidInput(
                    f"cannot listen there: {e.strerror or e}", obj="colo-extender",
                    field="--host/--port", value=f"{options.host}:{options.port}",
                ) from None  # fmt: skip
            print(
                f"colo-extender serving http://{options.host}:{port} "
                f"(coordinator {options.coordinator})",
                file=sys.stderr,
                flush=True,
            )
            try:
                await asyncio.Event().wait()
            finally:
                await runner.cleanup()
        finally:
            await coordinator.close()
