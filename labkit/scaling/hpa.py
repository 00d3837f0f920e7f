"""The Kubernetes Horizontal Pod Autoscaler (autoscaling/v2), decision for decision.

Two halves, as in the controller itself:

* the **replica calculator** (``pkg/controller/podautoscaler/replica_calculator.go``):
  :func:`desired_replicas` is the documented formula ``ceil(current × value / target)`` with its
  tolerance band, and :func:`resource_replicas` the full resource-metric path with unready and
  missing pods;
* the **behavior** (``horizontal.go``: ``normalizeDesiredReplicasWithBehaviors``,
  ``stabilizeRecommendationWithBehaviors``, ``calculateScaleUpLimitWithScalingRules``,
  ``calculateScaleDownLimitWithBehaviors``, ``storeScaleEvent``): :class:`Autoscaler` turns the
  calculator's recommendation into the replica count the controller writes, applying
  stabilization windows, rate-limiting policies and the min/max bounds.

Arithmetic follows the controller: quantities are exact decimals (Kubernetes stores them as
integer milli-units), the utilization it reports is an integer percent truncated towards zero,
and ratios, tolerance checks and ``ceil`` are float64, as in Go.

Examples
--------
>>> desired_replicas(3, current_value=90, target_value=60)
5
>>> resource_replicas([PodMetric(300, 1000), PodMetric(500, 1000), PodMetric(700, 1000)], 30)
(5, 50)
>>> scaler = Autoscaler(1, 100, Behavior(scale_down=ScalingRules(
...     stabilization_window_s=0, policies=[ScalingPolicy("Pods", 4, 60),
...     ScalingPolicy("Percent", 10, 60)])))
>>> replicas, history = 80, []
>>> for minute in range(6):
...     replicas = scaler.step(60.0 * minute, replicas, 1)
...     history.append(replicas)
>>> history
[72, 64, 57, 51, 45, 40]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from labkit._validate import check_bool, check_int, check_real
from labkit.scaling._hpa_behavior import Autoscaler, Behavior, ScalingPolicy, ScalingRules

__all__ = [
    "Autoscaler",
    "Behavior",
    "PodMetric",
    "ScalingPolicy",
    "ScalingRules",
    "desired_replicas",
    "resource_replicas",
]


def _exact(name: str, value: float) -> Fraction:
    """A number as the exact decimal it was written as (0.1 → 1/10), like a k8s Quantity."""
    check_real(value, name)  # a real number (NumPy scalars too), finite, never a bool
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, Fraction):
        return value
    return Fraction(repr(float(value)))  # float(): NumPy scalars repr as np.float64(...)


def _tolerance(tolerance: float) -> float:
    return check_real(tolerance, "tolerance", min_val=0, max_val=1, include_boundaries="left")


def _within(ratio: float, tolerance: float) -> bool:
    # Tolerances.isWithin: (1.0 - scaleDown) <= ratio && ratio <= (1.0 + scaleUp), in float64.
    return (1.0 - tolerance) <= ratio <= (1.0 + tolerance)


def desired_replicas(
    current_replicas: int, current_value: float, target_value: float, tolerance: float = 0.1
) -> int:
    """The HPA formula: ``ceil(current_replicas × current_value / target_value)``.

    No change while the ratio ``current_value / target_value`` lies within ``1 ± tolerance``
    (the controller's ``--horizontal-pod-autoscaler-tolerance``, 0.1 by default), so small
    fluctuations do not make the replica count flap.

    Parameters
    ----------
    current_replicas
        Replicas now (ready pods, for a pods metric), an integer >= 0. At 0 (a target scaled to
        zero, possible for object and external metrics) the controller skips the tolerance and
        asks for ``ceil(current_value / target_value)``.
    current_value
        The observed metric: average per pod (utilization, requests in flight, ...), >= 0.
    target_value
        The metric's target per pod, > 0.
    tolerance
        Half-width of the dead band around a ratio of 1.

    Returns
    -------
    int
        The recommended replica count, before behavior and min/max bounds are applied.

    Examples
    --------
    >>> desired_replicas(4, current_value=105, target_value=100)  # ratio 1.05: within 10%
    4
    >>> desired_replicas(4, current_value=50, target_value=100)
    2
    >>> desired_replicas(0, current_value=250, target_value=100)  # scale from zero
    3
    """
    current_replicas = check_int(current_replicas, "current_replicas", min_val=0)
    value = _exact("current_value", current_value)
    target = _exact("target_value", target_value)
    if value < 0:
        raise ValueError(f"current_value must be >= 0, got {current_value!r}")
    if target <= 0:
        raise ValueError(f"target_value must be > 0, got {target_value!r}")
    tol = _tolerance(tolerance)
    ratio = float(value / target)  # = float64(milli value) / float64(milli target) in Go
    if current_replicas == 0:  # getUsageRatioReplicaCount: scale to zero or to n pods
        return math.ceil(ratio)
    if _within(ratio, tol):
        return current_replicas
    return math.ceil(ratio * float(current_replicas))


@dataclass(frozen=True)
class PodMetric:
    """One pod as the HPA sees it for a resource metric (CPU by default).

    Attributes
    ----------
    usage
        The pod's resource usage (any unit, e.g. millicores), or ``None`` when the metrics API
        returned nothing for it ("missing").
    request
        The sum of its containers' requests for the resource, in the same unit, > 0.
    ready
        Whether the pod counts as ready. The controller sets aside pods that are pending, not
        ready or still initializing (for CPU) because their usage is not representative; such a
        pod is *unready* whether or not it has a metric (a pending pod has none).
    """

    usage: float | None
    request: float = 1.0
    ready: bool = True

    def __post_init__(self) -> None:
        if self.usage is not None and _exact("usage", self.usage) < 0:
            raise ValueError(f"usage must be >= 0 or None (missing), got {self.usage!r}")
        if _exact("request", self.request) <= 0:
            raise ValueError(f"request must be > 0, got {self.request!r}")
        object.__setattr__(self, "ready", check_bool(self.ready, "ready"))


def _utilization(metrics: dict[int, Fraction], requests: dict[int, Fraction]) -> int:
    """GetResourceUtilizationRatio: int32((Σ usage · 100) / Σ request) over pods with metrics."""
    usage = sum((metrics[i] for i in metrics), Fraction(0))
    request = sum((requests[i] for i in metrics), Fraction(0))
    return math.floor(usage * 100 / request)


def resource_replicas(
    pods: Sequence[PodMetric], target_utilization: int, tolerance: float = 0.1
) -> tuple[int, int]:
    """Desired replicas for a resource-utilization target, as ``GetResourceReplicas`` computes.

    The steps of the Kubernetes replica calculator:

    1. Pods that are not ready (still pending or initializing) are set aside as *unready*,
       whether or not they report a usage; ready pods without a metric (``usage=None``) are set
       aside as *missing*.
    2. Utilization = ⌊100 · Σ usage / Σ request⌋ over the ready pods with metrics (an integer
       percent, which is also what ``kubectl get hpa`` shows); ratio = utilization / target.
    3. Without unready pods on a scale-up and without missing pods: no change when the ratio is
       within tolerance, else ``ceil(ratio × ready pods)``.
    4. Otherwise recount conservatively: on a scale-down missing pods use
       max(100%, target) of their request, on a scale-up they use 0; on a scale-up unready pods
       use 0. If the new ratio is within tolerance or points the other way, or the new count
       would move against the direction of the original ratio, no change; else
       ``ceil(new ratio × pods counted)``.

    Parameters
    ----------
    pods
        Every pod of the target (the current replica count is ``len(pods)``).
    target_utilization
        The target as an integer percent of the request (``averageUtilization: 60`` → 60).
    tolerance
        The dead band around a ratio of 1.

    Returns
    -------
    tuple[int, int]
        (desired replicas, current utilization in integer percent). Raises ``ValueError`` when
        no ready pod has a metric: Kubernetes refuses to compute a recommendation then.

    Examples
    --------
    >>> pods = [PodMetric(300, 1000, ready=False), PodMetric(500, 1000), PodMetric(700, 1000)]
    >>> resource_replicas(pods, 30)
    (4, 60)
    """
    pods = list(pods)
    if not pods:
        raise ValueError("pods is empty: no pods returned by the selector, nothing to compute")
    for i, pod in enumerate(pods):
        if not isinstance(pod, PodMetric):
            raise ValueError(f"pods[{i}] must be a PodMetric, got {type(pod).__name__}")
    # An integer percent (60 means 60% of the request); a whole float such as 60.0 is accepted
    # as Kubernetes' int32 field would read it from YAML.
    percent = check_real(
        target_utilization, "target_utilization", min_val=0, include_boundaries="neither"
    )
    if percent != int(percent):
        raise ValueError(
            "target_utilization must be a positive integer percent (60 means 60% of the "
            f"request), got {target_utilization!r}"
        )
    target = int(percent)
    tol = _tolerance(tolerance)
    current = len(pods)

    requests = {i: _exact("request", p.request) for i, p in enumerate(pods)}
    metrics: dict[int, Fraction] = {}
    missing, unready = [], []
    ready_count = 0
    for i, pod in enumerate(pods):  # groupPods: pending/unready first, then missing metrics
        if not pod.ready:
            unready.append(i)
        elif pod.usage is None:
            missing.append(i)
        else:
            metrics[i] = _exact("usage", pod.usage)
            ready_count += 1
    if not metrics:
        raise ValueError(
            "no ready pod has a metric (all pods are missing or unready): Kubernetes does not "
            "compute a recommendation without one"
        )

    utilization = _utilization(metrics, requests)
    ratio = utilization / target
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if _within(ratio, tol):
            return current, utilization
        return math.ceil(ratio * float(ready_count)), utilization

    if missing:
        if ratio < 1.0:
            fallback = max(100, target)
            for i in missing:
                metrics[i] = requests[i] * fallback / 100
        elif ratio > 1.0:
            for i in missing:
                metrics[i] = Fraction(0)
    if scale_up_with_unready:
        for i in unready:
            metrics[i] = Fraction(0)

    new_ratio = _utilization(metrics, requests) / target
    if (
        _within(new_ratio, tol)
        or (ratio < 1.0 and new_ratio > 1.0)
        or (ratio > 1.0 and new_ratio < 1.0)
    ):
        return current, utilization
    new_replicas = math.ceil(new_ratio * float(len(metrics)))
    if (new_ratio < 1.0 and new_replicas > current) or (new_ratio > 1.0 and new_replicas < current):
        return current, utilization
    return new_replicas, utilization
