"""bench/_audit.py, the fault suite's checker, on hand-made event streams: each loss it
exists to find is found, and a clean stream has none."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from _audit import GRACE_S, Event, audit, requests_of, trim  # noqa: E402

NS = "faults-0"


class Stream:
    """Events in the API server's order: each gets the next resourceVersion."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, kind: str, obj: dict[str, Any], *, at: float, type_: str = "MODIFIED") -> None:
        rv = len(self.events) + 1
        self.events.append(Event(kind, type_, rv, at, trim(kind, obj)))

    def node(self, name: str, *, at: float, cpu: str = "1", ready: bool = True,
             type_: str = "ADDED") -> None:  # fmt: skip
        alloc = {"cpu": "32", "memory": "64Gi", "pods": "110", "colo.io/batch-cpu": cpu}
        conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
        self.add("node", {"metadata": {"name": name, "uid": name},
                          "status": {"allocatable": alloc, "conditions": conditions}},
                 at=at, type_=type_)  # fmt: skip

    def pod(self, name: str, *, at: float, node: str | None = None, phase: str = "Pending",
            batch_cpu: str = "400", ns: str = NS, type_: str = "MODIFIED",
            owner: str | None = None, reason: str | None = None) -> None:  # fmt: skip
        meta: dict[str, Any] = {"name": name, "namespace": ns, "uid": f"{ns}/{name}"}
        if owner:
            meta["ownerReferences"] = [{"kind": "Job", "name": owner}]
        requests = {"colo.io/batch-cpu": batch_cpu}
        spec: dict[str, Any] = {"containers": [{"name": "c", "resources": {"requests": requests}}]}
        if node:
            spec["nodeName"] = node
        status = {"phase": phase, "reason": reason}
        self.add("pod", {"metadata": meta, "spec": spec, "status": status}, at=at, type_=type_)

    def job(
        self, name: str, cronjob: str, scheduled: str, *, at: float, type_: str = "ADDED"
    ) -> None:
        self.add("job", {"metadata": {
            "name": name, "namespace": NS, "uid": name,
            "ownerReferences": [{"kind": "CronJob", "name": cronjob}],
            "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": scheduled}}},
            at=at, type_=type_)  # fmt: skip


def test_a_clean_wave_has_no_losses_and_recovers_when_the_first_later_pod_binds() -> None:
    s = Stream()
    s.node("n1", at=0, cpu="1000")
    s.pod("a", at=10, type_="ADDED")
    s.pod("a", at=10.5, node="n1")
    s.pod("a", at=10.6, node="n1", phase="Running")
    s.pod("b", at=12, type_="ADDED")  # made after the fault at 11
    s.pod("b", at=14.25, node="n1")
    got = audit(s.events, namespace=NS, since=5, fault_at=11)
    assert (got.pods_created, got.pods_bound, got.losses) == (2, 2, 0), got.details
    assert got.recover_s == 3.25


def test_a_pod_never_bound_or_deleted_unbound_is_lost_and_a_failed_one_with_a_reason_is_not() -> (
    None
):
    s = Stream()
    s.node("n1", at=0, cpu="1000")
    s.pod("never", at=1, type_="ADDED")
    s.pod("gone", at=1, type_="ADDED")
    s.pod("gone", at=2, type_="DELETED")
    s.pod("refused", at=1, type_="ADDED")
    s.pod("refused", at=2, phase="Failed", reason="OutOfcpu")
    s.pod("other-namespace", at=1, type_="ADDED", ns="elsewhere")
    got = audit(s.events, namespace=NS, since=0)
    assert (got.pods_created, got.pods_lost) == (3, 2)
    assert any("never" in d for d in got.details)
    assert got.recover_s is None


def test_a_binding_past_the_nodes_allocatable_at_that_revision_is_an_over_commit() -> None:
    s = Stream()
    s.node("n1", at=0, cpu="1000")
    s.pod("a", at=1, node="n1", batch_cpu="600", type_="ADDED")
    s.pod("b", at=2, node="n1", batch_cpu="600", type_="ADDED")  # 1200 > 1000
    s.pod("a", at=3, node="n1", batch_cpu="600", phase="Succeeded")  # frees 600
    s.pod("c", at=4, node="n1", batch_cpu="400", type_="ADDED")  # 1000 = 1000: fits
    s.node("n1", at=5, cpu="2000", type_="MODIFIED")  # raised only after the binding above
    got = audit(s.events, namespace=NS, since=0)
    assert got.overcommit_instants == 1
    assert "colo.io/batch-cpu 1200 > 1000" in got.details[0]


def test_events_are_replayed_in_resource_version_order_not_arrival_order() -> None:
    s = Stream()
    s.node("n1", at=0, cpu="500")
    s.node("n1", at=0.5, cpu="1000", type_="MODIFIED")
    s.pod("a", at=1, node="n1", batch_cpu="800", type_="ADDED")
    shuffled = list(reversed(s.events))  # the node watch delivered after the pod watch
    assert audit(shuffled, namespace=NS, since=0).overcommit_instants == 0


