"""The two-sample Kolmogorov–Smirnov core: D of every column at once, and SciPy's p-values.

:func:`ks_statistics` computes D for all columns of a reference (n, d) and a current sample
(m, d) without a Python loop over features: each sample is sorted along axis 0 in one call, the
two sorted runs of each column are merged by one stable ``argsort`` of their concatenation (a
merge of two runs, linear for NumPy's timsort), and a cumulative sum of "came from the
reference" indicators gives both empirical CDFs at every pooled value. Only the last copy of a
run of equal values carries the right-continuous ECDFs, so D is the largest gap there.

Every CDF value is SciPy's own ``count / n`` division and every gap its subtraction, so D is
``scipy.stats.ks_2samp``'s bit for bit (docs/design.md §4.1). Written against the array API:
NumPy, PyTorch (CPU or CUDA) and CuPy take the same path.

Examples
--------
>>> import numpy as np
>>> from labkit.device import array_namespace
>>> a, b = np.array([[1.0], [2.0], [3.0]]), np.array([[2.0], [4.0]])
>>> ks_statistics(a, b, array_namespace(a)).tolist()
[0.5]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats as _stats

from labkit.device import to_numpy
from labkit.drift._arrays import device_of

__all__ = ["ks_p_values", "ks_statistics", "scipy_default_d"]

# Elements per work array; bounds memory (and keeps each chunk in cache) on 100,000 x 100 inputs.
_CHUNK_ELEMENTS = 1 << 21


def ks_statistics(a: Any, b: Any, xp: Any) -> np.ndarray:
    """KS statistic D of every column of ``a`` (n, d) against ``b`` (m, d), as a NumPy array."""
    if isinstance(a, np.ndarray):
        # Columns as contiguous rows: sorting along the last axis avoids strided gathers.
        return _statistics(np.ascontiguousarray(a.T), np.ascontiguousarray(b.T), np)
    return _statistics(xp.permute_dims(a, (1, 0)), xp.permute_dims(b, (1, 0)), xp)


def _statistics(a: Any, b: Any, xp: Any) -> np.ndarray:
    """D for every row of ``a`` (d, n) against the same row of ``b`` (d, m), chunks of rows."""
    n, m = a.shape[1], b.shape[1]
    total = n + m
    step = max(1, _CHUNK_ELEMENTS // total)
    rank = xp.arange(1, total + 1, dtype=xp.int64, device=device_of(a))
    out = []
    for start in range(0, a.shape[0], step):
        pooled = xp.concat(
            [
                xp.sort(a[start : start + step, :], axis=1),
                xp.sort(b[start : start + step, :], axis=1),
            ],
            axis=1,
        )
        order = xp.argsort(pooled, axis=1, stable=True)
        values = xp.take_along_axis(pooled, order, axis=1)
        count_ref = xp.cumulative_sum(xp.astype(order < n, xp.int64), axis=1)
        diff = xp.abs(
            xp.astype(count_ref, xp.float64) / n - xp.astype(rank - count_ref, xp.float64) / m
        )
        # Only the last of a run of equal values has the ECDFs' right-continuous value; gaps
        # are >= 0, so zeroing the others leaves the maximum alone.
        tie = values[:, 1:] == values[:, :-1]
        diff = xp.where(
            xp.concat([tie, xp.zeros_like(tie[:, :1])], axis=1), xp.zeros_like(diff), diff
        )
        out.append(to_numpy(xp.max(diff, axis=1)))
    return np.concatenate(out)


def ks_p_values(d: np.ndarray, n: int, m: int) -> np.ndarray:
    """SciPy's two-sided ``method="asymp"`` p-value: Kolmogorov's distribution at round(nm/(n+m))."""
    if n == 1 and m == 1:
        raise ValueError(
            "x and y hold one value each; the KS test needs more data (n·m/(n+m) rounds to 0 and "
            "SciPy returns NaN)"
        )
    big, small = sorted([float(n), float(m)], reverse=True)
    en = big * small / (big + small)
    return np.clip(_stats.kstwo.sf(d, np.round(en)), 0.0, 1.0)


def scipy_default_d(d: np.ndarray, n: int, m: int) -> np.ndarray:
    """D as ``scipy.stats.ks_2samp``'s default ``method="auto"`` returns it.

    Up to 10,000 values per sample SciPy takes its exact path, which first snaps D to the
    nearest multiple of 1/lcm(n, m) (the exact rational value, one rounding); above that it
    reports D as computed.
    """
    if max(n, m) > 10_000:
        return d
    lcm = (n // math.gcd(n, m)) * m
    return np.round(d * lcm) * 1.0 / lcm
