"""Univariate statistics against SciPy (and the PSI convention of docs/design.md §4.1)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import jensenshannon

from labkit.drift import (
    chi2_test,
    jensen_shannon,
    ks_2samp,
    ks_per_feature,
    psi,
    wasserstein,
)

# Values on a coarse grid produce ties between and within samples, the hard case for ECDFs.
samples = st.one_of(
    arrays(np.float64, st.integers(1, 300), elements=st.floats(-1e6, 1e6)),
    arrays(np.float64, st.integers(1, 300), elements=st.integers(-5, 5).map(float)),
)


def reference_psi(x_ref, x, bins=10):
    """PSI exactly as docs/design.md §4.1 words it, with NumPy."""
    edges = np.quantile(x_ref, np.arange(1, bins) / bins)
    p_ref = np.bincount(np.searchsorted(edges, x_ref, side="right"), minlength=bins) / len(x_ref)
    p_cur = np.bincount(np.searchsorted(edges, x, side="right"), minlength=bins) / len(x)
    p_ref, p_cur = np.maximum(p_ref, 1e-4), np.maximum(p_cur, 1e-4)
    return float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful:RuntimeWarning")
@settings(max_examples=150, deadline=None)
@given(x=samples, y=samples)
def test_ks_matches_scipy(x, y):
    if x.size == y.size == 1:
        with pytest.raises(ValueError, match="one value each"):
            ks_2samp(x, y)
        return
    ours = ks_2samp(x, y)
    assert ours.statistic == scipy.stats.ks_2samp(x, y).statistic
    theirs = scipy.stats.ks_2samp(x, y, method="asymp")
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert abs(ours.p_value - theirs.pvalue) <= 1e-6
    assert ours.effect_size == ours.statistic
    assert isinstance(ours.statistic, float) and isinstance(ours.p_value, float)


@settings(max_examples=100, deadline=None)
@given(x=samples, y=samples)
def test_wasserstein_matches_scipy(x, y):
    assert wasserstein(x, y) == pytest.approx(
        scipy.stats.wasserstein_distance(x, y), rel=1e-9, abs=1e-9
    )


@settings(max_examples=100, deadline=None)
@given(x=samples, y=samples, bins=st.integers(2, 20))
def test_psi_matches_convention(x, y, bins):
    assert psi(x, y, bins=bins) == pytest.approx(reference_psi(x, y, bins), rel=1e-9, abs=1e-12)


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
@settings(max_examples=100, deadline=None)
@given(
    pq=st.integers(1, 30).flatmap(
        lambda k: st.tuples(
            arrays(np.float64, k, elements=st.floats(0, 1e3)),
            arrays(np.float64, k, elements=st.floats(0, 1e3)),
        )
    )
)
def test_jensen_shannon_matches_scipy(pq):
    p, q = pq
    if p.sum() == 0 or q.sum() == 0:
        return
    ours, theirs = jensen_shannon(p, q), float(np.nan_to_num(jensenshannon(p, q, base=2)))
    # The distance is the square root of a divergence that can be ~1e-16: compare divergences
    # (last-ulp differences between NumPy's and libm's log are amplified by the root).
    assert ours**2 == pytest.approx(theirs**2, abs=1e-13)
    assert ours == pytest.approx(theirs, rel=1e-6) or theirs < 1e-5


def contingency(a, b):
    cats = sorted(set(a.tolist()) | set(b.tolist()))
    return np.array([[np.sum(a == c) for c in cats], [np.sum(b == c) for c in cats]])


@settings(max_examples=100, deadline=None)
@given(
    a=arrays(np.int64, st.integers(1, 200), elements=st.integers(0, 6)),
    b=arrays(np.int64, st.integers(1, 200), elements=st.integers(2, 9)),
)
def test_chi2_matches_scipy_with_unseen_categories(a, b):
    ours = chi2_test(a, b)
    table = contingency(a, b)
    if table.shape[1] == 1:
        assert (ours.statistic, ours.p_value) == (0.0, 1.0)
        return
    stat, p, _, _ = scipy.stats.chi2_contingency(table, correction=False)
    assert ours.statistic == pytest.approx(stat, rel=1e-9, abs=1e-12)
    assert ours.p_value == pytest.approx(p, rel=1e-9, abs=1e-15)
    assert ours.effect_size == pytest.approx(np.sqrt(stat / table.sum()))


def test_chi2_string_labels():
    rng = np.random.default_rng(0)
    a = rng.choice(["red", "green", "blue"], 300, p=[0.5, 0.3, 0.2])
    b = rng.choice(["red", "green", "blue", "violet"], 200, p=[0.3, 0.3, 0.2, 0.2])
    stat, p, _, _ = scipy.stats.chi2_contingency(contingency(a, b), correction=False)
    r = chi2_test(a, b)
    assert r.statistic == pytest.approx(stat) and r.p_value == pytest.approx(p)
    assert chi2_test(list(a), list(b)).statistic == pytest.approx(stat)


def test_backends_agree(to_backend):
    rng = np.random.default_rng(3)
    x, y = np.round(rng.normal(size=700), 2), np.round(rng.normal(0.2, 1.1, size=500), 2)
    xb, yb = to_backend(x), to_backend(y)
    assert ks_2samp(xb, yb).statistic == scipy.stats.ks_2samp(x, y).statistic
    assert ks_2samp(xb, yb).p_value == pytest.approx(ks_2samp(x, y).p_value, abs=1e-12)
    assert wasserstein(xb, yb) == pytest.approx(scipy.stats.wasserstein_distance(x, y), rel=1e-12)
    assert psi(xb, yb) == pytest.approx(reference_psi(x, y), rel=1e-12)
    counts_a, counts_b = np.bincount(rng.integers(0, 8, 300), minlength=8), np.arange(8.0)
    assert jensen_shannon(to_backend(counts_a), to_backend(counts_b)) == pytest.approx(
        jensenshannon(counts_a, counts_b, base=2), abs=1e-12
    )
    labels_a, labels_b = rng.integers(0, 5, 400), rng.integers(1, 7, 300)
    stat, p, _, _ = scipy.stats.chi2_contingency(contingency(labels_a, labels_b), correction=False)
    r = chi2_test(to_backend(labels_a), to_backend(labels_b))
    assert r.statistic == pytest.approx(stat) and r.p_value == pytest.approx(p)
    for value in (r.statistic, r.p_value, psi(xb, yb), wasserstein(xb, yb)):
        assert type(value) is float


def test_ks_per_feature_matches_scipy_loop():
    rng = np.random.default_rng(5)
    x_ref = np.round(rng.normal(size=(1200, 7)), 1)
    x = np.round(rng.normal(size=(900, 7)) + np.linspace(0, 0.3, 7), 1)
    results = ks_per_feature(x_ref, x)
    for j, r in enumerate(results):
        s = scipy.stats.ks_2samp(x_ref[:, j], x[:, j], method="asymp")
        assert r.statistic == pytest.approx(s.statistic, rel=1e-12)
        assert r.statistic == scipy.stats.ks_2samp(x_ref[:, j], x[:, j]).statistic
        assert abs(r.p_value - s.pvalue) <= 1e-6


def test_psi_known_values():
    x_ref = np.arange(1000.0)
    assert psi(x_ref, x_ref) == 0.0
    # Everything above the reference's maximum lands in the last bin: 9 bins at the floor.
    expected = (1 - 0.1) * np.log(1 / 0.1) + 9 * (1e-4 - 0.1) * np.log(1e-4 / 0.1)
    assert psi(x_ref, x_ref + 5000) == pytest.approx(expected)
    assert psi(x_ref, x_ref, bins=4) == 0.0


def test_large_sample_effect_size_tells_trivial_shift_apart():
    rng = np.random.default_rng(0)
    r = ks_2samp(rng.normal(size=200_000), rng.normal(0.03, 1, size=200_000))
    assert r.p_value < 1e-6 and r.effect_size < 0.02  # "significant", yet tiny
