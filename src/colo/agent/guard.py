"""The interference guard: one explicit state machine per node, all nodes in arrays.

States, in order of strength (`Level`):

- `NORMAL`: offline work runs in the box as sized (`colo.agent.box`).
- `THROTTLE`: the box is squeezed to `throttle_share` of what it would get.
- `FORBID`: as THROTTLE, and the node publishes zero batch capacity, so no new offline
  pod arrives.
- `EVICT`: as FORBID, and offline pods are evicted, one per `evict_cooldown_s`.

Every interval the signals of each node *call for* a level, the strongest any signal
calls for (`called`):

| signal (NaN: unavailable, ignored)           | THROTTLE at | FORBID at | EVICT at |
|----------------------------------------------|-------------|-----------|----------|
| `cpu`: CPU in use outside the offline box    | 0.80        | 0.90      | 0.97     |
| `online`: online pods' CPU in use            | —           | 0.70      | 0.85     |
| `psi_cpu`: PSI cpu "some" avg10              | 0.10        | 0.25      | 0.50     |
| `psi_memory`: PSI memory "full" avg10        | 0.01        | 0.05      | 0.10     |
| `psi_io`: PSI io "full" avg10                | 0.05        | 0.20      | —        |
| `cpi`: online pods' CPI over their baseline  | 1.3         | 1.6       | —        |
| an online pod's SLO probe fails              | `slo_level` (EVICT by default)     |

(fractions of capacity, and of time for PSI; option `<signal>_<level>`, e.g.
`cpu_throttle`.)

Hysteresis: the state steps **up** one level after `up_after` consecutive intervals that
call for more than the state, and **down** one level after `down_after` consecutive
intervals that call for less; an interval calling for exactly the state resets both
counts. So a lasting breach climbs one level per `up_after` intervals, and a node calms
down one level per `down_after` quiet intervals. `react` marks the intervals a node
stepped up at, for the box to squeeze at once.

Pure and vectorized: `step(signals, now)` costs a few numpy operations for any number of
nodes (the simulator runs thousands; the agent one).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from colo.core.errors import InvalidInput


class Level(enum.IntEnum):
    NORMAL = 0
    THROTTLE = 1
    FORBID = 2
    EVICT = 3


_NONE = np.inf  # a level a signal never calls for


@dataclass(frozen=True)
class GuardOptions:
    """Thresholds (fractions) per signal and level, and the hysteresis; see the module
    docstring for what each means."""

    cpu_throttle: float = 0.80
    cpu_forbid: float = 0.90
    cpu_evict: float = 0.97
    online_forbid: float = 0.70
    online_evict: float = 0.85
    psi_cpu_throttle: float = 0.10
    psi_cpu_forbid: float = 0.25
    psi_cpu_evict: float = 0.50
    psi_memory_throttle: float = 0.01
    psi_memory_forbid: float = 0.05
    psi_memory_evict: float = 0.10
    psi_io_throttle: float = 0.05
    psi_io_forbid: float = 0.20
    cpi_throttle: float = 1.3
    cpi_forbid: float = 1.6
    slo_level: Level = Level.EVICT
    up_after: int = 2
    """Consecutive intervals calling for more before the state steps up."""
    down_after: int = 6
    """Consecutive intervals calling for less before the state steps down."""
    evict_cooldown_s: float = 30.0
    """At most one eviction per node this often."""

    def __post_init__(self) -> None:
        for name, levels in _ROWS.items():
            values = [getattr(self, f"{name}_{lvl}") for lvl in levels if lvl]
            if any(not (v > 0) for v in values) or values != sorted(values):
                raise InvalidInput(
                    "thresholds must be positive and rise with the level",
                    obj="guard options", field=name, value=values,
                )  # fmt: skip
        if self.up_after < 1 or self.down_after < 1:
            raise InvalidInput(
                "must be >= 1", obj="guard options", field="up_after/down_after",
                value=(self.up_after, self.down_after),
            )  # fmt: skip
        if self.evict_cooldown_s < 0:
            raise InvalidInput(
                "must be >= 0", obj="guard options", field="evict_cooldown_s",
                value=self.evict_cooldown_s,
            )  # fmt: skip


# signal -> the option suffix per level (THROTTLE, FORBID, EVICT); "" where it has none
_ROWS = {
    "cpu": ("throttle", "forbid", "evict"),
    "online": ("", "forbid", "evict"),
    "psi_cpu": ("throttle", "forbid", "evict"),
    "psi_memory": ("throttle", "forbid", "evict"),
    "psi_io": ("throttle", "forbid", ""),
    "cpi": ("throttle", "forbid", ""),
}


@dataclass
class Signals:
    """One interval's measurements, one value per node (NaN: not available there)."""

    cpu: np.ndarray
    """Node CPU in use outside the offline box (online pods and the system), as a
    fraction of capacity: the box is sized to fill the rest, so counting it would make
    every well-used node look overloaded."""
    online: np.ndarray
    """Online pods' CPU in use as a fraction of capacity."""
    psi_cpu: np.ndarray
    psi_memory: np.ndarray
    psi_io: np.ndarray
    cpi: np.ndarray
    """Online pods' cycles per instruction over their baseline (NaN: no counters)."""
    slo_failing: np.ndarray
    """1: an online pod's SLO probe says it is failing; 0: ok; NaN: unknown (no probe,
    timed out: unknown is never counted as healthy or as failing)."""

    @classmethod
    def unavailable(cls, n: int) -> Signals:
        return cls(*(np.full(n, np.nan) for _ in range(7)))


