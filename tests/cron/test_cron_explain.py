"""`colo explain cronjob`: when it fires next, and how its last run came to start."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from colo.apps.explain import explain_run
from colo.cron.bodies import MANAGER
from colo.cron.naming import SCHEDULED_TIMESTAMP_ANNOTATION

NOW = datetime(2026, 12, 5, 0, 0, 30, tzinfo=UTC)


def cronjob(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "nightly", "namespace": "ns", "uid": "cj-1",
                     "creationTimestamp": "2026-12-01T00:00:00Z"},
        "spec": {"schedule": "0 0 * * *", "jobTemplate": {"spec": {}}, **spec},
    }  # fmt: skip


def job(
    name: str, scheduled: str, *, managed: bool = True, complete: bool = False
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                     "creationTimestamp": "2026-12-04T23:59:50Z",
                     "annotations": {SCHEDULED_TIMESTAMP_ANNOTATION: scheduled},
                     "ownerReferences": [{"kind": "CronJob", "name": "nightly", "uid": "cj-1",
                                          "controller": True}]},
        "spec": {"managedBy": MANAGER} if managed else {},
        "status": {"conditions": [{"type": "Complete", "status": "True"}]} if complete else {},
    }  # fmt: skip


def pod(owner_uid: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "nightly-1-0", "creationTimestamp": "2026-12-04T23:59:51Z",
                     "ownerReferences": [{"kind": "Job", "uid": owner_uid, "controller": True}]},
        "spec": {"nodeName": "virtual-0001"},
        "status": {"startTime": "2026-12-05T00:00:01Z",
                   "conditions": [{"type": "PodScheduled", "status": "True",
                                   "lastTransitionTime": "2026-12-05T00:00:00Z"}]},
    }  # fmt: skip


def test_it_says_when_the_next_run_is_and_how_the_last_one_started() -> None:
    last = job("nightly-1", "2026-12-05T00:00:00Z", complete=True)
    got = explain_run(cronjob(), [job("nightly-0", "2026-12-04T00:00:00Z"), last],
                      [pod("uid-nightly-1")], NOW)  # fmt: skip
    assert got.title == "cronjob ns/nightly: '0 0 * * *' in UTC"
    assert got.lines[0] == "next run: 2026-12-06T00:00:00+00:00"
    assert got.lines[1] == "last run: Job nightly-1, scheduled 2026-12-05T00:00:00+00:00"
    assert got.lines[2].startswith("  Job created -10.0 s by colo-cron, ahead of its time")
    assert got.lines[3] == (
        "  pod nightly-1-0: created -9.0 s, bound +0.0 s to virtual-0001, started +1.0 s"
    )
    assert "  finished: Complete" in got.lines


def test_a_run_someone_else_made_is_called_so() -> None:
    got = explain_run(cronjob(), [job("nightly-1", "2026-12-05T00:00:00Z", managed=False)], [], NOW)
    assert "someone else" in got.lines[2]


def test_a_schedule_that_cannot_run_says_why() -> None:
    got = explain_run(cronjob(schedule="61 * * * *"), [], [], NOW)
    assert got.lines[0].startswith("it never fires: unparseable schedule")


def test_a_suspended_cronjob_with_no_runs() -> None:
    got = explain_run(cronjob(suspend=True, concurrencyPolicy="Forbid"), [], [], NOW)
    assert got.lines == [
        "suspended: it fires again when spec.suspend is false",
        "concurrencyPolicy Forbid",
        "no run yet",
    ]
