"""Read-only views of Kubernetes pods and nodes: what the whole system passes around.

Views are built once from the API's JSON (`Pod.from_k8s`, `Node.from_k8s`) and never change.
Construction validates as it reads: malformed input raises `InvalidInput` naming the object
(`pod default/web`, `node n1`) and the exact field path
(`spec.containers[1].resources.requests.memory`); no other exception type escapes for any
JSON-like input. Raw sub-objects kept as-is (`Pod.affinity`) must not be mutated.

Units follow `colo.core.resources`: millicores, bytes, counts. Times are epoch seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from colo.core._fields import (
    as_mapping,
    opt_bool,
    opt_int,
    opt_list,
    opt_mapping,
    opt_str,
    str_map,
)
from colo.core.errors import InvalidInput
from colo.core.podresources import PodResources
from colo.core.qos import (
    KubernetesQoSClass,
    QoSTier,
    pod_display_name,
    qos_class_of,
    resolve_tier,
    status_qos_class,
)
from colo.core.resources import RESOURCES_ZERO, Resources

DEFAULT_SCHEDULER = "default-scheduler"
NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"
# Effects the scheduler's TaintToleration filter enforces (PreferNoSchedule only scores).
FILTERED_EFFECTS = (NO_SCHEDULE, NO_EXECUTE)
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})

_TIME_EXPECTED = "an RFC 3339 time like 2024-01-02T03:04:05Z"


def _required_name(metadata: Mapping[str, Any], obj: str) -> str:
    name = metadata.get("name")
    if isinstance(name, str) and name:
        return name
    if name is None or name == "":
        raise InvalidInput(
            "missing required field", obj=obj, field="metadata.name", expected="a non-empty string"
        )
    raise InvalidInput(
        "wrong type", obj=obj, field="metadata.name", value=name, expected="a non-empty string"
    )


def _timestamp_s(metadata: Mapping[str, Any], key: str, obj: str) -> float | None:
    text = opt_str(metadata, key, obj, "metadata")
    if not text:
        return None
    return parse_time_s(text, obj=obj, field=f"metadata.{key}")


def parse_time_s(text: str, *, obj: str, field: str) -> float:
    """Unix seconds of an RFC 3339 time (no offset: UTC); InvalidInput names `field`."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            "invalid time", obj=obj, field=field, value=text, expected=_TIME_EXPECTED
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


START_AT_ANNOTATION = "colo.io/start-at"
"""Pod annotation, an RFC 3339 time: colo-batch binds the pod no earlier (colo-cron sets it
on the pods it creates ahead of their schedule)."""


def start_at_s(pod: Pod) -> float | None:
    """The pod's `colo.io/start-at` in unix seconds, or None; InvalidInput names the key."""
    text = pod.annotations.get(START_AT_ANNOTATION)
    if text is None:
        return None
    return parse_time_s(
        text, obj=f"pod {pod.key}", field=f"metadata.annotations[{START_AT_ANNOTATION}]"
    )


@dataclass(frozen=True, slots=True)
class Taint:
    """A node taint; `effect` is NoSchedule, PreferNoSchedule or NoExecute."""

    key: str
    value: str = ""
    effect: str = NO_SCHEDULE

    @classmethod
    def from_k8s(cls, raw: object, *, obj: str, path: str) -> Taint:
        t = as_mapping(raw, obj, path)
        key = opt_str(t, "key", obj, path)
        if not key:
            raise InvalidInput(
                "missing required field",
                obj=obj,
                field=f"{path}.key",
                expected="a non-empty string",
            )
        effect = opt_str(t, "effect", obj, path)
        if not effect:
            raise InvalidInput(
                "missing required field",
                obj=obj,
                field=f"{path}.effect",
                expected="NoSchedule, PreferNoSchedule or NoExecute",
            )
        return cls(key, opt_str(t, "value", obj, path), effect)


@dataclass(frozen=True, slots=True)
class Toleration:
    """A pod toleration. `operator` is `Equal` (the default) or `Exists`."""

    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""
    toleration_seconds: int | None = None

    @classmethod
    def from_k8s(cls, raw: object, *, obj: str, path: str) -> Toleration:
        t = as_mapping(raw, obj, path)
        return cls(
            key=opt_str(t, "key", obj, path),
            operator=opt_str(t, "operator", obj, path) or "Equal",
            value=opt_str(t, "value", obj, path),
            effect=opt_str(t, "effect", obj, path),
            toleration_seconds=opt_int(t, "tolerationSeconds", obj, path),
        )

    def tolerates(self, taint: Taint) -> bool:
        """Kubernetes' ToleratesTaint.

        An empty effect matches every effect and an empty key every key (so an empty key with
        `Exists` tolerates everything); `Exists` ignores the value, `Equal` compares it; any
        other operator tolerates nothing.
        """
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        if self.operator == "Equal":
            return self.value == taint.value
        return False


