"""Lease-based leader election (coordination.k8s.io/v1), the way client-go does it.

One Lease names the leader (`holderIdentity`) and how long its claim lasts
(`leaseDurationSeconds`). Candidates poll every `retry_period_s`:

- a lease with no holder, or whose record has not changed for `lease_duration_s` *as
  seen by this candidate's own monotonic clock*, may be taken: write ourselves in with
  the resourceVersion we read, so of two candidates racing only one succeeds (409);
- the leader renews every `retry_period_s`; if it cannot renew for `renew_deadline_s`
  it stops leading (cancels the work) before anyone else may take over, because
  `renew_deadline_s < lease_duration_s`.

Comparing against the local observation time instead of the timestamps in the lease
keeps clock skew between machines out of the decision. A leader that stops cleanly
releases the lease (empty holder) so the next one takes over at once; one that dies
is replaced within `lease_duration_s` plus polling granularity.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from colo.core.errors import ColoError, Conflict, InfrastructureError, NotFound
from colo.kube.times import micro_time
from colo.ports.api import Api

log = logging.getLogger(__name__)


class LeadershipLost(InfrastructureError):
    """The lease could not be renewed within the renew deadline."""


class LeaderElector:
    def __init__(
        self,
        api: Api,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_duration_s: float = 15.0,
        renew_deadline_s: float = 10.0,
        retry_period_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not identity:
            raise ValueError("leader election needs a non-empty identity")
        if not (0 < retry_period_s < renew_deadline_s < lease_duration_s):
            raise ValueError(
                "leader election needs 0 < retry_period_s < renew_deadline_s < lease_duration_s,"
                f" got {retry_period_s}, {renew_deadline_s}, {lease_duration_s}"
            )
        self._api = api
        self._path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_duration_s = lease_duration_s
        self.renew_deadline_s = renew_deadline_s
        self.retry_period_s = retry_period_s
        self._mono = monotonic
        self._wall = wall
        self._observed: dict[str, Any] | None = None  # last lease spec we saw
        self._observed_at = 0.0
        self.is_leader = False
        self.transitions_seen = 0

    @classmethod
    def for_lease(
        cls, api: Api, *, namespace: str, name: str, identity: str, lease_duration_s: float
    ) -> LeaderElector:
        """As colo's processes elect: renew deadline ⅔ of the lease, retry period half the
        deadline but at most 2 s (client-go's 15 s / 10 s / 2 s for a 15 s lease). A dead
        leader is replaced after about `lease_duration_s` plus one retry period."""
        renew = lease_duration_s * 2 / 3
        return cls(
            api, namespace=namespace, name=name, identity=identity,
            lease_duration_s=lease_duration_s, renew_deadline_s=renew,
            retry_period_s=min(2.0, renew / 2),
        )  # fmt: skip

    # --- one attempt --------------------------------------------------------------
    def _spec(self, previous: dict[str, Any] | None) -> dict[str, Any]:
        now = micro_time(self._wall())
        prev = previous or {}
        ours = prev.get("holderIdentity") == self.identity
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(self.lease_duration_s)),
            "acquireTime": prev.get("acquireTime") if ours else now,
            "renewTime": now,
            "leaseTransitions": int(prev.get("leaseTransitions") or 0) + (0 if ours else 1),
        }

    async def try_acquire_or_renew(self) -> bool:
        """One round: True if we hold the lease afterwards."""
        try:
            lease = await self._api.request("GET", f"{self._path}/{self.name}")
        except NotFound:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": {**self._spec(None), "leaseTransitions": 0},
            }
            try:
                created = await self._api.request("POST", self._path, body=body)
            except Conflict:
                return False  # another candidate created it first
            self._observe(created)
            return True
        spec = lease.get("spec") or {}
        self._observe(lease)
        holder = spec.get("holderIdentity") or ""
        if holder and holder != self.identity:
            expired = self._mono() - self._observed_at >= self.lease_duration_s
            if not expired:
                return False
        lease["spec"] = self._spec(spec)
        try:
            updated = await self._api.request("PUT", f"{self._path}/{self.name}", body=lease)
        except Conflict:
            return False  # it changed under us: someone renewed or took it
        if holder != self.identity:
            self.transitions_seen += 1
        self._observe(updated)
        return True

    def _observe(self, lease: dict[str, Any]) -> None:
        spec = lease.get("spec") or {}
        if spec != self._observed:
            self._observed = dict(spec)
            self._observed_at = self._mono()

    @property
    def holder(self) -> str:
        return str((self._observed or {}).get("holderIdentity") or "")

    # --- the loop -----------------------------------------------------------------
    async def acquire(self) -> None:
        """Poll until we hold the lease."""
        while True:
            try:
                if await self.try_acquire_or_renew():
                    self.is_leader = True
                    log.info("%s: now leading %s/%s", self.identity, self.namespace, self.name)
                    return
            except ColoError as e:
                log.warning("%s: leader election attempt failed: %s", self.identity, e)
            await asyncio.sleep(self.retry_period_s)

    async def _renew_until_lost(self) -> None:
        last_ok = self._mono()
        while True:
            await asyncio.sleep(self.retry_period_s)
            left = self.renew_deadline_s - (self._mono() - last_ok)
            try:
                ok = await asyncio.wait_for(self.try_acquire_or_renew(), timeout=max(0.01, left))
            except ColoError as e:
                log.warning("%s: lease renewal failed: %s", self.identity, e)
                ok = False
            except TimeoutError:
                log.warning("%s: lease renewal got no answer within %.1f s", self.identity, left)
                ok = False
            if ok:
                last_ok = self._mono()
            elif self._mono() - last_ok >= self.renew_deadline_s:
                self.is_leader = False
                raise LeadershipLost(
                    f"{self.identity} could not renew lease {self.namespace}/{self.name} "
                    f"within {self.renew_deadline_s:g} s"
                )

    async def release(self) -> None:
        """Give the lease up (empty holder) so a successor need not wait for it to expire."""
        if not self.is_leader:
            return
        self.is_leader = False
        try:
            lease = await self._api.request("GET", f"{self._path}/{self.name}")
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"] = {
                **lease["spec"],
                "holderIdentity": None,
                "leaseDurationSeconds": 1,
                "renewTime": micro_time(self._wall()),
            }
            await self._api.request("PUT", f"{self._path}/{self.name}", body=lease)
        except ColoError as e:
            log.warning("%s: could not release the lease: %s", self.identity, e)

    async def run(self, lead: Callable[[], Awaitable[None]]) -> None:
        """Campaign, then run `lead()` while leading.

        Returns when `lead()` returns (the lease is released). Raises `LeadershipLost`
        after cancelling `lead()` if renewal fails; the caller should exit, as
        Kubernetes components do. Cancelling `run` cancels `lead()` and releases.
        """
        await self.acquire()
        work = asyncio.ensure_future(lead())
        renew = asyncio.ensure_future(self._renew_until_lost())
        try:
            done, _ = await asyncio.wait({work, renew}, return_when=asyncio.FIRST_COMPLETED)
            if renew in done:
                work.cancel()
                await asyncio.gather(work, return_exceptions=True)
                renew.result()  # raises LeadershipLost
            await work
        finally:
            for t in (work, renew):
                t.cancel()
            await asyncio.gather(work, renew, return_exceptions=True)
            await asyncio.shield(self.release())
