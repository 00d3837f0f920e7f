"""DynamicBatcher against hand-computed schedules on a virtual clock, and against an independent
discrete-event simulation of Triton's rules on random arrival patterns."""

import asyncio
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.inference.batcher import (
    BatcherClosedError,
    DynamicBatcher,
    QueueFullError,
    RequestTimeoutError,
)
from labkit.inference.batching import batch_decision
from labkit.inference.virtual_time import run_virtual

MS = 1e-3


class Recorder:
    """An async handler that takes ``service_s`` of (virtual) time and logs each batch."""

    def __init__(self, service_s=0.0, fail_on=()):
        self.service_s = service_s
        self.fail_on = set(fail_on)
        self.batches = []  # (dispatch time, items)

    async def __call__(self, items):
        loop = asyncio.get_running_loop()
        self.batches.append((round(loop.time() / MS, 6), list(items)))
        if self.service_s:
            await asyncio.sleep(self.service_s)
        if self.fail_on & set(items):
            raise RuntimeError(f"model failed on {sorted(self.fail_on & set(items))}")
        return [item * 10 for item in items]


async def _send_at(batcher, arrivals_ms):
    """Submit request i at arrivals_ms[i] (in index order when times tie); return each
    request's result or exception."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()

    async def capture(i):
        try:
            return await batcher.submit(i)
        except Exception as err:
            return err

    tasks = []
    for i, at_ms in enumerate(arrivals_ms):
        wait = t0 + at_ms * MS - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.ensure_future(capture(i)))
    results = await asyncio.gather(*tasks)
    await batcher.close()
    return results


def _run(handler, arrivals_ms, **kwargs):
    batcher = DynamicBatcher(handler, run_in_thread=False, **kwargs)
    results = run_virtual(_send_at(batcher, arrivals_ms))
    return results, batcher


# --- the rule itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "oldest_ms", "kwargs", "expected"),
    [
        (0, 0.0, {}, (0, None)),
        (3, 2.0, {}, (0, 3.0)),  # hold: the oldest has waited 2 of 5 ms
        (3, 5.0, {}, (3, None)),  # delay reached: send all that wait
        (8, 0.0, {}, (8, None)),  # max reached: send at once
        (20, 0.0, {}, (8, None)),  # never more than the max
        (5, 0.0, {"preferred_batch_sizes": (2, 4)}, (4, None)),  # largest preferred that fits
        (1, 0.0, {"preferred_batch_sizes": (2, 4)}, (0, 5.0)),
        (3, 0.0, {"flush": True}, (3, None)),
    ],
)
def test_batch_decision_table(n, oldest_ms, kwargs, expected):
    size, wait = batch_decision(
        n, oldest_ms * MS, max_batch_size=8, max_queue_delay_s=5 * MS, **kwargs
    )
    assert size == expected[0]
    if expected[1] is None:
        assert wait is None
    else:
        assert wait == pytest.approx(expected[1] * MS)


def test_zero_delay_sends_whatever_waits():
    assert batch_decision(3, 0.0, max_batch_size=8, max_queue_delay_s=0.0) == (3, None)


# --- hand-computed schedules on the virtual clock ---------------------------------------------


def test_requests_wait_for_the_oldest_ones_delay():
    handler = Recorder()
    results, _ = _run(handler, [0, 1, 2], max_batch_size=8, max_queue_delay_s=5 * MS)
    assert handler.batches == [(5.0, [0, 1, 2])]
    assert results == [0, 10, 20]


def test_delay_counts_from_the_oldest_waiting_request():
    # 0 and 4 leave at 5 ms (0's deadline); 8 then waits alone until 13 ms.
    handler = Recorder()
    _run(handler, [0, 4, 8], max_batch_size=8, max_queue_delay_s=5 * MS)
    assert handler.batches == [(5.0, [0, 1]), (13.0, [2])]


def test_full_batch_leaves_at_once_and_the_rest_queue_behind_the_busy_model():
    # 10 requests at t=0, max 4, service 10 ms, delay 100 ms:
    # [0-3] at 0; model busy until 10 → [4-7] at 10 (full); [8, 9] wait for the 100 ms delay.
    handler = Recorder(service_s=10 * MS)
    results, batcher = _run(handler, [0] * 10, max_batch_size=4, max_queue_delay_s=100 * MS)
    assert handler.batches == [(0.0, [0, 1, 2, 3]), (10.0, [4, 5, 6, 7]), (100.0, [8, 9])]
    assert results == [10 * i for i in range(10)]
    assert batcher.stats.batch_sizes == ((2, 1), (4, 2))
    assert batcher.stats.mean_batch_size == pytest.approx(10 / 3)


def test_requests_arriving_while_busy_leave_together_when_the_model_frees():
    # Delay 0 (Triton's default): 0 goes alone; 1..3 arrive during its 10 ms and leave together.
    handler = Recorder(service_s=10 * MS)
    _run(handler, [0, 2, 4, 6], max_batch_size=8, max_queue_delay_s=0.0)
    assert handler.batches == [(0.0, [0]), (10.0, [1, 2, 3])]


def test_preferred_batch_size_is_sent_without_waiting():
    handler = Recorder()
    _run(
        handler, [0, 1, 2], max_batch_size=8, max_queue_delay_s=50 * MS, preferred_batch_sizes=(2,)
    )
    assert handler.batches == [(1.0, [0, 1]), (52.0, [2])]


def test_two_instances_run_two_batches_at_once():
    handler = Recorder(service_s=10 * MS)
    _run(handler, [0, 0, 0], max_batch_size=1, max_concurrent_batches=2)
    assert handler.batches == [(0.0, [0]), (0.0, [1]), (10.0, [2])]


# --- bad input and failures: clear errors, the batcher keeps serving --------------------------


def test_full_queue_rejects_and_the_others_are_served():
    handler = Recorder(service_s=10 * MS)
    # 0 runs alone from t=0; 1, 2 fill the queue (size 2); 3 is rejected; 4 arrives after the
    # first batch left the queue and is served.
    results, batcher = _run(
        handler, [0, 1, 2, 3, 11], max_batch_size=2, max_queue_delay_s=0.0, max_queue_size=2
    )
    assert isinstance(results[3], QueueFullError)
    assert "max_queue_size=2" in str(results[3])
    assert [r for i, r in enumerate(results) if i != 3] == [0, 10, 20, 40]
    assert batcher.stats.rejected == 1 and batcher.stats.completed == 4


def test_timeout_rejects_a_request_stuck_behind_a_busy_model():
    handler = Recorder(service_s=100 * MS)
    results, batcher = _run(handler, [0, 1], max_batch_size=1, timeout_s=20 * MS)
    assert results[0] == 0
    assert isinstance(results[1], RequestTimeoutError)
    assert "timeout_s=0.02" in str(results[1])
    assert handler.batches == [(0.0, [0])]
    assert batcher.stats.timed_out == 1


def test_timeout_fires_at_its_deadline_and_the_batcher_keeps_serving():
    # Alone, request 0 would wait the 1 s delay: it times out at 20 ms. Requests 1 and 2 arrive
    # at 30 and 35 ms, fill a batch of 2 and are served at once.
    handler = Recorder()
    results, batcher = _run(
        handler, [0, 30, 35], max_batch_size=2, max_queue_delay_s=1.0, timeout_s=20 * MS
    )
    assert isinstance(results[0], RequestTimeoutError)
    assert "waited 20.0 ms" in str(results[0])
    assert results[1:] == [10, 20]
    assert handler.batches == [(35.0, [1, 2])]
    assert batcher.stats.timed_out == 1


def test_handler_failure_fails_only_its_batch():
    handler = Recorder(fail_on={1})
    results, batcher = _run(handler, [0, 0, 10, 10], max_batch_size=2, max_queue_delay_s=0.0)
    assert isinstance(results[0], RuntimeError) and isinstance(results[1], RuntimeError)
    assert results[2:] == [20, 30]
    assert batcher.stats.failed == 2 and batcher.stats.completed == 2


def test_handler_returning_the_wrong_number_of_results_is_an_error():
    results, _ = _run(lambda items: items[:1], [0, 0], max_batch_size=2)
    assert all(isinstance(r, ValueError) for r in results)
    assert "returned 1 results for a batch of 2" in str(results[0])


def test_close_flushes_pending_requests_and_refuses_new_ones():
    handler = Recorder()

    async def main():
        batcher = DynamicBatcher(handler, max_queue_delay_s=10.0, run_in_thread=False)
        task = asyncio.ensure_future(batcher.submit(7))
        await asyncio.sleep(0)
        await batcher.close()  # does not wait the 10 s delay
        with pytest.raises(BatcherClosedError):
            await batcher.submit(8)
        return await task, asyncio.get_running_loop().time()

    assert run_virtual(main()) == (70, 0.0)


def test_cancelled_request_leaves_the_queue():
    handler = Recorder()

    async def main():
        batcher = DynamicBatcher(handler, max_queue_delay_s=0.01, run_in_thread=False)
        doomed = asyncio.ensure_future(batcher.submit(1))
        kept = asyncio.ensure_future(batcher.submit(2))
        await asyncio.sleep(0)
        doomed.cancel()
        result = await kept
        await batcher.close()
        return result

    assert run_virtual(main()) == 20
    assert handler.batches == [(10.0, [2])]


def test_sync_handler_in_a_thread_on_a_real_loop():
    async def main():
        async with DynamicBatcher(
            lambda xs: [x + 1 for x in xs], max_batch_size=16, max_queue_delay_s=0.005
        ) as batcher:
            return await asyncio.gather(*(batcher.submit(i) for i in range(40)))

    assert asyncio.run(main()) == list(range(1, 41))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_batch_size": 0}, "max_batch_size must be an integer >= 1, got 0"),
        ({"max_queue_delay_s": -1}, "max_queue_delay_s must be a finite real number of seconds"),
        ({"max_queue_delay_s": math.inf}, "max_queue_delay_s must be a finite real number"),
        ({"max_queue_size": 0}, "max_queue_size must be an integer >= 1"),
        ({"timeout_s": 0}, "timeout_s must be a finite real number of seconds > 0"),
        ({"preferred_batch_sizes": (9,)}, "preferred_batch_sizes[0] must be an integer in [1, 8]"),
        ({"max_batch_size": True}, "max_batch_size must be an integer >= 1, got True (bool)"),
        ({"run_in_thread": 1}, "run_in_thread must be True or False, got 1 (int)"),
        ({"max_concurrent_batches": 0}, "max_concurrent_batches must be an integer >= 1"),
    ],
)
def test_constructor_names_the_bad_argument(kwargs, message):
    with pytest.raises(ValueError) as info:
        DynamicBatcher(lambda xs: xs, **kwargs)
    assert message in str(info.value)


def test_numpy_scalars_are_accepted_and_bool_is_a_type_error():
    batcher = DynamicBatcher(
        lambda xs: xs,
        max_batch_size=np.int64(4),
        max_queue_delay_s=np.float32(0.5),
        max_queue_size=np.int32(8),
        preferred_batch_sizes=(np.int64(2),),
    )
    assert (batcher.max_batch_size, batcher.max_queue_size) == (4, 8)
    assert type(batcher.max_batch_size) is int and batcher.max_queue_delay_s == 0.5
    with pytest.raises(TypeError):
        DynamicBatcher(lambda xs: xs, max_batch_size=True)


def test_handler_must_be_callable():
    with pytest.raises(TypeError, match="handler must be callable"):
        DynamicBatcher(42)


# --- an independent simulation of the rules on random arrivals --------------------------------


def reference_schedule(arrivals, max_batch_size, delay, service):
    """Event-driven simulation written from Triton's documented rules (one model instance).

    Returns [(dispatch time, [request ids])]. Arrivals must be sorted.
    """
    batches, queue, free_at, i, n = [], [], 0.0, 0, len(arrivals)
    while i < n or queue:
        if not queue:
            queue.append(i)
            i += 1
        now = max(free_at, arrivals[queue[0]])
        # everything that has arrived by `now` joins the queue
        while i < n and arrivals[i] <= now:
            queue.append(i)
            i += 1
        if len(queue) < max_batch_size:
            # hold until the oldest's delay ends, or until arrivals fill the batch first
            deadline = max(now, arrivals[queue[0]] + delay)
            while i < n and len(queue) < max_batch_size and arrivals[i] <= deadline:
                queue.append(i)
                i += 1
            if len(queue) >= max_batch_size:
                now = max(now, arrivals[queue[max_batch_size - 1]])
            else:
                now = deadline
        batch, queue = queue[:max_batch_size], queue[max_batch_size:]
        batches.append((now, batch))
        free_at = now + service
    return batches


def test_reference_simulation_matches_the_hand_computed_cases():
    assert reference_schedule([0, 4, 8], 8, 5, 0) == [(5, [0, 1]), (13, [2])]
    assert reference_schedule([0] * 10, 4, 100, 10) == [
        (0, [0, 1, 2, 3]),
        (10, [4, 5, 6, 7]),
        (100, [8, 9]),
    ]


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=25),
    max_batch_size=st.integers(min_value=1, max_value=6),
    delay=st.integers(min_value=0, max_value=15),
    service=st.integers(min_value=0, max_value=10),
)
def test_batcher_follows_the_reference_simulation(gaps, max_batch_size, delay, service):
    # Arrivals on whole milliseconds, delays on half milliseconds and service times on an odd
    # fraction, so no two events ever fall on the same instant (their order would be arbitrary).
    arrivals = [sum(gaps[: k + 1]) for k in range(len(gaps))]
    delay_ms, service_ms = delay + 0.5, service + 0.3141
    handler = Recorder(service_s=service_ms * MS)
    results, _ = _run(
        handler, arrivals, max_batch_size=max_batch_size, max_queue_delay_s=delay_ms * MS
    )
    assert results == [10 * i for i in range(len(arrivals))]
    got = [(round(t, 4), items) for t, items in handler.batches]
    want = [
        (round(t, 4), ids)
        for t, ids in reference_schedule(arrivals, max_batch_size, delay_ms, service_ms)
    ]
    assert got == want
