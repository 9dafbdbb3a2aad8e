"""Resource vectors: normalisation, arithmetic, comparison, Kubernetes form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from colo.core.errors import InvalidInput
from colo.core.resources import BATCH_CPU, BATCH_MEMORY, Resources, is_extended_resource

GI = 1024**3
GPU = "example.com/gpu"


def r(cpu: int = 0, mem: int = 0, pods: int = 0) -> Resources:
    return Resources(cpu, mem, pods)


class TestNormalisation:
    def test_zero_entries_are_dropped_so_equal_vectors_are_equal(self) -> None:
        assert Resources.of(extended={GPU: 0}) == Resources.ZERO
        assert hash(Resources.of(extended={GPU: 0})) == hash(Resources.ZERO)

    def test_scalar_order_does_not_matter(self) -> None:
        a = Resources.of(extended={"b.io/x": 1, "a.io/y": 2})
        b = Resources.from_items([("a.io/y", 2), ("b.io/x", 1)])
        c = Resources(scalars=(("b.io/x", 1), ("a.io/y", 2), ("c.io/z", 0)))
        assert a == b == c
        assert a.scalars == (("a.io/y", 2), ("b.io/x", 1))
        assert len({a, b, c}) == 1

    def test_repeated_names_add_up(self) -> None:
        summed = Resources.from_items([("cpu", 100), ("cpu", 50), (GPU, 1), (GPU, 1)])
        assert summed == Resources.of(cpu_milli=150, extended={GPU: 2})

    def test_core_names_cannot_hide_among_scalars(self) -> None:
        with pytest.raises(ValueError, match="core resource"):
            Resources.of(extended={"cpu": 1})

    def test_get_and_names_use_colo_units(self) -> None:
        res = Resources.of(cpu_milli=1500, memory_bytes=GI, pods=1, extended={BATCH_CPU: 2000})
        assert res.get("cpu") == 1500
        assert res.get("memory") == GI
        assert res.get("pods") == 1
        assert res.get(BATCH_CPU) == 2000
        assert res.get("missing") == 0
        assert res.names() == ("cpu", "memory", "pods", BATCH_CPU)
        assert Resources.ZERO.names() == ()
        assert Resources.ZERO.is_zero() and not res.is_zero()

    def test_with_value_replaces_one_resource(self) -> None:
        res = Resources.of(cpu_milli=1, extended={GPU: 1})
        assert res.with_value("cpu", 5).cpu_milli == 5
        assert res.with_value(GPU, 0) == Resources.of(cpu_milli=1)
        assert res.with_value("memory", 7).memory_bytes == 7
        assert res.with_value("pods", 2).pods == 2

    def test_str_is_readable(self) -> None:
        assert str(Resources.of(cpu_milli=500, memory_bytes=GI)) == "{cpu: 500m, memory: 1Gi}"
        assert str(Resources.ZERO) == "{}"


class TestArithmetic:
    def test_addition_and_subtraction_are_per_resource_and_may_go_negative(self) -> None:
        a = Resources.of(cpu_milli=1000, memory_bytes=GI, extended={GPU: 1})
        b = Resources.of(cpu_milli=1500, pods=1, extended={BATCH_CPU: 10})
        assert a + b == Resources.of(
            cpu_milli=2500, memory_bytes=GI, pods=1, extended={GPU: 1, BATCH_CPU: 10}
        )
        assert a - b == Resources.of(
            cpu_milli=-500, memory_bytes=GI, pods=-1, extended={GPU: 1, BATCH_CPU: -10}
        )
        assert a - a == Resources.ZERO
        assert -a == Resources.ZERO - a

    @pytest.mark.parametrize(
        ("factor", "expected"),
        [(0.5, (500, 1, -2)), (2, (2000, 6, -6)), (0, (0, 0, 0)), (1 / 3, (333, 0, -1))],
        ids=[
            "a half floors",
            "doubling is exact",
            "zero empties",
            "the float 1/3 times 3 is below 1",
        ],
    )
    def test_scaled_floors_every_value(self, factor: float, expected: tuple[int, int, int]) -> None:
        res = Resources.of(cpu_milli=1000, memory_bytes=3, extended={GPU: -3})
        cpu, mem, gpu = expected
        assert res.scaled(factor) == Resources.of(
            cpu_milli=cpu, memory_bytes=mem, extended={GPU: gpu}
        )

    def test_max_min_and_clamp(self) -> None:
        a = Resources.of(cpu_milli=1000, memory_bytes=-5, extended={GPU: 1})
        b = Resources.of(cpu_milli=500, memory_bytes=GI, extended={BATCH_CPU: -2})
        assert a.max_with(b) == Resources.of(cpu_milli=1000, memory_bytes=GI, extended={GPU: 1})
        assert a.min_with(b) == Resources.of(
            cpu_milli=500, memory_bytes=-5, extended={BATCH_CPU: -2}
        )
        assert a.clamped_nonnegative() == Resources.of(cpu_milli=1000, extended={GPU: 1})


FITS = {
    "equal vectors fit": (r(1000, GI), r(1000, GI), ()),
    "less fits": (r(500), r(1000, GI), ()),
    "too much cpu does not fit": (r(1500, 1), r(1000, GI), ("cpu",)),
    "too much of several resources lists them in order": (
        Resources.of(cpu_milli=2, memory_bytes=2, pods=2, extended={GPU: 1}),
        r(1, 1, 1),
        ("cpu", "memory", "pods", GPU),
    ),
    "a resource absent from the other counts as zero": (
        Resources.of(extended={GPU: 1}),
        r(1000),
        (GPU,),
    ),
    "a resource absent here fits anything non-negative": (
        r(1),
        Resources.of(extended={GPU: 1}),
        ("cpu",),
    ),
    "zero does not fit in a negative remainder": (r(0), r(-1), ("cpu",)),
    "zero does not fit in a negative scalar remainder": (
        Resources.ZERO,
        Resources.of(extended={GPU: -1}),
        (GPU,),
    ),
    "negative demand fits in zero": (r(-5), Resources.ZERO, ()),
}


@pytest.mark.parametrize(("demand", "supply", "exceeding"), FITS.values(), ids=FITS.keys())
def test_fits_in_and_exceeding(
    demand: Resources, supply: Resources, exceeding: tuple[str, ...]
) -> None:
    assert demand.exceeding(supply) == exceeding
    assert demand.fits_in(supply) == (exceeding == ())


class TestKubernetesForm:
    def test_a_resource_list_parses_into_colo_units(self) -> None:
        parsed = Resources.from_k8s(
            {
                "cpu": "500m",
                "memory": "1Gi",
                "pods": "110",
                BATCH_CPU: "2k",
                BATCH_MEMORY: "4Gi",
                GPU: 1,
                "ephemeral-storage": "10Gi",
                "hugepages-2Mi": "1Gi",
                "kubernetes.io/batch-cpu": "1.5",
            }
        )
        assert parsed == Resources.of(
            cpu_milli=500,
            memory_bytes=GI,
            pods=110,
            extended={
                BATCH_CPU: 2000,
                BATCH_MEMORY: 4 * GI,
                GPU: 1,
                "ephemeral-storage": 10 * GI,
                "hugepages-2Mi": GI,
                "kubernetes.io/batch-cpu": 2,
            },
        )

    def test_none_is_empty(self) -> None:
        assert Resources.from_k8s(None) == Resources.ZERO
        assert Resources.from_k8s({}) == Resources.ZERO

    def test_to_k8s_prints_canonical_quantities_and_omits_zeros(self) -> None:
        res = Resources.of(
            cpu_milli=1500,
            memory_bytes=2 * GI,
            pods=110,
            extended={BATCH_CPU: 2000, BATCH_MEMORY: 3 * 1024**2, "hugepages-1Gi": GI, GPU: 0},
        )
        assert res.to_k8s() == {
            "cpu": "1500m",
            "memory": "2Gi",
            "pods": "110",
            BATCH_CPU: "2k",
            BATCH_MEMORY: "3Mi",
            "hugepages-1Gi": "1Gi",
        }

    @pytest.mark.parametrize(
        ("mapping", "field", "message"),
        [
            ({BATCH_CPU: "1.5"}, 'resources["colo.io/batch-cpu"]', "fractional quantity"),
            ({GPU: "500m"}, 'resources["example.com/gpu"]', "fractional quantity"),
            ({"pods": "1.5"}, "resources.pods", "fractional quantity"),
            ({"cpu": "-1"}, "resources.cpu", "negative quantity"),
            ({"memory": "1GB"}, "resources.memory", "invalid quantity"),
            ({"hugepages-2Mi": "x"}, "resources.hugepages-2Mi", "invalid quantity"),
            ({1: "1"}, "resources", "invalid resource name"),
            ({"": "1"}, "resources", "invalid resource name"),
            (["cpu"], "resources", "not a resource list"),
        ],
        ids=[
            "colo batch cpu must be whole millicores",
            "extended resources must be whole numbers",
            "pods must be whole",
            "cpu must not be negative",
            "memory must be a quantity",
            "hugepages must be a quantity",
            "names must be strings",
            "names must not be empty",
            "the list must be a mapping",
        ],
    )
    def test_bad_resource_lists_name_the_field(
        self, mapping: object, field: str, message: str
    ) -> None:
        with pytest.raises(InvalidInput) as info:
            Resources.from_k8s(mapping, obj="node n1")  # type: ignore[arg-type]
        assert info.value.field == field
        assert str(info.value).startswith(f"node n1: field {field}: {message}")

    @pytest.mark.parametrize(
        ("name", "extended"),
        [
            (BATCH_CPU, True),
            ("nvidia.com/gpu", True),
            ("cpu", False),
            ("hugepages-2Mi", False),
            ("kubernetes.io/batch-cpu", False),
            ("example.kubernetes.io/x", False),
            ("requests.example.com/x", False),
        ],
    )
    def test_extended_resource_names_follow_kubernetes(self, name: str, extended: bool) -> None:
        assert is_extended_resource(name) is extended


# -- properties ------------------------------------------------------------------------

small = st.integers(min_value=-(10**12), max_value=10**12)
names = st.sampled_from([GPU, BATCH_CPU, BATCH_MEMORY, "hugepages-2Mi", "ephemeral-storage"])
resources = st.builds(
    lambda cpu, mem, pods, ext: Resources.of(
        cpu_milli=cpu, memory_bytes=mem, pods=pods, extended=ext
    ),
    small,
    small,
    small,
    st.dictionaries(names, small, max_size=4),
)


@given(resources, resources)
def test_adding_then_subtracting_is_the_identity(a: Resources, b: Resources) -> None:
    assert a + b - b == a


@given(resources, resources, resources)
def test_addition_is_commutative_and_associative(a: Resources, b: Resources, c: Resources) -> None:
    assert a + b == b + a
    assert (a + b) + c == a + (b + c)


@given(resources, resources)
def test_fits_in_agrees_with_exceeding(a: Resources, b: Resources) -> None:
    assert a.fits_in(b) == (a.exceeding(b) == ())
    assert a.fits_in(a)
    assert a.fits_in(a.max_with(b)) and a.min_with(b).fits_in(a)


@given(resources)
def test_scaling_by_one_is_the_identity(a: Resources) -> None:
    assert a.scaled(1) == a
    assert a.scaled(1.0) == a


@given(resources)
def test_clamping_leaves_no_negative_value(a: Resources) -> None:
    assert all(v >= 0 for _, v in a.clamped_nonnegative().items())
    assert Resources.ZERO.fits_in(a.clamped_nonnegative())


@given(resources)
def test_kubernetes_form_round_trips(a: Resources) -> None:
    a = a.clamped_nonnegative()
    assert Resources.from_k8s(a.to_k8s()) == a


@given(resources, resources)
def test_equal_vectors_hash_equal(a: Resources, b: Resources) -> None:
    assert Resources.from_items([*a.items(), *b.items()]) == a + b
    assert hash(Resources.from_items([*a.items(), *b.items()])) == hash(a + b)
