"""Batch-size sweep: the latency–throughput curve and its knee.

Batching amortizes per-call overhead (Python dispatch, kernel launches, reading the weights
once for many inputs) over more requests, so throughput rises with batch size, until the
hardware is busy: past that *knee* a bigger batch only makes each call slower. Serving wants a
batch size near the knee whose latency still fits the SLO.

Examples
--------
>>> import numpy as np
>>> w = np.ones((64, 64), dtype=np.float32)
>>> points = batch_size_sweep(lambda x: x @ w, lambda b: np.ones((b, 64), np.float32),
...                           batch_sizes=(1, 8, 64), repeat=5)
>>> [p.batch_size for p in points]
[1, 8, 64]
>>> points[-1].throughput_per_s > points[0].throughput_per_s
True
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from labkit._validate import check_int
from labkit.timing import Measurement, benchmark, format_seconds

__all__ = ["SweepPoint", "batch_size_sweep", "best_under_slo", "knee"]


@dataclass(frozen=True)
class SweepPoint:
    """One batch size: the per-call latency distribution and the throughput it implies."""

    batch_size: int
    latency: Measurement

    @property
    def throughput_per_s(self) -> float:
        """Items per second at the median call time."""
        return self.batch_size / self.latency.median

    @property
    def per_item_s(self) -> float:
        return self.latency.median / self.batch_size

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "median_s": self.latency.median,
            "p99_s": self.latency.p99,
            "throughput_per_s": self.throughput_per_s,
        }

    def __repr__(self) -> str:
        return (
            f"SweepPoint(batch {self.batch_size}: median {format_seconds(self.latency.median)}, "
            f"p99 {format_seconds(self.latency.p99)}, {self.throughput_per_s:,.0f} items/s)"
        )


def batch_size_sweep(
    predict: Callable[[Any], Any],
    make_batch: Callable[[int], Any],
    batch_sizes: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256),
    *,
    warmup: int = 3,
    repeat: int = 20,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> tuple[SweepPoint, ...]:
    """Time ``predict(make_batch(b))`` for each batch size ``b`` (ascending in the result)."""
    sizes = sorted(
        {check_int(b, f"batch_sizes[{i}]", min_val=1) for i, b in enumerate(batch_sizes)}
    )
    if not sizes:
        raise ValueError("batch_sizes must hold at least one batch size, got none")
    iterator: Any = sizes
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(sizes, desc="batch sizes", leave=False)
    points = []
    with torch.inference_mode():
        for b in iterator:
            batch = make_batch(b)
            m = benchmark(
                predict, batch, warmup=warmup, repeat=repeat, device=device, label=f"batch {b}"
            )
            points.append(SweepPoint(b, m))
    return tuple(points)


def knee(points: Sequence[SweepPoint], min_gain: float = 0.1) -> SweepPoint:
    """The first batch size after which the next size in the sweep raises throughput by less
    than ``min_gain`` (10% by default); the largest size if throughput keeps rising."""
    if not points:
        raise ValueError("knee needs at least one SweepPoint")
    ordered = sorted(points, key=lambda p: p.batch_size)
    for here, nxt in itertools.pairwise(ordered):
        if nxt.throughput_per_s < (1.0 + min_gain) * here.throughput_per_s:
            return here
    return ordered[-1]


def best_under_slo(points: Sequence[SweepPoint], slo_s: float) -> SweepPoint | None:
    """The highest-throughput point whose p99 call latency is within ``slo_s`` (None if none)."""
    fitting = [p for p in points if p.latency.p99 <= slo_s]
    return max(fitting, key=lambda p: p.throughput_per_s) if fitting else None
