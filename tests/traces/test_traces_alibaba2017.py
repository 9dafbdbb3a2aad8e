"""alibaba2017 batch_task loader on small synthetic files holding each real-world oddity."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from colo.core.errors import InvalidInput
from colo.traces.alibaba2017 import load_batch_tasks

WriteFile = Callable[..., Path]

# As published: spaces after some commas, none after others.
HEADER = (
    "task_create_time, task_end_time, job_id, task_id,number_of_instances, status, "
    "number_of_cpus_requested_per_instance_in_the_task,"
    "normalized_memory_requested_per_instance_in_the_task"
)
GOOD = "6459,6524,3,4,15740,Terminated,50,0.007956928"


# (rows after the header, expected reasons, expected kept (create, end, job, task, inst, cpu_milli,
# memory) in create-time order)
CASES = {
    "clean": (
        [GOOD, "6457,6533,3,5,1,Terminated,100,0.004395206"],
        {},
        [(6457, 6533, 3, 5, 1, 1000, 0.004395206), (6459, 6524, 3, 4, 15740, 500, 0.007956928)],
    ),
    "not terminated": (
        [
            GOOD,
            "6036,6046,4,7,393,Waiting,,",
            "100,0,5,8,1,Running,50,0.01",
            "100,200,5,9,1,Failed,50,0.01",
            "100,200,5,10,1,Bogus,50,0.01",
            "100,200,5,11,1,,50,0.01",
        ],
        {
            "status Waiting": 1,
            "status Running": 1,
            "status Failed": 1,
            "unknown status": 1,
            "missing status": 1,
        },
        [(6459, 6524, 3, 4, 15740, 500, 0.007956928)],
    ),
    "missing and bad fields": (
        [
            "1,2,1,1,1,Terminated,,0.01",
            "1,2,1,2,1,Terminated,50,",
            "1,2,1,3,,Terminated,50,0.01",
            "1,2,1,4,0,Terminated,50,0.01",
            "1,2,1,5,-1,Terminated,50,0.01",
            "1,2,1,6,2.5,Terminated,50,0.01",
            "1,2,1,7,1,Terminated,-1,0.01",
            "1,2,1,8,1,Terminated,50,1.5",
            "1,2,x,9,1,Terminated,50,0.01",
            "1,2,1,10,1,Terminated,50",
            ",2,1,11,1,Terminated,50,0.01",
            "1,2,1,12,1,Terminated,40,1",
        ],
        {
            "missing cpu": 1,
            "missing memory": 1,
            "missing instances": 1,
            "instances out of range": 2,
            "instances not an integer": 1,
            "cpu out of range": 1,
            "memory out of range": 1,
            "job_id not a number": 1,
            "wrong column count": 1,
            "missing create time": 1,
        },
        [(1, 2, 1, 12, 1, 400, 1.0)],
    ),
    "negative times kept, end before create skipped": (
        [
            "-60,110,6168,37200,103,Terminated,50,0.008",
            "-60,-55,6168,37197,1,Terminated,50,0.004",
            "100,50,1,1,1,Terminated,50,0.01",
            "100,100,1,2,1,Terminated,50,0.01",
        ],
        {"end before create": 1},
        [
            (-60, 110, 6168, 37200, 103, 500, 0.008),
            (-60, -55, 6168, 37197, 1, 500, 0.004),
            (100, 100, 1, 2, 1, 500, 0.01),
        ],
    ),
    "duplicate task keeps first": (
        [GOOD, "1,2,3,4,1,Terminated,100,0.5"],
        {"duplicate task": 1},
        [(6459, 6524, 3, 4, 15740, 500, 0.007956928)],
    ),
    "unsorted rows come sorted by create": (
        [
            "300,400,1,1,1,Terminated,50,0.1",
            "100,400,1,2,1,Terminated,50,0.1",
            "200,400,1,3,1,Terminated,50,0.1",
        ],
        {},
        [
            (100, 400, 1, 2, 1, 500, 0.1),
            (200, 400, 1, 3, 1, 500, 0.1),
            (300, 400, 1, 1, 1, 500, 0.1),
        ],
    ),
}


@pytest.mark.parametrize("header", [True, False], ids=["header", "no-header"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_batch_tasks(write: WriteFile, case: str, header: bool) -> None:
    rows, reasons, expected = CASES[case]
    tasks, report = load_batch_tasks(write([HEADER, *rows] if header else rows))
    assert report.has_header is header
    assert report.rows_read == len(rows)
    assert report.reasons == reasons
    assert report.rows_skipped == sum(reasons.values())
    assert len(tasks) == len(expected) == report.rows_read - report.rows_skipped
    got = list(
        zip(
            tasks.create_s.tolist(),
            tasks.end_s.tolist(),
            tasks.job_id.tolist(),
            tasks.task_id.tolist(),
            tasks.instances.tolist(),
            tasks.cpu_milli.tolist(),
            tasks.memory_fraction.tolist(),
            strict=True,
        )
    )
    assert got == expected
    assert set(tasks.status.tolist()) <= {"Terminated"}
    assert tasks.create_s.dtype == np.float64 and tasks.cpu_milli.dtype == np.int64
    np.testing.assert_array_equal(tasks.duration_s, tasks.end_s - tasks.create_s)


def test_negative_create_times_are_noted(write: WriteFile) -> None:
    _, report = load_batch_tasks(write([HEADER, "-60,110,1,1,1,Terminated,50,0.1", GOOD]))
    assert report.notes == {"negative create time (kept)": 1}


def test_statuses_option_keeps_other_statuses(write: WriteFile) -> None:
    rows = [GOOD, "1,5,9,9,2,Failed,50,0.01", "6036,6046,4,7,393,Waiting,,"]
    tasks, report = load_batch_tasks(write([HEADER, *rows]), statuses=("terminated", "Failed"))
    assert tasks.status.tolist() == ["Failed", "Terminated"]
    assert report.reasons == {"status Waiting": 1}


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        pytest.param([HEADER], "no data rows", id="header-only"),
        pytest.param([HEADER, "6036,6046,4,7,393,Waiting,,"], "no valid rows", id="nothing-ran"),
        pytest.param(
            ["timestamp,vm_id,min_cpu,max_cpu,avg_cpu", "0,a,1,2,3"], "header", id="azure"
        ),
    ],
)
def test_batch_tasks_wrong_format(write: WriteFile, lines: list[str], message: str) -> None:
    path = write(lines)
    with pytest.raises(InvalidInput, match=message) as info:
        load_batch_tasks(path)
    assert str(path) in str(info.value)
