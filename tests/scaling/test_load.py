"""The load generator against a tiny server that stalls on purpose: coordinated omission."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import numpy as np
import pytest

from labkit.scaling.load import (
    STATUS_ERROR,
    STATUS_TIMEOUT,
    load_table,
    run_closed_loop,
    run_open_loop,
)
from labkit.scaling.serverless import scale_to_zero
from labkit.scaling.traffic import constant_schedule


class StallingServer:
    """Answers one request at a time in ~1 ms, except that it freezes for ``stall_s`` once,
    ``stall_at_s`` after the first request — a GC pause, a noisy neighbour."""

    def __init__(self, stall_at_s: float = 1.0, stall_s: float = 0.5, mute: bool = False):
        self.stall_at_s, self.stall_s, self.mute = stall_at_s, stall_s, mute
        self.port = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self):
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        lock = asyncio.Lock()
        first = None

        async def handle(reader, writer):
            nonlocal first
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    if not head:
                        return
                    if self.mute:
                        await asyncio.sleep(30)
                    async with lock:  # a single-threaded server: one request at a time
                        now = time.monotonic()
                        first = first or now
                        stall_start = first + self.stall_at_s
                        if stall_start <= now < stall_start + self.stall_s:
                            await asyncio.sleep(stall_start + self.stall_s - now)
                        await asyncio.sleep(0.001)
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                return

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    def __enter__(self):
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def test_open_loop_sees_the_stall_closed_loop_hides_it():
    users = np.arange(100)
    with StallingServer(stall_at_s=1.0, stall_s=0.5) as srv:
        url = f"http://127.0.0.1:{srv.port}"
        open_r = run_open_loop(url, constant_schedule(100.0, 2.5), user_ids=users, label="open")
    with StallingServer(stall_at_s=1.0, stall_s=0.5) as srv:
        url = f"http://127.0.0.1:{srv.port}"
        closed_r = run_closed_loop(
            url, user_ids=users, concurrency=1, duration_s=2.5, label="closed"
        )
    assert open_r.ok.all() and closed_r.ok.all()
    # open loop: the ~50 requests scheduled during the 0.5 s stall all waited for it
    stalled = (open_r.latency_s > 0.1).sum()
    assert 30 <= stalled <= 70, stalled
    assert open_r.p99 > 0.3
    # closed loop: one request saw the stall; the percentiles look perfect
    assert (closed_r.latency_s > 0.1).sum() == 1
    assert closed_r.p99 < 0.05 and closed_r.latency_s.max() > 0.4
    assert open_r.send_lag_p99 < 0.05  # the generator itself kept to the schedule
    table = load_table([open_r, closed_r])
    assert "open" in table and "closed" in table


def test_timeouts_and_refused_connections_are_counted():
    with StallingServer(mute=True) as srv:
        start = time.monotonic()
        r = run_open_loop(
            f"http://127.0.0.1:{srv.port}",
            constant_schedule(20.0, 0.5),
            user_ids=[1],
            timeout_s=0.3,
        )
        assert time.monotonic() - start < 5  # bounded even when the server never answers
    assert (r.status == STATUS_TIMEOUT).all() and r.n == 10
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run_closed_loop(
        f"http://127.0.0.1:{port}", user_ids=[1], concurrency=2, duration_s=0.3, max_requests=20
    )
    assert r.n <= 20 and (r.status == STATUS_ERROR).all()


def test_input_validation():
    with pytest.raises(ValueError, match="url"):
        run_open_loop("localhost:80", constant_schedule(1, 1), user_ids=[1])
    with pytest.raises(ValueError, match="sorted"):
        run_open_loop("http://127.0.0.1:1", np.array([1.0, 0.5]), user_ids=[1])
    with pytest.raises(ValueError, match="concurrency"):
        run_closed_loop("http://127.0.0.1:1", user_ids=[1], concurrency=0)
    with pytest.raises(TypeError, match=r"concurrency must be an integer >= 1, got True"):
        run_closed_loop("http://127.0.0.1:1", user_ids=[1], concurrency=True)
    with pytest.raises(ValueError, match="timeout_s must be a finite real number > 0, got 0"):
        run_open_loop("http://127.0.0.1:1", constant_schedule(1, 1), user_ids=[1], timeout_s=0)
    with pytest.raises(ValueError, match="max_connections"):
        run_open_loop(
            "http://127.0.0.1:1", constant_schedule(1, 1), user_ids=[1], max_connections=0
        )


def test_scale_to_zero_tradeoff():
    rng = np.random.default_rng(0)
    busy = np.sort(rng.uniform(0, 3600, 3600))  # one request a second for an hour
    quiet = np.sort(rng.uniform(3600, 7200, 6))  # then six in the next hour
    r = scale_to_zero(np.concatenate([busy, quiet]), idle_timeout_s=60.0, cold_start_s=3.0)
    assert r.cold_starts <= 1 + 6
    assert r.saving > 0.3  # most of the quiet hour is not paid for
    assert r.delayed_requests >= r.cold_starts
    never = scale_to_zero(busy, idle_timeout_s=1e9, cold_start_s=3.0)
    assert never.cold_starts == 1
