"""Builders produce Kubernetes JSON; the public API of colo.core stays importable and cheap."""

from __future__ import annotations

import subprocess
import sys

import colo.core
from colo.core.builders import NodeBuilder, PodBuilder
from colo.core.objects import Pod


class TestPodBuilder:
    def test_requests_and_limits_land_on_the_current_container(self) -> None:
        obj = (
            PodBuilder("web", "shop")
            .req(cpu="100m", memory="1Gi", extended={"colo.io/batch-cpu": 100})
            .lim(cpu="1")
            .container("side")
            .req(cpu="50m")
            .init_container(sidecar=True)
            .req(memory="64Mi")
            .obj()
        )
        containers = obj["spec"]["containers"]
        assert containers[0]["resources"] == {
            "requests": {"cpu": "100m", "memory": "1Gi", "colo.io/batch-cpu": 100},
            "limits": {"cpu": "1"},
        }
        assert containers[1]["name"] == "side"
        assert containers[1]["resources"] == {"requests": {"cpu": "50m"}}
        assert obj["spec"]["initContainers"][0]["restartPolicy"] == "Always"
        assert obj["metadata"] == {"name": "web", "namespace": "shop", "uid": "uid-shop-web"}

    def test_obj_returns_independent_copies(self) -> None:
        builder = PodBuilder("p").label("a", "1")
        first = builder.obj()
        first["metadata"]["labels"]["a"] = "changed"
        assert builder.obj()["metadata"]["labels"] == {"a": "1"}

    def test_a_pod_without_requests_gets_one_empty_container(self) -> None:
        assert PodBuilder("p").obj()["spec"]["containers"] == [
            {"name": "c0", "image": "busybox", "resources": {}}
        ]

    def test_view_parses_what_obj_builds(self) -> None:
        builder = PodBuilder("p").req(cpu="1").tier("BE").scheduler("colo-batch").uid("u1")
        assert builder.view() == Pod.from_k8s(builder.obj())
        assert builder.view().uid == "u1"


class TestNodeBuilder:
    def test_allocatable_defaults_to_capacity(self) -> None:
        obj = NodeBuilder("n1").capacity(cpu="8", memory="16Gi", pods=50).obj()
        assert obj["status"]["capacity"] == {"cpu": "8", "memory": "16Gi", "pods": 50}
        assert obj["status"]["allocatable"] == obj["status"]["capacity"]

    def test_taints_labels_and_conditions(self) -> None:
        obj = (
            NodeBuilder("vk")
            .label("type", "virtual-kubelet")
            .annotation("a", "b")
            .taint("virtual-kubelet.io/provider", "mock")
            .unschedulable()
            .not_ready()
            .obj()
        )
        assert obj["metadata"]["labels"]["type"] == "virtual-kubelet"
        assert obj["spec"]["taints"] == [
            {"key": "virtual-kubelet.io/provider", "value": "mock", "effect": "NoSchedule"}
        ]
        assert obj["spec"]["unschedulable"] is True
        assert obj["status"]["conditions"] == [{"type": "Ready", "status": "False"}]


def test_every_public_name_is_exported() -> None:
    for name in colo.core.__all__:
        assert hasattr(colo.core, name), name
    for name in ("Resources", "Pod", "Node", "QoSTier", "parse_quantity", "InvalidInput"):
        assert name in colo.core.__all__


def test_importing_colo_core_does_not_pull_in_numpy() -> None:
    code = "import sys, colo.core; print('numpy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "False"
