"""The request-level M/M/c simulation against Erlang C, and the autoscaling simulator's behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.scaling.concurrency_autoscaler import ConcurrencyAutoscaler, ScheduledScaler
from labkit.scaling.queueing import (
    _erlang_c_array,
    _response_quantile_array,
    erlang_c,
    mmc,
    response_time_quantile,
    servers_for_wait,
    wait_probability,
)
from labkit.scaling.simulator import (
    ConcurrencyPolicy,
    HPAPolicy,
    PoolConfig,
    ScheduledPolicy,
    StaticPolicy,
    results_table,
    simulate,
    simulate_mmc,
)
from labkit.scaling.traffic import TrafficProfile, peak_hour_profile


@pytest.mark.parametrize(("lam", "mu", "c"), [(2.0, 1.0, 3), (100.0, 20.0, 6), (100.0, 20.0, 7)])
def test_erlang_c_against_request_level_simulation(lam, mu, c):
    waits = simulate_mmc(lam, mu, c, n_requests=150_000, seed=1)[10_000:]  # drop the warm-up
    stats = mmc(lam, mu, c)
    assert (waits > 0).mean() == pytest.approx(stats.p_wait, abs=0.02)
    assert waits.mean() == pytest.approx(stats.mean_wait_s, rel=0.1)
    t = stats.mean_wait_s
    assert (waits > t).mean() == pytest.approx(wait_probability(lam, mu, c, t), abs=0.02)


def test_response_quantile_against_simulation():
    lam, mu, c = 90.0, 20.0, 6
    rng = np.random.default_rng(5)
    waits = simulate_mmc(lam, mu, c, n_requests=200_000, seed=5)[10_000:]
    response = waits + rng.exponential(1 / mu, len(waits))
    assert np.quantile(response, 0.99) == pytest.approx(response_time_quantile(lam, mu, c), rel=0.1)


def test_vectorized_forms_match_scalar():
    lam = np.array([1.0, 50.0, 99.0, 300.0])
    c = np.array([1, 3, 6, 20])
    mu = 20.0
    expected_c = [erlang_c(x, mu, int(k)) for x, k in zip(lam, c, strict=True)]
    np.testing.assert_allclose(_erlang_c_array(lam / mu, c), expected_c, rtol=1e-12)
    expected_q = [response_time_quantile(x, mu, int(k)) for x, k in zip(lam, c, strict=True)]
    np.testing.assert_allclose(_response_quantile_array(lam, mu, c, 0.99), expected_q, rtol=1e-6)


def flat(rate, hours=1.0, step=5.0):
    n = int(hours * 3600 / step)
    return TrafficProfile(np.arange(n) * step, np.full(n, float(rate)), step)


def test_capacity_plan_meets_slo_in_simulation():
    # Erlang C plan: servers so that P(queue wait > 50 ms) <= 1%; the simulator agrees.
    pool = PoolConfig(service_rate_rps=50.0, startup_s=30.0, slo_p99_s=0.05 + -math.log(0.01) / 50)
    c = servers_for_wait(400.0, 50.0, wait_s=0.05, max_probability=0.01)
    ok = simulate(flat(400), StaticPolicy(c), pool, seed=0)
    assert ok.slo_violation_fraction < 0.02 and ok.shed == 0
    under = simulate(flat(400), StaticPolicy(math.ceil(400 / 50) - 1), pool, seed=0)
    assert under.slo_violation_fraction > 0.5 and under.shed > 0  # ρ > 1: queue fills, sheds
    assert ok.replica_hours == pytest.approx(c * 1.0)


def test_simulation_is_reproducible_and_accounts_replica_hours():
    day = peak_hour_profile(peak_rps=300, duration_s=4 * 3600, start_hour=17, seed=2)
    pool = PoolConfig(service_rate_rps=40.0, startup_s=60.0, slo_p99_s=0.2)
    a = simulate(day, HPAPolicy(1, 40, 60), pool, seed=3)
    b = simulate(day, HPAPolicy(1, 40, 60), pool, seed=3)
    np.testing.assert_array_equal(a.replicas, b.replicas)
    assert a.replica_hours == pytest.approx(a.replicas.sum() * 5 / 3600)
    assert np.all(a.ready <= a.replicas)
    # the HPA follows the evening ramp: more replicas at the peak than at the start
    assert a.replicas[np.argmax(a.arrival_rps)] > a.replicas[0]


def test_policies_compare_as_expected():
    day = peak_hour_profile(peak_rps=500, duration_s=6 * 3600, start_hour=16, seed=0)
    forecast = peak_hour_profile(peak_rps=500, duration_s=86_400, surge_at_hour=None, seed=1)
    pool = PoolConfig(service_rate_rps=50.0, startup_s=60.0, slo_p99_s=0.2)
    peak = math.ceil(day.peak_rps / (0.7 * 50))
    static = simulate(day, StaticPolicy(peak), pool)
    hpa = simulate(day, HPAPolicy(1, 60, 60), pool)
    kpa = simulate(
        day,
        ConcurrencyPolicy(ConcurrencyAutoscaler(target_concurrency=1.0, max_replicas=60)),
        pool,
    )
    plan = ScheduledScaler.from_forecast(forecast, capacity_rps=50.0, target_utilization=0.6)
    sched = simulate(day, ScheduledPolicy(plan, HPAPolicy(1, 60, 60), name="scheduled+hpa"), pool)
    # peak provisioning meets the SLO but pays for the peak all day
    assert static.slo_violation_fraction < 0.005
    assert hpa.replica_hours < static.replica_hours
    assert kpa.replica_hours < static.replica_hours
    # a schedule that knows the daily shape is ahead of the ramp
    assert sched.slo_violation_fraction <= hpa.slo_violation_fraction
    table = results_table([static, hpa, kpa, sched])
    assert "scheduled+hpa" in table and "replica-h" in table


def test_concurrency_autoscaler_panics_and_holds():
    kpa = ConcurrencyAutoscaler(target_concurrency=10.0, target_utilization=1.0)
    for t in range(0, 60, 2):
        kpa.observe(float(t), 20.0)
    assert kpa.step(60.0, 2) == 2 and not kpa.in_panic
    kpa.observe(61.0, 200.0)
    burst = kpa.step(61.0, 2)
    assert kpa.in_panic and burst >= 4  # ≥ 2× the ready pods
    # load falls right away: in panic it does not scale down
    for t in range(62, 90, 2):
        kpa.observe(float(t), 5.0)
        assert kpa.step(float(t), burst) >= burst
    # a stable window after the last panic signal, panic ends and it scales down (≤ half/step)
    for t in range(90, 200, 2):
        kpa.observe(float(t), 5.0)
    assert not kpa.in_panic or kpa.step(200.0, burst) < burst
    assert kpa.step(202.0, burst) < burst


def test_concurrency_scale_to_zero():
    kpa = ConcurrencyAutoscaler(target_concurrency=1.0, min_replicas=0)
    for t in range(0, 70, 2):
        kpa.observe(float(t), 0.0)
    assert kpa.step(70.0, 1) == 0


def test_scheduled_scaler():
    s = ScheduledScaler([(0, 2), (3600, 5), (7200, 1)], period_s=10_800)
    assert [s.replicas_at(t) for t in (0, 3599, 3600, 7300, 10_800 + 3700)] == [2, 2, 5, 1, 5]
    with pytest.raises(ValueError, match="offset 0"):
        ScheduledScaler([(10, 1)])
    p = TrafficProfile(np.arange(0, 86_400, 300.0), np.zeros(288), 300.0)
    p.rate_rps[100] = 1000.0  # a spike at 30 000 s
    plan = ScheduledScaler.from_forecast(p, capacity_rps=100, target_utilization=0.5, lead_s=900)
    assert plan.replicas_at(30_000) == 20
    assert plan.replicas_at(30_000 - 1200) == 20  # ready ahead of it
    assert plan.replicas_at(1000) == 1  # min_replicas elsewhere


def test_pool_config_validation():
    with pytest.raises(ValueError, match="servers_per_replica"):
        PoolConfig(service_rate_rps=10, servers_per_replica=0)
    with pytest.raises(ValueError):
        PoolConfig(service_rate_rps=0)


def test_scheduled_scaler_clock_offset():
    p = TrafficProfile(np.arange(0, 86_400, 300.0), np.zeros(288), 300.0)
    p.rate_rps[(p.times_s >= 20 * 3600) & (p.times_s < 21 * 3600)] = 500.0
    plan = ScheduledScaler.from_forecast(
        p, capacity_rps=100, target_utilization=0.5, lead_s=0, clock_offset_s=18 * 3600
    )
    assert plan.replicas_at(2 * 3600 + 60) == 10  # 20:01 when the clock started at 18:00
    assert plan.replicas_at(60) == 1
