"""Concurrency, the HTTP endpoint and delaying proxy, the SQLite feature store, closed-loop load."""

import json
import urllib.error
import urllib.request

import numpy as np
import pytest

from labkit.inference.features import FeatureStore
from labkit.inference.io_overlap import compare_concurrency
from labkit.inference.network import DelayProxy, ModelServer, http_latency
from labkit.inference.serving import closed_loop, compare_batching, serve_batching
from labkit.inference.virtual_time import run_virtual


def test_concurrency_overlaps_io_waits():
    seq, aio, threads = compare_concurrency(range(10), lambda i: i, io_s=0.02, workers=10)
    assert (seq.mode, aio.mode, threads.mode) == ("sequential", "asyncio", "threads")
    assert seq.wall_s >= 10 * 2 * 0.02
    assert aio.wall_s < seq.wall_s / 3 and threads.wall_s < seq.wall_s / 3
    assert all(r.n == 10 and len(r.latency.times) == 10 for r in (seq, aio, threads))


def test_concurrency_works_inside_a_running_event_loop():
    import asyncio

    async def inside():
        return compare_concurrency(range(3), abs, io_s=0.0, workers=2)

    assert len(asyncio.run(inside())) == 3


def test_concurrency_argument_errors():
    with pytest.raises(ValueError, match="items is empty"):
        compare_concurrency([], abs)
    with pytest.raises(ValueError, match="workers must be"):
        compare_concurrency([1], abs, workers=0)


def _post(url, body):
    request = urllib.request.Request(
        url + "/predict", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_server_answers_and_reports_bad_requests_clearly():
    def predict(rows):
        if any(len(r) != 2 for r in rows):
            raise ValueError("each instance must have 2 features")
        return [a * b for a, b in rows]

    with ModelServer(predict) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert _post(server.url, b'{"instances": [[2, 3], [4, 5]]}') == (
            200,
            {"predictions": [6, 20]},
        )
        status, body = _post(server.url, b"not json")
        assert status == 400 and "instances" in body["error"]
        assert _post(server.url, b'{"instances": [[1]]}') == (
            400,
            {"error": "each instance must have 2 features"},
        )
        result = http_latency(server.url, {"instances": [[1, 2]]}, repeat=5)
        assert result.last_response == {"predictions": [2]}
        assert 0 <= result.server.median <= result.client.median
        with pytest.raises(RuntimeError, match="answered 400"):
            http_latency(server.url, {"instances": [[1]]}, repeat=1)
    with pytest.raises(RuntimeError, match="not running"):
        server.url  # noqa: B018


def test_delay_proxy_adds_the_round_trip():
    with ModelServer(lambda rows: rows) as server, DelayProxy(server.url, 0.015) as proxy:
        direct = http_latency(server.url, {"instances": [[1.0]]}, repeat=5)
        far = http_latency(proxy.url, {"instances": [[1.0]]}, repeat=5)
    assert far.last_response == {"predictions": [[1.0]]}
    assert far.client.median >= direct.client.median + 0.029  # two one-way delays of 15 ms
    assert far.server.median < 0.01  # the server's own time did not change
    with pytest.raises(ValueError, match="one_way_delay_s"):
        DelayProxy("http://127.0.0.1:1", -1)


def test_feature_store_lookups_agree_and_batching_uses_one_statement():
    store = FeatureStore(num_users=2000, num_features=8, seed=0)
    ids = np.random.default_rng(1).integers(0, 2000, size=50).tolist()
    assert "SCAN" in store.query_plan() and not store.indexed
    unindexed = store.get_each(ids)
    store.create_index()
    assert store.indexed and "USING INDEX" in store.query_plan()
    seen = []
    store.connection.set_trace_callback(seen.append)
    store.get(ids[0])
    assert len(seen) == 1 and "SELECT vec FROM features" in seen[0]
    store.connection.set_trace_callback(None)
    before = store.statements
    each = store.get_each(ids)
    assert store.statements - before == len(ids)  # N queries
    before = store.statements
    many = store.get_many(ids)
    assert store.statements - before == 1  # one query
    np.testing.assert_array_equal(each, unindexed)
    np.testing.assert_array_equal(many, each)
    before = store.statements
    store.get_many(range(1900))
    assert store.statements - before == 3  # chunks of 900 ids
    with pytest.raises(KeyError, match="user_id 5000"):
        store.get(5000)
    with pytest.raises(KeyError, match=r"\[2001\]"):
        store.get_many([1, 2001])
    store.close()


def test_feature_store_holds_the_generated_vectors():
    store = FeatureStore(num_users=10, num_features=3, seed=4)
    expected = np.random.default_rng(4).standard_normal((10, 3), dtype=np.float32)
    np.testing.assert_array_equal(store.get_many(range(10)), expected)


def test_closed_loop_counts_errors_and_keeps_going():
    async def submit(x):
        if x % 5 == 0:
            raise ValueError("bad")
        return x

    result = run_virtual(closed_loop(submit, lambda i: i, clients=4, requests_per_client=10))
    assert result.completed == 32 and dict(result.errors) == {"ValueError": 8}


def test_compare_batching_batches_and_answers_everything():
    one, batched = compare_batching(
        lambda xs: [2 * x for x in xs],
        lambda i: i,
        clients=16,
        requests_per_client=10,
        max_batch_size=16,
    )
    assert one.completed == batched.completed == 160 and not one.errors
    assert one.batch_stats.mean_batch_size == 1.0
    assert batched.batch_stats.mean_batch_size > 1.0
    assert set(batched.to_dict()) >= {"throughput_per_s", "p99_s", "mean_batch_size"}


def test_serve_batching_serves_one_configuration():
    sizes = []

    def handler(xs):
        sizes.append(len(xs))
        return [x + 1 for x in xs]

    r = serve_batching(
        handler,
        lambda i: i,
        max_batch_size=4,
        max_queue_delay_s=0.0,
        clients=8,
        requests_per_client=5,
    )
    assert r.completed == 40 and not r.errors and max(sizes) <= 4
    assert r.batch_stats.batches == len(sizes) and r.label.startswith("max_batch_size=4")


def test_serve_batching_rejects_a_bad_batch_size():
    with pytest.raises(ValueError, match="max_batch_size must be an integer >= 1, got 0"):
        serve_batching(lambda xs: xs, lambda i: i, max_batch_size=0, max_queue_delay_s=0.0)
