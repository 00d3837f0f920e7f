"""Replay a day of traffic through a pool of replicas under an autoscaling policy.

Each time step (5 s by default) the simulator draws the step's arrivals (Poisson), serves what
the *ready* replicas can, keeps the rest as backlog up to a bounded queue per replica and sheds
the excess (the 503s a real service returns), then asks the policy for a replica count. New pods
become ready only after ``startup_s`` (scheduling, image pull, model load), so every policy pays
for reacting late. Latency within a step is the backlog's wait plus the steady-state M/M/c
response time at the step's load (:mod:`labkit.scaling.queueing`); the per-replica service rate
is whatever was measured on the real service.

Policies compared: :class:`StaticPolicy` (provision for the peak), :class:`HPAPolicy` (the
Kubernetes HPA on CPU utilization), :class:`ConcurrencyPolicy` (Knative-style in-flight
requests with panic mode) and :class:`ScheduledPolicy` (a forecast schedule, optionally with the
HPA on top). The outcome: the share of requests that missed the latency SLO (or were shed) and
the replica-hours paid for.

:func:`simulate_mmc` is different: a request-by-request simulation of one M/M/c queue, used to
check the Erlang C formulas independently of them.

Examples
--------
>>> from labkit.scaling.traffic import peak_hour_profile
>>> day = peak_hour_profile(peak_rps=400.0, duration_s=3 * 3600, start_hour=18.5, seed=0)
>>> pool = PoolConfig(service_rate_rps=50.0, startup_s=60.0, slo_p99_s=0.25)
>>> static = simulate(day, StaticPolicy(16), pool, seed=0)
>>> static.slo_violation_fraction < 0.01, round(static.replica_hours, 1)
(True, 48.0)
"""

from __future__ import annotations

import heapq
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from labkit._validate import check_int, check_real
from labkit.scaling.policies import (
    ConcurrencyPolicy,
    HPAPolicy,
    Observation,
    Policy,
    ScheduledPolicy,
    StaticPolicy,
)
from labkit.scaling.queueing import (
    _erlang_c,
    _erlang_c_array,
    _response_quantile_array,
    _response_survival_array,
)
from labkit.scaling.traffic import TrafficProfile

__all__ = [
    "ConcurrencyPolicy",
    "HPAPolicy",
    "Observation",
    "PoolConfig",
    "ScheduledPolicy",
    "SimulationResult",
    "StaticPolicy",
    "results_table",
    "simulate",
    "simulate_mmc",
]

RHO_CAP = 0.98  # steady-state formulas are applied up to this utilization; beyond, the backlog


@dataclass(frozen=True)
class PoolConfig:
    """What one replica can do, measured on the real service.

    Attributes
    ----------
    service_rate_rps
        μ: requests per second one server slot completes (1 / mean service time).
    servers_per_replica
        Concurrent slots per replica (worker processes, or batches served in parallel).
    startup_s
        Seconds from creating a pod to it being ready (image pull, process start, model load).
    queue_per_replica
        Requests a ready replica holds in its queue before it sheds load with 503.
    slo_p99_s
        The latency objective a request should meet (the p99 target), seconds.
    """

    service_rate_rps: float
    servers_per_replica: int = 1
    startup_s: float = 60.0
    queue_per_replica: int = 256
    slo_p99_s: float = 0.25

    def __post_init__(self) -> None:
        positive = {"min_val": 0, "include_boundaries": "neither"}
        fields = {
            "service_rate_rps": check_real(self.service_rate_rps, "service_rate_rps", **positive),
            "slo_p99_s": check_real(self.slo_p99_s, "slo_p99_s", **positive),
            "startup_s": check_real(self.startup_s, "startup_s", min_val=0),
            "servers_per_replica": check_int(
                self.servers_per_replica, "servers_per_replica", min_val=1
            ),
            "queue_per_replica": check_int(self.queue_per_replica, "queue_per_replica", min_val=0),
        }
        for name, value in fields.items():  # frozen: store the plain Python numbers
            object.__setattr__(self, name, value)

    @property
    def replica_capacity_rps(self) -> float:
        return self.service_rate_rps * self.servers_per_replica


