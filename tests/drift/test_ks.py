"""The vectorized KS core: D bit-equal to ``scipy.stats.ks_2samp`` column by column."""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest
import scipy.stats
import torch

from labkit.drift import ks
from labkit.drift.ks import ks_p_values, ks_statistics


def _scipy_d(x_ref, x):
    return [
        scipy.stats.ks_2samp(x_ref[:, j], x[:, j], method="asymp").statistic
        for j in range(x_ref.shape[1])
    ]


def _cases():
    rng = np.random.default_rng(11)
    yield "random", rng.normal(size=(400, 6)), rng.normal(0.1, 1.2, size=(250, 6))
    yield "tied", np.round(rng.normal(size=(300, 5)), 1), np.round(rng.normal(size=(500, 5)), 1)
    yield "integers", rng.integers(0, 4, size=(200, 4)), rng.integers(1, 5, size=(120, 4))
    yield "identical", np.ones((50, 2)), np.ones((70, 2))
    yield "disjoint", np.zeros((30, 3)), np.ones((40, 3))


@pytest.mark.parametrize("namespace", ["numpy", "torch"])
@pytest.mark.parametrize("case", list(_cases()), ids=lambda c: c[0])
def test_statistics_equal_scipy_exactly(monkeypatch, case, namespace):
    _, x_ref, x = case
    monkeypatch.setattr(ks, "_CHUNK_ELEMENTS", 1500)  # several chunks of columns
    convert = np.asarray if namespace == "numpy" else torch.as_tensor
    a = convert(x_ref.astype(np.float64))
    b = convert(x.astype(np.float64))
    got = ks_statistics(a, b, array_api_compat.array_namespace(a)).tolist()
    assert got == _scipy_d(x_ref, x)  # exact, statistic by statistic


def test_p_values_within_contract():
    rng = np.random.default_rng(12)
    x_ref, x = rng.normal(size=(800, 5)), rng.normal(size=(600, 5)) + np.linspace(0, 0.3, 5)
    d = ks_statistics(x_ref, x, np)
    for j, p in enumerate(ks_p_values(d, 800, 600)):
        assert abs(p - scipy.stats.ks_2samp(x_ref[:, j], x[:, j], method="asymp").pvalue) <= 1e-6


def test_one_value_each_is_refused():
    with pytest.raises(ValueError, match="one value each"):
        ks_p_values(np.array([1.0]), 1, 1)
