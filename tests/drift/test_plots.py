"""The plot helpers draw labelled axes without error (Agg backend, no display)."""

from __future__ import annotations

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from labkit.drift.plots import (
    plot_detector_alarms,
    plot_feature_distributions,
    plot_metric_band,
    plot_pvalue_timeline,
)


def test_plots_have_labels():
    rng = np.random.default_rng(0)
    axes = plot_feature_distributions(rng.normal(size=(100, 4)), rng.normal(size=(80, 4)))
    assert axes.flat[0].get_xlabel() == "value" and not axes.flat[5].get_visible()
    ax = plot_pvalue_timeline([0.5, 0.2, 1e-5], positions=[0, 500, 1000], statistic=[0.1, 0.2, 0.5])
    assert "p-value" in ax.get_ylabel()
    ax = plot_detector_alarms(rng.normal(size=500), {"ADWIN": [250, 400], "DDM": []}, [240])
    assert ax.get_xlabel() == "sample index"
    ax = plot_metric_band([0.9, 0.91, 0.7], 0.85, 0.95, realized=[0.9, 0.9, 0.72])
    assert ax.get_ylabel() == "accuracy"
    plt.close("all")
