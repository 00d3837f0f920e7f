"""Model drift: watch a model's realized accuracy, precision and recall against alert bands.

Data-drift tests say the inputs moved; they do not say the model got worse. Model drift is
measured on the model's own outcomes once labels arrive: split the stream into chunks (or a
rolling window), compute the metrics, and alert when a chunk leaves the band that the
reference period's chunks define, mean ± ``n_sigma`` standard deviations (NannyML's
convention, 3σ by default). The band comes from chunks of the same size as the monitored
ones, so it reflects the noise a chunk of that size really has.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from labkit._validate import check_int, check_real
from labkit.device import to_numpy
from labkit.drift._arrays import is_array

__all__ = [
    "METRICS",
    "MetricBand",
    "MonitorReport",
    "PerformanceMonitor",
    "binary_labels",
    "classification_metrics",
    "rolling_metrics",
]

METRICS = ("accuracy", "precision", "recall")


def binary_labels(y: Any, name: str) -> np.ndarray:
    """``y`` as a 1-D int array of 0/1 labels, or a ValueError naming ``name``."""
    arr = to_numpy(y) if is_array(y) else np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of 0/1 labels, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if arr.dtype.kind not in "biuf" or not np.all((arr == 0) | (arr == 1)):
        bad = arr[~((arr == 0) | (arr == 1))][:3] if arr.dtype.kind in "biuf" else arr[:3]
        raise ValueError(
            f"{name} must hold binary labels 0/1 (or bools); found e.g. {bad.tolist()}. "
            "Threshold scores first (y_hat = proba >= 0.5)"
        )
    return arr.astype(np.int64)


def _pair(
    y: Any, y_hat: Any, names: tuple[str, str] = ("y", "y_hat")
) -> tuple[np.ndarray, np.ndarray]:
    a, b = binary_labels(y, names[0]), binary_labels(y_hat, names[1])
    if a.shape != b.shape:
        raise ValueError(
            f"{names[0]} has {a.size} labels but {names[1]} has {b.size}; one prediction per label"
        )
    return a, b


def _metrics_from_counts(tp: Any, fp: Any, fn: Any, tn: Any) -> dict[str, np.ndarray]:
    tp, fp, fn, tn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, fn, tn))
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "accuracy": (tp + tn) / (tp + fp + fn + tn),
            "precision": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
            "recall": np.where(tp + fn > 0, tp / (tp + fn), np.nan),
        }


def classification_metrics(y: Any, y_hat: Any) -> dict[str, float]:
    """Accuracy, precision and recall of binary predictions (NaN where undefined).

    >>> classification_metrics([1, 0, 1, 1], [1, 0, 0, 1])
    {'accuracy': 0.75, 'precision': 1.0, 'recall': 0.6666666666666666}
    """
    a, b = _pair(y, y_hat)
    counts = _counts(a, b)
    return {k: float(v) for k, v in _metrics_from_counts(*(c.sum() for c in counts)).items()}


def _counts(y: np.ndarray, y_hat: np.ndarray) -> tuple[np.ndarray, ...]:
    return (y & y_hat), ((1 - y) & y_hat), (y & (1 - y_hat)), ((1 - y) & (1 - y_hat))


def rolling_metrics(y: Any, y_hat: Any, window: int) -> dict[str, np.ndarray]:
    """Accuracy, precision and recall over every full window of ``window`` consecutive samples.

    Entry ``i`` covers samples ``i .. i + window - 1`` (cumulative sums: O(n), no Python loop).

    >>> rolling_metrics([1, 1, 0, 0], [1, 0, 0, 0], window=2)["accuracy"].tolist()
    [0.5, 0.5, 1.0]
    """
    a, b = _pair(y, y_hat)
    window = check_int(window, "window", min_val=1, max_val=a.size)
    sums = []
    for c in _counts(a, b):
        cs = np.concatenate([[0], np.cumsum(c)])
        sums.append(cs[window:] - cs[:-window])
    return _metrics_from_counts(*sums)


def _chunk_metrics(y: np.ndarray, y_hat: np.ndarray, chunk_size: int) -> dict[str, np.ndarray]:
    n_chunks = y.size // chunk_size
    used = n_chunks * chunk_size
    sums = [c[:used].reshape(n_chunks, chunk_size).sum(axis=1) for c in _counts(y, y_hat)]
    return _metrics_from_counts(*sums)


@dataclass(frozen=True)
class MetricBand:
    """Alert band of one metric: reference chunks' ``mean ± n_sigma · std``."""

    metric: str
    mean: float
    lower: float
    upper: float

    def contains(self, value: float) -> bool:
        """True inside the band; NaN (metric undefined in a chunk) never alerts."""
        return bool(np.isnan(value) or self.lower <= value <= self.upper)


def _bands(values: dict[str, np.ndarray], n_sigma: float) -> tuple[MetricBand, ...]:
    out = []
    for name in METRICS:
        v = values[name][~np.isnan(values[name])]
        if v.size < 2:
            raise ValueError(
                f"the reference gives fewer than 2 chunks with a defined {name}; "
                "use a longer reference or a smaller chunk_size"
            )
        mean, std = float(v.mean()), float(v.std(ddof=1))
        out.append(MetricBand(name, mean, mean - n_sigma * std, mean + n_sigma * std))
    return tuple(out)


