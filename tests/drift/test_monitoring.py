"""Model-drift monitoring: realized metrics with bands, and CBPE label-free estimates."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, precision_score, recall_score

from labkit.drift import (
    CBPE,
    PerformanceMonitor,
    classification_metrics,
    expected_metrics,
    rolling_metrics,
)


def noisy_predictions(rng, n, accuracy):
    y = rng.integers(0, 2, n)
    return y, np.where(rng.random(n) < accuracy, y, 1 - y)


def test_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y, y_hat = noisy_predictions(rng, 1000, 0.8)
    m = classification_metrics(y, y_hat)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, y_hat))
    assert m["precision"] == pytest.approx(precision_score(y, y_hat))
    assert m["recall"] == pytest.approx(recall_score(y, y_hat))
    assert np.isnan(classification_metrics([0, 0], [0, 0])["precision"])


def test_rolling_metrics_match_sklearn_windows():
    rng = np.random.default_rng(1)
    y, y_hat = noisy_predictions(rng, 300, 0.7)
    roll = rolling_metrics(y, y_hat, window=50)
    assert roll["accuracy"].size == 251
    for i in (0, 17, 250):
        sl = slice(i, i + 50)
        assert roll["accuracy"][i] == pytest.approx(accuracy_score(y[sl], y_hat[sl]))
        assert roll["recall"][i] == pytest.approx(recall_score(y[sl], y_hat[sl]))
        assert roll["precision"][i] == pytest.approx(precision_score(y[sl], y_hat[sl]))


def test_bands_from_reference_chunks():
    rng = np.random.default_rng(2)
    y, y_hat = noisy_predictions(rng, 5000, 0.9)
    monitor = PerformanceMonitor(y, y_hat, chunk_size=500, n_sigma=3.0)
    acc = [accuracy_score(y[i : i + 500], y_hat[i : i + 500]) for i in range(0, 5000, 500)]
    band = monitor.bands_[0]
    assert band.metric == "accuracy"
    assert band.mean == pytest.approx(np.mean(acc))
    assert band.upper - band.mean == pytest.approx(3 * np.std(acc, ddof=1))


def test_monitor_alerts_on_degradation_not_on_stable_stream():
    rng = np.random.default_rng(3)
    monitor = PerformanceMonitor(*noisy_predictions(rng, 10_000, 0.9), chunk_size=500)
    stable = monitor.evaluate(*noisy_predictions(rng, 5000, 0.9))
    assert sum(stable.alerts) <= 1
    worse = monitor.evaluate(*noisy_predictions(rng, 2000, 0.75))
    assert all(worse.alerts)
    assert worse.chunk_starts == (0, 500, 1000, 1500)


def test_streaming_update_matches_rolling_window():
    rng = np.random.default_rng(4)
    monitor = PerformanceMonitor(*noisy_predictions(rng, 2000, 0.9), chunk_size=200)
    y, y_hat = noisy_predictions(rng, 500, 0.9)
    y_hat[300:] = 1 - y[300:]  # the model breaks at sample 300
    roll = rolling_metrics(y, y_hat, 200)
    alerts = []
    for i, (a, b) in enumerate(zip(y, y_hat, strict=True)):
        monitor.update(a, b)
        if i >= 199:
            assert monitor.last_metrics["accuracy"] == pytest.approx(roll["accuracy"][i - 199])
            alerts.append(monitor.drift_detected)
    assert not alerts[0] and alerts[-1]


def test_monitor_drift_detected_follows_the_rolling_window():
    rng = np.random.default_rng(8)
    monitor = PerformanceMonitor(*noisy_predictions(rng, 4000, 0.9), chunk_size=200)
    assert monitor.drift_detected is False
    y, y_hat = noisy_predictions(rng, 1000, 0.9)
    y_hat[400:600] = 1 - y[400:600]  # broken for one window's length, then repaired
    flags = [monitor.update(a, b).drift_detected for a, b in zip(y, y_hat, strict=True)]
    assert isinstance(monitor.update(0, 0), PerformanceMonitor)
    assert not any(flags[:199])  # the window is not full yet
    # windows ending at 199 and 999 are clean, the one ending at 599 is all broken
    assert (flags[199], flags[599], flags[999]) == (False, True, False)
    with pytest.raises(AttributeError):
        monitor.drift_detected = True


def calibrated_scores(rng, n, shift=0.0):
    """Scores that are calibrated probabilities; ``shift`` moves the inputs (covariate shift)."""
    logit = rng.normal(shift, 2.0, n)
    p = 1 / (1 + np.exp(-logit))
    return p, (rng.random(n) < p).astype(int)


def test_expected_metrics_by_hand():
    m = expected_metrics([0.9, 0.8, 0.2, 0.1])
    # TP = 0.9 + 0.8, FP = 0.1 + 0.2, FN = 0.2 + 0.1, TN = 0.8 + 0.9
    assert m["accuracy"] == pytest.approx(3.4 / 4)
    assert m["precision"] == pytest.approx(1.7 / 2.0)
    assert m["recall"] == pytest.approx(1.7 / 2.0)


def test_cbpe_tracks_realized_accuracy_under_covariate_shift():
    rng = np.random.default_rng(5)
    cbpe = CBPE(chunk_size=1000).fit(*reversed(calibrated_scores(rng, 10_000)))
    p, y = calibrated_scores(rng, 5000, shift=1.5)
    est, real = cbpe.estimate(p), cbpe.realized(y, p)
    assert np.max(np.abs(np.subtract(est.accuracy, real.accuracy))) < 0.03
    assert np.max(np.abs(np.subtract(est.recall, real.recall))) < 0.03


def test_cbpe_calibration_repairs_overconfident_scores():
    rng = np.random.default_rng(6)
    p_true, y = calibrated_scores(rng, 20_000)
    overconfident = np.clip(0.5 + 1.6 * (p_true - 0.5), 0, 1)
    raw = CBPE(chunk_size=1000, calibrate=False).fit(y[:10_000], overconfident[:10_000])
    cal = CBPE(chunk_size=1000).fit(y[:10_000], overconfident[:10_000])
    real = np.mean(cal.realized(y[10_000:], overconfident[10_000:]).accuracy)
    err_raw = abs(np.mean(raw.estimate(overconfident[10_000:]).accuracy) - real)
    err_cal = abs(np.mean(cal.estimate(overconfident[10_000:]).accuracy) - real)
    assert err_cal < 0.01 < err_raw


def test_cbpe_is_blind_to_concept_drift():
    """When P(y|x) changes, the confidence-based estimate stays put while accuracy falls."""
    rng = np.random.default_rng(7)
    cbpe = CBPE(chunk_size=1000).fit(*reversed(calibrated_scores(rng, 10_000)))
    p, y = calibrated_scores(rng, 3000)
    flipped = np.where(rng.random(3000) < 0.3, 1 - y, y)
    est, real = cbpe.estimate(p), cbpe.realized(flipped, p)
    assert not any(est.alerts) and all(real.alerts)


def test_cbpe_requires_fit():
    cbpe = CBPE()
    assert not hasattr(cbpe, "bands_") and not hasattr(cbpe, "calibrator_")
    for call in (lambda: cbpe.estimate([0.1, 0.9]), lambda: cbpe.calibrated([0.1, 0.9])):
        with pytest.raises(NotFittedError, match=r"not fitted yet: call fit\(y_ref, proba_ref\)"):
            call()
    fitted = CBPE(chunk_size=10, calibrate=False).fit([0, 1] * 20, [0.2, 0.7] * 20)
    assert fitted.calibrator_ is None and len(fitted.bands_) == 3
    assert repr(fitted) == "CBPE(chunk_size=10, threshold=0.5, n_sigma=3.0, calibrate=False)"


def test_cbpe_and_monitor_accept_numpy_scalars_and_refuse_bools():
    assert CBPE(chunk_size=np.int64(10), threshold=np.float32(0.5)).chunk_size == 10
    with pytest.raises(TypeError, match="calibrate must be True or False"):
        CBPE(calibrate=1)
    with pytest.raises(TypeError, match="chunk_size must be an integer"):
        PerformanceMonitor([0, 1] * 20, [0, 1] * 20, chunk_size=True)
