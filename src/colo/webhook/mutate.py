"""Mutating admission for pods: offline (BE) pods move onto colo's batch resources.

For a pod whose tier (see `colo.core.qos`) is **BE**, in every container and init
container, cpu and memory in `requests` and `limits` are replaced by
`colo.io/batch-cpu` (millicores) and `colo.io/batch-memory` (bytes). Kubernetes insists
that an extended resource's request equals its limit, so each batch resource gets one
value: the request when there is one, else the limit. With no cpu or memory left, the
kubelet classes the pod BestEffort, which puts it in the lowest-priority cgroup; the
original figures are kept in the annotation `colo.io/original-resources` (JSON) for the
agent, which enforces the limits inside the offline box. `schedulerName` becomes
`colo-batch` unless the pod names a scheduler of its own other than the default.

Online pods pass untouched. Denied, with a message naming the field:
- a malformed `colo.io/qos` label, or an unknown `colo.io/` label or annotation;
- an online pod that asks for `colo.io/batch-*` (batch capacity is for offline work);
- a malformed cpu/memory quantity in a BE pod.
Applying the mutation twice changes nothing (the API server may reinvoke webhooks).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from colo.core.errors import InvalidInput
from colo.core.objects import START_AT_ANNOTATION
from colo.core.qos import QOS_LABEL, QoSTier, pod_display_name, tier_of
from colo.core.quantity import cpu_milli, to_bytes
from colo.core.resources import BATCH_CPU, BATCH_MEMORY

BATCH_SCHEDULER = "colo-batch"
ORIGINAL_ANNOTATION = "colo.io/original-resources"
# Every colo.io/ key colo reads or writes on a pod. Sibling engines and the apps define
# most of them and the webhook may not import those (tests/webhook/test_mutate.py holds
# these names equal to the defining constants).
KNOWN_LABELS = frozenset(
    {
        QOS_LABEL,
        "colo.io/virtual-nodes",  # colo.sched.requirements.VIRTUAL_LABEL
        "colo.io/gang",  # colo.sched.requirements.GANG_LABEL
    }
)
KNOWN_ANNOTATIONS = frozenset(
    {
        ORIGINAL_ANNOTATION,
        START_AT_ANNOTATION,  # colo-cron's pods: bind no earlier than this
        "colo.io/virtual-failed",  # colo.sched.requirements.VIRTUAL_FAILED_ANNOTATION
        "colo.io/gang-min-members",  # colo.sched.requirements.GANG_MIN_ANNOTATION
        "colo.io/slo-probe",  # colo.apps.protect.SLO_PROBE_ANNOTATION
        "colo.io/slo-target-ms",  # colo.apps.protect.SLO_TARGET_ANNOTATION
    }
)
DEFAULT_SCHEDULER = "default-scheduler"


@dataclass(frozen=True, slots=True)
class WebhookOptions:
    scheduler_name: str = BATCH_SCHEDULER


def _check_colo_keys(meta: Mapping[str, Any], obj: str) -> None:
    for section, known in (("labels", KNOWN_LABELS), ("annotations", KNOWN_ANNOTATIONS)):
        values = meta.get(section) or {}
        if not isinstance(values, Mapping):
            raise InvalidInput("must be a map", obj=obj, field=f"metadata.{section}")
        for key in values:
            if str(key).startswith("colo.io/") and key not in known:
                raise InvalidInput(
                    "unknown colo key",
                    obj=obj,
                    field=f"metadata.{section}[{key}]",
                    expected=f"one of {sorted(known)}",
                )


def _batch_values(
    resources: Mapping[str, Any], obj: str, field: str
) -> tuple[int | None, int | None]:
    """(batch cpu millicores, batch memory bytes) from a container's cpu/memory."""
    out: list[int | None] = []
    for name, parse in (("cpu", cpu_milli), ("memory", to_bytes)):
        value: int | None = None
        for part in ("requests", "limits"):  # the request wins when both are there
            section = resources.get(part) or {}
            if name in section:
                value = parse(section[name], obj=obj, field=f"{field}.{part}.{name}")
                break
        out.append(value)
    return out[0], out[1]


Parts = dict[str, dict[str, Any]]


