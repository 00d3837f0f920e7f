# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 04 — A recommendation service at peak traffic
#
# > *Your deployed recommendation engine slows down when traffic surges at peak hours. How do
# > you approach it?*
#
# The usual answer is a list: autoscaling, the Kubernetes HPA, infrastructure tuning,
# serverless. This lab replaces the list with measurements. You will
#
# 1. train a real recommender and serve it over HTTP with micro-batching, a hot-user cache and
#    a bounded queue;
# 2. load it the way users do (open loop) and the way most benchmarks do (closed loop), and see
#    why only one of them tells the truth about latency;
# 3. find the bottleneck from the service's own Prometheus metrics;
# 4. compute what the Kubernetes HPA would do, exactly, including its rate limits;
# 5. size the pool with queueing theory (Erlang C) and check it against the real service;
# 6. replay a day with an evening surge through static, HPA, concurrency-based and scheduled
#    autoscaling, and price each in SLO misses and replica-hours;
# 7. measure a cold start, the cost of serverless scale-to-zero.
#
# Every number below is produced on your machine. The same code runs on a laptop CPU and on a
# GPU server; sizes shrink automatically while the notebook is being graded.

# %%
import json
import math
import os
import time

import numpy as np

import labkit
from labkit.device import environment_report, resolve

GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
DEVICE = resolve()
N_USERS = 2_000 if GRADING else 5_000
N_ITEMS = 20_000 if GRADING else 100_000  # the catalog every request scores
DIM = 32 if GRADING else 64
EPOCHS = 1 if GRADING else 2
LOAD_S = 1.0 if GRADING else 2.0  # seconds per load test
RESULTS = {"lab": "04_scaling", "labkit": labkit.__version__, "device": str(DEVICE)}
env = environment_report()
print(f"device {DEVICE}, {env.cpu_count} CPU cores, torch {env.torch}, grading={GRADING}")

# %% [markdown]
# ## 1. The recommender
#
# A generated click log with the shape of real traffic: item popularity follows a Zipf law (a
# few items get most clicks), some users are far more active than others, and items have a
# preferred time of day. Matrix factorization trained with the BPR loss must beat the
# "most popular items for everyone" baseline on recall@k (the share of each user's held-out
# last click that appears in their top k).

# %%
import tempfile

from labkit.scaling.data import make_interactions
from labkit.scaling.recommender import PopularityRecommender, recall_at_k, train_mf

t0 = time.perf_counter()
data = make_interactions(n_users=N_USERS, n_items=N_ITEMS, seed=0)
train, test = data.split_last()
model = train_mf(train, dim=DIM, num_epochs=EPOCHS, device=DEVICE, seed=0)
popular = PopularityRecommender.fit(train)
quality = {
    f"recall@{k}": {"mf": recall_at_k(model, test, k), "popularity": recall_at_k(popular, test, k)}
    for k in (10, 50)
}
MODEL_PATH = model.save(os.path.join(tempfile.mkdtemp(prefix="labkit04-"), "model.pt"))
print(data)
print(model, f"trained in {time.perf_counter() - t0:.1f} s")
for name, row in quality.items():
    print(f"{name:>10}: matrix factorization {row['mf']:.3f}   popularity {row['popularity']:.3f}")
RESULTS["quality"] = quality

# %% [markdown]
# ## 2. The service, and how to load it
#
# `python -m labkit.scaling.serve` is a Starlette app on uvicorn: `/recommend`, `/healthz`,
# `/readyz`, `/metrics`. Requests first try the hot-user cache, then join the **bounded queue**
# of lab 02's dynamic batcher, which scores up to 32 waiting users in one matrix product. A full queue
# answers 503 with `Retry-After` at once; a request not answered in time gets 504; SIGTERM
# drains gracefully. We start it as a child process on loopback and time its start-up: that is
# the cold start a new replica (or a serverless instance) pays.

# %%
from labkit.scaling.process import ServiceProcess
from labkit.scaling.serverless import ColdStart

svc = ServiceProcess(MODEL_PATH, max_batch_size=32, max_queue=64, cache_size=0).start()
status, body = svc.get("/recommend?user_id=7&k=5")
first_response_at = time.time()
warm = []
for u in range(10):
    t = time.perf_counter()
    svc.get(f"/recommend?user_id={u}&k=10")
    warm.append(time.perf_counter() - t)
cold = ColdStart.from_service(svc, first_response_at, float(np.median(warm)))
print(status, body["items"])
print(cold)
RESULTS["cold_start"] = cold.to_dict()

# %% [markdown]
# ### Open loop versus closed loop
#
# A **closed-loop** generator runs N virtual users that each wait for an answer before sending
# again. It is the right tool to find the maximum throughput — and the wrong one for latency:
# when the server slows down, the users slow down too, so the slow period is recorded once
# instead of for every request that *should* have been sent during it (coordinated omission).
#
# An **open-loop** generator fixes every send time in advance and sends on schedule regardless,
# measuring latency from the *scheduled* time. Real users arrive independently of each other,
# which makes arrivals close to a Poisson process: exponential gaps with mean `1/rate`.


