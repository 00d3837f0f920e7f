"""Sequential vs asyncio vs thread pool for a request path with I/O waits in it.

A typical inference request spends much of its life waiting: fetching features from a store,
calling another service, writing a log. A server that handles one request at a time leaves the
CPU idle during those waits. Two ways to overlap them:

* **asyncio**: one thread, cooperative; each ``await`` on I/O lets another request run. Cheap
  per request, but CPU work blocks every other request while it runs.
* **thread pool**: blocking calls on several threads; the GIL is released while a thread waits
  on I/O (and inside NumPy/PyTorch/ONNX Runtime kernels), so waits overlap and native compute
  can use several cores.

:func:`compare_concurrency` runs the same request path (wait ``io_s``, compute, wait ``io_s``)
all three ways and reports wall time, throughput and per-request latency.

Examples
--------
>>> results = compare_concurrency(range(8), lambda i: i * i, io_s=0.01, workers=8)
>>> [r.mode for r in results]
['sequential', 'asyncio', 'threads']
>>> results[0].wall_s > 4 * results[1].wall_s
True
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from labkit._asyncio import run_coroutine
from labkit._validate import check_int, check_real
from labkit.inference.latency import LatencyReport, latency_summary
from labkit.timing import format_seconds

__all__ = ["ConcurrencyResult", "compare_concurrency"]


@dataclass(frozen=True)
class ConcurrencyResult:
    """One way of serving ``n`` requests: total wall time and per-request latency."""

    mode: str
    n: int
    wall_s: float
    latency: LatencyReport

    @property
    def throughput_per_s(self) -> float:
        return self.n / self.wall_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "n": self.n,
            "wall_s": self.wall_s,
            "throughput_per_s": self.throughput_per_s,
            "p50_s": self.latency.p50,
            "p99_s": self.latency.p99,
        }

    def __repr__(self) -> str:
        return (
            f"ConcurrencyResult({self.mode}: {self.n} requests in {format_seconds(self.wall_s)}, "
            f"{self.throughput_per_s:,.0f} req/s, p50 {format_seconds(self.latency.p50)})"
        )


def _handle_blocking(item: Any, compute: Callable[[Any], Any], io_s: float) -> float:
    start = time.perf_counter()
    time.sleep(io_s)  # fetch features
    compute(item)
    time.sleep(io_s)  # write the result / log
    return time.perf_counter() - start


async def _serve_async(
    items: list[Any], compute: Callable[[Any], Any], io_s: float, workers: int
) -> list[float]:
    limit = asyncio.Semaphore(workers)

    async def handle(item: Any) -> float:
        async with limit:
            start = time.perf_counter()
            await asyncio.sleep(io_s)
            compute(item)
            await asyncio.sleep(io_s)
            return time.perf_counter() - start

    return list(await asyncio.gather(*(handle(item) for item in items)))


def compare_concurrency(
    items: Iterable[Any],
    compute: Callable[[Any], Any],
    *,
    io_s: float = 0.005,
    workers: int = 16,
) -> tuple[ConcurrencyResult, ...]:
    """Serve ``items`` sequentially, with asyncio and with a thread pool; one result per mode.

    Each request waits ``io_s`` seconds, runs ``compute(item)``, then waits ``io_s`` again. At
    most ``workers`` requests are in flight at once in the concurrent modes.
    """
    items = list(items)
    if not items:
        raise ValueError("items is empty; give at least one request")
    io_s = check_real(io_s, "io_s", min_val=0, unit="seconds")
    workers = check_int(workers, "workers", min_val=1)

    def run(mode: str, serve: Callable[[], list[float]]) -> ConcurrencyResult:
        start = time.perf_counter()
        times = serve()
        wall = time.perf_counter() - start
        return ConcurrencyResult(mode, len(items), wall, latency_summary(times, label=mode))

    def sequential() -> list[float]:
        return [_handle_blocking(item, compute, io_s) for item in items]

    def with_asyncio() -> list[float]:
        return run_coroutine(_serve_async(items, compute, io_s, workers))

    def with_threads() -> list[float]:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda item: _handle_blocking(item, compute, io_s), items))

    return (
        run("sequential", sequential),
        run("asyncio", with_asyncio),
        run("threads", with_threads),
    )
