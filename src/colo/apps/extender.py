"""colo-extender: kube-scheduler joins the coordinator through its HTTP extender protocol.

    POST /filter   ExtenderArgs in, ExtenderFilterResult out
    POST /bind     ExtenderBindingArgs in, ExtenderBindingResult out
    GET  /healthz  "ok"

The bodies are k8s.io/kube-scheduler/extender/v1 types, which carry no JSON tags, so
their keys are the Go field names (`Pod`, `NodeNames`, `FailedNodes`, `PodUID`, ...).
Configure kube-scheduler with `nodeCacheCapable: true` (only node names travel) and
both verbs (docs/extender.md).

- filter: the nodes whose room the coordinator has not already given away (its light
  fit, holding nothing); the others come back in `FailedNodes` with the coordinator's
  reason, which kube-scheduler puts in the pod's unschedulable message.
- bind: reserve (pod, node, requests, priority) at the coordinator; only if granted,
  bind through the API server (uid precondition). A refusal or a coordinator fault is
  an `Error` in the result: kube-scheduler then forgets its assumption and retries the
  pod, so nothing is ever bound without a reservation. A binding that fails after a
  grant is unreserved.

A body that is not what the protocol says gets HTTP 400 naming the field.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp import web

from colo.coord.ledger import Item
from colo.core.errors import ColoError, InvalidInput
from colo.core.objects import Pod
from colo.ports.cluster import PodRef
from colo.ports.coordinator import Coordinator

log = logging.getLogger(__name__)


class PodBinder(Protocol):
    async def bind(self, pod: PodRef, node_name: str) -> None: ...


class PodGetter(Protocol):
    async def get(self, path: str) -> Any: ...


class Extender:
    """The two verbs, over the ports; `make_app` serves them."""

    def __init__(
        self,
        coordinator: Coordinator,
        binder: PodBinder,
        api: PodGetter,
        *,
        remember: int = 20_000,
    ) -> None:
        self._coordinator = coordinator
        self._binder = binder
        self._api = api
        self._remember = remember
        # uid -> the pod as filter saw it: bind only gets names, but needs the requests
        self._pods: OrderedDict[str, Pod] = OrderedDict()
        self.stats = {"filters": 0, "binds": 0, "bound": 0, "conflicts": 0, "errors": 0}

    # --- filter --------------------------------------------------------------------
    async def filter(self, args: Mapping[str, Any]) -> dict[str, Any]:
        self.stats["filters"] += 1
        pod = _pod(args.get("Pod"))
        names = args.get("NodeNames")
        if names is None and isinstance(args.get("Nodes"), Mapping):
            names = [n.get("metadata", {}).get("name") for n in args["Nodes"].get("items") or []]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InvalidInput("must be a list of node names", obj="ExtenderArgs",
                               field="NodeNames")  # fmt: skip
        if pod.uid:
            self._pods[pod.uid] = pod
            self._pods.move_to_end(pod.uid)
            while len(self._pods) > self._remember:
                self._pods.popitem(last=False)
        try:
            ok, failed = await self._coordinator.filter(pod.key, dict(pod.requests.items()), names)
        except ColoError as e:
            self.stats["errors"] += 1
            return {"NodeNames": None, "FailedNodes": {}, "Error": f"colo-coordinator: {e}"}
        return {"NodeNames": ok, "FailedNodes": failed, "Error": ""}

    # --- bind ----------------------------------------------------------------------
    async def bind(self, args: Mapping[str, Any]) -> dict[str, Any]:
        self.stats["binds"] += 1
        fields = {}
        for name in ("PodName", "PodNamespace", "Node"):
            value = args.get(name)
            if not isinstance(value, str) or not value:
                raise InvalidInput("missing", obj="ExtenderBindingArgs", field=name,
                                   expected="a non-empty string")  # fmt: skip
            fields[name] = value
        uid = args.get("PodUID") or ""
        if not isinstance(uid, str):
            raise InvalidInput("must be a string", obj="ExtenderBindingArgs", field="PodUID")
        ref = PodRef(fields["PodNamespace"], fields["PodName"], uid)
        node = fields["Node"]
        try:
            pod = self._pods.pop(uid, None) or await self._fetch(ref)
            (reply,) = await self._coordinator.reserve(
                [Item(ref.key, node, dict(pod.requests.items()), pod.priority)]
            )
        except ColoError as e:
            self.stats["errors"] += 1
            return {"Error": f"colo-coordinator: {e}"}
        if not reply.ok:
            self.stats["conflicts"] += 1
            return {"Error": f"colo-coordinator refused {node}: {reply.reason}"}
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


EXTENDER_KEY = web.AppKey("extender", Extender)


async def _body(request: web.Request) -> Mapping[str, Any]:
    try:
        body = json.loads(await request.read())
    except ValueError as e:
        raise InvalidInput(f"not JSON: {e}", obj="request body") from None
    if not isinstance(body, Mapping):
        raise InvalidInput("must be a JSON object", obj="request body")
    return body


async def _filter(request: web.Request) -> web.Response:
    try:
        out = await request.app[EXTENDER_KEY].filter(await _body(request))
    except InvalidInput as e:
        return web.Response(status=400, text=f"colo-extender: {e}\n")
    return web.json_response(out)


async def _bind(request: web.Request) -> web.Response:
    try:
        out = await request.app[EXTENDER_KEY].bind(await _body(request))
    except InvalidInput as e:
        return web.Response(status=400, text=f"colo-extender: {e}\n")
    if out["Error"]:
        log.info("bind refused: %s", out["Error"])
    return web.json_response(out)


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def make_app(extender: Extender) -> web.Application:
    app = web.Application(client_max_size=8 * 2**20)
    app[EXTENDER_KEY] = extender
    app.router.add_post("/filter", _filter)
    app.router.add_post("/bind", _bind)
    app.router.add_get("/healthz", _healthz)
    return app


async def start(extender: Extender, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve on host:port (0 picks one); returns the runner and the port."""
    runner = web.AppRunner(make_app(extender), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
