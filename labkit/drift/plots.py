"""Plots for the drift lab (matplotlib, imported only when a plot is drawn).

Each function draws on a given ``ax`` (or a new figure) and returns the axes, with labelled
axes, units where there are units, and a legend, so notebooks stay one line per plot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from labkit.device import to_numpy

__all__ = [
    "plot_detector_alarms",
    "plot_feature_distributions",
    "plot_metric_band",
    "plot_pvalue_timeline",
]


def _axes(ax: Any, figsize: tuple[float, float] = (8, 3)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize, layout="constrained")[1]


def plot_feature_distributions(
    x_ref: Any,
    x: Any,
    feature_names: Sequence[str] | None = None,
    bins: int = 30,
    max_features: int = 6,
) -> Any:
    """Reference vs current histograms, one panel per feature; returns the array of axes."""
    import matplotlib.pyplot as plt

    a, b = np.asarray(to_numpy(x_ref), dtype=float), np.asarray(to_numpy(x), dtype=float)
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]
    d = min(a.shape[1], max_features)
    names = list(feature_names) if feature_names is not None else [f"feature {j}" for j in range(d)]
    cols = min(d, 3)
    rows = -(-d // cols)
    _, axes = plt.subplots(
        rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False, layout="constrained"
    )
    for j, ax in enumerate(axes.flat):
        if j >= d:
            ax.set_visible(False)
            continue
        edges = np.histogram_bin_edges(np.concatenate([a[:, j], b[:, j]]), bins=bins)
        ax.hist(a[:, j], bins=edges, density=True, alpha=0.5, label="reference")
        ax.hist(b[:, j], bins=edges, density=True, alpha=0.5, label="current")
        ax.set_title(names[j])
        ax.set_xlabel("value")
        ax.set_ylabel("density")
    axes.flat[0].legend()
    return axes


def plot_pvalue_timeline(
    p_values: Sequence[float],
    threshold: float = 0.05,
    positions: Sequence[float] | None = None,
    statistic: Sequence[float] | None = None,
    ax: Any = None,
    xlabel: str = "batch start (sample index)",
) -> Any:
    """p-value per batch on a log scale with the threshold, optionally the statistic on a twin axis."""
    ax = _axes(ax)
    p = np.clip(np.asarray(p_values, dtype=float), 1e-300, 1.0)
    t = np.arange(p.size) if positions is None else np.asarray(positions)
    ax.semilogy(t, p, "o-", label="p-value")
    ax.axhline(threshold, color="red", linestyle="--", label=f"threshold {threshold:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("p-value (log scale)")
    if statistic is not None:
        twin = ax.twinx()
        twin.plot(t, np.asarray(statistic, dtype=float), "s:", color="gray", label="statistic")
        twin.set_ylabel("statistic")
    ax.legend(loc="lower left")
    return ax


def plot_detector_alarms(
    values: Any,
    alarms: Mapping[str, Sequence[int]],
    change_points: Sequence[int] = (),
    ax: Any = None,
    ylabel: str = "value",
) -> Any:
    """The stream, true change points (dashed) and each detector's alarms as a row of ticks."""
    ax = _axes(ax, (10, 3.5))
    v = np.asarray(to_numpy(values), dtype=float)
    ax.plot(np.arange(v.size), v, lw=0.4, color="0.6", label="stream")
    for i, c in enumerate(change_points):
        ax.axvline(c, color="black", linestyle="--", lw=1, label="true change" if i == 0 else None)
    low, high = float(np.min(v)), float(np.max(v))
    span = (high - low) or 1.0
    for k, (name, idx) in enumerate(alarms.items()):
        level = high + span * (0.08 + 0.08 * k)
        ax.plot(list(idx), [level] * len(idx), "|", markersize=12, mew=2, label=f"{name} alarms")
    ax.set_xlabel("sample index")
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", fontsize="small", ncol=2)
    return ax


def plot_metric_band(
    values: Sequence[float],
    lower: float,
    upper: float,
    positions: Sequence[float] | None = None,
    realized: Sequence[float] | None = None,
    ax: Any = None,
    metric: str = "accuracy",
) -> Any:
    """A monitored metric per chunk with its alert band; alerts marked in red."""
    ax = _axes(ax)
    v = np.asarray(values, dtype=float)
    t = np.arange(v.size) if positions is None else np.asarray(positions)
    ax.axhspan(lower, upper, color="green", alpha=0.12, label="alert band")
    ax.plot(t, v, "o-", label=metric if realized is None else f"estimated {metric}")
    if realized is not None:
        ax.plot(t, np.asarray(realized, dtype=float), "s--", label=f"realized {metric}")
    out = (v < lower) | (v > upper)
    ax.plot(t[out], v[out], "o", color="red", label="alert")
    ax.set_xlabel("chunk start (sample index)" if positions is not None else "chunk")
    ax.set_ylabel(metric)
    ax.legend(loc="lower left", fontsize="small")
    return ax
