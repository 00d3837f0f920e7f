"""Traffic: open-loop send schedules and a daily traffic profile with a peak-hour surge.

An open-loop load generator decides *when* every request is sent before the test starts, so a
slow server cannot slow the sender down (the mistake behind coordinated omission, see
:mod:`labkit.scaling.load`). :func:`constant_schedule` and :func:`poisson_schedule` produce
those send times; :func:`profile_schedule` draws them from a time-varying rate.

:func:`peak_hour_profile` is the day a recommendation service lives through: a night trough, a
lunchtime bump, an evening peak and, on top, a surge (a push notification, a sale) that ramps up
in minutes. The simulator in :mod:`labkit.scaling.simulator` replays it against autoscalers.

Examples
--------
>>> constant_schedule(rate=4.0, duration_s=1.0)
array([0.  , 0.25, 0.5 , 0.75])
>>> p = peak_hour_profile(peak_rps=1000.0, seed=0)
>>> p.peak_rps > 1000.0, bool(0 < p.rate_rps.min() < 400)
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from labkit._validate import check_real

__all__ = [
    "TrafficProfile",
    "constant_schedule",
    "daily_curve",
    "peak_hour_profile",
    "poisson_schedule",
    "profile_schedule",
]


def constant_schedule(rate: float, duration_s: float) -> np.ndarray:
    """Send offsets (seconds from the start) at exactly ``rate`` requests per second.

    >>> len(constant_schedule(100.0, 2.0))
    200
    """
    rate = check_real(rate, "rate", min_val=0, include_boundaries="neither")
    duration_s = check_real(duration_s, "duration_s", min_val=0, include_boundaries="neither")
    n = math.floor(rate * duration_s + 1e-9)
    return np.arange(n, dtype=np.float64) / rate


def poisson_schedule(rate: float, duration_s: float, seed: int | None = None) -> np.ndarray:
    """Send offsets of a Poisson process: independent exponential gaps with mean ``1/rate``.

    Real users do not coordinate, so arrivals from many of them are close to Poisson; bursts
    happen by chance, which is why a server at 80% average load still queues.

    >>> s = poisson_schedule(1000.0, 10.0, seed=1)
    >>> bool(np.all(np.diff(s) > 0)), 9500 < len(s) < 10500, bool(s[-1] < 10.0)
    (True, True, True)
    """
    rate = check_real(rate, "rate", min_val=0, include_boundaries="neither")
    duration_s = check_real(duration_s, "duration_s", min_val=0, include_boundaries="neither")
    rng = np.random.default_rng(seed)
    # Draw a few more gaps than the mean needs, then cut at the duration (no bias at the end).
    n = int(rate * duration_s + 10 * math.sqrt(rate * duration_s) + 10)
    times = np.cumsum(rng.exponential(1.0 / rate, size=n))
    while times[-1] < duration_s:  # astronomically rare; keep drawing rather than truncate
        times = np.concatenate([times, times[-1] + np.cumsum(rng.exponential(1.0 / rate, n))])
    return times[times < duration_s]


@dataclass(frozen=True)
class TrafficProfile:
    """A request rate over time, piecewise constant on steps of ``step_s`` seconds.

    Attributes
    ----------
    times_s
        Start of each step, seconds from the start of the profile.
    rate_rps
        Requests per second during each step.
    step_s
        Step length in seconds.
    """

    times_s: np.ndarray
    rate_rps: np.ndarray
    step_s: float

    def __post_init__(self) -> None:
        if self.times_s.shape != self.rate_rps.shape or self.times_s.ndim != 1:
            raise ValueError("times_s and rate_rps must be 1-D arrays of the same length")
        if np.any(self.rate_rps < 0) or not np.all(np.isfinite(self.rate_rps)):
            raise ValueError("rate_rps must be finite and >= 0")

    @property
    def duration_s(self) -> float:
        return float(len(self.times_s) * self.step_s)

    @property
    def peak_rps(self) -> float:
        return float(self.rate_rps.max())

    @property
    def total_requests(self) -> float:
        return float(self.rate_rps.sum() * self.step_s)

    def rate_at(self, t_s: float) -> float:
        """The rate in force at time ``t_s`` (wrapping around, so a profile repeats daily)."""
        i = int((t_s % self.duration_s) // self.step_s)
        return float(self.rate_rps[i])

    def scaled(self, factor: float) -> TrafficProfile:
        """The same shape with every rate multiplied by ``factor``."""
        factor = check_real(factor, "factor", min_val=0, include_boundaries="neither")
        return TrafficProfile(self.times_s, self.rate_rps * factor, self.step_s)

    def __repr__(self) -> str:
        return (
            f"TrafficProfile({len(self.times_s)} steps of {self.step_s:g} s, "
            f"{self.duration_s / 3600:.3g} h, mean {self.rate_rps.mean():.1f} rps, "
            f"peak {self.peak_rps:.1f} rps)"
        )


def _raw_curve(hour: np.ndarray) -> np.ndarray:
    hour = np.asarray(hour, dtype=np.float64) % 24.0

    def bump(center: float, width: float) -> np.ndarray:
        d = (hour - center + 12.0) % 24.0 - 12.0  # circular distance in hours
        return np.exp(-0.5 * (d / width) ** 2)

    return 0.12 + 0.35 * bump(12.5, 1.8) + 0.25 * bump(9.0, 1.5) + 0.88 * bump(20.5, 2.2)


_CURVE_PEAK = float(_raw_curve(np.linspace(0.0, 24.0, 24 * 60 + 1)).max())


def daily_curve(hour: np.ndarray) -> np.ndarray:
    """Relative traffic by hour of day, 1.0 at the evening peak: a trough around 04:00, a
    morning ramp, a lunchtime bump and the evening peak around 20:30 (a consumer app's shape).

    >>> float(daily_curve(20.5).round(3)), bool(daily_curve(4.0) < 0.2)
    (1.0, True)
    """
    return _raw_curve(hour) / _CURVE_PEAK


def peak_hour_profile(
    *,
    peak_rps: float = 1000.0,
    duration_s: float = 86_400.0,
    step_s: float = 5.0,
    start_hour: float = 0.0,
    surge_at_hour: float | None = 19.5,
    surge_factor: float = 1.6,
    surge_ramp_s: float = 300.0,
    surge_length_s: float = 1800.0,
    noise: float = 0.05,
    seed: int | None = 0,
) -> TrafficProfile:
    """A day of traffic: :func:`daily_curve` scaled to ``peak_rps`` plus a surge.

    Parameters
    ----------
    peak_rps
        The rate at the regular evening peak (before the surge).
    duration_s, step_s, start_hour
        Length of the profile, its resolution, and the hour of day it starts at.
    surge_at_hour
        When the surge starts (hour of day), or ``None`` for none. It ramps up linearly over
        ``surge_ramp_s`` to ``surge_factor`` × the regular traffic, holds, and decays
        exponentially with time constant ``surge_ramp_s`` after ``surge_length_s``.
    noise
        Relative standard deviation of slow random wander (an AR(1) process with a 5-minute
        memory), so no two days are identical.
    seed
        Seed for the noise.
    """
    peak_rps = check_real(peak_rps, "peak_rps", min_val=0, include_boundaries="neither")
    duration_s = check_real(duration_s, "duration_s", min_val=0, include_boundaries="neither")
    step_s = check_real(step_s, "step_s", min_val=0, include_boundaries="neither")
    surge_factor = check_real(surge_factor, "surge_factor", min_val=1, max_val=100)
    noise = check_real(noise, "noise", min_val=0, max_val=1, include_boundaries="left")
    n = math.ceil(duration_s / step_s)
    times = np.arange(n, dtype=np.float64) * step_s
    hours = start_hour + times / 3600.0
    rate = peak_rps * daily_curve(hours)
    if surge_at_hour is not None:
        since = ((hours - surge_at_hour) % 24.0) * 3600.0  # seconds since the surge began
        ramp = np.clip(since / surge_ramp_s, 0.0, 1.0)
        decay = np.where(
            since > surge_length_s, np.exp(-(since - surge_length_s) / surge_ramp_s), 1.0
        )
        boost = 1.0 + (surge_factor - 1.0) * ramp * decay
        boost[since > surge_length_s + 20 * surge_ramp_s] = 1.0
        rate = rate * boost
    if noise > 0:
        rng = np.random.default_rng(seed)
        phi = math.exp(-step_s / 300.0)
        shocks = rng.normal(0.0, noise * math.sqrt(1 - phi**2), size=n)
        wander = np.empty(n)
        wander[0] = rng.normal(0.0, noise)
        for i in range(1, n):
            wander[i] = phi * wander[i - 1] + shocks[i]
        rate = rate * np.clip(1.0 + wander, 0.5, 1.5)
    return TrafficProfile(times_s=times, rate_rps=rate, step_s=step_s)


def profile_schedule(
    profile: TrafficProfile, seed: int | None = None, time_scale: float = 1.0
) -> np.ndarray:
    """Send offsets of a Poisson process whose rate follows ``profile``.

    ``time_scale`` compresses time for a short real load test: 60 replays each minute of the
    profile in one second at the same request rates.

    >>> p = TrafficProfile(np.array([0.0, 1.0]), np.array([100.0, 300.0]), step_s=1.0)
    >>> s = profile_schedule(p, seed=0)
    >>> bool(80 < (s < 1).sum() < 120), bool(250 < (s >= 1).sum() < 350)
    (True, True)
    """
    time_scale = check_real(time_scale, "time_scale", min_val=0, include_boundaries="neither")
    rng = np.random.default_rng(seed)
    step = profile.step_s / time_scale
    chunks = []
    for i, rate in enumerate(profile.rate_rps):
        count = rng.poisson(rate * step)  # given the count, Poisson times are uniform
        chunks.append(i * step + np.sort(rng.uniform(0.0, step, size=count)))
    return np.concatenate(chunks) if chunks else np.empty(0)
