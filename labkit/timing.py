"""``benchmark()`` and ``Measurement``: the one timer every lab uses.

Timing GPU work has two classic traps: CUDA launches kernels asynchronously, so a timer that
does not synchronize measures only the launch; and the first calls pay one-off costs (cuBLAS
handles, autotuning, ``torch.compile``), so a timer without warm-up measures set-up. ``benchmark``
warms up, synchronizes around every timed call when the work is on a GPU, and keeps every sample
so percentiles and spread can be read, in the spirit of ``torch.utils.benchmark``.

Importing this module does not import PyTorch: a benchmark of plain Python or NumPy code never
loads it, and GPU work is found among the arguments only once torch has been imported (a tensor
cannot exist before).

Examples
--------
>>> m = benchmark(sum, range(1000), warmup=2, repeat=20)
>>> len(m.times), m.median > 0
(20, True)
>>> m.p50 == m.median
True
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labkit._validate import check_int, check_real
from labkit.device import synchronize

if TYPE_CHECKING:
    import torch

__all__ = ["Measurement", "benchmark", "format_seconds"]

# An IQR above this fraction of the median marks a measurement as noisy (torch.utils.benchmark
# uses the same idea with its "significant variance" warning).
NOISY_IQR_FRACTION = 0.1


def format_seconds(seconds: float) -> str:
    """A time with an SI prefix chosen for reading: ``format_seconds(2.5e-5) == '25.0 us'``.

    >>> format_seconds(0.0123)
    '12.3 ms'
    """
    if not math.isfinite(seconds):
        return str(seconds)
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _percentile(sorted_times: tuple[float, ...], q: float) -> float:
    """Linear-interpolation percentile (NumPy's default method), ``q`` in [0, 100]."""
    n = len(sorted_times)
    pos = (n - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    return sorted_times[lo] + (sorted_times[hi] - sorted_times[lo]) * (pos - lo)


@dataclass(frozen=True)
class Measurement:
    """Per-call wall times of one benchmarked function, in seconds.

    Attributes
    ----------
    times
        Every timed call, in order.
    label
        What was timed (shown in the repr).
    device
        Where the work ran ("cpu", "cuda:0", ...).

    Examples
    --------
    >>> m = Measurement((0.003, 0.001, 0.002), label="three calls")
    >>> m.median, m.min, len(m.times)
    (0.002, 0.001, 3)
    >>> m.to_dict()["p90_s"]
    0.0028
    """

    times: tuple[float, ...]
    label: str = ""
    device: str = "cpu"
    _sorted: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.times:
            raise ValueError("Measurement needs at least one time, got an empty sequence")
        if any(not math.isfinite(t) or t < 0 for t in self.times):
            raise ValueError("times must be finite and non-negative seconds")
        object.__setattr__(self, "_sorted", tuple(sorted(self.times)))

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0–100) of the times, NumPy's linear method."""
        return _percentile(self._sorted, check_real(q, "q", min_val=0, max_val=100))

    @property
    def median(self) -> float:
        return self.percentile(50)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p90(self) -> float:
        return self.percentile(90)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def iqr(self) -> float:
        return self.percentile(75) - self.percentile(25)

    @property
    def min(self) -> float:
        return self._sorted[0]

    @property
    def noisy(self) -> bool:
        """True when the interquartile range exceeds 10% of the median."""
        return self.median > 0 and self.iqr > NOISY_IQR_FRACTION * self.median

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "device": self.device,
            "n": len(self.times),
            "median_s": self.median,
            "mean_s": self.mean,
            "p90_s": self.p90,
            "p95_s": self.p95,
            "p99_s": self.p99,
            "iqr_s": self.iqr,
            "min_s": self.min,
        }

    def __repr__(self) -> str:
        head = f"Measurement({self.label!r}, device={self.device!r}, n={len(self.times)})"
        body = (
            f"  median {format_seconds(self.median)}  IQR {format_seconds(self.iqr)}  "
            f"p90 {format_seconds(self.p90)}  p99 {format_seconds(self.p99)}"
        )
        warn = ""
        if self.noisy:
            warn = (
                f"\n  WARNING: noisy — IQR is {self.iqr / self.median:.0%} of the median; "
                "close other programs or raise repeat"
            )
        return f"{head}\n{body}{warn}"


def _work_device(args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.device | None:
    """The first non-CPU device among tensor/module arguments, to know what to synchronize."""
    torch = sys.modules.get("torch")
    if torch is None:  # torch never imported: no argument can be a tensor or a module
        return None
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor) and value.device.type != "cpu":
            return value.device
        if isinstance(value, torch.nn.Module):
            param = next(value.parameters(), None)
            if param is not None and param.device.type != "cpu":
                return param.device
    return None


def benchmark(
    fn: Callable[..., Any],
    *args: Any,
    warmup: int = 3,
    repeat: int = 30,
    device: str | torch.device | None = None,
    label: str | None = None,
    **kwargs: Any,
) -> Measurement:
    """Time ``fn(*args, **kwargs)``: ``warmup`` untimed calls, then ``repeat`` timed ones.

    Parameters
    ----------
    fn
        The callable to time.
    warmup
        Untimed calls first, to pay one-off costs (allocation, autotuning, compilation).
    repeat
        Timed calls; each is one sample in the result.
    device
        Where the work runs. CUDA work is synchronized before and after each timed call. When
        ``None``, the device of the first GPU tensor or module among the arguments is used, and
        CUDA's current device when ``fn`` takes no GPU arguments but CUDA is initialized.
    label
        Name shown in the result; defaults to ``fn``'s name.

    Returns
    -------
    Measurement
        Per-call times in seconds.

    Examples
    --------
    >>> m = benchmark(lambda: sum(range(100)), warmup=1, repeat=5, label="sum")
    >>> m.label, len(m.times)
    ('sum', 5)
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    warmup = check_int(warmup, "warmup", min_val=0)
    repeat = check_int(repeat, "repeat", min_val=1)

    if device is not None:
        from labkit.device import resolve

        dev: torch.device | None = resolve(device)
    else:
        dev = _work_device(args, kwargs)
        torch = sys.modules.get("torch")  # CUDA cannot be initialized before torch is imported
        if (
            dev is None
            and torch is not None
            and torch.cuda.is_available()
            and torch.cuda.is_initialized()
        ):
            dev = torch.device("cuda", torch.cuda.current_device())
    sync_dev = dev if dev is not None and dev.type != "cpu" else None

    for _ in range(warmup):
        fn(*args, **kwargs)
    synchronize(sync_dev)

    times = []
    clock = time.perf_counter
    for _ in range(repeat):
        synchronize(sync_dev)
        start = clock()
        fn(*args, **kwargs)
        synchronize(sync_dev)
        times.append(clock() - start)
    name = label if label is not None else getattr(fn, "__name__", type(fn).__name__)
    return Measurement(times=tuple(times), label=name, device=str(dev or "cpu"))
