"""The fault suite, short: every scenario of bench/faults.py on one live system (its own
dev cluster), a small wave each. It fails on any loss the independent checker counts —
a pod lost or bound twice, a node over-committed, a binding onto a gone node, a CronJob
run missed or doubled, the offline box changed while no agent ran or reset when it came
back — and when a wave makes no progress after its fault.

About a minute per scenario: the CronJobs fire on whole minutes. Scenario agent-kill runs
after the cluster is down, on this machine's real cgroup tree (root, stress-ng). `make
bench` runs the full version (bench/faults.py) and reports the recovery times and the
online latency while the agent is away.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import faults  # noqa: E402

# the module's fixture runs every scenario (~11 min on 2 cores); pytest-timeout counts it
# in the first test's time
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.cgroup, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    got: dict[str, Any] = faults.run(
        faults.SCENARIOS, seed=1, nodes=3, pods=40, cronjobs=10, every_s=0.25, trickle_s=8.0
    )
    return got


@pytest.mark.parametrize("scenario", [s for s in faults.SCENARIOS if s != faults.AGENT_KILL])
def test_nothing_is_lost_doubled_or_over_committed_and_the_wave_recovers(
    figures: dict[str, Any], scenario: str
) -> None:
    found, note = figures["audits"][scenario]
    assert found.pods_created >= 40 + 10, note
    assert found.losses == 0, "\n".join([note, *found.details])
    assert found.cron_runs_expected == 10
    assert found.recover_s is not None, f"no pod made after the fault was bound ({note})"


def test_the_box_keeps_what_the_killed_agent_left_and_the_agent_adopts_it_on_return(
    figures: dict[str, Any],
) -> None:
    """Scenario 6, on this machine's real cgroups: nothing in the box changes while no
    agent runs, the agent that comes back neither resets the box to the kubelet's
    defaults nor starts over, and it cuts the box for the online load that rose while
    it was away."""
    agent = figures["agent"]
    said = "\n".join(agent.details)
    assert agent.changed_while_away == 0, said
    assert agent.resets == 0, said
    assert agent.all_adopted, "the restarted agent did not carry on from the cgroups it found"
    assert agent.all_repaired and agent.repair_s is not None and agent.repair_s <= 10, said
    assert agent.box_back_milli < agent.box_left_milli
