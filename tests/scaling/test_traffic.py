"""Send schedules and traffic profiles against scipy's distributions and hand-computed facts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from labkit.scaling.traffic import (
    TrafficProfile,
    constant_schedule,
    daily_curve,
    peak_hour_profile,
    poisson_schedule,
    profile_schedule,
)


def test_constant_schedule():
    s = constant_schedule(200.0, 1.5)
    assert len(s) == 300
    np.testing.assert_allclose(np.diff(s), 1 / 200.0)
    assert s[0] == 0.0 and s[-1] < 1.5


@pytest.mark.parametrize("rate", [5.0, 300.0, 5000.0])
def test_poisson_schedule_is_poisson(rate):
    s = poisson_schedule(rate, 20.0, seed=3)
    gaps = np.diff(s)
    # inter-arrival times are exponential with mean 1/rate (KS test, scipy as reference)
    assert stats.kstest(gaps, stats.expon(scale=1 / rate).cdf).pvalue > 0.001
    # the count is Poisson(rate·T): within 5 standard deviations
    assert abs(len(s) - rate * 20) < 5 * np.sqrt(rate * 20)
    assert np.all(gaps > 0) and s[-1] < 20.0


def test_poisson_schedule_seeded_and_validated():
    np.testing.assert_array_equal(poisson_schedule(50, 2, seed=1), poisson_schedule(50, 2, seed=1))
    with pytest.raises(ValueError, match="rate"):
        poisson_schedule(0, 1)
    with pytest.raises(ValueError, match="duration_s"):
        constant_schedule(1, -1)


def test_daily_curve_shape():
    hours = np.arange(0, 24, 0.25)
    c = daily_curve(hours)
    assert c.max() == pytest.approx(1.0)
    assert 19 <= hours[np.argmax(c)] <= 22  # evening peak
    assert 2 <= hours[np.argmin(c)] <= 6  # night trough
    assert c.min() < 0.25


def test_peak_hour_profile():
    p = peak_hour_profile(peak_rps=1000, surge_factor=1.6, noise=0.0, seed=0)
    assert p.duration_s == 86_400 and p.step_s == 5.0
    assert p.peak_rps == pytest.approx(1600, rel=0.1)  # the surge on top of the evening peak
    quiet = peak_hour_profile(peak_rps=1000, surge_at_hour=None, noise=0.0)
    assert quiet.peak_rps == pytest.approx(1000, rel=1e-6)
    assert p.total_requests > quiet.total_requests
    assert p.rate_at(86_400 + 3600) == p.rate_at(3600)  # wraps daily
    assert "peak" in repr(p)


def test_profile_schedule_follows_rates():
    p = TrafficProfile(np.array([0.0, 10.0]), np.array([50.0, 200.0]), step_s=10.0)
    s = profile_schedule(p, seed=0)
    first, second = (s < 10).sum(), (s >= 10).sum()
    assert abs(first - 500) < 5 * np.sqrt(500) and abs(second - 2000) < 5 * np.sqrt(2000)
    fast = profile_schedule(p, seed=0, time_scale=10.0)  # same rates, a tenth of the time
    assert fast[-1] < 2.0 and abs(len(fast) - 250) < 5 * np.sqrt(250)
    with pytest.raises(ValueError):
        TrafficProfile(np.array([0.0]), np.array([-1.0]), 1.0)
