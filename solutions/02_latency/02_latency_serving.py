# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 02b — Inference latency, the serving side
#
# `02_latency_model.ipynb` measured and cut the model's own cost. A request also waits for a
# model to be loaded, for a batch to form, for a queue, a database and the network. This notebook
# measures each on your machine, makes you tune the batcher to a latency objective from your own
# measurements, and ends with the interview answer, which draws on both notebooks.
#
# | section | you measure | you write |
# |---|---|---|
# | 1 loading | a model loaded per request vs once per process | |
# | 2 batching | the latency–throughput curve, a dynamic batcher under 64 clients | Triton's batching rule |
# | 3 tuning to an SLO | p99 and throughput over a grid of batcher settings | the choice of `max_batch_size` and `max_queue_delay_s` |
# | 4 not computing at all | a result cache on skewed traffic | an LRU cache with a TTL |
# | 5 around the model | I/O concurrency, database lookups, the network round trip | one batched SQL query |

# %%
import json
import os
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from labkit.device import environment_report, resolve
from labkit.inference import (
    LAB_MODEL,
    DelayProxy,
    FeatureStore,
    ModelServer,
    OrtSession,
    batch_size_sweep,
    best_under_slo,
    compare_batching,
    compare_concurrency,
    export_onnx,
    http_latency,
    knee,
    make_dataset,
    make_mlp,
    measure_latency,
    measure_loading,
    plot_batch_sweep,
    plot_latency_cdf,
    postprocess,
    preprocess,
    quantize_int8,
    save_weights,
    serve_batching,
    serve_stream,
    torch_loader,
    train_classifier,
    zipf_keys,
)
from labkit.inference import LRUCache as LabkitLRUCache
from labkit.timing import format_seconds

GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
device = resolve()
torch.set_num_threads(1)  # one intra-op thread, as in the model notebook (section 1 there)
for name, value in environment_report().rows()[:8]:
    print(f"{name:<24} {value}")

S = {
    "n_train": 8_000 if GRADING else 20_000,
    "n_test": 2_000 if GRADING else 4_000,
    "epochs": 2 if GRADING else 4,
    "repeat": 100 if GRADING else 300,
    "requests_per_client": 10 if GRADING else 40,
    "grid_requests_per_client": 20 if GRADING else 30,
    "stream": 3_000 if GRADING else 20_000,
    "users": 50_000 if GRADING else 200_000,
    "http_repeat": 10 if GRADING else 30,
}
SLO_S = 0.050  # the service's latency objective in section 2: p99 ≤ 50 ms
workdir = Path(tempfile.mkdtemp(prefix="lab02_"))
results = {"device": str(device), "sizes": S, "slo_s": SLO_S}

# The model notebook's model (same data, seed and training), exported to ONNX and quantized to
# int8 with ONNX Runtime: the variant you would deploy after that notebook's section 4.
data = make_dataset(n_train=S["n_train"], n_test=S["n_test"], seed=0)
model = train_classifier(
    make_mlp(**LAB_MODEL, seed=0), data, num_epochs=S["epochs"], device=device, progress=True
).model
onnx_path = export_onnx(model, data.x_test[:1], workdir / "model_fp32.onnx")
int8_path = quantize_int8(onnx_path, workdir / "model_int8.onnx", per_channel=True)
fp32 = OrtSession(onnx_path, device="cpu")
int8 = OrtSession(int8_path, device="cpu")
x_test_np = data.x_test.numpy()

# %% [markdown]
# ## 1. Model loading: once per process, not once per request
#
# A handler that loads its model inside the request (a cold serverless function, a script called
# per request, a "stateless" handler written naively) pays disk reads, allocation and
# initialization every time.

# %%
weights = save_weights(model, workdir / "model.pt")
load_torch = torch_loader(weights, lambda: make_mlp(**LAB_MODEL))
loading = measure_loading(load_torch, data.x_test[:1], repeat=10 if GRADING else 20)
print("torch:", loading)
results["loading_slowdown_torch"] = loading.slowdown

# %% [markdown]
# ## 2. Batching
#
# One call on a batch of 64 costs far less than 64 calls: the weights are read once, the
# per-call overhead is paid once, and the matrix multiply runs at a better arithmetic intensity.
# Throughput rises with the batch size until the hardware is busy (the *knee*); past it a bigger
# batch only makes every request wait longer.

# %%
sweeps = {
    name: batch_size_sweep(
        session.run,
        lambda b: x_test_np[np.arange(b) % len(x_test_np)],
        batch_sizes=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        repeat=10 if GRADING else 30,
    )
    for name, session in (("fp32", fp32), ("int8", int8))
}
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
for ax, (name, sweep) in zip(axes, sweeps.items(), strict=True):
    plot_batch_sweep(sweep, ax=ax)
    ax.set_title(f"ONNX Runtime {name}: throughput and latency per call")
plt.show()
per_item_gain = {}
for name, sweep in sweeps.items():
    best = best_under_slo(sweep, SLO_S)
    by_size = {p.batch_size: p for p in sweep}
    per_item_gain[name] = by_size[1].per_item_s / by_size[64].per_item_s
    print(
        f"{name}: knee at batch {knee(sweep).batch_size}; highest throughput with a call under the "
        f"SLO: batch {best.batch_size} ({best.throughput_per_s:,.0f} items/s); cost per item "
        f"{format_seconds(by_size[1].per_item_s)} at batch 1, "
        f"{format_seconds(by_size[64].per_item_s)} at batch 64"
    )
results["sweep"] = {name: [p.to_dict() for p in sweep] for name, sweep in sweeps.items()}
results["per_item_gain_batch64"] = per_item_gain

# %% [markdown]
# A server does not receive batches; it receives single requests at random times. A *dynamic
# batcher* (NVIDIA Triton's, `@serve.batch` in Ray Serve) groups them: a batch leaves as soon as
# `max_batch_size` requests wait; otherwise the waiting requests are held while the **oldest**
# has waited less than `max_queue_delay_s`, then everything waiting leaves. With one model
# instance, a new batch forms only when the model is free, so requests that arrive while it is
# busy queue up and leave together.
#
# **Exercise 1 (3 points).** Write `batch_schedule(arrivals, max_batch_size, max_queue_delay_s,
# service_s)`: requests arrive at the sorted times `arrivals` (seconds); the model takes
# `service_s` per batch whatever its size and runs one batch at a time. Return the batches in
# order as a list of `(dispatch_time, [request indices])`.
#
# For example, with `max_batch_size=8`, a delay of 5 ms and arrivals at 0, 4 and 8 ms: requests
# 0 and 1 leave at 5 ms (request 0's delay is up), then request 2 waits alone until 13 ms.
# Requests that arrive while the model is busy wait for it; when it frees up the rule applies
# again to everything waiting (a full batch leaves at once, else the oldest's delay decides).
# The hidden test compares with labkit's `DynamicBatcher` on a virtual clock on 40 random
# schedules (up to 30 requests, batch sizes 1–6), chosen so that no request arrives at the very
# instant a delay runs out or the model frees up.


