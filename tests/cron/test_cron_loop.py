"""colo-cron's loop: runs made ahead and bound at their second, the Jobs it runs, status,
history, the concurrency policies, missed runs, and what goes wrong.

Driven through `cronworld.World`, an in-memory API server answering the loop's commands;
tests/e2e/test_cron_controller.py runs `colo cron serve` against a real one.
"""

from __future__ import annotations

from cronworld import T0, World, cronjob, rfc3339

from colo.core.objects import START_AT_ANNOTATION
from colo.cron.bodies import MANAGER
from colo.cron.loop import CronOptions
from colo.cron.messages import CreateJob, CreatePod, Delete, PatchStatus
from colo.cron.naming import SCHEDULED_TIMESTAMP_ANNOTATION as SCHEDULED

EVERY_5 = "*/5 * * * *"
FIRE = T0 + 300.0  # 23:05:00, the first time */5 fires after T0 (23:00)


def test_a_run_is_made_ahead_with_its_pods_and_nothing_is_written_at_its_second() -> None:
    w = World(CronOptions(lead_s=10.0, status_delay_s=5.0))
    w.put("cronjobs", cronjob("report", EVERY_5))
    w.run_until(FIRE - 10.0 - 0.001)
    assert not w.made(CreateJob)
    w.run_until(FIRE - 10.0)
    ((at, job),) = w.made(CreateJob)
    assert at == FIRE - 10.0
    assert job.key == f"ns/report-{int(FIRE // 60)}" and job.body["spec"]["managedBy"] == MANAGER
    ((at, pod),) = w.made(CreatePod)
    assert at == FIRE - 10.0  # at once, not at the tick
    assert pod.body["metadata"]["annotations"][START_AT_ANNOTATION] == rfc3339(FIRE)
    assert pod.body["spec"]["schedulerName"] == "colo-batch"
    assert pod.body["metadata"]["ownerReferences"][0]["kind"] == "Job"
    before = len(w.commands)
    w.run_until(FIRE + 1.0)
    assert [c for t, c in w.commands[before:] if t <= FIRE + 1.0] == []  # the tick is quiet
    w.run_until(FIRE + 5.0)
    status = w.get("cronjobs", "ns/report")["status"]
    assert status["lastScheduleTime"] == rfc3339(FIRE)
    assert [a["name"] for a in status["active"]] == [job.key.split("/")[1]]


