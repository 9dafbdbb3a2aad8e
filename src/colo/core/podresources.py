"""A pod's resource requirements as the kube-scheduler and the kubelet account for them.

`PodResources.from_spec` reads `spec.containers`, `spec.initContainers`, `spec.resources`
(pod-level resources) and `spec.overhead` once; the effective request, the effective limit
and the QoS class (`colo.core.qos`) are all computed from that one parse.

Defaulting applied here, as the API server would before anyone else reads the pod:
- a container's request for a resource defaults to its limit when only the limit is set;
- pod-level (`spec.resources`, when it has limits): an unset cpu/memory request defaults to
  the containers' aggregate request, else to the pod-level limit; hugepages-* limits set only
  on containers become pod-level limits (see `_default_pod_level`).

Effective request (component-helpers `PodRequests`, which the scheduler's fit filter uses)::

    sidecars(i) = sum of restartable init containers (restartPolicy: Always) before index i
    init(i)     = requests(i) + sidecars(i)   for a regular init container i
                  sidecars(i+1)               for a restartable one
    request     = max(sum(containers) + sum(restartable init containers), max_i init(i))
    request[r]  = pod-level request[r]        for r in cpu, memory, hugepages-* when set
    request    += spec.overhead

The effective limit is computed the same way from limits (a container without a limit adds
0), pod-level limits override, and overhead is added only to resources with a non-zero limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from colo.core._fields import as_mapping, field_path, opt_list, opt_mapping, opt_str
from colo.core.resources import CPU, HUGEPAGES_PREFIX, MEMORY, RESOURCES_ZERO, Resources

Pairs = tuple[tuple[str, int], ...]


def is_pod_level_resource(name: str) -> bool:
    """Resources that pod-level `spec.resources` may set: cpu, memory, hugepages-*."""
    return name in (CPU, MEMORY) or name.startswith(HUGEPAGES_PREFIX)


@dataclass(frozen=True, slots=True)
class ContainerResources:
    """One container's requests (after defaulting from limits) and limits."""

    name: str
    requests: Resources
    limits: Resources
    restartable: bool = False  # an init container with restartPolicy: Always (a sidecar)

    @classmethod
    def from_k8s(
        cls, container: object, *, obj: str, path: str, init: bool = False
    ) -> ContainerResources:
        c = as_mapping(container, obj, path)
        name = opt_str(c, "name", obj, path)
        restartable = init and opt_str(c, "restartPolicy", obj, path) == "Always"
        resources = opt_mapping(c, "resources", obj, path)
        if not resources:
            return cls(name, RESOURCES_ZERO, RESOURCES_ZERO, restartable)
        rpath = f"{path}.resources"
        raw_requests = opt_mapping(resources, "requests", obj, rpath)
        raw_limits = opt_mapping(resources, "limits", obj, rpath)
        requests = Resources.from_k8s(raw_requests, obj=obj, field=f"{rpath}.requests")
        limits = Resources.from_k8s(raw_limits, obj=obj, field=f"{rpath}.limits")
        if raw_limits:
            defaulted = [
                (n, v) for n, v in limits.items() if raw_requests is None or n not in raw_requests
            ]
            if defaulted:
                requests = requests + Resources.from_items(defaulted)
        return cls(name, requests, limits, restartable)


def _explicit(raw: Mapping[str, Any] | None, parsed: Resources) -> Pairs:
    """(name, value) for every pod-level resource named in `raw`, zeros included."""
    if not raw:
        return ()
    return tuple(
        (name, parsed.get(name))
        for name in raw
        if isinstance(name, str) and is_pod_level_resource(name)
    )


def _aggregate(
    containers: tuple[ContainerResources, ...],
    init_containers: tuple[ContainerResources, ...],
    *,
    limits: bool,
) -> Resources:
    if not init_containers and len(containers) == 1:  # the common case, kept cheap
        return containers[0].limits if limits else containers[0].requests
    total = RESOURCES_ZERO
    for c in containers:
        total = total + (c.limits if limits else c.requests)
    sidecars = RESOURCES_ZERO
    init_max = RESOURCES_ZERO
    for c in init_containers:
        own = c.limits if limits else c.requests
        if c.restartable:
            total = total + own
            sidecars = sidecars + own
            init_max = init_max.max_with(sidecars)
        else:
            init_max = init_max.max_with(own + sidecars)
    return total.max_with(init_max)


