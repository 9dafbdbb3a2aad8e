"""The allocator's pods, and the ones it refuses before placing anything (pure).

A `CPUPod` is what `colo.agent.cpus` needs of a pod: uid, name, tier, cpu request and limit,
and whether the tier came from the `colo.io/qos` label. `check_pod` applies the request
rules (Koordinator: "The Request and Limit of LSE/LSR Pods MUST be equal and the CPU value
MUST be an integer multiple of 1000"; the kubelet's `full-pcpus-only`: an exclusive request
must be whole physical cores, else `SMTAlignmentError`) and says how many exclusive cpus a
pod needs, or returns a `Refusal` naming the pod and the field at fault.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from colo.core.objects import Pod
from colo.core.qos import QOS_LABEL, QoSTier

EXCLUSIVE_TIERS = frozenset({QoSTier.LSE, QoSTier.LSR})


@dataclass(frozen=True, slots=True)
class CPUPod:
    """A pod as the allocator sees it. `uid` identifies it across runs; `name` is `ns/name`."""

    uid: str
    name: str
    tier: QoSTier
    cpu_request_milli: int
    #: None: no cpu limit
    cpu_limit_milli: int | None = None
    #: the tier came from the `colo.io/qos` label; False when `colo.core.qos` derived it
    #: (a Guaranteed pod is LSR): such a pod is pinned only when its cpus are whole, and
    #: otherwise runs in the shared pool without a refusal, as under the kubelet's static policy
    tier_from_label: bool = True

    @classmethod
    def of(cls, pod: Pod) -> CPUPod:
        """From colo's pod view: its effective cpu request and limit (0 = none) and tier."""
        return cls(
            uid=pod.uid or pod.key,
            name=pod.key,
            tier=pod.tier,
            cpu_request_milli=pod.requests.cpu_milli,
            cpu_limit_milli=pod.limits.cpu_milli or None,
            tier_from_label=QOS_LABEL in pod.labels,
        )


class RefusalCode(enum.StrEnum):
    INVALID = "invalid"  # the pod's own numbers are wrong: `field` names which
    SMT_ALIGNMENT = "smt-alignment"  # an LSE request that is not whole cores
    NOT_ENOUGH_CORES = "not-enough-cores"  # LSE: too few whole free cores on the node
    NOT_ENOUGH_CPUS = "not-enough-cpus"  # LSR: too few free cpus on the node
    NO_NUMA_FIT = "no-numa-fit"  # single-numa-node: enough in total, not on one node
    SHARED_POOL = "shared-pool"  # it would leave the shared pool without a cpu


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a pod got no exclusive cpus this run (it runs in the shared pool meanwhile)."""

    uid: str
    name: str
    code: RefusalCode
    message: str
    #: the pod's field at fault (`resources.requests.cpu`, ...) for `INVALID`/`SMT_ALIGNMENT`
    field: str | None = None

    def __str__(self) -> str:
        where = f" (field {self.field})" if self.field else ""
        return f"pod {self.name}{where}: {self.message}"


def check_pod(pod: CPUPod, smt: int) -> Refusal | int | None:
    """The exclusive cpus `pod` needs (None for LS/BE/SYSTEM), or why its numbers are wrong."""
    req, lim = pod.cpu_request_milli, pod.cpu_limit_milli
    exclusive = pod.tier in EXCLUSIVE_TIERS
    if exclusive and not pod.tier_from_label and (req <= 0 or req % 1000 or lim != req):
        return None  # a derived LSR pod of fractional cpus: the shared pool, as the kubelet does
    if not exclusive:
        if req < 0:
            return _invalid(pod, "requests", f"a negative cpu request ({req}m)", "0 or more")
        if lim is not None and lim < req:
            return _invalid(pod, "limits", f"a cpu limit of {lim}m", f"at least the request {req}m")
        return None
    if req <= 0:
        return _invalid(pod, "requests", f"a cpu request of {req}m", "a positive whole number")
    if req % 1000:
        return _invalid(pod, "requests", f"a fractional cpu request ({req}m)", "whole cpus")
    if lim != req:
        got = "no cpu limit" if lim is None else f"a cpu limit of {lim}m"
        return _invalid(pod, "limits", got, f"equal to the request, {req}m")
    cpus = req // 1000
    if pod.tier is QoSTier.LSE and cpus % smt:
        return Refusal(
            pod.uid,
            pod.name,
            RefusalCode.SMT_ALIGNMENT,
            f"LSE pods get whole physical cores and {cpus} cpus is not a multiple of the "
            f"{smt} threads per core (kubelet full-pcpus-only: SMTAlignmentError); ask for "
            + " or ".join(str(n) for n in (cpus - cpus % smt, cpus - cpus % smt + smt) if n),
            field="resources.requests.cpu",
        )
    return cpus


def _invalid(pod: CPUPod, kind: str, got: str, expected: str) -> Refusal:
    return Refusal(
        pod.uid,
        pod.name,
        RefusalCode.INVALID,
        f"{pod.tier} pod has {got}: expected {expected}",
        field=f"resources.{kind}.cpu",
    )