# %% nbgrader={"grade": false, "grade_id": "02_latency_batch_rule", "locked": false, "schema_version": 3, "solution": true, "task": false}
def batch_schedule(arrivals, max_batch_size, max_queue_delay_s, service_s):
    """[(dispatch time, [request indices])] under Triton's dynamic batching rules."""
    ### BEGIN SOLUTION
    batches, queue, free_at, i, n = [], [], 0.0, 0, len(arrivals)
    while i < n or queue:
        if not queue:
            queue.append(i)
            i += 1
        now = max(free_at, arrivals[queue[0]])
        while i < n and arrivals[i] <= now:
            queue.append(i)
            i += 1
        if len(queue) < max_batch_size:
            deadline = max(now, arrivals[queue[0]] + max_queue_delay_s)
            while i < n and len(queue) < max_batch_size and arrivals[i] <= deadline:
                queue.append(i)
                i += 1
            if len(queue) >= max_batch_size:
                now = max(now, arrivals[queue[max_batch_size - 1]])
            else:
                now = deadline
        batch, queue = queue[:max_batch_size], queue[max_batch_size:]
        batches.append((now, batch))
        free_at = now + service_s
    return batches
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "02_latency_batch_rule_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def close(schedule, expected):
    return len(schedule) == len(expected) and all(
        abs(t - et) < 1e-9 and list(ids) == eids
        for (t, ids), (et, eids) in zip(schedule, expected, strict=True)
    )


assert close(batch_schedule([0.0, 0.004, 0.008], 8, 0.005, 0.0), [(0.005, [0, 1]), (0.013, [2])])
# ten at once, four per batch, 10 ms per batch, 100 ms delay: two full batches, then a wait
assert close(
    batch_schedule([0.0] * 10, 4, 0.1, 0.01),
    [(0.0, [0, 1, 2, 3]), (0.01, [4, 5, 6, 7]), (0.1, [8, 9])],
)
### BEGIN HIDDEN TESTS
import asyncio as _asyncio

import numpy as _np

from labkit.inference import DynamicBatcher as _Batcher
from labkit.inference import run_virtual as _run_virtual


def _reference(_arrivals, _mbs, _delay, _service):
    """labkit's asyncio DynamicBatcher on a virtual clock, with a handler taking _service."""
    _log = []

    async def _handler(_items):
        _log.append((_asyncio.get_running_loop().time(), list(_items)))
        await _asyncio.sleep(_service)
        return _items

    async def _main():
        _loop = _asyncio.get_running_loop()
        _b = _Batcher(_handler, max_batch_size=_mbs, max_queue_delay_s=_delay, run_in_thread=False)
        _tasks = []
        for _i, _t in enumerate(_arrivals):
            if _t > _loop.time():
                await _asyncio.sleep(_t - _loop.time())
            _tasks.append(_asyncio.ensure_future(_b.submit(_i)))
        await _asyncio.gather(*_tasks)
        await _b.close()

    _run_virtual(_main())
    return _log


_rng = _np.random.default_rng(5)
for _case in range(40):
    # whole ms arrivals, half-ms delays, odd service times: no two events at the same instant
    _arr = [float(x) / 1000 for x in _np.cumsum(_rng.integers(0, 12, _rng.integers(1, 30)))]
    _mbs = int(_rng.integers(1, 7))
    _delay = (int(_rng.integers(0, 15)) + 0.5) / 1000
    _service = (int(_rng.integers(0, 10)) + 0.3141) / 1000
    _got = batch_schedule(list(_arr), _mbs, _delay, _service)
    _want = _reference(_arr, _mbs, _delay, _service)
    assert len(_got) == len(_want), (_case, _got, _want)
    for (_gt, _gi), (_wt, _wi) in zip(_got, _want, strict=True):
        assert abs(float(_gt) - _wt) < 1e-7 and [int(_j) for _j in _gi] == _wi, (_case, _got, _want)
### END HIDDEN TESTS

# %% [markdown]
# `labkit.inference.DynamicBatcher` applies the same rule on asyncio, with Triton's other two
# guards: a bounded queue that rejects requests when full (`QueueFullError`) instead of letting
# latency grow without bound, and a per-request queue timeout (`RequestTimeoutError`). Here 64
# concurrent clients each send a request, wait for the answer and send the next, served one at a
# time (`max_batch_size=1`, what a server without batching does) and then with dynamic batching.
# The served model is the int8 session: the variant you would deploy after the model notebook
# (fastest there, within a fraction of a point of fp32's accuracy). How much cheaper an item gets at batch 64 than at batch 1 (printed
# under the sweeps above, for int8 and fp32) bounds what batching can gain.


# %%
def predict_rows(rows):
    return list(int8.run(np.stack(rows)))


one, batched = compare_batching(
    predict_rows,
    lambda i: x_test_np[i % len(x_test_np)],
    clients=64,
    requests_per_client=S["requests_per_client"],
    max_batch_size=64,
    max_queue_delay_s=0.002,
    run_in_thread=True,
)
for r in (one, batched):
    print(r, "— p99 within SLO" if r.latency.p99 <= SLO_S else "— p99 OVER the SLO")
ax = plot_latency_cdf([one.latency, batched.latency], slo_s=SLO_S, log_x=True)
ax.set_title("64 concurrent clients: one at a time vs dynamic batching")
plt.show()
batching_gain = batched.throughput_per_s / one.throughput_per_s
print(f"dynamic batching: {batching_gain:.1f}× the throughput")
results["batching"] = {
    "one_at_a_time": one.to_dict(),
    "dynamic": batched.to_dict(),
    "throughput_gain": batching_gain,
}

# %% [markdown]
# ## 3. Tuning the batcher to an SLO
#
# The two knobs trade latency for throughput: a larger `max_batch_size` spreads each call's cost
# over more requests; a longer `max_queue_delay_s` waits longer for a batch to fill. Whether
# waiting pays depends on the load. With 64 concurrent clients, a batcher that waits for 128
# requests never gets them and holds every batch for its whole delay. The grid below serves 64
# closed-loop clients through each setting (the model runs inline on the event loop, as in the
# hidden test) and records p50, p99 and throughput. The objective here is a p99 that half of the grid meets — the median of the
# measured p99s — so that the choice is a real one on any machine.


