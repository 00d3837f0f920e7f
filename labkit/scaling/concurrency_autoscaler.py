"""Two alternatives to the CPU-driven HPA: concurrency with a panic mode, and a schedule.

:class:`ConcurrencyAutoscaler` follows Knative's KPA (``pkg/autoscaler/scaling/autoscaler.go``):
it sizes the pool from the number of requests *in flight* — the quantity a server actually
saturates on — averaged over a 60 s stable window, and watches a 6 s panic window. When the
panic window asks for at least twice the ready pods, it enters panic mode: it scales on the short
window and never scales down until the condition has been absent for a whole stable window.

:class:`ScheduledScaler` is scheduled (or predictive) scaling: replicas by time of day, planned
ahead from yesterday's traffic with a lead time for pod start-up, as a cron-based KEDA scaler or a
cloud provider's predictive scaling would. It cannot see a surprise surge, so in practice it sets
a floor under a reactive autoscaler.

Examples are on :class:`ConcurrencyAutoscaler`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from labkit._validate import check_int, check_real
from labkit.scaling.traffic import TrafficProfile

__all__ = ["ConcurrencyAutoscaler", "ScheduledScaler"]


def _positive(value: float, name: str) -> float:
    return check_real(value, name, min_val=0, include_boundaries="neither")


def _fraction(value: float, name: str) -> float:
    return check_real(value, name, min_val=0, max_val=1, include_boundaries="right")


def _above_one(value: float, name: str) -> float:
    return check_real(value, name, min_val=1, include_boundaries="neither")


@dataclass
class ConcurrencyAutoscaler:
    """Knative-style concurrency autoscaler with stable and panic windows.

    Parameters
    ----------
    target_concurrency
        Requests in flight one replica should carry (Knative's container-concurrency target,
        default 100).
    target_utilization
        Fraction of the target to aim for (Knative default 0.7), leaving headroom for bursts.
    stable_window_s, panic_window_s
        Averaging windows (Knative defaults 60 s and 10% of it, 6 s).
    panic_threshold
        Enter panic when the panic window asks for this multiple of the ready pods (2.0 = 200%).
    max_scale_up_rate, max_scale_down_rate
        Per decision, at most ``ceil(rate × ready)`` pods up and down to ``floor(ready / rate)``.
    min_replicas, max_replicas
        Bounds; ``min_replicas=0`` allows scale to zero when nothing is in flight for a whole
        stable window.

    Examples
    --------
    >>> kpa = ConcurrencyAutoscaler(target_concurrency=10.0, target_utilization=1.0)
    >>> for t in range(0, 60, 2):
    ...     _ = kpa.observe(float(t), 30.0)
    >>> kpa.step(60.0, ready_replicas=3)
    3
    >>> _ = kpa.observe(62.0, 300.0)  # a burst: the panic window sees 10x the load
    >>> kpa.step(62.0, ready_replicas=3), kpa.in_panic  # 6 s window: (30 + 300) / 2
    (17, True)
    """

    target_concurrency: float = 100.0
    target_utilization: float = 0.7
    stable_window_s: float = 60.0
    panic_window_s: float = 6.0
    panic_threshold: float = 2.0
    max_scale_up_rate: float = 1000.0
    max_scale_down_rate: float = 2.0
    min_replicas: int = 1
    max_replicas: int = 1000
    _samples: deque[tuple[float, float]] = field(init=False, repr=False)
    _panic_since: float | None = field(init=False, repr=False)
    _max_panic_pods: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.target_concurrency = _positive(self.target_concurrency, "target_concurrency")
        self.target_utilization = _fraction(self.target_utilization, "target_utilization")
        self.stable_window_s = _positive(self.stable_window_s, "stable_window_s")
        self.panic_window_s = _positive(self.panic_window_s, "panic_window_s")
        if self.panic_window_s > self.stable_window_s:
            raise ValueError("panic_window_s must not exceed stable_window_s")
        self.panic_threshold = _above_one(self.panic_threshold, "panic_threshold")
        self.max_scale_up_rate = _above_one(self.max_scale_up_rate, "max_scale_up_rate")
        self.max_scale_down_rate = _above_one(self.max_scale_down_rate, "max_scale_down_rate")
        self.min_replicas = check_int(self.min_replicas, "min_replicas", min_val=0)
        self.max_replicas = check_int(
            self.max_replicas, "max_replicas", min_val=max(1, self.min_replicas)
        )
        self._samples = deque()
        self._panic_since = None
        self._max_panic_pods = 0

    @property
    def in_panic(self) -> bool:
        return self._panic_since is not None

    def observe(self, now_s: float, concurrency: float) -> ConcurrencyAutoscaler:
        """Record the pool's total requests in flight at ``now_s`` (Knative scrapes every 1 s)."""
        now_s = check_real(now_s, "now_s", unit="seconds")
        concurrency = check_real(concurrency, "concurrency", min_val=0)
        self._samples.append((now_s, concurrency))
        while self._samples and self._samples[0][0] <= now_s - self.stable_window_s:
            self._samples.popleft()
        return self

    def _average(self, now_s: float, window_s: float) -> float | None:
        values = [v for t, v in self._samples if t > now_s - window_s]
        return sum(values) / len(values) if values else None

    def step(self, now_s: float, ready_replicas: int) -> int:
        """The desired replica count given the samples so far and the pods ready now."""
        ready_replicas = check_int(ready_replicas, "ready_replicas", min_val=0)
        stable = self._average(now_s, self.stable_window_s)
        if stable is None:  # no data yet: keep what is there
            return min(max(ready_replicas, self.min_replicas), self.max_replicas)
        panic = self._average(now_s, self.panic_window_s)
        panic = stable if panic is None else panic
        target = self.target_concurrency * self.target_utilization
        ready = max(1.0, float(ready_replicas))
        max_up = math.ceil(self.max_scale_up_rate * ready)
        max_down = math.floor(ready / self.max_scale_down_rate)
        want_stable = math.ceil(stable / target)
        want_panic = math.ceil(panic / target)
        desired_stable = int(min(max(want_stable, max_down), max_up))
        desired_panic = int(min(max(want_panic, max_down), max_up))

        if want_panic / ready >= self.panic_threshold:
            self._panic_since = now_s  # enter, or extend, panic
        elif self._panic_since is not None and now_s > self._panic_since + self.stable_window_s:
            self._panic_since = None
            self._max_panic_pods = 0
        desired = desired_stable
        if self._panic_since is not None:  # in panic: follow the short window, never go down
            self._max_panic_pods = max(self._max_panic_pods, desired_panic, ready_replicas)
            desired = self._max_panic_pods
        if stable == 0 and self.min_replicas == 0 and not self.in_panic:
            desired = 0  # scale to zero once a whole stable window saw nothing in flight
        return min(max(desired, self.min_replicas), self.max_replicas)


