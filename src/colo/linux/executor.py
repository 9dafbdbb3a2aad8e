"""The executor: the only code in colo that writes cgroup files.

`Executor.apply(intents)` makes the cgroups hold what the intents say. Its rules:

1. **Only the kubelet's pod tree.** Every intent must name a cgroup at or below
   `kubepods` (`kubepods.slice`), which holds the offline box; otherwise the whole
   batch is refused with InvalidInput before anything is written.
2. **Read first, write what differs, verify.** Each setting's current value is read
   from its file and compared, in the file's own terms (`colo.linux.driver`), with what
   is asked; only a difference is written, and the file is read back after the write.
   No cache of past writes: what the files hold is the state, so an executor that
   starts over (the agent restarted) adopts whatever it finds and changes only what
   differs, and a value someone else changed is put back. A value the kernel did not
   keep (it clamped or rounded it) is a failure, "the kernel kept …".
3. **Parents before children when growing, children before parents when shrinking.**
   For the settings where a child must stay within its parent (CFS quota, cpusets,
   memory limits; v1 refuses a child's quota above its parent's and a cpuset outside
   its parent's), two passes: down the tree, each cgroup gets the *widened* value (the
   larger of old and new; the union of cpusets); then up the tree, the new value.
   Growing is done on the way down, shrinking on the way up, and a cpuset that moves
   (0 → 1) passes through the union. Children the intents do not name are not touched:
   shrinking a parent below them fails (v1: EBUSY) until an intent names them too.
4. **Keep going.** A file that is missing (the kernel lacks it, the controller is not
   mounted or enabled), read-only, or a value the kernel refuses (EINVAL, EBUSY,
   EACCES, …) is reported in `failed` and logged once per (cgroup, file, reason) for
   the executor's lifetime — again only after the same file was set successfully in
   between. A cgroup that vanished (its pod was deleted, even between the read and
   the write) is reported in `gone` and is not an error. The rest is applied.

Within a cgroup, settings go in `colo.linux.driver.KNOB_ORDER` (idle before weight);
reclaims come last, after any new limits.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from colo.core.cgroups import ApplyReport, CgroupIntent, FileChange, Intent, ReclaimIntent
from colo.core.errors import InfrastructureError, InvalidInput
from colo.linux.driver import (
    KNOB_ORDER,
    Ask,
    Driver,
    FileWrite,
    Knob,
    Value,
    asks,
    hint,
    show,
    widen,
)
from colo.linux.files import Gone, errno_name
from colo.linux.layout import Controller, governed

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Plan:
    """One setting to change: where it stands (`current`, kept up to date as writes
    land) and where it must end (`desired`)."""

    cgroup: PurePosixPath
    knob: Knob
    current: Value
    desired: Value
    failed: bool = False


class Executor:
    """Applies intents through one version's driver. Holds no state about the cgroups
    (rule 2), only which failures it has logged."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self._logged: dict[tuple[PurePosixPath, str], set[str]] = {}

    def apply(self, intents: Sequence[Intent]) -> ApplyReport:
        for intent in intents:
            if not governed(intent.cgroup):
                raise InvalidInput(
                    "colo writes only the kubelet's pod tree",
                    obj=f"intent for cgroup {intent.cgroup}",
                    field="cgroup",
                    value=str(intent.cgroup),
                    expected="a cgroup at or below kubepods (cgroupfs driver) or "
                    "kubepods.slice (systemd driver)",
                )
        return _Apply(self, intents).run()

    # --- logging once ----------------------------------------------------------------
    def _note_failure(self, change: FileChange, code: str) -> None:
        seen = self._logged.setdefault((change.cgroup, change.file), set())
        if code in seen:
            return
        seen.add(code)
        log.warning(
            "cannot set %s of cgroup %s (%s) to %r: %s",
            change.knob, change.cgroup, change.file, change.value, change.reason,
        )  # fmt: skip

    def _note_success(self, cgroup: PurePosixPath, file: str) -> None:
        self._logged.pop((cgroup, file), None)

    def _note_gone(self, cgroup: PurePosixPath) -> None:
        log.debug("cgroup %s is gone", cgroup)
        for key in [k for k in self._logged if k[0] == cgroup or cgroup in k[0].parents]:
            del self._logged[key]


