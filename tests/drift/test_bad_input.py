"""Bad input gives a ValueError (or TypeError) naming the argument and what is allowed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.drift import (
    ADWIN,
    CBPE,
    DDM,
    EDDM,
    ClassifierDrift,
    KSDrift,
    MMDDrift,
    PageHinkley,
    PerformanceMonitor,
    chi2_test,
    jensen_shannon,
    ks_2samp,
    ks_per_feature,
    mmd2,
    mmd_test,
    psi,
    wasserstein,
)

rng = np.random.default_rng(0)
X2 = rng.normal(size=(50, 3))
X1 = rng.normal(size=50)
WITH_NAN = X1.copy()
WITH_NAN[7] = np.nan
WITH_INF = X1.copy()
WITH_INF[3] = np.inf

CASES = [
    (lambda: ks_2samp([], X1), "x", "at least 1"),
    (lambda: ks_2samp(X1, np.array([])), "y", "at least 1"),
    (lambda: ks_2samp(WITH_NAN, X1), "x", "NaN"),
    (lambda: ks_2samp(X1, WITH_INF), "y", "infinite"),
    (lambda: ks_2samp(X2, X2), "x", "1-D"),
    (lambda: ks_2samp(X1, X1.astype(complex)), "y", "real"),
    (lambda: ks_2samp(np.array(["a", "b"]), X1), "x", "real numbers"),
    (lambda: wasserstein(X1, X2), "y", "1-D"),
    (lambda: psi(X1, X1, bins=1), "bins", ">= 2"),
    (lambda: psi(X1, X1, bins=2.5), "bins", "integer"),
    (lambda: psi(WITH_NAN, X1), "x_ref", "NaN"),
    (lambda: jensen_shannon([1, 2], [1, 2, 3]), "p and q", "same bins"),
    (lambda: jensen_shannon([1, -2], [1, 2]), "p", ">= 0"),
    (lambda: jensen_shannon([0, 0], [1, 2]), "p", "sums to 0"),
    (lambda: chi2_test([], ["a"]), "x_ref", "empty"),
    (lambda: chi2_test(["a", None], ["a"]), "x_ref", "missing"),
    (lambda: chi2_test(np.array([1.0, np.nan]), np.array([1.0])), "x_ref", "NaN"),
    (lambda: chi2_test(np.array(["a", "b"]), np.array([1, 2])), "x_ref", "label type"),
    (lambda: chi2_test(X2, X2), "x_ref", "1-D"),
    (lambda: mmd2(X2, X2[:, :2]), "x has 3 features but y has 2", "columns"),
    (lambda: mmd2(X2, X1), "x is 2-D", "both"),
    (lambda: mmd2(X2[:1], X2), "x", "at least 2"),
    (lambda: mmd2(X2, X2, sigma=0.0), "sigma", "> 0.0"),
    (lambda: mmd_test(X2, X2, n_permutations=0), "n_permutations", ">= 1"),
    (lambda: mmd_test(X2, X2, seed=-1), "seed", ">= 0"),
    (lambda: ks_per_feature(X1, X1), "x_ref", "2-D"),
    (lambda: KSDrift(X2).predict(X2[:, :2]), "features", "reference's columns"),
    (lambda: KSDrift(X2).predict(X1), "x must be a 2-D array", "got ndarray of shape (50,)"),
    (lambda: KSDrift(X2, p_val=1.5), "p_val", "(0.0, 1.0)"),
    (lambda: KSDrift(X2, correction="holm"), "correction", "'bonferroni', 'fdr'"),
    (lambda: KSDrift(np.empty((0, 3))), "x_ref", "at least 1"),
    (lambda: KSDrift(np.empty((5, 0))), "x_ref", "no features"),
    (lambda: MMDDrift(X2, n_permutations=-5), "n_permutations", ">= 1"),
    (lambda: MMDDrift(X2).predict(X2[:, :1]), "features", "columns"),
    (lambda: MMDDrift(X1).predict(X2), "x", "1-D"),
    (lambda: ClassifierDrift(X2, n_folds=1), "n_folds", ">= 2"),
    (lambda: ClassifierDrift(X2, model=object()).predict(X2), "model", "predict_proba"),
    (lambda: ADWIN(delta=0), "delta", "(0.0, 1.0)"),
    (lambda: ADWIN(clock=0), "clock", ">= 1"),
    (lambda: ADWIN(max_buckets=1), "max_buckets", ">= 2"),
    (lambda: ADWIN(grace_period=-1), "grace_period", ">= 0"),
    (lambda: ADWIN().update(float("nan")), "x", "finite"),
    (lambda: ADWIN().update([1.0, 2.0]), "x", "one real number"),
    (lambda: ADWIN().update("3"), "x", "one real number"),
    (lambda: DDM().update(0.5), "x", "0 (correct prediction) or 1 (error)"),
    (lambda: DDM().update(2), "x", "0 (correct prediction) or 1 (error)"),
    (lambda: EDDM().update(-1), "x", "0 (correct prediction) or 1 (error)"),
    (lambda: EDDM().update("1"), "x", "0 (correct prediction) or 1 (error)"),
    (lambda: DDM(warm_start=-1), "warm_start", ">= 0"),
    (lambda: DDM(drift_threshold=float("nan")), "drift_threshold", "real number"),
    (lambda: EDDM(alpha=0.8, beta=0.9), "beta", "<= alpha"),
    (lambda: EDDM(alpha=1.5), "alpha", "(0.0, 1.0]"),
    (lambda: PageHinkley(mode="sideways"), "mode", "'up', 'down', 'both'"),
    (lambda: PageHinkley(threshold=0), "threshold", "> 0.0"),
    (lambda: PageHinkley(alpha=0.0), "alpha", "(0.0, 1.0]"),
    (lambda: PageHinkley().update(float("inf")), "x", "finite"),
    (lambda: PerformanceMonitor([0, 1, 2], [0, 1, 1]), "y_ref", "binary labels"),
    (lambda: PerformanceMonitor([0, 1] * 600, [0, 1] * 500), "y_ref has 1200", "one prediction"),
    (
        lambda: PerformanceMonitor([0, 1] * 100, [0, 1] * 100, chunk_size=500),
        "chunk_size",
        "two chunks",
    ),
    (lambda: CBPE().fit([0, 1] * 600, [0.2, 1.3] * 600), "proba_ref", "[0, 1]"),
    (lambda: CBPE().fit([0, 1] * 600, np.ones((1200, 2)) / 2), "proba_ref", "proba[:, 1]"),
    (lambda: CBPE(threshold=2), "threshold", "[0.0, 1.0]"),
]


@pytest.mark.parametrize(("call", "names", "allowed"), CASES)
def test_bad_input_message(call, names, allowed):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert names in message and allowed in message, message


def test_mixed_libraries_are_a_type_error():
    with pytest.raises(TypeError, match="same array library"):
        ks_2samp(X1, torch.as_tensor(X1))
    with pytest.raises(TypeError, match="array"):
        ks_2samp(None, X1)


def test_lists_are_accepted():
    assert ks_2samp([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]).statistic == pytest.approx(1 / 3)
    assert ks_2samp(torch.tensor([1.0, 2.0, 3.0]), [1.0, 2.0, 4.0]).statistic == pytest.approx(
        1 / 3
    )
