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
"""

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