# %%
def predict_rows(rows):
    return list(int8.run(np.stack(rows)))


grid_settings = [(1, 0.0)] + [(b, d) for b in (8, 32, 128) for d in (0.0, 0.002, 0.008)]
grid_rows = []
for max_batch, delay in grid_settings:
    run = serve_batching(
        predict_rows,
        lambda i: x_test_np[i % len(x_test_np)],
        max_batch_size=max_batch,
        max_queue_delay_s=delay,
        clients=64,
        requests_per_client=S["grid_requests_per_client"],
    )
    grid_rows.append(
        {
            "max_batch_size": max_batch,
            "max_queue_delay_s": delay,
            "p50_s": run.latency.p50,
            "p99_s": run.latency.p99,
            "throughput_per_s": run.throughput_per_s,
            "mean_batch_size": run.batch_stats.mean_batch_size,
        }
    )
slo_tune_s = float(np.median([row["p99_s"] for row in grid_rows]))
print(f"SLO for this section: p99 <= {format_seconds(slo_tune_s)}")
print(f"{'max batch':>9}{'delay':>9}{'p50':>10}{'p99':>10}{'req/s':>9}{'mean batch':>11}")
for row in grid_rows:
    print(
        f"{row['max_batch_size']:>9}{format_seconds(row['max_queue_delay_s']):>9}"
        f"{format_seconds(row['p50_s']):>10}{format_seconds(row['p99_s']):>10}"
        f"{row['throughput_per_s']:>9,.0f}{row['mean_batch_size']:>11.1f}"
        + ("" if row["p99_s"] <= slo_tune_s else "  over the SLO")
    )
fig, ax = plt.subplots(figsize=(6.5, 4))
ax.scatter([r["p99_s"] * 1e3 for r in grid_rows], [r["throughput_per_s"] for r in grid_rows])
for row in grid_rows:
    ax.annotate(
        f"{row['max_batch_size']}, {row['max_queue_delay_s'] * 1e3:g} ms",
        (row["p99_s"] * 1e3, row["throughput_per_s"]),
        fontsize=8,
    )
ax.axvline(slo_tune_s * 1e3, color="red", linestyle="--", label="SLO")
ax.set_xscale("log")
ax.set_xlabel("p99 latency (ms)")
ax.set_ylabel("throughput (requests/s)")
ax.set_title("64 clients: (max_batch_size, max_queue_delay)")
ax.legend()
plt.show()
results["batching_grid"] = {"slo_s": slo_tune_s, "rows": grid_rows}

# %% [markdown]
# **Exercise 2 (3 points).** Write `choose_batching(rows, slo_s)`. `rows` are measurements like
# `grid_rows` (dicts with at least the keys `"max_batch_size"`, `"max_queue_delay_s"`, `"p50_s"`,
# `"p99_s"` and `"throughput_per_s"`, in any order; values may be NumPy numbers). Return the
# setting to deploy as `(max_batch_size, max_queue_delay_s)`, taken from one row:
#
# 1. only rows whose **p99** meets the SLO count: `p99_s <= slo_s` (a row exactly at the SLO meets
#    it);
# 2. among them, find the highest throughput T;
# 3. throughputs within 5 % of each other are measurement noise, not a reason to take more tail
#    risk: among the rows that meet the SLO and have `throughput_per_s >= 0.95 * T`, return the
#    one with the lowest `p99_s`.
#
# Raise `ValueError` when no row meets the SLO (an empty `rows` included).
#
# The hidden test checks the rule on tables where the largest batch, the lowest p99, the p50
# column and the plain highest throughput each give another answer. Then it measures its own grid
# on this machine (64 clients, a small PyTorch model, the SLO at the median p99 as here): your
# choice must be one of its settings that met the SLO there, and, if it is not the setting the
# rule picks, serve at least 80 % of that setting's throughput when both are served again
# (three times each, medians).


# %% nbgrader={"grade": false, "grade_id": "02_latency_slo", "locked": false, "schema_version": 3, "solution": true, "task": false}
def choose_batching(rows, slo_s):
    """(max_batch_size, max_queue_delay_s) with p99 ≤ slo_s at (nearly) the highest throughput."""
    ### BEGIN SOLUTION
    meeting = [r for r in rows if r["p99_s"] <= slo_s]
    if not meeting:
        raise ValueError(f"no setting meets the SLO: every p99 is above slo_s={slo_s}")
    best = max(r["throughput_per_s"] for r in meeting)
    close = [r for r in meeting if r["throughput_per_s"] >= 0.95 * best]
    pick = min(close, key=lambda r: r["p99_s"])
    return int(pick["max_batch_size"]), float(pick["max_queue_delay_s"])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "02_latency_slo_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
demo_rows = [
    {"max_batch_size": 1, "max_queue_delay_s": 0.0, "p50_s": 4e-3, "p99_s": 6e-3, "throughput_per_s": 1000.0},
    {"max_batch_size": 16, "max_queue_delay_s": 0.0, "p50_s": 3e-3, "p99_s": 5e-3, "throughput_per_s": 4000.0},
    {"max_batch_size": 64, "max_queue_delay_s": 0.008, "p50_s": 9e-3, "p99_s": 12e-3, "throughput_per_s": 4500.0},
]  # fmt: skip
assert tuple(choose_batching(demo_rows, 0.010)) == (16, 0.0)  # 64 is over the SLO
try:
    choose_batching(demo_rows, 0.001)
except ValueError:
    pass
else:
    raise AssertionError("no row meets a 1 ms SLO: ValueError expected")
choice = choose_batching(grid_rows, slo_tune_s)
assert any((r["max_batch_size"], r["max_queue_delay_s"]) == tuple(choice) for r in grid_rows), (
    "return a measured setting"
)
### BEGIN HIDDEN TESTS
import numpy as _np
import torch as _torch

from labkit.inference import serve_batching as _serve


def _row(_b, _d, _p50, _p99, _thr):
    return {
        "max_batch_size": _b,
        "max_queue_delay_s": _d,
        "p50_s": _p50,
        "p99_s": _p99,
        "throughput_per_s": _thr,
    }


def _check(_rows, _slo, _want):
    _got = choose_batching([dict(_r) for _r in _rows], _slo)
    _got = tuple(_got)
    assert len(_got) == 2, _got
    assert int(_got[0]) == _want[0] and abs(float(_got[1]) - _want[1]) < 1e-12, (_got, _want)


