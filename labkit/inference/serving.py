"""Drive a batcher with concurrent clients: dynamic batching vs one request at a time.

:func:`closed_loop` runs ``clients`` asyncio clients that each send a request, wait for the
answer, and send the next, and records every request's latency. :func:`compare_batching` serves
the same load through two :class:`~labkit.inference.batcher.DynamicBatcher` configurations of
one model: ``max_batch_size=1`` (one request at a time, as a server without batching would) and
dynamic batching. :func:`serve_batching` serves the load through one configuration, which is how
a grid of ``(max_batch_size, max_queue_delay_s)`` settings is measured.

A closed-loop load sends less while the server is slow, so it under-states the latency an
open-loop (arrival-rate) load would see ("coordinated omission", see wrk2); it is the right tool
for "N concurrent users" and for throughput, and lab 04 uses open-loop load for tail latency.

Examples
--------
>>> one, batched = compare_batching(lambda xs: [x + 1 for x in xs], lambda i: i,
...                                 clients=8, requests_per_client=5)
>>> one.completed, batched.completed, one.batch_stats.mean_batch_size
(40, 40, 1.0)
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from labkit._asyncio import run_coroutine
from labkit._validate import check_int
from labkit.inference.batcher import BatcherStats, DynamicBatcher
from labkit.inference.latency import LatencyReport, latency_summary
from labkit.timing import format_seconds

__all__ = ["BatcherLoadResult", "closed_loop", "compare_batching", "serve_batching"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class BatcherLoadResult:
    """What ``clients`` closed-loop clients of an in-process batcher saw: completed requests,
    errors by type, latency."""

    label: str
    clients: int
    completed: int
    errors: tuple[tuple[str, int], ...]
    wall_s: float
    latency: LatencyReport | None
    batch_stats: BatcherStats | None = None

    @property
    def throughput_per_s(self) -> float:
        return self.completed / self.wall_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "clients": self.clients,
            "completed": self.completed,
            "errors": dict(self.errors),
            "wall_s": self.wall_s,
            "throughput_per_s": self.throughput_per_s,
            "p50_s": self.latency.p50 if self.latency else None,
            "p99_s": self.latency.p99 if self.latency else None,
            "mean_batch_size": self.batch_stats.mean_batch_size if self.batch_stats else None,
        }

    def __repr__(self) -> str:
        lat = ""
        if self.latency is not None:
            lat = (
                f", p50 {format_seconds(self.latency.p50)}, p99 {format_seconds(self.latency.p99)}"
            )
        batch = ""
        if self.batch_stats is not None:
            batch = f", mean batch {self.batch_stats.mean_batch_size:.1f}"
        errors = f", errors {dict(self.errors)}" if self.errors else ""
        return (
            f"BatcherLoadResult({self.label!r}: {self.clients} clients, {self.completed} requests, "
            f"{self.throughput_per_s:,.0f} req/s{lat}{batch}{errors})"
        )


async def closed_loop(
    submit: Callable[[T], Awaitable[Any]],
    make_input: Callable[[int], T],
    *,
    clients: int = 64,
    requests_per_client: int = 50,
    label: str = "",
) -> BatcherLoadResult:
    """Run ``clients`` tasks that each await ``submit(make_input(i))`` ``requests_per_client`` times.

    A request that raises is counted under its exception's type name; the client goes on.
    """
    clients = check_int(clients, "clients", min_val=1)
    requests_per_client = check_int(requests_per_client, "requests_per_client", min_val=1)
    times: list[float] = []
    errors: Counter[str] = Counter()
    clock = time.perf_counter

    async def client(c: int) -> None:
        for r in range(requests_per_client):
            item = make_input(c * requests_per_client + r)
            start = clock()
            try:
                await submit(item)
            except Exception as err:
                errors[type(err).__name__] += 1
            else:
                times.append(clock() - start)

    start = clock()
    await asyncio.gather(*(client(c) for c in range(clients)))
    wall = clock() - start
    latency = latency_summary(times, label=label) if times else None
    return BatcherLoadResult(
        label, clients, len(times), tuple(sorted(errors.items())), wall, latency
    )


async def _serve(
    predict_batch: Callable[[list[T]], Sequence[R]],
    make_input: Callable[[int], T],
    *,
    label: str,
    clients: int,
    requests_per_client: int,
    max_batch_size: int,
    max_queue_delay_s: float,
    run_in_thread: bool,
) -> BatcherLoadResult:
    async with DynamicBatcher(
        predict_batch,
        max_batch_size=max_batch_size,
        max_queue_delay_s=max_queue_delay_s,
        run_in_thread=run_in_thread,
    ) as batcher:
        result = await closed_loop(
            batcher.submit,
            make_input,
            clients=clients,
            requests_per_client=requests_per_client,
            label=label,
        )
    return dataclasses.replace(result, batch_stats=batcher.stats)


def serve_batching(
    predict_batch: Callable[[list[T]], Sequence[R]],
    make_input: Callable[[int], T],
    *,
    max_batch_size: int,
    max_queue_delay_s: float,
    clients: int = 64,
    requests_per_client: int = 50,
    run_in_thread: bool = False,
    label: str | None = None,
) -> BatcherLoadResult:
    """One closed-loop load served through one :class:`DynamicBatcher` configuration.

    ``predict_batch`` takes a list of inputs and returns one output per input. Runs in a helper
    thread when called from a running event loop (Jupyter).

    Examples
    --------
    >>> r = serve_batching(lambda xs: [x + 1 for x in xs], lambda i: i, max_batch_size=4,
    ...                    max_queue_delay_s=0.0, clients=4, requests_per_client=3)
    >>> r.completed, r.label
    (12, 'max_batch_size=4, max_queue_delay_s=0')
    """
    max_batch_size = check_int(max_batch_size, "max_batch_size", min_val=1)
    if label is None:
        label = f"max_batch_size={max_batch_size}, max_queue_delay_s={max_queue_delay_s:g}"
    return run_coroutine(
        _serve(
            predict_batch,
            make_input,
            label=label,
            clients=clients,
            requests_per_client=requests_per_client,
            max_batch_size=max_batch_size,
            max_queue_delay_s=max_queue_delay_s,
            run_in_thread=run_in_thread,
        )
    )


def compare_batching(
    predict_batch: Callable[[list[T]], Sequence[R]],
    make_input: Callable[[int], T],
    *,
    clients: int = 64,
    requests_per_client: int = 50,
    max_batch_size: int = 64,
    max_queue_delay_s: float = 0.002,
    run_in_thread: bool = False,
) -> tuple[BatcherLoadResult, BatcherLoadResult]:
    """The same closed-loop load served one at a time, then with dynamic batching.

    ``predict_batch`` takes a list of inputs and returns one output per input. Both runs use a
    :class:`DynamicBatcher`; the first with ``max_batch_size=1``. Runs in a helper thread when
    called from a running event loop (Jupyter).
    """
    load = {
        "clients": clients,
        "requests_per_client": requests_per_client,
        "run_in_thread": run_in_thread,
    }

    async def both() -> tuple[BatcherLoadResult, BatcherLoadResult]:
        one = await _serve(
            predict_batch,
            make_input,
            label="one at a time",
            max_batch_size=1,
            max_queue_delay_s=0.0,
            **load,
        )
        batched = await _serve(
            predict_batch,
            make_input,
            label=f"dynamic batching (max {max_batch_size})",
            max_batch_size=max_batch_size,
            max_queue_delay_s=max_queue_delay_s,
            **load,
        )
        return one, batched

    return run_coroutine(both())
