from collections import OrderedDict

import numpy as np
import pytest
from scipy import stats

from labkit.inference.cache import LRUCache, serve_stream, zipf_keys


def reference_hits(keys, maxsize):
    """A separate LRU written with OrderedDict: True for each hit."""
    store, hits = OrderedDict(), []
    for key in keys:
        if key in store:
            store.move_to_end(key)
            hits.append(True)
        else:
            hits.append(False)
            store[key] = True
            if len(store) > maxsize:
                store.popitem(last=False)
    return hits


@pytest.mark.parametrize("maxsize", [1, 7, 50])
def test_lru_matches_an_independent_reference_on_a_zipf_stream(maxsize):
    keys = zipf_keys(3000, num_keys=200, s=1.1, seed=maxsize).tolist()
    cache = LRUCache(maxsize)
    got = []
    for key in keys:
        hit = cache.get(key) is not None
        got.append(hit)
        if not hit:
            cache.put(key, key + 1)
    assert got == reference_hits(keys, maxsize)
    assert cache.stats.hits == sum(got) and len(cache) == min(maxsize, len(set(keys)))
    assert cache.stats.evictions == len(keys) - sum(got) - len(cache)


def test_ttl_expires_entries_on_a_fake_clock():
    now = [100.0]
    cache = LRUCache(4, ttl_s=5.0, clock=lambda: now[0])
    cache.put("a", 1)
    now[0] = 104.999
    assert cache.get("a") == 1
    now[0] = 105.0
    assert cache.get("a") is None and "a" not in cache
    assert cache.stats.expirations == 1
    cache.put("a", 2)  # a fresh value gets a fresh TTL
    now[0] = 109.0
    assert cache.get("a") == 2


def test_get_or_compute_calls_once_per_miss():
    calls = []
    cache = LRUCache(8)
    for key in [1, 2, 1, 1, 3, 2]:
        assert cache.get_or_compute(key, lambda k: calls.append(k) or k * k) == key * key
    assert calls == [1, 2, 3]
    assert cache.stats.hit_rate == pytest.approx(3 / 6)


def test_zipf_keys_follow_the_law():
    keys = zipf_keys(200_000, num_keys=20, s=1.2, seed=0)
    counts = np.bincount(keys, minlength=20)
    p = 1 / np.arange(1, 21) ** 1.2
    p /= p.sum()
    assert stats.chisquare(counts, p * len(keys)).pvalue > 1e-3


def test_serve_stream_times_every_request_and_cache_helps():
    keys = zipf_keys(2000, num_keys=50, seed=1)
    slow = lambda k: sum(range(2000))  # noqa: E731
    cached = serve_stream(keys, slow, LRUCache(50))
    plain = serve_stream(keys, slow)
    assert len(cached.times) == len(plain.times) == 2000
    assert cached.p50 < plain.p50


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"maxsize": 0}, "maxsize must be"),
        ({"ttl_s": 0}, "ttl_s must be"),
        ({"clock": 3}, "clock must be callable"),
    ],
)
def test_cache_argument_errors(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        LRUCache(**kwargs)
