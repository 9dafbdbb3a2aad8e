"""Lease leader election against the in-memory API, with a hand-driven monotonic clock."""

from __future__ import annotations

import asyncio

import pytest
from kubefakes import FakeApi

from colo.kube.leader import LeaderElector, LeadershipLost

LEASE = "/apis/coordination.k8s.io/v1/namespaces/colo-system/leases/colo-batch"


def elector(
    api: FakeApi, who: str, clock: list[float], *, renew_deadline_s: float = 6.0
) -> LeaderElector:
    return LeaderElector(
        api,
        namespace="colo-system",
        name="colo-batch",
        identity=who,
        lease_duration_s=10.0,
        renew_deadline_s=renew_deadline_s,
        retry_period_s=0.01,
        monotonic=lambda: clock[0],
    )


def test_the_first_candidate_creates_the_lease_and_others_wait_until_it_expires() -> None:
    async def body() -> None:
        api, clock = FakeApi(), [100.0]
        a, b = elector(api, "a", clock), elector(api, "b", clock)
        assert await a.try_acquire_or_renew()
        assert api.objects[LEASE]["spec"]["holderIdentity"] == "a"
        assert not await b.try_acquire_or_renew()  # b observes a's record now (t=100)
        clock[0] = 105.0
        assert await a.try_acquire_or_renew()  # a renews: the record changes
        clock[0] = 114.0  # 9 s after b could have seen a's renewal: not yet
        assert not await b.try_acquire_or_renew()
        clock[0] = 124.5  # a went silent: 10.5 s since b last saw a change
        assert await b.try_acquire_or_renew()
        spec = api.objects[LEASE]["spec"]
        assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1
        assert not await a.try_acquire_or_renew()  # a sees b's fresh record

    asyncio.run(body())


def test_two_candidates_racing_for_an_expired_lease_get_one_winner() -> None:
    async def body() -> None:
        api, clock = FakeApi(), [0.0]
        a, b, c = (elector(api, x, clock) for x in "abc")
        assert await a.try_acquire_or_renew()
        await b.try_acquire_or_renew()
        await c.try_acquire_or_renew()
        clock[0] = 20.0
        # b and c both read the same expired record; only the first PUT wins (409 for c)
        before = len(api.calls)
        results = await asyncio.gather(b.try_acquire_or_renew(), c.try_acquire_or_renew())
        assert sorted(results) == [False, True]
        assert [m for m, _, _ in api.calls[before:]] == ["GET", "GET", "PUT", "PUT"]

    asyncio.run(body())


def test_release_lets_the_next_candidate_in_without_waiting() -> None:
    async def body() -> None:
        api, clock = FakeApi(), [0.0]
        a, b = elector(api, "a", clock), elector(api, "b", clock)
        await a.acquire()
        assert a.is_leader and not await b.try_acquire_or_renew()
        await a.release()
        assert not a.is_leader
        assert await b.try_acquire_or_renew()  # same instant: no expiry needed

    asyncio.run(body())


def test_run_does_the_work_while_leading_and_releases_at_the_end() -> None:
    async def body() -> None:
        api, clock = FakeApi(), [0.0]
        a = elector(api, "a", clock)
        seen: list[bool] = []

        def puts() -> list[dict[str, object]]:
            return [body for method, _, body in api.calls if method == "PUT"]

        async def work() -> None:
            seen.append(a.is_leader)
            while len(puts()) < 3:  # lead until the lease was renewed three times
                await asyncio.sleep(0.001)

        await asyncio.wait_for(a.run(work), 5)
        assert seen == [True]
        holders = [b["spec"]["holderIdentity"] for b in puts()]  # type: ignore[index]
        # at least three renewals (one more may land before the work's check), then release
        assert holders[-1] is None and len(holders) >= 4 and set(holders[:-1]) == {"a"}
        assert api.objects[LEASE]["spec"]["holderIdentity"] is None

    asyncio.run(body())


def test_a_leader_that_cannot_renew_stops_its_work_before_the_lease_expires() -> None:
    async def body() -> None:
        api, clock = FakeApi(), [0.0]
        a = elector(api, "a", clock)
        cancelled = asyncio.Event()

        async def work() -> None:
            api.down = True  # the API server goes away after we started leading
            try:
                while True:
                    clock[0] += 1.0  # time passes; renewals keep failing
                    await asyncio.sleep(0.005)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        with pytest.raises(LeadershipLost, match="within 6 s"):
            await a.run(work)
        assert cancelled.is_set() and not a.is_leader
        # it gave up after the renew deadline (6 s), before the lease (10 s) ran out
        assert clock[0] < 10.0

    asyncio.run(body())


def test_timings_must_nest() -> None:
    with pytest.raises(ValueError, match="retry_period_s < renew_deadline_s < lease_duration_s"):
        elector(FakeApi(), "a", [0.0], renew_deadline_s=20.0)


@pytest.mark.parametrize(
    ("lease", "renew", "retry"), [(15.0, 10.0, 2.0), (6.0, 4.0, 2.0), (3.0, 2.0, 1.0)]
)
def test_for_lease_derives_the_renew_deadline_and_retry_period_from_the_lease(
    lease: float, renew: float, retry: float
) -> None:
    got = LeaderElector.for_lease(
        FakeApi(), namespace="colo-system", name="colo-batch", identity="a", lease_duration_s=lease
    )
    assert (got.lease_duration_s, got.renew_deadline_s, got.retry_period_s) == (lease, renew, retry)
