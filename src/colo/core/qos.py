"""QoS tiers: how much isolation a pod gets on a co-located node.

| tier     | meaning                                                     |
|----------|-------------------------------------------------------------|
| `LSE`    | latency-sensitive, exclusive physical cores                 |
| `LSR`    | latency-sensitive, reserved cores (shareable with BE only)  |
| `LS`     | latency-sensitive, shared cores under CFS quota             |
| `BE`     | best-effort offline work inside the offline box             |
| `SYSTEM` | cluster-critical system pods (never throttled or evicted)   |

A pod's tier, first match wins (`tier_of`):
1. the label `colo.io/qos` = `LSE` | `LSR` | `LS` | `BE` (case-sensitive; anything else is an
   error naming the pod and the label);
2. the priority band of `spec.priority` (`PRIORITY_BANDS`);
3. the Kubernetes QoS class (`status.qosClass`, else computed from the spec):
   Guaranteed → LSR, Burstable → LS, BestEffort → BE.

Kubernetes QoS class (k8s.io/kubernetes/pkg/apis/core/v1/helper/qos, per container, over
regular and init containers; only cpu and memory count):
- a container is BestEffort when it has no cpu/memory request or limit, Guaranteed when it
  limits both cpu and memory and its requests equal its limits, else Burstable;
- the pod is BestEffort or Guaranteed when all containers are, otherwise Burstable;
- with pod-level resources (`spec.resources`), the pod-level requests/limits decide instead.
Requests default to limits first (API-server defaulting). Values compare at millicore and
byte granularity (Kubernetes compares exact quantities; they differ only below 1m / 1 byte).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from colo.core._fields import as_mapping, field_path, opt_int, opt_mapping, opt_str, str_map
from colo.core.errors import InvalidInput
from colo.core.podresources import PodResources
from colo.core.resources import Resources

KubernetesQoSClass = Literal["Guaranteed", "Burstable", "BestEffort"]
QOS_CLASSES: tuple[KubernetesQoSClass, ...] = ("Guaranteed", "Burstable", "BestEffort")

QOS_LABEL = "colo.io/qos"


class QoSTier(enum.StrEnum):
    LSE = "LSE"
    LSR = "LSR"
    LS = "LS"
    BE = "BE"
    SYSTEM = "SYSTEM"


LABEL_TIERS: tuple[QoSTier, ...] = (QoSTier.LSE, QoSTier.LSR, QoSTier.LS, QoSTier.BE)
_LABEL_VALUES = {t.value: t for t in LABEL_TIERS}


@dataclass(frozen=True, slots=True)
class PriorityBand:
    """Pods with `low <= spec.priority <= high` get `tier` (bounds inclusive)."""

    name: str
    low: int
    high: int
    tier: QoSTier


SYSTEM_PRIORITY_MIN = 1_000_000_000  # Kubernetes reserves priorities above 1e9 for system pods
PRIORITY_MAX = 2**31 - 1  # priorities are int32
PROD_BAND = PriorityBand("prod", 9000, 9999, QoSTier.LS)
MID_BAND = PriorityBand("mid", 7000, 7999, QoSTier.LS)
BATCH_BAND = PriorityBand("batch", 5000, 5999, QoSTier.BE)
FREE_BAND = PriorityBand("free", 3000, 3999, QoSTier.BE)
SYSTEM_BAND = PriorityBand("system", SYSTEM_PRIORITY_MIN, PRIORITY_MAX, QoSTier.SYSTEM)
PRIORITY_BANDS: tuple[PriorityBand, ...] = (SYSTEM_BAND, PROD_BAND, MID_BAND, BATCH_BAND, FREE_BAND)

TIER_OF_QOS_CLASS: Mapping[KubernetesQoSClass, QoSTier] = {
    "Guaranteed": QoSTier.LSR,
    "Burstable": QoSTier.LS,
    "BestEffort": QoSTier.BE,
}


def priority_band(priority: int) -> PriorityBand | None:
    """The band containing `priority`, or None (priorities outside every band)."""
    for band in PRIORITY_BANDS:
        if band.low <= priority <= band.high:
            return band
    return None


def _resource_qos(requests: Resources, limits: Resources) -> KubernetesQoSClass:
    cpu_req, cpu_lim = requests.cpu_milli, limits.cpu_milli
    mem_req, mem_lim = requests.memory_bytes, limits.memory_bytes
    if cpu_req != cpu_lim or mem_req != mem_lim:
        return "Burstable"
    if cpu_req == 0 and mem_req == 0:
        return "BestEffort"
    if cpu_req != 0 and mem_req != 0:
        return "Guaranteed"
    return "Burstable"


def _combine(classes: Iterable[KubernetesQoSClass]) -> KubernetesQoSClass:
    pod: KubernetesQoSClass | None = None
    for qos in classes:
        if qos == "Burstable" or (pod is not None and pod != qos):
            return "Burstable"
        pod = qos
    return pod or "BestEffort"


def qos_class_of(resources: PodResources) -> KubernetesQoSClass:
    """The Kubernetes QoS class of a parsed pod spec (rules in the module docstring)."""
    if resources.pod_level_set:
        return _resource_qos(
            Resources.from_items(resources.pod_requests or ()),
            Resources.from_items(resources.pod_limits or ()),
        )
    return _combine(
        _resource_qos(c.requests, c.limits)
        for c in (*resources.containers, *resources.init_containers)
    )


def kubernetes_qos_class(pod_spec: Mapping[str, Any], *, obj: str = "pod") -> KubernetesQoSClass:
    """The Kubernetes QoS class computed from a raw pod `spec` (ignores `status.qosClass`)."""
    spec = as_mapping(pod_spec, obj, "spec")
    return qos_class_of(PodResources.from_spec(spec, obj=obj))


def resolve_tier(
    *,
    labels: Mapping[str, str],
    priority: int | None,
    qos_class: Callable[[], KubernetesQoSClass],
    obj: str,
) -> QoSTier:
    """The tier from label, else priority band, else `qos_class()` (called only if needed)."""
    label = labels.get(QOS_LABEL)
    if label is not None:
        tier = _LABEL_VALUES.get(label)
        if tier is None:
            raise InvalidInput(
                "invalid QoS tier",
                obj=obj,
                field=field_path("metadata.labels", QOS_LABEL),
                value=label,
                expected="one of " + ", ".join(_LABEL_VALUES),
            )
        return tier
    if priority is not None:
        band = priority_band(priority)
        if band is not None:
            return band.tier
    return TIER_OF_QOS_CLASS[qos_class()]


def pod_display_name(metadata: Mapping[str, Any]) -> str:
    """`pod ns/name` for error messages; tolerant of a malformed metadata object. A pod
    created with only `generateName` (as admission sees it) shows as `ns/prefix…`."""
    namespace = metadata.get("namespace")
    name = metadata.get("name")
    ns = namespace if isinstance(namespace, str) and namespace else "default"
    if not (isinstance(name, str) and name):
        prefix = metadata.get("generateName")
        name = f"{prefix}…" if isinstance(prefix, str) and prefix else "(unnamed)"
    return f"pod {ns}/{name}"


def status_qos_class(status: Mapping[str, Any] | None, obj: str) -> KubernetesQoSClass | None:
    """`status.qosClass` when present; InvalidInput when it is not one of the three classes."""
    if not status:
        return None
    value = opt_str(status, "qosClass", obj, "status")
    if not value:
        return None
    for qos in QOS_CLASSES:
        if value == qos:
            return qos
    raise InvalidInput(
        "invalid QoS class",
        obj=obj,
        field="status.qosClass",
        value=value,
        expected="one of " + ", ".join(QOS_CLASSES),
    )


def tier_of(pod: Mapping[str, Any]) -> QoSTier:
    """The QoS tier of a raw Kubernetes pod (precedence in the module docstring)."""
    root = as_mapping(pod, "pod", "")
    metadata = opt_mapping(root, "metadata", "pod", "") or {}
    obj = pod_display_name(metadata)
    labels = str_map(metadata, "labels", obj, "metadata")
    spec = opt_mapping(root, "spec", obj, "") or {}
    priority = opt_int(spec, "priority", obj, "spec")

    def qos_class() -> KubernetesQoSClass:
        from_status = status_qos_class(opt_mapping(root, "status", obj, ""), obj)
        if from_status is not None:
            return from_status
        return qos_class_of(PodResources.from_spec(spec, obj=obj))

    return resolve_tier(labels=labels, priority=priority, qos_class=qos_class, obj=obj)
