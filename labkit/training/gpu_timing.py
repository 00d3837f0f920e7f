"""Timing GPU work: the two classic mistakes side by side with the right way.

1. **No synchronization.** CUDA calls return as soon as the kernel is queued, so
   ``perf_counter()`` around them measures the launch (microseconds) while the GPU is still
   working. Only on a GPU does this go wrong; on a CPU the work is done when the call returns.
2. **Timing the first call.** The first call pays one-off costs: CUDA context and cuBLAS handle
   creation, cuDNN/cuBLAS autotuning, memory allocation, ``torch.compile`` tracing and code
   generation. These are real costs (worth reporting as start-up) but not the steady state.
3. **Right:** warm up, synchronize before and after each timed call (or use CUDA events), repeat
   and report the median with its spread: :func:`labkit.timing.benchmark`.

:func:`compare_timing_methods` runs all three on the same function and returns a table-ready
:class:`TimingComparison`; :func:`cuda_event_time` shows the event-based alternative.

Examples
--------
>>> x = torch.randn(64, 64)
>>> cmp = compare_timing_methods(torch.matmul, x, x, device="cpu", repeat=5)
>>> [name for name, _ in cmp.rows()]
['first call (cold)', 'no synchronization', 'synchronized median (labkit.timing)']
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from labkit._validate import check_int
from labkit.device import resolve, synchronize
from labkit.timing import Measurement, benchmark, format_seconds

__all__ = ["TimingComparison", "compare_timing_methods", "cuda_event_time", "time_without_sync"]


def time_without_sync(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """The wrong way: ``perf_counter()`` around one call, no synchronization. Seconds."""
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def cuda_event_time(fn: Callable[..., Any], *args: Any, repeat: int = 10, **kwargs: Any) -> float:
    """Median GPU time of ``fn`` in seconds, measured with CUDA events (CUDA only).

    Events are recorded into the stream around the work, so they time the kernels themselves
    without stalling the host between calls; ``elapsed_time`` needs the end event to finish.
    """
    repeat = check_int(repeat, "repeat", min_val=1)
    if not torch.cuda.is_available():
        raise RuntimeError(
            "cuda_event_time needs a CUDA device (torch.cuda.Event does not exist on a CPU); "
            "use labkit.timing.benchmark, which synchronizes correctly on every device"
        )
    times = []
    fn(*args, **kwargs)  # warm-up
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn(*args, **kwargs)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)  # elapsed_time is in milliseconds
    times.sort()
    return times[len(times) // 2]


@dataclass(frozen=True)
class TimingComparison:
    """The same function timed three ways (seconds)."""

    device: str
    first_call_s: float
    no_sync_s: float
    synchronized: Measurement

    def rows(self) -> list[tuple[str, float]]:
        return [
            ("first call (cold)", self.first_call_s),
            ("no synchronization", self.no_sync_s),
            ("synchronized median (labkit.timing)", self.synchronized.median),
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "first_call_s": self.first_call_s,
            "no_sync_s": self.no_sync_s,
            "synchronized_median_s": self.synchronized.median,
        }

    def __repr__(self) -> str:
        ref = self.synchronized.median
        lines = [f"TimingComparison on {self.device}"]
        for name, value in self.rows():
            lines.append(f"  {name:<38} {format_seconds(value):>10}  ({value / ref:6.2f}× median)")
        return "\n".join(lines)


def compare_timing_methods(
    fn: Callable[..., Any],
    *args: Any,
    device: str | torch.device | None = None,
    repeat: int = 20,
    **kwargs: Any,
) -> TimingComparison:
    """Time ``fn(*args, **kwargs)`` cold, without synchronization, and correctly.

    Pass a function that has not run yet to see its first-call cost (for example a freshly
    ``torch.compile``-d one). The no-sync figure is taken after warm-up, from a synchronized
    idle device, so the only thing wrong with it is the missing synchronization.
    """
    repeat = check_int(repeat, "repeat", min_val=1)  # before fn's first, uncacheable call
    dev = resolve(device)
    synchronize(dev)
    start = time.perf_counter()
    fn(*args, **kwargs)
    synchronize(dev)
    first = time.perf_counter() - start
    for _ in range(2):
        fn(*args, **kwargs)
    synchronize(dev)
    no_sync = time_without_sync(fn, *args, **kwargs)
    synchronize(dev)
    measured = benchmark(fn, *args, warmup=1, repeat=repeat, device=dev, **kwargs)
    return TimingComparison(str(dev), first, no_sync, measured)
