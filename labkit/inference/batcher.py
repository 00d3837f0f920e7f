"""``DynamicBatcher``: server-side dynamic batching with NVIDIA Triton's semantics, on asyncio.

The rule of when to send a batch is :func:`~labkit.inference.batching.batch_decision`; this
module is the machinery around it (``docs/reference.md``, "Latency and serving"):

* ``max_queue_size`` bounds the queue: a request that finds it full is rejected at once
  (:class:`QueueFullError`) instead of waiting without bound;
* ``timeout_s`` bounds each request's time *in the queue*: a request not yet sent to the model
  by then fails with :class:`RequestTimeoutError` (a request already in a running batch finishes);
* ``max_concurrent_batches`` is Triton's instance count: how many batches run at once. A new
  batch is formed only when an instance is free, so requests that arrive while the model is busy
  queue up and leave together.

The batcher reads only the event loop's clock, so it runs exactly on
:class:`~labkit.inference.virtual_time.VirtualTimeEventLoop`.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from labkit._validate import check_bool, check_int, check_real
from labkit.inference.batching import batch_decision

__all__ = [
    "BatcherClosedError",
    "BatcherStats",
    "DynamicBatcher",
    "QueueFullError",
    "RequestTimeoutError",
]

T = TypeVar("T")
R = TypeVar("R")

# asyncio runs a timer once the clock is within its resolution of the due time, so a wake-up
# may come a hair early; a delay that has run out to within this slack counts as run out
# (otherwise float rounding could re-arm a zero-length timer forever).
_CLOCK_SLACK_S = 1e-9

Handler = Callable[[list[T]], "Sequence[R] | Awaitable[Sequence[R]]"]


class QueueFullError(RuntimeError):
    """The batcher's queue holds ``max_queue_size`` requests; this one was rejected."""


class RequestTimeoutError(TimeoutError):
    """A request waited in the queue longer than ``timeout_s`` and was not sent to the model."""


class BatcherClosedError(RuntimeError):
    """``submit`` was called on a batcher that is closing or closed."""


@dataclass(frozen=True)
class BatcherStats:
    """Counters of a :class:`DynamicBatcher` since it was created.

    ``batch_sizes`` holds ``(size, number of batches of that size)`` pairs, smallest size first.
    """

    submitted: int
    completed: int
    rejected: int
    timed_out: int
    failed: int
    batch_sizes: tuple[tuple[int, int], ...]

    @property
    def batches(self) -> int:
        return sum(count for _, count in self.batch_sizes)

    @property
    def mean_batch_size(self) -> float:
        """Mean size of the batches sent to the model (``nan`` before the first one)."""
        sent = sum(size * count for size, count in self.batch_sizes)
        return sent / self.batches if self.batches else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "submitted": self.submitted,
            "completed": self.completed,
            "rejected": self.rejected,
            "timed_out": self.timed_out,
            "failed": self.failed,
            "batches": self.batches,
            "mean_batch_size": self.mean_batch_size,
            "batch_sizes": {str(size): count for size, count in self.batch_sizes},
        }


class _Request:
    __slots__ = ("deadline", "enqueued_at", "future", "item")

    def __init__(self, item: Any, future: asyncio.Future[Any], now: float, timeout_s: float | None):
        self.item = item
        self.future = future
        self.enqueued_at = now
        self.deadline = math.inf if timeout_s is None else now + timeout_s