def untolerated_taint(
    taints: Iterable[Taint],
    tolerations: Iterable[Toleration],
    *,
    effects: Iterable[str] = FILTERED_EFFECTS,
) -> Taint | None:
    """The first taint with an effect in `effects` that no toleration tolerates, or None."""
    wanted = frozenset(effects)
    tols = tuple(tolerations)
    for taint in taints:
        if taint.effect in wanted and not any(t.tolerates(taint) for t in tols):
            return taint
    return None


@dataclass(frozen=True, slots=True)
class Pod:
    """A pod as colo sees it.

    `requests` is the effective request the kube-scheduler fits (containers, init containers,
    sidecars, pod-level resources and overhead; see `colo.core.podresources`) plus the pod
    slot (`pods=1`). `limits` is the effective limit (0 where unlimited). `tier` follows
    `colo.core.qos.tier_of`; `qos_class` is the Kubernetes QoS class. Equality compares every
    field; the hash uses namespace, name and uid only.
    """

    namespace: str
    name: str
    uid: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    node_name: str | None = None
    scheduler_name: str = DEFAULT_SCHEDULER
    priority: int = 0
    requests: Resources = RESOURCES_ZERO
    limits: Resources = RESOURCES_ZERO
    tolerations: tuple[Toleration, ...] = ()
    node_selector: Mapping[str, str] = field(default_factory=dict)
    affinity: Mapping[str, Any] | None = None
    phase: str = "Pending"
    tier: QoSTier = QoSTier.BE
    qos_class: KubernetesQoSClass = "BestEffort"
    owner_kind: str | None = None
    owner_name: str | None = None
    created_s: float | None = None

    def __hash__(self) -> int:
        return hash((self.namespace, self.name, self.uid))

    @property
    def key(self) -> str:
        """`namespace/name`."""
        return f"{self.namespace}/{self.name}"

    @property
    def bound(self) -> bool:
        return self.node_name is not None

    @property
    def terminal(self) -> bool:
        """Succeeded or Failed: the pod no longer holds node resources."""
        return self.phase in TERMINAL_PHASES

    @classmethod
    def from_k8s(cls, obj: Mapping[str, Any]) -> Pod:
        """Build from a Kubernetes Pod JSON object (see the module docstring for errors)."""
        root = as_mapping(obj, "pod", "(pod object)")
        metadata = opt_mapping(root, "metadata", "pod", "")
        if metadata is None:
            raise InvalidInput(
                "missing required field",
                obj="pod",
                field="metadata",
                expected="an object with a name",
            )
        display = pod_display_name(metadata)
        name = _required_name(metadata, display)
        namespace = opt_str(metadata, "namespace", display, "metadata") or "default"
        labels = str_map(metadata, "labels", display, "metadata")
        owner_kind, owner_name = _controller_owner(metadata, display)

        spec = opt_mapping(root, "spec", display, "") or {}
        if type(spec) is SharedSpec:
            hit = _BY_SPEC.get(id(spec))
            if hit is not None and hit[0] is spec:
                s = hit[1]
            else:
                s = _spec_parts(spec, display)
                _BY_SPEC.put(id(spec), (spec, s))
        else:
            s = _spec_parts(spec, display)
        (explicit_priority, tolerations, resources, requests, limits, node_name,
         scheduler_name, node_selector, affinity) = s  # fmt: skip

        status = opt_mapping(root, "status", display, "") or {}
        qos_class = status_qos_class(status, display) or qos_class_of(resources)
        tier = resolve_tier(
            labels=labels, priority=explicit_priority, qos_class=lambda: qos_class, obj=display
        )
        return cls(
            namespace=namespace,
            name=name,
            uid=opt_str(metadata, "uid", display, "metadata"),
            labels=labels,
            annotations=str_map(metadata, "annotations", display, "metadata"),
            node_name=node_name,
            scheduler_name=scheduler_name,
            priority=explicit_priority or 0,
            requests=requests,
            limits=limits,
            tolerations=tolerations,
            node_selector=node_selector,
            affinity=affinity,
            phase=opt_str(status, "phase", display, "status") or "Pending",
            tier=tier,
            qos_class=qos_class,
            owner_kind=owner_kind,
            owner_name=owner_name,
            created_s=_timestamp_s(metadata, "creationTimestamp", display),
        )