@dataclass(frozen=True)
class MonitorReport:
    """Per-chunk metrics of a stream (realized, or estimated by CBPE) and which chunks left
    their band."""

    chunk_starts: tuple[int, ...]
    chunk_size: int
    accuracy: tuple[float, ...]
    precision: tuple[float, ...]
    recall: tuple[float, ...]
    alerts: tuple[bool, ...]
    bands: tuple[MetricBand, ...]
    kind: str = "realized"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _report(
    values: dict[str, np.ndarray], chunk_size: int, bands: tuple[MetricBand, ...], kind: str
) -> MonitorReport:
    """Per-chunk metric values into a report, a chunk alerting when any metric leaves its band."""
    n_chunks = values["accuracy"].size
    alerts = tuple(
        not all(band.contains(float(values[band.metric][i])) for band in bands)
        for i in range(n_chunks)
    )
    return MonitorReport(
        chunk_starts=tuple(range(0, n_chunks * chunk_size, chunk_size)),
        chunk_size=chunk_size,
        alerts=alerts,
        bands=bands,
        kind=kind,
        **{name: tuple(float(v) for v in values[name]) for name in METRICS},
    )


class PerformanceMonitor:
    """Realized-performance monitor with alert bands from a reference period.

    Two ways to watch a labelled stream: :meth:`evaluate` scores a whole stream chunk by
    chunk (a :class:`MonitorReport`), and :meth:`update` feeds one labelled prediction at a
    time in river's style — ``update(y, y_hat)`` returns the monitor, then ``drift_detected``
    says whether the rolling window of the last ``chunk_size`` predictions lies outside a band.
    Unlike a river detector, the monitor does not restart after a drift: the window rolls on,
    and ``drift_detected`` stays set for as long as the window is out of band.

    Parameters
    ----------
    y_ref, y_hat_ref
        Labels and predictions (0/1) from a period the model is known to be good on.
    chunk_size
        Samples per chunk, for the reference band and for monitoring.
    n_sigma
        Band half-width in reference standard deviations.

    Attributes
    ----------
    bands_
        One :class:`MetricBand` per metric in :data:`METRICS`.
    last_metrics
        After ``update`` has filled the window: its accuracy, precision and recall.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y_ref = rng.integers(0, 2, 5000)
    >>> y_hat_ref = np.where(rng.random(5000) < 0.9, y_ref, 1 - y_ref)      # 90 % accurate
    >>> monitor = PerformanceMonitor(y_ref, y_hat_ref, chunk_size=500)
    >>> y = rng.integers(0, 2, 2000)
    >>> y_hat = np.where(rng.random(2000) < 0.7, y, 1 - y)                  # 70 % accurate
    >>> monitor.evaluate(y, y_hat).alerts
    (True, True, True, True)
    >>> [i for i, (a, b) in enumerate(zip(y, y_hat)) if monitor.update(a, b).drift_detected][0]
    499
    """

    def __init__(
        self, y_ref: Any, y_hat_ref: Any, *, chunk_size: int = 500, n_sigma: float = 3.0
    ) -> None:
        a, b = _pair(y_ref, y_hat_ref, ("y_ref", "y_hat_ref"))
        self.chunk_size = check_int(chunk_size, "chunk_size", min_val=1)
        self.n_sigma = check_real(n_sigma, "n_sigma", min_val=0.0, include_boundaries="right")
        if a.size < 2 * self.chunk_size:
            raise ValueError(
                f"the reference has {a.size} samples, fewer than 2 chunks of chunk_size="
                f"{self.chunk_size}; a band needs at least two chunks"
            )
        self.bands_ = _bands(_chunk_metrics(a, b, self.chunk_size), self.n_sigma)
        self._window: deque[tuple[int, int]] = deque(maxlen=self.chunk_size)
        self._counts = np.zeros(4, dtype=np.int64)
        self._drift_detected = False
        self.last_metrics: dict[str, float] = {}

    @property
    def drift_detected(self) -> bool:
        """Whether, after the last ``update``, the full rolling window is outside any band."""
        return self._drift_detected

    def evaluate(self, y: Any, y_hat: Any) -> MonitorReport:
        """Metrics of every full chunk of a labelled stream and its alerts."""
        a, b = _pair(y, y_hat)
        return _report(
            _chunk_metrics(a, b, self.chunk_size), self.chunk_size, self.bands_, "realized"
        )

    def update(self, y: Any, y_hat: Any) -> PerformanceMonitor:
        """Add one labelled prediction to the rolling window; sets ``drift_detected`` once full."""
        pair = (int(binary_labels([y], "y")[0]), int(binary_labels([y_hat], "y_hat")[0]))
        if len(self._window) == self.chunk_size:
            self._counts -= _one_hot(*self._window[0])
        self._window.append(pair)
        self._counts += _one_hot(*pair)
        if len(self._window) == self.chunk_size:
            m = _metrics_from_counts(*self._counts)
            self.last_metrics = {k: float(v) for k, v in m.items()}
            self._drift_detected = not all(
                b.contains(self.last_metrics[b.metric]) for b in self.bands_
            )
        return self

    def __repr__(self) -> str:
        bands = ", ".join(f"{b.metric} [{b.lower:.3f}, {b.upper:.3f}]" for b in self.bands_)
        return f"PerformanceMonitor(chunk_size={self.chunk_size}, {bands})"


def _one_hot(y: int, y_hat: int) -> np.ndarray:
    # order: tp, fp, fn, tn
    out = np.zeros(4, dtype=np.int64)
    out[0 if y and y_hat else 1 if y_hat else 2 if y else 3] = 1
    return out
