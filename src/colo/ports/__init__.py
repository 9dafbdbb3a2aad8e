"""Ports: the Protocols engines need from the outside world.

`colo.kube` implements them against a real API server, `colo.sim` against a simulated
cluster, `colo.linux` (the cgroup port and the usage reader) against the node's cgroup
tree. Reads come
from a local cache and are synchronous (an informer's store or the simulator's state);
writes are coroutines because against a real cluster they are network calls. A
simulated write completes without ever suspending.
"""

from colo.ports.cgroups import Cgroups
from colo.ports.clock import Clock
from colo.ports.cluster import (
    Binder,
    ClusterReader,
    EventRecorder,
    Evictor,
    NodeStatusPatcher,
    PodConditionWriter,
    Unsubscribe,
)
from colo.ports.usage import UsageReader

__all__ = [
    "Binder",
    "Cgroups",
    "Clock",
    "ClusterReader",
    "EventRecorder",
    "Evictor",
    "NodeStatusPatcher",
    "PodConditionWriter",
    "Unsubscribe",
    "UsageReader",
]
