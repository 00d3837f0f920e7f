"""Batch drift detectors: reference data at construction, ``predict(x) -> DriftResult``.

The alibi-detect pattern (``cd/ks.py``, ``cd/mmd.py``): a detector holds the reference sample
and a significance level, and answers "has this batch drifted?" for every new batch.

* :class:`KSDrift`: one KS test per feature, corrected for testing d features at once —
  Bonferroni (threshold ``p_val / d``; controls the chance of *any* false alarm) or FDR
  (Benjamini–Hochberg; controls the expected share of false alarms among flagged features,
  more power when several features move).
* :class:`MMDDrift`: one multivariate MMD permutation test, which also sees changes in the
  joint distribution that leave every marginal intact (a rotated correlation, say).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit._validate import check_choice, check_int, check_real
from labkit.drift._arrays import as_pair, as_samples
from labkit.drift.ks import ks_p_values, ks_statistics, scipy_default_d
from labkit.drift.mmd import _to_device, mmd_test
from labkit.drift.results import DriftResult

__all__ = ["KSDrift", "MMDDrift", "correct_p_values"]

CORRECTIONS = ("bonferroni", "fdr")


def correct_p_values(
    p_values: Any, p_val: float = 0.05, correction: str = "bonferroni"
) -> tuple[float, tuple[bool, ...]]:
    """Multiple-testing correction of per-feature p-values.

    Returns the p-value threshold after correction and which features fall below it.
    Bonferroni: threshold ``p_val / d``. FDR: Benjamini–Hochberg, the largest ``p_val · k / d``
    whose k-th smallest p-value is below it (``p_val / d`` when none is).

    Examples
    --------
    >>> correct_p_values([0.001, 0.02, 0.03, 0.5], 0.05, "bonferroni")
    (0.0125, (True, False, False, False))
    >>> correct_p_values([0.001, 0.02, 0.03, 0.5], 0.05, "fdr")
    (0.0375, (True, True, True, False))
    """
    p = np.asarray(p_values, dtype=np.float64).ravel()
    if p.size == 0:
        raise ValueError("p_values is empty; give one p-value per feature")
    p_val = check_real(p_val, "p_val", min_val=0.0, max_val=1.0, include_boundaries="neither")
    correction = check_choice(correction, "correction", CORRECTIONS)
    d = p.size
    if correction == "bonferroni":
        threshold = p_val / d
    else:
        levels = p_val * np.arange(1, d + 1) / d
        below = np.flatnonzero(np.sort(p) < levels)
        threshold = float(levels[below[-1]]) if below.size else float(levels[0])
    return float(threshold), tuple(bool(v) for v in p < threshold)


class KSDrift:
    """Per-feature Kolmogorov–Smirnov drift detector with multiple-testing correction.

    Parameters
    ----------
    x_ref
        Reference data, (n, d) or 1-D for a single feature; NumPy, PyTorch or CuPy.
    p_val
        Significance level of the whole detector (before correction).
    correction
        ``"bonferroni"`` or ``"fdr"``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> detector = KSDrift(rng.normal(size=(500, 4)))
    >>> detector.predict(rng.normal(size=(500, 4))).is_drift
    False
    >>> shifted = rng.normal(size=(500, 4)) + [0.0, 0.0, 0.0, 0.5]
    >>> result = detector.predict(shifted)
    >>> result.is_drift, result.feature_drift
    (True, (False, False, False, True))
    """

    def __init__(self, x_ref: Any, p_val: float = 0.05, correction: str = "bonferroni") -> None:
        self.p_val = check_real(
            p_val, "p_val", min_val=0.0, max_val=1.0, include_boundaries="neither"
        )
        self.correction = check_choice(correction, "correction", CORRECTIONS)
        ref, xp = as_samples(x_ref, "x_ref", ndim=(1, 2))
        self.x_ref = xp.asarray(ref, copy=True)  # the detector owns its reference
        self.n_features = 1 if self.x_ref.ndim == 1 else int(self.x_ref.shape[1])

    def predict(self, x: Any) -> DriftResult:
        """Test ``x`` (same columns as ``x_ref``) against the reference."""
        a, b, xp = as_pair(self.x_ref, x, ndim=(self.x_ref.ndim,))
        if a.ndim == 1:
            a, b = a[:, None], b[:, None]
        n, m = int(a.shape[0]), int(b.shape[0])
        raw = ks_statistics(a, b, xp)
        p = ks_p_values(raw, n, m)
        d = scipy_default_d(raw, n, m)
        threshold, flags = correct_p_values(p, self.p_val, self.correction)
        worst = int(np.argmax(d))
        return DriftResult(
            is_drift=any(flags),
            p_value=float(p.min()),
            distance=float(d.max()),
            threshold=threshold,
            method="KSDrift",
            correction=self.correction,
            feature_p_values=tuple(float(v) for v in p),
            feature_distances=tuple(float(v) for v in d),
            feature_drift=flags,
            effect_size=float(d[worst]),
            effect_name="D",
            n_ref=n,
            n=m,
        )

    def __repr__(self) -> str:
        return (
            f"KSDrift(n_ref={self.x_ref.shape[0]}, n_features={self.n_features}, "
            f"p_val={self.p_val}, correction={self.correction!r})"
        )


class MMDDrift:
    """Multivariate drift detector: MMD² permutation test against the reference.

    Parameters
    ----------
    x_ref
        Reference data (n, d); n >= 2.
    p_val
        Significance level.
    n_permutations
        Permutations per test.
    sigma
        Gaussian kernel width; ``None``: median heuristic on each pooled sample.
    seed
        Seed of the permutations (each ``predict`` uses it afresh, so repeated calls on the
        same data agree).
    device
        Torch device to compute on (the reference is moved there once).

    Examples
    --------
    A rotated correlation: every marginal stays standard normal, so a per-feature test has
    nothing to see, while the joint distribution has changed.

    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> x_ref = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=300)
    >>> x = rng.multivariate_normal([0, 0], [[1, -0.8], [-0.8, 1]], size=300)
    >>> detector = MMDDrift(x_ref, n_permutations=200, seed=0)
    >>> detector.predict(x).is_drift, KSDrift(x_ref).predict(x).is_drift
    (True, False)
    >>> same = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=300)
    >>> detector.predict(same).is_drift
    False
    """

    def __init__(
        self,
        x_ref: Any,
        p_val: float = 0.05,
        n_permutations: int = 500,
        sigma: float | None = None,
        seed: int | None = None,
        device: Any = None,
    ) -> None:
        self.p_val = check_real(
            p_val, "p_val", min_val=0.0, max_val=1.0, include_boundaries="neither"
        )
        self.n_permutations = check_int(n_permutations, "n_permutations", min_val=1)
        self.sigma = (
            None
            if sigma is None
            else check_real(sigma, "sigma", min_val=0.0, include_boundaries="right")
        )
        self.seed = None if seed is None else check_int(seed, "seed", min_val=0)
        self.device = device
        if device is not None:
            x_ref = _to_device(x_ref, device)
        ref, xp = as_samples(x_ref, "x_ref", ndim=(1, 2), min_rows=2)
        self._ndim = ref.ndim
        ref = xp.asarray(ref, copy=True)  # the detector owns its reference
        self.x_ref = ref[:, None] if ref.ndim == 1 else ref

    def predict(self, x: Any) -> DriftResult:
        """Test ``x`` (same columns as ``x_ref``) with an MMD permutation test."""
        if self.device is not None:
            x = _to_device(x, self.device)
        cur, _ = as_samples(x, "x", ndim=(self._ndim,), min_rows=2, like=self.x_ref)
        if cur.ndim == 1:
            cur = cur[:, None]
        result = mmd_test(self.x_ref, cur, self.n_permutations, self.sigma, self.seed)
        return DriftResult.from_test(result, self.p_val, "MMDDrift")

    def __repr__(self) -> str:
        return (
            f"MMDDrift(n_ref={self.x_ref.shape[0]}, n_features={self.x_ref.shape[1]}, "
            f"p_val={self.p_val}, n_permutations={self.n_permutations})"
        )
