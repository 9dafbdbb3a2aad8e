"""colo-cron at simulated time: the real `CronLoop`, driven by the simulator's event loop.

The loop (`colo.cron.loop`) is the one `colo cron serve` runs; this module is only its
driver, the twin of `colo.apps.cron`. Each job of the workload that a CronJob fires (the
wave) is a CronJob here: `job-<n>`, firing daily at its due time, its template asking for
the job's pods. Simulated time reads as unix time (0 is the scenario's start), so the
CronJobs' schedules, the Jobs' scheduled timestamps and the pods' `colo.io/start-at` are
ordinary times the real code parses.

- Events: the CronJobs at the start; the simulated cluster's pod changes (its watch);
  the answers to the loop's commands, at once; the times it asks to be woken at.
- Commands: `CreateJob` keeps the Job (answering as the API server would: a uid and the
  template's selector labels); `CreatePod` makes the pod in the simulated cluster,
  carrying its run (name, Job, start time) so colo-batch binds it at its second; `Delete`
  of a Job forgets it; status patches and Events need no one here (the loop keeps what it
  decided).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from colo.core.changes import ChangeKind, ClusterEvent
from colo.cron import messages as m
from colo.cron.loop import CronLoop, CronOptions
from colo.cron.objects import CronJob
from colo.cron.resources import CronJobView, JobView
from colo.sim.cluster import OFFLINE_NAMESPACE, SimCluster
from colo.sim.engine import PRIO_CONTROL, EventLoop
from colo.sim.state import CronRun

EPOCH = datetime.fromtimestamp(0, UTC)


def daily_at(t_s: float) -> str:
    """The cron schedule of a run due at simulated time `t_s`, every day."""
    at = datetime.fromtimestamp(t_s, UTC)
    return f"{at.minute} {at.hour} * * *"


class SimCronController:
    """colo-cron over the workload's CronJob-fired jobs of one simulated cluster."""

    def __init__(self, cluster: SimCluster, loop: EventLoop, *, lead_s: float) -> None:
        self.cluster = cluster
        self.loop = loop
        self.engine = CronLoop(
            CronOptions(lead_s=lead_s, scheduler_name=cluster.pod_view_scheduler())
        )
        jobs = cluster.workload.jobs
        self.cron_jobs = [int(j) for j in (jobs.cron).nonzero()[0]]
        self._uids = 0
        self._timer_event_at: float | None = None
        self._run_names: dict[str, int] = {}  # run Job name -> workload job
        self.events = 0  # Events the loop recorded (nobody reads them here)
        cluster.subscribe(self._changed)

    def start(self) -> None:
        """Make the CronJobs (at simulated time 0)."""
        jobs = self.cluster.workload.jobs
        for j in self.cron_jobs:
            self.handle(m.Seen(ChangeKind.ADDED, self._cronjob(j, float(jobs.arrival_s[j]))))

    def _cronjob(self, j: int, due_s: float) -> CronJobView:
        jobs = self.cluster.workload.jobs
        pods = int(jobs.pods[j])
        facts = CronJob(
            namespace=OFFLINE_NAMESPACE, name=f"job-{j}", schedule=daily_at(due_s),
            creation_timestamp=EPOCH,
        )  # fmt: skip
        template = {"spec": {"parallelism": pods, "completions": pods,
                             "template": {"spec": {"restartPolicy": "Never"}}}}  # fmt: skip
        return CronJobView(uid=f"cronjob-{j}", facts=facts, job_template=template)

    # --- feeding the loop ---------------------------------------------------------------
    def _changed(self, event: ClusterEvent) -> None:
        pod = event.pod
        if pod is not None and pod.owner_name in self._run_names:
            self.handle(m.Seen(event.kind, pod))

    def handle(self, event: m.Event) -> None:
        now = self.loop.now()
        commands = self.engine.handle(event, now)
        self._wakeup()
        for command in commands:
            self._execute(command, now)
        self.engine.stats.lateness_s.clear()  # the simulator measures waits itself

    def _wakeup(self) -> None:
        at = self.engine.timer_at()
        if at is not None and (self._timer_event_at is None or at < self._timer_event_at):
            self._timer_event_at = at
            self.loop.schedule(at, self._timer_due, priority=PRIO_CONTROL)

    def _timer_due(self) -> None:
        now = self.loop.now()
        if self._timer_event_at != now:
            return
        self._timer_event_at = None
        at = self.engine.timer_at()
        if at is not None and at <= now:
            self.handle(m.TimerDue())
        else:
            self._wakeup()

    # --- executing its commands -----------------------------------------------------------
    def _execute(self, command: m.Command, now: float) -> None:
        if isinstance(command, m.CreateJob):
            raw = copy.deepcopy(dict(command.body))
            self._uids += 1
            uid = f"run-{self._uids}"
            raw["metadata"]["uid"] = uid
            name = raw["metadata"]["name"]
            template = raw["spec"].setdefault("template", {}).setdefault("metadata", {})
            template.setdefault("labels", {}).update(
                {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name}
            )
            owner = raw["metadata"]["ownerReferences"][0]["name"]  # job-<n>
            self._run_names[name] = int(owner.rsplit("-", 1)[1])
            self.handle(m.Created("jobs", command.key, raw))
        elif isinstance(command, m.CreatePod):
            self._create_pod(command)
        elif isinstance(command, m.Delete) and command.resource == "jobs":
            ns, name = command.key.split("/", 1)
            self._run_names.pop(name, None)
            gone = JobView(ns, name, command.uid, None, "", None, None, None, None, 1, 1, 6, None)
            self.handle(m.Seen(ChangeKind.DELETED, gone))
        elif isinstance(command, m.Record):
            self.events += 1
        # PatchStatus: no API objects here; the loop keeps what it decided

    def _create_pod(self, command: m.CreatePod) -> None:
        meta: dict[str, Any] = dict(command.body["metadata"])
        job_name = meta["ownerReferences"][0]["name"]
        j = self._run_names[job_name]
        jobs = self.cluster.workload.jobs
        start = meta["annotations"]["colo.io/start-at"]
        start_s = datetime.fromisoformat(start).timestamp()
        index = int(meta["name"].rsplit("-", 1)[1])
        self.cluster.create_pod(
            job=j,
            slot=index % int(jobs.pods[j]),
            cpu_milli=int(jobs.cpu_milli[j]),
            memory_bytes=int(jobs.memory_bytes[j]),
            duration_s=float(jobs.duration_s[j]),
            due_s=start_s,
            cron=True,
            run=CronRun(pod=meta["name"], job=job_name, start_at_s=start_s),
        )
