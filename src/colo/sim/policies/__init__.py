"""Policies: how a simulated cluster is run. A registry maps names to factories.

A policy decides three things: how nodes are pooled, where the online pods sit, and which
components (controllers, schedulers, later colo's own engines) drive the offline work.
Adding a policy is wiring components to the simulated cluster's ports, not changing the
simulator.
"""

from __future__ import annotations

from collections.abc import Callable

from colo.core.errors import InvalidInput
from colo.sim.policies.base import SimPolicy
from colo.sim.policies.colo import ColoPolicy
from colo.sim.policies.request_based import RequestBasedPolicy
from colo.sim.policies.reserved import ReservedPolicy
from colo.sim.scenario import Scenario

PolicyFactory = Callable[[Scenario], SimPolicy]

REGISTRY: dict[str, PolicyFactory] = {
    "reserved": ReservedPolicy,
    "request-based": RequestBasedPolicy,
    "colo": ColoPolicy,
}

DEFAULT_POLICIES = ("reserved", "request-based", "colo")


def make_policy(name: str, scenario: Scenario) -> SimPolicy:
    try:
        factory = REGISTRY[name]
    except KeyError:
        raise InvalidInput(
            "unknown policy",
            field="--policies",
            value=name,
            expected=f"one of {', '.join(sorted(REGISTRY))}",
        ) from None
    return factory(scenario)


__all__ = ["DEFAULT_POLICIES", "REGISTRY", "SimPolicy", "make_policy"]