# largest batch (64), lowest p99 (1), p50 ≤ SLO (32), plain highest throughput (16) all differ
# from the rule's answer (8, 0.0): 3000/s is within 5 % of 3100/s with a lower p99
_t1 = [
    _row(64, 0.004, 0.020, 0.030, 6000.0),
    _row(1, 0.0, 0.004, 0.006, 1000.0),
    _row(16, 0.001, 0.006, 0.0095, 3100.0),
    _row(32, 0.002, 0.008, 0.012, 5000.0),
    _row(8, 0.0, 0.005, 0.009, 3000.0),
]
_check(_t1, 0.010, (8, 0.0))
_check(list(reversed(_t1)), 0.010, (8, 0.0))
# NumPy values; a row exactly at the SLO meets it; 94 % of the best is not within 5 %
_t2 = [
    _row(_np.int64(4), _np.float64(0.001), _np.float64(0.003), _np.float64(0.004), _np.float64(2000.0)),
    _row(_np.int64(32), _np.float64(0.002), _np.float64(0.004), _np.float64(0.0125), _np.float64(5000.0)),
    _row(_np.int64(16), _np.float64(0.0), _np.float64(0.002), _np.float64(0.003), _np.float64(4700.0)),
]  # fmt: skip
_check(_t2, 0.0125, (32, 0.002))
# exactly 95 % of the best counts as within 5 % (and has the lower p99)
_check([_row(8, 0.0, 0.001, 0.002, 950.0), _row(16, 0.0, 0.001, 0.004, 1000.0)], 0.005, (8, 0.0))
for _rows in ([], [_row(1, 0.0, 0.001, 0.02, 100.0)]):
    try:
        choose_batching(_rows, 0.01)
    except ValueError:
        pass
    else:
        raise AssertionError("no row meets the SLO: ValueError expected")

# on this machine: a small MLP served through labkit's DynamicBatcher, 64 closed-loop clients
_gen = _torch.Generator().manual_seed(31)
_layers = []
for _ in range(8):
    _lin = _torch.nn.Linear(256, 256)
    _torch.nn.init.normal_(_lin.weight, std=0.06, generator=_gen)
    _layers += [_lin, _torch.nn.ReLU()]
_net = _torch.nn.Sequential(*_layers).eval()
_X = _torch.randn(64, 256, generator=_gen)


def _model(_batch):
    with _torch.inference_mode():
        return list(_net(_torch.stack(_batch)))


def _measure(_b, _d):
    _r = _serve(
        _model,
        lambda _i: _X[_i % 64],
        max_batch_size=_b,
        max_queue_delay_s=_d,
        clients=64,
        requests_per_client=15,
    )
    return _r.latency.p50, _r.latency.p99, _r.throughput_per_s


_settings = [(1, 0.0)] + [(_b, _d) for _b in (8, 32, 128) for _d in (0.0, 0.002, 0.008)]
_grid = [_row(_b, _d, *_measure(_b, _d)) for _b, _d in _settings]
_slo = float(_np.median([_r["p99_s"] for _r in _grid]))
_got = tuple(choose_batching([dict(_r) for _r in _grid], _slo))
_mbs, _delay = int(_got[0]), float(_got[1])
_mine = [
    _r
    for _r in _grid
    if _r["max_batch_size"] == _mbs and abs(_r["max_queue_delay_s"] - _delay) < 1e-12
]
assert len(_mine) == 1, ("not a measured setting", _got)
assert _mine[0]["p99_s"] <= _slo, ("over the SLO where it was measured", _got, _mine[0], _slo)
# the rule's own pick from the same grid; a different choice must serve nearly as much
_meeting = [_r for _r in _grid if _r["p99_s"] <= _slo]
_top = max(_r["throughput_per_s"] for _r in _meeting)
_ref = min(
    (_r for _r in _meeting if _r["throughput_per_s"] >= 0.95 * _top), key=lambda _r: _r["p99_s"]
)
_ref = (_ref["max_batch_size"], _ref["max_queue_delay_s"])
if (_mbs, _delay) != _ref:
    _thr_mine, _thr_ref = [], []
    for _ in range(3):
        _thr_mine.append(_measure(_mbs, _delay)[2])
        _thr_ref.append(_measure(*_ref)[2])
    _ratio = float(_np.median(_thr_mine)) / float(_np.median(_thr_ref))
    assert _ratio >= 0.8, (_got, _ref, _ratio)
### END HIDDEN TESTS

# %% [markdown]
# Your choice served again, beside one-at-a-time serving and two tempting wrong choices: the
# largest batch with the longest delay, and the setting with the lowest measured p99. Three
# interleaved runs each; medians.

# %%
candidates = {
    "your choice": tuple(choose_batching(grid_rows, slo_tune_s)),
    "one at a time": (1, 0.0),
    "largest batch, longest delay": max(grid_settings),
    "lowest measured p99": min(
        grid_settings,
        key=lambda s: next(
            r["p99_s"] for r in grid_rows if s == (r["max_batch_size"], r["max_queue_delay_s"])
        ),
    ),
}
rerun = {name: [] for name in candidates}
for _ in range(3):
    for name, (max_batch, delay) in candidates.items():
        rerun[name].append(
            serve_batching(
                predict_rows,
                lambda i: x_test_np[i % len(x_test_np)],
                max_batch_size=int(max_batch),
                max_queue_delay_s=float(delay),
                clients=64,
                requests_per_client=S["grid_requests_per_client"],
            )
        )
print(f"{'':<30}{'setting':>14}{'req/s':>9}{'p99':>10}   SLO {format_seconds(slo_tune_s)}")
tuned = {}
for name, runs in rerun.items():
    thr = float(np.median([r.throughput_per_s for r in runs]))
    p99 = float(np.median([r.latency.p99 for r in runs]))
    tuned[name] = {"setting": candidates[name], "throughput_per_s": thr, "p99_s": p99}
    max_batch, delay = candidates[name]
    print(
        f"{name:<30}{f'{max_batch}, {delay * 1e3:g} ms':>14}{thr:>9,.0f}{format_seconds(p99):>10}"
        + ("   meets it" if p99 <= slo_tune_s else "   over it")
    )
