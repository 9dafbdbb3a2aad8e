"""Pod and node list pages in Protobuf: what colo.kube.protolist makes of them, and how
the transport asks for them. (The same objects encoded by a real API server both ways:
tests/e2e/test_kube_protobuf_lists.py.)"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from colo.core.errors import NotFound, Retryable
from colo.core.objects import Node, Pod, SharedSpec
from colo.kube.pb import core_pb2 as pb
from colo.kube.protolist import NotProtobuf, decode_node_list, decode_pod_list, status_text
from colo.kube.shapes import NODE, POD, PROTOBUF_MAGIC, PROTOBUF_OR_JSON
from colo.kube.transport import Transport

ROOT = Path(__file__).resolve().parents[2]


def framed(message: Any) -> bytes:
    """A body as the API server sends it: the magic, then the envelope."""
    return PROTOBUF_MAGIC + pb.Unknown(raw=message.SerializeToString()).SerializeToString()


def a_pod(name: str, **spec: Any) -> pb.Pod:
    """A pod as Go's encoder writes it: strings present even when empty."""
    container = pb.Container(
        name="c",
        resources=pb.ResourceRequirements(
            requests={"cpu": pb.Quantity(string="10m"), "memory": pb.Quantity(string="64Mi")}
        ),
    )
    fields: dict[str, Any] = {
        "containers": [container.SerializeToString()],
        "tolerations": [
            pb.Toleration(key="k", operator="Exists", value="", effect="").SerializeToString()
        ],
        "nodeName": "",
        "schedulerName": "colo-batch",
    }
    fields.update(spec)
    return pb.Pod(
        metadata=pb.ObjectMeta(
            name=name, generateName="", namespace="ns", uid=f"uid-{name}", resourceVersion="7",
            creationTimestamp=pb.Time(seconds=1_796_083_200), labels={"app": "a"},
        ),
        spec=pb.PodSpec(**fields).SerializeToString(),
        status=pb.PodStatus(phase="Pending", qosClass=""),
    )  # fmt: skip


def test_a_page_decodes_to_the_json_shape_with_json_omissions() -> None:
    page = pb.PodList(
        metadata=pb.ListMeta(resourceVersion="42", **{"continue": "next"}),
        items=[a_pod("p", priority=0), a_pod("q", nodeName="n1")],
    )
    got = decode_pod_list(framed(page))
    assert got["metadata"] == {"resourceVersion": "42", "continue": "next"}
    p, q = got["items"]
    assert p == {
        "metadata": {"name": "p", "namespace": "ns", "uid": "uid-p", "resourceVersion": "7",
                     "creationTimestamp": "2026-12-01T00:00:00Z", "labels": {"app": "a"}},
        "spec": {"containers": [{"name": "c", "resources": {
                     "requests": {"cpu": "10m", "memory": "64Mi"}}}],
                 "schedulerName": "colo-batch",
                 "tolerations": [{"key": "k", "operator": "Exists"}],
                 "priority": 0},
        "status": {"phase": "Pending"},
    }  # fmt: skip
    assert "priority" not in q["spec"] and q["spec"]["nodeName"] == "n1"
    assert Pod.from_k8s(q).node_name == "n1" and Pod.from_k8s(p).node_name is None
    last = decode_pod_list(framed(pb.PodList(metadata=pb.ListMeta(resourceVersion="43"))))
    assert last == {"metadata": {"resourceVersion": "43"}, "items": []}


def test_presence_is_kept_where_json_has_a_pointer() -> None:
    sidecar = pb.Container(name="s", restartPolicy="Always").SerializeToString()
    timed = pb.Toleration(key="", operator="Exists", effect="NoExecute", tolerationSeconds=0)
    pod = a_pod("p", initContainers=[sidecar], tolerations=[timed.SerializeToString()])
    pod.metadata.ownerReferences.add(kind="Job", name="j", controller=False)
    pod.metadata.creationTimestamp.seconds = 0  # Go's zero time: JSON prints null
    (got,) = decode_pod_list(framed(pb.PodList(items=[pod])))["items"]
    assert got["spec"]["initContainers"] == [
        {"name": "s", "resources": {}, "restartPolicy": "Always"}
    ]
    assert got["spec"]["tolerations"] == [
        {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}
    ]
    assert got["metadata"]["ownerReferences"] == [{"kind": "Job", "name": "j", "controller": False}]
    assert "creationTimestamp" not in got["metadata"]


