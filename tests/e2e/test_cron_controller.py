"""colo-cron end to end: `colo cron serve` (two of them, leader-elected) and
`colo batch serve` against the real API server with kwok nodes, and kube-controller-
manager running without its CronJob controller (tests/e2e/conftest.py).

One module, one clock: every CronJob is made at the start, then the test waits for two
minute boundaries (CronJobs fire at most once a minute), checking after each:

- minute 1: a wave of CronJobs fires on the second (pods bound within 3 s of it, made
  ahead by colo-cron, on virtual nodes first), as ordinary Jobs owned by their CronJobs,
  which complete; the CronJobs' status follows;
- between the minutes the leading colo-cron is killed (SIGKILL): minute 2 fires exactly
  once per CronJob all the same;
- Forbid skips minute 2 while minute 1 still runs, Replace deletes it, Allow runs both;
- a CronJob whose last run was long ago gets its most recent missed run at once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from e2ekit import new_namespace, transport

from colo.core.changes import ChangeKind
from colo.core.objects import START_AT_ANNOTATION
from colo.cron.bodies import MANAGER
from colo.devcluster import ClusterState
from colo.devcluster.kwokconfig import JOB_POD_RUN_DURATION_ANNOTATION
from colo.devcluster.processes import background
from colo.kube.informer import Informer
from colo.kube.transport import Transport

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WAVE = 20
LEAD_S = 8.0
BATCH = "/apis/batch/v1"


def cronjob(name: str, *, run_for: str = "3s", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "metadata": {"annotations": {JOB_POD_RUN_DURATION_ANNOTATION: run_for}},
                        "spec": {
                            "restartPolicy": "Never",
                            "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists"}],
                            "containers": [
                                {
                                    "name": "c",
                                    "image": "busybox",
                                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                                }
                            ],
                        },
                    }
                }
            },
            **spec,
        },
    }


@pytest.fixture(scope="module")
def colo(dev_cluster: ClusterState, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """colo-batch, and two colo-cron processes (one leads); yields the colo-cron processes."""
    logs = tmp_path_factory.mktemp("colo-cron")
    kube = ["--kubeconfig", dev_cluster.kubeconfig]
    colo_cmd = [sys.executable, "-m", "colo.cli.main"]
    batch = [*colo_cmd, "batch", "serve", *kube, "--no-leader-elect"]
    cron = [*colo_cmd, "cron", "serve", *kube, "--lead", f"{LEAD_S:g}s",
            "--lease-duration", "4s", "--status-delay", "3s"]  # fmt: skip
    with (
        background(batch, logs / "batch.log"),
        background(cron, logs / "cron-a.log") as a,
        background(cron, logs / "cron-b.log") as b,
    ):
        yield a, b, logs
    for log in ("batch.log", "cron-a.log", "cron-b.log"):
        text = (logs / log).read_text(errors="replace")
        assert "Traceback" not in text, text[-3000:]


def next_minute(after: float, *, room_s: float) -> float:
    """The first minute boundary at least `room_s` after `after`."""
    minute = (int(after) // 60 + 1) * 60
    return float(minute if minute - after >= room_s else minute + 60)


async def jobs_of(t: Transport, ns: str) -> dict[str, dict[str, Any]]:
    page = await t.get(f"{BATCH}/namespaces/{ns}/jobs")
    return {o["metadata"]["name"]: o for o in page["items"]}


async def until(check: Any, *, what: str, timeout_s: float) -> Any:
    deadline = time.time() + timeout_s
    last = None
    while time.time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.25)
    pytest.fail(f"timed out after {timeout_s:g} s waiting for {what} (last: {last!r})")


async def sleep_until(at: float) -> None:
    await asyncio.sleep(max(0.0, at - time.time()))


def leader(t: Transport) -> Any:
    async def holder() -> str:
        lease = await t.get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/colo-cron")
        return str(lease["spec"]["holderIdentity"])

    return holder


def test_cronjobs_fire_on_the_second_through_a_fail_over_with_each_policy(
    dev_cluster: ClusterState, colo: Any
) -> None:
    proc_a, proc_b, _ = colo

    async def body() -> None:
        async with transport(dev_cluster) as t:
            ns = await new_namespace(t)
            path = f"{BATCH}/namespaces/{ns}/cronjobs"
            bound_at: dict[str, float] = {}  # pod -> when the watch first showed it bound
            pods = Informer(t, "pods", namespace=ns)

            def seen(event: Any) -> None:
                pod = event.pod
                if event.kind is not ChangeKind.DELETED and pod.node_name:
                    bound_at.setdefault(pod.name, time.time())

            pods.subscribe(seen)
            watch = asyncio.ensure_future(pods.run())
            await pods.wait_synced()
            try:
                await run(t, ns, path, bound_at)
            finally:
                watch.cancel()

    async def run(t: Transport, ns: str, path: str, bound_at: dict[str, float]) -> None:
        first = next_minute(time.time(), room_s=LEAD_S + 8.0)
        await asyncio.gather(*(t.post(path, cronjob(f"wave-{i}")) for i in range(WAVE)))
        for policy in ("Allow", "Forbid", "Replace"):
            await t.post(path, cronjob(f"long-{policy.lower()}", run_for="10m",
                                       concurrencyPolicy=policy))  # fmt: skip
        # a CronJob whose last run was ten minutes ago: its latest missed run, at once
        await t.post(path, cronjob("catch-up", startingDeadlineSeconds=120))
        ten_ago = datetime.fromtimestamp(time.time() - 600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        await t.patch(f"{path}/catch-up/status", {"status": {"lastScheduleTime": ten_ago}})

        async def caught_up() -> list[str]:
            return [n for n in await jobs_of(t, ns) if n.startswith("catch-up-")]

        (missed,) = await until(caught_up, what="the missed run", timeout_s=20)
        assert int(missed.rsplit("-", 1)[1]) * 60 >= time.time() - 90  # the latest, not an old one

        # --- minute 1 -----------------------------------------------------------------
        await sleep_until(first + 4.0)
        minute = int(first // 60)
        jobs = await jobs_of(t, ns)
        for i in range(WAVE):
            job = jobs[f"wave-{i}-{minute}"]
            assert job["spec"]["managedBy"] == MANAGER
            owner = job["metadata"]["ownerReferences"][0]
            assert (owner["kind"], owner["name"], owner["controller"]) == (
                "CronJob",
                f"wave-{i}",
                True,
            )
        wave_pods = {
            k: v for k, v in bound_at.items() if k.startswith("wave-") and f"-{minute}-" in k
        }
        assert len(wave_pods) == WAVE
        late = sorted(at - first for at in wave_pods.values())
        assert late[0] >= -0.05, "a pod was bound before its time"
        assert late[-1] <= 3.0, f"lateness {late}"
        page = await t.get(f"/api/v1/namespaces/{ns}/pods")
        wave_objects = [
            p for p in page["items"] if p["metadata"]["name"].startswith(f"wave-0-{minute}-")
        ]
        assert wave_objects[0]["metadata"]["annotations"][START_AT_ANNOTATION] == (
            datetime.fromtimestamp(first, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        virtual = wave_objects[0]["spec"]["nodeName"]
        assert virtual.startswith("virtual-"), virtual  # cron pods go to virtual nodes first

        async def wave_complete() -> bool:
            jobs = await jobs_of(t, ns)
            runs = [jobs.get(f"wave-{i}-{minute}") or {} for i in range(WAVE)]
            return all(
                any(c["type"] == "Complete" and c["status"] == "True"
                    for c in run.get("status", {}).get("conditions", []))
                for run in runs
            )  # fmt: skip

        await until(wave_complete, what="the wave's Jobs Complete", timeout_s=30)
        first_text = datetime.fromtimestamp(first, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        async def status_follows() -> Any:
            status = (await t.get(f"{path}/wave-0")).get("status", {})
            done = "lastSuccessfulTime" in status and not status.get("active")
            return status if done and status.get("lastScheduleTime") == first_text else None

        await until(status_follows, what="wave-0's status to follow its run", timeout_s=15)

        # --- the leader dies between the minutes -----------------------------------------
        second = first + 60.0
        holder = await leader(t)()
        victim = proc_a if holder.endswith(f"_{proc_a.pid}") else proc_b
        assert holder.endswith(f"_{victim.pid}"), holder
        await sleep_until(second - LEAD_S - 20.0)
        os.kill(victim.pid, signal.SIGKILL)

        async def new_leader() -> str:
            h = await leader(t)()
            return h if not h.endswith(f"_{victim.pid}") else ""

        await until(new_leader, what="the standby to lead", timeout_s=15)

        # --- minute 2 -----------------------------------------------------------------
        await sleep_until(second + 4.0)
        minute2 = int(second // 60)
        jobs = await jobs_of(t, ns)
        for i in range(WAVE):  # each minute's run made, once
            runs = sorted(n for n in jobs if n.startswith(f"wave-{i}-"))
            assert {f"wave-{i}-{minute}", f"wave-{i}-{minute2}"} <= set(runs), runs
        page = await t.get(f"/api/v1/namespaces/{ns}/pods")
        per_run: dict[str, int] = {}
        for pod in page["items"]:
            run_name = pod["metadata"]["ownerReferences"][0]["name"]
            per_run[run_name] = per_run.get(run_name, 0) + 1
        doubled = {run: n for run, n in per_run.items() if n > 1}
        assert not doubled, f"runs with more than one pod: {doubled}"
        late2 = [
            at - second
            for k, at in bound_at.items()
            if k.startswith("wave-") and f"-{minute2}-" in k
        ]
        assert len(late2) == WAVE and max(late2) <= 3.0, late2
        names = set(jobs)
        # Allow: every minute's run; Forbid: only the first, which still runs (10 min);
        # Replace: the newest, the one before it deleted at the new one's second
        assert {f"long-allow-{minute}", f"long-allow-{minute2}"} <= names
        forbid = sorted(n for n in names if n.startswith("long-forbid-"))
        assert len(forbid) == 1 and int(forbid[0].rsplit("-", 1)[1]) <= minute, forbid
        assert f"long-replace-{minute2}" in names

        async def replaced() -> bool:
            runs = [n for n in await jobs_of(t, ns) if n.startswith("long-replace-")]
            return runs == [f"long-replace-{minute2}"]

        await until(replaced, what="Replace deleting the previous run", timeout_s=15)
        events = await t.get(f"/api/v1/namespaces/{ns}/events")
        reasons = {(e["involvedObject"]["name"], e["reason"]) for e in events["items"]}
        assert ("long-forbid", "JobAlreadyActive") in reasons

    asyncio.run(body())
