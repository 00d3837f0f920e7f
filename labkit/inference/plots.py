"""Plots for latency distributions, stage breakdowns and batch-size sweeps (matplotlib).

Each function draws on ``ax`` (a new figure when ``None``), labels axes with units, and returns
the axes. Latencies are shown in milliseconds.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from labkit.inference.latency import latency_summary
>>> ax = plot_latency_cdf([latency_summary([0.001, 0.002, 0.004], label="demo")], slo_s=0.003)
>>> ax.get_xlabel()
'latency (ms)'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labkit.inference.latency import LatencyReport, StageBreakdown
from labkit.inference.sweep import SweepPoint
from labkit.timing import Measurement

__all__ = ["plot_batch_sweep", "plot_latency_cdf", "plot_latency_histogram", "plot_stages"]

Series = LatencyReport | Measurement


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 3.5))[1]


def _series(items: Series | Sequence[Series]) -> list[tuple[str, np.ndarray]]:
    items = [items] if isinstance(items, LatencyReport | Measurement) else list(items)
    if not items:
        raise ValueError("nothing to plot: pass a LatencyReport, a Measurement, or a list of them")
    return [(s.label or f"series {i}", np.asarray(s.times) * 1e3) for i, s in enumerate(items)]


def _slo(ax: Any, slo_s: float | None) -> None:
    if slo_s is not None:
        ax.axvline(slo_s * 1e3, color="crimson", linestyle="--", label=f"SLO {slo_s * 1e3:g} ms")


def plot_latency_histogram(
    items: Series | Sequence[Series], *, bins: int = 50, slo_s: float | None = None, ax: Any = None
) -> Any:
    """Histograms of per-request latency, one per series, with p50/p99 in the legend."""
    ax = _axes(ax)
    for label, ms in _series(items):
        p50, p99 = np.percentile(ms, [50, 99])
        ax.hist(ms, bins=bins, alpha=0.55, label=f"{label} (p50 {p50:.3g}, p99 {p99:.3g} ms)")
    _slo(ax, slo_s)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("requests")
    ax.legend(fontsize="small")
    return ax


def plot_latency_cdf(
    items: Series | Sequence[Series],
    *,
    slo_s: float | None = None,
    log_x: bool = False,
    ax: Any = None,
) -> Any:
    """Empirical CDFs of per-request latency; read any percentile off the y axis."""
    ax = _axes(ax)
    for label, ms in _series(items):
        xs = np.sort(ms)
        ax.step(xs, np.arange(1, len(xs) + 1) / len(xs), where="post", label=label)
    for q in (0.5, 0.99):
        ax.axhline(q, color="grey", linewidth=0.6, linestyle=":")
    _slo(ax, slo_s)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("share of requests ≤ x")
    ax.legend(fontsize="small")
    return ax


def plot_stages(breakdown: StageBreakdown, ax: Any = None) -> Any:
    """Horizontal bars: median time of each stage and of the whole pipeline."""
    ax = _axes(ax)
    names = [name for name, _ in breakdown.stages] + ["end-to-end"]
    ms = [m.median * 1e3 for _, m in breakdown.stages] + [breakdown.total.median * 1e3]
    ax.barh(names[::-1], ms[::-1], color=["tab:grey"] + ["tab:blue"] * (len(names) - 1))
    ax.set_xlabel("median latency (ms)")
    return ax


def plot_batch_sweep(points: Sequence[SweepPoint], ax: Any = None) -> Any:
    """Throughput (left axis) and median call latency (right axis) against batch size."""
    ax = _axes(ax)
    sizes = [p.batch_size for p in points]
    ax.plot(sizes, [p.throughput_per_s for p in points], "o-", color="tab:blue")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batch size")
    ax.set_ylabel("throughput (items/s)", color="tab:blue")
    right = ax.twinx()
    right.plot(sizes, [p.latency.median * 1e3 for p in points], "s--", color="tab:orange")
    right.set_ylabel("median latency per call (ms)", color="tab:orange")
    return ax
