"""HPA behavior: stabilization windows, scaling policies and bounds (``horizontal.go``).

Exported through :mod:`labkit.scaling.hpa`; see there for the overview. The functions mirror the
controller's: ``_stabilize`` is ``stabilizeRecommendationWithBehaviors``, ``_scale_up_limit`` and
``_scale_down_limit`` are ``calculateScaleUpLimitWithScalingRules`` and
``calculateScaleDownLimitWithBehaviors``, ``_store_event`` is ``storeScaleEvent`` (including its
reuse of outdated slots, which decides which old events a later period still sees).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from labkit._validate import check_choice, check_int, check_real

__all__ = ["Autoscaler", "Behavior", "ScalingPolicy", "ScalingRules"]

POLICY_TYPES = ("Pods", "Percent")
SELECT_POLICIES = ("Max", "Min", "Disabled")
# Kubernetes defaults (SetDefaults_HorizontalPodAutoscalerBehavior and the controller flag
# --horizontal-pod-autoscaler-downscale-stabilization=5m).
DEFAULT_SCALE_DOWN_WINDOW_S = 300.0


@dataclass(frozen=True)
class ScalingPolicy:
    """At most ``value`` pods ("Pods") or ``value`` percent ("Percent") per ``period_s``.

    >>> ScalingPolicy("Percent", 100, 15)
    ScalingPolicy(type='Percent', value=100, period_s=15)
    """

    type: str
    value: float
    period_s: float

    def __post_init__(self) -> None:
        check_choice(self.type, "type", POLICY_TYPES)
        value = check_real(self.value, "value", min_val=0, include_boundaries="neither")
        if value == int(value):
            object.__setattr__(self, "value", int(value))
        elif self.type == "Pods":
            raise ValueError(f"value must be a whole number of pods, got {self.value!r}")
        else:
            object.__setattr__(self, "value", value)
        period_s = check_real(self.period_s, "period_s", min_val=0, include_boundaries="neither")
        if type(self.period_s) not in (int, float):  # a NumPy scalar: keep a plain number
            object.__setattr__(self, "period_s", period_s)


@dataclass(frozen=True)
class ScalingRules:
    """Rules for one direction; a ``None`` field takes that direction's Kubernetes default.

    Attributes
    ----------
    stabilization_window_s
        Look-back over past recommendations: scale-up uses their minimum, scale-down their
        maximum. Default 0 s up, 300 s down.
    policies
        Rate limits; default up: Percent 100 and Pods 4 per 15 s; down: Percent 100 per 15 s.
    select_policy
        "Max" (the policy allowing the largest change), "Min" (the smallest) or "Disabled".
    """

    stabilization_window_s: float | None = None
    policies: Sequence[ScalingPolicy] | None = None
    select_policy: str = "Max"

    def __post_init__(self) -> None:
        if self.stabilization_window_s is not None:
            window = check_real(self.stabilization_window_s, "stabilization_window_s", min_val=0)
            object.__setattr__(self, "stabilization_window_s", window)
        if self.policies is not None:
            policies = tuple(self.policies)
            if not policies:
                raise ValueError("policies must hold at least one ScalingPolicy (or be None)")
            for i, policy in enumerate(policies):
                if not isinstance(policy, ScalingPolicy):
                    raise ValueError(
                        f"policies[{i}] must be a ScalingPolicy, got {type(policy).__name__}"
                    )
            object.__setattr__(self, "policies", policies)
        check_choice(self.select_policy, "select_policy", SELECT_POLICIES)


_UP_DEFAULT = ScalingRules(
    stabilization_window_s=0.0,
    policies=(ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15)),
)
_DOWN_DEFAULT = ScalingRules(
    stabilization_window_s=DEFAULT_SCALE_DOWN_WINDOW_S,
    policies=(ScalingPolicy("Percent", 100, 15),),
)


def _fill(rules: ScalingRules | None, default: ScalingRules) -> ScalingRules:
    if rules is None:
        return default
    if not isinstance(rules, ScalingRules):
        raise ValueError(f"scaling rules must be ScalingRules or None, got {type(rules).__name__}")
    return ScalingRules(
        stabilization_window_s=(
            default.stabilization_window_s
            if rules.stabilization_window_s is None
            else rules.stabilization_window_s
        ),
        policies=default.policies if rules.policies is None else rules.policies,
        select_policy=rules.select_policy,
    )


@dataclass(frozen=True)
class Behavior:
    """``spec.behavior`` of an autoscaling/v2 HPA: rules for scaling up and for scaling down."""

    scale_up: ScalingRules | None = None
    scale_down: ScalingRules | None = None

    def resolved(self) -> tuple[ScalingRules, ScalingRules]:
        """(scale-up rules, scale-down rules) with every ``None`` replaced by its default."""
        return _fill(self.scale_up, _UP_DEFAULT), _fill(self.scale_down, _DOWN_DEFAULT)


@dataclass
class _ScaleEvent:
    change: int
    time_s: float
    outdated: bool = False


def _change_in_period(period_s: float, events: list[_ScaleEvent], now_s: float) -> int:
    """getReplicasChangePerPeriod: replicas changed by events strictly newer than now − period."""
    cutoff = now_s - period_s
    return sum(e.change for e in events if e.time_s > cutoff)


def _period_start(
    current: int,
    policy: ScalingPolicy,
    up: list[_ScaleEvent],
    down: list[_ScaleEvent],
    now_s: float,
) -> int:
    """Replicas at the start of ``policy``'s period: undo the changes made within it."""
    return (
        current
        - _change_in_period(policy.period_s, up, now_s)
        + _change_in_period(policy.period_s, down, now_s)
    )