def _default_pod_level(
    req: Pairs,
    lim: Pairs,
    containers: tuple[ContainerResources, ...],
    init_containers: tuple[ContainerResources, ...],
) -> tuple[Pairs, Pairs]:
    """(limits, requests) of `spec.resources` after API-server defaulting.

    defaultHugePagePodLimits: a hugepages-* limit set on containers only becomes the pod's
    limit (unless the pod requests that size). defaultPodRequests, only when the pod has
    limits: an unset cpu/memory request defaults to the containers' aggregate request when
    they request it (non-zero), and any still-unset request to the pod-level limit.
    """
    requested = {name for name, _ in req}
    limited = {name for name, _ in lim}
    limits = list(lim)
    for name, value in _aggregate(containers, init_containers, limits=True).items():
        if name.startswith(HUGEPAGES_PREFIX) and name not in requested and name not in limited:
            limits.append((name, value))
    if not limits:
        return (), req
    requests = list(req)
    aggregate = _aggregate(containers, init_containers, limits=False)
    for name in (CPU, MEMORY):
        if name not in requested and aggregate.get(name):
            requests.append((name, aggregate.get(name)))
            requested.add(name)
    for name, value in limits:
        if name not in requested:
            requests.append((name, value))
            requested.add(name)
    return tuple(limits), tuple(requests)


@dataclass(frozen=True, slots=True)
class PodResources:
    """Everything about a pod spec that resource accounting and QoS need, parsed once."""

    containers: tuple[ContainerResources, ...] = ()
    init_containers: tuple[ContainerResources, ...] = ()
    pod_requests: Pairs | None = None  # spec.resources.requests after defaulting; None: unset
    pod_limits: Pairs | None = None  # spec.resources.limits (pod-level names only)
    overhead: Resources = RESOURCES_ZERO

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], *, obj: str, path: str = "spec") -> PodResources:
        containers = tuple(
            ContainerResources.from_k8s(c, obj=obj, path=f"{path}.containers[{i}]")
            for i, c in enumerate(opt_list(spec, "containers", obj, path))
        )
        init_containers = tuple(
            ContainerResources.from_k8s(c, obj=obj, path=f"{path}.initContainers[{i}]", init=True)
            for i, c in enumerate(opt_list(spec, "initContainers", obj, path))
        )
        overhead = Resources.from_k8s(
            opt_mapping(spec, "overhead", obj, path), obj=obj, field=f"{path}.overhead"
        )
        pod_requests: Pairs | None = None
        pod_limits: Pairs | None = None
        pod_level = opt_mapping(spec, "resources", obj, path)
        if pod_level:
            ppath = field_path(path, "resources")
            raw_req = opt_mapping(pod_level, "requests", obj, ppath)
            raw_lim = opt_mapping(pod_level, "limits", obj, ppath)
            req = _explicit(
                raw_req, Resources.from_k8s(raw_req, obj=obj, field=f"{ppath}.requests")
            )
            lim = _explicit(raw_lim, Resources.from_k8s(raw_lim, obj=obj, field=f"{ppath}.limits"))
            if req or lim:
                pod_limits, pod_requests = _default_pod_level(req, lim, containers, init_containers)
        return cls(containers, init_containers, pod_requests, pod_limits, overhead)

    @property
    def pod_level_set(self) -> bool:
        """True when `spec.resources` names cpu, memory or hugepages-* (PodLevelResources)."""
        return self.pod_requests is not None

    def requests(self) -> Resources:
        """The effective pod request (see the module docstring), without the pod slot."""
        total = _aggregate(self.containers, self.init_containers, limits=False)
        for name, value in self.pod_requests or ():
            total = total.with_value(name, value)
        return total + self.overhead

    def limits(self) -> Resources:
        """The effective pod limit; 0 for a resource no container limits."""
        total = _aggregate(self.containers, self.init_containers, limits=True)
        for name, value in self.pod_limits or ():
            total = total.with_value(name, value)
        if not self.overhead.is_zero():
            for name, value in self.overhead.items():
                current = total.get(name)
                if current:
                    total = total.with_value(name, current + value)
        return total
