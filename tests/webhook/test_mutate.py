"""The webhook's mutation and denials, applied with a real JSON Patch implementation."""

from __future__ import annotations

import base64
import json
from typing import Any

import jsonpatch
import pytest

from colo.core.builders import PodBuilder
from colo.core.errors import InvalidInput
from colo.webhook.mutate import ORIGINAL_ANNOTATION, WebhookOptions, mutate_pod, review

OPTS = WebhookOptions()


def be_pod(**res: Any) -> dict[str, Any]:
    pod = PodBuilder("job-1", namespace="batch").label("colo.io/qos", "BE").obj()
    pod["spec"]["containers"][0]["resources"] = res
    return pod


def apply(pod: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = jsonpatch.apply_patch(pod, mutate_pod(pod, OPTS))
    return out


def test_be_pod_moves_to_batch_resources_and_colo_batch() -> None:
    pod = be_pod(requests={"cpu": "500m", "memory": "1Gi"}, limits={"cpu": "2", "memory": "2Gi"})
    got = apply(pod)
    res = got["spec"]["containers"][0]["resources"]
    batch = {"colo.io/batch-cpu": "500", "colo.io/batch-memory": str(2**30)}
    assert res == {"requests": batch, "limits": batch}
    assert got["spec"]["schedulerName"] == "colo-batch"
    original = json.loads(got["metadata"]["annotations"][ORIGINAL_ANNOTATION])
    assert original["c0"]["limits"] == {"cpu": "2", "memory": "2Gi"}


def test_limit_only_and_other_resources_are_kept() -> None:
    pod = be_pod(limits={"cpu": "1500m", "nvidia.com/gpu": "1"})
    res = apply(pod)["spec"]["containers"][0]["resources"]
    assert res["limits"] == {"nvidia.com/gpu": "1", "colo.io/batch-cpu": "1500"}
    assert res["requests"] == {"colo.io/batch-cpu": "1500"}


def test_mutation_is_idempotent_and_a_chosen_scheduler_is_kept() -> None:
    pod = be_pod(requests={"cpu": "1"})
    pod["spec"]["schedulerName"] = "volcano"
    once = apply(pod)
    assert once["spec"]["schedulerName"] == "volcano"
    assert mutate_pod(once, OPTS) == []


def test_online_pods_pass_untouched() -> None:
    pod = PodBuilder("web", namespace="prod").label("colo.io/qos", "LS").obj()
    pod["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1"}}
    assert mutate_pod(pod, OPTS) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["metadata"]["labels"].update({"colo.io/qos": "be"}), "colo.io/qos"),
        (
            lambda p: p["metadata"]["labels"].update({"colo.io/tier": "BE"}),
            r"labels\[colo.io/tier\]: unknown colo key",
        ),
        (
            lambda p: p["spec"]["containers"][0].update(
                {"resources": {"requests": {"cpu": "1.5.2"}}}
            ),
            r"spec.containers\[0\].resources.requests.cpu",
        ),
    ],
)
def test_malformed_input_is_denied_naming_the_field(change: Any, message: str) -> None:
    pod = be_pod()
    change(pod)
    with pytest.raises(InvalidInput, match=message):
        mutate_pod(pod, OPTS)


def test_online_pod_asking_for_batch_resources_is_denied() -> None:
    pod = PodBuilder("web", namespace="prod").label("colo.io/qos", "LS").obj()
    pod["spec"]["containers"][0]["resources"] = {"limits": {"colo.io/batch-cpu": "1000"}}
    with pytest.raises(InvalidInput, match="only offline"):
        mutate_pod(pod, OPTS)


def request(pod: dict[str, Any], op: str = "CREATE") -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": "u-1", "kind": {"kind": "Pod"}, "operation": op, "object": pod},
    }


def test_review_answers_with_a_base64_json_patch_or_a_denial() -> None:
    out = review(request(be_pod(requests={"cpu": "1"})), OPTS)
    resp = out["response"]
    assert resp["uid"] == "u-1" and resp["allowed"] and resp["patchType"] == "JSONPatch"
    ops = json.loads(base64.b64decode(resp["patch"]))
    assert {o["path"] for o in ops} >= {"/spec/containers/0/resources", "/spec/schedulerName"}
    bad = be_pod()
    bad["metadata"]["labels"]["colo.io/qos"] = "nope"
    denied = review(request(bad), OPTS)["response"]
    assert not denied["allowed"] and "colo.io/qos" in denied["status"]["message"]
    assert "patch" not in review(request(be_pod(), op="UPDATE"), OPTS)["response"]
    with pytest.raises(InvalidInput, match="AdmissionReview"):
        review({"kind": "Pod"}, OPTS)


def test_a_pod_with_only_generate_name_is_named_by_its_prefix_in_denials() -> None:
    pod = be_pod()
    del pod["metadata"]["name"]
    pod["metadata"]["generateName"] = "job-1-"
    pod["metadata"]["labels"]["colo.io/qos"] = "nope"
    with pytest.raises(InvalidInput, match=r"pod batch/job-1-…"):
        mutate_pod(pod, OPTS)


def test_every_colo_key_colo_itself_puts_on_pods_is_admitted() -> None:
    """colo-cron's `colo.io/start-at`, colo-batch's virtual-node and gang keys, the
    agent's SLO probe: a pod carrying them is mutated, not denied (the live system found
    colo-cron's pods denied while the list held only the webhook's own keys)."""
    from colo.apps.protect import SLO_PROBE_ANNOTATION, SLO_TARGET_ANNOTATION
    from colo.core.objects import START_AT_ANNOTATION
    from colo.core.qos import QOS_LABEL
    from colo.sched.requirements import (
        GANG_LABEL,
        GANG_MIN_ANNOTATION,
        VIRTUAL_FAILED_ANNOTATION,
        VIRTUAL_LABEL,
    )
    from colo.webhook.mutate import KNOWN_ANNOTATIONS, KNOWN_LABELS

    labels = {QOS_LABEL, VIRTUAL_LABEL, GANG_LABEL}
    annotations = {
        ORIGINAL_ANNOTATION, START_AT_ANNOTATION, VIRTUAL_FAILED_ANNOTATION,
        GANG_MIN_ANNOTATION, SLO_PROBE_ANNOTATION, SLO_TARGET_ANNOTATION,
    }  # fmt: skip
    assert (frozenset(labels), frozenset(annotations)) == (KNOWN_LABELS, KNOWN_ANNOTATIONS)
    pod = be_pod()
    pod["metadata"]["labels"].update({VIRTUAL_LABEL: "prefer", GANG_LABEL: "g"})
    pod["metadata"]["annotations"] = {
        START_AT_ANNOTATION: "2024-01-02T03:04:05Z",
        VIRTUAL_FAILED_ANNOTATION: "true",
        GANG_MIN_ANNOTATION: "2",
    }
    assert mutate_pod(pod, OPTS)  # converted, not denied
