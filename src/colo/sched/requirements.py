"""A pending pod compiled into what the vectorized filters need.

Node affinity (required) is compiled once per pod: nodeSelectorTerms are ORed, each
term's matchExpressions (and matchFields on metadata.name) are ANDed, with the
operators In, NotIn, Exists, DoesNotExist, Gt, Lt as Kubernetes defines them (Gt/Lt
compare the label as an integer; a label that is not an integer does not match).
A malformed affinity raises `InvalidInput` naming the field, so a bad pod is reported,
never crashes the scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from colo.core.errors import InvalidInput
from colo.core.objects import Pod, Toleration
from colo.core.virtual import VIRTUAL_TAINT_KEY

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")

#: (key, operator, values) — `key` "metadata.name" with field=True for matchFields.
Expression = tuple[str, str, tuple[str, ...], bool]
Term = tuple[Expression, ...]


def _expressions(raw: Any, obj: str, path: str, fields: bool) -> list[Expression]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInput("must be a list", obj=obj, field=path)
    out: list[Expression] = []
    for i, e in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(e, Mapping):
            raise InvalidInput("must be an object", obj=obj, field=where)
        key, op = e.get("key"), e.get("operator")
        values = e.get("values") or []
        if not isinstance(key, str) or not key:
            raise InvalidInput("missing", obj=obj, field=f"{where}.key", expected="a label key")
        if op not in OPERATORS:
            raise InvalidInput(
                "unknown operator", obj=obj, field=f"{where}.operator", value=op,
                expected=", ".join(OPERATORS),
            )  # fmt: skip
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidInput("must be a list of strings", obj=obj, field=f"{where}.values")
        if op in ("In", "NotIn") and not values:
            raise InvalidInput("needs at least one value", obj=obj, field=f"{where}.values")
        if op in ("Exists", "DoesNotExist") and values:
            raise InvalidInput("must be empty", obj=obj, field=f"{where}.values")
        if op in ("Gt", "Lt"):
            if len(values) != 1:
                raise InvalidInput("needs exactly one value", obj=obj, field=f"{where}.values")
            try:
                int(values[0])
            except ValueError:
                raise InvalidInput(
                    "not an integer", obj=obj, field=f"{where}.values[0]", value=values[0]
                ) from None
        if fields and (key != "metadata.name" or op not in ("In", "NotIn")):
            raise InvalidInput(
                "only metadata.name with In or NotIn is supported", obj=obj, field=where
            )
        out.append((key, str(op), tuple(values), fields))
    return out


def compile_affinity(affinity: Mapping[str, Any] | None, obj: str) -> tuple[Term, ...] | None:
    """The required node-affinity terms, or None when the pod has none."""
    if not affinity:
        return None
    node_aff = affinity.get("nodeAffinity")
    if not node_aff:
        return None
    required = node_aff.get("requiredDuringSchedulingIgnoredDuringExecution")
    if not required:
        return None
    path = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    terms = required.get("nodeSelectorTerms") if isinstance(required, Mapping) else None
    if not isinstance(terms, list) or not terms:
        raise InvalidInput("needs at least one term", obj=obj, field=f"{path}.nodeSelectorTerms")
    out: list[Term] = []
    for i, t in enumerate(terms):
        where = f"{path}.nodeSelectorTerms[{i}]"
        if not isinstance(t, Mapping):
            raise InvalidInput("must be an object", obj=obj, field=where)
        exprs = _expressions(t.get("matchExpressions"), obj, f"{where}.matchExpressions", False)
        exprs += _expressions(t.get("matchFields"), obj, f"{where}.matchFields", True)
        out.append(tuple(exprs))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Requirements:
    """Everything about a pod that decides which nodes it may use."""

    key: str
    requests: tuple[tuple[str, int], ...]  # non-zero requests, pods=1 included
    tolerations: tuple[Toleration, ...]
    node_selector: tuple[tuple[str, str], ...]
    affinity: tuple[Term, ...] | None
    job: str
    priority: int
    gang: str
    gang_min: int
    virtual: str = "avoid"
    """Virtual nodes: `prefer`, `require` or `avoid` (see `VirtualNodePolicy`)."""

    def with_key(self, key: str) -> Requirements:
        """The same requirements for another pod (what `dataclasses.replace` makes, at a
        third of its cost: a wave compiles thousands)."""
        return Requirements(
            key, self.requests, self.tolerations, self.node_selector, self.affinity, self.job,
            self.priority, self.gang, self.gang_min, self.virtual,
        )  # fmt: skip

    @property
    def placement_key(self) -> tuple[object, ...]:
        """Pods with the same key may go to exactly the same nodes."""
        return (self.tolerations, self.node_selector, self.affinity, self.virtual)

    @property
    def shape(self) -> tuple[object, ...]:
        """Pods with the same shape are interchangeable for filtering and scoring."""
        return (self.requests, self.placement_key, self.job)


VIRTUAL_MODES = ("prefer", "require", "avoid")
VIRTUAL_LABEL = "colo.io/virtual-nodes"
VIRTUAL_FAILED_ANNOTATION = "colo.io/virtual-failed"
VIRTUAL_TOLERATION = Toleration(key=VIRTUAL_TAINT_KEY, operator="Exists")


@dataclass(frozen=True)
class VirtualNodePolicy:
    """Which pods may use virtual nodes, first match wins:

    1. annotation `colo.io/virtual-failed` (an earlier attempt failed there): `avoid`;
    2. the pod label `colo.io/virtual-nodes` = prefer | require | avoid;
    3. `namespaces[pod's namespace]`;
    4. pods owned by a Job (CronJobs make Jobs): `jobs`; others: `others`.
    """

    jobs: str = "prefer"
    others: str = "avoid"
    namespaces: tuple[tuple[str, str], ...] = ()

    def mode(self, pod: Pod) -> str:
        obj = f"pod {pod.key}"
        if pod.annotations.get(VIRTUAL_FAILED_ANNOTATION):
            return "avoid"
        label = pod.labels.get(VIRTUAL_LABEL)
        if label is not None:
            if label not in VIRTUAL_MODES:
                raise InvalidInput(
                    "unknown mode", obj=obj, field=f"metadata.labels[{VIRTUAL_LABEL}]",
                    value=label, expected=", ".join(VIRTUAL_MODES),
                )  # fmt: skip
            return label
        for ns, mode in self.namespaces:
            if ns == pod.namespace:
                return mode
        return self.jobs if pod.owner_kind == "Job" else self.others


GANG_LABEL = "colo.io/gang"
GANG_MIN_ANNOTATION = "colo.io/gang-min-members"


def requirements_of(pod: Pod, virtual: VirtualNodePolicy | None = None) -> Requirements:
    obj = f"pod {pod.key}"
    mode = (virtual or VirtualNodePolicy()).mode(pod)
    tolerations = tuple(pod.tolerations)
    if mode in ("prefer", "require") and VIRTUAL_TOLERATION not in tolerations:
        tolerations += (VIRTUAL_TOLERATION,)
    gang = pod.labels.get(GANG_LABEL, "")
    gang_min = 0
    if gang:
        raw = pod.annotations.get(GANG_MIN_ANNOTATION, "1")
        try:
            gang_min = int(raw)
        except ValueError:
            raise InvalidInput(
                "not an integer", obj=obj, field=f"metadata.annotations[{GANG_MIN_ANNOTATION}]",
                value=raw,
            ) from None  # fmt: skip
        if gang_min < 1:
            raise InvalidInput(
                "must be >= 1", obj=obj, field=f"metadata.annotations[{GANG_MIN_ANNOTATION}]",
                value=gang_min,
            )  # fmt: skip
    requests = tuple(sorted((n, v) for n, v in pod.requests.items() if v))
    return Requirements(
        key=pod.key,
        requests=requests,
        tolerations=tolerations,
        node_selector=tuple(sorted(pod.node_selector.items())),
        affinity=compile_affinity(pod.affinity, obj),
        job=f"{pod.namespace}/{pod.owner_name}" if pod.owner_name else "",
        priority=pod.priority,
        gang=f"{pod.namespace}/{gang}" if gang else "",
        gang_min=gang_min,
        virtual=mode,
    )
