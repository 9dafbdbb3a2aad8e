"""Pod and Node views: effective requests, taints and tolerations, malformed input."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colo.core.builders import NodeBuilder, PodBuilder
from colo.core.errors import InvalidInput
from colo.core.objects import Node, Pod, SharedSpec, Taint, Toleration, untolerated_taint
from colo.core.qos import QoSTier
from colo.core.resources import BATCH_CPU, Resources

GI = 1024**3
GPU = "example.com/gpu"


def res(
    cpu: int = 0, mem: int = 0, pods: int = 1, extended: dict[str, int] | None = None
) -> Resources:
    return Resources.of(cpu_milli=cpu, memory_bytes=mem, pods=pods, extended=extended)


REQUESTS = {
    "one container's requests plus the pod slot": (
        PodBuilder("p").req(cpu="500m", memory="1Gi"),
        res(500, GI),
    ),
    "containers add up": (
        PodBuilder("p").req(cpu="500m", memory="1Gi").container().req(cpu="250m", memory="1Gi"),
        res(750, 2 * GI),
    ),
    "a bigger init container sets the request": (
        PodBuilder("p").req(cpu="500m").init_container().req(cpu="2"),
        res(2000),
    ),
    "a smaller init container changes nothing": (
        PodBuilder("p").req(cpu="500m", memory="1Gi").init_container().req(cpu="100m"),
        res(500, GI),
    ),
    "init containers and containers are compared per resource": (
        PodBuilder("p").req(cpu="500m", memory="2Gi").init_container().req(cpu="1", memory="1Gi"),
        res(1000, 2 * GI),
    ),
    "the largest init container wins": (
        PodBuilder("p").init_container().req(cpu="1").init_container().req(cpu="3"),
        res(3000),
    ),
    "a sidecar adds to the containers": (
        PodBuilder("p").req(cpu="500m").init_container(sidecar=True).req(cpu="100m"),
        res(600),
    ),
    "a sidecar runs alongside later init containers": (
        PodBuilder("p")
        .req(cpu="100m")
        .init_container(sidecar=True)
        .req(cpu="1")
        .init_container()
        .req(cpu="2"),
        res(3000),
    ),
    "a sidecar after an init container does not inflate it": (
        PodBuilder("p")
        .req(cpu="100m")
        .init_container()
        .req(cpu="2")
        .init_container(sidecar=True)
        .req(cpu="1"),
        res(2000),
    ),
    "overhead is added on top": (
        PodBuilder("p").req(cpu="500m", memory="1Gi").overhead(cpu="250m", memory="128Mi"),
        res(750, GI + 128 * 1024**2),
    ),
    "limits alone default the requests": (
        PodBuilder("p").lim(cpu="1", memory="1Gi"),
        res(1000, GI),
    ),
    "an explicit request is not replaced by the limit": (
        PodBuilder("p").req(cpu="0").lim(cpu="1", memory="1Gi"),
        res(0, GI),
    ),
    "extended resources add up": (
        PodBuilder("p")
        .req(extended={BATCH_CPU: "1000"})
        .container()
        .req(extended={BATCH_CPU: "500", GPU: "1"}),
        res(extended={BATCH_CPU: 1500, GPU: 1}),
    ),
    "pod-level requests replace the containers' cpu and memory": (
        PodBuilder("p").req(cpu="4", memory="4Gi", extended={GPU: "1"}).pod_req(cpu="2"),
        res(2000, 4 * GI, extended={GPU: 1}),
    ),
    "pod-level limits default pod-level requests": (
        PodBuilder("p").pod_lim(cpu="2", memory="1Gi"),
        res(2000, GI),
    ),
    "a pod without containers still takes a pod slot": (PodBuilder("p"), res()),
}


@pytest.mark.parametrize(("builder", "requests"), REQUESTS.values(), ids=REQUESTS.keys())
def test_effective_requests_match_the_kube_scheduler(
    builder: PodBuilder, requests: Resources
) -> None:
    assert builder.view().requests == requests


LIMITS = {
    "containers' limits add up": (
        PodBuilder("p").lim(cpu="1").container().lim(cpu="2", memory="1Gi"),
        res(3000, GI, pods=0),
    ),
    "overhead is added only to limited resources": (
        PodBuilder("p").lim(cpu="1").overhead(cpu="100m", memory="64Mi"),
        res(1100, pods=0),
    ),
    "pod-level limits replace the containers'": (
        PodBuilder("p").lim(cpu="1", memory="1Gi").pod_lim(memory="2Gi"),
        res(1000, 2 * GI, pods=0),
    ),
}


@pytest.mark.parametrize(("builder", "limits"), LIMITS.values(), ids=LIMITS.keys())
def test_effective_limits(builder: PodBuilder, limits: Resources) -> None:
    assert builder.view().limits == limits


class TestPodFields:
    def test_metadata_and_spec_fields(self) -> None:
        pod = (
            PodBuilder("web", "shop")
            .label("app", "web")
            .annotation("note", "x")
            .priority(9100)
            .scheduler("colo-batch")
            .node_selector("zone", "a")
            .toleration("dedicated", "Equal", "colo", "NoSchedule", seconds=30)
            .affinity({"nodeAffinity": {}})
            .owner("ReplicaSet", "web-abc")
            .created("2024-01-02T03:04:05Z")
            .node("n1")
            .view()
        )
        assert pod.key == "shop/web"
        assert pod.uid == "uid-shop-web"
        assert pod.labels == {"app": "web"}
        assert pod.annotations == {"note": "x"}
        assert pod.priority == 9100
        assert pod.tier is QoSTier.LS
        assert pod.scheduler_name == "colo-batch"
        assert pod.node_selector == {"zone": "a"}
        assert pod.tolerations == (Toleration("dedicated", "Equal", "colo", "NoSchedule", 30),)
        assert pod.affinity == {"nodeAffinity": {}}
        assert (pod.owner_kind, pod.owner_name) == ("ReplicaSet", "web-abc")
        assert pod.created_s == 1704164645.0
        assert pod.node_name == "n1" and pod.bound
        assert pod.phase == "Running" and not pod.terminal

    def test_defaults_for_a_minimal_pod(self) -> None:
        pod = Pod.from_k8s({"metadata": {"name": "bare"}})
        assert pod.namespace == "default"
        assert pod.node_name is None and not pod.bound
        assert pod.scheduler_name == "default-scheduler"
        assert pod.priority == 0
        assert pod.phase == "Pending"
        assert pod.requests == res()
        assert pod.created_s is None
        assert pod.tier is QoSTier.BE
        assert (pod.owner_kind, pod.owner_name) == (None, None)

    def test_the_controlling_owner_is_preferred(self) -> None:
        pod = PodBuilder("p").owner("Foo", "first", controller=False).owner("Job", "j1").view()
        assert (pod.owner_kind, pod.owner_name) == ("Job", "j1")
        pod = PodBuilder("p").owner("Foo", "first", controller=False).view()
        assert (pod.owner_kind, pod.owner_name) == ("Foo", "first")

    def test_views_do_not_share_state_with_the_json(self) -> None:
        obj = PodBuilder("p").label("a", "1").obj()
        pod = Pod.from_k8s(obj)
        obj["metadata"]["labels"]["a"] = "2"
        assert pod.labels == {"a": "1"}

    def test_equal_views_are_equal_and_hash_by_identity_fields(self) -> None:
        a, b = PodBuilder("p").req(cpu="1").view(), PodBuilder("p").req(cpu="1").view()
        assert a == b and hash(a) == hash(b)
        assert len({a, b}) == 1
        assert a != PodBuilder("p").req(cpu="2").view()

    def test_terminal_phases(self) -> None:
        assert PodBuilder("p").phase("Succeeded").view().terminal
        assert PodBuilder("p").phase("Failed").view().terminal


TOLERATIONS = {
    "Equal with the same key, value and effect tolerates": (
        Toleration("k", "Equal", "v", "NoSchedule"),
        Taint("k", "v", "NoSchedule"),
        True,
    ),
    "Equal with another value does not tolerate": (
        Toleration("k", "Equal", "w", "NoSchedule"),
        Taint("k", "v", "NoSchedule"),
        False,
    ),
    "Exists ignores the value": (
        Toleration("k", "Exists", "", "NoSchedule"),
        Taint("k", "v", "NoSchedule"),
        True,
    ),
    "an empty key with Exists tolerates every taint": (
        Toleration("", "Exists"),
        Taint("anything", "at-all", "NoExecute"),
        True,
    ),
    "an empty effect matches every effect": (
        Toleration("k", "Equal", "v", ""),
        Taint("k", "v", "NoExecute"),
        True,
    ),
    "another effect does not tolerate": (
        Toleration("k", "Equal", "v", "NoSchedule"),
        Taint("k", "v", "NoExecute"),
        False,
    ),
    "another key does not tolerate": (
        Toleration("j", "Exists"),
        Taint("k", "v", "NoSchedule"),
        False,
    ),
    "an empty operator means Equal": (
        Toleration.from_k8s({"key": "k", "value": "v"}, obj="pod p", path="t"),
        Taint("k", "v", "NoSchedule"),
        True,
    ),
    "Equal with an empty value matches an empty taint value": (
        Toleration("k"),
        Taint("k", "", "NoSchedule"),
        True,
    ),
    "an unknown operator tolerates nothing": (
        Toleration("k", "Gt", "1"),
        Taint("k", "2", "NoSchedule"),
        False,
    ),
}


@pytest.mark.parametrize(
    ("toleration", "taint", "tolerated"), TOLERATIONS.values(), ids=TOLERATIONS.keys()
)
def test_toleration_semantics_match_kubernetes(
    toleration: Toleration, taint: Taint, tolerated: bool
) -> None:
    assert toleration.tolerates(taint) is tolerated


def test_untolerated_taint_ignores_prefer_no_schedule() -> None:
    taints = (Taint("soft", "", "PreferNoSchedule"), Taint("hard", "x", "NoSchedule"))
    assert untolerated_taint(taints, ()) == Taint("hard", "x", "NoSchedule")
    assert untolerated_taint(taints, (Toleration("hard", "Exists"),)) is None
    assert untolerated_taint(taints, (), effects=("PreferNoSchedule",)) == taints[0]


# -- malformed pods ----------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def base_pod() -> dict[str, Any]:
    return (
        PodBuilder("web")
        .req(cpu="500m", memory="1Gi")
        .container()
        .req(cpu="1", memory="1Gi")
        .init_container()
        .req(cpu="1")
        .toleration("k", "Exists")
        .owner("Job", "j")
        .obj()
    )


def _set(path: str, value: object) -> Mutation:
    def mutate(pod: dict[str, Any]) -> None:
        node: Any = pod
        keys = path.split("/")
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
        last = keys[-1]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


MALFORMED: dict[str, tuple[Mutation, str]] = {
    "a missing name": (_set("metadata/name", None), "metadata.name"),
    "an empty name": (_set("metadata/name", ""), "metadata.name"),
    "a numeric name": (_set("metadata/name", 7), "metadata.name"),
    "metadata that is a list": (_set("metadata", []), "metadata"),
    "a namespace that is a number": (_set("metadata/namespace", 3), "metadata.namespace"),
    "labels that are a list": (_set("metadata/labels", ["a"]), "metadata.labels"),
    "a label value that is a number": (_set("metadata/labels", {"app": 1}), "metadata.labels.app"),
    "a bad QoS label": (
        _set("metadata/labels", {"colo.io/qos": "gold"}),
        'metadata.labels["colo.io/qos"]',
    ),
    "an annotation value that is null": (
        _set("metadata/annotations", {"a.io/b": None}),
        'metadata.annotations["a.io/b"]',
    ),
    "a bad creation timestamp": (
        _set("metadata/creationTimestamp", "yesterday"),
        "metadata.creationTimestamp",
    ),
    "owner references that are a mapping": (
        _set("metadata/ownerReferences", {}),
        "metadata.ownerReferences",
    ),
    "an owner reference that is a string": (
        _set("metadata/ownerReferences", ["x"]),
        "metadata.ownerReferences[0]",
    ),
    "spec that is a string": (_set("spec", "x"), "spec"),
    "containers that are a mapping": (_set("spec/containers", {"a": 1}), "spec.containers"),
    "a container that is a string": (_set("spec/containers/1", "c"), "spec.containers[1]"),
    "resources that are a list": (
        _set("spec/containers/0/resources", []),
        "spec.containers[0].resources",
    ),
    "requests that are a string": (
        _set("spec/containers/0/resources/requests", "1"),
        "spec.containers[0].resources.requests",
    ),
    "a bad memory quantity in the second container": (
        _set("spec/containers/1/resources/requests/memory", "1GB"),
        "spec.containers[1].resources.requests.memory",
    ),
    "a negative cpu limit": (
        _set("spec/containers/0/resources/limits", {"cpu": "-1"}),
        "spec.containers[0].resources.limits.cpu",
    ),
    "a fractional extended resource": (
        _set("spec/containers/0/resources/limits", {GPU: "0.5"}),
        'spec.containers[0].resources.limits["example.com/gpu"]',
    ),
    "a bad init container quantity": (
        _set("spec/initContainers/0/resources/requests/cpu", "one"),
        "spec.initContainers[0].resources.requests.cpu",
    ),
    "a bad overhead": (_set("spec/overhead", {"cpu": []}), "spec.overhead.cpu"),
    "a bad pod-level request": (
        _set("spec/resources", {"requests": {"memory": "lots"}}),
        "spec.resources.requests.memory",
    ),
    "a priority that is a string": (_set("spec/priority", "high"), "spec.priority"),
    "a priority that is a boolean": (_set("spec/priority", True), "spec.priority"),
    "a node name that is a number": (_set("spec/nodeName", 1), "spec.nodeName"),
    "tolerations that are a mapping": (_set("spec/tolerations", {}), "spec.tolerations"),
    "a toleration that is a string": (_set("spec/tolerations/0", "k"), "spec.tolerations[0]"),
    "toleration seconds that are a string": (
        _set("spec/tolerations/0/tolerationSeconds", "30"),
        "spec.tolerations[0].tolerationSeconds",
    ),
    "a node selector value that is a number": (
        _set("spec/nodeSelector", {"zone": 1}),
        "spec.nodeSelector.zone",
    ),
    "affinity that is a list": (_set("spec/affinity", []), "spec.affinity"),
    "a phase that is a number": (_set("status/phase", 1), "status.phase"),
    "an unknown QoS class": (_set("status/qosClass", "Gold"), "status.qosClass"),
}


@pytest.mark.parametrize(("mutate", "field"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_pods_raise_invalid_input_naming_the_field(mutate: Mutation, field: str) -> None:
    obj = base_pod()
    mutate(obj)
    with pytest.raises(InvalidInput) as info:
        Pod.from_k8s(obj)
    assert info.value.field == field
    assert str(info.value).startswith(f"{info.value.obj}: field {field}: ")
    # The pod is named whenever its metadata can be read at all.
    named = "pod" if field == "metadata" else "pod default/"
    assert info.value.obj is not None and info.value.obj.startswith(named)


@pytest.mark.parametrize(
    "obj", [None, [], "pod", 3], ids=["None", "a list", "a string", "a number"]
)
def test_a_pod_that_is_not_an_object_is_invalid(obj: object) -> None:
    with pytest.raises(InvalidInput, match="expected an object"):
        Pod.from_k8s(obj)  # type: ignore[arg-type]


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["1", "100m", "1Gi", "-1", "1.5", "Exists", "Always", "True", "LS", "Ready"]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=6), children, max_size=3),
        st.dictionaries(
            st.sampled_from(
                ["name", "cpu", "memory", "requests", "limits", "resources", "key", "effect"]
            ),
            children,
            max_size=3,
        ),
    ),
    max_leaves=12,
)
POD_PATHS = [
    "metadata",
    "metadata/name",
    "metadata/labels",
    "metadata/ownerReferences",
    "metadata/ownerReferences/0",
    "metadata/creationTimestamp",
    "spec",
    "spec/containers",
    "spec/containers/0",
    "spec/containers/1/resources",
    "spec/containers/0/resources/requests",
    "spec/containers/0/resources/requests/cpu",
    "spec/initContainers/0",
    "spec/initContainers/0/restartPolicy",
    "spec/resources",
    "spec/overhead",
    "spec/priority",
    "spec/tolerations",
    "spec/tolerations/0",
    "spec/nodeSelector",
    "spec/affinity",
    "status",
    "status/qosClass",
]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(POD_PATHS), json_values)
def test_only_invalid_input_escapes_for_any_replaced_field(path: str, value: object) -> None:
    obj = base_pod()
    _set(path, value)(obj)
    with contextlib.suppress(InvalidInput):  # any other exception fails the test
        Pod.from_k8s(obj)


@settings(max_examples=200)
@given(json_values)
def test_only_invalid_input_escapes_for_any_json_document(value: object) -> None:
    for build in (Pod.from_k8s, Node.from_k8s):
        with contextlib.suppress(InvalidInput):
            build(value)  # type: ignore[arg-type]


# -- nodes ------------------------------------------------------------------------------


class TestNode:
    def test_capacity_allocatable_and_taints(self) -> None:
        node = (
            NodeBuilder("n1")
            .capacity(cpu="32", memory="128Gi", pods=110, extended={BATCH_CPU: "8000"})
            .allocatable(cpu="31", memory="120Gi", pods=110)
            .taint("dedicated", "colo", "NoSchedule")
            .label("zone", "a")
            .view()
        )
        assert node.capacity == Resources.of(
            cpu_milli=32000, memory_bytes=128 * GI, pods=110, extended={BATCH_CPU: 8000}
        )
        assert node.allocatable == Resources.of(cpu_milli=31000, memory_bytes=120 * GI, pods=110)
        assert node.taints == (Taint("dedicated", "colo", "NoSchedule"),)
        assert node.labels["zone"] == "a"
        assert node.ready and not node.unschedulable and node.schedulable

    def test_allocatable_defaults_to_capacity(self) -> None:
        obj = NodeBuilder("n1").capacity(cpu="4").obj()
        del obj["status"]["allocatable"]
        node = Node.from_k8s(obj)
        assert node.allocatable == node.capacity

    @pytest.mark.parametrize(
        ("conditions", "ready"),
        [
            ([{"type": "Ready", "status": "True"}], True),
            ([{"type": "Ready", "status": "False"}], False),
            ([{"type": "Ready", "status": "Unknown"}], False),
            ([{"type": "MemoryPressure", "status": "True"}], False),
            ([], False),
        ],
        ids=["Ready=True", "Ready=False", "Ready=Unknown", "no Ready condition", "no conditions"],
    )
    def test_ready_is_the_ready_condition_being_true(
        self, conditions: list[dict[str, str]], ready: bool
    ) -> None:
        obj = NodeBuilder("n1").obj()
        obj["status"]["conditions"] = conditions
        assert Node.from_k8s(obj).ready is ready

    def test_not_ready_and_cordoned(self) -> None:
        node = NodeBuilder("n1").not_ready().unschedulable().view()
        assert not node.ready and node.unschedulable and not node.schedulable

    def test_nodes_hash_by_name(self) -> None:
        assert hash(NodeBuilder("n1").view()) == hash(NodeBuilder("n1").capacity(cpu="1").view())

    @pytest.mark.parametrize(
        ("path", "value", "field"),
        [
            ("metadata/name", None, "metadata.name"),
            ("spec/taints", [{"key": "k"}], "spec.taints[0].effect"),
            ("spec/taints", [{"effect": "NoSchedule"}], "spec.taints[0].key"),
            ("spec/taints", "k", "spec.taints"),
            ("spec/unschedulable", "yes", "spec.unschedulable"),
            ("status/capacity", {"cpu": "lots"}, "status.capacity.cpu"),
            ("status/allocatable", {"pods": "1.5"}, "status.allocatable.pods"),
            ("status/conditions", [3], "status.conditions[0]"),
        ],
        ids=[
            "a missing name",
            "a taint without an effect",
            "a taint without a key",
            "taints that are a string",
            "unschedulable that is a string",
            "a bad capacity",
            "fractional allocatable pods",
            "a condition that is a number",
        ],
    )
    def test_malformed_nodes_name_the_field(self, path: str, value: object, field: str) -> None:
        obj = copy.deepcopy(NodeBuilder("n1").taint("k").obj())
        _set(path, value)(obj)
        with pytest.raises(InvalidInput) as info:
            Node.from_k8s(obj)
        assert info.value.field == field
        assert str(info.value).startswith("node")


# --- parses shared by content (colo.core.objects._Memo) --------------------------------

# A small space, so that the pods of one sequence often repeat or nearly repeat each
# other's parts: where a memo's key missed a field, a repeat would show it.
quantities = st.sampled_from(["100m", "0.1", "1", "1Gi", "0"])
resource_lists = st.dictionaries(st.sampled_from(["cpu", "memory", BATCH_CPU]), quantities)
requirements = st.fixed_dictionaries(
    {}, optional={"requests": resource_lists, "limits": resource_lists}
)
containers = st.fixed_dictionaries(
    {"name": st.just("a")},
    optional={"resources": requirements, "restartPolicy": st.just("Always")},
)
tolerations = st.fixed_dictionaries(
    {"operator": st.sampled_from(["Exists", "Equal"])},
    optional={
        "key": st.sampled_from(["a", "b"]),
        "effect": st.sampled_from(["NoExecute", "NoSchedule"]),
        # True == 1 and 1.0 == 1 in Python: none may share a parse with the int
        "tolerationSeconds": st.sampled_from([1, 300, True, 1.0, "1"]),
    },
)
specs = st.fixed_dictionaries(
    {"containers": st.lists(containers, max_size=2)},
    optional={
        "initContainers": st.lists(containers, max_size=2),
        "overhead": resource_lists,
        "resources": requirements,
        "tolerations": st.lists(tolerations, max_size=3),
    },
)


def view_or_field(obj: dict[str, Any]) -> Pod | str:
    """The view of `obj`, or the field its error names."""
    try:
        return Pod.from_k8s(obj)
    except InvalidInput as e:
        return e.field or ""


def built_as_afresh(name: str, spec: dict[str, Any]) -> None:
    """A pod's view (or error) now, with whatever the memos hold, equals the one built
    with every memo emptied first."""
    from colo.core import objects

    obj = {"metadata": {"name": name, "namespace": "ns"}, "spec": spec}
    got = view_or_field(obj)
    for memo in (objects._TOLERATIONS, objects._RESOURCES, objects._BY_SPEC):
        memo._parsed.clear()
    assert got == view_or_field(obj)


@given(st.lists(specs, min_size=1, max_size=8))
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_a_view_built_after_others_equals_one_built_afresh(sequence: list[dict[str, Any]]) -> None:
    """Pods of one job share their tolerations' and resources' parse: a view must be what
    a parse from scratch gives, whatever came before, errors (and their fields) included."""
    for i, spec in enumerate(sequence):
        built_as_afresh(f"p{i}", spec)


@given(st.lists(specs, min_size=1, max_size=6), st.lists(st.sampled_from(["Pending", "Running"])))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_pods_sharing_one_spec_object_get_the_views_of_their_own_copies(
    sequence: list[dict[str, Any]], phases: list[str]
) -> None:
    """A SharedSpec (one object several pods hold: the Protobuf list decoder's) is read
    once: each pod's view, or the field its error names, must equal the one its own
    plain copy gives; its metadata and status stay its own."""
    for i, spec in enumerate(sequence):
        shared = SharedSpec(copy.deepcopy(spec))
        for j, phase in enumerate([*phases[:2], "Pending"]):
            meta = {"name": f"p{i}-{j}", "namespace": "ns", "labels": {"j": str(j)}}
            pod = {"metadata": meta, "spec": shared, "status": {"phase": phase}}
            plain = {"metadata": meta, "spec": copy.deepcopy(spec), "status": {"phase": phase}}
            assert view_or_field(pod) == view_or_field(plain)


def test_a_shared_spec_the_memo_remembers_is_never_mistaken_for_a_newer_one() -> None:
    """The memo goes by the object's identity and holds the object, so a later spec can
    never be given the id (and with it the parse) of one that is gone."""
    for cpu in range(1, 200):
        spec = SharedSpec(PodBuilder("p").req(cpu=f"{cpu}m").obj()["spec"])
        pod = Pod.from_k8s({"metadata": {"name": f"p{cpu}"}, "spec": spec})
        assert pod.requests.cpu_milli == cpu
        del spec, pod


def test_a_bad_shared_spec_names_each_pod_that_holds_it() -> None:
    spec = SharedSpec(PodBuilder("p").req(cpu="lots").obj()["spec"])
    for name in ("a", "b"):
        with pytest.raises(InvalidInput, match=f"pod default/{name}") as caught:
            Pod.from_k8s({"metadata": {"name": name}, "spec": spec})
        assert caught.value.field == "spec.containers[0].resources.requests.cpu"


def variant(data: st.DataObject, spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` with one thing changed that a parse reads: a container's restartPolicy,
    a quantity, or a toleration's seconds."""
    out = copy.deepcopy(spec)
    cs = [c for k in ("containers", "initContainers") for c in out.get(k, [])]
    tols = out.get("tolerations", [])
    inits = out.get("initContainers", [])  # where restartPolicy counts (sidecars)
    choice = data.draw(st.sampled_from(["policy", "quantity", "seconds"]))
    if choice == "policy" and inits:
        c = data.draw(st.sampled_from(inits))
        if c.pop("restartPolicy", None) is None:
            c["restartPolicy"] = "Always"
    elif choice == "quantity" and cs:
        lists = [r for c in cs for r in c.get("resources", {}).values()]
        if lists and (target := data.draw(st.sampled_from(lists))):
            target[data.draw(st.sampled_from(sorted(target)))] = data.draw(quantities)
    elif tols:
        data.draw(st.sampled_from(tols))["tolerationSeconds"] = data.draw(
            st.sampled_from([1, 300, True, 1.0, "1"])
        )
    return out


@given(st.data(), specs)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_a_view_after_a_near_copy_equals_one_built_afresh(
    data: st.DataObject, spec: dict[str, Any]
) -> None:
    """Pods that differ from the one before in one field only must not share its parse."""
    for i in range(4):
        built_as_afresh(f"p{i}", spec)
        spec = variant(data, spec)


def test_a_sidecar_never_takes_the_parse_of_the_same_init_container() -> None:
    plain = PodBuilder("a").req(cpu="100m").init_container().req(cpu="1").obj()
    sidecar = copy.deepcopy(plain)
    sidecar["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    assert Pod.from_k8s(plain).requests.cpu_milli == 1000
    assert Pod.from_k8s(sidecar).requests.cpu_milli == 1100


def test_a_bool_never_takes_the_parse_of_an_equal_int() -> None:
    good = PodBuilder("a").obj()
    good["spec"]["tolerations"] = [{"operator": "Exists", "tolerationSeconds": 1}]
    assert Pod.from_k8s(good).tolerations[0].toleration_seconds == 1
    bad = copy.deepcopy(good)
    bad["metadata"]["name"] = "b"
    bad["spec"]["tolerations"][0]["tolerationSeconds"] = True
    with pytest.raises(InvalidInput, match="pod default/b") as caught:
        Pod.from_k8s(bad)
    assert caught.value.field == "spec.tolerations[0].tolerationSeconds"