def _scale_up_limit(
    current: int, up: list[_ScaleEvent], down: list[_ScaleEvent], rules: ScalingRules, now_s: float
) -> int:
    if rules.select_policy == "Disabled":
        return current
    pick, result = (min, math.inf) if rules.select_policy == "Min" else (max, -math.inf)
    for policy in rules.policies or ():
        start = _period_start(current, policy, up, down, now_s)
        if policy.type == "Pods":
            proposed = start + policy.value
        else:  # rounded up, or a small percentage of a small count could never add a pod
            proposed = math.ceil(float(start) * (1 + float(policy.value) / 100))
        result = pick(result, proposed)
    return int(result)


def _scale_down_limit(
    current: int, up: list[_ScaleEvent], down: list[_ScaleEvent], rules: ScalingRules, now_s: float
) -> int:
    if rules.select_policy == "Disabled":
        return current
    pick, result = (max, -math.inf) if rules.select_policy == "Min" else (min, math.inf)
    for policy in rules.policies or ():
        start = _period_start(current, policy, up, down, now_s)
        if policy.type == "Pods":
            proposed = start - policy.value
        else:  # int32(float64(start) * (1 - value/100)) truncates towards zero
            proposed = math.trunc(float(start) * (1 - float(policy.value) / 100))
        result = pick(result, proposed)
    return int(result)


