"""Lab 04: scaling a recommendation service at peak traffic.

A recommender (:mod:`~labkit.scaling.recommender`, trained on :mod:`~labkit.scaling.data`) served
by a real ASGI service (:mod:`~labkit.scaling.service`, run by :mod:`~labkit.scaling.serve` and
:class:`ServiceProcess`) with lab 02's dynamic batcher and cache, and load shedding; open- and
closed-loop load generation (:mod:`~labkit.scaling.load`, :mod:`~labkit.scaling.traffic`);
the Kubernetes HPA decision for decision (:mod:`~labkit.scaling.hpa`), a concurrency autoscaler
with panic mode and scheduled scaling (:mod:`~labkit.scaling.concurrency`); a simulator that
compares them on a day of traffic (:mod:`~labkit.scaling.simulator`); M/M/c capacity planning
(:mod:`~labkit.scaling.queueing`); and the cold-start side of serverless
(:mod:`~labkit.scaling.serverless`).

Names are imported on first use (PEP 562), so ``python -m labkit.scaling.serve`` and the
queueing or HPA functions start without loading PyTorch until something needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.scaling import hpa, queueing
    from labkit.scaling.concurrency import ConcurrencyAutoscaler, ScheduledScaler
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
        LoadResult,
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

# public name -> (module, attribute); attribute None means the module itself
_EXPORTS: dict[str, tuple[str, str | None]] = {
    "Autoscaler": ("labkit.scaling.hpa", "Autoscaler"),
    "Behavior": ("labkit.scaling.hpa", "Behavior"),
    "ColdStart": ("labkit.scaling.serverless", "ColdStart"),
    "ConcurrencyAutoscaler": ("labkit.scaling.concurrency", "ConcurrencyAutoscaler"),
    "ConcurrencyPolicy": ("labkit.scaling.policies", "ConcurrencyPolicy"),
    "constant_schedule": ("labkit.scaling.traffic", "constant_schedule"),
    "create_app": ("labkit.scaling.service", "create_app"),
    "desired_replicas": ("labkit.scaling.hpa", "desired_replicas"),
    "erlang_c": ("labkit.scaling.queueing", "erlang_c"),
    "histogram_quantile": ("labkit.scaling.metrics", "histogram_quantile"),
    "hpa": ("labkit.scaling.hpa", None),
    "HPAPolicy": ("labkit.scaling.policies", "HPAPolicy"),
    "Interactions": ("labkit.scaling.data", "Interactions"),
    "load_table": ("labkit.scaling.load", "load_table"),
    "LoadResult": ("labkit.scaling.load", "LoadResult"),
    "make_interactions": ("labkit.scaling.data", "make_interactions"),
    "measure_cold_start": ("labkit.scaling.serverless", "measure_cold_start"),
    "mmc": ("labkit.scaling.queueing", "mmc"),
    "parse_metrics": ("labkit.scaling.metrics", "parse_metrics"),
    "peak_hour_profile": ("labkit.scaling.traffic", "peak_hour_profile"),
    "PodMetric": ("labkit.scaling.hpa", "PodMetric"),
    "poisson_schedule": ("labkit.scaling.traffic", "poisson_schedule"),
    "PoolConfig": ("labkit.scaling.simulator", "PoolConfig"),
    "PopularityRecommender": ("labkit.scaling.recommender", "PopularityRecommender"),
    "profile_schedule": ("labkit.scaling.traffic", "profile_schedule"),
    "queueing": ("labkit.scaling.queueing", None),
    "QueueStats": ("labkit.scaling.queueing", "QueueStats"),
    "recall_at_k": ("labkit.scaling.recommender", "recall_at_k"),
    "Recommender": ("labkit.scaling.recommender", "Recommender"),
    "Registry": ("labkit.scaling.metrics", "Registry"),
    "resource_replicas": ("labkit.scaling.hpa", "resource_replicas"),
    "results_table": ("labkit.scaling.simulator", "results_table"),
    "run_closed_loop": ("labkit.scaling.load", "run_closed_loop"),
    "run_open_loop": ("labkit.scaling.load", "run_open_loop"),
    "scale_to_zero": ("labkit.scaling.serverless", "scale_to_zero"),
    "ScalingPolicy": ("labkit.scaling.hpa", "ScalingPolicy"),
    "ScalingRules": ("labkit.scaling.hpa", "ScalingRules"),
    "ScheduledPolicy": ("labkit.scaling.policies", "ScheduledPolicy"),
    "ScheduledScaler": ("labkit.scaling.concurrency", "ScheduledScaler"),
    "servers_for_wait": ("labkit.scaling.queueing", "servers_for_wait"),
    "ServiceConfig": ("labkit.scaling.service", "ServiceConfig"),
    "ServiceProcess": ("labkit.scaling.process", "ServiceProcess"),
    "simulate": ("labkit.scaling.simulator", "simulate"),
    "simulate_mmc": ("labkit.scaling.simulator", "simulate_mmc"),
    "SimulationResult": ("labkit.scaling.simulator", "SimulationResult"),
    "StaticPolicy": ("labkit.scaling.policies", "StaticPolicy"),
    "TrafficProfile": ("labkit.scaling.traffic", "TrafficProfile"),
    "train_mf": ("labkit.scaling.recommender", "train_mf"),
}

__all__ = [
    "Autoscaler",
    "Behavior",
    "ColdStart",
    "ConcurrencyAutoscaler",
    "ConcurrencyPolicy",
    "HPAPolicy",
    "Interactions",
    "LoadResult",
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


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'labkit.scaling' has no attribute {name!r}") from None
    value = importlib.import_module(module)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
