"""colo-cron's views of `batch/v1` CronJobs and Jobs, read from their JSON.

A view holds the facts the decisions read (`colo.cron.objects.CronJob`/`Job`) and what the
controller needs besides: uids, the Job template, a Job's owner, `spec.managedBy`, its
pod counts and conditions. Reading never fails on what colo does not use; a field colo
needs in the wrong shape raises `InvalidInput` naming the object and the field, and the
driver skips that object (counting it) instead of stopping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from colo.core.errors import InvalidInput
from colo.cron.naming import SCHEDULED_TIMESTAMP_ANNOTATION
from colo.cron.objects import ConcurrencyPolicy, CronJob, Job, JobFinish, JobRef

Raw = Mapping[str, Any]

CREATED_BY_ANNOTATION = "colo.io/created-by"
CREATED_BY = "colo-cron"


def _time(text: object, obj: str, path: str) -> datetime | None:
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise InvalidInput("not a time", obj=obj, field=path, value=text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            "not an RFC 3339 time", obj=obj, field=path, value=text,
            expected="e.g. 2026-01-02T03:04:05Z",
        ) from None  # fmt: skip
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _map(raw: Raw, key: str, obj: str, path: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("must be an object", obj=obj, field=f"{path}{key}", value=value)
    return value


def _int(raw: Raw, key: str, obj: str, path: str, default: int | None) -> int | None:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("must be an integer", obj=obj, field=f"{path}{key}", value=value)
    return value


def _controller(meta: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(kind, name, uid) of the controller owner, if any."""
    for ref in meta.get("ownerReferences") or ():
        if isinstance(ref, Mapping) and ref.get("controller"):
            return str(ref.get("kind", "")), str(ref.get("name", "")), str(ref.get("uid", ""))
    return None


@dataclass(frozen=True)
class CronJobView:
    """A CronJob: its facts, uid and Job template."""

    uid: str
    facts: CronJob
    job_template: Mapping[str, Any]
    last_successful_time: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.facts.namespace}/{self.facts.name}"

    @classmethod
    def from_k8s(cls, raw: Raw) -> CronJobView:
        meta = raw.get("metadata") or {}
        namespace, name = str(meta.get("namespace", "default")), str(meta.get("name", ""))
        obj = f"cronjob {namespace}/{name}"
        spec, status = _map(raw, "spec", obj, ""), _map(raw, "status", obj, "")
        created = _time(meta.get("creationTimestamp"), obj, "metadata.creationTimestamp")
        schedule = spec.get("schedule")
        if not isinstance(schedule, str):
            raise InvalidInput("missing", obj=obj, field="spec.schedule", value=schedule)
        policy = spec.get("concurrencyPolicy") or "Allow"
        try:
            concurrency = ConcurrencyPolicy(policy)
        except ValueError:
            raise InvalidInput(
                "unknown policy", obj=obj, field="spec.concurrencyPolicy", value=policy,
                expected="Allow, Forbid, Replace",
            ) from None  # fmt: skip
        active = tuple(
            JobRef(
                str(a.get("namespace", namespace)), str(a.get("name", "")), str(a.get("uid", ""))
            )
            for a in status.get("active") or ()
            if isinstance(a, Mapping)
        )
        zone = spec.get("timeZone")
        facts = CronJob(
            namespace=namespace,
            name=name,
            schedule=schedule,
            creation_timestamp=created or datetime.fromtimestamp(0, UTC),
            time_zone=zone if isinstance(zone, str) else None,
            suspend=bool(spec.get("suspend")),
            concurrency_policy=concurrency,
            starting_deadline_seconds=_int(spec, "startingDeadlineSeconds", obj, "spec.", None),
            successful_jobs_history_limit=_int(spec, "successfulJobsHistoryLimit", obj, "spec.", 3),
            failed_jobs_history_limit=_int(spec, "failedJobsHistoryLimit", obj, "spec.", 1),
            last_schedule_time=_time(
                status.get("lastScheduleTime"), obj, "status.lastScheduleTime"
            ),
            active=active,
            deleting=bool(meta.get("deletionTimestamp")),
        )
        return cls(
            uid=str(meta.get("uid", "")),
            facts=facts,
            job_template=_map(spec, "jobTemplate", obj, "spec."),
            last_successful_time=_time(
                status.get("lastSuccessfulTime"), obj, "status.lastSuccessfulTime"
            ),
        )


@dataclass(frozen=True)
class JobView:
    """A Job: its facts, owner, who manages it, and its pod counts."""

    namespace: str
    name: str
    uid: str
    owner: tuple[str, str, str] | None
    """(kind, name, uid) of its controller owner."""
    managed_by: str
    """`spec.managedBy` ("" when unset: kube-controller-manager's Job controller)."""
    scheduled: datetime | None
    start_time: datetime | None
    completion_time: datetime | None
    finished: JobFinish | None
    parallelism: int
    completions: int
    backoff_limit: int
    active_deadline_s: int | None
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    conditions: tuple[str, ...] = ()
    """Types of the conditions that are True."""
    template: Mapping[str, Any] = field(default_factory=dict)
    deleting: bool = False
    made_by_colo: bool = False
    """Carries colo-cron's `colo.io/created-by` annotation."""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def ref(self) -> JobRef:
        return JobRef(self.namespace, self.name, self.uid)

    @property
    def facts(self) -> Job:
        return Job(self.namespace, self.name, self.uid, self.start_time, self.finished)

    @classmethod
    def from_k8s(cls, raw: Raw) -> JobView:
        meta = raw.get("metadata") or {}
        namespace, name = str(meta.get("namespace", "default")), str(meta.get("name", ""))
        obj = f"job {namespace}/{name}"
        spec, status = _map(raw, "spec", obj, ""), _map(raw, "status", obj, "")
        true = tuple(
            str(c.get("type"))
            for c in status.get("conditions") or ()
            if isinstance(c, Mapping) and c.get("status") == "True"
        )
        finished = (
            JobFinish.COMPLETE
            if "Complete" in true
            else JobFinish.FAILED
            if "Failed" in true
            else None
        )
        parallelism = _int(spec, "parallelism", obj, "spec.", 1)
        completions = _int(spec, "completions", obj, "spec.", None)
        annotations = meta.get("annotations") or {}
        return cls(
            namespace=namespace,
            name=name,
            uid=str(meta.get("uid", "")),
            owner=_controller(meta),
            managed_by=str(spec.get("managedBy") or ""),
            scheduled=_time(
                annotations.get(SCHEDULED_TIMESTAMP_ANNOTATION),
                obj,
                f"metadata.annotations[{SCHEDULED_TIMESTAMP_ANNOTATION}]",
            ),
            start_time=_time(status.get("startTime"), obj, "status.startTime"),
            completion_time=_time(status.get("completionTime"), obj, "status.completionTime"),
            finished=finished,
            parallelism=1 if parallelism is None else parallelism,
            # Kubernetes: unset completions with unset parallelism is one completion
            completions=completions if completions is not None else (parallelism or 1),
            backoff_limit=_int(spec, "backoffLimit", obj, "spec.", 6) or 0,
            active_deadline_s=_int(spec, "activeDeadlineSeconds", obj, "spec.", None),
            active=_int(status, "active", obj, "status.", 0) or 0,
            succeeded=_int(status, "succeeded", obj, "status.", 0) or 0,
            failed=_int(status, "failed", obj, "status.", 0) or 0,
            conditions=true,
            template=_map(spec, "template", obj, "spec."),
            deleting=bool(meta.get("deletionTimestamp")),
            made_by_colo=annotations.get(CREATED_BY_ANNOTATION) == CREATED_BY,
        )
