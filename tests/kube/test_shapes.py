"""Pods and nodes decoded in their shape read exactly as when decoded whole."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colo.core.builders import NodeBuilder, PodBuilder
from colo.core.errors import InvalidInput, Retryable
from colo.core.objects import Node, Pod
from colo.kube.shapes import NODE, POD
from colo.kube.transport import _decode

# What an API server adds that colo does not read: dropped by the shape.
NOISE_META = {
    "generation": 1,
    "managedFields": [{"manager": "kwok", "fieldsV1": {"f:status": {"f:phase": {}}}}],
    "finalizers": ["x/y"],
}
NOISE_CONTAINER = {"image": "busybox", "env": [{"name": "A", "value": "1"}], "ports": []}


def decorate(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` as an API server would return it: more fields everywhere."""
    out = json.loads(json.dumps(obj))
    out["metadata"].update(NOISE_META)
    spec = out.setdefault("spec", {})
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        c.update(NOISE_CONTAINER)
    spec["dnsPolicy"] = "ClusterFirst"
    status = out.setdefault("status", {})
    scheduled = {"type": "PodScheduled", "status": "True", "lastProbeTime": None}
    status["conditions"] = [*status.get("conditions", []), scheduled]
    status["containerStatuses"] = [{"name": "c", "ready": True, "restartCount": 0}]
    return out


def as_list(*objs: dict[str, Any]) -> bytes:
    page = {"kind": "List", "metadata": {"resourceVersion": "9"}, "items": objs}
    return json.dumps(page).encode()


def as_event(obj: dict[str, Any], kind: str = "MODIFIED") -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode()


@st.composite
def pods(draw: st.DrawFn) -> dict[str, Any]:
    b = PodBuilder(draw(st.sampled_from(["a", "job-1-x"])), draw(st.sampled_from(["default", "b"])))
    b = b.req(cpu=draw(st.sampled_from(["100m", "2", "0"])), memory="64Mi")
    if draw(st.booleans()):
        b = b.lim(cpu="4", memory="1Gi")
    if draw(st.booleans()):
        b = b.init_container(sidecar=draw(st.booleans())).req(cpu="50m")
    if draw(st.booleans()):
        b = b.overhead(cpu="10m")
    if draw(st.booleans()):
        b = b.pod_req(cpu="1", memory="1Gi")
    for key in draw(st.lists(st.sampled_from(["colo.io/qos", "app", "colo.io/gang"]), max_size=2)):
        b = b.label(key, "LS" if key == "colo.io/qos" else "v")
    if draw(st.booleans()):
        b = b.annotation("colo.io/gang-min-members", "3")
    if draw(st.booleans()):
        b = b.priority(draw(st.sampled_from([0, 1000, 2_000_000_000])))
    if draw(st.booleans()):
        b = b.node(draw(st.sampled_from(["n1", "virtual-node-0001"])))
    if draw(st.booleans()):
        b = b.scheduler("colo-batch")
    if draw(st.booleans()):
        b = b.toleration("dedicated", "gpu")
    if draw(st.booleans()):
        b = b.node_selector("zone", "z1")
    if draw(st.booleans()):
        term = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}]}
        b = b.affinity({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [term]}}})  # fmt: skip
    if draw(st.booleans()):
        b = b.owner(draw(st.sampled_from(["Job", "ReplicaSet"])), "j1",
                    controller=draw(st.booleans()))  # fmt: skip
    if draw(st.booleans()):
        b = b.phase(draw(st.sampled_from(["Running", "Succeeded", "Failed"])))
    if draw(st.booleans()):
        b = b.qos_class(draw(st.sampled_from(["Guaranteed", "BestEffort"])))
    if draw(st.booleans()):
        b = b.created("2026-12-05T10:00:00Z")
    return b.uid("u-1").obj()


