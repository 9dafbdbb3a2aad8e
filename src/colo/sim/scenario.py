"""Scenario files: what cluster, which workloads, which policies, for how long.

A scenario is YAML validated by pydantic models that forbid unknown keys. Errors are
turned into one `InvalidInput` per problem naming the file, the key path and what was
expected (`scenario default.yaml: key offline.target_load: expected a number between 0
and 1 (got 'lots')`), which the CLI reports with exit code 2.

Units: quantities are Kubernetes quantities (`500m`, `2Gi`), durations are `30s`/`1h30m`
or seconds, times of day `HH:MM`. Every field is documented in docs/scenarios.md.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from colo.core.duration import parse_duration_s, parse_time_of_day_s
from colo.core.errors import InvalidInput
from colo.core.quantity import cpu_milli, to_bytes


def _duration(value: Any) -> float:
    return parse_duration_s(value)


def _cpu(value: Any) -> int:
    return cpu_milli(str(value) if isinstance(value, int | float) else value, field="cpu")


def _bytes(value: Any) -> int:
    return to_bytes(str(value) if isinstance(value, int) else value, field="memory")


def _time_of_day(value: Any) -> float:
    if not isinstance(value, str):
        raise ValueError("expected a time of day as a string like '00:00'")
    return parse_time_of_day_s(value)


Seconds = Annotated[float, BeforeValidator(_duration)]
CpuMilli = Annotated[int, BeforeValidator(_cpu)]
Bytes = Annotated[int, BeforeValidator(_bytes)]
TimeOfDay = Annotated[float, BeforeValidator(_time_of_day)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeShapes(_Model):
    source: Literal["alibaba_k8s_2023", "alibaba2018", "fixed"] = "alibaba_k8s_2023"
    """Where node sizes come from: sampled from a trace's node list, or one fixed shape."""
    cpu: CpuMilli = 96_000
    memory: Bytes = 384 * 2**30
    max_memory: Bytes = 512 * 2**30
    """alibaba2018 machine_meta normalises memory to 0..100: this is what 100 means."""
    min_cpu: CpuMilli = 16_000
    """Trace node shapes smaller than this are not drawn (GPU-host leftovers)."""


class Cluster(_Model):
    nodes: int = Field(200, ge=1, le=100_000)
    shapes: NodeShapes = NodeShapes()
    system_reserved_cpu: CpuMilli = 1000
    system_reserved_memory: Bytes = 4 * 2**30
    virtual_nodes: int = Field(0, ge=0, le=1000)
    """Serverless virtual nodes (virtual-kubelet: labelled and tainted as such, paid per
    pod-second). Only colo-batch places pods there (the `colo` policy); they hold no
    online pods and count in no utilization figure."""
    virtual_node_cpu: CpuMilli = 2_000_000
    """What each virtual node advertises (its provider's quota)."""
    virtual_node_memory: Bytes = 8 * 2**40
    virtual_node_pods: int = Field(5000, ge=1)
    virtual_startup: Seconds = 1.0
    """From binding to running on a virtual node."""


class Online(_Model):
    sources: tuple[Literal["alibaba2018", "azure2019"], ...] = ("alibaba2018", "azure2019")
    request_share: Fraction = 0.6
    """Online requests as a share of the cluster's allocatable CPU (sized for peak)."""
    peak_to_request: Annotated[float, Field(gt=0, le=2)] = 0.9
    """An online pod's trace peak maps to this multiple of its request."""
    memory_usage_to_request: Annotated[float, Field(gt=0, le=2)] = 0.7
    pod_cpu: tuple[CpuMilli, ...] = (1000, 2000, 4000, 8000)
    """Online pod sizes, drawn uniformly."""
    cpu_to_memory_bytes_per_milli: int = Field(4 * 2**20, gt=0)
    """Memory request per millicore of an online pod (4 MiB per millicore = 4 GiB per core)."""
    slo_inflation_bound: float = Field(1.05, gt=1.0)
    """An online pod violates its SLO while its latency inflation exceeds this factor."""
    min_samples: int = Field(200, ge=2)
    """Trace series with fewer samples are not used."""


