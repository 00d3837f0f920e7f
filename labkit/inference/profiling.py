"""Find where the time goes: operator-level (torch.profiler) and Python-level (cProfile).

Guessing at latency wastes effort; profile first. Two views answer different questions:

* :func:`top_ops` runs a model under ``torch.profiler`` and ranks operators (``aten::addmm``,
  ``aten::relu``, ...) by their own time, which shows whether the model's time is in matrix
  multiplies (make them smaller, quantize) or in many tiny operators (fuse, use a graph runtime).
* :func:`python_hotspots` runs any callable under :mod:`cProfile` and ranks Python functions by
  their own time (``tottime``), which finds slow Python such as a per-element loop in
  preprocessing.

Examples
--------
>>> def slow():
...     return sum(i * i for i in range(20_000))
>>> hot = python_hotspots(slow, k=3)
>>> any(s.function == "<genexpr>" for s in hot)
True
"""

from __future__ import annotations

import cProfile
import os
import pstats
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from labkit._validate import check_int
from labkit.device import resolve, synchronize
from labkit.timing import format_seconds

__all__ = ["FunctionStat", "OpStat", "format_stats", "python_hotspots", "top_ops"]


@dataclass(frozen=True)
class OpStat:
    """One operator over the profiled calls: times in seconds, summed over ``calls``."""

    name: str
    calls: int
    self_cpu_s: float
    cpu_total_s: float
    self_device_s: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class FunctionStat:
    """One Python function: own time (``self_s``) and time including callees (``cumulative_s``)."""

    function: str
    location: str
    calls: int
    self_s: float
    cumulative_s: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def top_ops(
    model: Callable[..., Any],
    *inputs: Any,
    k: int = 10,
    repeat: int = 10,
    device: str | torch.device | None = None,
) -> tuple[OpStat, ...]:
    """The ``k`` operators with the most self time over ``repeat`` calls of ``model(*inputs)``.

    On CUDA the device activity is recorded too and ``self_device_s`` is filled in.

    Kineto (the profiler's backend) prints a start and a stop line to stderr at its default log
    level; unless ``KINETO_LOG_LEVEL`` is already set, this sets it to 6 (quiet) before the first
    profile. Kineto reads it once per process.
    """
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")
    from torch.profiler import ProfilerActivity, profile

    k = check_int(k, "k", min_val=1)
    dev = resolve(device) if device is not None else torch.device("cpu")
    activities = [ProfilerActivity.CPU]
    if dev.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with torch.inference_mode():
        model(*inputs)  # warm-up outside the profile
        synchronize(dev)
        with profile(activities=activities) as prof:
            for _ in range(repeat):
                model(*inputs)
            synchronize(dev)
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    return tuple(
        OpStat(
            name=e.key,
            calls=int(e.count),
            self_cpu_s=e.self_cpu_time_total / 1e6,
            cpu_total_s=e.cpu_time_total / 1e6,
            self_device_s=getattr(e, "self_device_time_total", 0.0) / 1e6,
        )
        for e in events[:k]
    )


def python_hotspots(
    fn: Callable[..., Any], *args: Any, k: int = 10, **kwargs: Any
) -> tuple[FunctionStat, ...]:
    """Run ``fn(*args, **kwargs)`` once under cProfile; the ``k`` functions with most own time."""
    k = check_int(k, "k", min_val=1)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        fn(*args, **kwargs)
    finally:
        profiler.disable()
    raw = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_, calls, tottime, cumtime, _) in raw.items():
        where = "built-in" if filename == "~" else f"{filename}:{line}"
        rows.append(FunctionStat(name, where, int(calls), float(tottime), float(cumtime)))
    rows.sort(key=lambda s: s.self_s, reverse=True)
    return tuple(rows[:k])


def format_stats(stats: tuple[OpStat, ...] | tuple[FunctionStat, ...]) -> str:
    """A text table of :func:`top_ops` or :func:`python_hotspots` results, shares of the total."""
    if not stats:
        return "(nothing recorded)"
    if isinstance(stats[0], OpStat):
        total = sum(s.self_cpu_s for s in stats) or 1.0
        lines = [f"{'operator':<36}{'calls':>7}{'self CPU':>12}{'share':>8}"]
        lines += [
            f"{s.name[:35]:<36}{s.calls:>7}{format_seconds(s.self_cpu_s):>12}"
            f"{s.self_cpu_s / total:>8.0%}"
            for s in stats  # type: ignore[union-attr]
        ]
    else:
        total = sum(s.self_s for s in stats) or 1.0
        lines = [f"{'function':<36}{'calls':>9}{'own time':>12}{'cumulative':>12}{'share':>8}"]
        lines += [
            f"{s.function[:35]:<36}{s.calls:>9}{format_seconds(s.self_s):>12}"
            f"{format_seconds(s.cumulative_s):>12}{s.self_s / total:>8.0%}"
            for s in stats  # type: ignore[union-attr]
        ]
    return "\n".join(lines)
