"""Peak memory of a training step, activation checkpointing's trade-off, and OOM back-off.

On CUDA the caching allocator keeps exact statistics (``torch.cuda.max_memory_allocated``). The
CPU allocator keeps none, so on the CPU :class:`LiveTensorTracker` counts them itself: a
``TorchDispatchMode`` sees every operator's outputs, records each *newly allocated* storage (views
and in-place results share their input's storage and are skipped) and subtracts it again when
the storage is freed. Its peak is the same quantity CUDA reports, "bytes held by tensors", minus
the caching allocator's rounding; it slows Python-heavy code down, so it is used for measuring
memory, never while timing.

Out-of-memory handling: :func:`find_max_batch_size` tries a batch size, catches
``torch.cuda.OutOfMemoryError`` (a real one on a GPU), frees what it can and halves the batch
until a step fits. On a CPU, where running out of memory means swapping or the OOM killer rather
than a catchable error, a ``budget_bytes`` makes the tracker raise
:class:`SimulatedOutOfMemoryError` at the first allocation that would exceed it, the same point
at which the CUDA allocator would fail.

Examples
--------
>>> x = torch.zeros(1000)  # allocated before: not counted
>>> peak = measure_peak_memory(lambda: torch.ones(1000) * 2.0, device="cpu")
>>> peak.peak_bytes  # two float32 tensors of 1000 elements alive at once
8000
"""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from labkit._validate import check_int
from labkit.device import resolve, synchronize

__all__ = [
    "BatchSizeSearch",
    "LiveTensorTracker",
    "PeakMemory",
    "SimulatedOutOfMemoryError",
    "find_max_batch_size",
    "format_bytes",
    "measure_peak_memory",
]


def format_bytes(n: float) -> str:
    """Bytes with a binary prefix: ``format_bytes(3 * 2**20) == '3.00 MiB'``.

    >>> format_bytes(512)
    '512 B'
    """
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{int(n)} B"


class SimulatedOutOfMemoryError(torch.OutOfMemoryError):
    """Raised by :class:`LiveTensorTracker` when live tensors would exceed its budget.

    A subclass of ``torch.OutOfMemoryError`` (which ``torch.cuda.OutOfMemoryError`` names), so
    code written to catch a real CUDA OOM catches this one too.
    """


class LiveTensorTracker(TorchDispatchMode):
    """Count bytes of tensor storage allocated inside the ``with`` block, live and peak.

    Parameters
    ----------
    budget_bytes
        If given, raise :class:`SimulatedOutOfMemoryError` when live bytes would exceed it.

    Examples
    --------
    >>> with LiveTensorTracker() as tracker:
    ...     a = torch.ones(256)          # 1 KiB
    ...     b = a.view(16, 16)           # a view: no new storage
    ...     del a, b
    >>> tracker.peak_bytes, tracker.live_bytes
    (1024, 0)
    """

    def __init__(self, *, budget_bytes: int | None = None) -> None:
        super().__init__()
        if budget_bytes is not None:
            budget_bytes = check_int(budget_bytes, "budget_bytes", min_val=0)
        self.budget_bytes = budget_bytes
        self.live_bytes = 0
        self.peak_bytes = 0

    def _free(self, nbytes: int) -> None:
        self.live_bytes -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        out = func(*args, **(kwargs or {}))
        inputs = {
            t.untyped_storage().data_ptr()
            for t in tree_leaves((args, kwargs))
            if isinstance(t, torch.Tensor)
        }
        fresh = {}
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                ptr = storage.data_ptr()
                if ptr not in inputs and ptr not in fresh and storage.nbytes() > 0:
                    fresh[ptr] = storage
        for storage in fresh.values():
            nbytes = storage.nbytes()
            if self.budget_bytes is not None and self.live_bytes + nbytes > self.budget_bytes:
                raise SimulatedOutOfMemoryError(
                    f"simulated out of memory: allocating {format_bytes(nbytes)} with "
                    f"{format_bytes(self.live_bytes)} live exceeds the budget of "
                    f"{format_bytes(self.budget_bytes)} (op {func})"
                )
            self.live_bytes += nbytes
            self.peak_bytes = max(self.peak_bytes, self.live_bytes)
            weakref.finalize(storage, self._free, nbytes)
        return out


@dataclass(frozen=True)
class PeakMemory:
    """Peak bytes allocated by a call above what was allocated before it.

    Examples
    --------
    >>> peak = measure_peak_memory(lambda: torch.ones(256), device="cpu")
    >>> peak.peak_bytes, peak.method
    (1024, 'live-tensor-tracker')
    """

    peak_bytes: int
    seconds: float
    device: str
    method: str  # "cuda-allocator" or "live-tensor-tracker"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __repr__(self) -> str:
        return (
            f"PeakMemory({format_bytes(self.peak_bytes)} on {self.device} via {self.method}, "
            f"{self.seconds * 1e3:.1f} ms)"
        )


