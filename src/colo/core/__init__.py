"""colo's core: resources, quantities, QoS tiers, pod/node views, CPU topology, errors.

Pure code (no I/O, no clock, no globals) that every other layer builds on. Importing it is
cheap: only the standard library.
"""

from colo.core.errors import (
    ColoError,
    Conflict,
    InfrastructureError,
    InvalidInput,
    NotFound,
    Permanent,
    Retryable,
)
from colo.core.objects import Node, Pod, Taint, Toleration, untolerated_taint
from colo.core.podresources import ContainerResources, PodResources
from colo.core.qos import (
    PRIORITY_BANDS,
    QOS_LABEL,
    KubernetesQoSClass,
    PriorityBand,
    QoSTier,
    kubernetes_qos_class,
    priority_band,
    tier_of,
)
from colo.core.quantity import (
    Format,
    ParsedQuantity,
    canonical_quantity,
    cpu_milli,
    format_bytes,
    format_cpu_milli,
    format_decimal,
    format_quantity,
    parse_quantity,
    parse_quantity_with_format,
    to_bytes,
    to_int,
)
from colo.core.resources import (
    BATCH_CPU,
    BATCH_MEMORY,
    CPU,
    MEMORY,
    PODS,
    Resources,
    is_extended_resource,
)
from colo.core.topology import CPUInfo, CPUSet, CPUTopology, format_cpuset, parse_cpuset

__all__ = [
    "BATCH_CPU",
    "BATCH_MEMORY",
    "CPU",
    "MEMORY",
    "PODS",
    "PRIORITY_BANDS",
    "QOS_LABEL",
    "CPUInfo",
    "CPUSet",
    "CPUTopology",
    "ColoError",
    "Conflict",
    "ContainerResources",
    "Format",
    "InfrastructureError",
    "InvalidInput",
    "KubernetesQoSClass",
    "Node",
    "NotFound",
    "ParsedQuantity",
    "Permanent",
    "Pod",
    "PodResources",
    "PriorityBand",
    "QoSTier",
    "Resources",
    "Retryable",
    "Taint",
    "Toleration",
    "canonical_quantity",
    "cpu_milli",
    "format_bytes",
    "format_cpu_milli",
    "format_cpuset",
    "format_decimal",
    "format_quantity",
    "is_extended_resource",
    "kubernetes_qos_class",
    "parse_cpuset",
    "parse_quantity",
    "parse_quantity_with_format",
    "priority_band",
    "tier_of",
    "to_bytes",
    "to_int",
    "untolerated_taint",
]
