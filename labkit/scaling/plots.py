"""Plots for lab 04: autoscaling timelines, latency under load, load-test latencies over time.

Matplotlib is imported when a plot is drawn, not when labkit is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labkit.scaling.load import HttpLoadResult
from labkit.scaling.simulator import SimulationResult

__all__ = ["plot_latency_timeline", "plot_load_results", "plot_simulation"]


def plot_simulation(results: Sequence[SimulationResult], *, hours: bool = True) -> Any:
    """Three stacked panels over time: traffic, replicas per policy, p99 latency per policy."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
    scale = 3600.0 if hours else 1.0
    unit = "h" if hours else "s"
    first = results[0]
    t = first.times_s / scale
    axes[0].plot(t, first.arrival_rps, color="0.3", lw=0.8)
    axes[0].set_ylabel("traffic (req/s)")
    for r in results:
        axes[1].step(r.times_s / scale, r.replicas, where="post", lw=1.2, label=r.name)
        p99 = np.where(np.isfinite(r.p99_s), r.p99_s, np.nan)
        axes[2].plot(r.times_s / scale, 1e3 * p99, lw=0.9, label=r.name)
    axes[1].set_ylabel("replicas")
    axes[1].legend(loc="upper left", fontsize=8, ncol=2)
    axes[2].axhline(1e3 * first.slo_p99_s, color="k", ls="--", lw=0.8, label="SLO")
    axes[2].set_yscale("log")
    axes[2].set_ylabel("p99 latency (ms)")
    axes[2].set_xlabel(f"time ({unit})")
    axes[2].legend(loc="upper left", fontsize=8, ncol=3)
    fig.tight_layout()
    return fig


def plot_load_results(results: Sequence[HttpLoadResult]) -> Any:
    """Latency percentiles (p50, p90, p99) and throughput of several load tests side by side."""
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    labels = [r.label for r in results]
    x = np.arange(len(results))
    for offset, q in ((-0.25, 50), (0.0, 90), (0.25, 99)):
        ax1.bar(x + offset, [1e3 * r.percentile(q) for r in results], width=0.25, label=f"p{q}")
    ax1.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)
    ax1.set_ylabel("latency of successful requests (ms)")
    ax1.set_yscale("log")
    ax1.legend()
    ax2.bar(x, [r.throughput_rps for r in results], color="tab:green")
    ax2.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)
    ax2.set_ylabel("throughput (req/s)")
    fig.tight_layout()
    return fig


def plot_latency_timeline(results: Sequence[HttpLoadResult]) -> Any:
    """Each request's latency against its send time: stalls and queues show up as ramps."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3.8))
    for r in results:
        ok = r.ok
        ax.plot(r.scheduled_s[ok], 1e3 * r.latency_s[ok], ".", ms=2, label=r.label)
        shed = r.status == 503
        if shed.any():
            ax.plot(
                r.scheduled_s[shed], 1e3 * r.latency_s[shed], "x", ms=3, label=f"{r.label}: 503"
            )
    ax.set_xlabel("scheduled send time (s)")
    ax.set_ylabel("latency (ms)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
