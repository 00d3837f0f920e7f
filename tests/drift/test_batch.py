"""Batch detectors: KSDrift (with corrections), MMDDrift and ClassifierDrift."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.drift import (
    ClassifierDrift,
    DriftResult,
    KSDrift,
    MMDDrift,
    classifier_test,
    correct_p_values,
)


@settings(max_examples=200, deadline=None)
@given(
    p=st.lists(st.floats(1e-12, 1.0), min_size=1, max_size=40, unique=True),
    p_val=st.sampled_from([0.01, 0.05, 0.1, 0.2]),
)
def test_fdr_matches_scipy_benjamini_hochberg(p, p_val):
    threshold, flags = correct_p_values(p, p_val, "fdr")
    adjusted = scipy.stats.false_discovery_control(p, method="bh")
    expected = adjusted < p_val
    # Off the exact boundary the two formulations agree feature for feature.
    boundary = np.isclose(np.sort(p), p_val * np.arange(1, len(p) + 1) / len(p), rtol=1e-9)
    if not boundary.any():
        assert flags == tuple(bool(v) for v in expected)
    assert any(flags) == (min(p) < threshold)


def test_bonferroni_threshold():
    threshold, flags = correct_p_values([0.001, 0.02, 0.5, 0.012], 0.05, "bonferroni")
    assert threshold == 0.0125 and flags == (True, False, False, True)


def test_ksdrift_per_feature_and_corrections():
    rng = np.random.default_rng(0)
    x_ref = rng.normal(size=(800, 5))
    x = rng.normal(size=(600, 5))
    x[:, 2] += 0.4
    for correction in ("bonferroni", "fdr"):
        r = KSDrift(x_ref, p_val=0.05, correction=correction).predict(x)
        assert isinstance(r, DriftResult)
        assert r.is_drift and r.feature_drift[2] and r.n_features_drifted == 1
        for j in range(5):
            s = scipy.stats.ks_2samp(x_ref[:, j], x[:, j], method="asymp")
            assert r.feature_p_values[j] == pytest.approx(s.pvalue, abs=1e-6)
            assert r.feature_distances[j] == pytest.approx(s.statistic, rel=1e-12)
        assert r.p_value == min(r.feature_p_values) and r.distance == max(r.feature_distances)
        assert r.is_drift == (r.p_value < r.threshold)
    assert KSDrift(x_ref).predict(x).threshold == 0.01


def test_ksdrift_false_alarm_rate_is_controlled():
    rng = np.random.default_rng(1)
    alarms = sum(
        KSDrift(rng.normal(size=(300, 10)), p_val=0.05).predict(rng.normal(size=(300, 10))).is_drift
        for _ in range(300)
    )
    assert alarms / 300 <= 0.08  # Bonferroni keeps the family-wise rate at or below 5 %


def test_ksdrift_one_dimensional_reference():
    rng = np.random.default_rng(2)
    r = KSDrift(rng.normal(size=500)).predict(rng.normal(1, 1, size=400))
    assert r.is_drift and len(r.feature_drift) == 1 and r.threshold == 0.05


def test_ksdrift_torch_input():
    import torch

    rng = np.random.default_rng(3)
    x_ref, x = rng.normal(size=(300, 3)), rng.normal(size=(200, 3))
    a = KSDrift(x_ref).predict(x)
    b = KSDrift(torch.as_tensor(x_ref)).predict(torch.as_tensor(x))
    assert a.feature_distances == b.feature_distances
    assert a.feature_p_values == pytest.approx(b.feature_p_values, abs=1e-12)


def test_mmddrift_sees_a_joint_change_ks_misses():
    """Rotating the correlation keeps both marginals: per-feature KS is blind, MMD is not."""
    rng = np.random.default_rng(4)
    cov_ref, cov = [[1, 0.9], [0.9, 1]], [[1, -0.9], [-0.9, 1]]
    x_ref = rng.multivariate_normal([0, 0], cov_ref, size=400)
    x = rng.multivariate_normal([0, 0], cov, size=400)
    assert not KSDrift(x_ref).predict(x).is_drift
    r = MMDDrift(x_ref, n_permutations=200, seed=0).predict(x)
    assert r.is_drift and r.p_value == 1 / 201 and r.threshold == 0.05
    same = MMDDrift(x_ref, n_permutations=200, seed=0).predict(
        rng.multivariate_normal([0, 0], cov_ref, size=400)
    )
    assert not same.is_drift


def test_mmddrift_one_dimensional_and_device():
    rng = np.random.default_rng(5)
    det = MMDDrift(rng.normal(size=100), n_permutations=50, seed=0, device="cpu")
    assert det.predict(rng.normal(2, 1, size=80)).is_drift


def test_classifier_test_matches_roc_auc_and_mann_whitney():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rng = np.random.default_rng(6)
    x_ref, x = rng.normal(size=(300, 3)), rng.normal(0.3, 1, size=(250, 3))
    model = LogisticRegression()
    r = classifier_test(x_ref, x, model=model, n_folds=4, seed=1)
    features = np.vstack([x_ref, x])
    labels = np.r_[np.zeros(300), np.ones(250)]
    folds = StratifiedKFold(4, shuffle=True, random_state=1)
    scores = cross_val_predict(model, features, labels, cv=folds, method="predict_proba")[:, 1]
    assert r.statistic == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    u = scipy.stats.mannwhitneyu(scores[labels == 1], scores[labels == 0], alternative="greater")
    assert r.p_value == pytest.approx(u.pvalue, rel=1e-9)
    assert r.effect_size == pytest.approx(r.statistic - 0.5)


def test_classifier_drift_detects_variance_change_only_when_present():
    rng = np.random.default_rng(7)
    x_ref = rng.normal(size=(400, 2))
    det = ClassifierDrift(x_ref, seed=0)
    assert det.predict(rng.normal(size=(400, 2)) * [1, 2.5]).is_drift
    assert not det.predict(rng.normal(size=(400, 2))).is_drift


def test_results_are_plain_python_and_serializable():
    import json

    rng = np.random.default_rng(8)
    r = KSDrift(rng.normal(size=(100, 2))).predict(rng.normal(size=(100, 2)))
    json.dumps(r.to_dict())
    assert "KSDrift" in repr(r) and "threshold" in repr(r)
    assert type(r.is_drift) is bool and type(r.p_value) is float