class Offline(_Model):
    sources: tuple[Literal["alibaba2017", "alibaba_k8s_2023"], ...] = (
        "alibaba2017",
        "alibaba_k8s_2023",
    )
    target_load: Fraction = 0.35
    """Offered offline CPU (requests × duration) as a share of cluster capacity over the run."""
    instances_per_pod: int = Field(8, ge=1)
    """One simulated pod stands for this many trace task instances (keeps a day tractable)."""
    max_pods_per_job: int = Field(64, ge=1)
    trace_max_memory: Bytes = 256 * 2**30
    """alibaba2017 normalises memory to the largest machine: this is that machine's memory."""
    min_duration: Seconds = 5.0
    max_duration: Seconds = 4 * 3600.0
    cpu_usage_to_request: Annotated[float, Field(gt=0, le=1.5)] = 0.9
    memory_usage_to_request: Annotated[float, Field(gt=0, le=1.5)] = 0.8
    k8s_be_share: Fraction = 0.2
    """Share of offline jobs drawn from alibaba_k8s_2023 BE pods (rest from alibaba2017)."""


class Wave(_Model):
    """Thousands of short jobs that all fire at the same second (CronJobs at 00:00)."""

    at: TimeOfDay = 0.0
    jobs: int = Field(2000, ge=0)
    pods_per_job: int = Field(1, ge=1)
    cpu: CpuMilli = 500
    memory: Bytes = 512 * 2**20
    duration: Seconds = 30.0


class Contention(_Model):
    """Parameters of `colo.sim.contention` (see there for the model)."""

    alpha: float = Field(0.01, ge=0)
    knee: Annotated[float, Field(ge=0, lt=1)] = 0.5
    beta: float = Field(2.0, ge=0)
    sensitivity_min: float = Field(0.5, ge=0)
    sensitivity_max: float = Field(1.5, ge=0)


class ControlPlane(_Model):
    """The stock Kubernetes control plane's client rate limits (their defaults)."""

    controller_qps: float = Field(20.0, gt=0)
    controller_burst: int = Field(30, ge=1)
    requests_per_job: int = Field(3, ge=1)
    """API requests the CronJob + Job controllers spend to turn a due job into a pod."""
    scheduler_qps: float = Field(50.0, gt=0)
    scheduler_burst: int = Field(100, ge=1)
    pod_startup: Seconds = 1.0
    """From binding to running (kubelet, image cached)."""
    scheduling_round: Seconds = 1.0
    """The simulated scheduler looks at its queue this often while pods are pending."""


class ReservedPolicy(_Model):
    offline_pool_fraction: Fraction = 0.3


class RequestBasedPolicy(_Model):
    pass


class ColoPolicy(_Model):
    """The `colo` policy: reclaim (docs/reclaim.md) and colo-batch with the coordinator
    (docs/scheduling.md, wiring in docs/simulator.md)."""

    report_interval: Seconds = 60.0
    """How often each node's simulated agent samples usage and reconsiders its batch figures."""
    horizon: Seconds = 600.0
    """How far ahead the peak estimate must hold."""
    safety_margin: Fraction = 0.10
    """Share of each node's capacity never handed to offline work."""
    min_history: Seconds = 1800.0
    """Online pods with less usage history count their full request."""
    cpu_policy: Literal["usage", "request", "max-usage-request"] = "usage"
    memory_policy: Literal["usage", "request", "max-usage-request"] = "usage"
    report_threshold: Fraction = 0.05
    """Changes smaller than this share of a node's capacity are not published."""
    offline_cpu_weight_per_milli: Annotated[float, Field(gt=0, le=1)] = 0.002
    """Without `protect`: CPU weight of offline pods per requested millicore (online: 1).
    BestEffort pods get cpu.shares 2 against an online core's 1024."""
    batch_scheduler_qps: float = Field(1000.0, gt=0)
    """colo-batch's client rate limit for bindings (`colo batch serve --qps`)."""
    batch_scheduler_burst: int = Field(1000, ge=1)
    """colo-batch's client burst for bindings (`colo batch serve --burst`)."""
    batch_cycle: Annotated[Seconds, Field(gt=0, le=60)] = 0.5
    """From the first change (a pod arrived, room freed) to the batch cycle that sees it:
    `--batch-delay` plus the cycle's and the reservation's own time."""
    jobs_on_virtual_nodes: Literal["prefer", "require", "avoid"] = "avoid"
    """Where ordinary offline jobs' pods go (colo-batch's `--jobs-on-virtual-nodes`);
    CronJob runs always prefer virtual nodes."""
    cron_lead: Annotated[Seconds, Field(ge=0, le=3600)] = 10.0
    """How long before a CronJob run is due colo-cron makes its Job and pods
    (`colo cron serve --lead`)."""
    protect: bool = True
    """Run the agents' protection loop (the guard and the offline box) on every node."""
    protect_interval: Annotated[Seconds, Field(gt=0)] | None = None
    """How often the protection loop measures and decides; None: every `step`."""
    target_util: Annotated[float, Field(gt=0, le=1)] = 0.9
    """What share of a node's CPU online + offline work may use together (the offline
    box's `target_util`)."""
    slo_probes: bool = True
    """Each online service has an SLO probe: a node where an online pod is over its SLO
    bound says so to its guard (else the guard has no SLO signal)."""
    idle_box_weight: Annotated[float, Field(gt=0)] = 3.0
    """With `protect`, the cpu weight of a node's whole offline box, which runs
    SCHED_IDLE (`cpu.idle`), in the units online pods weigh (1 per requested millicore,
    about the kernel's 1024 per core): the kernel gives an idle group the weight 3."""