@dataclass(frozen=True)
class SimulationResult:
    """The time series and totals of one simulated policy."""

    name: str
    times_s: np.ndarray
    arrival_rps: np.ndarray
    replicas: np.ndarray
    ready: np.ndarray
    p99_s: np.ndarray
    utilization: np.ndarray
    requests: float
    violations: float
    shed: float
    replica_hours: float
    slo_p99_s: float

    @property
    def slo_violation_fraction(self) -> float:
        """Share of requests slower than the SLO or shed."""
        return self.violations / self.requests if self.requests else 0.0

    @property
    def minutes_over_slo(self) -> float:
        """Minutes during which the step's p99 exceeded the SLO."""
        step = float(self.times_s[1] - self.times_s[0]) if len(self.times_s) > 1 else 0.0
        return float((self.p99_s > self.slo_p99_s).sum() * step / 60.0)

    def summary(self) -> dict[str, Any]:
        return {
            "policy": self.name,
            "slo_violation_pct": 100.0 * self.slo_violation_fraction,
            "minutes_p99_over_slo": self.minutes_over_slo,
            "shed_requests": self.shed,
            "replica_hours": self.replica_hours,
            "max_replicas": int(self.replicas.max()),
        }

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if not isinstance(v, np.ndarray)}
        return {**out, **self.summary()}

    def __repr__(self) -> str:
        return (
            f"SimulationResult({self.name!r}: {100 * self.slo_violation_fraction:.2f}% of "
            f"{self.requests:,.0f} requests over the {self.slo_p99_s * 1e3:.0f} ms SLO or shed, "
            f"{self.replica_hours:.1f} replica-hours, up to {int(self.replicas.max())} replicas)"
        )


def simulate(
    profile: TrafficProfile,
    policy: Policy,
    pool: PoolConfig,
    *,
    initial_replicas: int | None = None,
    seed: int | None = 0,
) -> SimulationResult:
    """Replay ``profile`` under ``policy``; see the module docstring for the model.

    Parameters
    ----------
    profile
        Request rate over time; its step is the simulation step.
    policy
        Anything with ``name`` and ``decide(Observation) -> int``.
    pool
        Per-replica capacity, start-up delay, queue bound and SLO.
    initial_replicas
        Ready replicas at the start; default: what the policy asks for at time 0 with the
        first step's load.
    seed
        Seed for the Poisson arrivals (the same seed gives every policy the same traffic).
    """
    dt = profile.step_s
    mu, s = pool.service_rate_rps, pool.servers_per_replica
    rng = np.random.default_rng(seed)
    arrivals = rng.poisson(profile.rate_rps * dt).astype(np.float64)
    n = len(arrivals)
    if initial_replicas is None:
        first = Observation(0.0, arrivals[0] / dt, 1, 1, 0.5, 0.0)
        initial_replicas = max(1, int(policy.decide(first)))
    ready_at: list[float] = [-math.inf] * initial_replicas  # per pod: when it is/was ready

    replicas = np.empty(n, dtype=np.int64)
    ready_n = np.empty(n, dtype=np.int64)
    util = np.empty(n)
    backlog_mid = np.empty(n)
    shed = np.empty(n)
    backlog = 0.0
    for i in range(n):
        now = i * dt
        ready = sum(1 for t in ready_at if t <= now)
        capacity = ready * s * mu * dt
        offered = arrivals[i] + backlog
        served = min(offered, capacity)
        start_backlog = backlog
        backlog = offered - served
        dropped = max(0.0, backlog - ready * pool.queue_per_replica)
        backlog -= dropped
        replicas[i], ready_n[i], shed[i] = len(ready_at), ready, dropped
        util[i] = served / capacity if capacity > 0 else 0.0
        backlog_mid[i] = 0.5 * (start_backlog + backlog)
        rate_in = arrivals[i] / dt
        rho = rate_in / (ready * s * mu) if ready else math.inf
        busy = served / dt / mu
        queued = backlog
        if ready and rho < RHO_CAP:
            c = ready * s
            p_wait = _erlang_c(rate_in / mu, c) if rate_in > 0 else 0.0
            queued += p_wait * rho / (1 - rho)  # steady-state queue length Lq
        obs = Observation(now + dt, rate_in, len(ready_at), ready, util[i], busy + queued)
        desired = max(0, int(policy.decide(obs)))
        if desired > len(ready_at):
            ready_at += [now + dt + pool.startup_s] * (desired - len(ready_at))
        elif desired < len(ready_at):
            ready_at.sort()  # remove the pods that would be ready last (unready first)
            del ready_at[desired:]

    p99, frac_over = _latency(arrivals / dt, ready_n * s, backlog_mid, pool)
    served_requests = arrivals - shed
    violations = float((served_requests * frac_over).sum() + shed.sum())
    return SimulationResult(
        name=policy.name,
        times_s=profile.times_s.copy(),
        arrival_rps=arrivals / dt,
        replicas=replicas,
        ready=ready_n,
        p99_s=p99,
        utilization=util,
        requests=float(arrivals.sum()),
        violations=violations,
        shed=float(shed.sum()),
        replica_hours=float(replicas.sum() * dt / 3600.0),
        slo_p99_s=pool.slo_p99_s,
    )


