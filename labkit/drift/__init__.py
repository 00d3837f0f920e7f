"""Drift (lab 03): detect data drift, concept drift and model drift, and tell them apart.

Data drift (the inputs' distribution moves) is tested on unlabelled batches: univariate
statistics (:func:`ks_2samp`, :func:`chi2_test`, :func:`wasserstein`, :func:`jensen_shannon`,
:func:`psi`), the multivariate :func:`mmd2` / :func:`mmd_test` and a domain classifier, wrapped
as batch detectors :class:`KSDrift`, :class:`MMDDrift` and :class:`ClassifierDrift` that return
a :class:`DriftResult`. Concept drift (P(y | x) changes) shows in the model's errors, watched
on a stream by :class:`DDM` and :class:`EDDM`; :class:`ADWIN` and :class:`PageHinkley` watch any
real-valued signal. All four stream detectors reproduce river 0.26.1's detections exactly.
Model drift (performance falls, whatever the cause) is measured by :class:`PerformanceMonitor`
once labels arrive and estimated before they do by :class:`CBPE`. :mod:`labkit.drift.evaluation`
scores detectors on streams with known change points; :mod:`labkit.drift.plots` draws the
results. Statistics accept NumPy, PyTorch (CPU/CUDA) and CuPy arrays and return Python numbers.
The stream detectors share :mod:`labkit.drift.base`'s lifecycle (river's detector hierarchy).

Names are imported on first use (PEP 562, :mod:`labkit._lazy`): ``import labkit.drift`` loads
none of its modules, and each name brings in what its own module needs when it is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit._lazy import exports

if TYPE_CHECKING:
    from labkit.drift.adwin import ADWIN
    from labkit.drift.batch import KSDrift, MMDDrift, correct_p_values
    from labkit.drift.binary import DDM, EDDM
    from labkit.drift.cbpe import CBPE, expected_metrics
    from labkit.drift.classifier import ClassifierDrift, classifier_test
    from labkit.drift.evaluation import (
        AlwaysAlarm,
        Detections,
        DetectionScore,
        Stream,
        detect,
        error_stream,
        evaluate_detector,
        mean_shift_stream,
        score_detections,
    )
    from labkit.drift.mmd import median_heuristic, mmd2, mmd_test
    from labkit.drift.page_hinkley import PageHinkley
    from labkit.drift.performance import (
        MetricBand,
        MonitorReport,
        PerformanceMonitor,
        classification_metrics,
        rolling_metrics,
    )
    from labkit.drift.results import DriftResult, TestResult
    from labkit.drift.univariate import (
        chi2_test,
        jensen_shannon,
        ks_2samp,
        ks_per_feature,
        psi,
        wasserstein,
    )

_EXPORTS = {
    "ADWIN": "labkit.drift.adwin",
    "AlwaysAlarm": "labkit.drift.evaluation",
    "CBPE": "labkit.drift.cbpe",
    "chi2_test": "labkit.drift.univariate",
    "classification_metrics": "labkit.drift.performance",
    "classifier_test": "labkit.drift.classifier",
    "ClassifierDrift": "labkit.drift.classifier",
    "correct_p_values": "labkit.drift.batch",
    "DDM": "labkit.drift.binary",
    "detect": "labkit.drift.evaluation",
    "Detections": "labkit.drift.evaluation",
    "DetectionScore": "labkit.drift.evaluation",
    "DriftResult": "labkit.drift.results",
    "EDDM": "labkit.drift.binary",
    "error_stream": "labkit.drift.evaluation",
    "evaluate_detector": "labkit.drift.evaluation",
    "expected_metrics": "labkit.drift.cbpe",
    "jensen_shannon": "labkit.drift.univariate",
    "ks_2samp": "labkit.drift.univariate",
    "ks_per_feature": "labkit.drift.univariate",
    "KSDrift": "labkit.drift.batch",
    "mean_shift_stream": "labkit.drift.evaluation",
    "median_heuristic": "labkit.drift.mmd",
    "MetricBand": "labkit.drift.performance",
    "mmd2": "labkit.drift.mmd",
    "mmd_test": "labkit.drift.mmd",
    "MMDDrift": "labkit.drift.batch",
    "MonitorReport": "labkit.drift.performance",
    "PageHinkley": "labkit.drift.page_hinkley",
    "PerformanceMonitor": "labkit.drift.performance",
    "psi": "labkit.drift.univariate",
    "rolling_metrics": "labkit.drift.performance",
    "score_detections": "labkit.drift.evaluation",
    "Stream": "labkit.drift.evaluation",
    "TestResult": "labkit.drift.results",
    "wasserstein": "labkit.drift.univariate",
}

__all__ = [
    "ADWIN",
    "CBPE",
    "DDM",
    "EDDM",
    "AlwaysAlarm",
    "ClassifierDrift",
    "DetectionScore",
    "Detections",
    "DriftResult",
    "KSDrift",
    "MMDDrift",
    "MetricBand",
    "MonitorReport",
    "PageHinkley",
    "PerformanceMonitor",
    "Stream",
    "TestResult",
    "chi2_test",
    "classification_metrics",
    "classifier_test",
    "correct_p_values",
    "detect",
    "error_stream",
    "evaluate_detector",
    "expected_metrics",
    "jensen_shannon",
    "ks_2samp",
    "ks_per_feature",
    "mean_shift_stream",
    "median_heuristic",
    "mmd2",
    "mmd_test",
    "psi",
    "rolling_metrics",
    "score_detections",
    "wasserstein",
]


__getattr__, __dir__ = exports(__name__, _EXPORTS)
