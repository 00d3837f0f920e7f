"""Latency as a distribution: percentiles, throughput, and where the time goes.

A mean hides the slow requests users notice; services are held to a percentile (p99 under an
SLO). :func:`measure_latency` times a request path with :func:`labkit.timing.benchmark` (warm-up
first, CUDA synchronized around each call) and reports p50/p90/p95/p99, mean and throughput.
:func:`measure_stages` times each stage of a :class:`~labkit.inference.pipeline.Pipeline` on its
own real input, next to the end-to-end time, so the breakdown says which stage to work on.

Examples
--------
>>> report = latency_summary([0.001] * 98 + [0.010, 0.020])
>>> round(report.p50 * 1e3, 3), round(report.p99 * 1e3, 2)
(1.0, 10.1)
>>> round(report.throughput_per_s)
781
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit._validate import check_int
from labkit.timing import Measurement, benchmark, format_seconds

if TYPE_CHECKING:  # annotations only: the latency report itself needs no PyTorch
    import torch

    from labkit.inference.pipeline import Pipeline

__all__ = [
    "LatencyReport",
    "StageBreakdown",
    "latency_summary",
    "measure_latency",
    "measure_stages",
]


@dataclass(frozen=True)
class LatencyReport:
    """A latency distribution of calls that each serve ``batch_size`` requests.

    Percentiles and mean are per call, in seconds; ``throughput_per_s`` is requests per second
    when calls run back to back (``batch_size / mean``).
    """

    measurement: Measurement
    batch_size: int = 1

    @property
    def label(self) -> str:
        return self.measurement.label

    @property
    def times(self) -> tuple[float, ...]:
        return self.measurement.times

    @property
    def p50(self) -> float:
        return self.measurement.p50

    @property
    def p90(self) -> float:
        return self.measurement.p90

    @property
    def p95(self) -> float:
        return self.measurement.p95

    @property
    def p99(self) -> float:
        return self.measurement.p99

    @property
    def mean(self) -> float:
        return self.measurement.mean

    @property
    def throughput_per_s(self) -> float:
        return self.batch_size / self.mean if self.mean > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "batch_size": self.batch_size,
            "n": len(self.times),
            "p50_s": self.p50,
            "p90_s": self.p90,
            "p95_s": self.p95,
            "p99_s": self.p99,
            "mean_s": self.mean,
            "throughput_per_s": self.throughput_per_s,
        }

    def __repr__(self) -> str:
        f = format_seconds
        noisy = "  (noisy)" if self.measurement.noisy else ""
        return (
            f"LatencyReport({self.label!r}, batch {self.batch_size}, n={len(self.times)}: "
            f"p50 {f(self.p50)}, p90 {f(self.p90)}, p99 {f(self.p99)}, mean {f(self.mean)}, "
            f"{self.throughput_per_s:,.0f} req/s){noisy}"
        )


def latency_summary(
    times: Sequence[float], batch_size: int = 1, label: str = "", device: str = "cpu"
) -> LatencyReport:
    """A :class:`LatencyReport` from per-call times already measured (seconds)."""
    batch_size = check_int(batch_size, "batch_size", min_val=1)
    return LatencyReport(Measurement(tuple(float(t) for t in times), label, device), batch_size)


def measure_latency(
    fn: Callable[..., Any],
    *args: Any,
    warmup: int = 10,
    repeat: int = 200,
    batch_size: int = 1,
    device: str | torch.device | None = None,
    label: str | None = None,
    **kwargs: Any,
) -> LatencyReport:
    """Time ``fn(*args, **kwargs)`` ``repeat`` times after ``warmup`` calls (see ``benchmark``).

    ``batch_size`` is how many requests one call serves (for throughput).
    """
    m = benchmark(fn, *args, warmup=warmup, repeat=repeat, device=device, label=label, **kwargs)
    return latency_summary(m.times, batch_size, m.label, m.device)


@dataclass(frozen=True)
class StageBreakdown:
    """Per-stage and end-to-end latency of a pipeline, each a :class:`Measurement`."""

    stages: tuple[tuple[str, Measurement], ...]
    total: Measurement

    @property
    def other_s(self) -> float:
        """End-to-end median minus the sum of stage medians (glue, cache effects, noise)."""
        return self.total.median - sum(m.median for _, m in self.stages)

    def shares(self) -> dict[str, float]:
        """Each stage's median as a share of the end-to-end median."""
        return {name: m.median / self.total.median for name, m in self.stages}

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": {name: m.to_dict() for name, m in self.stages},
            "total": self.total.to_dict(),
        }

    def table(self) -> str:
        """A text table: stage, median, p99, share of the end-to-end median."""
        lines = [f"{'stage':<14}{'median':>12}{'p99':>12}{'share':>8}"]
        for name, m in (*self.stages, ("end-to-end", self.total)):
            share = m.median / self.total.median
            lines.append(
                f"{name:<14}{format_seconds(m.median):>12}{format_seconds(m.p99):>12}{share:>8.0%}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "StageBreakdown\n" + self.table()


def measure_stages(
    pipeline: Pipeline,
    x: Any,
    *,
    warmup: int = 5,
    repeat: int = 100,
    device: str | torch.device | None = None,
) -> StageBreakdown:
    """Time each stage of ``pipeline`` on the input it really receives, and the whole.

    The stage inputs are computed once by running the pipeline; each stage is then timed alone
    with :func:`labkit.timing.benchmark`, so CUDA work is synchronized per stage.
    """
    stages = []
    value = x
    for name, fn in pipeline.stages:
        stages.append(
            (name, benchmark(fn, value, warmup=warmup, repeat=repeat, device=device, label=name))
        )
        value = fn(value)
    total = benchmark(pipeline, x, warmup=warmup, repeat=repeat, device=device, label="end-to-end")
    return StageBreakdown(tuple(stages), total)