class Costs(_Model):
    """Prices, in core-hours of a standard node (only ratios matter)."""

    virtual_core_hour: Annotated[float, Field(gt=0)] = 1.5
    """What a core-hour of pods on virtual nodes costs: pay-per-use capacity is dearer per
    core-hour than a node's, and paid only while pods run."""


class Policies(_Model):
    reserved: ReservedPolicy = ReservedPolicy()
    request_based: RequestBasedPolicy = Field(RequestBasedPolicy(), alias="request-based")
    colo: ColoPolicy = ColoPolicy()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Quick(_Model):
    """Overrides applied by `--quick`: a small cluster over a short window around the wave."""

    nodes: int = Field(24, ge=1)
    duration: Seconds = 2 * 3600.0
    start_time_of_day: TimeOfDay = 23 * 3600.0
    wave_jobs: int = Field(300, ge=0)


class Scenario(_Model):
    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    seed: int = 1
    duration: Seconds = 24 * 3600.0
    start_time_of_day: TimeOfDay = 6 * 3600.0
    step: Seconds = 30.0
    cluster: Cluster = Cluster()
    online: Online = Online()
    offline: Offline = Offline()
    wave: Wave | None = Wave()
    contention: Contention = Contention()
    control_plane: ControlPlane = ControlPlane()
    costs: Costs = Costs()
    policies: Policies = Policies()
    quick: Quick = Quick()

    @field_validator("duration", "step")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be greater than zero")
        return value

    def quickened(self) -> Scenario:
        """The `--quick` variant: same workload shapes, smaller and shorter."""
        wave = self.wave.model_copy(update={"jobs": self.quick.wave_jobs}) if self.wave else None
        return self.model_copy(
            update={
                "duration": self.quick.duration,
                "start_time_of_day": self.quick.start_time_of_day,
                "cluster": self.cluster.model_copy(update={"nodes": self.quick.nodes}),
                "wave": wave,
            }
        )


BUILTIN_SCENARIOS = ("default", "cron-wave")


def scenario_path(name_or_path: str) -> Path:
    """A built-in scenario name, or a path to a YAML file."""
    if name_or_path in BUILTIN_SCENARIOS:
        ref = resources.files("colo.sim").joinpath("scenarios").joinpath(f"{name_or_path}.yaml")
        return Path(str(ref))
    path = Path(name_or_path)
    if not path.exists():
        raise InvalidInput(
            "no such scenario",
            obj=f"scenario {name_or_path}",
            expected=f"a built-in name ({', '.join(BUILTIN_SCENARIOS)}) or a path to a YAML file",
        )
    return path


def load_scenario(name_or_path: str) -> Scenario:
    path = scenario_path(name_or_path)
    label = f"scenario {path.name}"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read file: {exc.strerror}", obj=label) from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"not valid YAML: {exc}", obj=label) from None
    if not isinstance(raw, dict):
        raise InvalidInput("not a mapping", obj=label, expected="a YAML mapping of scenario keys")
    return parse_scenario(raw, label=label)


def parse_scenario(raw: dict[str, Any], *, label: str) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise _scenario_error(exc, label) from None


def _scenario_error(exc: ValidationError, label: str) -> InvalidInput:
    """The first validation problem as an InvalidInput naming the key path."""
    messages: list[str] = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(err["loc"][:-1])
            hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
            messages.append(f"key {loc}: unknown key{hint}")
        elif err["type"] == "missing":
            messages.append(f"key {loc}: required key is missing")
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            messages.append(f"key {loc}: {msg} (got {err.get('input')!r})")
    return InvalidInput("; ".join(messages), obj=label)


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model at `loc` accepts (by alias), for the unknown-key message."""
    model: type[BaseModel] = Scenario
    for part in loc:
        info = model.model_fields.get(str(part))
        if info is None:
            info = next((f for f in model.model_fields.values() if f.alias == part), None)
        annotation = getattr(info, "annotation", None)
        inner = [
            a
            for a in getattr(annotation, "__args__", (annotation,))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not inner:
            return []
        model = inner[0]
    return sorted(f.alias or name for name, f in model.model_fields.items())
