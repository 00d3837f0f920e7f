"""Maximum Mean Discrepancy: unbiased MMD² with a Gaussian kernel and a fast permutation test.

MMD compares two multivariate samples through the mean of a kernel: with
k(a, b) = exp(−‖a−b‖² / (2σ²)), the unbiased estimate (Gretton et al. 2012, eq. 3) is

    MMD² = Σ_{i≠j} k(x_i, x_j) / (n(n−1)) + Σ_{i≠j} k(y_i, y_j) / (m(m−1))
           − 2 Σ_{i,j} k(x_i, y_j) / (nm).

The permutation test builds the (n+m)² kernel matrix **once**. A relabelling of the pooled
sample is a 0/1 vector ``a`` (1 = "reference"); with K₀ the kernel matrix without its diagonal
and r = K₀·1, the three sums are aᵀK₀a, aᵀr − aᵀK₀a and 1ᵀr − 2aᵀr + aᵀK₀a. Stacking a batch
of permutations as the rows of A turns all of them into one matrix product A·K₀, run in
chunks so memory stays bounded. The straightforward alternative recomputes the kernel for
every permutation and is one to two orders of magnitude slower (``benchmarks/drift_bench.py``).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x, y = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
>>> abs(mmd2(x, y)) < 0.02
True
>>> mmd_test(x, y + 1.0, n_permutations=100, seed=0).p_value
0.009900990099009901
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from labkit._validate import check_int, check_real
from labkit.device import to_numpy
from labkit.drift._arrays import as_pair, device_of, is_array
from labkit.drift.results import TestResult

__all__ = ["gaussian_kernel_matrix", "median_heuristic", "mmd2", "mmd_test"]

# Bytes allowed for one chunk of permutations (the 0/1 matrix and its product with K₀).
_CHUNK_BYTES = 1 << 27
# Permuted statistics within this of the observed one count as ties (>=): the batched product
# and the single-row product may round differently, and a tie must not turn into "smaller".
_TIE_TOLERANCE = 1e-12


def _to_device(x: Any, device: Any) -> Any:
    """``x`` as a torch tensor on ``device`` (resolved through :func:`labkit.device.resolve`)."""
    import torch

    from labkit.device import resolve

    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(to_numpy(x) if is_array(x) else np.asarray(x))
    return x.to(resolve(device))


def _prepare(x: Any, y: Any, device: Any) -> tuple[Any, Any, Any]:
    if device is not None:
        x, y = _to_device(x, device), _to_device(y, device)
    a, b, xp = as_pair(x, y, ("x", "y"), ndim=(1, 2), min_rows=2)
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]
    return a, b, xp


def _squared_distances(z: Any, xp: Any) -> Any:
    """All pairwise squared Euclidean distances of the rows of ``z`` (centred to limit cancellation)."""
    z = z - xp.mean(z, axis=0)
    sq = xp.sum(z * z, axis=1)
    d = sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)
    return xp.clip(d, min=0.0)


def _median(v: Any, xp: Any) -> float:
    """Median with NumPy's convention (mean of the two middle values for an even count)."""
    if isinstance(v, np.ndarray):
        return float(np.median(v))
    s = xp.sort(v)
    k = s.shape[0]
    return float(s[k // 2]) if k % 2 else (float(s[k // 2 - 1]) + float(s[k // 2])) / 2.0


def _upper_triangle(d: Any, xp: Any) -> Any:
    n = d.shape[0]
    idx = xp.arange(n, device=device_of(d))
    return d[idx[:, None] < idx[None, :]]


def _sigma_from(d: Any, xp: Any) -> float:
    pairs = _upper_triangle(d, xp)
    med = _median(pairs, xp)
    if med == 0.0:
        # Over half the pairs coincide (discrete data): the median says nothing about scale,
        # so fall back to the mean of the non-zero squared distances (1 if all points coincide).
        positive = pairs[pairs > 0]
        med = float(xp.mean(positive)) if positive.shape[0] else 2.0
    return math.sqrt(med / 2.0)


def median_heuristic(x: Any, y: Any) -> float:
    """Gaussian kernel width σ = sqrt(median of squared pairwise distances / 2), pooled sample.

    Pairs are i < j over the pooled rows of ``x`` and ``y``.

    Examples
    --------
    >>> median_heuristic([[0.0], [1.0]], [[2.0], [3.0]])
    1.118033988749895
    """
    a, b, xp = _prepare(x, y, None)
    return _sigma_from(_squared_distances(xp.concat([a, b], axis=0), xp), xp)


def gaussian_kernel_matrix(x: Any, y: Any, sigma: float | None = None) -> tuple[Any, float]:
    """Kernel matrix of the pooled sample ``[x; y]`` and the σ used (median heuristic if None)."""
    a, b, xp = _prepare(x, y, None)
    return _kernel(xp.concat([a, b], axis=0), sigma, xp)


def _kernel(z: Any, sigma: float | None, xp: Any) -> tuple[Any, float]:
    d = _squared_distances(z, xp)
    sigma = (
        _sigma_from(d, xp)
        if sigma is None
        else check_real(sigma, "sigma", min_val=0.0, include_boundaries="right")
    )
    return xp.exp(d * (-1.0 / (2.0 * sigma * sigma))), sigma


def _mmd2_rows(k0: Any, rows: Any, r: Any, total: float, n: int, m: int, xp: Any) -> Any:
    """Unbiased MMD² for each 0/1 assignment row of ``rows`` (shape (P, N)), ``k0`` zero-diagonal."""
    s_xx = xp.sum((rows @ k0) * rows, axis=1)
    a_r = rows @ r
    s_xy = a_r - s_xx
    s_yy = total - 2.0 * a_r + s_xx
    return s_xx / (n * (n - 1)) + s_yy / (m * (m - 1)) - 2.0 * s_xy / (n * m)


def _setup(a: Any, b: Any, sigma: float | None, xp: Any) -> tuple[Any, Any, float, float, Any]:
    n, m = a.shape[0], b.shape[0]
    k, sigma = _kernel(xp.concat([a, b], axis=0), sigma, xp)
    eye = xp.eye(n + m, dtype=xp.bool, device=device_of(k))
    k0 = xp.where(eye, xp.zeros_like(k), k)
    r = xp.sum(k0, axis=1)
    total = float(xp.sum(r))
    observed = xp.asarray([[1.0] * n + [0.0] * m], dtype=k0.dtype, device=device_of(k0))
    stat = float(_mmd2_rows(k0, observed, r, total, n, m, xp)[0])
    return k0, r, total, sigma, stat


def mmd2(x: Any, y: Any, sigma: float | None = None, *, device: Any = None) -> float:
    """Unbiased MMD² between samples ``x`` (n, d) and ``y`` (m, d), Gaussian kernel.

    Parameters
    ----------
    x, y
        Samples with the same number of features (1-D arrays are one feature); n, m >= 2.
    sigma
        Kernel width; ``None`` uses the median heuristic on the pooled sample.
    device
        Optional torch device to compute on (inputs are moved there); by default the inputs'
        own library and device are used.

    Returns
    -------
    float
        MMD², unbiased, so it can be slightly negative when the distributions are equal.

    Examples
    --------
    >>> round(mmd2([[0.0], [1.0]], [[0.0], [1.0]], sigma=1.0), 6)
    -0.393469
    """
    a, b, xp = _prepare(x, y, device)
    return _setup(a, b, sigma, xp)[4]


def mmd_test(
    x: Any,
    y: Any,
    n_permutations: int = 500,
    sigma: float | None = None,
    seed: int | None = None,
    *,
    device: Any = None,
) -> TestResult:
    """Permutation test of "same distribution" with the unbiased MMD² as statistic.

    Parameters
    ----------
    x, y
        Samples (n, d) and (m, d), n, m >= 2.
    n_permutations
        Random relabellings of the pooled sample.
    sigma
        Kernel width, fixed for all permutations; ``None``: median heuristic on the pooled data.
    seed
        Seed of the permutations (NumPy's generator, so results agree across devices).
    device
        Optional torch device to compute on.

    Returns
    -------
    TestResult
        ``statistic`` = :func:`mmd2`; ``p_value`` = (1 + #{permuted ≥ observed}) /
        (1 + n_permutations); ``effect_size`` = MMD = sqrt(max(MMD², 0)).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> r = mmd_test(rng.normal(size=(50, 2)), rng.normal(size=(50, 2)), 200, seed=0)
    >>> r.p_value > 0.05
    True
    """
    n_permutations = check_int(n_permutations, "n_permutations", min_val=1)
    if seed is not None:
        seed = check_int(seed, "seed", min_val=0)
    a, b, xp = _prepare(x, y, device)
    n, m = a.shape[0], b.shape[0]
    k0, r, total, _, stat = _setup(a, b, sigma, xp)
    rng = np.random.default_rng(seed)
    labels = np.concatenate([np.ones(n), np.zeros(m)])
    chunk = max(1, _CHUNK_BYTES // (16 * (n + m)))
    exceed = 0
    for start in range(0, n_permutations, chunk):
        size = min(chunk, n_permutations - start)
        rows = rng.permuted(np.broadcast_to(labels, (size, n + m)), axis=1)
        rows = xp.asarray(rows, dtype=k0.dtype, device=device_of(k0))
        permuted = _mmd2_rows(k0, rows, r, total, n, m, xp)
        exceed += int(xp.sum(xp.astype(permuted >= stat - _TIE_TOLERANCE, xp.int64)))
    p = (1 + exceed) / (1 + n_permutations)
    return TestResult(stat, p, math.sqrt(max(stat, 0.0)), "mmd", "mmd_test (permutation)", n, m)
