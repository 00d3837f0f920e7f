"""Erlang C against the vectors of docs/reference.md ("Scaling"), the textbook factorial formula
and properties."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.scaling import queueing
from labkit.scaling.queueing import (
    QueueStats,
    erlang_c,
    mmc,
    response_time_quantile,
    servers_for_wait,
    wait_probability,
)


def erlang_c_factorial(lam: float, mu: float, c: int) -> float:
    """The textbook formula with exact rationals (independent of the Erlang B recursion)."""
    a = Fraction(lam) / Fraction(mu)
    top = a**c / math.factorial(c) * Fraction(c) / (c - a)
    bottom = sum(a**k / math.factorial(k) for k in range(c)) + top
    return float(top / bottom)


@pytest.mark.parametrize(
    ("lam", "mu", "c", "p_wait", "wait_s"),
    [
        (2.0, 1.0, 3, 0.4444, 0.4444),
        (100.0, 20.0, 6, 0.5875, 0.0294),
        (100.0, 20.0, 7, 0.3242, 0.0081),
    ],
)
def test_reference_vectors(lam, mu, c, p_wait, wait_s):
    assert erlang_c(lam, mu, c) == pytest.approx(p_wait, abs=1e-4)
    stats = mmc(lam, mu, c)
    assert stats.p_wait == pytest.approx(p_wait, abs=1e-4)
    assert stats.mean_wait_s == pytest.approx(wait_s, abs=1e-4)
    assert stats.mean_response_s == pytest.approx(stats.mean_wait_s + 1 / mu)
    assert stats.utilization == pytest.approx(lam / (c * mu))


def test_mm1_closed_forms():
    # M/M/1: P(wait) = ρ, E[Wq] = ρ/(μ−λ), response time ~ Exp(μ−λ).
    lam, mu = 3.0, 5.0
    stats = mmc(lam, mu, 1)
    assert stats.p_wait == pytest.approx(lam / mu)
    assert stats.mean_wait_s == pytest.approx((lam / mu) / (mu - lam))
    assert response_time_quantile(lam, mu, 1, 0.99) == pytest.approx(-math.log(0.01) / (mu - lam))


@settings(max_examples=150, deadline=None)
@given(
    c=st.integers(1, 40),
    rho=st.floats(0.01, 0.99),
    mu=st.floats(0.1, 1000.0),
)
def test_matches_factorial_formula(c, rho, mu):
    lam = rho * c * mu
    assert erlang_c(lam, mu, c) == pytest.approx(erlang_c_factorial(lam, mu, c), rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(c=st.integers(1, 60), rho=st.floats(0.05, 0.95), mu=st.floats(0.5, 50.0))
def test_properties(c, rho, mu):
    lam = rho * c * mu
    p = erlang_c(lam, mu, c)
    assert 0.0 < p < 1.0
    # One more server never makes waiting more likely; more traffic never makes it less likely.
    assert erlang_c(lam, mu, c + 1) <= p + 1e-12
    if rho < 0.9:
        assert erlang_c(lam * 1.05, mu, c) >= p - 1e-12
    # P(Wq > t) decreases in t and starts at C.
    assert wait_probability(lam, mu, c, 0.0) == pytest.approx(p)
    assert wait_probability(lam, mu, c, 1.0 / mu) < p
    # The response-time quantile is at least the service-time quantile and increases with q.
    q99 = response_time_quantile(lam, mu, c, 0.99)
    assert q99 >= -math.log(0.01) / mu * (1 - 1e-9)
    assert response_time_quantile(lam, mu, c, 0.999) > q99


def test_response_quantile_solves_survival():
    lam, mu, c = 90.0, 20.0, 6
    t = response_time_quantile(lam, mu, c, 0.99)
    p = erlang_c(lam, mu, c)
    theta = c * mu - lam
    survival = (1 - p) * math.exp(-mu * t) + p * (
        theta * math.exp(-mu * t) - mu * math.exp(-theta * t)
    ) / (theta - mu)
    assert survival == pytest.approx(0.01, rel=1e-6)


@settings(max_examples=100, deadline=None)
@given(
    lam=st.floats(1.0, 500.0),
    mu=st.floats(1.0, 50.0),
    wait_s=st.floats(0.0, 0.5),
    prob=st.floats(0.001, 1.0),
)
def test_servers_for_wait_is_smallest(lam, mu, wait_s, prob):
    c = servers_for_wait(lam, mu, wait_s, prob)
    assert c > lam / mu
    assert wait_probability(lam, mu, c, wait_s) <= prob
    if c - 1 > lam / mu:  # the next smaller stable pool misses the target
        assert wait_probability(lam, mu, c - 1, wait_s) > prob


def test_servers_for_wait_vector():
    # c = 6: 0.5875·e^{-0.2} = 0.48; c = 7: 0.217; c = 8: 0.092; c = 9: 0.036.
    assert servers_for_wait(100.0, 20.0, wait_s=0.01, max_probability=0.05) == 9
    assert servers_for_wait(100.0, 20.0, wait_s=0.01, max_probability=0.25) == 7


@pytest.mark.parametrize("fn", [erlang_c, mmc, queueing.response_time_quantile])
def test_unstable_raises(fn):
    with pytest.raises(ValueError, match="unstable"):
        fn(100.0, 20.0, 5)
    with pytest.raises(ValueError, match="unstable"):
        fn(101.0, 20.0, 5)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((0.0, 1.0, 1), "arrival_rate"),
        ((1.0, -1.0, 1), "service_rate"),
        ((1.0, 2.0, 0), "servers"),
        ((1.0, 2.0, 1.5), "servers"),
        ((float("nan"), 2.0, 1), "arrival_rate"),
    ],
)
def test_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        erlang_c(*args)


def test_servers_for_wait_bad_input():
    with pytest.raises(ValueError, match="max_probability"):
        servers_for_wait(10.0, 1.0, 0.1, 0.0)
    with pytest.raises(ValueError, match="wait_s"):
        servers_for_wait(10.0, 1.0, -1.0, 0.1)


def test_queue_stats_repr_and_dict():
    stats = mmc(2.0, 1.0, 3)
    assert isinstance(stats, QueueStats)
    assert "444 ms" in repr(stats)
    assert set(stats.to_dict()) == {"p_wait", "mean_wait_s", "mean_response_s", "utilization"}
    with pytest.raises(AttributeError):
        stats.p_wait = 0.0  # type: ignore[misc]