class SharedSpec(dict[str, Any]):
    """A pod spec that several raw pods hold as the very same object, and that nothing
    writes to: the Protobuf list decoder (`colo.kube.protolist`) hands out one per
    distinct spec, and a wave's pending pods share one. `Pod.from_k8s` reads such a spec
    once and memoises what it read by the object's identity (the memo holds the object,
    so its id is not reused while remembered); any other spec is read every time."""

    __slots__ = ()


#: What a view reads of a pod's spec: priority, tolerations, the resource parse, requests,
#: limits, node name, scheduler name, node selector, affinity. A plain tuple: a named one
#: cost JSON-read pods (every watch event's) ~4 % of `Pod.from_k8s`.
_SpecParts = tuple[
    int | None, tuple[Toleration, ...], PodResources, Resources, Resources, str | None, str,
    Mapping[str, str], Mapping[str, Any] | None,
]  # fmt: skip


def _spec_parts(spec: Mapping[str, Any], display: str) -> _SpecParts:
    raw_tolerations = opt_list(spec, "tolerations", display, "spec")
    key = _tolerations_key(raw_tolerations)
    tolerations = _TOLERATIONS.get(key)
    if tolerations is None:
        tolerations = tuple(
            Toleration.from_k8s(t, obj=display, path=f"spec.tolerations[{i}]")
            for i, t in enumerate(raw_tolerations)
        )
        _TOLERATIONS.put(key, tolerations)
    key = _spec_resources_key(spec)
    parsed = _RESOURCES.get(key)
    if parsed is None:
        resources = PodResources.from_spec(spec, obj=display)
        requests = resources.requests()
        requests = Resources(requests.cpu_milli, requests.memory_bytes, 1, requests.scalars)
        parsed = (resources, requests, resources.limits())
        _RESOURCES.put(key, parsed)
    resources, requests, limits = parsed
    return (
        opt_int(spec, "priority", display, "spec"),
        tolerations,
        resources,
        requests,
        limits,
        opt_str(spec, "nodeName", display, "spec") or None,
        opt_str(spec, "schedulerName", display, "spec") or DEFAULT_SCHEDULER,
        str_map(spec, "nodeSelector", display, "spec"),
        opt_mapping(spec, "affinity", display, "spec"),
    )


