"""Autoscaling policies the simulator compares, behind one interface.

A policy sees an :class:`Observation` at the end of every simulated step and answers with the
replica count it wants. :class:`StaticPolicy` provisions for the peak; :class:`HPAPolicy` is the
Kubernetes HPA on CPU utilization, decision for decision (:mod:`labkit.scaling.hpa`), syncing
every 15 s on a metrics-server-like window; :class:`ConcurrencyPolicy` feeds requests in flight
to a Knative-style :class:`~labkit.scaling.concurrency_autoscaler.ConcurrencyAutoscaler`;
:class:`ScheduledPolicy` follows a
:class:`~labkit.scaling.concurrency_autoscaler.ScheduledScaler`, with an optional reactive policy
on top.

Examples
--------
>>> hpa = HPAPolicy(min_replicas=1, max_replicas=10, target_utilization=50)
>>> hpa.decide(Observation(now_s=0.0, arrival_rps=100.0, replicas=2, ready=2,
...                        utilization=1.0, concurrency=4.0))
4
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from labkit.scaling.concurrency_autoscaler import ConcurrencyAutoscaler, ScheduledScaler
from labkit.scaling.hpa import Autoscaler, Behavior, PodMetric, resource_replicas

__all__ = [
    "ConcurrencyPolicy",
    "HPAPolicy",
    "Observation",
    "Policy",
    "ScheduledPolicy",
    "StaticPolicy",
]


@dataclass(frozen=True)
class Observation:
    """What a policy can see at a decision: the state at the end of the last step."""

    now_s: float
    arrival_rps: float
    replicas: int
    ready: int
    utilization: float
    concurrency: float


class Policy(Protocol):
    name: str

    def decide(self, obs: Observation) -> int: ...


@dataclass
class StaticPolicy:
    """A fixed replica count (provisioning for the peak)."""

    replicas: int
    name: str = "static"

    def decide(self, obs: Observation) -> int:
        return self.replicas


@dataclass
class HPAPolicy:
    """The Kubernetes HPA on CPU utilization, every ``sync_period_s``.

    CPU usage per ready pod is its busy fraction averaged over ``metric_window_s`` (the
    metrics-server window), with a CPU request of one unit; pods still starting are unready.
    """

    min_replicas: int
    max_replicas: int
    target_utilization: int = 60
    behavior: Behavior | None = None
    sync_period_s: float = 15.0
    metric_window_s: float = 30.0
    tolerance: float = 0.1
    name: str = "hpa"
    _scaler: Autoscaler = field(init=False, repr=False)
    _history: deque[tuple[float, float]] = field(init=False, repr=False)
    _next_sync: float = field(init=False, repr=False)
    _desired: int | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._scaler = Autoscaler(self.min_replicas, self.max_replicas, self.behavior)
        self._history = deque()
        self._next_sync = -math.inf
        self._desired = None

    def decide(self, obs: Observation) -> int:
        self._history.append((obs.now_s, obs.utilization))
        while self._history[0][0] <= obs.now_s - self.metric_window_s:
            self._history.popleft()
        if self._desired is None:
            self._desired = obs.replicas
        if obs.now_s < self._next_sync:
            return self._desired
        self._next_sync = obs.now_s + self.sync_period_s
        usage = sum(u for _, u in self._history) / len(self._history)
        # millicores of a 1000m request, integers as the metrics API reports them
        pods = [PodMetric(round(1000 * usage), 1000)] * obs.ready
        pods += [PodMetric(None, 1000, ready=False)] * (obs.replicas - obs.ready)
        if obs.ready == 0:  # Kubernetes cannot compute: keep the count
            recommended = obs.replicas
        else:
            recommended, _ = resource_replicas(pods, self.target_utilization, self.tolerance)
        self._desired = self._scaler.step(obs.now_s, obs.replicas, recommended)
        return self._desired


@dataclass
class ConcurrencyPolicy:
    """A :class:`ConcurrencyAutoscaler` fed with the pool's in-flight requests every step."""

    autoscaler: ConcurrencyAutoscaler
    tick_s: float = 2.0
    name: str = "concurrency"
    _next_tick: float = field(default=-math.inf, init=False, repr=False)
    _desired: int | None = field(default=None, init=False, repr=False)

    def decide(self, obs: Observation) -> int:
        self.autoscaler.observe(obs.now_s, obs.concurrency)
        if self._desired is None or obs.now_s >= self._next_tick:
            self._next_tick = obs.now_s + self.tick_s
            self._desired = self.autoscaler.step(obs.now_s, obs.ready)
        return self._desired


@dataclass
class ScheduledPolicy:
    """Replicas from a schedule; with ``reactive`` set, the larger of the two (a floor)."""

    scheduler: ScheduledScaler
    reactive: HPAPolicy | None = None
    name: str = "scheduled"

    def decide(self, obs: Observation) -> int:
        planned = self.scheduler.replicas_at(obs.now_s)
        if self.reactive is None:
            return planned
        return max(planned, self.reactive.decide(obs))
