"""Resource vectors: CPU in millicores, memory in bytes, pod slots, and named scalar resources.

`Resources` is an immutable, hashable value. Units are fixed per name:

| name                                           | unit       | parsed as             |
|------------------------------------------------|------------|-----------------------|
| `cpu`                                          | millicores | ceil(quantity × 1000) |
| `memory`                                       | bytes      | ceil(quantity)        |
| `pods`                                         | count      | whole number          |
| extended (`example.com/gpu`)                   | integer    | whole number          |
| other (`ephemeral-storage`, `hugepages-2Mi`..) | integer    | ceil(quantity)        |

colo's own extended resources are `colo.io/batch-cpu` (integer millicores) and
`colo.io/batch-memory` (bytes). A name is *extended* when it has a domain prefix (`/`) other
than `kubernetes.io/` and does not start with `requests.` (Kubernetes' IsExtendedResourceName);
Kubernetes rejects fractional values for those, and so does `Resources.from_k8s`.

Arithmetic is per resource; a resource absent from a vector counts as 0 and zero entries are
never stored, so equal vectors compare and hash equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from colo.core._fields import field_path, shown
from colo.core.errors import InvalidInput
from colo.core.quantity import (
    cpu_milli,
    format_bytes,
    format_cpu_milli,
    format_decimal,
    to_bytes,
    to_int,
)

CPU = "cpu"
MEMORY = "memory"
PODS = "pods"
EPHEMERAL_STORAGE = "ephemeral-storage"
HUGEPAGES_PREFIX = "hugepages-"
BATCH_CPU = "colo.io/batch-cpu"
BATCH_MEMORY = "colo.io/batch-memory"

_CORE_NAMES = (CPU, MEMORY, PODS)
_BYTE_NAMES = frozenset({MEMORY, EPHEMERAL_STORAGE, BATCH_MEMORY, "storage"})

Scalars = tuple[tuple[str, int], ...]


def is_extended_resource(name: str) -> bool:
    """Kubernetes' IsExtendedResourceName: has a domain, not `*kubernetes.io/`, not `requests.`."""
    return "/" in name and "kubernetes.io/" not in name and not name.startswith("requests.")


def is_byte_resource(name: str) -> bool:
    """True for resources measured in bytes (printed in BinarySI by `to_k8s`)."""
    return name in _BYTE_NAMES or name.startswith(HUGEPAGES_PREFIX)


def _normal_scalars(items: Iterable[tuple[str, int]]) -> Scalars:
    merged: dict[str, int] = {}
    for name, value in items:
        if name in _CORE_NAMES:
            raise ValueError(f"{name!r} is a core resource, not a scalar one")
        merged[name] = merged.get(name, 0) + value
    return tuple(sorted((n, v) for n, v in merged.items() if v != 0))


def _is_normal(scalars: Scalars) -> bool:
    previous = ""
    for name, value in scalars:
        if value == 0 or name <= previous or name in _CORE_NAMES:
            return False
        previous = name
    return True