@given(pods())
@settings(max_examples=200, deadline=None)
def test_a_shaped_pod_reads_as_the_whole_pod(obj: dict[str, Any]) -> None:
    full = decorate(obj)
    want = Pod.from_k8s(full)
    (listed,) = POD.decode_list(as_list(full))["items"]
    watched = POD.decode_event(as_event(full))["object"]
    assert Pod.from_k8s(listed) == want
    assert Pod.from_k8s(watched) == want
    for shaped in (listed, watched):
        assert "managedFields" not in shaped["metadata"]
        assert "image" not in shaped["spec"]["containers"][0]
        assert "conditions" not in shaped.get("status", {})
        assert len(json.dumps(shaped)) < len(json.dumps(full))


@given(st.booleans(), st.booleans(), st.booleans())
def test_a_shaped_node_reads_as_the_whole_node(ready: bool, cordoned: bool, tainted: bool) -> None:
    b = NodeBuilder("n1").allocatable(cpu="8", memory="16Gi", pods=110,
                                      extended={"colo.io/batch-cpu": "4000"})  # fmt: skip
    b = b.label("zone", "z1").annotation("colo.io/pod-ip-limit", "200")
    if not ready:
        b = b.not_ready()
    if cordoned:
        b = b.unschedulable()
    if tainted:
        b = b.taint("dedicated", "gpu")
    full = b.obj()
    full["metadata"]["managedFields"] = NOISE_META["managedFields"]
    for c in full["status"].get("conditions", []):
        c["lastHeartbeatTime"] = "2026-12-05T10:00:00Z"
    full["status"]["images"] = [{"names": ["busybox"], "sizeBytes": 1}]
    (listed,) = NODE.decode_list(as_list(full))["items"]
    assert Node.from_k8s(listed) == Node.from_k8s(full)
    watched = NODE.decode_event(as_event(full))["object"]
    assert Node.from_k8s(watched) == Node.from_k8s(full)
    assert "images" not in listed["status"] and "images" not in watched["status"]
    assert all(set(c) <= {"type", "status"} for c in listed["status"].get("conditions", []))


def test_a_wrongly_typed_field_is_still_named_by_the_view() -> None:
    obj = PodBuilder("a").obj()
    obj["metadata"]["labels"] = ["not", "a", "map"]
    (listed,) = POD.decode_list(as_list(obj))["items"]
    with pytest.raises(InvalidInput) as shaped:
        Pod.from_k8s(listed)
    with pytest.raises(InvalidInput) as whole:
        Pod.from_k8s(obj)
    assert str(shaped.value) == str(whole.value)
    assert "metadata.labels" in str(shaped.value)


def test_a_structure_no_server_sends_is_decoded_whole() -> None:
    odd = {"metadata": ["x"], "spec": {}}
    good = PodBuilder("b").obj()
    page = POD.decode_list(as_list(odd, good))
    assert page["items"][0] == odd  # the informer names and skips it, as before
    assert Pod.from_k8s(page["items"][1]).name == "b"
    assert POD.decode_event(as_event(odd))["object"] == odd


def test_errors_and_bookmarks_are_decoded_whole() -> None:
    error = {"type": "ERROR", "object": {"kind": "Status", "status": "Failure", "code": 410,
                                          "message": "too old resource version"}}  # fmt: skip
    assert POD.decode_event(json.dumps(error).encode()) == error
    bookmark = {"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": "7",
                "annotations": {"k8s.io/initial-events-end": "true"}}}}  # fmt: skip
    assert POD.decode_event(json.dumps(bookmark).encode()) == bookmark


@pytest.mark.parametrize("body", [b"<html>proxy error</html>", b'{"items": [', b"\xff\xfe"])
def test_garbage_is_retryable_shaped_or_not(body: bytes) -> None:
    for parse in (json.loads, POD.decode_list, POD.decode_event):
        with pytest.raises(Retryable, match="not JSON"):
            _decode(body, "https://api/x", parse)