slo_gain = tuned["your choice"]["throughput_per_s"] / tuned["one at a time"]["throughput_per_s"]
results["slo_tuning"] = {**tuned, "gain_vs_one_at_a_time": slo_gain}
# %% [markdown]
# ## 4. Not computing at all: caching
#
# Traffic is skewed. A few keys (popular items, frequent queries, returning users) get most
# requests — roughly Zipf's law, P(rank k) ∝ 1/k^s. A small cache of recent answers then serves a
# large share of requests without touching the model. Least-recently-used eviction keeps what is
# popular now; a time to live (TTL) bounds how stale an answer may be after the data or the model
# changes.
#
# **Exercise 3 (3 points).** Write `ResultCache(maxsize, ttl_s=None, clock=time.monotonic)` with
# `get(key)` (the value, or `None` on a miss; a hit makes the key most recently used) and
# `put(key, value)`, which stores the value as the most recently used entry. `put` on a key that
# is already cached replaces its value, makes it most recently used and restarts its age, and
# evicts nothing; `put` of a new key into a full cache first evicts the least recently used key.
# An entry whose age — `clock()` now minus `clock()` at its last `put` — is `ttl_s` or more is a
# miss and is dropped (a hit does not renew it). Count `hits` and `misses` as attributes
# (every `get` is one or the other). `maxsize` must be an integer ≥ 1: raise `ValueError`
# otherwise. The hidden test replays Zipf streams against a reference and checks each of these
# transitions on its own, with `maxsize` 1 among them.


# %% nbgrader={"grade": false, "grade_id": "02_latency_cache", "locked": false, "schema_version": 3, "solution": true, "task": false}
class ResultCache:
    """LRU cache with an optional time to live; counts hits and misses."""

    def __init__(self, maxsize, ttl_s=None, clock=time.monotonic):
        ### BEGIN SOLUTION
        from collections import OrderedDict

        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"maxsize must be an integer >= 1, got {maxsize!r}")
        self.maxsize, self.ttl_s, self.clock = maxsize, ttl_s, clock
        self._data = OrderedDict()
        self.hits = self.misses = 0
        ### END SOLUTION

    def get(self, key):
        ### BEGIN SOLUTION
        entry = self._data.get(key)
        if entry is not None and self.ttl_s is not None and self.clock() - entry[1] >= self.ttl_s:
            del self._data[key]
            entry = None
        if entry is None:
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return entry[0]
        ### END SOLUTION

    def put(self, key, value):
        ### BEGIN SOLUTION
        if key in self._data:
            self._data.move_to_end(key)
        elif len(self._data) >= self.maxsize:
            self._data.popitem(last=False)
        self._data[key] = (value, self.clock())
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "02_latency_cache_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
cache = ResultCache(2)
cache.put("a", 1)
cache.put("b", 2)
assert cache.get("a") == 1  # "a" is now the most recently used
cache.put("c", 3)  # so "b" is evicted
assert cache.get("b") is None and cache.get("c") == 3 and cache.get("a") == 1
assert (cache.hits, cache.misses) == (3, 1)
now = [0.0]
timed = ResultCache(10, ttl_s=5.0, clock=lambda: now[0])
timed.put("k", "v")
now[0] = 4.9
assert timed.get("k") == "v"
now[0] = 5.0
assert timed.get("k") is None
### BEGIN HIDDEN TESTS
from collections import OrderedDict as _OD

import numpy as _np


def _ref_hits(_keys, _size, _ttl, _times):
    _store, _out = _OD(), []
    for _k, _t in zip(_keys, _times, strict=True):
        _e = _store.get(_k)
        if _e is not None and _ttl is not None and _t - _e >= _ttl:
            del _store[_k]
            _e = None
        if _e is None:
            _out.append(False)
            if len(_store) >= _size:
                _store.popitem(last=False)
            _store[_k] = _t
        else:
            _store.move_to_end(_k)
            _out.append(True)
    return _out


_rng = _np.random.default_rng(123)
for _size, _ttl in ((1, None), (5, None), (40, None), (8, 0.05), (30, 0.2)):
    _w = 1 / _np.arange(1, 101) ** 1.1
    _keys = [int(_k) for _k in _rng.choice(100, 2000, p=_w / _w.sum())]
    _times = _np.cumsum(_rng.exponential(0.002, 2000)).tolist()
    _clock_now = [0.0]
    _c = ResultCache(_size, ttl_s=_ttl, clock=lambda _now=_clock_now: _now[0])
    _got = []
    for _k, _t in zip(_keys, _times, strict=True):
        _clock_now[0] = _t
        _v = _c.get(_k)
        _got.append(_v is not None)
        if _v is None:
            _c.put(_k, ("value", _k))
        else:
            assert _v == ("value", _k)
    _want = _ref_hits(_keys, _size, _ttl, _times)
    assert _got == _want, (_size, _ttl)
    assert (int(_c.hits), int(_c.misses)) == (sum(_want), len(_want) - sum(_want))

# updating a key that is already cached: new value, most recently used, nothing evicted
_c = ResultCache(3)
for _k in "abc":
    _c.put(_k, _k.upper())
