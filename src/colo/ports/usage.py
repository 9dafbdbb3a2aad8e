"""The usage port: what the node's online pods use, read from wherever it is measured.

`colo.linux` reads it from the node's cgroup tree; the simulator has no need of the port
(it hands its usage arrays straight to the reporting loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from colo.core.usage import PodCgroup, PodSample


class UsageReader(Protocol):
    def available(self) -> bool:
        """Whether the pods' usage can be read at all (the kubelet's pod tree exists)."""
        ...

    def read(self, pods: Sequence[PodCgroup], now_s: float) -> dict[str, PodSample]:
        """Usage of `pods` by uid, at `now_s` (monotonic seconds, the caller's clock).

        A pod is left out when its cgroup is not found (not started, or gone) and on its
        first read: a cpu rate needs two reads. Pods not asked for are forgotten.
        """
        ...
