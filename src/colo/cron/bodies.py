"""The objects colo-cron creates: a run's Job, made from its CronJob's template, and the
Job's pods, made from the Job's template.

The Job is what kube-controller-manager's CronJob controller makes (`getJobFromTemplate2`:
the template's labels and annotations, the scheduled-timestamp annotation, a controller
reference to the CronJob, the name of the scheduled time), plus `spec.managedBy` when
colo-cron runs it: the built-in Job controller then leaves it alone (Kubernetes 1.35,
`JobManagedBy` GA) and colo-cron makes its pods ahead of the schedule, with
`colo.io/start-at` so colo-batch binds them at the scheduled second. A template colo-cron
does not run itself (`unmanageable`) gets a plain Job that the built-in controller runs.

Pods are named `<job>-<n>` in the order they are made, so a retried or repeated create
meets `AlreadyExists` instead of running twice.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from colo.core.objects import START_AT_ANNOTATION
from colo.cron.naming import SCHEDULED_TIMESTAMP_ANNOTATION
from colo.cron.resources import CREATED_BY, CREATED_BY_ANNOTATION, CronJobView, JobView

#: `spec.managedBy` of the Jobs colo-cron runs itself.
MANAGER = "colo.io/cron"
#: The labels Kubernetes' Job controller puts on a Job's pods (both generations).
JOB_LABELS = ("batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name",
              "controller-uid", "job-name")  # fmt: skip
STOCK_SCHEDULERS = ("", "default-scheduler")


def unmanageable(job_spec: Mapping[str, Any], scheduler: str) -> str:
    """Why colo-cron leaves a Job with this spec to the built-in Job controller ("": it
    does not): features colo-cron's own Job handling does not implement."""
    if job_spec.get("managedBy") not in (None, "", MANAGER):
        return f"spec.managedBy is {job_spec.get('managedBy')!r}"
    if (job_spec.get("completionMode") or "NonIndexed") != "NonIndexed":
        return "Indexed completion mode"
    for key in ("podFailurePolicy", "successPolicy", "backoffLimitPerIndex"):
        if job_spec.get(key) is not None:
            return f"spec.{key}"
    if job_spec.get("suspend"):
        return "spec.suspend"
    pod_spec = (job_spec.get("template") or {}).get("spec") or {}
    if pod_spec.get("schedulerName") not in (None, *STOCK_SCHEDULERS, scheduler):
        return f"spec.template.spec.schedulerName is {pod_spec.get('schedulerName')!r}"
    return ""


def job_body(cronjob: CronJobView, name: str, timestamp: str, *, managed: bool) -> dict[str, Any]:
    """The Job of one run of `cronjob` (`timestamp`: the scheduled-timestamp annotation)."""
    template = cronjob.job_template
    meta = template.get("metadata") or {}
    spec = copy.deepcopy(dict(template.get("spec") or {}))
    if managed:
        spec["managedBy"] = MANAGER
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": cronjob.facts.namespace,
            "labels": dict(meta.get("labels") or {}),
            "annotations": {
                **dict(meta.get("annotations") or {}),
                SCHEDULED_TIMESTAMP_ANNOTATION: timestamp,
                CREATED_BY_ANNOTATION: CREATED_BY,
            },
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": cronjob.facts.name,
                    "uid": cronjob.uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
    }


def pod_name(job: str, n: int) -> str:
    return f"{job}-{n}"


def pod_body(job: JobView, n: int, *, start_at: str, scheduler: str) -> dict[str, Any]:
    """Pod `n` of `job` (its template as the API server completed it, with the Job's
    selector labels), to be bound no earlier than `start_at` (RFC 3339) by `scheduler`."""
    template = job.template
    meta = template.get("metadata") or {}
    spec = copy.deepcopy(dict(template.get("spec") or {}))
    if spec.get("schedulerName") in (None, *STOCK_SCHEDULERS):
        spec["schedulerName"] = scheduler
    labels = dict(meta.get("labels") or {})
    for key in JOB_LABELS:  # the API server set them on the template; keep them certain
        labels[key] = job.uid if key.endswith("controller-uid") else job.name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(job.name, n),
            "namespace": job.namespace,
            "labels": labels,
            "annotations": {**dict(meta.get("annotations") or {}), START_AT_ANNOTATION: start_at},
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": job.name,
                    "uid": job.uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": spec,
    }