def measure_peak_memory(
    fn: Callable[..., Any], *args: Any, device: str | torch.device | None = None, **kwargs: Any
) -> PeakMemory:
    """Run ``fn(*args, **kwargs)`` once and return the peak of memory it allocated.

    On CUDA this reads the caching allocator's statistics; elsewhere it runs ``fn`` under
    :class:`LiveTensorTracker`. Memory held before the call (weights, a cached batch) is not
    counted; memory the call leaves behind is.
    """
    dev = resolve(device)
    if dev.type == "cuda":
        synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev)
        start = time.perf_counter()
        fn(*args, **kwargs)
        synchronize(dev)
        seconds = time.perf_counter() - start
        peak = torch.cuda.max_memory_allocated(dev) - base
        return PeakMemory(int(peak), seconds, str(dev), "cuda-allocator")
    start = time.perf_counter()
    with LiveTensorTracker() as tracker:
        fn(*args, **kwargs)
    return PeakMemory(
        tracker.peak_bytes, time.perf_counter() - start, str(dev), "live-tensor-tracker"
    )


@dataclass(frozen=True)
class BatchSizeSearch:
    """Outcome of :func:`find_max_batch_size`: the batch size that fitted and every attempt.

    Examples
    --------
    >>> search = find_max_batch_size(lambda b: torch.ones(b, 256), start=8, budget_bytes=4096)
    >>> search
    BatchSizeSearch(batch_size=4, tried 8✗, 4✓; simulated budget)
    >>> search.to_dict()["attempts"]
    [[8, False], [4, True]]
    """

    batch_size: int
    attempts: tuple[tuple[int, bool], ...]  # (batch size, fitted)
    simulated: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "attempts": [list(a) for a in self.attempts],
            "simulated": self.simulated,
        }

    def __repr__(self) -> str:
        tries = ", ".join(f"{b}{'✓' if ok else '✗'}" for b, ok in self.attempts)
        kind = "simulated budget" if self.simulated else "device memory"
        return f"BatchSizeSearch(batch_size={self.batch_size}, tried {tries}; {kind})"


def _release(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def find_max_batch_size(
    step: Callable[[int], Any],
    *,
    start: int,
    min_batch_size: int = 1,
    budget_bytes: int | None = None,
    device: str | torch.device | None = None,
) -> BatchSizeSearch:
    """Halve the batch size from ``start`` until ``step(batch_size)`` runs without OOM.

    Parameters
    ----------
    step
        Runs one training step at the given batch size (allocating its batch inside).
    start
        First batch size tried.
    min_batch_size
        Give up (re-raise the OOM) below this size.
    budget_bytes
        Simulate a device with this much free memory (any device): allocations past it raise
        :class:`SimulatedOutOfMemoryError`. ``None`` relies on real out-of-memory errors, which
        only a GPU raises catchably.

    Examples
    --------
    >>> def step(batch_size):  # activations grow with the batch: 4 KiB per sample
    ...     return torch.ones(batch_size, 1024).sum()
    >>> find_max_batch_size(step, start=64, budget_bytes=100_000).batch_size
    16
    """
    start = check_int(start, "start", min_val=1)
    min_batch_size = check_int(min_batch_size, "min_batch_size", min_val=1)
    if budget_bytes is not None:
        budget_bytes = check_int(budget_bytes, "budget_bytes", min_val=0)
    if min_batch_size > start:
        raise ValueError(f"min_batch_size={min_batch_size} exceeds start={start}")
    dev = resolve(device)
    attempts: list[tuple[int, bool]] = []
    batch_size = start
    while True:
        try:
            if budget_bytes is not None:
                with LiveTensorTracker(budget_bytes=budget_bytes):
                    step(batch_size)
            else:
                step(batch_size)
            synchronize(dev)
        except torch.OutOfMemoryError:
            # Leave the except block before freeing: the traceback pins the failed step's tensors.
            fitted = False
        else:
            fitted = True
        attempts.append((batch_size, fitted))
        if fitted:
            return BatchSizeSearch(batch_size, tuple(attempts), budget_bytes is not None)
        _release(dev)
        if batch_size // 2 < min_batch_size:
            raise torch.OutOfMemoryError(
                f"no batch size down to min_batch_size={min_batch_size} fits; tried {attempts}"
            )
        batch_size //= 2