def _split_cpu_memory(resources: Mapping[str, Any]) -> tuple[Parts, Parts]:
    """(everything but cpu/memory, only cpu/memory), per requests and limits."""
    kept: Parts = {}
    moved: Parts = {}
    for part in ("requests", "limits"):
        section = resources.get(part) or {}
        kept[part] = {k: v for k, v in section.items() if k not in ("cpu", "memory")}
        moved[part] = {k: v for k, v in section.items() if k in ("cpu", "memory")}
    return kept, moved


def mutate_pod(pod: Mapping[str, Any], options: WebhookOptions) -> list[dict[str, Any]]:
    """The JSON Patch (RFC 6902) for `pod`; empty when nothing changes. Raises InvalidInput."""
    meta = pod.get("metadata") or {}
    obj = pod_display_name(meta)
    _check_colo_keys(meta, obj)
    tier = tier_of(pod)
    spec = pod.get("spec") or {}
    groups = [(g, spec.get(g) or []) for g in ("initContainers", "containers")]
    if tier is not QoSTier.BE:
        for group, containers in groups:
            for i, c in enumerate(containers):
                res = c.get("resources") or {}
                for part in ("requests", "limits"):
                    for r in (BATCH_CPU, BATCH_MEMORY):
                        if r in (res.get(part) or {}):
                            raise InvalidInput(
                                f"only offline (BE) pods may use {r}; this pod is {tier}",
                                obj=obj,
                                field=f"spec.{group}[{i}].resources.{part}",
                            )
        return []
    ops: list[dict[str, Any]] = []
    original: dict[str, Any] = {}
    for group, containers in groups:
        for i, c in enumerate(containers):
            res = c.get("resources") or {}
            field = f"spec.{group}[{i}].resources"
            cpu, mem = _batch_values(res, obj, field)
            if cpu is None and mem is None:
                continue
            kept, original[c.get("name", str(i))] = _split_cpu_memory(res)
            batch: dict[str, str] = {}
            if cpu is not None:
                batch[BATCH_CPU] = str(cpu)
            if mem is not None:
                batch[BATCH_MEMORY] = str(mem)
            new_res = {
                **res,
                "requests": {**kept["requests"], **batch},
                "limits": {**kept["limits"], **batch},
            }
            ops.append({"op": "add", "path": f"/spec/{group}/{i}/resources", "value": new_res})
    if original:
        annotations = dict(meta.get("annotations") or {})
        annotations[ORIGINAL_ANNOTATION] = json.dumps(original, sort_keys=True)
        ops.append({"op": "add", "path": "/metadata/annotations", "value": annotations})
    if spec.get("schedulerName") in (None, "", DEFAULT_SCHEDULER) and options.scheduler_name:
        ops.append({"op": "add", "path": "/spec/schedulerName", "value": options.scheduler_name})
    return ops


def review(body: Any, options: WebhookOptions) -> dict[str, Any]:
    """An AdmissionReview v1 response for the AdmissionReview request `body`.

    A malformed review (not what the API server sends) raises InvalidInput; a bad pod is
    answered with `allowed: false` and the reason.
    """
    if not isinstance(body, Mapping) or body.get("kind") != "AdmissionReview":
        raise InvalidInput("expected an AdmissionReview", obj="admission request", field="kind")
    request = body.get("request")
    if not isinstance(request, Mapping) or not request.get("uid"):
        raise InvalidInput("missing", obj="AdmissionReview", field="request.uid")
    response: dict[str, Any] = {"uid": request["uid"], "allowed": True}
    out = {
        "apiVersion": body.get("apiVersion", "admission.k8s.io/v1"),
        "kind": "AdmissionReview",
        "response": response,
    }
    kind = (request.get("kind") or {}).get("kind")
    pod = request.get("object")
    if kind != "Pod" or not isinstance(pod, Mapping) or request.get("operation") != "CREATE":
        return out
    try:
        ops = mutate_pod(pod, options)
    except InvalidInput as e:
        response["allowed"] = False
        response["status"] = {"code": 400, "reason": "BadRequest", "message": f"colo: {e}"}
        return out
    if ops:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(ops).encode()).decode()
    return out