def test_affinity_decodes_with_json_names() -> None:
    term = pb.PodAffinityTerm(
        labelSelector=pb.LabelSelector(
            matchLabels={"app": "a"},
            matchExpressions=[pb.Requirement(key="t", operator="In", values=["x"])],
        ),
        topologyKey="zone",
    )
    affinity = pb.Affinity(
        nodeAffinity=pb.NodeAffinity(
            requiredDuringSchedulingIgnoredDuringExecution=pb.NodeSelector(
                nodeSelectorTerms=[pb.NodeSelectorTerm(
                    matchFields=[pb.Requirement(key="metadata.name", operator="In",
                                                            values=["n1"])])]
            )
        ),
        podAntiAffinity=pb.PodAffinity(
            preferredDuringSchedulingIgnoredDuringExecution=[
                pb.WeightedPodAffinityTerm(weight=5, podAffinityTerm=term)
            ]
        ),
    )  # fmt: skip
    (got,) = decode_pod_list(
        framed(pb.PodList(items=[a_pod("p", affinity=affinity.SerializeToString())]))
    )["items"]
    assert got["spec"]["affinity"] == {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 5, "podAffinityTerm": {
                "labelSelector": {"matchLabels": {"app": "a"}, "matchExpressions": [
                    {"key": "t", "operator": "In", "values": ["x"]}]},
                "topologyKey": "zone"}}]},
    }  # fmt: skip


def test_repeated_specs_containers_and_tolerations_are_decoded_once() -> None:
    other = pb.Container(name="d").SerializeToString()
    page = pb.PodList(
        items=[a_pod("p"), a_pod("q"), a_pod("r", containers=[other]), a_pod("s", nodeName="n")]
    )
    p, q, r, s = decode_pod_list(framed(page))["items"]
    # a wave's pending pods: one spec, shared, marked so views read it once
    assert p["spec"] is q["spec"] and type(p["spec"]) is SharedSpec
    assert r["spec"] is not p["spec"] and s["spec"] is not p["spec"]
    assert s["spec"]["nodeName"] == "n" and "nodeName" not in p["spec"]
    # inside specs that differ, the parts that do not are still shared
    assert p["spec"]["tolerations"][0] is r["spec"]["tolerations"][0]
    assert p["spec"]["containers"][0] is s["spec"]["containers"][0]
    assert r["spec"]["containers"] == [{"name": "d", "resources": {}}]
    views = [Pod.from_k8s(o) for o in (p, q, r, s)]
    assert [v.name for v in views] == ["p", "q", "r", "s"]
    assert views[0].tolerations is views[1].tolerations and views[3].node_name == "n"
    assert views[2].requests.cpu_milli == 0 and views[0].requests.cpu_milli == 10


def test_a_node_page_decodes_to_the_json_shape_with_json_omissions() -> None:
    cpu = {"cpu": pb.Quantity(string="32"), "pods": pb.Quantity(string="110")}
    taints = [
        pb.Taint(key="a", value="", effect="NoSchedule"),
        pb.Taint(key="b", value="v", effect="NoExecute", timeAdded=pb.Time(seconds=1_796_083_200)),
    ]
    kwok = pb.Node(
        metadata=pb.ObjectMeta(name="n1", generateName="", namespace="", uid="u1",
                               resourceVersion="5", labels={"type": "kwok"}),
        spec=pb.NodeSpec(unschedulable=False),
        status=pb.NodeStatus(capacity=cpu, allocatable=cpu, conditions=[
            pb.NodeCondition(type="Ready", status="True")]),
    )  # fmt: skip
    cordoned = pb.Node(
        metadata=pb.ObjectMeta(name="n2"),
        spec=pb.NodeSpec(unschedulable=True, taints=taints),
        status=pb.NodeStatus(),
    )
    page = pb.NodeList(metadata=pb.ListMeta(resourceVersion="9"), items=[kwok, cordoned])
    got = decode_node_list(framed(page))
    assert got == {
        "metadata": {"resourceVersion": "9"},
        "items": [
            {"metadata": {"name": "n1", "uid": "u1", "resourceVersion": "5",
                          "labels": {"type": "kwok"}},
             "spec": {},
             "status": {"capacity": {"cpu": "32", "pods": "110"},
                        "allocatable": {"cpu": "32", "pods": "110"},
                        "conditions": [{"type": "Ready", "status": "True"}]}},
            {"metadata": {"name": "n2"},
             "spec": {"taints": [{"key": "a", "effect": "NoSchedule"},
                                 {"key": "b", "value": "v", "effect": "NoExecute",
                                  "timeAdded": "2026-12-01T00:00:00Z"}],
                      "unschedulable": True},
             "status": {}},
        ],
    }  # fmt: skip
    views = [Node.from_k8s(n) for n in got["items"]]
    assert views[0].ready and views[0].allocatable.cpu_milli == 32_000
    assert views[1].unschedulable and [t.key for t in views[1].taints] == ["a", "b"]
    with pytest.raises(NotProtobuf, match="not a node list"):
        decode_node_list(PROTOBUF_MAGIC + b"\xff\xff\xff")


