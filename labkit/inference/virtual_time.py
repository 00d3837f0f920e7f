"""An asyncio event loop that runs on a virtual clock, for deterministic tests of timing logic.

Code that waits with ``asyncio.sleep``, ``asyncio.wait_for`` or ``loop.call_later`` (a batcher's
queue delay, a request timeout, a cache's TTL) is hard to test on a real clock: timings jitter
and tests become slow. On :class:`VirtualTimeEventLoop` the clock only moves when every task is
waiting: the loop then jumps straight to the next scheduled timer. A schedule computed by hand
(request at 0 ms, batch sent at 5 ms, ...) can then be checked exactly, in no wall time.

Blocking on real I/O or on threads still works (the loop waits for them in real time without
moving the clock), but a test that mixes threads with virtual timers is not deterministic.

Examples
--------
>>> import asyncio
>>> async def nap():
...     loop = asyncio.get_running_loop()
...     start = loop.time()
...     await asyncio.sleep(3600.0)   # an hour, in no wall time
...     return loop.time() - start
>>> run_virtual(nap())
3600.0
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["VirtualTimeEventLoop", "run_virtual"]

T = TypeVar("T")


class _VirtualSelector(selectors.BaseSelector):
    """Delegates to a real selector; a wait with a finite timeout advances the virtual clock."""

    def __init__(self, loop: VirtualTimeEventLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:  # nothing scheduled: only real I/O or a thread can wake us
            return self._real.select(None)
        self._loop.advance(timeout)
        return []

    def close(self) -> None:
        self._real.close()

    def get_map(self) -> Any:
        return self._real.get_map()


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is virtual and jumps to the next timer when idle.

    Parameters
    ----------
    start
        The clock's initial reading, in seconds.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._virtual_now = float(start)
        super().__init__(selector=_VirtualSelector(self))
        self._clock_resolution = 1e-9

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (never backward)."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        self._virtual_now += seconds


def _run(coro: Coroutine[Any, Any, T], start: float) -> T:
    loop = VirtualTimeEventLoop(start=start)
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def run_virtual(coro: Coroutine[Any, Any, T], *, start: float = 0.0) -> T:
    """Run ``coro`` to completion on a fresh :class:`VirtualTimeEventLoop` and close it.

    Where this thread already runs an event loop (a Jupyter kernel does), the virtual loop runs
    in a helper thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run(coro, start)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="labkit-virtual-time") as pool:
        return pool.submit(_run, coro, start).result()