def test_the_job_completes_when_its_pod_succeeds_and_status_obeys_the_api_rules() -> None:
    w = World()
    w.put("cronjobs", cronjob("report", EVERY_5))
    w.run_until(FIRE)
    (job_key,) = w.keys("jobs")
    (pod_key,) = w.keys("pods")
    w.set_phase(pod_key, "Running")
    w.now = FIRE + 30.0
    w.set_phase(pod_key, "Succeeded")
    w.run_until(FIRE + 60.0)
    status = w.get("jobs", job_key)["status"]
    assert [c["type"] for c in status["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert status["succeeded"] == 1 and status["active"] == 0
    assert status["startTime"] == rfc3339(FIRE)
    assert status["completionTime"] >= status["startTime"]
    cj = w.get("cronjobs", "ns/report")["status"]
    assert "active" not in cj and cj["lastSuccessfulTime"] == rfc3339(FIRE + 30.0)


def test_history_limits_keep_the_newest_finished_jobs() -> None:
    w = World()
    w.put("cronjobs", cronjob("tick", "* * * * *", successfulJobsHistoryLimit=2))
    for minute in range(1, 6):
        fire = T0 + 60.0 * minute
        w.run_until(fire)
        pod = next(k for k in w.keys("pods") if k.endswith("-0") and
                   w.get("pods", k).get("status", {}).get("phase") != "Succeeded")  # fmt: skip
        w.now = fire + 1.0
        w.set_phase(pod, "Succeeded")
    w.run_until(T0 + 330.0)
    kept = w.keys("jobs")
    assert kept == [f"ns/tick-{int((T0 + 60 * m) // 60)}" for m in (4, 5)]
    assert len(w.said("SuccessfulDelete")) == 3
    # the deleted Jobs (their pods went after them, as the garbage collector does) are
    # forgotten: colo-cron's memory does not grow with every run it ever made
    assert w.loop.remembered_jobs() == set(kept)


def test_forbid_skips_a_run_while_the_last_is_active_and_runs_once_it_is_done() -> None:
    w = World()
    w.put("cronjobs", cronjob("slow", EVERY_5, concurrencyPolicy="Forbid"))
    w.run_until(FIRE + 1.0)
    (first,) = w.keys("pods")
    w.set_phase(first, "Running")
    w.run_until(FIRE + 300.0 + 1.0)  # the next run: the first is still running
    assert len(w.keys("jobs")) == 1
    assert w.said("JobAlreadyActive")
    assert w.loop.stats.runs_skipped == 1
    w.set_phase(first, "Succeeded")
    w.run_until(FIRE + 600.0 + 1.0)
    assert len(w.keys("jobs")) == 2


def test_replace_makes_the_new_run_ahead_and_deletes_the_old_one_at_its_second() -> None:
    w = World(CronOptions(lead_s=10.0))
    w.put("cronjobs", cronjob("swap", EVERY_5, concurrencyPolicy="Replace"))
    w.run_until(FIRE + 1.0)
    (old,) = w.keys("jobs")
    w.set_phase(w.keys("pods")[0], "Running")
    w.run_until(FIRE + 300.0 - 10.0)
    assert len(w.keys("jobs")) == 2  # the new one exists, the old one still runs
    assert not w.made(Delete)
    w.run_until(FIRE + 300.0)
    ((at, delete),) = w.made(Delete)
    assert (at, delete.key) == (FIRE + 300.0, old)
    assert w.keys("jobs") == [f"ns/swap-{int((FIRE + 300) // 60)}"]


def test_after_downtime_only_the_most_recent_missed_run_is_made_within_the_deadline() -> None:
    w = World(now=T0 + 3600.0 + 20.0)  # an hour of */5 runs missed
    raw = cronjob("late", EVERY_5, startingDeadlineSeconds=60)
    raw["status"] = {"lastScheduleTime": rfc3339(T0)}
    w.put("cronjobs", raw)
    w.settle()
    ((at, job),) = w.made(CreateJob)
    assert at == T0 + 3620.0 and job.key == f"ns/late-{int((T0 + 3600) // 60)}"
    w2 = World(now=T0 + 3600.0 + 90.0)  # 90 s late: past the deadline, nothing is made
    w2.put("cronjobs", raw | {"metadata": {**raw["metadata"], "uid": "other"}})
    w2.settle()
    assert not w2.made(CreateJob)
    w2.run_until(T0 + 3900.0)  # and the next run comes on time
    assert [t for t, _ in w2.made(CreateJob)] == [T0 + 3900.0 - 10.0]


def test_a_run_someone_else_made_already_is_not_made_again() -> None:
    w = World(CronOptions(lead_s=10.0))
    w.put("cronjobs", cronjob("dup", EVERY_5))
    name = f"ns/dup-{int(FIRE // 60)}"
    meta = {"name": name.split("/")[1], "namespace": "ns",
            "annotations": {SCHEDULED: rfc3339(FIRE)}}  # fmt: skip
    w.put("jobs", {"metadata": meta, "spec": {"template": {"spec": {}}}})
    w.run_until(FIRE + 1.0)
    assert w.made(CreateJob) == []  # in the cache: the name is taken


def test_a_job_that_cannot_be_created_is_reported_and_tried_again() -> None:
    w = World(CronOptions(lead_s=10.0, retry_s=5.0))
    w.put("cronjobs", cronjob("quota", EVERY_5))
    w.fail_creates[f"ns/quota-{int(FIRE // 60)}"] = "exceeded quota: jobs"
    w.run_until(FIRE - 10.0)
    assert w.said("FailedCreate") == ["Error creating job: exceeded quota: jobs; retrying in 5s"]
    w.run_until(FIRE - 5.0)
    assert len(w.keys("jobs")) == 1 and len(w.made(CreateJob)) == 2


def test_a_template_colo_cron_does_not_run_is_made_at_its_second_for_the_stock_controller() -> None:
    w = World(CronOptions(lead_s=10.0))
    raw = cronjob("indexed", EVERY_5)
    raw["spec"]["jobTemplate"]["spec"].update(
        completionMode="Indexed", completions=3, parallelism=3
    )
    w.put("cronjobs", raw)
    w.run_until(FIRE - 1.0)
    assert not w.made(CreateJob)
    w.run_until(FIRE)
    ((at, job),) = w.made(CreateJob)
    assert at == FIRE and "managedBy" not in job.body["spec"]
    assert not w.made(CreatePod)  # kube-controller-manager's Job controller makes them


def test_a_failed_pod_is_replaced_after_back_off_until_the_limit_fails_the_job() -> None:
    w = World()
    raw = cronjob("flaky", EVERY_5)
    raw["spec"]["jobTemplate"]["spec"]["backoffLimit"] = 1
    w.put("cronjobs", raw)
    w.run_until(FIRE)
    (job_key,) = w.keys("jobs")
    w.now = FIRE + 1.0
    w.set_phase(f"{job_key}-0", "Failed")
    assert len(w.made(CreatePod)) == 1  # not at once: back-off
    w.run_until(FIRE + 11.0)  # 10 s after the failure
    assert [c.key for _, c in w.made(CreatePod)][-1] == f"{job_key}-1"
    w.now = FIRE + 12.0
    w.set_phase(f"{job_key}-1", "Failed")
    w.run_until(FIRE + 30.0)
    status = w.get("jobs", job_key)["status"]
    assert [c["type"] for c in status["conditions"]] == ["FailureTarget", "Failed"]
    assert status["conditions"][1]["reason"] == "BackoffLimitExceeded" and status["failed"] == 2


def test_a_bad_schedule_is_reported_and_the_other_cronjobs_keep_firing() -> None:
    w = World()
    w.put("cronjobs", cronjob("bad", "61 * * * *"))
    w.put("cronjobs", cronjob("good", EVERY_5))
    w.run_until(FIRE)
    (message,) = w.said("UnparseableSchedule")
    assert "61" in message
    assert [c.key for _, c in w.made(CreateJob)] == [f"ns/good-{int(FIRE // 60)}"]


def test_a_job_the_stock_controller_made_is_noticed() -> None:
    w = World()
    w.put("cronjobs", cronjob("twice", EVERY_5))
    w.settle()
    uid = w.get("cronjobs", "ns/twice")["metadata"]["uid"]
    owner = {"kind": "CronJob", "name": "twice", "uid": uid, "controller": True}
    meta = {"name": "twice-1", "namespace": "ns", "annotations": {SCHEDULED: rfc3339(T0)},
            "ownerReferences": [owner]}  # fmt: skip
    w.put("jobs", {"metadata": meta, "spec": {"template": {"spec": {}}}})
    w.settle()
    (message,) = w.said("ForeignJob")
    assert "--controllers=*,-cronjob-controller" in message


def test_statuses_are_written_once_per_change_not_on_every_sync() -> None:
    w = World()
    w.put("cronjobs", cronjob("quiet", EVERY_5))
    w.run_until(FIRE + 20.0)
    patches = [c for _, c in w.made(PatchStatus) if c.resource == "cronjobs"]
    assert len(patches) == 1
