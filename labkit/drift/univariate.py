"""Univariate two-sample drift statistics: KS, chi-square, Wasserstein, Jensen–Shannon, PSI.

Written once against the array API, so the same code runs on NumPy, PyTorch (CPU or CUDA) and
CuPy arrays; results come back as Python floats. Each function matches its SciPy counterpart
(docs/design.md §4.1 states the exact conventions) and every p-value comes with an effect size:
on 100,000 rows KS calls a shift of 0.01 standard deviations "significant", and only the effect
size says it does not matter.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x_ref, x = rng.normal(size=500), rng.normal(0.5, 1, size=500)
>>> r = ks_2samp(x_ref, x)
>>> r.p_value < 1e-6, 0.15 < r.effect_size < 0.3
(True, True)
>>> round(psi(x_ref, x_ref), 6)
0.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats as _stats

from labkit._validate import check_int
from labkit.device import to_numpy
from labkit.drift._arrays import as_pair, check_finite, device_of, is_array
from labkit.drift.ks import ks_p_values, ks_statistics, scipy_default_d
from labkit.drift.results import TestResult

__all__ = ["chi2_test", "jensen_shannon", "ks_2samp", "ks_per_feature", "psi", "wasserstein"]

# PSI floors each bin share so empty bins give a large but finite term (evidently, NannyML).
PSI_FLOOR = 1e-4


def _ks_results(d: np.ndarray, n: int, m: int) -> tuple[TestResult, ...]:
    p = ks_p_values(d, n, m)
    d = scipy_default_d(d, n, m)
    return tuple(
        TestResult(float(di), float(pi), float(di), "D", "ks_2samp (asymptotic p-value)", n, m)
        for di, pi in zip(d, p, strict=True)
    )


def ks_2samp(x: Any, y: Any) -> TestResult:
    """Two-sample Kolmogorov–Smirnov test of one feature.

    Parameters
    ----------
    x, y
        1-D samples (reference and current), any supported array library.

    Returns
    -------
    TestResult
        ``statistic`` = D, the largest gap between the two empirical CDFs (equal to
        ``scipy.stats.ks_2samp(x, y).statistic``); ``p_value`` = SciPy's ``method="asymp"``
        p-value; ``effect_size`` = D, which does not grow with the sample size.

    Examples
    --------
    >>> ks_2samp([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).statistic
    0.0
    """
    a, b, xp = as_pair(x, y, ("x", "y"))
    d = ks_statistics(a[:, None], b[:, None], xp)
    return _ks_results(d, a.shape[0], b.shape[0])[0]


def ks_per_feature(x_ref: Any, x: Any) -> tuple[TestResult, ...]:
    """KS test of every column of ``x_ref`` (n, d) against the same column of ``x`` (m, d).

    One vectorized pass over all columns (no Python loop over features, see
    :mod:`labkit.drift.ks`); each result equals :func:`ks_2samp` on that column.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> res = ks_per_feature(rng.normal(size=(300, 3)), rng.normal(size=(300, 3)) + [0, 0, 1])
    >>> [r.p_value < 0.01 for r in res]
    [False, False, True]
    """
    a, b, xp = as_pair(x_ref, x, ndim=(2,))
    return _ks_results(ks_statistics(a, b, xp), a.shape[0], b.shape[0])


def _as_labels(x: Any, name: str, like: Any = None) -> tuple[Any, Any]:
    from labkit.device import array_namespace

    if not is_array(x):
        if x is None or isinstance(x, str | bytes | dict):
            raise TypeError(f"{name} must be a 1-D array or list of category labels, got {x!r:.40}")
        arr = np.asarray(x)
        if like is not None and not isinstance(like, np.ndarray) and arr.dtype.kind in "biuf":
            arr = array_namespace(like).asarray(arr, device=device_of(like))
        x = arr
    xp = array_namespace(x)
    if x.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of category labels, got shape {tuple(x.shape)}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty; chi2_test needs at least one label per sample")
    if isinstance(x, np.ndarray) and x.dtype.kind == "O":
        values = x.tolist()
        if any(v is None or (isinstance(v, float) and not math.isfinite(v)) for v in values):
            raise ValueError(f"{name} contains a missing label (None or NaN); give it a category")
        kinds = {type(v) for v in values}
        if len(kinds) > 1:
            names = ", ".join(sorted(k.__name__ for k in kinds))
            raise ValueError(f"{name} mixes label types ({names}); use one type of label")
    elif not _is_text(x):
        check_finite(x, name, xp)
        if xp.isdtype(x.dtype, "bool"):
            x = xp.astype(x, xp.int64)
    return x, xp


def _is_text(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.dtype.kind in "OUS"


def chi2_test(x_ref: Any, x: Any) -> TestResult:
    """Chi-square test of homogeneity for a categorical feature.

    Builds the 2 × k table of category counts (a category seen in only one sample counts 0 in
    the other) and equals ``scipy.stats.chi2_contingency(table, correction=False)``.
    ``effect_size`` is Cramér's V = sqrt(chi² / N), between 0 (same mix) and 1.

    Examples
    --------
    >>> r = chi2_test(["a", "a", "b", "b"], ["a", "b", "b", "c"])
    >>> round(r.statistic, 4), round(r.p_value, 4)
    (1.3333, 0.5134)
    """
    a, xp = _as_labels(x_ref, "x_ref", like=x if is_array(x) else None)
    b, xp_b = _as_labels(x, "x", like=a)
    if xp_b is not xp:
        raise TypeError("x_ref and x must come from the same array library")
    if _is_text(a) != _is_text(b):
        raise ValueError(f"x_ref holds {a.dtype} labels but x holds {b.dtype}; use one label type")
    sa, sb = xp.sort(a), xp.sort(b)
    cats = xp.unique_values(xp.concat([sa, sb]))
    counts = [
        to_numpy(xp.searchsorted(s, cats, side="right") - xp.searchsorted(s, cats, side="left"))
        for s in (sa, sb)
    ]
    table = np.stack(counts).astype(np.float64)
    total = table.sum()
    k = table.shape[1]
    if k == 1:  # one category: nothing can differ (SciPy returns chi² = 0, p = 1 for dof 0)
        stat, p = 0.0, 1.0
    else:
        expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / total
        stat = float(np.sum((table - expected) ** 2 / expected))
        p = float(_stats.chi2.sf(stat, k - 1))
    v = math.sqrt(stat / total) if k > 1 else 0.0
    return TestResult(stat, p, v, "cramers_v", "chi2_test", int(a.shape[0]), int(b.shape[0]))


def wasserstein(x: Any, y: Any) -> float:
    """Wasserstein-1 (earth mover's) distance between two 1-D samples, in the data's units.

    Equals ``scipy.stats.wasserstein_distance``: the area between the two empirical CDFs.

    Examples
    --------
    >>> wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 8.0])
    5.0
    """
    a, b, xp = as_pair(x, y, ("x", "y"))
    u, v = xp.sort(a), xp.sort(b)
    pooled = xp.sort(xp.concat([a, b]))
    deltas = pooled[1:] - pooled[:-1]
    at = pooled[:-1]
    u_cdf = xp.astype(xp.searchsorted(u, at, side="right"), xp.float64) / a.shape[0]
    v_cdf = xp.astype(xp.searchsorted(v, at, side="right"), xp.float64) / b.shape[0]
    return float(xp.sum(xp.abs(u_cdf - v_cdf) * deltas))


def jensen_shannon(p: Any, q: Any) -> float:
    """Jensen–Shannon *distance* (base 2, in [0, 1]) between two count or probability vectors.

    Equals ``scipy.spatial.distance.jensenshannon(p, q, base=2)``; each vector is normalized to
    sum to 1 first, so raw histogram counts are fine.

    Examples
    --------
    >>> jensen_shannon([1, 0], [0, 1])
    1.0
    >>> jensen_shannon([10, 20, 30], [1, 2, 3])
    0.0
    """
    a, b, xp = as_pair(p, q, ("p", "q"))
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"p and q must have one entry per bin, the same bins: got {a.shape[0]} and {b.shape[0]}"
        )
    for name, arr in (("p", a), ("q", b)):
        if bool(xp.any(arr < 0)):
            raise ValueError(f"{name} must hold counts or probabilities (>= 0); it has negatives")
        if not float(xp.sum(arr)) > 0:
            raise ValueError(f"{name} sums to 0; it needs at least one positive count")
    a, b = a / xp.sum(a), b / xp.sum(b)
    m = (a + b) / 2.0
    zero = xp.zeros_like(a)
    # rel_entr(p, m) = p log(p / m) with 0 log 0 = 0; m > 0 wherever p > 0.
    left = xp.where(a > 0, a * xp.log(xp.where(a > 0, a, 1.0) / xp.where(a > 0, m, 1.0)), zero)
    right = xp.where(b > 0, b * xp.log(xp.where(b > 0, b, 1.0) / xp.where(b > 0, m, 1.0)), zero)
    js = (float(xp.sum(left)) + float(xp.sum(right))) / math.log(2.0)
    return math.sqrt(max(js, 0.0) / 2.0)


def _quantile_edges(sorted_ref: Any, bins: int, xp: Any) -> list[float]:
    """``numpy.quantile(x_ref, k / bins)`` for k = 1..bins-1, same arithmetic (method "linear")."""
    n = sorted_ref.shape[0]
    virtual = [(n - 1) * (k / bins) for k in range(1, bins)]
    lower = [min(math.floor(v), n - 1) for v in virtual]
    upper = [min(lo + 1, n - 1) for lo in lower]
    # Fetch only the 2 * (bins - 1) order statistics needed (one small device-to-host copy).
    picked = xp.take(sorted_ref, xp.asarray(lower + upper, device=device_of(sorted_ref)))
    values = to_numpy(picked).tolist()
    edges = []
    for v, a, b, lo in zip(virtual, values[: bins - 1], values[bins - 1 :], lower, strict=True):
        if v >= n - 1:  # at or past the last order statistic: NumPy takes the maximum
            edges.append(b)
            continue
        t = v - lo
        diff = b - a
        # NumPy's _lerp: interpolate from the nearer end for accuracy.
        edges.append(b - diff * (1 - t) if t >= 0.5 else a + diff * t)
    return edges


def psi(x_ref: Any, x: Any, bins: int = 10) -> float:
    """Population Stability Index of one feature with quantile bins of the reference.

    Edges are the ``k/bins`` quantiles of ``x_ref`` (``numpy.quantile``'s default method,
    k = 1..bins-1), the outer bins are open to ±inf and a value ``v`` falls in bin
    ``searchsorted(edges, v, side="right")``. Shares are floored at 1e-4, then
    PSI = Σ (p_x − p_ref) · ln(p_x / p_ref). Rule of thumb: < 0.1 stable, 0.1–0.25 moderate,
    > 0.25 significant.

    Examples
    --------
    >>> import numpy as np
    >>> x_ref = np.arange(1000.0)
    >>> round(psi(x_ref, x_ref + 100), 3)
    0.759
    """
    bins = check_int(bins, "bins", min_val=2)
    a, b, xp = as_pair(x_ref, x)
    sa, sb = xp.sort(a), xp.sort(b)
    edges_host = _quantile_edges(sa, bins, xp)
    edges = xp.asarray(edges_host, dtype=xp.float64, device=device_of(a))

    def shares(sorted_x: Any) -> Any:
        # values below edge j: searchsorted(..., "left"); bin j holds edges[j-1] <= v < edges[j]
        below = xp.astype(xp.searchsorted(sorted_x, edges, side="left"), xp.float64)
        n = float(sorted_x.shape[0])
        full = xp.concat([xp.zeros_like(below[:1]), below, xp.full_like(below[:1], n)])
        return xp.clip((full[1:] - full[:-1]) / n, min=PSI_FLOOR)

    p_ref, p_cur = shares(sa), shares(sb)
    return float(xp.sum((p_cur - p_ref) * xp.log(p_cur / p_ref)))
