"""Builders of Kubernetes Pod and Node JSON for tests and benchmarks.

In the style of the kube-scheduler's test wrappers (`MakePod().Req(...).Obj()`)::

    pod = PodBuilder("web").req(cpu="500m", memory="1Gi").tier("LS").node("n1").obj()
    node = NodeBuilder("n1").capacity(cpu="32", memory="128Gi").taint("k", "v").view()

Every method returns the builder; `obj()` returns a fresh deep copy of the JSON, so one
builder can stamp out many objects; `view()` is `Pod.from_k8s(obj())`. Quantities are passed
through as given (strings or ints), exactly as a user would write them in YAML.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from colo.core.objects import NO_SCHEDULE, Node, Pod
from colo.core.qos import QOS_LABEL

QuantityValue = str | int


def _resource_list(
    cpu: QuantityValue | None,
    memory: QuantityValue | None,
    extended: Mapping[str, QuantityValue] | None,
    pods: QuantityValue | None = None,
) -> dict[str, QuantityValue]:
    out: dict[str, QuantityValue] = {}
    if cpu is not None:
        out["cpu"] = cpu
    if memory is not None:
        out["memory"] = memory
    if pods is not None:
        out["pods"] = pods
    if extended:
        out.update(extended)
    return out


class PodBuilder:
    """Builds a Pod object. `req`/`lim` apply to the current container (the last one added
    with `container`/`init_container`; a container named `c0` is created on first use)."""

    def __init__(self, name: str, namespace: str = "default") -> None:
        self._pod: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}"},
            "spec": {"containers": []},
            "status": {"phase": "Pending"},
        }
        self._current: dict[str, Any] | None = None

    @property
    def _metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = self._pod["metadata"]
        return metadata

    @property
    def _spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self._pod["spec"]
        return spec

    def _container(self) -> dict[str, Any]:
        if self._current is None:
            self.container()
        assert self._current is not None
        return self._current

    def container(self, name: str | None = None, image: str = "busybox") -> PodBuilder:
        """Start a new regular container; later `req`/`lim` calls apply to it."""
        containers: list[dict[str, Any]] = self._spec["containers"]
        self._current = {"name": name or f"c{len(containers)}", "image": image, "resources": {}}
        containers.append(self._current)
        return self

    def init_container(self, name: str | None = None, *, sidecar: bool = False) -> PodBuilder:
        """Start a new init container (`sidecar=True`: restartPolicy Always)."""
        inits: list[dict[str, Any]] = self._spec.setdefault("initContainers", [])
        self._current = {"name": name or f"init{len(inits)}", "image": "busybox", "resources": {}}
        if sidecar:
            self._current["restartPolicy"] = "Always"
        inits.append(self._current)
        return self

    def req(
        self,
        cpu: QuantityValue | None = None,
        memory: QuantityValue | None = None,
        *,
        extended: Mapping[str, QuantityValue] | None = None,
    ) -> PodBuilder:
        """Add requests to the current container."""
        resources = self._container()["resources"]
        resources.setdefault("requests", {}).update(_resource_list(cpu, memory, extended))
        return self

    def lim(
        self,
        cpu: QuantityValue | None = None,
        memory: QuantityValue | None = None,
        *,
        extended: Mapping[str, QuantityValue] | None = None,
    ) -> PodBuilder:
        """Add limits to the current container."""
        resources = self._container()["resources"]
        resources.setdefault("limits", {}).update(_resource_list(cpu, memory, extended))
        return self

    def pod_req(
        self, cpu: QuantityValue | None = None, memory: QuantityValue | None = None
    ) -> PodBuilder:
        """Set pod-level requests (`spec.resources.requests`)."""
        level = self._spec.setdefault("resources", {})
        level.setdefault("requests", {}).update(_resource_list(cpu, memory, None))
        return self

    def pod_lim(
        self, cpu: QuantityValue | None = None, memory: QuantityValue | None = None
    ) -> PodBuilder:
        """Set pod-level limits (`spec.resources.limits`)."""
        level = self._spec.setdefault("resources", {})
        level.setdefault("limits", {}).update(_resource_list(cpu, memory, None))
        return self

    def overhead(
        self, cpu: QuantityValue | None = None, memory: QuantityValue | None = None
    ) -> PodBuilder:
        """Set `spec.overhead` (RuntimeClass overhead)."""
        self._spec["overhead"] = _resource_list(cpu, memory, None)
        return self

    def label(self, key: str, value: str) -> PodBuilder:
        self._metadata.setdefault("labels", {})[key] = value
        return self

    def annotation(self, key: str, value: str) -> PodBuilder:
        self._metadata.setdefault("annotations", {})[key] = value
        return self

    def tier(self, tier: str) -> PodBuilder:
        """Set the `colo.io/qos` label."""
        return self.label(QOS_LABEL, tier)

    def priority(self, value: int) -> PodBuilder:
        self._spec["priority"] = value
        return self

    def node(self, name: str) -> PodBuilder:
        """Bind to `name` (`spec.nodeName`) and mark Running."""
        self._spec["nodeName"] = name
        self._pod["status"]["phase"] = "Running"
        return self

    def scheduler(self, name: str) -> PodBuilder:
        self._spec["schedulerName"] = name
        return self

    def toleration(
        self,
        key: str = "",
        operator: str = "Equal",
        value: str = "",
        effect: str = "",
        seconds: int | None = None,
    ) -> PodBuilder:
        toleration: dict[str, Any] = {"key": key, "operator": operator}
        if value:
            toleration["value"] = value
        if effect:
            toleration["effect"] = effect
        if seconds is not None:
            toleration["tolerationSeconds"] = seconds
        self._spec.setdefault("tolerations", []).append(toleration)
        return self

    def node_selector(self, key: str, value: str) -> PodBuilder:
        self._spec.setdefault("nodeSelector", {})[key] = value
        return self

    def affinity(self, affinity: Mapping[str, Any]) -> PodBuilder:
        self._spec["affinity"] = copy.deepcopy(dict(affinity))
        return self

    def owner(self, kind: str, name: str, *, controller: bool = True) -> PodBuilder:
        ref = {
            "apiVersion": "v1",
            "kind": kind,
            "name": name,
            "uid": f"uid-{kind}-{name}",
            "controller": controller,
        }
        self._metadata.setdefault("ownerReferences", []).append(ref)
        return self

    def phase(self, phase: str) -> PodBuilder:
        self._pod["status"]["phase"] = phase
        return self

    def qos_class(self, qos_class: str) -> PodBuilder:
        """Set `status.qosClass` as the API server would."""
        self._pod["status"]["qosClass"] = qos_class
        return self

    def created(self, timestamp: str) -> PodBuilder:
        """Set `metadata.creationTimestamp` (RFC 3339, e.g. 2024-01-02T03:04:05Z)."""
        self._metadata["creationTimestamp"] = timestamp
        return self

    def uid(self, uid: str) -> PodBuilder:
        self._metadata["uid"] = uid
        return self

    def obj(self) -> dict[str, Any]:
        """The Pod JSON (a fresh copy); a pod without containers gets one empty container."""
        pod = copy.deepcopy(self._pod)
        if not pod["spec"]["containers"]:
            pod["spec"]["containers"].append({"name": "c0", "image": "busybox", "resources": {}})
        return pod

    def view(self) -> Pod:
        return Pod.from_k8s(self.obj())


class NodeBuilder:
    """Builds a Ready Node object; allocatable equals capacity unless set."""

    def __init__(self, name: str) -> None:
        self._node: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {},
            "status": {
                "capacity": {},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }
        self._allocatable: dict[str, QuantityValue] | None = None

    def capacity(
        self,
        cpu: QuantityValue = "32",
        memory: QuantityValue = "128Gi",
        pods: QuantityValue = 110,
        *,
        extended: Mapping[str, QuantityValue] | None = None,
    ) -> NodeBuilder:
        self._node["status"]["capacity"] = _resource_list(cpu, memory, extended, pods)
        return self

    def allocatable(
        self,
        cpu: QuantityValue = "32",
        memory: QuantityValue = "128Gi",
        pods: QuantityValue = 110,
        *,
        extended: Mapping[str, QuantityValue] | None = None,
    ) -> NodeBuilder:
        self._allocatable = _resource_list(cpu, memory, extended, pods)
        return self

    def label(self, key: str, value: str) -> NodeBuilder:
        self._node["metadata"]["labels"][key] = value
        return self

    def annotation(self, key: str, value: str) -> NodeBuilder:
        self._node["metadata"].setdefault("annotations", {})[key] = value
        return self

    def taint(self, key: str, value: str = "", effect: str = NO_SCHEDULE) -> NodeBuilder:
        taint: dict[str, str] = {"key": key, "effect": effect}
        if value:
            taint["value"] = value
        self._node["spec"].setdefault("taints", []).append(taint)
        return self

    def not_ready(self) -> NodeBuilder:
        self._node["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
        return self

    def unschedulable(self) -> NodeBuilder:
        self._node["spec"]["unschedulable"] = True
        return self

    def obj(self) -> dict[str, Any]:
        """The Node JSON (a fresh copy) with `status.allocatable` filled in."""
        node = copy.deepcopy(self._node)
        status = node["status"]
        status["allocatable"] = dict(
            self._allocatable if self._allocatable is not None else status["capacity"]
        )
        return node

    def view(self) -> Node:
        return Node.from_k8s(self.obj())