@dataclass(frozen=True, slots=True)
class Resources:
    """An immutable resource vector (see the module docstring for units).

    `scalars` holds every other named resource as sorted `(name, value)` pairs without zeros;
    the constructor normalises whatever it is given. Values may be negative (differences).
    """

    cpu_milli: int = 0
    memory_bytes: int = 0
    pods: int = 0
    scalars: Scalars = ()

    ZERO: ClassVar[Resources]

    def __post_init__(self) -> None:
        if self.scalars and not _is_normal(self.scalars):
            object.__setattr__(self, "scalars", _normal_scalars(self.scalars))

    @classmethod
    def of(
        cls,
        *,
        cpu_milli: int = 0,
        memory_bytes: int = 0,
        pods: int = 0,
        extended: Mapping[str, int] | None = None,
    ) -> Resources:
        """Build from keyword values; `extended` maps other resource names to integers."""
        scalars = _normal_scalars(extended.items()) if extended else ()
        return cls(cpu_milli, memory_bytes, pods, scalars)

    @classmethod
    def from_items(cls, items: Iterable[tuple[str, int]]) -> Resources:
        """Build from `(name, value)` pairs in this module's units; repeated names add up."""
        cpu = memory = pods = 0
        rest: list[tuple[str, int]] = []
        for name, value in items:
            if name == CPU:
                cpu += value
            elif name == MEMORY:
                memory += value
            elif name == PODS:
                pods += value
            else:
                rest.append((name, value))
        return cls(cpu, memory, pods, _normal_scalars(rest) if rest else ())

    # -- reading ------------------------------------------------------------------------

    def get(self, name: str) -> int:
        """Value of `name` in its unit (cpu → millicores, memory → bytes); 0 when absent."""
        if name == CPU:
            return self.cpu_milli
        if name == MEMORY:
            return self.memory_bytes
        if name == PODS:
            return self.pods
        for key, value in self.scalars:
            if key == name:
                return value
        return 0

    def items(self) -> Iterator[tuple[str, int]]:
        """Non-zero `(name, value)` pairs: cpu, memory, pods, then scalars by name."""
        if self.cpu_milli:
            yield CPU, self.cpu_milli
        if self.memory_bytes:
            yield MEMORY, self.memory_bytes
        if self.pods:
            yield PODS, self.pods
        yield from self.scalars

    def names(self) -> tuple[str, ...]:
        """Names with a non-zero value, in `items()` order."""
        return tuple(name for name, _ in self.items())

    def with_value(self, name: str, value: int) -> Resources:
        """A copy with `name` set to `value`."""
        if name == CPU:
            return Resources(value, self.memory_bytes, self.pods, self.scalars)
        if name == MEMORY:
            return Resources(self.cpu_milli, value, self.pods, self.scalars)
        if name == PODS:
            return Resources(self.cpu_milli, self.memory_bytes, value, self.scalars)
        rest = tuple((n, v) for n, v in self.scalars if n != name)
        return Resources(self.cpu_milli, self.memory_bytes, self.pods, (*rest, (name, value)))

    def is_zero(self) -> bool:
        return not (self.cpu_milli or self.memory_bytes or self.pods or self.scalars)

    # -- arithmetic ---------------------------------------------------------------------

    def _combine_scalars(self, other: Resources, sign: int) -> Scalars:
        if not other.scalars:
            return self.scalars
        if not self.scalars and sign == 1:
            return other.scalars
        merged = dict(self.scalars)
        for name, value in other.scalars:
            merged[name] = merged.get(name, 0) + sign * value
        return tuple(sorted((n, v) for n, v in merged.items() if v != 0))

    def __add__(self, other: Resources) -> Resources:
        if not isinstance(other, Resources):
            return NotImplemented
        return Resources(
            self.cpu_milli + other.cpu_milli,
            self.memory_bytes + other.memory_bytes,
            self.pods + other.pods,
            self._combine_scalars(other, 1),
        )

    def __sub__(self, other: Resources) -> Resources:
        """Per-resource difference; results may be negative."""
        if not isinstance(other, Resources):
            return NotImplemented
        return Resources(
            self.cpu_milli - other.cpu_milli,
            self.memory_bytes - other.memory_bytes,
            self.pods - other.pods,
            self._combine_scalars(other, -1),
        )

    def __neg__(self) -> Resources:
        return Resources(
            -self.cpu_milli, -self.memory_bytes, -self.pods, tuple((n, -v) for n, v in self.scalars)
        )

    def scaled(self, factor: float) -> Resources:
        """Every value × `factor`, rounded down (floor), computed exactly from the float's ratio."""
        if factor == 1:
            return self
        num, den = float(factor).as_integer_ratio()
        return Resources(
            self.cpu_milli * num // den,
            self.memory_bytes * num // den,
            self.pods * num // den,
            tuple((n, v * num // den) for n, v in self.scalars),
        )

    def _pairwise(self, other: Resources, pick: Any) -> Resources:
        if not self.scalars and not other.scalars:
            return Resources(
                pick(self.cpu_milli, other.cpu_milli),
                pick(self.memory_bytes, other.memory_bytes),
                pick(self.pods, other.pods),
            )
        names = dict.fromkeys([*(n for n, _ in self.scalars), *(n for n, _ in other.scalars)])
        return Resources(
            pick(self.cpu_milli, other.cpu_milli),
            pick(self.memory_bytes, other.memory_bytes),
            pick(self.pods, other.pods),
            tuple((n, pick(self.get(n), other.get(n))) for n in names),
        )

    def max_with(self, other: Resources) -> Resources:
        """Per-resource maximum (absent counts as 0)."""
        return self._pairwise(other, max)

    def min_with(self, other: Resources) -> Resources:
        """Per-resource minimum (absent counts as 0)."""
        return self._pairwise(other, min)

    def clamped_nonnegative(self) -> Resources:
        """Negative values replaced by 0."""
        return Resources(
            max(self.cpu_milli, 0),
            max(self.memory_bytes, 0),
            max(self.pods, 0),
            tuple((n, v) for n, v in self.scalars if v > 0),
        )

    # -- comparison ---------------------------------------------------------------------

    def fits_in(self, other: Resources) -> bool:
        """True when every resource is <= `other`'s (a resource absent from either is 0)."""
        if (
            self.cpu_milli > other.cpu_milli
            or self.memory_bytes > other.memory_bytes
            or self.pods > other.pods
        ):
            return False
        if not self.scalars and not other.scalars:
            return True
        return not self._exceeding_scalars(other)

    def _exceeding_scalars(self, other: Resources) -> list[str]:
        theirs = dict(other.scalars)
        out = [n for n, v in self.scalars if v > theirs.get(n, 0)]
        mine = dict(self.scalars)
        # A negative value in `other` for a resource absent here: 0 does not fit in it.
        out.extend(n for n, v in other.scalars if v < 0 and n not in mine)
        return sorted(out)

    def exceeding(self, other: Resources) -> tuple[str, ...]:
        """Names whose value is greater than `other`'s, in `items()` order."""
        out = [
            name
            for name, mine, theirs in (
                (CPU, self.cpu_milli, other.cpu_milli),
                (MEMORY, self.memory_bytes, other.memory_bytes),
                (PODS, self.pods, other.pods),
            )
            if mine > theirs
        ]
        out.extend(self._exceeding_scalars(other))
        return tuple(out)

    # -- Kubernetes form ----------------------------------------------------------------

    @classmethod
    def from_k8s(
        cls,
        mapping: Mapping[str, Any] | None,
        *,
        obj: str | None = None,
        field: str = "resources",
    ) -> Resources:
        """Parse a Kubernetes ResourceList (`{"cpu": "500m", "memory": "1Gi", ...}`).

        Every value must be a non-negative quantity; `pods` and extended resources must be
        whole numbers. Errors are InvalidInput naming `obj` and `field.<name>`.
        """
        if mapping is None:
            return RESOURCES_ZERO
        if type(mapping) is not dict and not isinstance(mapping, Mapping):
            raise InvalidInput(
                "not a resource list",
                obj=obj,
                field=field,
                value=shown(mapping),
                expected="a mapping of resource name to quantity",
            )
        cpu = memory = pods = 0
        rest: list[tuple[str, int]] = []
        for name, raw in mapping.items():
            if type(name) is not str or not name:
                raise InvalidInput(
                    "invalid resource name",
                    obj=obj,
                    field=field,
                    value=shown(name),
                    expected="a non-empty string",
                )
            try:
                if name == CPU:
                    cpu = cpu_milli(raw, obj=obj)
                elif name == MEMORY:
                    memory = to_bytes(raw, obj=obj)
                elif name == PODS:
                    pods = to_int(raw, obj=obj, whole=True)
                else:
                    value = to_int(raw, obj=obj, whole=is_extended_resource(name))
                    if value:
                        rest.append((name, value))
            except InvalidInput as error:
                # The path is only built on failure: this loop is on every pod's hot path.
                raise InvalidInput(
                    error.message,
                    obj=obj,
                    field=field_path(field, name),
                    value=error.value,
                    expected=error.expected,
                ) from None
        scalars = tuple(sorted(rest)) if rest else ()
        return cls(cpu, memory, pods, scalars)

    def to_k8s(self) -> dict[str, str]:
        """Canonical Kubernetes ResourceList of the non-zero values.

        cpu in millicore form (`100m`, `2`), byte resources in BinarySI (`2Gi`), others in
        DecimalSI (`110`, `2k`).
        """
        out: dict[str, str] = {}
        for name, value in self.items():
            if name == CPU:
                out[name] = format_cpu_milli(value)
            elif is_byte_resource(name):
                out[name] = format_bytes(value)
            else:
                out[name] = format_decimal(value)
        return out

    def __str__(self) -> str:
        if self.is_zero():
            return "{}"
        return "{" + ", ".join(f"{k}: {v}" for k, v in self.to_k8s().items()) + "}"


RESOURCES_ZERO = Resources()
Resources.ZERO = RESOURCES_ZERO