# %% nbgrader={"grade": false, "grade_id": "04_scaling_poisson", "locked": false, "schema_version": 3, "solution": true, "task": false}
def poisson_schedule(rate, duration_s, seed=None):
    """Send times (seconds from the start) of a Poisson process with `rate` requests per second.

    Returns a sorted 1-D float NumPy array of all arrival times in [0, duration_s).
    The same seed must give the same schedule.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    expected = rate * duration_s
    n = int(expected + 10 * math.sqrt(expected) + 10)
    times = np.cumsum(rng.exponential(1.0 / rate, size=n))
    while times[-1] < duration_s:
        times = np.concatenate([times, times[-1] + np.cumsum(rng.exponential(1.0 / rate, n))])
    return times[times < duration_s]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "04_scaling_poisson_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
s = poisson_schedule(200.0, 5.0, seed=1)
assert isinstance(s, np.ndarray) and s.ndim == 1
assert np.all(np.diff(s) >= 0) and s.min() >= 0 and s.max() < 5.0
assert 850 < len(s) < 1150, "about rate × duration = 1000 arrivals"
assert np.array_equal(s, poisson_schedule(200.0, 5.0, seed=1)), "the seed fixes the schedule"
gaps = np.diff(s)
print(
    f"{len(s)} arrivals, mean gap {gaps.mean() * 1e3:.2f} ms (expected 5 ms), "
    f"gap std/mean {gaps.std() / gaps.mean():.2f} (1.0 for exponential gaps)"
)
### BEGIN HIDDEN TESTS
import numpy as _np
from scipy import stats as _stats

for _rate, _dur in ((3.0, 400.0), (250.0, 8.0), (4000.0, 2.0)):
    _s = _np.asarray(poisson_schedule(_rate, _dur, seed=11), dtype=float)
    assert _s.ndim == 1 and len(_s) > 0
    assert bool(_np.all(_np.diff(_s) >= 0)) and _s.min() >= 0 and _s.max() < _dur
    # exponential gaps (KS test against scipy) ...
    assert _stats.kstest(_np.diff(_s), _stats.expon(scale=1 / _rate).cdf).pvalue > 1e-4
_tiny = _np.asarray(poisson_schedule(0.001, 1.0, seed=0), dtype=float)  # almost surely empty
assert _tiny.ndim == 1 and len(_tiny) <= 1
# ... and Poisson counts: variance ≈ mean across seeds (a regular schedule has none)
_counts = _np.array(
    [len(_np.asarray(poisson_schedule(50.0, 2.0, seed=k), dtype=float)) for k in range(300)]
)
assert abs(_counts.mean() - 100) < 3 and 0.7 < _counts.var() / _counts.mean() < 1.35
_a = _np.asarray(poisson_schedule(50.0, 2.0, seed=1), dtype=float)
_b = _np.asarray(poisson_schedule(50.0, 2.0, seed=2), dtype=float)
assert not _np.array_equal(_a, _b)
### END HIDDEN TESTS

# %% [markdown]
# First the capacity: a closed loop with many concurrent users saturates the service. Then open
# loops at fractions of that capacity, with Poisson arrivals and the users skewed the way peak
# traffic is (a few heavy users send a large share).

# %%
from labkit.inference.cache import zipf_keys
from labkit.scaling.load import load_table, run_closed_loop, run_open_loop
from labkit.scaling.plots import plot_latency_timeline, plot_load_results
from labkit.scaling.traffic import poisson_schedule as reference_schedule

users = zipf_keys(50_000, N_USERS, seed=1)  # Zipf: a few heavy users send most requests
saturate = run_closed_loop(
    svc.url, user_ids=users, concurrency=32, duration_s=LOAD_S, label="closed loop, 32 users"
)
CAPACITY = saturate.throughput_rps
runs = [saturate]
for frac in (0.5, 0.8, 2.0):
    schedule = reference_schedule(frac * CAPACITY, LOAD_S, seed=2)
    runs.append(
        run_open_loop(svc.url, schedule, user_ids=users, label=f"open loop, {frac:.0%} capacity")
    )
print(f"capacity of one worker with batching: {CAPACITY:.0f} requests/s")
print(load_table(runs))
RESULTS["load_1_worker_batching"] = [r.summary() for r in runs]
_ = plot_load_results(runs)
_ = plot_latency_timeline(runs[-1:])

# %% [markdown]
# Compare the first and last rows. The closed loop "ran at capacity" and reports a comfortable
# p99, because it can never send faster than the server answers. The open loop at 200% is
# what a surge really does: the queue fills, latency measured from the scheduled send time
# grows to the queue's full length, and the excess is refused with 503 within milliseconds —
# the bounded queue is what keeps the latency of *accepted* requests bounded.

# %% [markdown]
# ## 3. Find the bottleneck in the metrics
#
# The service exports Prometheus metrics: request counts by status, latency histograms, requests
# in flight, queue depth, batch sizes, time each request waited in the queue and time each batch
# spent in the model. `labkit.scaling.metrics.parse_metrics` reads the text format into
# `{sample_name: [Sample(name, labels, value), ...]}`.
#
# **Exercise.** Write `read_bottleneck(text)` returning a dict with
# `mean_batch_size` (`labkit_batch_size_sum / _count`), `mean_queue_wait_s`
# (`labkit_queue_wait_seconds`), `mean_compute_s` (`labkit_batch_compute_seconds`, per batch),
# `shed_fraction` (503 responses over all responses of `endpoint="/recommend"` in
# `labkit_requests_total`, 0.0 when there are none) and `verdict`: `"overloaded"` when
# `shed_fraction > 0.01`, else `"queueing"` when the mean queue wait exceeds the mean compute
# time, else `"compute"`.

# %% nbgrader={"grade": false, "grade_id": "04_scaling_bottleneck", "locked": false, "schema_version": 3, "solution": true, "task": false}
from labkit.scaling.metrics import parse_metrics


def read_bottleneck(text):
    ### BEGIN SOLUTION
    samples = parse_metrics(text)

    def mean(name):
        total = sum(s.value for s in samples.get(name + "_sum", []))
        count = sum(s.value for s in samples.get(name + "_count", []))
        return total / count if count else 0.0

    responses = [
        s
        for s in samples.get("labkit_requests_total", [])
        if s.labels.get("endpoint") == "/recommend"
    ]
    total = sum(s.value for s in responses)
    shed = sum(s.value for s in responses if s.labels.get("status") == "503")
    out = {
        "mean_batch_size": mean("labkit_batch_size"),
        "mean_queue_wait_s": mean("labkit_queue_wait_seconds"),
        "mean_compute_s": mean("labkit_batch_compute_seconds"),
        "shed_fraction": shed / total if total else 0.0,
    }
    if out["shed_fraction"] > 0.01:
        out["verdict"] = "overloaded"
    elif out["mean_queue_wait_s"] > out["mean_compute_s"]:
        out["verdict"] = "queueing"
    else:
        out["verdict"] = "compute"
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "04_scaling_bottleneck_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
report = read_bottleneck(svc.metrics_text())
print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in report.items()})
assert set(report) >= {
    "mean_batch_size",
    "mean_queue_wait_s",
    "mean_compute_s",
    "shed_fraction",
    "verdict",
}
assert report["mean_batch_size"] >= 1.0
assert 0.0 <= report["shed_fraction"] <= 1.0
# How much the 200% open loop was shed depends on how busy this machine is; the verdict must
# follow the rule for whatever was measured.
if report["shed_fraction"] > 0.01:
    assert report["verdict"] == "overloaded"
elif report["mean_queue_wait_s"] > report["mean_compute_s"]:
    assert report["verdict"] == "queueing"
else:
    assert report["verdict"] == "compute"
### BEGIN HIDDEN TESTS
from prometheus_client import CollectorRegistry as _Reg
from prometheus_client import Counter as _Counter
from prometheus_client import Histogram as _Hist
from prometheus_client import generate_latest as _latest


def _text(batch_sizes, waits, computes, statuses):
    reg = _Reg()
    b = _Hist("labkit_batch_size", "b", buckets=(1, 2, 4, 8, 16, 32, 64), registry=reg)
    w = _Hist("labkit_queue_wait_seconds", "w", registry=reg)
    c = _Hist("labkit_batch_compute_seconds", "c", registry=reg)
    r = _Counter("labkit_requests", "r", ["endpoint", "status"], registry=reg)
    for x in batch_sizes:
        b.observe(x)
    for x in waits:
        w.observe(x)
    for x in computes:
        c.observe(x)
    for endpoint, status, n in statuses:
        r.labels(endpoint=endpoint, status=str(status)).inc(n)
    return _latest(reg).decode()


def _read(text):
    got = read_bottleneck(text)
    keys = ("mean_batch_size", "mean_queue_wait_s", "mean_compute_s", "shed_fraction")
    out = {k: float(got[k]) for k in keys}
    assert type(got["verdict"]) is str
    return out, str(got["verdict"])


_r, _v = _read(
    _text(
        [4, 8, 8],
        [0.001, 0.002],
        [0.010, 0.014],
        [("/recommend", 200, 990), ("/recommend", 503, 5), ("/metrics", 503, 500)],
    )
)
assert abs(_r["mean_batch_size"] - 20 / 3) < 1e-9
assert abs(_r["mean_queue_wait_s"] - 0.0015) < 1e-12 and abs(_r["mean_compute_s"] - 0.012) < 1e-12
assert abs(_r["shed_fraction"] - 5 / 995) < 1e-12 and _v == "compute"
_r, _v = _read(_text([1, 1], [0.2, 0.4], [0.05], [("/recommend", 200, 100)]))
assert _v == "queueing" and abs(_r["shed_fraction"]) <= 0.0
_r, _v = _read(_text([32], [0.01], [0.05], [("/recommend", 200, 90), ("/recommend", 503, 10)]))
assert _v == "overloaded" and abs(_r["shed_fraction"] - 0.1) < 1e-12
_r, _v = _read(_text([2], [0.01], [0.05], []))  # no requests yet: nothing shed
assert abs(_r["shed_fraction"]) <= 0.0 and _v == "compute"
### END HIDDEN TESTS

# %% [markdown]
# ### Batching and workers, measured
#
# Scoring one user reads the whole item matrix from memory; scoring 32 users at once reads it
# once. Same machine, same model: batching off, batching on, and (outside grading) two worker
# processes behind one port. Each gets a closed loop for its capacity and the same open-loop
# load, 80% of the batching worker's capacity. The unbatched server is also loaded at 30% and
# 60% of its own capacity, for the queueing check in section 5.

# %%
nobatch = ServiceProcess(MODEL_PATH, max_batch_size=1, cache_size=0)
servers = [("1 worker, batching", svc), ("1 worker, no batching", nobatch)]
if not GRADING:
    servers.append(("2 workers, batching", ServiceProcess(MODEL_PATH, workers=2, cache_size=0)))
comparison, single_server = [], []
for label, server in servers:
    if server is not svc:
        server.start()
    try:
        closed = (
            saturate
            if server is svc
            else run_closed_loop(
                server.url, user_ids=users, concurrency=32, duration_s=LOAD_S, label=label
            )
        )
        fixed = run_open_loop(
            server.url,
            reference_schedule(0.8 * CAPACITY, LOAD_S, seed=3),
            user_ids=users,
            label=f"{label} @ {0.8 * CAPACITY:.0f} rps",
        )
        comparison += [closed, fixed]
        if server is nobatch:
            NOBATCH_CAPACITY = closed.throughput_rps
            for frac in (0.3, 0.6):
                single_server.append(
                    run_open_loop(
                        server.url,
                        reference_schedule(frac * NOBATCH_CAPACITY, LOAD_S, seed=5),
                        user_ids=users,
                        label=f"no batching, {frac:.0%} of its capacity",
                    )
                )
    finally:
        if server is not svc:
            server.stop()
print(load_table(comparison))
RESULTS["batching_and_workers"] = [r.summary() for r in comparison]

# %% [markdown]
# Batching raises capacity, and at high load it keeps latency bounded where the unbatched server
# queues up to its timeout (504s in the `err` column). It is not free: a request now waits for
# its whole batch, so at moderate load its latency is the batch's compute time. A second worker
# only helps if there is a free core for it — on a 2-core machine that also runs the load
# generator, there is hardly one. That is the rule for sizing a pod: workers × threads per worker
# = the CPUs the pod is given.
#
# ## 4. The Kubernetes HPA, exactly
#
# Every 15 s the HPA controller computes `desired = ceil(current × currentMetric / target)` and
# leaves the count alone while the ratio is within the tolerance band `1 ± 0.1`, so noise does
# not make the deployment flap.
#
# **Exercise.** Write `hpa_replicas(current_replicas, current_value, target_value,
# tolerance=0.1)`.


# %% nbgrader={"grade": false, "grade_id": "04_scaling_hpa_formula", "locked": false, "schema_version": 3, "solution": true, "task": false}
def hpa_replicas(current_replicas, current_value, target_value, tolerance=0.1):
    ### BEGIN SOLUTION
    ratio = current_value / target_value
    if 1.0 - tolerance <= ratio <= 1.0 + tolerance:
        return current_replicas
    return math.ceil(current_replicas * ratio)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "04_scaling_hpa_formula_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert hpa_replicas(3, 90, 60) == 5  # 1.5 × 3 = 4.5 → 5
assert hpa_replicas(4, 105, 100) == 4  # inside the band: no change
assert hpa_replicas(10, 50, 100) == 5
assert hpa_replicas(4, 120, 100, tolerance=0.25) == 4
print("HPA formula OK")
### BEGIN HIDDEN TESTS
import random as _random
from fractions import Fraction as _F

from labkit.scaling.hpa import desired_replicas as _ref

_rng = _random.Random(404)
_checked = 0
while _checked < 400:
    _cur, _val, _tgt = _rng.randint(1, 60), _rng.randint(0, 5000), _rng.randint(1, 3000)
    _tol = _rng.choice([0.0, 0.05, 0.1, 0.2])
    _got = hpa_replicas(_cur, _val, _tgt, _tol)
    _ratio = _F(_val, _tgt)
    _exact = _cur * _ratio
    # skip knife edges where float and exact arithmetic may round differently
    if abs(abs(_ratio - 1) - _F(str(_tol))) < _F(1, 10**6):
        continue
    if abs(_exact - round(_exact)) < _F(1, 10**6):
        continue
    assert type(_got) is int, f"return an int, got {type(_got).__name__}"
    assert _got == _ref(_cur, _val, _tgt, _tol), (_cur, _val, _tgt, _tol)
    _checked += 1
for _args, _want in (((5, 0, 100), 0), ((1, 1000, 1), 1000), ((7, 100, 100), 7)):
    _got = hpa_replicas(*_args)
    assert type(_got) is int and _got == _want, (_args, _got)
### END HIDDEN TESTS

# %% [markdown]
# The full controller does more than the formula: for CPU it sets aside pods that are not ready
# and fills in pods without metrics conservatively (`labkit.scaling.hpa.resource_replicas`), and
# its **behavior** rate-limits each change. A scale-down policy `Percent 10 per 60 s` removes at
# most 10% of the replicas the deployment had at the start of the period (rounded down), `Pods 4
# per 60 s` at most 4; `selectPolicy: Max` applies the policy that allows the *larger* change,
# `Min` the smaller, and nothing goes below `minReplicas`.
#
# **Exercise.** Write `scale_down_sequence(start_replicas, policies, select_policy="Max",
# periods=10, min_replicas=1)`: the replica count after each period when the metrics ask for
# `min_replicas` throughout and the controller scales once per period (no stabilization
# window). `policies` is a list of `("Pods" | "Percent", value)` pairs sharing one period.


# %% nbgrader={"grade": false, "grade_id": "04_scaling_rate_limits", "locked": false, "schema_version": 3, "solution": true, "task": false}
def scale_down_sequence(start_replicas, policies, select_policy="Max", periods=10, min_replicas=1):
    ### BEGIN SOLUTION
    replicas, out = start_replicas, []
    for _ in range(periods):
        limits = []
        for kind, value in policies:
            if kind == "Pods":
                limits.append(replicas - value)
            else:
                limits.append(int(replicas * (1 - value / 100)))
        limit = min(limits) if select_policy == "Max" else max(limits)
        replicas = max(min_replicas, min(replicas, limit))
        out.append(replicas)
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "04_scaling_rate_limits_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
docs = scale_down_sequence(80, [("Pods", 4), ("Percent", 10)], "Max", periods=10)
print(docs)
assert docs == [72, 64, 57, 51, 45, 40, 36, 32, 28, 24]  # the Kubernetes documentation's example
assert scale_down_sequence(80, [("Pods", 4), ("Percent", 10)], "Min", periods=3) == [76, 72, 68]
assert scale_down_sequence(5, [("Percent", 50)], periods=4, min_replicas=2) == [2, 2, 2, 2]
### BEGIN HIDDEN TESTS
import random as _random

from labkit.scaling.hpa import Autoscaler as _Auto
from labkit.scaling.hpa import Behavior as _Beh
from labkit.scaling.hpa import ScalingPolicy as _Pol
from labkit.scaling.hpa import ScalingRules as _Rules

_rng = _random.Random(7)
_checked = 0
while _checked < 150:
    _pols = [
        (_rng.choice(["Pods", "Percent"]), _rng.randint(1, 60)) for _ in range(_rng.randint(1, 3))
    ]
    _sel = _rng.choice(["Max", "Min"])
    _start, _lo = _rng.randint(2, 400), _rng.randint(1, 5)
    _got = scale_down_sequence(_start, list(_pols), _sel, periods=8, min_replicas=_lo)
    # reference: the Kubernetes controller, one sync per 60 s period, no stabilization
    _auto = _Auto(_lo, 1000, _Beh(scale_down=_Rules(0, [_Pol(t, v, 60) for t, v in _pols], _sel)))
    _want, _r = [], _start
    for _i in range(8):
        _r = _auto.step(60.0 * _i, _r, _lo)
        _want.append(_r)
    # the same rules in exact arithmetic: skip the rare cases where float64 rounding (which
    # Kubernetes uses) lands on the other side of an integer
    _exact, _x = [], _start
    for _i in range(8):
        _lims = [_x - v if t == "Pods" else (_x * (100 - v)) // 100 for t, v in _pols]
        _x = max(_lo, min(_x, min(_lims) if _sel == "Max" else max(_lims)))
        _exact.append(_x)
    if _exact != _want:
        continue
    assert type(_got) is list and all(type(x) is int for x in _got)
    assert list(_got) == _want, (_start, _pols, _sel, _lo, _got, _want)
    _checked += 1
### END HIDDEN TESTS

# %% [markdown]
# The replica calculator behind the formula treats pods carefully: a pod that is still starting
# counts as using nothing on a scale-up (its CPU is not representative), and a pod without
# metrics counts as fully busy on a scale-down. With the default behavior — scale up by
# max(4 pods, 100%) per 15 s, scale down only after the recommendation has stayed low for a
# 5-minute window — a two-minute spike looks like this:

# %%
from labkit.scaling.hpa import Autoscaler, PodMetric, resource_replicas

pods = [PodMetric(300, 1000), PodMetric(500, 1000), PodMetric(700, 1000)]  # millicores
print("3 ready pods at 30/50/70% of their CPU request, target 30%:", resource_replicas(pods, 30))
starting = [PodMetric(300, 1000, ready=False), *pods[1:]]
print("same, first pod still starting:", resource_replicas(starting, 30))

hpa = Autoscaler(min_replicas=2, max_replicas=50)
replicas, trace = 2, []
for i in range(40):
    recommended = 30 if 4 <= i < 12 else 3  # two minutes of surge, then calm
    replicas = hpa.step(15.0 * i, replicas, recommended)
    trace.append(replicas)
print("replicas every 15 s:", trace)

# %% [markdown]
# ## 5. Capacity planning with Erlang C
#
# Model the pool as M/M/c: Poisson arrivals at rate λ, `c` servers each completing μ requests per
# second. With offered load `a = λ/μ` and `ρ = a/c < 1`, the chance that a request waits is
# Erlang's C formula
#
# $$C(c, a) = \frac{\frac{a^c}{c!}\frac{c}{c-a}}{\sum_{k=0}^{c-1}\frac{a^k}{k!} + \frac{a^c}{c!}\frac{c}{c-a}},
# \qquad P(W_q > t) = C\,e^{-(c\mu-\lambda)t}.$$
#
# **Exercise.** Write `erlang_c(arrival_rate, service_rate, servers)` (raise `ValueError` when
# ρ ≥ 1) and `replicas_for_wait(arrival_rate, service_rate, wait_s, max_probability)`: the
# smallest `c` with `P(Wq > wait_s) ≤ max_probability`.


# %% nbgrader={"grade": false, "grade_id": "04_scaling_erlang", "locked": false, "schema_version": 3, "solution": true, "task": false}
def erlang_c(arrival_rate, service_rate, servers):
    ### BEGIN SOLUTION
    a = arrival_rate / service_rate
    if a >= servers:
        raise ValueError(f"unstable: a = {a:.3g} >= servers = {servers}")
    b = 1.0
    for k in range(1, servers + 1):  # Erlang B recursion, stable for any c
        b = a * b / (k + a * b)
    return servers * b / (servers - a * (1 - b))
    ### END SOLUTION


def replicas_for_wait(arrival_rate, service_rate, wait_s, max_probability):
    ### BEGIN SOLUTION
    c = math.floor(arrival_rate / service_rate) + 1
    while (
        erlang_c(arrival_rate, service_rate, c)
        * math.exp(-(c * service_rate - arrival_rate) * wait_s)
        > max_probability
    ):
        c += 1
    return c
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "04_scaling_erlang_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert abs(erlang_c(2.0, 1.0, 3) - 0.4444) < 1e-4
assert abs(erlang_c(100.0, 20.0, 6) - 0.5875) < 1e-4
try:
    erlang_c(100.0, 20.0, 5)
    raise AssertionError("ρ = 1 must raise ValueError")
except ValueError:
    pass
assert replicas_for_wait(100.0, 20.0, 0.01, 0.05) == 9
print("Erlang C OK")
### BEGIN HIDDEN TESTS
import math as _math
import random as _random
from fractions import Fraction as _F

from labkit.scaling.queueing import servers_for_wait as _sfw


def _exact_c(lam, mu, c):
    a = _F(lam) / _F(mu)
    top = a**c / _math.factorial(c) * _F(c) / (c - a)
    return float(top / (sum(a**k / _math.factorial(k) for k in range(c)) + top))


_rng = _random.Random(2024)
for _ in range(200):
    _c = _rng.randint(1, 40)
    _mu = _rng.uniform(0.5, 50.0)
    _lam = _rng.uniform(0.02, 0.97) * _c * _mu
    _got = float(erlang_c(_lam, _mu, _c))
    assert abs(_got - _exact_c(_lam, _mu, _c)) < 1e-9
for _ in range(60):
    _mu = _rng.uniform(1.0, 40.0)
    _lam = _rng.uniform(1.0, 600.0)
    _w, _p = _rng.uniform(0.0, 0.2), _rng.uniform(0.001, 0.5)
    _got = int(replicas_for_wait(_lam, _mu, _w, _p))
    assert _got == _sfw(_lam, _mu, _w, _p)
for _bad in ((10.0, 1.0, 10), (10.0, 1.0, 3)):
    try:
        erlang_c(*_bad)
    except ValueError:
        pass
    else:
        raise AssertionError("an unstable queue must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# Does the formula describe reality? Two checks: against a request-by-request simulation of the
# queue (independent of the formula), and against the measured unbatched server — a single
# server whose service rate μ is its measured capacity. Exponential service times (M/M/1) and
# constant ones (M/D/1, half the queueing delay) bracket what a real server does.

# %%
from labkit.scaling.queueing import mmc
from labkit.scaling.simulator import simulate_mmc

lam, mu, c = 100.0, 20.0, 7
waits = simulate_mmc(lam, mu, c, n_requests=50_000 if GRADING else 200_000, seed=0)[5_000:]
theory = mmc(lam, mu, c)
print(
    f"M/M/7 at λ=100/s, μ=20/s: P(wait) theory {theory.p_wait:.3f}, simulated "
    f"{(waits > 0).mean():.3f}; mean wait theory {theory.mean_wait_s * 1e3:.2f} ms, simulated "
    f"{waits.mean() * 1e3:.2f} ms"
)
checks = []
for r in single_server:  # the unbatched server handles one request at a time: one server
    lam = r.offered_rps
    service = 1.0 / NOBATCH_CAPACITY
    rho = lam * service
    checks.append(
        {
            "load": r.label,
            "mm1_mean_ms": 1e3 * mmc(lam, NOBATCH_CAPACITY, 1).mean_response_s,
            "md1_mean_ms": 1e3 * (service + rho * service / (2 * (1 - rho))),
            "measured_mean_ms": 1e3 * float(np.mean(r.latency_s[r.ok])),
            "measured_p99_ms": 1e3 * r.p99,
        }
    )
    print(
        f"{r.label}: mean response M/M/1 {checks[-1]['mm1_mean_ms']:.1f} ms, "
        f"M/D/1 {checks[-1]['md1_mean_ms']:.1f} ms, measured {checks[-1]['measured_mean_ms']:.1f} ms"
    )
RESULTS["erlang_checks"] = checks

# %% [markdown]
# The real server sits near the deterministic end (its service times vary little), plus a fixed
# cost the model ignores: the HTTP round trip and the load generator sharing the CPU. That is why
# Erlang C is a *planning* model: it is conservative for real servers, it tells you how fast
# latency climbs as ρ → 1 and how many servers buy how much headroom — and an open-loop test
# confirms the plan.
#
# ## 6. A day of traffic through four autoscaling policies
#
# The simulator replays a day — night trough, lunchtime bump, evening peak, and a surge on top
# (a push notification) — through a pool of replicas whose per-replica capacity is the one you
# just measured and whose start-up delay is your measured cold start plus time to schedule the
# pod. Each policy is priced in requests that missed the latency SLO (or were shed) and in
# replica-hours.

# %%
from labkit.scaling.concurrency import ConcurrencyAutoscaler, ScheduledScaler
from labkit.scaling.plots import plot_simulation
from labkit.scaling.simulator import (
    ConcurrencyPolicy,
    HPAPolicy,
    PoolConfig,
    ScheduledPolicy,
    StaticPolicy,
    results_table,
    simulate,
)
from labkit.scaling.traffic import peak_hour_profile

PEAK_RPS = 20 * CAPACITY  # the regular evening peak needs about 20 replicas
hours = 6 if GRADING else 24
start_hour = 16 if GRADING else 0
day = peak_hour_profile(peak_rps=PEAK_RPS, duration_s=hours * 3600, start_hour=start_hour, seed=0)
forecast = peak_hour_profile(peak_rps=PEAK_RPS, surge_at_hour=None, seed=1)  # "yesterday"
pool = PoolConfig(
    service_rate_rps=CAPACITY,
    startup_s=cold.ready_s + 20.0,  # process start + model load, plus scheduling the pod
    queue_per_replica=64,
    slo_p99_s=0.25,
)
peak_replicas = math.ceil(day.peak_rps / (0.7 * CAPACITY))
plan = ScheduledScaler.from_forecast(
    forecast,
    capacity_rps=CAPACITY,
    target_utilization=0.6,
    lead_s=600,
    clock_offset_s=start_hour * 3600.0,  # the simulated day starts at start_hour
)
policies = [
    StaticPolicy(peak_replicas, name="static (peak)"),
    HPAPolicy(2, 100, target_utilization=60, name="hpa cpu 60%"),
    ConcurrencyPolicy(
        ConcurrencyAutoscaler(
            target_concurrency=1.0, target_utilization=0.7, min_replicas=2, max_replicas=100
        )
    ),
    ScheduledPolicy(plan, name="scheduled"),
    ScheduledPolicy(plan, reactive=HPAPolicy(2, 100, 60), name="scheduled + hpa"),
]
sims = [simulate(day, p, pool, seed=0) for p in policies]
print(day)
print(results_table(sims))
RESULTS["simulation"] = [s.summary() for s in sims]
_ = plot_simulation(sims)

# %% [markdown]
# **Exercise.** Write `choose_policy(summaries, max_violation_pct)`: given rows like the ones
# above (dicts with `policy`, `slo_violation_pct`, `replica_hours`), return the `policy` name of
# the cheapest row whose `slo_violation_pct` is at most `max_violation_pct`; if no row meets the
# budget, the row with the fewest violations (ties: the cheaper).


# %% nbgrader={"grade": false, "grade_id": "04_scaling_choose_policy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def choose_policy(summaries, max_violation_pct):
    ### BEGIN SOLUTION
    meeting = [s for s in summaries if s["slo_violation_pct"] <= max_violation_pct]
    if meeting:
        return min(meeting, key=lambda s: s["replica_hours"])["policy"]
    return min(summaries, key=lambda s: (s["slo_violation_pct"], s["replica_hours"]))["policy"]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "04_scaling_choose_policy_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rows = [s.summary() for s in sims]
best = choose_policy(rows, max_violation_pct=0.1)
print("cheapest policy within 0.1% SLO misses:", best)
assert best in {r["policy"] for r in rows}
toy = [
    {"policy": "a", "slo_violation_pct": 0.0, "replica_hours": 100.0},
    {"policy": "b", "slo_violation_pct": 0.5, "replica_hours": 40.0},
    {"policy": "c", "slo_violation_pct": 0.05, "replica_hours": 60.0},
]
assert choose_policy(toy, 0.1) == "c" and choose_policy(toy, 1.0) == "b"
### BEGIN HIDDEN TESTS
import random as _random

_rng = _random.Random(99)
for _ in range(300):
    _rows = [
        {
            "policy": f"p{i}",
            "slo_violation_pct": _rng.choice([0.0, 0.01, 0.2, 1.5, 7.0]),
            "replica_hours": float(_rng.randint(10, 500)),
            "max_replicas": 3,
        }
        for i in range(_rng.randint(1, 6))
    ]
    _budget = _rng.choice([0.0, 0.05, 0.5, 2.0])
    _got = choose_policy([dict(r) for r in _rows], _budget)
    assert type(_got) is str
    _ok = [r for r in _rows if r["slo_violation_pct"] <= _budget]
    _least = min(x["slo_violation_pct"] for x in _rows)
    _pool = _ok or [r for r in _rows if r["slo_violation_pct"] == _least]
    _cheapest = min(r["replica_hours"] for r in _pool)
    _allowed = {r["policy"] for r in _pool if r["replica_hours"] == _cheapest}
    assert _got in _allowed, (_rows, _budget, _got)
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Serverless: scale to zero, and what it costs
#
# Scale-to-zero removes the last replica after an idle timeout; the next request pays the cold
# start you measured in section 2. Replaying the small hours (01:00–06:00) of a low-traffic
# endpoint — 3 requests a minute at its evening peak, far fewer at night — against one
# scale-to-zero replica:

# %%
from labkit.scaling.serverless import scale_to_zero
from labkit.scaling.traffic import profile_schedule

night = peak_hour_profile(
    peak_rps=0.05, duration_s=5 * 3600, start_hour=1, surge_at_hour=None, seed=3
)
arrivals = profile_schedule(night, seed=4)
for idle in (30.0, 300.0):
    z = scale_to_zero(arrivals, idle_timeout_s=idle, cold_start_s=cold.first_response_s)
    print(
        f"idle timeout {idle:>4.0f} s: {z.requests} requests, {z.cold_starts} cold starts, "
        f"{z.delayed_requests} requests waited {z.mean_delay_s:.1f} s on average; replica time "
        f"saved vs always-on: {z.saving:.0%}"
    )
    RESULTS[f"scale_to_zero_idle_{idle:.0f}s"] = z.to_dict()

# %% [markdown]
# Scale-to-zero pays off for stateless, latency-tolerant, low-traffic parts (a nightly
# re-ranking job, an admin endpoint, a rarely used widget). It does not for the main
# `/recommend` path at peak: there, keep warm replicas and make the cold start short
# (smaller image, model loaded from a local volume, imports trimmed), because the autoscaler's
# new replicas pay it too.
#
# Resource allocation inside the container follows from the measurements in section 3: two
# single-threaded workers per 2-CPU pod, `requests == limits` so the pod is neither throttled
# below its size nor evicted first — see `deploy/k8s/deployment.yaml`, which the course's tests
# validate against the Kubernetes API schema.

# %%
svc.stop()
summary = {  # the numbers to cite in the answer below
    "capacity_rps_1_worker_batching": CAPACITY,
    "capacity_rps_1_worker_no_batching": NOBATCH_CAPACITY,
    "cold_start_s": cold.first_response_s,
    "policies": {
        s.name: (round(s.summary()["slo_violation_pct"], 3), round(s.replica_hours)) for s in sims
    },
}
RESULTS["summary"] = summary
with open("04_scaling_results.json", "w") as fh:
    json.dump(RESULTS, fh, indent=1, default=float)
print(json.dumps(summary, indent=1, default=float))

# %% [markdown] nbgrader={"grade": false, "grade_id": "04_scaling_interview_question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## The interview question
#
# *Your deployed recommendation engine is slowing down under a surge of traffic at peak hours.
# How would you approach this scalability challenge?*
#
# Answer in 200–350 words, citing numbers you measured in this notebook.
#
# **Mark scheme (10 points).** 2 — measures before acting: open-loop load test, latency from the
# scheduled time, p99 against an SLO, and the bottleneck read from metrics (queue wait vs compute,
# shed rate). 2 — makes one replica efficient first: micro-batching, caching hot users, bounded
# queue with 503 + Retry-After, workers × threads matched to CPU requests/limits, with the
# measured gains. 2 — scales out correctly: HPA on CPU and/or in-flight requests, its formula and
# tolerance, fast scale-up and slow scale-down (stabilization, rate policies), and pod start-up
# time as the limit on reaction speed. 2 — plans capacity: Erlang C / M/M/c sizing checked
# against a load test, headroom for surges, scheduled/predictive scaling for the known daily peak.
# 2 — weighs cost and serverless: replica-hours per policy, scale-to-zero only where the
# measured cold start is acceptable.

# %% [markdown] nbgrader={"grade": true, "grade_id": "04_scaling_interview_answer", "locked": false, "points": 10, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# *Model answer. Figures from the reference run: a 2-core CPU shared with other jobs, the load
# generator on the same cores. Cite your own.*
#
# **Measure first, the way users load the service.** An open-loop test with Poisson arrivals,
# latency counted from the scheduled send time. One worker with dynamic batching handled about
# 350 requests/s. At 200% of that, the bounded queue refused the excess with 503 in milliseconds
# (663 of ~1,440 requests) and kept the p99 of accepted requests at about 0.6 s instead of
# letting it grow without limit; a closed-loop benchmark "at capacity" reported a calm 125 ms
# p99 because it can never send faster than the server answers. The service's own metrics
# located the time: 54 ms mean queue wait against 18 ms of model time per batch, 21% shed.
#
# **Make each replica efficient.** Batching served 2.2× the requests of one-at-a-time scoring
# (≈350 vs ≈160 requests/s: the 100,000-item catalog matrix is read once per batch); a second
# worker process added ≈20% here because the load generator used the other core. In a pod,
# workers × threads per worker = the CPU request = the limit. A hot-user cache takes the most
# active users off the model entirely.
#
# **Scale out, knowing the controller.** The HPA computes ceil(replicas × metric / target) with
# a ±10% dead band, adds at most max(4 pods, 100%) per 15 s and removes pods only after a 5-minute
# window. New pods need the cold start (≈3 s here, plus scheduling) before they help, so over a
# replayed day with an evening surge a CPU-based HPA still missed the SLO for 0.06% of requests
# (and shed 129,000). Erlang C sized the pool (it matched a request-level simulation to within
# 0.01 in P(wait)); a schedule built from yesterday's traffic with a 10-minute lead met the SLO
# with 385 replica-hours against 1,200 for static peak provisioning, and the HPA on top of the
# schedule covers a surge the forecast did not see. Scaling on requests in flight (Knative-style,
# with a panic mode) reacted fastest: 0.02% misses with 327 replica-hours, at the price of
# bursting to 100 replicas.
#
# **Serverless where it fits.** Scale-to-zero saved 78% of the replica time of a quiet endpoint
# at night with a 30 s idle timeout, but 107 of its 136 requests paid a 3 s cold start: fine for
# a stateless, latency-tolerant side path, not for `/recommend` at peak.
# ### END SOLUTION
