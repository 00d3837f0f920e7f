"""Label-free performance estimation from the model's own confidence (CBPE, NannyML's method).

Labels often arrive days or months after the prediction. If the model's scores are
*calibrated* probabilities, P(y = 1 | score) = p, so each prediction contributes an expected
share of every confusion-matrix cell, and summing those gives the expected confusion matrix of
a chunk without a single label:

    TP = Σ p·[ŷ=1]   FP = Σ (1−p)·[ŷ=1]   FN = Σ p·[ŷ=0]   TN = Σ (1−p)·[ŷ=0]

Calibration is learned on the labelled reference period with isotonic regression. The
estimate stays right under covariate shift (the inputs move, P(y | x) does not) and goes wrong
under concept drift (P(y | x) itself changes): exactly the distinction the lab measures.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit._validate import check_bool, check_int, check_real
from labkit.device import to_numpy
from labkit.drift._arrays import is_array
from labkit.drift.performance import (
    MetricBand,
    MonitorReport,
    _bands,
    _chunk_metrics,
    _metrics_from_counts,
    _report,
    binary_labels,
)

__all__ = ["CBPE", "expected_metrics"]


def _probabilities(p: Any, name: str) -> np.ndarray:
    arr = to_numpy(p) if is_array(p) else np.asarray(p)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of P(y=1) scores, got shape {arr.shape}; for a "
            "two-column predict_proba output pass proba[:, 1]"
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{name} must hold probabilities in [0, 1] (no NaN/inf)")
    return arr


def expected_metrics(proba: Any, threshold: float = 0.5) -> dict[str, float]:
    """Expected accuracy, precision and recall of ``ŷ = proba >= threshold`` if ``proba`` is calibrated.

    >>> expected_metrics([0.9, 0.8, 0.2, 0.1])["accuracy"]
    0.85
    """
    p = _probabilities(proba, "proba")
    threshold = check_real(threshold, "threshold", min_val=0.0, max_val=1.0)
    return {k: float(v[0]) for k, v in _expected_chunks(p, p, p.size, threshold).items()}


def _expected_chunks(
    scores: np.ndarray, proba: np.ndarray, chunk_size: int, threshold: float
) -> dict[str, np.ndarray]:
    """Expected metrics per chunk: ŷ from the raw ``scores``, expectations from ``proba``."""
    n_chunks = scores.size // chunk_size
    used = n_chunks * chunk_size
    pos = (scores[:used] >= threshold).reshape(n_chunks, chunk_size)
    q = proba[:used].reshape(n_chunks, chunk_size)
    tp = np.where(pos, q, 0.0).sum(axis=1)
    fp = np.where(pos, 1 - q, 0.0).sum(axis=1)
    fn = np.where(pos, 0.0, q).sum(axis=1)
    tn = np.where(pos, 0.0, 1 - q).sum(axis=1)
    return _metrics_from_counts(tp, fp, fn, tn)


class CBPE:
    """Confidence-based performance estimation for a binary classifier.

    Built like a scikit-learn estimator: the constructor stores the settings, :meth:`fit`
    learns the calibration and the alert bands from a labelled reference period (the fitted
    attributes ``calibrator_`` and ``bands_`` exist from then on), and :meth:`estimate` /
    :meth:`realized` before ``fit`` raise scikit-learn's ``NotFittedError``.

    Parameters
    ----------
    chunk_size
        Predictions per chunk.
    threshold
        Decision threshold: ŷ = 1 when the (raw) score >= threshold.
    n_sigma
        Alert band half-width in standard deviations of the reference chunks' estimates.
    calibrate
        Fit an isotonic calibration of the scores on the reference (recommended unless the
        scores are known to be calibrated).

    Attributes
    ----------
    calibrator_
        The fitted ``IsotonicRegression`` (``None`` with ``calibrate=False``).
    bands_
        One :class:`~labkit.drift.performance.MetricBand` per metric, from the reference chunks.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> proba_ref = rng.random(4000)
    >>> y_ref = (rng.random(4000) < proba_ref).astype(int)        # calibrated by construction
    >>> cbpe = CBPE(chunk_size=500).fit(y_ref, proba_ref)
    >>> proba = rng.beta(0.5, 0.5, 2000)                           # covariate shift: more confident
    >>> y = (rng.random(2000) < proba).astype(int)
    >>> est = cbpe.estimate(proba)
    >>> real = cbpe.realized(y, proba)
    >>> bool(abs(np.mean(est.accuracy) - np.mean(real.accuracy)) < 0.02)
    True
    """

    def __init__(
        self,
        *,
        chunk_size: int = 500,
        threshold: float = 0.5,
        n_sigma: float = 3.0,
        calibrate: bool = True,
    ) -> None:
        self.chunk_size = check_int(chunk_size, "chunk_size", min_val=1)
        self.threshold = check_real(threshold, "threshold", min_val=0.0, max_val=1.0)
        self.n_sigma = check_real(n_sigma, "n_sigma", min_val=0.0, include_boundaries="right")
        self.calibrate = check_bool(calibrate, "calibrate")

    def fit(self, y_ref: Any, proba_ref: Any) -> CBPE:
        """Learn the calibration and the alert bands from a labelled reference period."""
        y = binary_labels(y_ref, "y_ref")
        p = _probabilities(proba_ref, "proba_ref")
        if y.size != p.size:
            raise ValueError(f"y_ref has {y.size} labels but proba_ref has {p.size} scores")
        if y.size < 2 * self.chunk_size:
            raise ValueError(
                f"the reference has {y.size} samples, fewer than 2 chunks of chunk_size="
                f"{self.chunk_size}"
            )
        calibrator = None
        if self.calibrate:
            from sklearn.isotonic import IsotonicRegression

            calibrator = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        self.calibrator_: Any = calibrator
        self.bands_: tuple[MetricBand, ...] = _bands(self._estimate(p), self.n_sigma)
        return self

    def calibrated(self, proba: Any) -> np.ndarray:
        """Calibrated P(y = 1) for raw scores."""
        self._check_fitted()
        p = _probabilities(proba, "proba")
        return self.calibrator_.predict(p) if self.calibrator_ is not None else p

    def _estimate(self, p: np.ndarray) -> dict[str, np.ndarray]:
        q = self.calibrator_.predict(p) if self.calibrator_ is not None else p
        return _expected_chunks(p, q, self.chunk_size, self.threshold)

    def _check_fitted(self) -> None:
        # The fitted attributes exist only after fit (scikit-learn's convention), so their
        # absence is what "not fitted" means.
        if "bands_" not in vars(self):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                "This CBPE is not fitted yet: call fit(y_ref, proba_ref) with a labelled "
                "reference period first"
            )

    def estimate(self, proba: Any) -> MonitorReport:
        """Estimated metrics per chunk of unlabelled scores, with alerts."""
        self._check_fitted()
        values = self._estimate(_probabilities(proba, "proba"))
        return _report(values, self.chunk_size, self.bands_, "estimated")

    def realized(self, y: Any, proba: Any) -> MonitorReport:
        """Realized metrics per chunk once labels arrive (same chunks, same bands)."""
        self._check_fitted()
        labels = binary_labels(y, "y")
        p = _probabilities(proba, "proba")
        if labels.size != p.size:
            raise ValueError(f"y has {labels.size} labels but proba has {p.size} scores")
        y_hat = (p >= self.threshold).astype(np.int64)
        return _report(
            _chunk_metrics(labels, y_hat, self.chunk_size), self.chunk_size, self.bands_, "realized"
        )

    def __repr__(self) -> str:
        return (
            f"CBPE(chunk_size={self.chunk_size}, threshold={self.threshold}, "
            f"n_sigma={self.n_sigma}, calibrate={self.calibrate})"
        )
