"""Serverless for the stateless part: what a cold start costs, and when scaling to zero pays.

A serverless platform (Knative, Cloud Run, Lambda) runs a replica only while requests arrive and
removes it after an idle timeout. That saves the replica-hours of quiet periods; the price is the
*cold start* — process start, imports, model load, first request — paid by whichever request
arrives when no replica is up. :func:`measure_cold_start` measures those stages on the real
service; :func:`scale_to_zero` replays arrival times against a scale-to-zero replica to count the
cold starts and the replica time, which is the trade-off in numbers.

Examples
--------
>>> import numpy as np
>>> arrivals = np.array([0.0, 1.0, 2.0, 100.0, 101.0])
>>> r = scale_to_zero(arrivals, idle_timeout_s=30.0, cold_start_s=2.0)
>>> r.cold_starts, r.delayed_requests, round(r.replica_seconds, 1)
(2, 4, 64.0)
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from labkit._validate import check_real
from labkit.scaling.process import ServiceProcess
from labkit.timing import format_seconds

__all__ = ["ColdStart", "ScaleToZero", "measure_cold_start", "scale_to_zero"]


@dataclass(frozen=True)
class ColdStart:
    """Stages of a cold start, in seconds from launching the process.

    Attributes
    ----------
    process_start_s
        Until the process listens: interpreter start and imports (torch is most of it).
    model_load_s
        Reading the model file (from the service's own measurement).
    ready_s
        Until ``/readyz`` would answer 200: imports, model load and a warm-up call.
    first_response_s
        Until the first real request is answered: what the unlucky first user waits.
    warm_request_s
        Median latency of the requests after it, for comparison.
    """

    process_start_s: float
    model_load_s: float
    ready_s: float
    first_response_s: float
    warm_request_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_service(
        cls, svc: ServiceProcess, first_response_at: float, warm_request_s: float
    ) -> ColdStart:
        """Read the stages from a started service's events (``time.time()`` stamps)."""
        t0 = svc.launched_at
        if t0 is None:
            raise ValueError("the service has not been started")
        listening = svc.wait_for_event("listening", 1.0)[0]["time"]
        loaded = svc.wait_for_event("model_loaded", 1.0)[0]
        ready = svc.wait_for_event("ready", 1.0)[0]["time"]
        return cls(
            process_start_s=listening - t0,
            model_load_s=float(loaded["seconds"]),
            ready_s=ready - t0,
            first_response_s=first_response_at - t0,
            warm_request_s=warm_request_s,
        )

    def __repr__(self) -> str:
        return (
            f"ColdStart(process start {format_seconds(self.process_start_s)}, model load "
            f"{format_seconds(self.model_load_s)}, ready {format_seconds(self.ready_s)}, first "
            f"response {format_seconds(self.first_response_s)}; warm request "
            f"{format_seconds(self.warm_request_s)})"
        )


def measure_cold_start(
    model_path: str | os.PathLike[str],
    *,
    warm_requests: int = 20,
    user_id: int = 0,
    **options: Any,
) -> ColdStart:
    """Launch the service, time each start-up stage and the first request, then stop it."""
    svc = ServiceProcess(model_path, **options)
    try:
        svc.start()
        status, _ = svc.get(f"/recommend?user_id={user_id}&k=10")
        first = time.time()
        if status != 200:
            raise RuntimeError(f"the first request answered {status}")
        warm = []
        for i in range(warm_requests):
            start = time.perf_counter()
            svc.get(f"/recommend?user_id={(user_id + 1 + i) % 1000}&k=10")
            warm.append(time.perf_counter() - start)
        return ColdStart.from_service(svc, first, statistics.median(warm) if warm else math.nan)
    finally:
        svc.stop()


@dataclass(frozen=True)
class ScaleToZero:
    """A scale-to-zero replica replayed over a day of arrivals."""

    requests: int
    cold_starts: int
    delayed_requests: int
    mean_delay_s: float
    replica_seconds: float
    always_on_seconds: float

    @property
    def saving(self) -> float:
        """Share of the always-on replica time saved."""
        return (
            1.0 - self.replica_seconds / self.always_on_seconds if self.always_on_seconds else 0.0
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "saving": self.saving}


def scale_to_zero(
    arrivals_s: np.ndarray, *, idle_timeout_s: float, cold_start_s: float
) -> ScaleToZero:
    """One replica that starts on demand and stops after ``idle_timeout_s`` without requests.

    A request arriving while no replica is up starts one and waits ``cold_start_s``; requests
    arriving during the start wait for the rest of it. Service time is ignored (the question is
    the start, not the queue). Replica time counts from the start of a cold start to the end of
    the idle timeout; "always on" is one replica for the whole span of arrivals.
    """
    arrivals = np.sort(np.asarray(arrivals_s, dtype=np.float64))
    idle_timeout_s = check_real(idle_timeout_s, "idle_timeout_s", min_val=0, unit="seconds")
    cold_start_s = check_real(cold_start_s, "cold_start_s", min_val=0, unit="seconds")
    if len(arrivals) == 0:
        return ScaleToZero(0, 0, 0, 0.0, 0.0, 0.0)
    cold_starts = delayed = 0
    delay_total = replica = 0.0
    up_from = ready_at = down_at = -math.inf
    for t in arrivals.tolist():
        if t >= down_at:  # no replica: start one
            if down_at > -math.inf:
                replica += down_at - up_from
            cold_starts += 1
            up_from, ready_at = t, t + cold_start_s
        if t < ready_at:
            delayed += 1
            delay_total += ready_at - t
        down_at = max(ready_at, t) + idle_timeout_s
    replica += down_at - up_from
    span = float(arrivals[-1] - arrivals[0]) + idle_timeout_s
    return ScaleToZero(
        requests=len(arrivals),
        cold_starts=cold_starts,
        delayed_requests=delayed,
        mean_delay_s=delay_total / delayed if delayed else 0.0,
        replica_seconds=replica,
        always_on_seconds=span,
    )