_c.put("b", "B2")  # full, and "b" exists: no eviction ("a", the least recently used, stays)
assert _c.get("a") == "A" and _c.get("b") == "B2" and _c.get("c") == "C"
_c = ResultCache(2)
_c.put("a", 1)
_c.put("b", 2)
_c.put("a", 10)  # "a" most recently used now, so the next new key evicts "b"
_c.put("c", 3)
assert _c.get("b") is None and _c.get("a") == 10 and _c.get("c") == 3
# a get makes a key most recently used; capacity 1 keeps only the last key
_c = ResultCache(2)
_c.put("x", 1)
_c.put("y", 2)
assert _c.get("x") == 1
_c.put("z", 3)
assert _c.get("y") is None and _c.get("x") == 1 and _c.get("z") == 3
_c = ResultCache(1)
_c.put("p", 1)
_c.put("p", 2)
assert _c.get("p") == 2
_c.put("q", 3)
assert _c.get("p") is None and _c.get("q") == 3
assert (int(_c.hits), int(_c.misses)) == (2, 1)
# falsy values are values, not misses
_c = ResultCache(2)
_c.put("zero", 0)
assert _c.get("zero") == 0 and int(_c.hits) == 1
# TTL: a put on an existing key restarts its age; a hit does not; age == ttl is a miss
_now = [0.0]
_c = ResultCache(4, ttl_s=1.0, clock=lambda: _now[0])
_c.put("k", "v1")
_now[0] = 0.75
_c.put("k", "v2")
_now[0] = 1.5
assert _c.get("k") == "v2"  # age 0.75
_now[0] = 1.75
assert _c.get("k") is None  # age exactly 1.0
_c.put("m", 1)
_now[0] = 2.5
assert _c.get("m") == 1  # age 0.75, a hit
_now[0] = 2.75
assert _c.get("m") is None  # age 1.0: the hit did not renew it
assert (int(_c.hits), int(_c.misses)) == (2, 2)
# an expired entry is dropped: it no longer takes a slot
_now[0] = 0.0
_c = ResultCache(2, ttl_s=1.0, clock=lambda: _now[0])
_c.put("old", 1)
_now[0] = 0.5
_c.put("new", 2)
_now[0] = 1.25
assert _c.get("old") is None
_c.put("third", 3)  # "old" was dropped, so nothing else is evicted
assert _c.get("new") == 2 and _c.get("third") == 3
for _bad in (0, -1, 2.5):
    try:
        ResultCache(_bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f"maxsize={_bad!r} should raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# Now on a Zipf-skewed stream of requests for 5,000 distinct inputs, each miss running the model
# (batch 1 on ONNX Runtime), with labkit's thread-safe `LRUCache` of several sizes.

# %%
keys = zipf_keys(S["stream"], num_keys=5_000, s=1.1, seed=0)
pool = data.x_test.numpy()


def compute(key):
    return fp32.run(pool[key % len(pool)][None])


no_cache = serve_stream(keys, compute)
cache_rows = [("no cache", 0.0, no_cache)]
for size in (50, 500, 5_000):
    lru = LabkitLRUCache(size)
    report = serve_stream(keys, compute, lru)
    cache_rows.append((f"LRU {size}", lru.stats.hit_rate, report))
for label, hit_rate, rep in cache_rows:
    print(
        f"{label:<10} hit rate {hit_rate:6.1%}  p50 {format_seconds(rep.p50):>9}  "
        f"mean {format_seconds(rep.mean):>9}  p99 {format_seconds(rep.p99):>9}"
    )
ax = plot_latency_cdf([r for _, _, r in cache_rows], log_x=True)
ax.set_title("per-request latency on a Zipf(1.1) stream")
plt.show()
results["cache"] = [
    {"cache": lab, "hit_rate": h, "mean_s": r.mean, "p99_s": r.p99} for lab, h, r in cache_rows
]

# %% [markdown]
# Even a cache of 1 % of the keys serves a large share of a Zipf stream (the hit rates above).
# The tail is another matter: while more than 1 % of requests miss, p99 is a miss's latency, so a
# cache helps the tail only when almost everything hits. At these sizes a hit saves tens of
# microseconds, so on a busy machine noise can hide the mean's fall — compare the rows of one run.
#
# ## 5. Around the model
#
# ### Concurrency for I/O waits
#
# Suppose each request waits 5 ms for a feature store before the model and 5 ms to write a log
# after it. A server that handles one request at a time is idle during those waits.

# %%
conc = compare_concurrency(
    range(32 if GRADING else 96), lambda i: compute(i), io_s=0.005, workers=16
)
for r in conc:
    print(r)
results["concurrency"] = [r.to_dict() for r in conc]

# %% [markdown]
# ### The database: an index, and one query instead of N
#
# The features often come from a database. Two mistakes dominate: no index on the lookup key
# (every lookup scans the table) and the N+1 pattern (one query per item of a batch; with a
# networked database each also pays a round trip).

# %%
store = FeatureStore(num_users=S["users"], num_features=16, seed=0)
ids = np.random.default_rng(0).integers(0, S["users"], 64).tolist()
print("plan without index:", store.query_plan())
scan = measure_latency(store.get, ids[0], warmup=1, repeat=5, label="unindexed lookup")
store.create_index()
print("plan with index:   ", store.query_plan())
indexed = measure_latency(store.get, ids[0], repeat=S["repeat"], label="indexed lookup")
n_plus_1 = measure_latency(store.get_each, ids, repeat=S["repeat"] // 3, label="64 lookups, N+1")
one_query = measure_latency(
    store.get_many, ids, repeat=S["repeat"] // 3, label="64 lookups, 1 query"
)
for rep in (scan, indexed, n_plus_1, one_query):
    print(f"{rep.label:<22} p50 {format_seconds(rep.p50)}")
results["database"] = {r.label: r.p50 for r in (scan, indexed, n_plus_1, one_query)}

# %% [markdown]
# **Exercise 4 (2 points).** Write `lookup_batched(conn, user_ids)`: fetch the feature vectors of
# `user_ids` from the SQLite table `features(user_id INTEGER, vec BLOB)` (each `vec` is the bytes
# of a float32 vector) with **one** `SELECT ... WHERE user_id IN (...)` query, using `?`
# placeholders with the ids passed as the query's parameters (never formatted into the SQL
# string: that is how SQL injection happens, and it defeats the statement cache). Return a
# float32 array with one row per id, in the order given (ids may repeat). Raise `KeyError` for an
# id that is not in the table. At most 900 ids are passed at once.
#
# `conn` behaves like a `sqlite3.Connection`: call `conn.execute(sql, params)` or use
# `conn.cursor()`. The tests pass a wrapper that records the SQL string and the parameters of
# every `execute` exactly as you pass them (SQLite's own trace callback would show the SQL with
# the values already substituted, so it cannot tell a placeholder from a formatted value).


# %% nbgrader={"grade": false, "grade_id": "02_latency_sql", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lookup_batched(conn, user_ids):
    """Feature vectors of user_ids (in order) from one IN (...) query."""
    ### BEGIN SOLUTION
    ids = [int(u) for u in user_ids]
    unique = sorted(set(ids))
    marks = ",".join("?" * len(unique))
    rows = conn.execute(f"SELECT user_id, vec FROM features WHERE user_id IN ({marks})", unique)
    found = {uid: np.frombuffer(blob, dtype=np.float32) for uid, blob in rows.fetchall()}
    missing = [u for u in unique if u not in found]
    if missing:
        raise KeyError(f"unknown user ids: {missing}")
    return np.stack([found[u] for u in ids]).astype(np.float32)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "02_latency_sql_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
class RecordingConnection:
    """A sqlite3 connection that records (sql, params) of every execute, as passed."""

    def __init__(self, conn):
        self._conn, self.calls = conn, []

    def execute(self, sql, params=()):
        params = params if isinstance(params, dict) else list(params)
        self.calls.append((sql, params))
        return self._conn.execute(sql, params)

    def cursor(self):
        return RecordingCursor(self)

    def __getattr__(self, name):
        return getattr(self._conn, name)


class RecordingCursor:
    def __init__(self, owner):
        self._owner, self._cursor = owner, owner._conn.cursor()

    def execute(self, sql, params=()):
        params = params if isinstance(params, dict) else list(params)
        self._owner.calls.append((sql, params))
        self._cursor.execute(sql, params)
        return self

    def __iter__(self):
        return iter(self._cursor)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


recording = RecordingConnection(store.connection)
batch_features = lookup_batched(recording, ids)
assert len(recording.calls) == 1, recording.calls
sql, params = recording.calls[0]
assert sql.count("?") == len(params) > 0, "use ? placeholders and pass the ids as parameters"
assert set(ids) <= {int(p) for p in params}
assert batch_features.dtype == np.float32 and batch_features.shape == (64, 16)
assert np.array_equal(batch_features, store.get_each(ids))
### BEGIN HIDDEN TESTS
import re as _re
import sqlite3 as _sqlite3

import numpy as _np


class _Rec:
    """Records (sql, params) of every execute/executemany, on the connection or its cursors."""

    def __init__(self, _conn, _calls=None, _cursor=None):
        self._conn, self._cursor = _conn, _cursor
        self.calls = [] if _calls is None else _calls

    def _log(self, _sql, _params):
        _params = dict(_params) if isinstance(_params, dict) else list(_params)
        self.calls.append((str(_sql), _params))
        return _params

    def execute(self, _sql, _params=()):
        _params = self._log(_sql, _params)
        if self._cursor is not None:
            self._cursor.execute(_sql, _params)
            return self
        return self._conn.execute(_sql, _params)

    def executemany(self, _sql, _seq):
        _seq = [list(_p) for _p in _seq]
        self.calls.append((str(_sql), _seq))
        _target = self._cursor if self._cursor is not None else self._conn
        _target.executemany(_sql, _seq)
        return self

    def cursor(self):
        return _Rec(self._conn, self.calls, self._conn.cursor())

    def __iter__(self):
        return iter(self._cursor)

    def __getattr__(self, _name):
        return getattr(self._cursor if self._cursor is not None else self._conn, _name)


_rng = _np.random.default_rng(77)
_conn = _sqlite3.connect(":memory:")
_vecs = _rng.standard_normal((1000, 5)).astype(_np.float32)
_conn.execute("CREATE TABLE features (user_id INTEGER NOT NULL, vec BLOB NOT NULL)")
_conn.executemany(
    "INSERT INTO features VALUES (?, ?)",
    [(int(_u) * 7 + 100_003, _vecs[_u].tobytes()) for _u in _rng.permutation(1000)],
)
_all = [int(_u) * 7 + 100_003 for _u in range(1000)]
for _ids in (
    [_all[10]],
    [_all[3], _all[3], _all[10], _all[999], _all[3]],
    [_all[int(_u)] for _u in _rng.integers(0, 1000, 500)],
    [_all[int(_u)] for _u in _rng.permutation(1000)[:900]],
):
    _rec = _Rec(_conn)
    _got = lookup_batched(_rec, list(_ids))
    _selects = [(_q, _p) for _q, _p in _rec.calls if _q.lstrip().upper().startswith("SELECT")]
    assert len(_rec.calls) == 1 and len(_selects) == 1, _rec.calls
    _sql, _params = _selects[0]
    assert _re.search(r"\bIN\s*\(", _sql, _re.IGNORECASE), _sql
    assert isinstance(_params, list) and _sql.count("?") == len(_params) > 0, (_sql, _params)
    assert set(_ids) <= {int(_p) for _p in _params}, "every id must be a bound parameter"
    assert not any(str(_i) in _sql for _i in set(_ids)), "an id was formatted into the SQL"
    _want = _np.stack([_vecs[(_i - 100_003) // 7] for _i in _ids])
    assert isinstance(_got, _np.ndarray) and _got.dtype == _np.float32
    assert _got.shape == _want.shape and _np.array_equal(_got, _want)
for _bad in ([_all[1], 5, _all[2]], [100_004]):
    try:
        lookup_batched(_Rec(_conn), _bad)
    except KeyError:
        pass
    else:
        raise AssertionError("an unknown id should raise KeyError")
_conn.close()
### END HIDDEN TESTS

# %% [markdown]
# ### The network: what the client waits for
#
# A real HTTP endpoint on this machine (loopback), serving the model from a thread, reports its
# own processing time in a `Server-Timing` header. A delaying proxy in front of it adds a network
# round trip, as if the server were in another region. The client sees round trip + server time:
# no server optimization removes the round trip; only running the model closer to the client
# does.


# %%
def serve(instances):
    x = preprocess(instances, data.mean_, data.std_)  # labkit's vectorized preprocessing
    return [r["label"] for r in postprocess(fp32.run(x))]


payload = {"instances": data.raw_test[:8].tolist()}
net_rows = []
with ModelServer(serve) as server:
    for rtt_s in (0.0, 0.010, 0.040):
        if rtt_s == 0:
            res = http_latency(server.url, payload, repeat=S["http_repeat"])
        else:
            with DelayProxy(server.url, one_way_delay_s=rtt_s / 2) as proxy:
                res = http_latency(proxy.url, payload, repeat=S["http_repeat"])
        net_rows.append((rtt_s, res))
for rtt_s, res in net_rows:
    print(
        f"injected RTT {rtt_s * 1e3:4.0f} ms: client p50 {format_seconds(res.client.median):>9}, "
        f"server {format_seconds(res.server.median):>9}, network + HTTP {format_seconds(res.network_s):>9}"
    )
fig, ax = plt.subplots(figsize=(6, 3))
labels_rtt = [f"RTT {r * 1e3:.0f} ms" for r, _ in net_rows]
ax.bar(labels_rtt, [res.server.median * 1e3 for _, res in net_rows], label="server time")
ax.bar(
    labels_rtt,
    [res.network_s * 1e3 for _, res in net_rows],
    bottom=[res.server.median * 1e3 for _, res in net_rows],
    label="network + HTTP",
)
ax.set_ylabel("median client latency (ms)")
ax.legend()
plt.show()
results["network"] = [{"rtt_s": r, **res.to_dict()} for r, res in net_rows]

# %% [markdown]
# "Closer" means *edge inference*: the model itself runs near the users — replicas in several
# regions, edge compute at a point of presence, or on the device. A content delivery network
# (CDN) does not do that. A CDN caches responses and static assets (a web page, a JavaScript
# bundle, even the model file a browser downloads) near the users; a prediction for an input it
# has not seen still travels to wherever the model runs. Caching responses at the edge helps only
# requests whose identical response was already cached: the repeated, skewed traffic of section
# 4, not a stream of new inputs. (This notebook injects the round trip; it deploys nothing to
# other regions.)
#
# ## 6. What you measured
#
# The headline figures go to `02_latency_results.json` beside this notebook, under `"serving"`;
# the model notebook writes `"model"` into the same file. Its headline is shown too when it has
# run in this folder.

# %%
share_40ms = net_rows[-1][1].network_s / net_rows[-1][1].client.median
headline = {
    "model loaded per request: slowdown": f"{results['loading_slowdown_torch']:.0f}×",
    "int8 cost per item, batch 1 / batch 64": f"{per_item_gain['int8']:.1f}×",
    "dynamic batching vs one at a time, 64 clients": f"{batching_gain:.1f}× throughput",
    "SLO-tuned batching vs one at a time, 64 clients": f"{slo_gain:.1f}× throughput",
    "tuned setting (max batch, delay)": str(tuned["your choice"]["setting"]),
    "cache hit rate (LRU 500 on Zipf 1.1)": f"{cache_rows[2][1]:.0%}",
    "64 feature lookups, N+1 vs one query": f"{n_plus_1.p50 / one_query.p50:.1f}×",
    "network share at 40 ms RTT": f"{share_40ms:.0%}",
}
results["headline"] = headline
from labkit.study.results import read, save  # schema'd (docs/results.md)

results_path = save("02_latency", results, "02_latency_results.json", part="serving", device=device)
merged = read(results_path).figures
for part in ("model", "serving"):
    if part not in merged:
        print(f"({part} notebook: not run in this folder yet)")
        continue
    print(f"— {part} notebook —")
    for key, value in merged[part]["headline"].items():
        print(f"{key:<62} {value}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "02_latency_question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 7. In an interview
#
# *"A model's latency is too high in production. How do you find the cause and bring it down?"*
#
# Answer as you would in an interview, from what you measured in this lab (quote numbers from the
# two notebooks' summaries above).
#
# **Mark scheme (5 points).**
# 1 — measure first: a latency distribution (p50 and p99 against an SLO, not a mean) and a
# per-stage breakdown, then a profiler to find the slow code — with a number from the lab.
# 1 — the model's own cost: a graph runtime (ONNX Runtime) and compression — int8 quantization
# (what is quantized and how, that the speed needs fused integer kernels, with the accuracy
# checked), structured pruning or distillation, and why unstructured sparsity alone does not
# speed up dense kernels — with measured figures.
# 1 — serving: load the model once; batch dynamically with a bounded delay, with the setting
# chosen from measured p99 and throughput against the SLO (and why the largest batch or the
# longest delay is not automatically best) — with measured figures.
# 1 — avoiding work and waiting: caching on skewed traffic (hit rate, and that it helps the mean
# more than the tail), concurrency for I/O waits, indexed and batched database lookups.
# 1 — the network and hardware: client latency = round trip + server time, so for
# latency-critical paths the model runs near the users (edge inference: regional replicas or
# edge compute — not a CDN, which caches responses and static assets and helps only repeated
# identical requests); GPUs or other accelerators where the model dominates, quoting the model
# notebook's GPU rows if they were measured, or saying plainly that they were not.

# %% [markdown] nbgrader={"grade": true, "grade_id": "02_latency_answer", "locked": false, "points": 5, "schema_version": 3, "solution": true, "task": false}
# I measure before I change anything, because every cause has a different fix. First the
# distribution — p50 and p99 against the SLO, not a mean: on the 2-core CPU this lab was written
# on, the model's batch-1 p50 was 140–220 µs and its p99 about 300 µs, and under background load
# the tail reached milliseconds. Then a per-stage breakdown: for a batch of 64 requests
# preprocessing was more than half of the end-to-end time, and cProfile put 80 % of the Python time in one
# per-element loop; vectorized, preprocessing went from ~7 ms to ~0.5 ms and the request path got
# 2–6× faster (depending on the run) without touching the model. torch.profiler showed the model itself is its
# matrix multiplies (`addmm`, ~90 %), so for the model I changed the runtime and the size: ONNX
# Runtime ran batch 1 2–3× faster than torch eager with outputs equal to ~5e-6. For int8 I
# wrote the quantized layer myself — symmetric per-channel int8 weights, dynamic asymmetric uint8
# activations, an int32 accumulator, then the scales and the bias — and my MLP's logits matched
# ONNX Runtime's `quantize_dynamic` exactly, with accuracy unchanged (83.9 %) and 4× smaller
# weights. ORT's int8 was about 2× faster than its fp32 at batch 1, while my NumPy version was
# over 100× slower than ORT's at batch 64: the speed comes from fused integer kernels, not from the scheme.
# Unstructured pruning to 90 % zeros cost 11 points and no latency (dense kernels multiply zeros
# too); structured pruning made batch 64 about 4× faster but cost 10 points; a distilled student
# with 10× fewer weights was 3–4× faster at batch 1 and reached 81 % against the teacher's 84 %,
# where the same student trained on the scarce labels alone reached 53 %. On the serving side:
# load the model once per process — loading it per request was 50–120× slower — and batch
# dynamically: with 64 concurrent clients on the int8 model, a 2 ms max delay gave 5–13× the
# throughput of one-at-a-time serving. I chose the batcher setting from a measured grid against
# a p99 target: no queue delay and a max batch of 32 or 128 (the grid's pick varied by run) served
# about 6× the one-at-a-time throughput within the SLO, while the largest batch with the longest
# delay (128, 8 ms) served about a third of that,
# because with 64 clients a batch of 128 never fills and every request waits out the delay. Then
# avoid work: on Zipf-skewed traffic an LRU cache holding 10 % of the keys answered 75 % of
# requests and cut the mean latency about 4×, though the tail is still set by misses. Around the
# model: overlapping 10 ms of I/O per request with asyncio raised throughput from ~90 to ~1,200
# requests/s; a missing index made a feature lookup ~9 ms instead of 3 µs, and one `IN (...)` query
# for 64 users was 1.7× faster than 64 queries even in-process (with a networked database each
# query also pays a round trip). Finally the network: the client waits for round trip plus server
# time, and at a 40 ms RTT the network was over 90 % of what the client saw, so for
# latency-critical paths the model must run near the users — edge inference, regional replicas —
# not behind a CDN, which caches responses and static assets and only helps repeated identical
# requests. Hardware: this run was on a CPU-only machine, so I have no GPU figure; where the model
# still dominates after all this, I would move it to a GPU with batching and measure the same rows
# (the model notebook times torch and ONNX Runtime on CUDA when a GPU is present).
