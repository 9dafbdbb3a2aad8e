"""The coordinator's ledger: per-node conflict checks, priorities, TTL, idempotence, rebuild."""

from __future__ import annotations

import pytest

from colo.coord.ledger import Ledger
from colo.core.reservation import Item

CPU = "colo.io/batch-cpu"


def ledger(**nodes: int) -> Ledger:
    led = Ledger(ttl_s=10)
    for name, cpu in nodes.items():
        led.update_node(name, {CPU: cpu, "pods": 110})
    return led


def item(pod: str, node: str, cpu: int, priority: int = 0) -> Item:
    return Item(pod, node, {CPU: cpu, "pods": 1}, priority)


def test_two_schedulers_racing_for_one_node_get_one_grant() -> None:
    led = ledger(a=4000)
    first = led.reserve([item("s1/p", "a", 3000)], 0.0)
    second = led.reserve([item("s2/q", "a", 3000)], 0.0)
    assert first[0].ok and not second[0].ok
    assert second[0].reason == "insufficient colo.io/batch-cpu: 3000 wanted, 1000 free"


def test_higher_priority_first_within_a_node_answers_in_given_order() -> None:
    led = ledger(a=4000, b=4000)
    got = led.reserve(
        [item("low", "a", 3000, 0), item("other", "b", 1000), item("high", "a", 3000, 9)], 0.0
    )
    assert [(r.pod, r.ok) for r in got] == [("low", False), ("other", True), ("high", True)]


def test_reserve_is_idempotent_and_unreserve_too() -> None:
    led = ledger(a=4000, b=4000)
    assert led.reserve([item("p", "a", 3000)], 0.0)[0].ok
    again = led.reserve([item("p", "a", 3000)], 5.0)[0]
    assert again.ok and again.reason == "refreshed" and led.free("a")[CPU] == 1000
    moved = led.reserve([item("p", "b", 3000)], 5.0)[0]
    assert not moved.ok and "already reserved on a" in moved.reason
    assert led.unreserve(["p", "p", "never-seen"]) == 1
    assert led.free("a")[CPU] == 4000


def test_reservations_expire_unless_the_pod_is_seen_bound() -> None:
    led = ledger(a=4000)
    led.reserve([item("kept", "a", 1000), item("lost", "a", 1000)], 0.0)
    led.pod_bound("kept", "a", {CPU: 1000, "pods": 1})
    led.reserve([item("refresh", "a", 1000)], 0.0)
    led.reserve([item("refresh", "a", 1000)], 8.0)  # TTL now runs to 18
    assert led.expire(12.0) == 1  # only "lost"
    assert led.free("a")[CPU] == 2000
    assert led.reserve([item("kept", "a", 1000)], 12.0)[0].reason == "already bound there"


def test_bound_pods_count_and_free_when_gone() -> None:
    led = ledger(a=2000)
    led.pod_bound("online", "a", {CPU: 2000})
    assert not led.reserve([item("p", "a", 1)], 0.0)[0].ok
    led.pod_gone("online")
    assert led.reserve([item("p", "a", 2000)], 0.0)[0].ok


def test_after_a_restart_it_never_grants_what_is_bound() -> None:
    led = Ledger(ttl_s=10)
    led.rebuild(
        nodes=[("a", {CPU: 4000, "pods": 110}), ("b", {CPU: 4000, "pods": 110})],
        bound=[("x", "a", {CPU: 3500}), ("y", "b", {CPU: 1000})],
    )
    got = led.reserve([item("p", "a", 1000), item("q", "b", 3000)], 0.0)
    assert [r.ok for r in got] == [False, True]


def test_unknown_nodes_are_conflicts_not_errors() -> None:
    got = ledger().reserve([item("p", "ghost", 1)], 0.0)
    assert not got[0].ok and "not known" in got[0].reason
    with pytest.raises(ValueError, match="ttl"):
        Ledger(ttl_s=0)


def test_never_overcommitted_under_random_traffic() -> None:
    import random

    rng = random.Random(3)
    led = ledger(**{f"n{i}": 8000 for i in range(5)})
    live: list[str] = []
    for step in range(2000):
        now = step * 0.1
        batch = [item(f"p{step}-{k}", f"n{rng.randrange(5)}", rng.choice([500, 1000, 3000]),
                      rng.randrange(3)) for k in range(rng.randrange(1, 6))]  # fmt: skip
        for r in led.reserve(batch, now):
            if r.ok:
                live.append(r.pod)
        if live and rng.random() < 0.3:
            p = live.pop(rng.randrange(len(live)))
            if rng.random() < 0.5:
                led.unreserve([p])
            else:
                led.pod_gone(p)
        for name, entry in led.nodes.items():
            assert entry.used.get(CPU, 0) <= entry.allocatable[CPU], name
            held = sum(r.get(CPU, 0) for r, _ in entry.reserved.values())
            assert entry.used.get(CPU, 0) == held + sum(b.get(CPU, 0) for b in entry.bound.values())


def test_check_answers_like_reserve_but_holds_nothing() -> None:
    led = ledger(a=4000, b=1000)
    led.reserve([item("x", "a", 3000)], 0.0)
    assert led.check("p", "a", {CPU: 1000}, 1.0) == ""
    assert (
        led.check("p", "a", {CPU: 1001}, 1.0)
        == "insufficient colo.io/batch-cpu: 1001 wanted, 1000 free"
    )
    assert led.check("p", "zz", {CPU: 1}, 1.0) == "node zz is not known"
    assert led.check("x", "a", {CPU: 3000}, 1.0) == ""  # its own reservation holds the room
    assert led.check("x", "b", {CPU: 1}, 1.0) == "pod is already reserved on a"
    assert led.free("a")[CPU] == 1000 and led.free("b")[CPU] == 1000  # nothing held
    # an expired reservation no longer takes room
    assert led.check("p", "a", {CPU: 4000}, 1000.0) == ""
