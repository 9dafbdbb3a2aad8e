"""What goes into colo-cron's loop (`colo.cron.loop.CronLoop`) and what comes out.

Events: a change the watch showed (`Seen`: a CronJob, a Job or a pod), the time the loop
asked to be woken at (`TimerDue`), and the answers of its writes (`Created`,
`CreateFailed`, `WriteFailed`). Commands: the API writes it wants (`CreateJob`,
`CreatePod`, `Delete`, `PatchStatus`) and the Events it records (`Record`). A driver
executes each command and reports the outcome as an event, whenever it comes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from colo.core.changes import ChangeKind, EventType
from colo.core.objects import Pod
from colo.cron.resources import CronJobView, JobView

Resource = Literal["cronjobs", "jobs", "pods"]

# --- events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seen:
    """A watch event: a CronJob, a Job or a pod changed (DELETED: it is gone)."""

    kind: ChangeKind
    obj: CronJobView | JobView | Pod


@dataclass(frozen=True, slots=True)
class TimerDue:
    """`CronLoop.timer_at()` has come."""


@dataclass(frozen=True, slots=True)
class Created:
    """A create succeeded; `obj` is what the API server returned (its uid, its defaults)."""

    resource: Resource
    key: str
    obj: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CreateFailed:
    """A create failed. `exists`: the name is taken (a previous attempt, another leader,
    or another controller got there first) — not a failure of the run."""

    resource: Resource
    key: str
    error: str
    exists: bool = False


@dataclass(frozen=True, slots=True)
class WriteFailed:
    """A status patch or a delete failed (retried at the next sync of the object)."""

    resource: Resource
    key: str
    error: str


Event = Seen | TimerDue | Created | CreateFailed | WriteFailed

# --- commands -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateJob:
    """Create this Job (answer `Created`/`CreateFailed` with resource "jobs")."""

    key: str
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CreatePod:
    """Create this pod (answer `Created`/`CreateFailed` with resource "pods")."""

    key: str
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete a Job (its pods with it: propagation Background) or a pod, if its uid is
    still `uid` (answer `WriteFailed` on failure; gone already is success)."""

    resource: Resource
    key: str
    uid: str


@dataclass(frozen=True, slots=True)
class PatchStatus:
    """Merge-patch the status subresource of a CronJob or a Job."""

    resource: Resource
    key: str
    status: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Record:
    """Record a Kubernetes Event on a CronJob or a Job."""

    kind: Literal["CronJob", "Job"]
    key: str
    type: EventType
    reason: str
    message: str
    uid: str = ""


Command = CreateJob | CreatePod | Delete | PatchStatus | Record
