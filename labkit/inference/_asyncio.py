"""Run a coroutine to completion from synchronous code, inside Jupyter too.

``asyncio.run`` refuses to start while an event loop runs in the thread, which is always the
case in a Jupyter kernel. There the coroutine runs on a fresh loop in a helper thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, in a helper thread when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="labkit-asyncio") as pool:
        return pool.submit(asyncio.run, coro).result()