class _Memo:
    """Parses of pod sub-objects by their content: the pods of one job repeat the same
    tolerations and container resources thousands of times, and parsing them was most
    of building a view (a wave of 10,000 pods' first listing, issue 17). Keys hold only
    plain strings and ints (the `_*_key` functions below), so two inputs share a parse
    only when JSON would print them alike; anything else is parsed every time, and so
    are inputs that fail (their error names the pod). Bounded: emptied when full."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._parsed: dict[Any, Any] = {}

    def get(self, key: Any) -> Any:
        """The parse kept under `key`; None for None (an input without a key)."""
        return self._parsed.get(key)

    def put(self, key: Any, value: Any) -> None:
        if key is None:
            return
        if len(self._parsed) >= self._limit:
            self._parsed.clear()
        self._parsed[key] = value


_TOLERATIONS = _Memo()
_RESOURCES = _Memo()
_BY_SPEC = _Memo()  # id of a SharedSpec -> (the spec, its _SpecParts)

# Keys hold only plain strings (and ints where the API has integers): `True == 1` and
# `1 == 1.0` in Python, so a bool or a float must never share a parse with an int.


def _tolerations_key(raw: Sequence[Any]) -> Any:
    key = []
    for t in raw:
        if type(t) is not dict:
            return None
        for v in t.values():
            if type(v) is not str and type(v) is not int:
                return None
        key.append(tuple(t.items()))
    return tuple(key)


def _string_map_key(raw: Any) -> Any:
    """() for None; the items of a dict of strings; None (no key) otherwise."""
    if raw is None:
        return ()
    if type(raw) is not dict:
        return None
    for v in raw.values():
        if type(v) is not str:
            return None
    return tuple(raw.items())


def _requirements_key(raw: Any) -> Any:
    """A container's or the pod's `resources`: requests and limits (claims: no key)."""
    if raw is None:
        return ()
    if type(raw) is not dict:
        return None
    out = []
    for section, values in raw.items():
        items = _string_map_key(values)
        if items is None:
            return None
        out.append((section, items))
    return tuple(out)


def _spec_resources_key(spec: Mapping[str, Any]) -> Any:
    """The key of a spec's resource parse (what `PodResources.from_spec` reads): each
    container's and init container's name, restartPolicy and resources, overhead and
    pod-level resources; None when any of it is not plain."""
    parts: list[Any] = []
    for field_name in ("containers", "initContainers"):
        containers = spec.get(field_name)
        if containers is None:
            parts.append(None)
            continue
        if type(containers) is not list:
            return None
        cs = []
        for c in containers:
            if type(c) is not dict:
                return None
            name, policy = c.get("name"), c.get("restartPolicy")
            if not (name is None or type(name) is str) or not (
                policy is None or type(policy) is str
            ):
                return None
            requirements = _requirements_key(c.get("resources"))
            if requirements is None:
                return None
            cs.append((name, policy, requirements))
        parts.append(tuple(cs))
    overhead = _string_map_key(spec.get("overhead"))
    pod_level = _requirements_key(spec.get("resources"))
    if overhead is None or pod_level is None:
        return None
    parts.append(overhead)
    parts.append(pod_level)
    return tuple(parts)


def _controller_owner(metadata: Mapping[str, Any], obj: str) -> tuple[str | None, str | None]:
    """(kind, name) of the controlling owner reference, else of the first one, else Nones."""
    chosen: tuple[str | None, str | None] = (None, None)
    for i, raw in enumerate(opt_list(metadata, "ownerReferences", obj, "metadata")):
        path = f"metadata.ownerReferences[{i}]"
        ref = as_mapping(raw, obj, path)
        kind = opt_str(ref, "kind", obj, path) or None
        name = opt_str(ref, "name", obj, path) or None
        if opt_bool(ref, "controller", obj, path):
            return kind, name
        if i == 0:
            chosen = (kind, name)
    return chosen


@dataclass(frozen=True, slots=True)
class Node:
    """A node as colo sees it: capacity/allocatable in colo units, readiness, taints.

    `allocatable` defaults to `capacity` when the node reports none. `ready` is the `Ready`
    condition being `True`. The hash uses the name only.
    """

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    capacity: Resources = RESOURCES_ZERO
    allocatable: Resources = RESOURCES_ZERO
    ready: bool = True
    unschedulable: bool = False

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def schedulable(self) -> bool:
        """Ready and not cordoned."""
        return self.ready and not self.unschedulable

    @classmethod
    def from_k8s(cls, obj: Mapping[str, Any]) -> Node:
        """Build from a Kubernetes Node JSON object; InvalidInput names `node <name>` and field."""
        root = as_mapping(obj, "node", "(node object)")
        metadata = opt_mapping(root, "metadata", "node", "")
        if metadata is None:
            raise InvalidInput(
                "missing required field",
                obj="node",
                field="metadata",
                expected="an object with a name",
            )
        raw_name = metadata.get("name")
        display = f"node {raw_name}" if isinstance(raw_name, str) and raw_name else "node"
        name = _required_name(metadata, display)
        spec = opt_mapping(root, "spec", display, "") or {}
        status = opt_mapping(root, "status", display, "") or {}
        capacity = Resources.from_k8s(
            opt_mapping(status, "capacity", display, "status"), obj=display, field="status.capacity"
        )
        raw_allocatable = opt_mapping(status, "allocatable", display, "status")
        allocatable = (
            capacity
            if raw_allocatable is None
            else Resources.from_k8s(raw_allocatable, obj=display, field="status.allocatable")
        )
        return cls(
            name=name,
            labels=str_map(metadata, "labels", display, "metadata"),
            annotations=str_map(metadata, "annotations", display, "metadata"),
            taints=tuple(
                Taint.from_k8s(t, obj=display, path=f"spec.taints[{i}]")
                for i, t in enumerate(opt_list(spec, "taints", display, "spec"))
            ),
            capacity=capacity,
            allocatable=allocatable,
            ready=_ready(status, display),
            unschedulable=opt_bool(spec, "unschedulable", display, "spec"),
        )


def _ready(status: Mapping[str, Any], obj: str) -> bool:
    for i, raw in enumerate(opt_list(status, "conditions", obj, "status")):
        path = f"status.conditions[{i}]"
        condition = as_mapping(raw, obj, path)
        if opt_str(condition, "type", obj, path) == "Ready":
            return opt_str(condition, "status", obj, path) == "True"
    return False
