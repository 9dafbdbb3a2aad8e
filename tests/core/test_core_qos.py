"""Kubernetes QoS classes and colo QoS tiers."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from colo.core.builders import PodBuilder
from colo.core.errors import InvalidInput
from colo.core.qos import (
    PRIORITY_BANDS,
    QoSTier,
    kubernetes_qos_class,
    priority_band,
    tier_of,
)


def spec(builder: PodBuilder) -> dict[str, Any]:
    spec: dict[str, Any] = builder.obj()["spec"]
    return spec


def guaranteed(name: str = "p") -> PodBuilder:
    return PodBuilder(name).req(cpu="1", memory="1Gi").lim(cpu="1", memory="1Gi")


QOS = {
    "no requests or limits is BestEffort": (PodBuilder("p"), "BestEffort"),
    "equal cpu and memory requests and limits is Guaranteed": (guaranteed(), "Guaranteed"),
    "limits alone are Guaranteed because requests default to limits": (
        PodBuilder("p").lim(cpu="500m", memory="1Gi"),
        "Guaranteed",
    ),
    "equal values written differently are Guaranteed": (
        PodBuilder("p").req(cpu="0.5", memory="1024Mi").lim(cpu="500m", memory="1Gi"),
        "Guaranteed",
    ),
    "a cpu limit without a memory limit is Burstable": (
        PodBuilder("p").req(cpu="1").lim(cpu="1"),
        "Burstable",
    ),
    "requests without limits are Burstable": (
        PodBuilder("p").req(cpu="1", memory="1Gi"),
        "Burstable",
    ),
    "requests below limits are Burstable": (
        PodBuilder("p").req(cpu="500m", memory="1Gi").lim(cpu="1", memory="1Gi"),
        "Burstable",
    ),
    "two Guaranteed containers are Guaranteed": (
        guaranteed().container().req(cpu="2", memory="2Gi").lim(cpu="2", memory="2Gi"),
        "Guaranteed",
    ),
    "a Guaranteed and a BestEffort container are Burstable": (
        guaranteed().container(),
        "Burstable",
    ),
    "a BestEffort init container makes a Guaranteed pod Burstable": (
        guaranteed().init_container(),
        "Burstable",
    ),
    "a Guaranteed init container keeps the pod Guaranteed": (
        guaranteed().init_container().lim(cpu="2", memory="2Gi"),
        "Guaranteed",
    ),
    "an init container with requests only makes the pod Burstable": (
        PodBuilder("p").init_container().req(cpu="100m"),
        "Burstable",
    ),
    "a sidecar counts like any init container": (
        guaranteed().init_container(sidecar=True).req(cpu="1"),
        "Burstable",
    ),
    "extended resources alone are BestEffort": (
        PodBuilder("p")
        .req(extended={"example.com/gpu": "1"})
        .lim(extended={"example.com/gpu": "1"}),
        "BestEffort",
    ),
    "explicit zero requests are BestEffort": (
        PodBuilder("p").req(cpu="0", memory="0"),
        "BestEffort",
    ),
    "equal pod-level requests and limits are Guaranteed": (
        PodBuilder("p").pod_req(cpu="1", memory="1Gi").pod_lim(cpu="1", memory="1Gi"),
        "Guaranteed",
    ),
    "pod-level limits alone are Guaranteed (pod requests default to them)": (
        PodBuilder("p").pod_lim(cpu="1", memory="1Gi"),
        "Guaranteed",
    ),
    "pod-level requests default to the containers' requests before the pod limits": (
        PodBuilder("p").req(cpu="100m").pod_lim(cpu="1", memory="1Gi"),
        "Burstable",
    ),
    "pod-level requests alone are Burstable": (
        guaranteed().pod_req(cpu="1", memory="1Gi"),
        "Burstable",
    ),
}


@pytest.mark.parametrize(("builder", "qos_class"), QOS.values(), ids=QOS.keys())
def test_kubernetes_qos_class_follows_kubernetes(builder: PodBuilder, qos_class: str) -> None:
    assert kubernetes_qos_class(spec(builder)) == qos_class
    assert builder.view().qos_class == qos_class


TIERS = {
    "the label wins over a priority band": (guaranteed().tier("BE").priority(9500), QoSTier.BE),
    "the label wins over a system priority": (
        PodBuilder("p").tier("LS").priority(2 * 10**9),
        QoSTier.LS,
    ),
    "LSE comes only from the label": (guaranteed().tier("LSE"), QoSTier.LSE),
    "a system priority is SYSTEM": (PodBuilder("p").priority(2_000_001_000), QoSTier.SYSTEM),
    "the lowest system priority is SYSTEM": (PodBuilder("p").priority(10**9), QoSTier.SYSTEM),
    "prod priority is LS": (PodBuilder("p").priority(9500), QoSTier.LS),
    "the top of the prod band is LS": (PodBuilder("p").priority(9999), QoSTier.LS),
    "mid priority is LS": (PodBuilder("p").priority(7000), QoSTier.LS),
    "batch priority is BE even when Guaranteed": (guaranteed().priority(5999), QoSTier.BE),
    "free priority is BE": (PodBuilder("p").priority(3000), QoSTier.BE),
    "a priority between bands falls back to the QoS class": (
        guaranteed().priority(10_000),
        QoSTier.LSR,
    ),
    "no priority and Guaranteed is LSR": (guaranteed(), QoSTier.LSR),
    "no priority and Burstable is LS": (PodBuilder("p").req(cpu="1"), QoSTier.LS),
    "no priority and BestEffort is BE": (PodBuilder("p"), QoSTier.BE),
    "status.qosClass wins over the computed class": (
        guaranteed().qos_class("BestEffort"),
        QoSTier.BE,
    ),
}


@pytest.mark.parametrize(("builder", "tier"), TIERS.values(), ids=TIERS.keys())
def test_tier_precedence_is_label_then_priority_band_then_qos_class(
    builder: PodBuilder, tier: QoSTier
) -> None:
    assert tier_of(builder.obj()) is tier
    assert builder.view().tier is tier


@pytest.mark.parametrize("label", ["be", "Be", "SYSTEM", "", "LS "])
def test_a_bad_qos_label_names_the_pod_the_label_and_the_allowed_values(label: str) -> None:
    pod = PodBuilder("web").tier(label).obj()
    expected = (
        'pod default/web: field metadata.labels["colo.io/qos"]: invalid QoS tier: '
        f"expected one of LSE, LSR, LS, BE (got {label!r})"
    )
    with pytest.raises(InvalidInput) as info:
        tier_of(pod)
    assert str(info.value) == expected
    with pytest.raises(InvalidInput) as info:
        PodBuilder("web").tier(label).view()
    assert str(info.value) == expected


def test_a_bad_status_qos_class_is_invalid() -> None:
    with pytest.raises(InvalidInput, match=r"field status\.qosClass: invalid QoS class"):
        tier_of(PodBuilder("web").qos_class("Gold").obj())


def test_tier_of_reports_malformed_pods() -> None:
    with pytest.raises(InvalidInput, match=r"field spec\.priority: wrong type"):
        tier_of({"metadata": {"name": "x"}, "spec": {"priority": "high"}})
    with pytest.raises(InvalidInput, match=r"pod default/x: field spec\.containers: wrong type"):
        tier_of({"metadata": {"name": "x"}, "spec": {"containers": {}}})
    with pytest.raises(InvalidInput):
        tier_of(["not", "a", "pod"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("priority", "band"),
    [
        (2_000_000_000, "system"),
        (9000, "prod"),
        (7999, "mid"),
        (5000, "batch"),
        (3999, "free"),
        (8000, None),
        (0, None),
        (-5, None),
    ],
)
def test_priority_bands(priority: int, band: str | None) -> None:
    found = priority_band(priority)
    assert (found.name if found else None) == band


def test_priority_bands_do_not_overlap() -> None:
    spans = sorted((b.low, b.high) for b in PRIORITY_BANDS)
    assert all(high < next_low for (_, high), (next_low, _) in itertools.pairwise(spans))
