"""Lab 04: scaling a recommendation service at peak traffic.

A recommender (:mod:`~labkit.scaling.recommender`, trained on :mod:`~labkit.scaling.data`) served
by a real ASGI service (:mod:`~labkit.scaling.service`, run by :mod:`~labkit.scaling.serve` and
:class:`ServiceProcess`) with lab 02's dynamic batcher and cache, and load shedding; open- and
closed-loop load generation (:mod:`~labkit.scaling.load`, :mod:`~labkit.scaling.traffic`);
the Kubernetes HPA decision for decision (:mod:`~labkit.scaling.hpa`), a concurrency autoscaler
with panic mode and scheduled scaling (:mod:`~labkit.scaling.concurrency_autoscaler`); a
simulator that compares them on a day of traffic (:mod:`~labkit.scaling.simulator`); M/M/c
capacity planning (:mod:`~labkit.scaling.queueing`); and the cold-start side of serverless
(:mod:`~labkit.scaling.serverless`).

Names are imported on first use (PEP 562, :mod:`labkit._lazy`), so
``python -m labkit.scaling.serve`` and the queueing or HPA functions start without loading
PyTorch until something needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit._lazy import exports

if TYPE_CHECKING:
    from labkit.scaling import hpa, queueing
    from labkit.scaling.concurrency_autoscaler import ConcurrencyAutoscaler, ScheduledScaler
    from labkit.scaling.data import Interactions, make_interactions
    from labkit.scaling.hpa import (
        Autoscaler,
        Behavior,
        PodMetric,
        ScalingPolicy,
        ScalingRules,
        desired_replicas,
        resource_replicas,
    )
    from labkit.scaling.load import (
        HttpLoadResult,
        load_table,
        run_closed_loop,
        run_open_loop,
    )
    from labkit.scaling.metrics import Registry, histogram_quantile, parse_metrics
    from labkit.scaling.policies import (
        ConcurrencyPolicy,
        HPAPolicy,
        ScheduledPolicy,
        StaticPolicy,
    )
    from labkit.scaling.process import ServiceProcess
    from labkit.scaling.queueing import QueueStats, erlang_c, mmc, servers_for_wait
    from labkit.scaling.recommender import PopularityRecommender, Recommender, recall_at_k, train_mf
    from labkit.scaling.serverless import ColdStart, measure_cold_start, scale_to_zero
    from labkit.scaling.service import ServiceConfig, create_app
    from labkit.scaling.simulator import (
        PoolConfig,
        SimulationResult,
        results_table,
        simulate,
        simulate_mmc,
    )
    from labkit.scaling.traffic import (
        TrafficProfile,
        constant_schedule,
        peak_hour_profile,
        poisson_schedule,
        profile_schedule,
    )

_EXPORTS = {
    "Autoscaler": "labkit.scaling.hpa",
    "Behavior": "labkit.scaling.hpa",
    "ColdStart": "labkit.scaling.serverless",
    "ConcurrencyAutoscaler": "labkit.scaling.concurrency_autoscaler",
    "ConcurrencyPolicy": "labkit.scaling.policies",
    "constant_schedule": "labkit.scaling.traffic",
    "create_app": "labkit.scaling.service",
    "desired_replicas": "labkit.scaling.hpa",
    "erlang_c": "labkit.scaling.queueing",
    "histogram_quantile": "labkit.scaling.metrics",
    "hpa": "labkit.scaling.hpa",
    "HPAPolicy": "labkit.scaling.policies",
    "Interactions": "labkit.scaling.data",
    "load_table": "labkit.scaling.load",
    "HttpLoadResult": "labkit.scaling.load",
    "make_interactions": "labkit.scaling.data",
    "measure_cold_start": "labkit.scaling.serverless",
    "mmc": "labkit.scaling.queueing",
    "parse_metrics": "labkit.scaling.metrics",
    "peak_hour_profile": "labkit.scaling.traffic",
    "PodMetric": "labkit.scaling.hpa",
    "poisson_schedule": "labkit.scaling.traffic",
    "PoolConfig": "labkit.scaling.simulator",
    "PopularityRecommender": "labkit.scaling.recommender",
    "profile_schedule": "labkit.scaling.traffic",
    "queueing": "labkit.scaling.queueing",
    "QueueStats": "labkit.scaling.queueing",
    "recall_at_k": "labkit.scaling.recommender",
    "Recommender": "labkit.scaling.recommender",
    "Registry": "labkit.scaling.metrics",
    "resource_replicas": "labkit.scaling.hpa",
    "results_table": "labkit.scaling.simulator",
    "run_closed_loop": "labkit.scaling.load",
    "run_open_loop": "labkit.scaling.load",
    "scale_to_zero": "labkit.scaling.serverless",
    "ScalingPolicy": "labkit.scaling.hpa",
    "ScalingRules": "labkit.scaling.hpa",
    "ScheduledPolicy": "labkit.scaling.policies",
    "ScheduledScaler": "labkit.scaling.concurrency_autoscaler",
    "servers_for_wait": "labkit.scaling.queueing",
    "ServiceConfig": "labkit.scaling.service",
    "ServiceProcess": "labkit.scaling.process",
    "simulate": "labkit.scaling.simulator",
    "simulate_mmc": "labkit.scaling.simulator",
    "SimulationResult": "labkit.scaling.simulator",
    "StaticPolicy": "labkit.scaling.policies",
    "TrafficProfile": "labkit.scaling.traffic",
    "train_mf": "labkit.scaling.recommender",
}

__all__ = [
    "Autoscaler",
    "Behavior",
    "ColdStart",
    "ConcurrencyAutoscaler",
    "ConcurrencyPolicy",
    "HPAPolicy",
    "HttpLoadResult",
    "Interactions",
    "PodMetric",
    "PoolConfig",
    "PopularityRecommender",
    "QueueStats",
    "Recommender",
    "Registry",
    "ScalingPolicy",
    "ScalingRules",
    "ScheduledPolicy",
    "ScheduledScaler",
    "ServiceConfig",
    "ServiceProcess",
    "SimulationResult",
    "StaticPolicy",
    "TrafficProfile",
    "constant_schedule",
    "create_app",
    "desired_replicas",
    "erlang_c",
    "histogram_quantile",
    "hpa",
    "load_table",
    "make_interactions",
    "measure_cold_start",
    "mmc",
    "parse_metrics",
    "peak_hour_profile",
    "poisson_schedule",
    "profile_schedule",
    "queueing",
    "recall_at_k",
    "resource_replicas",
    "results_table",
    "run_closed_loop",
    "run_open_loop",
    "scale_to_zero",
    "servers_for_wait",
    "simulate",
    "simulate_mmc",
    "train_mf",
]


__getattr__, __dir__ = exports(__name__, _EXPORTS)