class DynamicBatcher(Generic[T, R]):
    """Group concurrent requests into batches for ``handler``, following Triton's rules.

    Parameters
    ----------
    handler
        Called with a list of inputs (oldest first); returns one result per input, in order. It
        may be a plain function or return an awaitable (an ``async def``). An exception it raises
        fails every request of that batch and nothing else.
    max_batch_size
        Largest batch handed to ``handler``.
    max_queue_delay_s
        How long requests may be held, counted from the arrival of the oldest one waiting, to
        let a larger batch form. 0 sends at once.
    max_queue_size
        Most requests allowed to wait; beyond it :meth:`submit` raises :class:`QueueFullError`.
        ``None``: unbounded.
    timeout_s
        Longest time a request may wait in the queue; then it fails with
        :class:`RequestTimeoutError`. ``None``: no limit.
    preferred_batch_sizes
        Batch sizes sent as soon as they can be formed, without waiting for the delay.
    max_concurrent_batches
        Batches that may run at once (Triton's model instances).
    run_in_thread
        Run a plain-function ``handler`` in a worker thread (``asyncio.to_thread``), so the event
        loop keeps accepting requests while the model computes. ``False`` runs it inline, which
        is cheaper and makes runs on a virtual clock deterministic.

    Examples
    --------
    >>> import asyncio
    >>> async def main():
    ...     async with DynamicBatcher(lambda xs: [2 * x for x in xs], max_batch_size=4,
    ...                               max_queue_delay_s=0.001, run_in_thread=False) as batcher:
    ...         results = await asyncio.gather(*(batcher.submit(i) for i in range(6)))
    ...     return results, batcher.stats.batch_sizes
    >>> asyncio.run(main())
    ([0, 2, 4, 6, 8, 10], ((2, 1), (4, 1)))
    """

    def __init__(
        self,
        handler: Handler[T, R],
        *,
        max_batch_size: int = 8,
        max_queue_delay_s: float = 0.0,
        max_queue_size: int | None = None,
        timeout_s: float | None = None,
        preferred_batch_sizes: Sequence[int] = (),
        max_concurrent_batches: int = 1,
        run_in_thread: bool = True,
    ) -> None:
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {type(handler).__name__}")
        max_batch_size = check_int(max_batch_size, "max_batch_size", min_val=1)
        max_queue_delay_s = check_real(
            max_queue_delay_s, "max_queue_delay_s", min_val=0, unit="seconds"
        )
        if max_queue_size is not None:
            max_queue_size = check_int(max_queue_size, "max_queue_size", min_val=1)
        if timeout_s is not None:
            timeout_s = check_real(
                timeout_s, "timeout_s", min_val=0, include_boundaries="neither", unit="seconds"
            )
        preferred = tuple(
            check_int(size, f"preferred_batch_sizes[{i}]", min_val=1, max_val=max_batch_size)
            for i, size in enumerate(preferred_batch_sizes)
        )
        max_concurrent_batches = check_int(
            max_concurrent_batches, "max_concurrent_batches", min_val=1
        )
        run_in_thread = check_bool(run_in_thread, "run_in_thread")
        self.handler = handler
        self.max_batch_size = max_batch_size
        self.max_queue_delay_s = max_queue_delay_s
        self.max_queue_size = max_queue_size
        self.timeout_s = timeout_s
        self.preferred_batch_sizes = tuple(sorted(set(preferred)))
        self.max_concurrent_batches = max_concurrent_batches
        self.run_in_thread = run_in_thread

        self._queue: deque[_Request] = deque()
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._scheduler: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._closing = False
        self._counts = Counter[str]()
        self._batch_sizes = Counter[int]()

    # -- public API ------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Requests waiting in the queue (not yet sent to the model)."""
        return len(self._queue)

    @property
    def stats(self) -> BatcherStats:
        """A snapshot of the counters."""
        c = self._counts
        return BatcherStats(
            submitted=c["submitted"],
            completed=c["completed"],
            rejected=c["rejected"],
            timed_out=c["timed_out"],
            failed=c["failed"],
            batch_sizes=tuple(sorted(self._batch_sizes.items())),
        )

    async def submit(self, item: T) -> R:
        """Queue ``item``, wait for its batch to run, and return its result.

        Raises
        ------
        QueueFullError
            ``max_queue_size`` requests are already waiting.
        RequestTimeoutError
            The request waited longer than ``timeout_s`` before a batch took it.
        BatcherClosedError
            The batcher is closing.
        """
        if self._closing:
            raise BatcherClosedError("the batcher is closed; create a new DynamicBatcher")
        if self.max_queue_size is not None and len(self._queue) >= self.max_queue_size:
            self._counts["rejected"] += 1
            raise QueueFullError(
                f"queue full: {len(self._queue)} requests waiting (max_queue_size="
                f"{self.max_queue_size}); retry later or add capacity"
            )
        loop = asyncio.get_running_loop()
        if self._scheduler is None:
            self._scheduler = loop.create_task(self._schedule())
        request = _Request(item, loop.create_future(), loop.time(), self.timeout_s)
        self._queue.append(request)
        self._counts["submitted"] += 1
        self._wake()
        try:
            return await request.future
        except asyncio.CancelledError:
            if request in self._queue:  # the caller gave up before a batch took it
                self._queue.remove(request)
                self._wake()
            raise

    async def close(self) -> None:
        """Stop accepting requests, send what waits without further delay, and wait for it."""
        self._closing = True
        self._wake()
        if self._scheduler is not None:
            await self._scheduler
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> DynamicBatcher[T, R]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- scheduling ------------------------------------------------------------------------

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _expire(self, now: float) -> None:
        # One timeout for every request, so deadlines are in arrival order: look at the front.
        while self._queue and self._queue[0].deadline <= now + _CLOCK_SLACK_S:
            request = self._queue.popleft()
            if not request.future.done():
                waited = now - request.enqueued_at
                request.future.set_exception(
                    RequestTimeoutError(
                        f"request waited {waited * 1e3:.1f} ms in the queue, longer than "
                        f"timeout_s={self.timeout_s} s, and was not served"
                    )
                )
                self._counts["timed_out"] += 1

    async def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            self._expire(now)
            if self._closing and not self._queue:
                return
            size, wait_s = 0, None
            if self._queue and self._running < self.max_concurrent_batches:
                waited = now - self._queue[0].enqueued_at
                if waited >= self.max_queue_delay_s - _CLOCK_SLACK_S:
                    waited = max(waited, self.max_queue_delay_s)
                size, wait_s = batch_decision(
                    len(self._queue),
                    waited,
                    max_batch_size=self.max_batch_size,
                    max_queue_delay_s=self.max_queue_delay_s,
                    preferred_batch_sizes=self.preferred_batch_sizes,
                    flush=self._closing,
                )
            if size:
                batch = [self._queue.popleft() for _ in range(size)]
                self._running += 1
                task = loop.create_task(self._execute(batch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                continue
            # Sleep until a request arrives, a batch finishes, the delay ends or a deadline passes.
            wake_at = (
                math.inf if wait_s is None else self._queue[0].enqueued_at + self.max_queue_delay_s
            )
            if self._queue:
                wake_at = min(wake_at, self._queue[0].deadline)
            self._waiter = loop.create_future()
            timer = None if math.isinf(wake_at) else loop.call_at(wake_at, self._wake)
            await self._waiter
            if timer is not None:
                timer.cancel()

    async def _execute(self, batch: list[_Request]) -> None:
        items = [request.item for request in batch]
        try:
            if self.run_in_thread and not inspect.iscoroutinefunction(self.handler):
                results = await asyncio.to_thread(self.handler, items)
            else:
                results = self.handler(items)
            if inspect.isawaitable(results):
                results = await results
            results = list(results)
            if len(results) != len(batch):
                raise ValueError(
                    f"handler returned {len(results)} results for a batch of {len(batch)} "
                    "inputs; it must return exactly one result per input, in order"
                )
        except Exception as err:
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(err)
            self._counts["failed"] += len(batch)
        else:
            for request, result in zip(batch, results, strict=True):
                if not request.future.done():
                    request.future.set_result(result)
            self._counts["completed"] += len(batch)
        finally:
            self._batch_sizes[len(batch)] += 1
            self._running -= 1
            self._wake()