class _Apply:
    """One `apply`: its plans and what became of them."""

    def __init__(self, executor: Executor, intents: Sequence[Intent]) -> None:
        self.executor = executor
        self.driver = executor.driver
        self.intents = intents
        self.written: list[FileChange] = []
        self.unchanged: list[FileChange] = []
        self.failed: list[FileChange] = []
        self.gone: list[PurePosixPath] = []

    def run(self) -> ApplyReport:
        settings: dict[tuple[PurePosixPath, Knob], Ask] = {}
        reclaims: list[ReclaimIntent] = []
        for intent in self.intents:
            if isinstance(intent, CgroupIntent):
                for knob, ask in asks(intent):
                    settings.pop((intent.cgroup, knob), None)  # the later one, in its place
                    settings[(intent.cgroup, knob)] = ask
            else:
                reclaims.append(intent)
        planned = (self._plan(cgroup, knob, ask) for (cgroup, knob), ask in settings.items())
        plans = [p for p in planned if p is not None]
        ordered = [p for p in plans if p.knob.hierarchical]
        for p in sorted(ordered, key=lambda p: len(p.cgroup.parts)):  # down: widen
            wide = widen(p.knob, p.current, p.desired)
            if wide != p.current:
                self._set(p, wide)
        for p in sorted(ordered, key=lambda p: -len(p.cgroup.parts)):  # up: narrow
            if p.current != p.desired:
                self._set(p, p.desired)
        others = [p for p in plans if not p.knob.hierarchical]
        for p in sorted(others, key=lambda p: KNOB_ORDER.index(p.knob.name)):
            self._set(p, p.desired)
        for r in reclaims:
            self._reclaim(r)
        return ApplyReport(
            tuple(self.written), tuple(self.unchanged), tuple(self.failed), tuple(self.gone)
        )

    def _is_gone(self, cgroup: PurePosixPath) -> bool:
        return any(g == cgroup or g in cgroup.parents for g in self.gone)

    def _plan(self, cgroup: PurePosixPath, knob: Knob, ask: Ask) -> _Plan | None:
        if self._is_gone(cgroup):
            return None
        file = self.driver.file(knob)
        try:
            current = self.driver.read(cgroup, knob)
        except OSError as e:
            self._fault(cgroup, knob, file, "", e, reading=True)
            return None
        except ValueError as e:
            self._fail(FileChange(cgroup, knob.label, file, "", f"unreadable: {e}"), "unreadable")
            return None
        desired = self.driver.desired(knob, ask, current)
        if desired == current:
            self.unchanged.append(FileChange(cgroup, knob.label, file, show(current)))
            return None
        return _Plan(cgroup, knob, current, desired)

    def _set(self, plan: _Plan, value: Value) -> None:
        if plan.failed or self._is_gone(plan.cgroup):
            return
        writes = self.driver.render(plan.cgroup, plan.knob, plan.current, value)
        for done, w in enumerate(writes):
            if not self._write(plan.cgroup, plan.knob, w):
                plan.failed = True
                if done and not self._is_gone(plan.cgroup):
                    self._restore(plan)
                return
        try:
            now = self.driver.read(plan.cgroup, plan.knob)
        except OSError as e:
            plan.failed = True
            file = self.driver.file(plan.knob)
            self._fault(plan.cgroup, plan.knob, file, show(value), e, reading=True)
            return
        plan.current = now
        if now == value:
            for w in writes:
                self.executor._note_success(plan.cgroup, w.path.name)
        else:
            plan.failed = True
            change = FileChange(
                plan.cgroup, plan.knob.label, writes[-1].path.name, show(value),
                f"the kernel kept {show(now)}",
            )  # fmt: skip
            self._fail(change, "not kept")

    def _restore(self, plan: _Plan) -> None:
        """Put back the value a multi-write change started from (v1's period change
        lifts the quota first) after a later write of it failed; best effort, and what
        it writes (or fails to) is reported like any write."""
        try:
            now = self.driver.read(plan.cgroup, plan.knob)
        except OSError as e:
            log.warning("cannot restore %s of cgroup %s: %s", plan.knob.label, plan.cgroup, e)
            return
        for w in self.driver.render(plan.cgroup, plan.knob, now, plan.current):
            if not self._write(plan.cgroup, plan.knob, w):
                return

    def _write(self, cgroup: PurePosixPath, knob: Knob, w: FileWrite) -> bool:
        try:
            self.driver.files.write(w.path, w.text)
        except OSError as e:
            self._fault(cgroup, knob, w.path.name, w.text, e)
            return False
        self.written.append(FileChange(cgroup, knob.label, w.path.name, w.text))
        return True

    def _reclaim(self, intent: ReclaimIntent) -> None:
        cgroup = intent.cgroup
        if self._is_gone(cgroup):
            return
        try:
            writes = self.driver.reclaim(cgroup, intent.bytes)
        except Gone as e:
            if self.driver.exists(cgroup, "memory"):  # there, but without memory.stat
                why = f"missing: {self.driver.missing(cgroup, Knob('memory_limit'))}"
                self._fail(
                    FileChange(cgroup, "reclaim", str(e).rpartition("/")[2], "", why), "missing"
                )
            else:
                self._gone(cgroup)
            return
        except InfrastructureError as e:
            self._fail(FileChange(cgroup, "reclaim", "memory.stat", "", str(e)), "unreadable")
            return
        if not writes:
            self.unchanged.append(FileChange(cgroup, "reclaim", "memory.reclaim", "0"))
        for w in writes:
            try:
                self.driver.files.write(w.path, w.text)
            except OSError as e:
                self._fault(cgroup, None, w.path.name, w.text, e)
                return
            self.written.append(FileChange(cgroup, "reclaim", w.path.name, w.text))
            self.executor._note_success(cgroup, w.path.name)

    # --- failures --------------------------------------------------------------------
    def _fault(
        self,
        cgroup: PurePosixPath,
        knob: Knob | None,
        file: str,
        value: str,
        e: OSError,
        *,
        reading: bool = False,
    ) -> None:
        controller: Controller = knob.controller if knob is not None else "memory"
        mounted = self.driver.dir(controller, cgroup) is not None
        if mounted and not self.driver.exists(cgroup, controller):
            self._gone(cgroup)
            return
        label = knob.label if knob is not None else "reclaim"
        if e.errno == errno.ENOENT:
            missing = (
                self.driver.missing(cgroup, knob)
                if knob is not None
                else f"the kernel has no {file}"
            )
            self._fail(FileChange(cgroup, label, file, value, f"missing: {missing}"), "missing")
            return
        code = errno_name(e.errno)
        why = f"{code} ({e.strerror or e})"
        if reading:
            why = f"cannot read: {why}"
        elif extra := hint(file, e.errno):
            why = f"{why}: {extra}"
        self._fail(FileChange(cgroup, label, file, value, why), code)

    def _fail(self, change: FileChange, code: str) -> None:
        self.failed.append(change)
        self.executor._note_failure(change, code)

    def _gone(self, cgroup: PurePosixPath) -> None:
        if not self._is_gone(cgroup):
            self.gone.append(cgroup)
            self.executor._note_gone(cgroup)