def test_bindings_before_the_window_count_as_usage_but_not_as_over_commits() -> None:
    s = Stream()
    s.node("n1", at=0, cpu="1000")
    s.pod("old-1", at=1, node="n1", batch_cpu="700", ns="earlier", type_="ADDED")
    s.pod("old-2", at=2, node="n1", batch_cpu="700", ns="earlier", type_="ADDED")  # before since
    s.pod("new", at=20, node="n1", batch_cpu="100", type_="ADDED")
    got = audit(s.events, namespace=NS, since=10)
    assert got.overcommit_instants == 1  # only "new": the node was already full
    assert "faults-0/new" in got.details[0]


def test_binding_onto_a_node_gone_longer_than_the_grace_is_counted() -> None:
    s = Stream()
    s.node("down", at=0, cpu="5000")
    s.node("deleted", at=0, cpu="5000")
    s.node("down", at=10, ready=False, type_="MODIFIED")
    s.node("deleted", at=10, type_="DELETED")
    s.pod("in-flight", at=10 + GRACE_S / 2, node="down", type_="ADDED")
    s.pod("late", at=10 + GRACE_S + 1, node="down", type_="ADDED")
    s.pod("late-2", at=10 + GRACE_S + 1, node="deleted", type_="ADDED")
    s.node("down", at=30, ready=True, type_="MODIFIED")
    s.pod("back", at=31, node="down", type_="ADDED")
    got = audit(s.events, namespace=NS, since=0)
    assert got.bound_to_gone_nodes == 2, got.details


def test_a_pod_that_changes_node_is_bound_twice() -> None:
    s = Stream()
    s.node("n1", at=0, cpu="5000")
    s.node("n2", at=0, cpu="5000")
    s.pod("a", at=1, node="n1", type_="ADDED")
    s.pod("a", at=2, node="n2")
    assert audit(s.events, namespace=NS, since=0).pods_bound_twice == 1


def test_cron_runs_missed_doubled_by_jobs_or_by_pods_and_exact() -> None:
    t = "2026-12-05T12:00:00Z"
    s = Stream()
    s.node("n1", at=0, cpu="5000")
    s.job("ok-1", "ok", t, at=1)
    s.pod("ok-1-x", at=1, node="n1", owner="ok-1", type_="ADDED")
    s.job("twice-1", "twice", t, at=1)
    s.job("twice-2", "twice", t, at=1)
    s.job("pods-1", "pods", t, at=1)
    s.pod("pods-1-x", at=1, node="n1", owner="pods-1", type_="ADDED")
    s.pod("pods-1-y", at=1, node="n1", owner="pods-1", type_="ADDED")
    s.job("wrong-time", "late", "2026-12-05T12:01:00Z", at=1)
    runs = {key: [t] for key in ("ok", "twice", "pods", "late", "none")}
    got = audit(s.events, namespace=NS, since=0, cron_runs=runs)
    assert (got.cron_runs_expected, got.cron_runs_missed, got.cron_runs_doubled) == (5, 2, 2)


def test_requests_sum_containers_take_the_largest_init_container_and_add_the_overhead() -> None:
    spec = {
        "containers": [{"resources": {"requests": {"cpu": "100m", "memory": "1Gi"}}},
                       {"resources": {"requests": {"cpu": "250m"}}}],
        "initContainers": [{"resources": {"requests": {"cpu": "2"}}}],
        "overhead": {"memory": "1Mi"},
    }  # fmt: skip
    got = requests_of(spec)
    assert got == {"cpu": 2, "memory": 2**30 + 2**20, "pods": 1}


def test_a_run_whose_job_the_history_limit_deleted_still_counts_as_made() -> None:
    t = "2026-12-05T12:00:00Z"
    s = Stream()
    s.job("every-1", "every", t, at=1)
    s.job("every-1", "every", t, at=2, type_="DELETED")
    got = audit(s.events, namespace=NS, since=0, cron_runs={"every": [t]})
    assert (got.cron_runs_missed, got.cron_runs_doubled) == (0, 0)


def test_recovery_counts_from_the_end_of_a_lasting_fault_and_stall_from_its_start() -> None:
    s = Stream()
    s.node("n1", at=0, cpu="1000")
    s.pod("during", at=11.5, type_="ADDED")
    s.pod("during", at=12.5, node="n1")  # bound while the fault lasted: not a recovery
    s.pod("after", at=13.5, type_="ADDED")
    s.pod("after", at=14.0, node="n1")
    got = audit(s.events, namespace=NS, since=5, fault_at=11, fault_ended=13)
    assert (got.recover_s, got.stall_s) == (1.0, 3.0)


def test_a_fault_that_stalls_nothing_recovers_in_zero_and_an_unbound_pod_keeps_it_open() -> None:
    def stream(bind_late: bool) -> Stream:
        s = Stream()
        s.node("n1", at=0, cpu="1000")
        s.pod("during", at=11.5, type_="ADDED")
        s.pod("during", at=12.5, node="n1")  # bound while the fault (11 → 20) lasted
        s.pod("late", at=12.0, type_="ADDED")
        if bind_late:
            s.pod("late", at=19.0, node="n1")
        return s

    got = audit(stream(True).events, namespace=NS, since=5, fault_at=11, fault_ended=20)
    assert (got.recover_s, got.stall_s) == (0.0, 0.0)
    got = audit(stream(False).events, namespace=NS, since=5, fault_at=11, fault_ended=20)
    assert got.recover_s is None and got.pods_lost == 1
