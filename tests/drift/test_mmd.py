"""MMD² and its permutation test against a direct NumPy/SciPy implementation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist, pdist

from labkit.drift import median_heuristic, mmd2, mmd_test
from labkit.drift import mmd as mmd_module


def naive_mmd2(x, y, sigma=None):
    """Unbiased MMD² written out from Gretton et al. (2012), eq. 3."""
    z = np.vstack([x, y])
    if sigma is None:
        sigma = np.sqrt(np.median(pdist(z, "sqeuclidean")) / 2)
    k = lambda a, b: np.exp(-cdist(a, b, "sqeuclidean") / (2 * sigma**2))  # noqa: E731
    n, m = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return (
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
        + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        - 2 * kxy.mean()
    )


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 40),
    m=st.integers(2, 40),
    d=st.integers(1, 5),
    seed=st.integers(0, 2**31),
    sigma=st.one_of(st.none(), st.floats(0.1, 10)),
)
def test_mmd2_matches_naive(n, m, d, seed, sigma):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, d)), rng.normal(0.5, 1.5, size=(m, d))
    assert mmd2(x, y, sigma) == pytest.approx(naive_mmd2(x, y, sigma), abs=1e-10)


def test_median_heuristic_matches_pdist():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(60, 4)), rng.normal(size=(41, 4))
    expected = np.sqrt(np.median(pdist(np.vstack([x, y]), "sqeuclidean")) / 2)
    assert median_heuristic(x, y) == pytest.approx(expected, rel=1e-10)


def test_one_dimensional_input_is_one_feature():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=50), rng.normal(size=40)
    assert mmd2(x, y) == pytest.approx(naive_mmd2(x[:, None], y[:, None]), abs=1e-12)


def test_permuted_statistics_equal_recomputed_ones():
    """The batched A·K₀ trick gives each relabelling's MMD² as if recomputed from scratch."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(30, 3)), rng.normal(0.3, 1, size=(25, 3))
    z = np.vstack([x, y])
    sigma = median_heuristic(x, y)
    k0, r, total, _, _ = mmd_module._setup(x, y, sigma, np)
    rows = np.stack([rng.permutation(np.r_[np.ones(30), np.zeros(25)]) for _ in range(20)])
    batched = mmd_module._mmd2_rows(k0, rows, r, total, 30, 25, np)
    for row, value in zip(rows, batched, strict=True):
        a = row.astype(bool)
        assert value == pytest.approx(naive_mmd2(z[a], z[~a], sigma), abs=1e-12)


def test_p_value_formula_and_reproducibility():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    r1 = mmd_test(x, y, n_permutations=199, seed=7)
    r2 = mmd_test(x, y, n_permutations=199, seed=7)
    assert r1 == r2
    assert r1.statistic == mmd2(x, y)
    count = round(r1.p_value * 200) - 1
    assert r1.p_value == (1 + count) / 200 and 0 <= count <= 199
    far = mmd_test(x, y + 3, n_permutations=99, seed=0)
    assert far.p_value == 1 / 100  # nothing permuted reaches a separated pair
    assert far.effect_size == pytest.approx(np.sqrt(far.statistic))


def test_p_value_against_naive_permutation_distribution():
    """Same relabellings, statistic recomputed naively each time: same p-value."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(25, 2)), rng.normal(0.4, 1, size=(20, 2))
    sigma = median_heuristic(x, y)
    ours = mmd_test(x, y, n_permutations=300, sigma=sigma, seed=11)
    z = np.vstack([x, y])
    labels = np.r_[np.ones(25), np.zeros(20)]
    perm_rng = np.random.default_rng(11)  # mmd_test draws its relabellings the same way
    rows = perm_rng.permuted(np.broadcast_to(labels, (300, 45)), axis=1).astype(bool)
    observed = naive_mmd2(x, y, sigma)
    exceed = sum(naive_mmd2(z[a], z[~a], sigma) >= observed - 1e-12 for a in rows)
    assert ours.p_value == (1 + exceed) / 301


def test_null_p_values_are_roughly_uniform():
    rng = np.random.default_rng(6)
    p = [
        mmd_test(rng.normal(size=(20, 2)), rng.normal(size=(20, 2)), 99, seed=i).p_value
        for i in range(60)
    ]
    assert 0.02 < np.mean(np.array(p) < 0.1) < 0.25
    assert 0.35 < np.mean(p) < 0.65


def test_kernel_matrix_built_once(monkeypatch):
    calls = []
    original = mmd_module._kernel

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(mmd_module, "_kernel", counting)
    monkeypatch.setattr(mmd_module, "_CHUNK_BYTES", 16 * 60 * 7)  # 7 permutations per chunk
    rng = np.random.default_rng(7)
    mmd_test(rng.normal(size=(30, 2)), rng.normal(size=(30, 2)), n_permutations=50, seed=0)
    assert len(calls) == 1


def test_chunking_does_not_change_the_result(monkeypatch):
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(30, 2)), rng.normal(0.2, 1, size=(35, 2))
    whole = mmd_test(x, y, n_permutations=120, seed=3)
    monkeypatch.setattr(mmd_module, "_CHUNK_BYTES", 16 * 65 * 9)
    assert mmd_test(x, y, n_permutations=120, seed=3) == whole


def test_backends_agree(to_backend):
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(80, 3)), rng.normal(0.2, 1, size=(70, 3))
    expected = mmd_test(x, y, n_permutations=200, seed=1)
    got = mmd_test(to_backend(x), to_backend(y), n_permutations=200, seed=1)
    assert got.statistic == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
    assert got.p_value == expected.p_value
    assert type(got.statistic) is float and type(got.p_value) is float
    assert mmd2(to_backend(x), to_backend(y)) == pytest.approx(naive_mmd2(x, y), abs=1e-10)


def test_device_argument_moves_inputs():
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    assert mmd2(x, y, device="cpu") == pytest.approx(mmd2(x, y), abs=1e-12)


def test_duplicate_points_fall_back_from_zero_median():
    x = np.zeros((30, 1))
    y = np.r_[np.zeros(25), np.ones(5)][:, None]
    assert np.isfinite(mmd2(x, y))
    assert mmd2(np.zeros((5, 2)), np.zeros((6, 2))) == 0.0
