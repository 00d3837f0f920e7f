import asyncio

import pytest

from labkit.inference.virtual_time import VirtualTimeEventLoop, run_virtual


def test_timers_fire_in_order_at_their_virtual_times():
    log = []

    async def sleeper(name, seconds):
        await asyncio.sleep(seconds)
        log.append((name, asyncio.get_running_loop().time()))

    async def main():
        await asyncio.gather(sleeper("b", 2.0), sleeper("a", 0.5), sleeper("c", 86_000.0))

    run_virtual(main(), start=10.0)
    assert log == [("a", 10.5), ("b", 12.0), ("c", 86_010.0)]


def test_wait_for_times_out_on_the_virtual_clock():
    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(10.0), timeout=1.5)
        return loop.time()

    assert run_virtual(main()) == pytest.approx(1.5)


def test_real_threads_still_complete():
    async def main():
        return await asyncio.to_thread(sum, range(10))

    assert run_virtual(main()) == 45


def test_clock_never_goes_back():
    loop = VirtualTimeEventLoop()
    try:
        with pytest.raises(ValueError, match="seconds must be >= 0"):
            loop.advance(-1.0)
    finally:
        loop.close()


def test_runs_from_inside_a_running_loop():
    async def outer():
        async def inner():
            await asyncio.sleep(5.0)
            return asyncio.get_running_loop().time()

        return run_virtual(inner())  # as a Jupyter cell would call it

    assert asyncio.run(outer()) == 5.0