@pytest.mark.parametrize(
    "body",
    [PROTOBUF_MAGIC + b"\xff\xff\xff", framed(pb.Unknown(raw=b"\x12\x05ab")), b"k8s\x00"[:3]],
    ids=["garbage", "a pod list that is not one", "no magic"],
)
def test_a_body_that_is_not_a_pod_list_is_refused(body: bytes) -> None:
    with pytest.raises(NotProtobuf):
        decode_pod_list(body)


def test_an_encoded_pod_with_bad_container_bytes_is_refused_by_name() -> None:
    page = pb.PodList(items=[a_pod("p", containers=[b"\xff\xff"])])
    with pytest.raises(NotProtobuf, match="not a Container"):
        decode_pod_list(framed(page))


def test_an_encoded_pod_with_bad_spec_bytes_is_refused_by_name() -> None:
    pod = pb.Pod(metadata=pb.ObjectMeta(name="p"), spec=b"\xff\xff")
    with pytest.raises(NotProtobuf, match="not a PodSpec"):
        decode_pod_list(framed(pb.PodList(items=[pod])))


def test_pods_and_nodes_ask_for_protobuf() -> None:
    assert POD.list_accept == PROTOBUF_OR_JSON
    assert NODE.list_accept == PROTOBUF_OR_JSON
    node_page = pb.NodeList(items=[pb.Node(metadata=pb.ObjectMeta(name="n"))])
    assert NODE.decode_list(framed(node_page))["items"] == [{"metadata": {"name": "n"}}]
    # A server that answers JSON all the same is read as before.
    json_page = b'{"metadata":{"resourceVersion":"1"},"items":[{"metadata":{"name":"p"}}]}'
    assert POD.decode_list(json_page)["items"] == [{"metadata": {"name": "p"}}]


def test_status_text_reads_a_protobuf_error() -> None:
    status = pb.Status(message='pods "p" not found', reason="NotFound", code=404)
    assert status_text(framed(status)) == 'NotFound: pods "p" not found'
    assert "not a Status" in status_text(PROTOBUF_MAGIC + b"\xff")


def test_the_transport_asks_for_protobuf_and_reads_its_answers_and_errors() -> None:
    seen: list[str] = []
    page = pb.PodList(metadata=pb.ListMeta(resourceVersion="9"), items=[a_pod("p")])

    async def pods(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Accept", ""))
        if request.query.get("bad") == "body":
            return web.Response(body=PROTOBUF_MAGIC + b"\xff\xff")
        if request.query.get("bad") == "gone":
            err = pb.Status(message="the pod is gone", reason="NotFound", code=404)
            return web.Response(status=404, body=framed(err))
        return web.Response(body=framed(page))

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/api/v1/pods", pods)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with Transport(f"http://127.0.0.1:{port}") as t:
                got = await t.get("/api/v1/pods", shape=POD)
                assert got["metadata"] == {"resourceVersion": "9"}
                assert [p["metadata"]["name"] for p in got["items"]] == ["p"]
                with pytest.raises(Retryable, match="not a Protobuf list colo can read"):
                    await t.get("/api/v1/pods", {"bad": "body"}, shape=POD)
                with pytest.raises(NotFound, match="NotFound: the pod is gone"):
                    await t.get("/api/v1/pods", {"bad": "gone"}, shape=POD)
                # No shape: JSON asked for (this server answers Protobuf all the same).
                with pytest.raises(Retryable, match="not a Protobuf list colo can read"):
                    await t.get("/api/v1/pods")
        finally:
            await runner.cleanup()

    asyncio.run(main())
    assert seen[:3] == [PROTOBUF_OR_JSON] * 3
    assert seen[3] == "application/json"


def test_the_committed_generated_code_matches_the_proto(tmp_path: Path) -> None:
    proto = "colo/kube/pb/core.proto"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{ROOT / 'proto'}",
         f"--python_out={tmp_path}", f"--pyi_out={tmp_path}", str(ROOT / "proto" / proto)],
        check=True,
    )  # fmt: skip
    for name in ("core_pb2.py", "core_pb2.pyi"):
        fresh = (tmp_path / "colo/kube/pb" / name).read_text()
        committed = (ROOT / "src/colo/kube/pb" / name).read_text()
        assert fresh == committed, f"{name} is stale: run make proto"
