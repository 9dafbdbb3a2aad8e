"""What a node's usage reader is asked and answers: which pod cgroup, and its usage."""

from __future__ import annotations

from dataclasses import dataclass

from colo.core.qos import KubernetesQoSClass


@dataclass(frozen=True, slots=True)
class PodCgroup:
    """Which pod to read: its uid, and its Kubernetes QoS class (the kubelet files a
    pod's cgroup under its class)."""

    uid: str
    qos_class: KubernetesQoSClass


@dataclass(frozen=True, slots=True)
class PodSample:
    """One pod's usage: cpu in cores (the mean since the previous read), memory as the
    working set in bytes (usage less inactive file cache, as the kubelet counts it)."""

    cpu_cores: float
    memory_bytes: int