def _latency(
    rate: np.ndarray, servers: np.ndarray, backlog: np.ndarray, pool: PoolConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Per step: p99 response time and the share of requests slower than the SLO."""
    mu = pool.service_rate_rps
    p99 = np.full(len(rate), np.inf)
    frac = np.ones(len(rate))
    ok = servers > 0
    if not ok.any():
        return p99, frac
    c = servers[ok]
    lam = np.minimum(np.maximum(rate[ok], 1e-9), RHO_CAP * c * mu)
    wait_backlog = backlog[ok] / (c * mu)
    p99[ok] = wait_backlog + _response_quantile_array(lam, mu, c, 0.99)
    slack = pool.slo_p99_s - wait_backlog
    p_wait = _erlang_c_array(lam / mu, c)
    over = _response_survival_array(np.maximum(slack, 0.0), p_wait, mu, c * mu - lam)
    frac[ok] = np.where(slack <= 0, 1.0, np.clip(over, 0.0, 1.0))
    return p99, frac


def results_table(results: list[SimulationResult]) -> str:
    """A fixed-width table comparing policies (one row each)."""
    head = f"{'policy':<22}{'SLO miss %':>11}{'p99>SLO min':>13}{'shed':>10}{'replica-h':>11}{'max':>6}"
    rows = [head, "-" * len(head)]
    for r in results:
        s = r.summary()
        rows.append(
            f"{r.name:<22}{s['slo_violation_pct']:>11.2f}{s['minutes_p99_over_slo']:>13.1f}"
            f"{s['shed_requests']:>10.0f}{s['replica_hours']:>11.1f}{s['max_replicas']:>6d}"
        )
    return "\n".join(rows)


def simulate_mmc(
    arrival_rate: float,
    service_rate: float,
    servers: int,
    n_requests: int = 100_000,
    seed: int | None = 0,
) -> np.ndarray:
    """Queueing delays of ``n_requests`` through an M/M/c FCFS queue, request by request.

    Each arrival takes the server that frees up first (a heap of free times); its wait is how
    long it stood in line. Independent of the closed forms in :mod:`labkit.scaling.queueing`,
    so it checks them.

    >>> w = simulate_mmc(2.0, 1.0, 3, n_requests=200_000, seed=0)
    >>> bool(abs((w > 0).mean() - 4 / 9) < 0.02), bool(abs(w.mean() - 4 / 9) < 0.03)  # Erlang C
    (True, True)
    """
    n_requests = check_int(n_requests, "n_requests", min_val=1)
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / arrival_rate, n_requests))
    services = rng.exponential(1.0 / service_rate, n_requests)
    free = [0.0] * servers
    waits = np.empty(n_requests)
    for i, (t, svc) in enumerate(zip(arrivals.tolist(), services.tolist(), strict=True)):
        start = max(t, free[0])
        waits[i] = start - t
        heapq.heapreplace(free, start + svc)
    return waits
