"""The dynamic batching rule, NVIDIA Triton's, as a pure function of the queue and the clock.

A model answers a batch of 32 inputs in far less than 32 times the time of one, so a server that
groups requests that arrive close together serves more of them per second. The price is a
little waiting. Triton's dynamic batcher fixes the rule
(``docs/user_guide/model_configuration.md`` and ``batcher.md`` in
``triton-inference-server/server``; summarized in ``docs/reference.md``, "Latency and serving"):

* a batch is sent as soon as ``max_batch_size`` requests wait, or as soon as a
  ``preferred_batch_sizes`` entry can be formed (the largest such size is sent);
* otherwise the waiting requests are held while the **oldest** of them has waited less than
  ``max_queue_delay_s``; once it has, everything waiting (up to the maximum) is sent. A delay of
  0 (Triton's default) sends at once whatever has accumulated, which still batches the requests
  that arrived while the model was busy.

:func:`batch_decision` is that rule and nothing else: no clock, no event loop, so it is tested
exactly. :class:`~labkit.inference.batcher.DynamicBatcher` applies it on asyncio's clock, with
the queue bound, per-request timeouts and concurrent batches.

Examples
--------
>>> batch_decision(3, 0.002, max_batch_size=8, max_queue_delay_s=0.005)  # hold 3 ms more
(0, 0.003)
>>> batch_decision(3, 0.005, max_batch_size=8, max_queue_delay_s=0.005)  # the delay is over
(3, None)
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["batch_decision"]


def batch_decision(
    n_waiting: int,
    oldest_wait_s: float,
    *,
    max_batch_size: int,
    max_queue_delay_s: float,
    preferred_batch_sizes: Iterable[int] = (),
    flush: bool = False,
) -> tuple[int, float | None]:
    """Triton's batching rule: how many waiting requests to send now, or how long to hold them.

    Parameters
    ----------
    n_waiting
        Requests in the queue, in arrival order.
    oldest_wait_s
        How long the oldest of them has waited, in seconds.
    max_batch_size, max_queue_delay_s, preferred_batch_sizes
        As in :class:`~labkit.inference.batcher.DynamicBatcher`.
    flush
        Send whatever waits without holding it (used when the batcher closes).

    Returns
    -------
    tuple
        ``(size, None)`` with ``size >= 1``: send the ``size`` oldest requests now.
        ``(0, wait_s)``: send nothing; decide again after ``wait_s`` seconds at the latest (or
        when a request arrives). ``(0, None)``: the queue is empty.

    Examples
    --------
    >>> batch_decision(3, 0.002, max_batch_size=8, max_queue_delay_s=0.005)
    (0, 0.003)
    >>> batch_decision(3, 0.005, max_batch_size=8, max_queue_delay_s=0.005)
    (3, None)
    >>> batch_decision(11, 0.0, max_batch_size=8, max_queue_delay_s=0.005)
    (8, None)
    >>> batch_decision(5, 0.0, max_batch_size=8, max_queue_delay_s=0.005, preferred_batch_sizes=(2, 4))
    (4, None)
    """
    if n_waiting <= 0:
        return 0, None
    if n_waiting >= max_batch_size:
        return max_batch_size, None
    if flush:
        return n_waiting, None
    formable = [p for p in preferred_batch_sizes if p <= n_waiting]
    if formable:
        return max(formable), None
    if oldest_wait_s >= max_queue_delay_s:
        return n_waiting, None
    return 0, max_queue_delay_s - oldest_wait_s
