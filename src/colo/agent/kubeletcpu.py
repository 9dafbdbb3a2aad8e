"""The kubelet's CPU manager checkpoint: which cpus the kubelet pinned, and for whom (pure).

With `--cpu-manager-policy=static` the kubelet gives every container of a Guaranteed pod
with a whole number of cpus its own cpus, removes them from every other container's
cpuset, and records the result in `/var/lib/kubelet/cpu_manager_state`
(k8s.io/kubernetes pkg/kubelet/cm/cpumanager/state/checkpoint.go). colo stays out of its
way: cpus in `entries` belong to the kubelet and `colo.agent.cpus` never hands them out,
nor lets the shared or BE pools use them.

Format (v2, the kubelet's since 1.18; `entries` is omitted when empty):

    {"policyName": "static", "defaultCpuSet": "0-1,8-15",
     "entries": {"<pod uid>": {"<container name>": "2-7"}}, "checksum": 1234567890}

v1 (older kubelets) keyed `entries` by container id, `{"<container id>": "2-3"}`; those
cpus are just as owned, by an owner colo can only name by container id. The `checksum` is
an FNV-32a hash of the Go struct as go-spew prints it, which only Go can recompute; the
kubelet itself discards a file whose checksum fails, so it is read but not checked here.
Reading the file is `colo.linux`'s work; this module parses its text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from colo.core.errors import InvalidInput
from colo.core.topology import format_cpuset, parse_cpuset

CPU_MANAGER_STATE_PATH = "/var/lib/kubelet/cpu_manager_state"


@dataclass(frozen=True, slots=True)
class KubeletCPUOwner:
    """Cpus the kubelet pinned for one pod (all its containers), or for one container (v1)."""

    #: the pod's uid (v2), or `container:<id>` for a v1 entry
    owner: str
    cpus: frozenset[int]
    #: container name → its cpus (v2); the container id → its cpus (v1)
    containers: tuple[tuple[str, frozenset[int]], ...]

    @property
    def pod_uid(self) -> str | None:
        return None if self.owner.startswith("container:") else self.owner


@dataclass(frozen=True, slots=True)
class KubeletCPUState:
    """The parsed checkpoint. Hashable, so an allocation can tell when it has not changed."""

    policy: str
    #: the kubelet's shared pool (`defaultCpuSet`): every cpu not in `owners`, reserved included
    default_cpus: frozenset[int]
    #: ascending by owner
    owners: tuple[KubeletCPUOwner, ...] = ()

    @property
    def owned_cpus(self) -> frozenset[int]:
        """Every cpu the kubelet assigned exclusively (empty under the `none` policy)."""
        return frozenset().union(*(o.cpus for o in self.owners))

    def owner_of(self, pod_uid: str) -> KubeletCPUOwner | None:
        for owner in self.owners:
            if owner.owner == pod_uid:
                return owner
        return None


NONE_POLICY = KubeletCPUState(policy="none", default_cpus=frozenset())


def parse_kubelet_cpu_state(text: str, *, source: str = CPU_MANAGER_STATE_PATH) -> KubeletCPUState:
    """The checkpoint in `text` (the file's contents); InvalidInput naming the field if malformed.

    An empty or blank file reads as the `none` policy (the kubelet writes the file on start,
    so a blank file is one it has not written yet).
    """
    if not text.strip():
        return NONE_POLICY
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInput(
            "not JSON", obj=source, value=f"{e.msg} at line {e.lineno} column {e.colno}"
        ) from None
    if not isinstance(raw, dict):
        raise InvalidInput("wrong type", obj=source, value=_short(raw), expected="a JSON object")
    policy = raw.get("policyName")
    if not isinstance(policy, str) or not policy:
        raise InvalidInput(
            "missing or wrong type",
            obj=source,
            field="policyName",
            value=_short(policy),
            expected='a policy name such as "none" or "static"',
        )
    default_text = raw.get("defaultCpuSet", "")
    if not isinstance(default_text, str):
        raise InvalidInput(
            "wrong type",
            obj=source,
            field="defaultCpuSet",
            value=_short(default_text),
            expected="a Linux cpu list like 0-3,8",
        )
    default = parse_cpuset(default_text, obj=source, field="defaultCpuSet")
    entries = raw.get("entries")
    if entries is None:
        entries = {}
    if not isinstance(entries, dict):
        raise InvalidInput(
            "wrong type",
            obj=source,
            field="entries",
            value=_short(entries),
            expected="an object of pod uid → {container → cpu list}",
        )
    owners = [_owner(key, value, source) for key, value in entries.items()]
    owners.sort(key=lambda o: o.owner)
    return KubeletCPUState(policy=policy, default_cpus=default, owners=tuple(owners))


def _owner(key: object, value: object, source: str) -> KubeletCPUOwner:
    if not isinstance(key, str) or not key:
        raise InvalidInput("empty key", obj=source, field="entries", expected="a pod uid")
    if isinstance(value, str):  # v1: container id → cpu list
        cpus = parse_cpuset(value, obj=source, field=f"entries.{key}")
        return KubeletCPUOwner(owner=f"container:{key}", cpus=cpus, containers=((key, cpus),))
    if not isinstance(value, Mapping):
        raise InvalidInput(
            "wrong type",
            obj=source,
            field=f"entries.{key}",
            value=_short(value),
            expected="an object of container name → cpu list",
        )
    containers: list[tuple[str, frozenset[int]]] = []
    for name, cpu_list in sorted(value.items()):
        field = f"entries.{key}.{name}"
        if not isinstance(cpu_list, str):
            raise InvalidInput(
                "wrong type",
                obj=source,
                field=field,
                value=_short(cpu_list),
                expected="a Linux cpu list like 2-7",
            )
        containers.append((name, parse_cpuset(cpu_list, obj=source, field=field)))
    cpus = frozenset().union(*(c for _, c in containers))
    return KubeletCPUOwner(owner=key, cpus=cpus, containers=tuple(containers))


def describe_owner(owner: KubeletCPUOwner, pod_names: Mapping[str, str]) -> str:
    """`kubelet static CPU manager owns cpus 4-7 for pod default/web` (uid when unnamed)."""
    if owner.pod_uid is None:
        whom = f"container {owner.owner.removeprefix('container:')}"
    else:
        name = pod_names.get(owner.owner)
        whom = f"pod {name}" if name else f"pod uid {owner.owner}"
    return f"kubelet static CPU manager owns cpus {format_cpuset(owner.cpus)} for {whom}"


def _short(value: object) -> object:
    text = repr(value)
    return value if len(text) <= 60 else text[:57] + "..."
