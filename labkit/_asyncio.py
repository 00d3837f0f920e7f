"""Run a coroutine to completion from synchronous code, inside Jupyter too.

``asyncio.run`` refuses to start while an event loop runs in the thread, which is always the
case in a Jupyter kernel. There the coroutine runs on a fresh loop in a helper thread. Lab 02's
batching experiments and lab 04's load generator both call it, so it lives in the core.

Examples
--------
>>> import asyncio
>>> async def answer():
...     await asyncio.sleep(0)
...     return 42
>>> run_coroutine(answer())
42
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["run_coroutine"]

T = TypeVar("T")


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, in a helper thread when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="labkit-asyncio") as pool:
        return pool.submit(asyncio.run, coro).result()