@dataclass
class Autoscaler:
    """The HPA controller's normalization of a recommendation, one sync period at a time.

    Parameters
    ----------
    min_replicas, max_replicas
        ``spec.minReplicas`` and ``spec.maxReplicas``.
    behavior
        ``spec.behavior``; ``None`` means the Kubernetes defaults for both directions.

    Notes
    -----
    ``step(now_s, current_replicas, recommended_replicas)`` follows ``reconcileAutoscaler``:
    the first call records ``current_replicas`` as an initial recommendation; a target at 0
    replicas with ``min_replicas > 0`` is left alone (autoscaling is disabled there); a current
    count outside [min, max] is brought to the nearest bound; otherwise the recommendation is
    stabilized, rate-limited by the policies and bounded. When the result differs from
    ``current_replicas`` a scale event is recorded for the policies' periods; the caller applies
    the result. Windows and periods cover records strictly newer than ``now_s − length``.

    Examples
    --------
    The default scale-up policies allow the larger of +100% and +4 pods per 15 s; the default
    scale-down waits out a 300 s stabilization window:

    >>> scaler = Autoscaler(min_replicas=1, max_replicas=50)
    >>> scaler.step(0.0, current_replicas=2, recommended_replicas=20)
    6
    >>> scaler.step(15.0, current_replicas=6, recommended_replicas=20)
    12
    >>> scaler.step(30.0, current_replicas=12, recommended_replicas=3)  # held: window not over
    12
    """

    min_replicas: int
    max_replicas: int
    behavior: Behavior | None = None
    _up: ScalingRules = field(init=False, repr=False)
    _down: ScalingRules = field(init=False, repr=False)
    _recommendations: list[tuple[float, int]] = field(init=False, repr=False)
    _up_events: list[_ScaleEvent] = field(init=False, repr=False)
    _down_events: list[_ScaleEvent] = field(init=False, repr=False)
    _last_now_s: float = field(init=False, repr=False)
    _initialized: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.min_replicas = check_int(self.min_replicas, "min_replicas", min_val=0)
        self.max_replicas = check_int(self.max_replicas, "max_replicas", min_val=0)
        if self.max_replicas < max(1, self.min_replicas):
            raise ValueError(
                f"max_replicas must be >= max(1, min_replicas={self.min_replicas}), "
                f"got {self.max_replicas!r}"
            )
        behavior = Behavior() if self.behavior is None else self.behavior
        if not isinstance(behavior, Behavior):
            raise ValueError(f"behavior must be a Behavior or None, got {type(behavior).__name__}")
        self._up, self._down = behavior.resolved()
        self.reset()

    def reset(self) -> None:
        """Forget all recorded recommendations and scale events."""
        self._recommendations = []
        self._up_events = []
        self._down_events = []
        self._last_now_s = -math.inf
        self._initialized = False

    @property
    def rules(self) -> tuple[ScalingRules, ScalingRules]:
        """The resolved (scale-up, scale-down) rules in force."""
        return self._up, self._down

    def _stabilize(self, now_s: float, current: int, desired: int) -> int:
        up_cutoff = now_s - float(self._up.stabilization_window_s or 0.0)
        down_cutoff = now_s - float(self._down.stabilization_window_s or 0.0)
        up_rec = down_rec = desired
        for time_s, rec in self._recommendations:
            if time_s > up_cutoff:
                up_rec = min(rec, up_rec)
            if time_s > down_cutoff:
                down_rec = max(rec, down_rec)
        # Records older than both windows can never count again (the controller reuses one
        # such slot per call; dropping them all is equivalent).
        self._recommendations = [
            r for r in self._recommendations if not (r[0] < up_cutoff and r[0] < down_cutoff)
        ]
        self._recommendations.append((now_s, desired))
        return min(max(current, up_rec), down_rec)

    def _rate_limit(self, now_s: float, current: int, desired: int) -> int:
        if desired > current:
            limit = _scale_up_limit(current, self._up_events, self._down_events, self._up, now_s)
            allowed = min(self.max_replicas, max(limit, current))
            return min(desired, allowed)
        if desired < current:
            limit = _scale_down_limit(
                current, self._up_events, self._down_events, self._down, now_s
            )
            allowed = max(self.min_replicas, min(limit, current))
            return max(desired, allowed)
        return desired

    def _store_event(self, now_s: float, previous: int, new: int) -> None:
        if new > previous:
            events, rules, change = self._up_events, self._up, new - previous
        else:
            events, rules, change = self._down_events, self._down, previous - new
        longest = max((p.period_s for p in rules.policies or ()), default=0.0)
        cutoff = now_s - longest
        reuse = None
        for i, event in enumerate(events):  # markScaleEventsOutdated, then the last such slot
            if event.time_s < cutoff:
                event.outdated = True
            if event.outdated:
                reuse = i
        if reuse is None:
            events.append(_ScaleEvent(change, now_s))
        else:
            events[reuse] = _ScaleEvent(change, now_s)

    def step(self, now_s: float, current_replicas: int, recommended_replicas: int) -> int:
        """The replica count the controller would set at time ``now_s`` (seconds).

        Parameters
        ----------
        now_s
            The time of this sync, in seconds; never earlier than the previous call's.
        current_replicas
            The target's replica count now (``scale.spec.replicas``).
        recommended_replicas
            The replica calculator's recommendation (the largest over all metrics).

        Returns
        -------
        int
            The new replica count.
        """
        now_s = check_real(now_s, "now_s", finite=False, unit="seconds")
        if now_s < self._last_now_s:
            raise ValueError(
                f"now_s must not go backwards: got {now_s!r} after {self._last_now_s!r}"
            )
        current_replicas = check_int(current_replicas, "current_replicas", min_val=0)
        recommended_replicas = check_int(recommended_replicas, "recommended_replicas", min_val=0)
        self._last_now_s = now_s
        if not self._initialized:  # recordInitialRecommendation, once per autoscaler
            self._recommendations.append((now_s, current_replicas))
            self._initialized = True

        if current_replicas == 0 and self.min_replicas != 0:
            return 0  # "scaling is disabled since the replica count of the target is zero"
        if current_replicas > self.max_replicas:
            desired = self.max_replicas
        elif current_replicas < self.min_replicas:
            desired = self.min_replicas
        else:
            stabilized = self._stabilize(now_s, current_replicas, recommended_replicas)
            desired = self._rate_limit(now_s, current_replicas, stabilized)
        if desired != current_replicas:
            self._store_event(now_s, current_replicas, desired)
        return desired
