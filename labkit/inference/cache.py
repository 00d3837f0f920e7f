"""A result cache (LRU with optional TTL) and the skewed request streams that make it pay.

Real traffic is skewed: a few items (popular products, frequent queries, returning users) get
most requests, roughly following Zipf's law, P(rank k) ∝ 1/k^s. A small cache of recent results
then answers a large share of requests in microseconds instead of a model call. Least recently
used (LRU) eviction keeps the popular keys; a time to live (TTL) bounds how stale an answer can
be when the underlying data or model changes.

Examples are on :class:`LRUCache`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from labkit._validate import check_int, check_real
from labkit.inference.latency import LatencyReport, latency_summary

__all__ = ["CacheStats", "LRUCache", "serve_stream", "zipf_keys"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class CacheStats:
    """Lookups since creation: ``hits``, ``misses`` (expired entries included), capacity
    ``evictions``, TTL ``expirations`` and the current ``size``."""

    hits: int
    misses: int
    evictions: int
    expirations: int
    size: int

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "hit_rate": self.hit_rate}


class LRUCache(Generic[K, V]):
    """A thread-safe least-recently-used cache whose entries may expire.

    Parameters
    ----------
    maxsize
        Most entries kept; inserting beyond it evicts the least recently used one.
    ttl_s
        Seconds an entry stays valid after it was stored; ``None``: forever.
    clock
        Returns the current time in seconds (``time.monotonic``); inject a fake one in tests.

    Examples
    --------
    >>> now = [0.0]
    >>> cache = LRUCache(maxsize=2, ttl_s=10.0, clock=lambda: now[0])
    >>> cache.put("a", 1); cache.put("b", 2)
    >>> cache.get("a"), cache.get("c")
    (1, None)
    >>> cache.put("c", 3)            # evicts "b", the least recently used
    >>> "b" in cache
    False
    >>> now[0] = 11.0                # "a" and "c" are now older than the TTL
    >>> cache.get("a") is None, cache.stats.hit_rate
    (True, 0.3333333333333333)
    """

    def __init__(
        self,
        maxsize: int = 1024,
        *,
        ttl_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        maxsize = check_int(maxsize, "maxsize", min_val=1)
        if ttl_s is not None:
            ttl_s = check_real(
                ttl_s, "ttl_s", min_val=0, include_boundaries="neither", unit="seconds"
            )
        if not callable(clock):
            raise TypeError(f"clock must be callable, got {type(clock).__name__}")
        self.maxsize = maxsize
        self.ttl_s = ttl_s
        self.clock = clock
        self._data: OrderedDict[K, tuple[V, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = self._evictions = self._expirations = 0

    def _live(self, key: K, now: float) -> bool:
        """Whether ``key`` is stored and fresh; drops it (counting an expiration) if stale."""
        entry = self._data.get(key)
        if entry is None:
            return False
        if entry[1] <= now:
            del self._data[key]
            self._expirations += 1
            return False
        return True

    def get(self, key: K, default: V | None = None) -> V | None:
        """The cached value (marking it recently used), or ``default`` on a miss."""
        with self._lock:
            if self._live(key, self.clock()):
                self._data.move_to_end(key)
                self._hits += 1
                return self._data[key][0]
            self._misses += 1
            return default

    def put(self, key: K, value: V) -> None:
        """Store ``value`` under ``key`` (most recently used), evicting the LRU entry if full."""
        with self._lock:
            expires = math.inf if self.ttl_s is None else self.clock() + self.ttl_s
            if key in self._data:
                self._data.move_to_end(key)
            elif len(self._data) >= self.maxsize:
                self._data.popitem(last=False)
                self._evictions += 1
            self._data[key] = (value, expires)

    def get_or_compute(self, key: K, compute: Callable[[K], V]) -> V:
        """The cached value for ``key``, or ``compute(key)``, stored before it is returned."""
        sentinel: Any = _MISSING
        value = self.get(key, sentinel)
        if value is _MISSING:
            value = compute(key)
            self.put(key, value)
        return value  # type: ignore[return-value]

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return self._live(key, self.clock())  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        """Drop every entry (the counters are kept)."""
        with self._lock:
            self._data.clear()

    @property
    def stats(self) -> CacheStats:
        return CacheStats(self._hits, self._misses, self._evictions, self._expirations, len(self))


_MISSING = object()


def zipf_keys(n: int, num_keys: int, s: float = 1.1, seed: int | None = 0) -> np.ndarray:
    """``n`` keys in ``0 .. num_keys-1`` with P(key k) ∝ 1/(k+1)^s (a bounded Zipf law)."""
    n = check_int(n, "n", min_val=0)
    num_keys = check_int(num_keys, "num_keys", min_val=1)
    s = check_real(s, "s", min_val=0)
    weights = 1.0 / np.arange(1, num_keys + 1, dtype=np.float64) ** s
    return np.random.default_rng(seed).choice(num_keys, size=n, p=weights / weights.sum())


def serve_stream(
    keys: Iterable[K], compute: Callable[[K], V], cache: LRUCache[K, V] | None = None
) -> LatencyReport:
    """Serve each key in order (through ``cache`` when given) and time every request."""
    clock = time.perf_counter
    times = []
    for key in keys:
        start = clock()
        if cache is None:
            compute(key)
        else:
            cache.get_or_compute(key, compute)
        times.append(clock() - start)
    label = "no cache" if cache is None else f"LRU cache ({cache.maxsize} entries)"
    return latency_summary(times, label=label)