@dataclass(frozen=True)
class ScheduledScaler:
    """Replicas by time of day: a step function over a repeating period.

    Parameters
    ----------
    schedule
        ``(offset_s, replicas)`` pairs sorted by offset within the period; each holds from its
        offset until the next. The first offset must be 0.
    period_s
        Length of the repeating period (a day by default).
    clock_offset_s
        Position in the period when the caller's clock reads 0 (a simulation that starts at
        16:00 passes 16 × 3600).
    """

    schedule: Sequence[tuple[float, int]]
    period_s: float = 86_400.0
    clock_offset_s: float = 0.0

    def __post_init__(self) -> None:
        schedule = tuple((float(t), int(r)) for t, r in self.schedule)
        if not schedule or schedule[0][0] != 0.0:
            raise ValueError("schedule must be non-empty and start at offset 0")
        offsets = [t for t, _ in schedule]
        if offsets != sorted(offsets) or len(set(offsets)) != len(offsets):
            raise ValueError("schedule offsets must be strictly increasing")
        if any(r < 0 for _, r in schedule):
            raise ValueError("schedule replicas must be >= 0")
        object.__setattr__(self, "period_s", _positive(self.period_s, "period_s"))
        object.__setattr__(
            self, "clock_offset_s", check_real(self.clock_offset_s, "clock_offset_s")
        )
        if offsets[-1] >= self.period_s:
            raise ValueError("schedule offsets must lie within the period")
        object.__setattr__(self, "schedule", schedule)

    def replicas_at(self, now_s: float) -> int:
        offset = (now_s + self.clock_offset_s) % self.period_s
        offsets = [t for t, _ in self.schedule]
        i = int(np.searchsorted(offsets, offset, side="right")) - 1
        return self.schedule[i][1]

    @classmethod
    def from_forecast(
        cls,
        forecast: TrafficProfile,
        *,
        capacity_rps: float,
        target_utilization: float = 0.6,
        lead_s: float = 600.0,
        block_s: float = 900.0,
        min_replicas: int = 1,
        max_replicas: int = 1000,
        clock_offset_s: float = 0.0,
    ) -> ScheduledScaler:
        """Plan replicas from a forecast (for example yesterday's profile).

        Each block of ``block_s`` seconds gets enough replicas for the highest forecast rate
        from the block's start to ``lead_s`` past its end, at ``target_utilization`` of
        ``capacity_rps`` per replica: capacity is ready before the traffic arrives. The
        forecast's time 0 is the start of the period (midnight for a daily profile).
        """
        capacity_rps = _positive(capacity_rps, "capacity_rps")
        target_utilization = _fraction(target_utilization, "target_utilization")
        lead_s = check_real(lead_s, "lead_s", min_val=0, unit="seconds")
        block_s = _positive(block_s, "block_s")
        min_replicas = check_int(min_replicas, "min_replicas", min_val=0)
        max_replicas = check_int(max_replicas, "max_replicas", min_val=max(1, min_replicas))
        period = forecast.duration_s
        starts = np.arange(0.0, period, block_s)
        t = forecast.times_s
        schedule = []
        for start in starts:
            end = start + block_s + lead_s
            mask = (t >= start) & (t < end)
            if end > period:  # wrap around the day
                mask |= t < end - period
            peak = float(forecast.rate_rps[mask].max()) if mask.any() else 0.0
            replicas = math.ceil(peak / (capacity_rps * target_utilization))
            schedule.append((float(start), min(max(replicas, min_replicas), max_replicas)))
        return cls(schedule=schedule, period_s=period, clock_offset_s=clock_offset_s)