@dataclass
class Transition:
    """A node changed state: what an operator sees as an Event, a log line and a metric."""

    node: int
    old: Level
    new: Level
    reason: str


@dataclass
class GuardState:
    """Per node: the state, the hysteresis counts, the last eviction."""

    level: np.ndarray
    up: np.ndarray
    down: np.ndarray
    last_evict_s: np.ndarray
    called: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))


class Guard:
    """The guard of `n` nodes (see the module docstring)."""

    def __init__(self, n: int, options: GuardOptions | None = None) -> None:
        self.options = opts = options or GuardOptions()
        self.n = n
        self.state = GuardState(
            level=np.zeros(n, np.int8),
            up=np.zeros(n, np.int16),
            down=np.zeros(n, np.int16),
            last_evict_s=np.full(n, -np.inf),
            called=np.zeros(n, np.int8),
        )
        # [signal, level-1] thresholds (inf: the signal never calls for that level)
        self._thresholds = np.array(
            [
                [getattr(opts, f"{name}_{lvl}") if lvl else _NONE for lvl in levels]
                for name, levels in _ROWS.items()
            ]
        )
        self._names = list(_ROWS)
        self._levels = np.arange(1, 4, dtype=np.int8)[None, None, :]

    def called_for(self, s: Signals) -> tuple[np.ndarray, np.ndarray]:
        """(the level each node's signals call for, which signal called loudest)."""
        values = np.stack([getattr(s, name) for name in self._names])  # [signals, n]
        with np.errstate(invalid="ignore"):
            # [signals, n, levels]: which thresholds each value reaches (NaN: none)
            reached = values[:, :, None] >= self._thresholds[:, None, :]
        # the highest level reached, per signal, then per node
        per_signal = (reached * self._levels).max(axis=2)  # [signals, n]
        loudest = per_signal.argmax(axis=0)
        level = per_signal.max(axis=0)
        slo = np.nan_to_num(s.slo_failing, nan=0.0) > 0
        level = np.where(slo, np.maximum(level, int(self.options.slo_level)), level)
        loudest = np.where(slo & (level == int(self.options.slo_level)), len(self._names), loudest)
        return level.astype(np.int8), loudest

    def step(self, signals: Signals, now_s: float) -> list[Transition]:
        """One interval for every node; returns the nodes that changed state."""
        st, opts = self.state, self.options
        called, loudest = self.called_for(signals)
        st.called = called
        more, less = called > st.level, called < st.level
        st.up = np.where(more, st.up + 1, 0).astype(np.int16)
        st.down = np.where(less, st.down + 1, 0).astype(np.int16)
        rise = st.up >= opts.up_after
        fall = st.down >= opts.down_after
        changed = np.flatnonzero(rise | fall)
        if not changed.size:
            return []
        old = st.level.copy()
        st.level = np.where(rise, st.level + 1, np.where(fall, st.level - 1, st.level)).astype(
            np.int8
        )
        st.up[changed] = 0
        st.down[changed] = 0
        out = []
        for i in changed.tolist():
            new = Level(int(st.level[i]))
            why = self._reason(i, signals, int(loudest[i]), int(called[i]), rise[i])
            out.append(Transition(i, Level(int(old[i])), new, why))
        return out

    def _reason(self, i: int, s: Signals, loudest: int, called: int, rose: bool) -> str:
        opts = self.options
        if rose:
            if loudest == len(self._names):
                what = "an online pod's SLO probe is failing"
            else:
                name = self._names[loudest]
                value = float(getattr(s, name)[i])
                what = f"{_LABELS[name]} {value:.2f} reached the {Level(called).name} threshold"
            return f"{what} for {opts.up_after} intervals"
        return f"signals called for less for {opts.down_after} intervals"

    def may_evict(self, node: int, now_s: float) -> bool:
        """Whether `node` is in EVICT and its cooldown has passed (the caller evicts one
        pod and reports it with `evicted`)."""
        return bool(self.state.level[node] >= Level.EVICT) and self.cooldown_over(node, now_s)

    def cooldown_over(self, node: int, now_s: float) -> bool:
        """Whether `evict_cooldown_s` has passed since `node`'s last eviction (for any
        reason: the protection loop's anti-starvation evictions share the cooldown)."""
        return bool(now_s - self.state.last_evict_s[node] >= self.options.evict_cooldown_s)

    def evicted(self, node: int, now_s: float) -> None:
        self.state.last_evict_s[node] = now_s


_LABELS = {
    "cpu": "cpu in use outside the offline box",
    "online": "online cpu in use",
    "psi_cpu": "cpu pressure (some, avg10)",
    "psi_memory": "memory pressure (full, avg10)",
    "psi_io": "io pressure (full, avg10)",
    "cpi": "online cpi over baseline",
}
