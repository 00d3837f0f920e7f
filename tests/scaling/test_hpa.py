"""The HPA against Kubernetes' own test vectors (replica_calculator_test.go, horizontal_test.go),
the worked examples of docs/reference.md ("Scaling"), the documentation's scale-down example, and
properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.scaling.hpa import (
    Autoscaler,
    Behavior,
    PodMetric,
    ScalingPolicy,
    ScalingRules,
    desired_replicas,
    resource_replicas,
)

# --- replica calculator ---------------------------------------------------------------------


def pods(levels, requests=None, ready=None):
    requests = requests or [1000] * len(levels)
    ready = ready or [True] * len(levels)
    return [PodMetric(u, r, ok) for u, r, ok in zip(levels, requests, ready, strict=True)]


REFERENCE_VECTORS = [  # docs/reference.md, "Scaling": "Worked vectors (requests 1000m per pod)"
    (pods([300, 500, 700]), 30, (5, 50)),
    (pods([300, 500, 700], ready=[False, True, True]), 30, (4, 60)),
    (pods([100, 300, 500, 250, 250]), 50, (3, 28)),
    (pods([1010, 1030, 1020], requests=[900, 1000, 1100]), 100, (3, 102)),
]


@pytest.mark.parametrize(("pod_list", "target", "expected"), REFERENCE_VECTORS)
def test_reference_vectors(pod_list, target, expected):
    assert resource_replicas(pod_list, target) == expected


def test_reference_vectors_in_cores():
    # Same pods written in cores instead of millicores: quantities are exact decimals.
    in_cores = [PodMetric(0.3, 1.0), PodMetric(0.5, 1.0), PodMetric(0.7, 1.0)]
    assert resource_replicas(in_cores, 30) == (5, 50)
    tolerance = [PodMetric(1.01, 0.9), PodMetric(1.03, 1.0), PodMetric(1.02, 1.1)]
    assert resource_replicas(tolerance, 100) == (3, 102)


KUBERNETES_VECTORS = {  # replica_calculator_test.go, resource (CPU) cases
    "ScaleUpUnreadyNoScale": (pods([400, 500, 700], ready=[True, False, False]), 30, (3, 40)),
    "ScaleUpIgnoresFailedPods": (pods([500, 700]), 30, (4, 60)),
    "ScaleDownIncludeUnreadyPods": (
        pods([100, 300, 500, 250, 250], ready=[True, True, True, False, False]),
        50,
        (2, 30),
    ),
    "ScaleDownExcludeUnscheduledPods": (
        [PodMetric(100, 1000)] + [PodMetric(None, 1000, ready=False)] * 4,
        50,
        (1, 10),
    ),
    "SuperfluousMetrics": (pods([4000, 9500, 3000, 7000]), 100, (24, 587)),
    "MissingMetrics": (pods([400, 95, None, None]), 100, (3, 24)),
    "MissingMetricsNoChangeEq": (pods([1000, None]), 100, (2, 100)),
    "MissingMetricsNoChangeGt": (pods([1900, None]), 100, (2, 190)),
    "MissingMetricsNoChangeLt": (pods([600, None]), 100, (2, 60)),
    "MissingMetricsUnreadyChange": (
        pods([100, 450, None], ready=[False, True, True]),
        50,
        (3, 45),
    ),
    "MissingMetricsUnreadyScaleUp": (
        pods([100, 2000, None], ready=[False, True, True]),
        50,
        (4, 200),
    ),
    "MissingMetricsUnreadyScaleDown": (
        pods([100, 100, 100, None], ready=[False, True, True, True]),
        50,
        (3, 10),
    ),
    # TestReplicaCalcComputedToleranceAlgImplementation: requests around 300m, 150m used each,
    # target int32((1/(2·0.9) + 0.01)·100) = 56 scales 10 → 9; with +0.004 → 55, no change.
    "ComputedTolerance": (
        pods([150] * 10, requests=[400, 200, 310, 290, 302, 298, 301, 299, 300, 300]),
        56,
        (9, 50),
    ),
    "ComputedToleranceNoChange": (
        pods([150] * 10, requests=[400, 200, 310, 290, 302, 298, 301, 299, 300, 300]),
        55,
        (10, 50),
    ),
}


@pytest.mark.parametrize("name", sorted(KUBERNETES_VECTORS))
def test_kubernetes_vectors(name):
    pod_list, target, expected = KUBERNETES_VECTORS[name]
    assert resource_replicas(pod_list, target) == expected


def test_no_ready_metric_raises():
    with pytest.raises(ValueError, match="no ready pod"):
        resource_replicas([PodMetric(None), PodMetric(500, ready=False)], 50)
    with pytest.raises(ValueError, match="empty"):
        resource_replicas([], 50)


@pytest.mark.parametrize("target", [0, -10, 0.5, "50", True])
def test_bad_target(target):
    with pytest.raises(ValueError, match="target_utilization"):
        resource_replicas(pods([100]), target)


def test_pod_metric_validation():
    with pytest.raises(ValueError, match="request"):
        PodMetric(100, 0)
    with pytest.raises(ValueError, match="usage"):
        PodMetric(-1)
    with pytest.raises(ValueError, match="ready"):
        PodMetric(1, 1, ready="yes")  # type: ignore[arg-type]


def test_missing_pods_above_100_percent_target():
    # Scale-down with a missing pod and a 150% target: the missing pod counts at 150%.
    # ready: 600/1000 = 60% → ratio 0.4; recount (600 + 1500)/2000 = 105% → 0.7 → ceil(1.4) = 2.
    assert resource_replicas(pods([600, None]), 150) == (2, 60)


@pytest.mark.parametrize(
    ("current", "value", "target", "expected"),
    [
        (3, 90, 60, 5),  # ratio 1.5
        (4, 105, 100, 4),  # within tolerance
        (4, 110, 100, 4),  # exactly on the band edge: 1.1 <= 1.0 + 0.1 in float64
        (4, 111, 100, 5),
        (4, 90, 100, 4),  # lower edge
        (4, 89, 100, 4),  # ceil(3.56) = 4
        (10, 50, 100, 5),
        (1, 0, 100, 0),
        (2, 0.33, 0.3, 2),  # 1.1 as decimals
        (5, 200, 100, 10),
        (0, 250, 100, 3),  # from zero: ceil(ratio), no tolerance
        (0, 105, 100, 2),
        (0, 0, 100, 0),
    ],
)
def test_desired_replicas(current, value, target, expected):
    assert desired_replicas(current, value, target) == expected


@settings(max_examples=200, deadline=None)
@given(
    current=st.integers(1, 500),
    value=st.integers(0, 100_000),
    target=st.integers(1, 100_000),
    tolerance=st.sampled_from([0.0, 0.05, 0.1, 0.2]),
)
def test_desired_replicas_properties(current, value, target, tolerance):
    got = desired_replicas(current, value, target, tolerance)
    ratio = value / target
    if abs(ratio - 1) < tolerance * 0.999:
        assert got == current
    elif abs(ratio - 1) > tolerance * 1.001:
        # ceil(current·ratio) within float rounding of the exact rational
        exact = math.ceil(current * value / target - 1e-9)
        assert got in (exact, exact + 1)
        assert (got > current) == (value > target) or got == current
    # monotone in the observed value
    assert desired_replicas(current, value + 1, target, tolerance) >= got


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((-1, 1, 1), "current_replicas"),
        ((2, -1, 1), "current_value"),
        ((2, 1, 0), "target_value"),
        ((2, 1, 1, 1.5), "tolerance"),
    ],
)
def test_desired_replicas_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        desired_replicas(*args)


# --- behavior ---------------------------------------------------------------------------------


def run(scaler, recommendations, *, start, dt):
    replicas, out = start, []
    for i, rec in enumerate(recommendations):
        replicas = scaler.step(i * dt, replicas, rec)
        out.append(replicas)
    return out


def test_docs_scale_down_example():
    # kubernetes.io HPA docs: 80 replicas; Pods 4 / 60 s and Percent 10 / 60 s, selectPolicy Max.
    behavior = Behavior(
        scale_down=ScalingRules(
            stabilization_window_s=0,
            policies=[ScalingPolicy("Pods", 4, 60), ScalingPolicy("Percent", 10, 60)],
            select_policy="Max",
        )
    )
    got = run(Autoscaler(1, 100, behavior), [1] * 14, start=80, dt=60.0)
    assert got[:9] == [72, 64, 57, 51, 45, 40, 36, 32, 28]
    assert got[8:] == [28, 24, 20, 16, 12, 8]  # 4 at a time once 10% is fewer than 4 pods
    # Min picks the smallest change: 10% of 80 = 8 > 4, so 4 pods per minute throughout.
    behavior_min = Behavior(scale_down=ScalingRules(0, behavior.scale_down.policies, "Min"))
    assert run(Autoscaler(1, 100, behavior_min), [1] * 5, start=80, dt=60.0) == [
        76,
        72,
        68,
        64,
        60,
    ]


def test_docs_example_steps_within_period_do_not_add_up():
    behavior = Behavior(
        scale_down=ScalingRules(0, [ScalingPolicy("Pods", 4, 60), ScalingPolicy("Percent", 10, 60)])
    )
    scaler = Autoscaler(1, 100, behavior)
    # Syncing every 15 s: the 8-pod budget of a 60 s period is spent once, then nothing moves
    # until the event leaves the period (strictly newer than now − 60 s).
    got = run(scaler, [1] * 6, start=80, dt=15.0)
    assert got == [72, 72, 72, 72, 64, 64]


def test_default_scale_up_sequence():
    # Defaults: max(+4 pods, +100%) per 15 s.
    got = run(Autoscaler(1, 100), [100] * 7, start=1, dt=15.0)
    assert got == [5, 10, 20, 40, 80, 100, 100]


def test_default_scale_down_waits_for_window():
    # 300 s window over recommendations, including the initial one (the current count).
    scaler = Autoscaler(1, 100)
    got = run(scaler, [2] * 22, start=10, dt=15.0)
    assert got[:20] == [10] * 20  # t = 0 .. 285 s
    assert got[20] == 2  # t = 300 s: the 10 recorded at t = 0 is no longer strictly newer


def test_scale_up_stabilization_uses_minimum():
    behavior = Behavior(scale_up=ScalingRules(stabilization_window_s=60))
    scaler = Autoscaler(1, 100, behavior)
    # The window holds the initial recommendation (the current 2) for its first minute.
    assert scaler.step(0.0, 2, 10) == 2
    assert scaler.step(15.0, 2, 4) == 2
    assert scaler.step(30.0, 2, 20) == 2
    assert scaler.step(61.0, 2, 20) == 4  # window (1, 61]: 4 (t=15), 20, 20 → the minimum 4
    # window (16, 76]: 20, 20, 20; rate limit max(+4 pods, +100%) from 4 → 8
    assert scaler.step(76.0, 4, 20) == 8


def test_bounds_and_disabled_cases():
    scaler = Autoscaler(2, 5)
    assert scaler.step(0.0, 8, 8) == 5  # above max → max
    assert scaler.step(15.0, 1, 1) == 2  # below min → min
    assert Autoscaler(2, 5).step(0.0, 0, 4) == 0  # target at 0 with min > 0: left alone
    assert Autoscaler(1, 5).step(0.0, 3, 50) == 5  # bounded by max
    disabled = Behavior(scale_up=ScalingRules(select_policy="Disabled"))
    assert Autoscaler(1, 50, disabled).step(0.0, 3, 50) == 3


def _with_events(scaler, up=(), down=(), now=200.0, period=120):
    """Inject past scale events as horizontal_test.go's generateEventsUniformDistribution does:
    spread evenly over the period, ages period − (i + 1/2)·period/n seconds."""
    from labkit.scaling._hpa_behavior import _ScaleEvent

    for events, target in ((up, scaler._up_events), (down, scaler._down_events)):
        seg = period / max(len(events), 1)
        for i, change in enumerate(events):
            target.append(_ScaleEvent(change, now - (period - seg * i - seg / 2)))
    return scaler


def rules(pods=0, pods_period=0, percent=0, percent_period=0, window=0):
    policies = []
    if pods:
        policies.append(ScalingPolicy("Pods", pods, pods_period))
    if percent:
        policies.append(ScalingPolicy("Percent", percent, percent_period))
    return ScalingRules(stabilization_window_s=window, policies=policies or None)


CONVERT_VECTORS = [  # TestConvertDesiredReplicasWithRules cases: (up, down, min, max, ...)
    ("up pod limit", rules(30, 60), None, 1, 1000, (), (), 10, 50, 40),
    ("up percent limit", rules(0, 0, 200, 60), None, 1, 1000, (), (), 10, 50, 30),
    ("down percent > pods", None, rules(20, 60, 1, 60, 300), 1, 1000, (), (), 100, 2, 80),
    ("down pods > percent", None, rules(2, 60, 1, 60, 300), 1, 1000, (), (), 100, 2, 98),
    ("down min limit", None, rules(0, 0, 100, 60, 300), 5, 1000, (), (), 10, 2, 5),
    ("down pod limit", None, rules(5, 60, 0, 0, 300), 1, 1000, (), (), 10, 2, 5),
    ("up max with events", rules(300, 60), None, 1, 200, (1, 5, 9), (), 100, 500, 200),
    ("up events block", rules(5, 120), None, 1, 1000, (1, 5, 9), (), 100, 500, 100),
    ("up pods with events", rules(150, 120), None, 1, 1000, (1, 5, 9), (), 100, 500, 235),
    ("up percent with events", rules(0, 0, 200, 120), None, 1, 1000, (1, 5, 9), (), 100, 500, 255),
    ("down pods with events", None, rules(5, 120, 0, 0, 300), 1, 1000, (), (1, 5, 9), 100, 2, 100),
    ("down percent w/ events", None, rules(0, 0, 50, 120, 300), 1, 1000, (), (2, 4, 6), 100, 0, 56),
    ("down events block", None, rules(0, 0, 10, 120, 300), 1, 1000, (), (10,) * 3, 100, 0, 100),
    ("down below zero", None, rules(0, 0, 1000, 120, 300), 1, 1000, (), (10,) * 3, 10, 5, 5),
]


@pytest.mark.parametrize(
    ("name", "up", "down", "lo", "hi", "up_ev", "down_ev", "current", "desired", "expected"),
    CONVERT_VECTORS,
    ids=[v[0] for v in CONVERT_VECTORS],
)
def test_kubernetes_rate_limit_vectors(
    name, up, down, lo, hi, up_ev, down_ev, current, desired, expected
):
    scaler = _with_events(Autoscaler(lo, hi, Behavior(up, down)), up_ev, down_ev)
    assert scaler._rate_limit(200.0, current, desired) == expected


STABILIZE_VECTORS = [  # TestNormalizeDesiredReplicasWithBehavior (ages in seconds)
    ("simple down", [(4, 120), (5, 60)], 100, 3, 0, 180, 5),
    ("simple up", [(4, 120), (5, 60)], 1, 7, 300, 0, 4),
    ("no down stabilization", [(1, 120), (2, 60)], 100, 3, 300, 0, 3),
    ("no up stabilization", [(4, 120), (5, 60)], 1, 3, 0, 300, 3),
    ("reuse obsolete down", [(10, 600), (4, 60), (5, 120), (9, 540)], 100, 3, 0, 180, 5),
    ("reuse obsolete up", [(10, 6000), (6, 60), (5, 120), (9, 180)], 1, 100, 300, 300, 5),
]


@pytest.mark.parametrize(
    ("name", "history", "current", "desired", "up_w", "down_w", "expected"),
    STABILIZE_VECTORS,
    ids=[v[0] for v in STABILIZE_VECTORS],
)
def test_kubernetes_stabilization_vectors(name, history, current, desired, up_w, down_w, expected):
    behavior = Behavior(ScalingRules(stabilization_window_s=up_w), ScalingRules(down_w))
    scaler = Autoscaler(1, 1000, behavior)
    now = 10_000.0
    scaler._recommendations = [(now - age, rec) for rec, age in history]
    assert scaler._stabilize(now, current, desired) == expected


STORE_VECTORS = [  # TestStoreScaleEvents: (prev events (change, age), rules, expected events)
    ([(7, 61)], rules(10, 60, 100, 60), [(5, False)]),
    ([(7, 58)], rules(10, 60, 100, 60), [(7, False), (5, False)]),
    ([(7, 61), (6, 59)], rules(10, 60), [(5, False), (6, False)]),
    (
        [(8, 29), (6, 59), (7, 61), (9, 61)],
        rules(10, 60, 100, 30),
        [(8, False), (6, False), (7, True), (5, False)],
    ),
    ([(7, 58), (6, 59)], rules(10, 120, 100, 30), [(7, False), (6, False), (5, False)]),
]


@pytest.mark.parametrize(("previous", "rule", "expected"), STORE_VECTORS)
def test_kubernetes_store_event_vectors(previous, rule, expected):
    from labkit.scaling._hpa_behavior import _ScaleEvent

    for direction in ("up", "down"):
        behavior = Behavior(scale_up=rule) if direction == "up" else Behavior(scale_down=rule)
        scaler = Autoscaler(1, 1000, behavior)
        events = scaler._up_events if direction == "up" else scaler._down_events
        now = 1000.0
        events.extend(_ScaleEvent(change, now - age) for change, age in previous)
        scaler._store_event(now, 10, 15 if direction == "up" else 5)
        assert [(e.change, e.outdated) for e in events] == expected


def test_events_in_both_directions_count():
    # Policy periods look back over scale events in both directions.
    behavior = Behavior(
        scale_up=ScalingRules(0, [ScalingPolicy("Pods", 2, 60)]),
        scale_down=ScalingRules(0, [ScalingPolicy("Pods", 3, 60)]),
    )
    scaler = Autoscaler(1, 100, behavior)
    assert scaler.step(0.0, 10, 7) == 7  # down 3
    # up: period start = 7 − 0 + 3 = 10 → limit 12
    assert scaler.step(10.0, 7, 20) == 12
    # down again: start = 12 − 5 + 3 = 10 → limit 7
    assert scaler.step(20.0, 12, 1) == 7


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"type": "Replicas", "value": 1, "period_s": 15}, "type"),
        ({"type": "Pods", "value": 0, "period_s": 15}, "value"),
        ({"type": "Pods", "value": -4, "period_s": 15}, "value"),
        ({"type": "Pods", "value": 1.5, "period_s": 15}, "whole number"),
        ({"type": "Percent", "value": float("nan"), "period_s": 15}, "value"),
        ({"type": "Percent", "value": 10, "period_s": 0}, "period_s"),
        ({"type": "Percent", "value": 10, "period_s": -15}, "period_s"),
    ],
)
def test_policy_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ScalingPolicy(**kwargs)


def test_fractional_percent_policy():
    # 12.5% of 8 pods: ceil(8 · 1.125) = 9 up; int(8 · 0.875) = 7 down
    up = Behavior(scale_up=ScalingRules(0, [ScalingPolicy("Percent", 12.5, 60)]))
    assert Autoscaler(1, 100, up).step(0.0, 8, 50) == 9
    down = Behavior(scale_down=ScalingRules(0, [ScalingPolicy("Percent", 12.5, 60)]))
    assert Autoscaler(1, 100, down).step(0.0, 8, 1) == 7
    assert (
        ScalingPolicy("Percent", 10.0, 60).value == 10 and ScalingPolicy("Pods", 4.0, 15).value == 4
    )


def test_rules_and_autoscaler_validation():
    with pytest.raises(ValueError, match="select_policy"):
        ScalingRules(select_policy="Maximum")
    with pytest.raises(ValueError, match="stabilization_window_s"):
        ScalingRules(stabilization_window_s=-1)
    with pytest.raises(ValueError, match="policies"):
        ScalingRules(policies=[])
    with pytest.raises(ValueError, match="max_replicas"):
        Autoscaler(5, 2)
    scaler = Autoscaler(1, 10)
    scaler.step(10.0, 2, 2)
    with pytest.raises(ValueError, match="backwards"):
        scaler.step(5.0, 2, 2)
    with pytest.raises(ValueError, match="recommended_replicas"):
        scaler.step(20.0, 2, -1)


def test_defaults_resolve_like_kubernetes():
    up, down = Behavior().resolved()
    assert up.stabilization_window_s == 0
    assert set(up.policies) == {ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15)}
    assert down.stabilization_window_s == 300
    assert down.policies == (ScalingPolicy("Percent", 100, 15),)
    # a partial spec keeps the defaults of the fields it leaves out
    up2, _ = Behavior(scale_up=ScalingRules(stabilization_window_s=30)).resolved()
    assert up2.stabilization_window_s == 30 and up2.policies == up.policies


def rules_strategy(windows, max_value, periods):
    policy = st.builds(
        ScalingPolicy,
        type=st.sampled_from(["Pods", "Percent"]),
        value=st.integers(1, max_value),
        period_s=st.sampled_from(periods),
    )
    return st.one_of(
        st.none(),
        st.builds(
            ScalingRules,
            stabilization_window_s=st.sampled_from(windows),
            policies=st.one_of(st.none(), st.lists(policy, min_size=1, max_size=3)),
            select_policy=st.sampled_from(["Max", "Min", "Disabled"]),
        ),
    )


behaviors = st.builds(
    Behavior,
    scale_up=rules_strategy([None, 0, 30, 120], 200, [15, 30, 60]),
    scale_down=rules_strategy([None, 0, 60], 100, [15, 60]),
)


@settings(max_examples=150, deadline=None)
@given(
    behavior=behaviors,
    bounds=st.tuples(st.integers(1, 5), st.integers(5, 60)),
    recs=st.lists(st.integers(0, 100), min_size=1, max_size=30),
    dt=st.sampled_from([5.0, 15.0, 60.0]),
    probe=st.integers(0, 100),
)
def test_autoscaler_properties(behavior, bounds, recs, dt, probe):
    import copy

    lo, hi = bounds
    scaler = Autoscaler(lo, hi, behavior)
    up, down = scaler.rules
    replicas = lo
    for i, rec in enumerate(recs):
        now = i * dt
        # monotone in the recommendation: a twin with the same history and a larger
        # recommendation never ends lower
        twin = copy.deepcopy(scaler)
        higher = twin.step(now, replicas, max(rec, probe))
        new = scaler.step(now, replicas, rec)
        assert higher >= new
        assert lo <= new <= hi
        # moves towards the recommendation, never past it
        if rec >= replicas:
            assert replicas <= new <= max(rec, replicas)
        else:
            assert rec <= new <= replicas or new == lo
        if up.select_policy == "Disabled":
            assert new <= replicas
        if down.select_policy == "Disabled":
            assert new >= replicas
        replicas = new


def test_numpy_scalars_are_numbers_and_bool_is_refused():
    assert desired_replicas(np.int64(3), 90, 60) == desired_replicas(3, 90, 60) == 5
    got = desired_replicas(np.int32(4), np.float64(50.0), np.int64(100), np.float32(0.1))
    assert got == 2 and type(got) is int
    numpy_pods = [PodMetric(np.float64(u), np.int64(1000)) for u in (300, 500, 700)]
    assert resource_replicas(numpy_pods, np.int64(30)) == (5, 50)  # docs/reference.md vector
    scaler = Autoscaler(np.int64(1), np.int64(10))
    assert type(scaler.step(np.float64(0.0), np.int64(2), np.int64(4))) is int
    policy = ScalingPolicy("Pods", np.int64(4), np.float64(15.0))
    assert type(policy.value) is int and type(policy.period_s) is float
    with pytest.raises(TypeError, match=r"current_replicas must be an integer >= 0, got True"):
        desired_replicas(True, 90, 60)
    with pytest.raises(ValueError, match="period_s"):  # ArgumentTypeError is a ValueError too
        ScalingPolicy("Pods", 4, "15")
