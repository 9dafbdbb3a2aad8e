"""colo's cgroup vocabulary and the pure parts of colo.linux: intents validate, a weight
converts to v1 shares and back, widened values admit both ends, only the kubelet's pod
tree is governed, and the tree's names parse. No cgroup filesystem here."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from colo.core.cgroups import MAX, CgroupIntent, IoLimit, ReclaimIntent, cgroup_path
from colo.core.errors import InvalidInput
from colo.linux import box_cgroup, governed
from colo.linux.driver import CpuMax, Knob, asks, widen
from colo.linux.files import nested_keyed, parse_pressure
from colo.linux.tree import container_of, pod_uid
from colo.linux.v1 import shares_to_weight, weight_to_shares

BOX = PurePosixPath("kubepods/besteffort")
UID = "5f0c8e4a-1b2c-4d3e-9f00-0123456789ab"


# --- intents ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"cpu_quota_us": 999}, "cpu_quota_us", id="a quota below 1 ms"),
        pytest.param({"cpu_quota_us": 0}, "cpu_quota_us", id="a zero quota"),
        pytest.param({"cpu_period_us": 999}, "cpu_period_us", id="a period below 1 ms"),
        pytest.param({"cpu_period_us": 1_000_001}, "cpu_period_us", id="a period above 1 s"),
        pytest.param({"cpu_weight": 0}, "cpu_weight", id="a weight of zero"),
        pytest.param({"cpu_weight": 10_001}, "cpu_weight", id="a weight above 10000"),
        pytest.param({"cpu_weight": True}, "cpu_weight", id="a bool for a weight"),
        pytest.param({"cpu_idle": True, "cpu_weight": 5}, "cpu_weight", id="idle with a weight"),
        pytest.param({"cpuset_cpus": frozenset()}, "cpuset_cpus", id="an empty cpuset"),
        pytest.param({"cpuset_mems": frozenset({-1})}, "cpuset_mems", id="a negative node"),
        pytest.param({"memory_limit": -1}, "memory_limit", id="a negative limit"),
        pytest.param({"memory_high": "none"}, "memory_high", id="a word other than max"),
        pytest.param({"io_max": (IoLimit("8:0"), IoLimit("8:0"))}, "io_max", id="a device twice"),
    ],
)
def test_an_intent_the_kernel_could_never_take_fails_at_construction(
    fields: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput, match=f"field {field}"):
        CgroupIntent(BOX, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["/kubepods", "", ".", "kubepods/../system.slice", "./kubepods"])
def test_a_cgroup_must_be_a_plain_relative_path(path: str) -> None:
    with pytest.raises(InvalidInput, match="field cgroup"):
        cgroup_path(path)
    if PurePosixPath(path) != PurePosixPath("kubepods"):  # ./kubepods is kubepods as a path
        with pytest.raises(InvalidInput):
            ReclaimIntent(PurePosixPath(path))


def test_io_limits_name_a_device_by_its_numbers() -> None:
    with pytest.raises(InvalidInput, match="MAJ:MIN"):
        IoLimit("sda")
    with pytest.raises(InvalidInput, match="field read_bps"):
        IoLimit("8:0", read_bps=0)
    assert IoLimit("8:0", read_bps=MAX, write_iops=10).fields() == {
        "read_bps": MAX,
        "write_iops": 10,
    }


def test_an_intent_asks_only_for_what_it_names_idle_before_weight() -> None:
    intent = CgroupIntent(
        BOX,
        cpu_weight=50,
        cpu_idle=False,
        cpu_quota_us=200_000,
        io_max=(IoLimit("8:0", write_bps=1 << 20),),
    )
    assert [(k.label, a) for k, a in asks(intent)] == [
        ("cpu_idle", False),
        ("cpu_weight", 50),
        ("cpu_max", (200_000, None)),
        ("io_max[8:0].write_bps", 1 << 20),
    ]
    assert asks(CgroupIntent(BOX)) == []


# --- v1 weights ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("weight", "shares"),
    [
        pytest.param(1, 2, id="the least weight is the kubelet's best-effort shares"),
        pytest.param(39, 999, id="about one cpu's 1024 shares, as the kubelet maps it"),
        pytest.param(100, 2598, id="the v2 default"),
        pytest.param(10_000, 262_144, id="the most weight is the most shares"),
    ],
)
def test_a_weight_becomes_the_shares_the_kubelet_would_map_back_to_it(
    weight: int, shares: int
) -> None:
    assert weight_to_shares(weight) == shares
    assert shares_to_weight(shares) == weight


def test_every_weight_survives_the_round_trip_through_shares() -> None:
    assert all(shares_to_weight(weight_to_shares(w)) == w for w in range(1, 10_001))


# --- widening -----------------------------------------------------------------------
def test_widening_admits_both_the_old_and_the_new_value() -> None:
    quota = Knob("cpu_max")
    small, big = CpuMax(50_000, 100_000), CpuMax(20_000, 10_000)  # 0.5 and 2 cores
    assert widen(quota, small, big) == big and widen(quota, big, small) == big
    assert widen(quota, small, CpuMax(MAX, 100_000)) == CpuMax(MAX, 100_000)
    cpus = Knob("cpuset_cpus")
    assert widen(cpus, frozenset({0}), frozenset({1})) == frozenset({0, 1})
    memory = Knob("memory_limit")
    assert widen(memory, 4096, 8192) == 8192 and widen(memory, MAX, 8192) == MAX


# --- the governed tree and its names --------------------------------------------------
@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("kubepods", True),
        ("kubepods/besteffort", True),
        (f"kubepods/burstable/pod{UID}/abc", True),
        ("kubepods.slice/kubepods-besteffort.slice", True),
        ("system.slice", False),
        ("kubepods-other", False),
        ("user.slice/kubepods", False),
    ],
)
def test_only_the_kubelets_pod_tree_is_governed(path: str, ok: bool) -> None:
    assert governed(PurePosixPath(path)) is ok


def test_the_box_is_the_best_effort_class_under_either_driver() -> None:
    assert box_cgroup("cgroupfs") == BOX
    assert box_cgroup("systemd") == PurePosixPath("kubepods.slice/kubepods-besteffort.slice")


@pytest.mark.parametrize(
    ("name", "runtime", "cid"),
    [
        ("cri-containerd-" + "a" * 64 + ".scope", "cri-containerd", "a" * 64),
        ("crio-" + "b" * 64 + ".scope", "crio", "b" * 64),
        ("crio-conmon-" + "b" * 64 + ".scope", "crio-conmon", "b" * 64),
        ("docker-" + "c" * 64 + ".scope", "docker", "c" * 64),
        ("d" * 64, "", "d" * 64),
        ("something-else", "", "something-else"),
    ],
)
def test_container_cgroup_names(name: str, runtime: str, cid: str) -> None:
    c = container_of(name, BOX / f"pod{UID}")
    assert (c.runtime, c.id, c.cgroup.name) == (runtime, cid, name)


def test_pod_cgroup_names_give_the_uid_only_in_their_own_class() -> None:
    unit = UID.replace("-", "_")
    assert pod_uid("cgroupfs", "Burstable", f"pod{UID}") == UID
    assert pod_uid("cgroupfs", "Guaranteed", "burstable") is None
    assert pod_uid("systemd", "Burstable", f"kubepods-burstable-pod{unit}.slice") == UID
    assert pod_uid("systemd", "Guaranteed", f"kubepods-pod{unit}.slice") == UID
    assert pod_uid("systemd", "Guaranteed", "kubepods-burstable.slice") is None


# --- file formats -------------------------------------------------------------------
def test_psi_lines_parse_with_and_without_full() -> None:
    p = parse_pressure("some avg10=1.50 avg60=0.25 avg300=0.00 total=12345\n")
    assert (p.some.avg10, p.some.total_us, p.full) == (1.5, 12345, None)
    full = parse_pressure(
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        "full avg10=2.00 avg60=1.00 avg300=0.50 total=99\n"
    ).full
    assert full is not None and full.avg300 == 0.5
    with pytest.raises(ValueError, match="not a PSI file"):
        parse_pressure("")


def test_nested_keyed_files() -> None:
    assert nested_keyed("8:0 rbps=1 wbps=max riops=max wiops=max\n") == {
        "8:0": {"rbps": "1", "wbps": "max", "riops": "max", "wiops": "max"}
    }
