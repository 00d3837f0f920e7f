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
# serverless. This lab replaces the list with measurements and with the mechanisms themselves.
# You will
#
# 1. train a real recommender and serve it over HTTP with micro-batching and a bounded queue;
# 2. load it the way users do (open loop) and the way most benchmarks do (closed loop), and see
#    why only one of them tells the truth about latency;
# 3. find the bottleneck from the service's own Prometheus metrics;
# 4. **build** an admission controller (a token bucket) and put it in front of the service;
# 5. size the pool with queueing theory (Erlang C) and compare it with the real server;
# 6. **build** the Kubernetes HPA's scaling behavior — stabilization window, rate policies,
#    `selectPolicy` — graded against the controller's rules;
# 7. **size** a static pool with Erlang C and replay a day with an evening surge through static,
#    HPA, concurrency-based and scheduled autoscaling, priced in SLO misses and replica-hours;
# 8. measure a cold start, the cost of serverless scale-to-zero.
#
# Exercises: 1 Poisson schedule (2 points), 2 bottleneck (2), 3 token bucket (3), 4 Erlang C
# (3), 5 HPA behavior (4), 6 pool sizing (3), and the written answer (10).
#
# Every number below is produced on your machine. The same code runs on a laptop CPU and on a
# GPU server; sizes shrink automatically while the notebook is being graded.

# %%
import json
import math
import os
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np

import labkit
from labkit.device import environment_report, resolve
from labkit.scaling.data import make_interactions
from labkit.scaling.recommender import PopularityRecommender, recall_at_k, train_mf

GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
DEVICE = resolve()
N_USERS = 1_500 if GRADING else 5_000
N_ITEMS = 10_000 if GRADING else 100_000  # the catalog every request scores
DIM = 32 if GRADING else 64
EPOCHS = 1 if GRADING else 2
LOAD_S = 0.6 if GRADING else 2.0  # seconds per load test
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
# `/readyz`, `/metrics`. Requests join the **bounded queue** of lab 02's dynamic batcher, which
# scores up to 32 waiting users in one matrix product (the service also has a hot-user cache;
# every service in this notebook runs with it switched off, `cache_size=0`, so the model does all
# the work). A full queue answers 503 with `Retry-After` at once; a request not answered in time
# gets 504; SIGTERM drains gracefully. We start it as a child process on loopback and time its
# start-up: that is the cold start a new replica (or a serverless instance) pays.

# %%
from labkit.scaling.process import ServiceProcess
from labkit.scaling.serverless import ColdStart

svc = ServiceProcess(MODEL_PATH, max_batch_size=32, max_queue_size=64, cache_size=0).start()
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
#
# **Exercise 1 (2 points).** Write `poisson_schedule(rate, duration_s, seed=None)`: the send
# times (seconds from the start) of a Poisson process with `rate` requests per second, as a
# sorted 1-D float NumPy array holding every arrival in `[0, duration_s)` (possibly none). The
# same seed must give the same schedule; different seeds, different ones. The test checks the
# gaps against the exponential distribution and the counts against the Poisson distribution
# (mean = variance = `rate × duration_s`), for rates from 0.001 to 4,000 per second; it passes
# only positive rates and durations (what you do with others is up to you).


# %% nbgrader={"grade": false, "grade_id": "04_scaling_poisson", "locked": false, "schema_version": 3, "solution": true, "task": false}
def poisson_schedule(rate, duration_s, seed=None):
    """Send times (seconds from the start) of a Poisson process with `rate` requests per second."""
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
    # exponential gaps (KS test against scipy's exponential distribution) ...
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
#
# ## 3. Find the bottleneck in the metrics
#
# The service exports Prometheus metrics: request counts by endpoint and status, latency
# histograms, requests in flight, queue depth, batch sizes, the time each *request* waited in
# the queue and the time each *batch* spent in the model. `labkit.scaling.metrics.parse_metrics`
# reads the text format into `{sample_name: [Sample(name, labels, value), ...]}`; a histogram
# `h` appears as the samples `h_sum` and `h_count` (besides its buckets).
#
# **Exercise 2 (2 points).** Write `read_bottleneck(text)` returning a dict with
# - `mean_batch_size`: `labkit_batch_size_sum / labkit_batch_size_count` (requests per batch);
# - `mean_queue_wait_s`: the mean of `labkit_queue_wait_seconds` (observed once per request);
# - `mean_compute_s`: the mean of `labkit_batch_compute_seconds` — model time **per batch**
#   (observed once per batch; do not spread it over the batch's requests);
# - `shed_fraction`: 503 responses (label `status="503"`) over all responses of
#   `endpoint="/recommend"` in `labkit_requests_total` (other endpoints do not count; 0.0 when
#   there are none);
# - `verdict`, a string: `"overloaded"` when `shed_fraction > 0.01` (exactly 1% is not), else
#   `"queueing"` when the mean queue wait is strictly greater than the mean compute time per
#   batch, else `"compute"`.
#
# A histogram with no observations has mean 0.0 (`labkit.scaling.metrics.histogram_mean` returns
# NaN there, so check the count if you use it). The numbers may be any real numbers (NumPy
# scalars too); the test builds metrics with `prometheus_client` whose batches hold different
# numbers of requests, and puts values exactly on both thresholds.

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
print({k: (round(float(v), 4) if not isinstance(v, str) else v) for k, v in report.items()})
assert set(report) >= {
    "mean_batch_size",
    "mean_queue_wait_s",
    "mean_compute_s",
    "shed_fraction",
    "verdict",
}
assert float(report["mean_batch_size"]) >= 1.0
assert 0.0 <= float(report["shed_fraction"]) <= 1.0
# How much the 200% open loop was shed depends on how busy this machine is; the verdict must
# follow the rule for whatever was measured.
if report["shed_fraction"] > 0.01:
    assert report["verdict"] == "overloaded"
elif report["mean_queue_wait_s"] > report["mean_compute_s"]:
    assert report["verdict"] == "queueing"
else:
    assert report["verdict"] == "compute"
### BEGIN HIDDEN TESTS
# Reference: metrics written by prometheus_client itself, expected values by hand.
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
    assert isinstance(got["verdict"], str), "verdict must be a string"
    return out, str(got["verdict"])


# batches of 4, 8 and 8 requests: per batch 12 ms of compute (per request it would be 1.8 ms,
# below the 5 ms queue wait: the verdict differs)
_r, _v = _read(
    _text(
        [4, 8, 8],
        [0.004, 0.006] * 10,
        [0.010, 0.012, 0.014],
        [("/recommend", 200, 990), ("/recommend", 503, 5), ("/metrics", 503, 500)],
    )
)
assert abs(_r["mean_batch_size"] - 20 / 3) < 1e-9
assert abs(_r["mean_queue_wait_s"] - 0.005) < 1e-12 and abs(_r["mean_compute_s"] - 0.012) < 1e-12
assert abs(_r["shed_fraction"] - 5 / 995) < 1e-12 and _v == "compute"
_r, _v = _read(_text([1, 3], [0.2, 0.4, 0.3, 0.1], [0.05, 0.07], [("/recommend", 200, 100)]))
assert _v == "queueing" and abs(_r["shed_fraction"]) <= 0.0
_r, _v = _read(_text([32], [0.01], [0.05], [("/recommend", 200, 90), ("/recommend", 503, 10)]))
assert _v == "overloaded" and abs(_r["shed_fraction"] - 0.1) < 1e-12
# exactly 1% shed is not overloaded; a queue wait equal to the compute time is not queueing
_r, _v = _read(
    _text([2, 6], [0.25, 0.25], [0.25, 0.25], [("/recommend", 200, 990), ("/recommend", 503, 10)])
)
assert abs(_r["shed_fraction"] - 0.01) < 1e-15 and _v == "compute", _v
# 504s are responses too: 10 shed of 1,000 responses
_r, _v = _read(
    _text(
        [4],
        [0.5],
        [0.25],
        [("/recommend", 200, 900), ("/recommend", 504, 90), ("/recommend", 503, 10)],
    )
)
assert abs(_r["shed_fraction"] - 0.01) < 1e-15 and _v == "queueing", _v
_r, _v = _read(_text([2], [0.01], [0.05], []))  # no requests yet: nothing shed
assert abs(_r["shed_fraction"]) <= 0.0 and _v == "compute"
_r, _v = _read(_text([], [], [], [("/recommend", 200, 3)]))  # no batch yet: means are 0
assert _r["mean_batch_size"] == 0.0 and _r["mean_compute_s"] == 0.0 and _v == "compute"
### END HIDDEN TESTS

# %% [markdown]
# ### Batching and workers, measured
#
# Scoring one user reads the whole item matrix from memory; scoring 32 users at once reads it
# once. Same machine, same model: batching on and, outside grading, batching off, two worker
# processes behind one port, and one worker with a hot-user cache of 1,000 users in front of
# the model (the traffic is Zipf: a few users send most requests). Each gets a closed loop for its capacity and the
# same open-loop load, 80% of the batching worker's capacity. The unbatched server is also
# loaded at 30%, 60% and 90% of its own capacity, for the queueing check in section 5.

# %%
from labkit.scaling.metrics import parse_metrics as parse_prometheus

nobatch = ServiceProcess(MODEL_PATH, max_batch_size=1, cache_size=0)
servers = [("1 worker, batching", svc)]
if not GRADING:  # while grading, only the batching worker (the tests need nothing else)
    servers.append(("1 worker, no batching", nobatch))
    servers.append(("2 workers, batching", ServiceProcess(MODEL_PATH, workers=2, cache_size=0)))
    cached = ServiceProcess(MODEL_PATH, cache_size=1_000, cache_ttl_s=60.0)
    servers.append(("1 worker, batching, cache", cached))
comparison, single_server, NOBATCH_CAPACITY = [], [], math.nan
cache_hit_rate = math.nan
for label, server in servers:
    if server is not svc:
        server.start()
    try:
        closed = (
            saturate  # while grading, reuse section 2's; otherwise measure side by side
            if server is svc and GRADING
            else run_closed_loop(
                server.url, user_ids=users, concurrency=32, duration_s=LOAD_S, label=label
            )
        )
        comparison.append(closed)
        fixed = run_open_loop(
            server.url,
            reference_schedule(0.8 * CAPACITY, LOAD_S, seed=3),
            user_ids=users,
            label=f"{label} @ {0.8 * CAPACITY:.0f} rps",
        )
        comparison.append(fixed)
        if server is nobatch:
            NOBATCH_CAPACITY = closed.throughput_rps
            for frac in (0.3, 0.6, 0.9):
                single_server.append(
                    run_open_loop(
                        server.url,
                        reference_schedule(frac * NOBATCH_CAPACITY, LOAD_S, seed=5),
                        user_ids=users,
                        label=f"no batching, {frac:.0%} of its capacity",
                    )
                )
        if label.endswith("cache"):
            lookups = parse_prometheus(server.metrics_text()).get("labkit_cache_requests_total", [])
            counts = {x.labels["result"]: x.value for x in lookups}
            cache_hit_rate = counts.get("hit", 0.0) / max(1.0, sum(counts.values()))
    finally:
        if server is not svc:
            server.stop()
print(load_table(comparison))
if not GRADING:
    print(f"hot-user cache (1,000 users, Zipf traffic): {cache_hit_rate:.0%} of lookups hit")
RESULTS["batching_and_workers"] = [r.summary() for r in comparison]
RESULTS["cache_hit_rate"] = cache_hit_rate

# %% [markdown]
# Compare the closed-loop rows, measured one after the other: batching should raise capacity,
# and at a load beyond the unbatched server's capacity it keeps latency bounded where the
# unbatched server builds a queue (compare the p99 of the open-loop rows at the same rate; past
# its request timeout it would answer 504, the `err` column). Rows measured seconds apart on a
# machine shared with other jobs can differ by more than any of these effects: if they
# contradict each other, run the cell again.
#
# Batching is not free: a request waits for its whole batch, so at moderate load its latency is
# the batch's compute time. A second worker only helps if there is a free core for it; on a
# 2-core machine that also runs the load generator there may be none. That is the rule for
# sizing a pod: workers × threads per worker = the CPUs the pod is given. The cache answers a
# repeat request without the model at all: what it buys is the printed hit rate times the
# model's share of the latency, for results that may be up to `cache_ttl_s` (here 60 s) stale.
#
# ## 4. Admission control: a token bucket at the gateway
#
# The bounded queue sheds load only once it is full, so every accepted request at 200% load
# waited behind a full queue. A gateway can refuse the excess *before* it reaches the replica:
# a **token bucket** admits a sustained `rate_per_s` requests per second and bursts of up to
# `burst` requests, and answers the rest 429 at once (Envoy's and NGINX's local rate limits,
# AWS API Gateway's throttling).
#
# **Exercise 3 (3 points). Build the token bucket.** Write the class
# `TokenBucket(rate_per_s, burst)` with one method, `admit(now_s) -> bool`:
# - the bucket holds at most `burst` tokens and is full at the first call to `admit`;
# - between calls it refills continuously at `rate_per_s` tokens per second (fractions of a
#   token count), never above `burst`;
# - `admit(now_s)` returns `True` and spends one token when at least one whole token is
#   available at time `now_s` (exactly 1.0 token is enough), else `False` and spends nothing;
# - `now_s` is a time in seconds on any clock; several calls may share the same `now_s`;
# - `ValueError` when `rate_per_s` is not > 0, when `burst` is not ≥ 1, or when `now_s` is
#   earlier than the previous call's.
#
# The decision is a pure function of the arrival times, so the test replays arrival sequences on
# a virtual clock (no sleeping) and compares every decision with an independent formulation of
# the same limiter; its rates are powers of two and its times multiples of 1/256 s, so your
# arithmetic and the reference's are exact. Return a `bool` (a NumPy bool is fine).


# %% nbgrader={"grade": false, "grade_id": "04_scaling_token_bucket", "locked": false, "schema_version": 3, "solution": true, "task": false}
class TokenBucket:
    """Admit a sustained rate with bounded bursts; refuse the rest at once."""

    ### BEGIN SOLUTION
    def __init__(self, rate_per_s, burst):
        if not rate_per_s > 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s!r}")
        if not burst >= 1:
            raise ValueError(f"burst must be >= 1 token, got {burst!r}")
        self.rate_per_s = float(rate_per_s)
        self.burst = float(burst)
        self.tokens = self.burst
        self.last_s = None

    def admit(self, now_s):
        if self.last_s is not None:
            if now_s < self.last_s:
                raise ValueError(f"now_s went backwards: {now_s!r} after {self.last_s!r}")
            self.tokens = min(self.burst, self.tokens + (now_s - self.last_s) * self.rate_per_s)
        self.last_s = now_s
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "04_scaling_token_bucket_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
bucket = TokenBucket(rate_per_s=2.0, burst=3)
got = [bool(bucket.admit(t)) for t in (0.0, 0.0, 0.0, 0.0, 0.25, 0.5, 0.75, 10.0, 10.0, 10.0, 10.0)]
print(got)
# a full bucket of 3, then empty; 0.5 s refills exactly one token; a long idle refills only 3
assert got == [True, True, True, False, False, True, False, True, True, True, False]
try:
    TokenBucket(rate_per_s=0.0, burst=1)
    raise AssertionError("rate_per_s = 0 must raise ValueError")
except ValueError:
    pass
### BEGIN HIDDEN TESTS
import random as _random

import numpy as _np

_rng = _random.Random(2718)


def _gcra(rate, burst, times):
    # Reference: the generic cell rate algorithm (ITU-T I.371, "virtual scheduling"): the
    # theoretical arrival time tat advances by 1/rate per admitted request; a request is admitted
    # when it is no earlier than tat − (burst − 1)/rate. Equivalent to a token bucket.
    tat, out = None, []
    for t in times:
        if tat is None or t >= tat - (burst - 1) / rate:
            tat = (t if tat is None else max(tat, t)) + 1.0 / rate
            out.append(True)
        else:
            out.append(False)
    return out


for _case in range(300):
    _rate = 2.0 ** _rng.randint(-2, 6)
    _burst = _rng.choice([1, 1, 2, 3, 5, 8, 32])
    _t, _times = 0.0, []
    for _ in range(_rng.randint(1, 120)):
        _t += _rng.choice([0, 0, 1, 2, 4, 16, 64, 256, 2048]) / 256  # bursts, gaps, idle
        _times.append(_t)
    _b = TokenBucket(_rate, _burst)
    _got = []
    for _x in _times:
        _d = _b.admit(_x)
        assert isinstance(_d, (bool, _np.bool_)), f"admit must return a bool, got {type(_d)}"
        _got.append(bool(_d))
    _want = _gcra(_rate, _burst, _times)
    assert _got == _want, (_rate, _burst, _times, _got, _want)
    # the defining guarantee: no window of length T admits more than burst + rate × T
    _adm = [x for x, ok in zip(_times, _got, strict=True) if ok]
    for _i in range(len(_adm)):
        for _j in range(_i, len(_adm)):
            assert _j - _i + 1 <= _burst + _rate * (_adm[_j] - _adm[_i]) + 1e-9
# NumPy times and a NumPy rate are fine
_b = TokenBucket(_np.float64(4.0), _np.int64(2))
assert [bool(_b.admit(_np.float64(x))) for x in (0.0, 0.0, 0.0, 0.25, 0.25)] == [
    True,
    True,
    False,
    True,
    False,
]
for _args in ((-1.0, 3), (1.0, 0.5), (1.0, 0)):
    try:
        TokenBucket(*_args)
    except ValueError:
        pass
    else:
        raise AssertionError(f"TokenBucket{_args} must raise ValueError")
_b = TokenBucket(1.0, 1)
_b.admit(5.0)
try:
    _b.admit(4.0)
except ValueError:
    pass
else:
    raise AssertionError("a time earlier than the previous call's must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# Now the real service at 200% of its closed-loop capacity (the schedule of section 2), twice in
# a row: first with nothing in front of it, so its bounded queue sheds the excess with 503 and
# what it serves is its **saturated throughput**; then behind your token bucket at 90% of that
# saturated throughput, with a burst of 16. (A closed loop of 32 users never lets the batcher
# see more than 32 requests, so the saturated throughput can differ from the closed-loop
# capacity.) The gateway's decision depends only on when each request arrives, so the bucket is
# applied to the schedule and only the admitted requests are sent; the refused ones would have
# got a 429 in microseconds.

# %%
surge = reference_schedule(2.0 * CAPACITY, LOAD_S, seed=2)  # the 200% schedule of section 2
ungated = run_open_loop(svc.url, surge, user_ids=users, label="bounded queue, 200% offered")
SATURATED = ungated.throughput_rps  # what one replica serves with its queue always full
gate = TokenBucket(rate_per_s=0.9 * SATURATED, burst=16)
admitted = np.array([t for t in surge if gate.admit(float(t))])
gated = run_open_loop(svc.url, admitted, user_ids=users, label="token bucket, 200% offered")
admission = []
for name, r in (("bounded queue only", ungated), ("token bucket", gated)):
    admission.append(
        {
            "front": name,
            "offered": len(surge),
            "refused_at_gateway": len(surge) - r.n,
            "shed_503": r.count(503),
            "other_errors": r.n - int(r.ok.sum()) - r.count(503),
            "goodput_rps": r.throughput_rps,
            "goodput_vs_saturated": r.throughput_rps / SATURATED,
            "p99_ok_ms": 1e3 * r.p99,
        }
    )
print(f"saturated throughput {SATURATED:.0f} requests/s; bucket rate {0.9 * SATURATED:.0f}/s")
print(f"{'front':<20}{'offered':>8}{'429':>6}{'503':>6}{'err':>5}{'goodput/s':>15}{'p99 ms':>8}")
for row in admission:
    print(
        f"{row['front']:<20}{row['offered']:>8}{row['refused_at_gateway']:>6}{row['shed_503']:>6}"
        f"{row['other_errors']:>5}{row['goodput_rps']:>8.0f} ({row['goodput_vs_saturated']:4.0%})"
        f"{row['p99_ok_ms']:>8.0f}"
    )
RESULTS["admission"] = admission
_ = plot_latency_timeline([ungated, gated])

# %% [markdown]
# Read the two rows together: goodput (answers with 200 per second, and as a share of the
# saturated throughput) and the p99 of the requests that were served. The bucket trades a little
# goodput — its rate is 90% of saturation — for a short queue: an accepted request no longer
# waits behind a full one, and the replica spends no CPU on requests it will refuse. The plot
# shows each request's latency against its send time for both runs. On a machine shared with
# other jobs the replica's speed changes from one second to the next; if the gated run still
# shows 503s, the replica was slower than the bucket's rate while it ran. That is the weakness of
# any fixed rate limit: it needs the capacity to be known. An adaptive limit (a concurrency limit
# tuned from measured latency, as Netflix's `concurrency-limits` does) finds it as it goes.
#
# ## 5. Capacity planning with Erlang C
#
# Model the pool as M/M/c: Poisson arrivals at rate λ, `c` servers each completing μ requests per
# second with exponentially distributed service times. With offered load `a = λ/μ` and
# `ρ = a/c < 1`, the chance that a request waits is Erlang's C formula
#
# $$C(c, a) = \frac{\frac{a^c}{c!}\frac{c}{c-a}}{\sum_{k=0}^{c-1}\frac{a^k}{k!} + \frac{a^c}{c!}\frac{c}{c-a}},
# \qquad P(W_q > t) = C\,e^{-(c\mu-\lambda)t}.$$
#
# **Exercise 4 (3 points).** Write
# - `erlang_c(arrival_rate, service_rate, servers)`: C as a float-like real number; raise
#   `ValueError` when ρ ≥ 1 (the queue grows without bound);
# - `replicas_for_wait(arrival_rate, service_rate, wait_s, max_probability)`: the smallest
#   integer `c` with `P(Wq > wait_s) ≤ max_probability` (only stable pools, `c > a`, qualify);
#   raise `ValueError` when `max_probability` is not in `(0, 1]`.
#
# Sizes: a pool of hundreds of replicas is ordinary, and the test uses up to 1,000 servers.
# Written literally, `a**c / math.factorial(c)` overflows a float once `c` passes about 170, so
# compute C without huge intermediate numbers: the Erlang B recurrence `B = 1`, then for
# `k = 1 … c`: `B = a·B / (k + a·B)`, gives `C = c·B / (c − a·(1 − B))`; a sum of logarithms
# (`math.lgamma`) works too. Arguments may be Python or NumPy numbers (`np.float64`,
# `np.int64`); return any real number from `erlang_c` and any integer from `replicas_for_wait`.


# %% nbgrader={"grade": false, "grade_id": "04_scaling_erlang", "locked": false, "schema_version": 3, "solution": true, "task": false}
def erlang_c(arrival_rate, service_rate, servers):
    ### BEGIN SOLUTION
    a = arrival_rate / service_rate
    if a >= servers:
        raise ValueError(f"unstable: a = {a:.3g} >= servers = {servers}")
    b = 1.0
    for k in range(1, int(servers) + 1):  # Erlang B recursion, stable for any c
        b = a * b / (k + a * b)
    return servers * b / (servers - a * (1 - b))
    ### END SOLUTION


def replicas_for_wait(arrival_rate, service_rate, wait_s, max_probability):
    ### BEGIN SOLUTION
    if not 0 < max_probability <= 1:
        raise ValueError(f"max_probability must be in (0, 1], got {max_probability!r}")
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
print(f"C(c=500, a=480) = {float(erlang_c(480.0, 1.0, 500)):.4f}")
### BEGIN HIDDEN TESTS
import math as _math
import numbers as _numbers
import random as _random

import numpy as _np
from scipy import stats as _stats

from labkit.scaling.queueing import servers_for_wait as _sfw


def _scipy_c(lam, mu, c):
    # Reference: Erlang B is the truncated Poisson tail, B = pmf(c; a) / cdf(c; a) (scipy), and
    # C = B / (1 − ρ(1 − B)).
    a = lam / mu
    b = _stats.poisson.pmf(c, a) / _stats.poisson.cdf(c, a)
    return float(b / (1 - (a / c) * (1 - b)))


_rng = _random.Random(2024)
_cases = [(_rng.randint(1, 40), 0.02, 0.97) for _ in range(150)]
_cases += [(_rng.randint(150, 1000), 0.5, 0.995) for _ in range(40)]  # past factorial overflow
for _c, _lo, _hi in _cases:
    _mu = _rng.uniform(0.5, 50.0)
    _lam = _rng.uniform(_lo, _hi) * _c * _mu
    _got = erlang_c(_np.float64(_lam), _np.float64(_mu), _np.int64(_c))
    assert isinstance(_got, _numbers.Real), f"erlang_c must return a number, got {type(_got)}"
    _want = _scipy_c(_lam, _mu, _c)
    assert abs(float(_got) - _want) <= 1e-9 + 1e-7 * _want, (_lam, _mu, _c, _got, _want)
for _ in range(60):
    _mu = _rng.uniform(1.0, 40.0)
    _lam = _rng.uniform(1.0, 600.0) * (_mu if _rng.random() < 0.3 else 1.0)  # up to 600 servers
    _w, _p = _rng.uniform(0.0, 0.2), _rng.uniform(0.001, 0.5)
    _got = replicas_for_wait(_lam, _mu, _w, _p)  # reference: labkit's servers_for_wait
    assert isinstance(_got, _numbers.Integral), f"return an integer, got {type(_got)}"
    assert int(_got) == _sfw(_lam, _mu, _w, _p), (_lam, _mu, _w, _p, _got)
assert int(replicas_for_wait(_np.float64(100.0), _np.float64(20.0), 0.0, 1.0)) == 6
for _bad in ((10.0, 1.0, 10), (10.0, 1.0, 3)):
    try:
        erlang_c(*_bad)
    except ValueError:
        pass
    else:
        raise AssertionError("an unstable queue must raise ValueError")
for _p in (0.0, -0.1, 1.5):
    try:
        replicas_for_wait(100.0, 20.0, 0.01, _p)
    except ValueError:
        pass
    else:
        raise AssertionError(f"max_probability={_p} must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# Does the formula describe reality? Two checks: against a request-by-request simulation of the
# queue (independent of the formula), and against the measured unbatched server — a single
# server whose service rate μ is its measured capacity. Exponential service times (M/M/1, the
# model above) and constant ones (M/D/1, half the queueing delay) bracket a server whose service
# times vary less than an exponential's (coefficient of variation CV < 1). The plot is the
# "hockey stick": response time against utilization ρ, flat at first and steep as ρ → 1.

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
service = 1.0 / NOBATCH_CAPACITY
for r in single_server:  # the unbatched server handles one request at a time: one server
    rho = r.offered_rps * service
    checks.append(
        {
            "load": r.label,
            "rho": rho,
            "mm1_mean_ms": 1e3 * service / (1 - rho) if rho < 1 else math.inf,
            "md1_mean_ms": 1e3 * (service + rho * service / (2 * (1 - rho)))
            if rho < 1
            else math.inf,
            "measured_mean_ms": 1e3 * float(np.mean(r.latency_s[r.ok])),
            "measured_p99_ms": 1e3 * r.p99,
        }
    )
    row = checks[-1]
    print(
        f"ρ = {rho:.2f}: mean response M/M/1 {row['mm1_mean_ms']:.1f} ms, M/D/1 "
        f"{row['md1_mean_ms']:.1f} ms, measured {row['measured_mean_ms']:.1f} ms "
        f"(p99 {row['measured_p99_ms']:.1f} ms)"
    )
RESULTS["erlang_checks"] = checks
grid = np.linspace(0.02, 0.95, 100)
fig, ax = plt.subplots(figsize=(7, 3.8))  # empty while grading: no unbatched server then
ax.plot(grid, 1e3 * service / (1 - grid), label="M/M/1 (exponential service, CV = 1)")
ax.plot(grid, 1e3 * (service + grid * service / (2 * (1 - grid))), label="M/D/1 (CV = 0)")
ax.plot(
    [r["rho"] for r in checks], [r["measured_mean_ms"] for r in checks], "ko", label="measured mean"
)
ax.plot(
    [r["rho"] for r in checks], [r["measured_p99_ms"] for r in checks], "k^", label="measured p99"
)
ax.set_xlabel("utilization ρ = offered rate / measured capacity")
ax.set_ylabel("response time (ms)")
if checks:
    ax.set_yscale("log")
    ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# The simulation checks the formula itself: it matches. The real server is another matter, and
# the points above need not lie on either curve. The models describe only the server's queue;
# the measurement adds what they leave out — the HTTP round trip, the client's own event loop
# and two processes sharing two cores — as an offset that dominates at low load. And ρ is
# computed from a capacity that a closed loop measured on the same cores, so where the load
# generator is the limit, ρ is overstated and the points rise later than the curves. Read the
# plot for how fast the measured latency climbs, not for the curve it sits on.
#
# Which model to plan with depends on how much service times vary. M/M/c assumes exponential
# service (coefficient of variation CV = 1). For a server whose service times vary less
# (CV < 1, as for a fixed-size matrix product) Erlang C *overestimates* queueing, so its sizes
# are conservative; for one whose service times vary more (CV > 1: cache hits mixed with misses,
# garbage-collection pauses, long and short inputs) it *underestimates* the wait, and its sizes
# are too small. Erlang C is a planning model; an open-loop test confirms the plan.
#
# ## 6. The Kubernetes HPA's behavior, exactly
#
# Every 15 s the HPA controller computes a recommendation, `ceil(current × metric / target)`
# (no change while the ratio is within `1 ± 0.1`; `labkit.scaling.hpa.desired_replicas` and
# `resource_replicas`, which also handles pods that are starting or have no metrics). It does
# not apply it directly: `spec.behavior` first **stabilizes** it over a window of past
# recommendations and **rate-limits** the change with policies. That is what makes an HPA
# scale up fast and down slowly, and what decides how far behind a surge it runs.
#
# **Exercise 5 (4 points). Build the HPA's behavior.** Write the class
# `HPABehavior(min_replicas, max_replicas, scale_up=None, scale_down=None)` with one method,
# `step(now_s, current_replicas, recommended_replicas) -> int`: the replica count the
# controller sets at the sync at time `now_s` (seconds), given the count now (always ≥ 1) and
# the recommendation. The caller applies what `step` returns.
#
# `scale_up` and `scale_down` are dicts `{"window_s": w, "policies": [(type, value, period_s),
# ...], "select": "Max" | "Min" | "Disabled"}`; `None` means Kubernetes' default:
# up `{"window_s": 0, "policies": [("Pods", 4, 15), ("Percent", 100, 15)], "select": "Max"}`,
# down `{"window_s": 300, "policies": [("Percent", 100, 15)], "select": "Max"}`. A policy type
# is `"Pods"` or `"Percent"`; raise `ValueError` for any other type, for any other `select`, and
# when `now_s` is earlier than the previous call's.
#
# The controller's rules, in order, for each call:
# 1. **First call only:** record `current_replicas` as a recommendation made at `now_s` (so a
#    restarted controller does not scale down at once).
# 2. **Bounds:** if `current_replicas > max_replicas` the result is `max_replicas`; if it is
#    below `min_replicas`, `min_replicas`; steps 3–4 are skipped (nothing is recorded as a
#    recommendation) and you go to step 5.
# 3. **Stabilization:** `up = min` of the recommendation of this call and every recorded
#    recommendation made **strictly after** `now_s − scale_up["window_s"]`; `down = max` of the
#    same set for the scale-down window. Then record this call's recommendation (at `now_s`).
#    The stabilized count is `min(max(current, up), down)`: a scale-up needs every
#    recommendation in the up window to agree, a scale-down every one in the down window.
# 4. **Rate limits**, only when the stabilized count differs from `current`. For each policy of
#    that direction, `start` = the replica count at the start of its period: `current` minus the
#    net change of every scale event (up or down) made strictly after `now_s − period_s`.
#    Scale-up limits: `"Pods"` → `start + value`; `"Percent"` →
#    `math.ceil(start * (1 + value / 100))`. Scale-down limits: `"Pods"` → `start − value`;
#    `"Percent"` → `int(start * (1 − value / 100))`, the *remaining* count truncated: with
#    10% of 72, `int(72 × 0.9) = int(64.8) = 64`, so 8 pods go. `"Max"` takes the policy that
#    allows the larger change (up: the highest limit; down: the lowest), `"Min"` the smaller;
#    `"Disabled"` allows no change in that direction (limit = `current`). Up: result =
#    `min(stabilized, min(max_replicas, max(limit, current)))`; down: result =
#    `max(stabilized, max(min_replicas, min(limit, current)))`.
# 5. **Scale event:** if the result differs from `current_replicas`, record a scale event at
#    `now_s` with the change (the policies of later calls look back over these).
#
# The test replays random recommendation sequences (syncs 15–45 s apart, windows and periods
# multiples of 15 s, so records land exactly on the window's edge) against
# `labkit.scaling.hpa.Autoscaler` and checks the sequences from the Kubernetes documentation and
# the controller's tests. Return any integer (a NumPy integer is fine).


# %% nbgrader={"grade": false, "grade_id": "04_scaling_hpa_behavior", "locked": false, "schema_version": 3, "solution": true, "task": false}
class HPABehavior:
    """An HPA's spec.behavior: stabilization windows, rate policies and bounds, sync by sync."""

    ### BEGIN SOLUTION
    def __init__(self, min_replicas, max_replicas, scale_up=None, scale_down=None):
        self.min_replicas = min_replicas
        self.max_replicas = max_replicas
        if scale_up is None:  # Kubernetes' defaults
            scale_up = {"window_s": 0, "policies": [("Pods", 4, 15), ("Percent", 100, 15)]}
            scale_up["select"] = "Max"
        if scale_down is None:
            scale_down = {"window_s": 300, "policies": [("Percent", 100, 15)], "select": "Max"}
        self.up = self._check(scale_up)
        self.down = self._check(scale_down)
        self.recommendations = []  # (time, recommended replicas)
        self.events = []  # (time, change in replicas: > 0 up, < 0 down)
        self.last_s = None

    @staticmethod
    def _check(rules):
        if rules["select"] not in ("Max", "Min", "Disabled"):
            raise ValueError(f"select must be Max, Min or Disabled, got {rules['select']!r}")
        for kind, _value, _period_s in rules["policies"]:
            if kind not in ("Pods", "Percent"):
                raise ValueError(f"policy type must be 'Pods' or 'Percent', got {kind!r}")
        return rules

    def _limit(self, rules, now_s, current, up):
        if rules["select"] == "Disabled":
            return current
        limits = []
        for kind, value, period_s in rules["policies"]:
            start = current - sum(c for t, c in self.events if t > now_s - period_s)
            if kind == "Pods":
                limits.append(start + value if up else start - value)
            elif up:
                limits.append(math.ceil(start * (1 + value / 100)))
            else:
                limits.append(int(start * (1 - value / 100)))
        larger_change = max if up else min
        smaller_change = min if up else max
        return (larger_change if rules["select"] == "Max" else smaller_change)(limits)

    def step(self, now_s, current_replicas, recommended_replicas):
        if self.last_s is not None and now_s < self.last_s:
            raise ValueError(f"now_s went backwards: {now_s!r} after {self.last_s!r}")
        if self.last_s is None:
            self.recommendations.append((now_s, current_replicas))
        self.last_s = now_s
        current = current_replicas
        if current > self.max_replicas:
            new = self.max_replicas
        elif current < self.min_replicas:
            new = self.min_replicas
        else:
            up_window = now_s - self.up["window_s"]
            down_window = now_s - self.down["window_s"]
            up = min([recommended_replicas] + [r for t, r in self.recommendations if t > up_window])
            down = max(
                [recommended_replicas] + [r for t, r in self.recommendations if t > down_window]
            )
            self.recommendations.append((now_s, recommended_replicas))
            stabilized = min(max(current, up), down)
            new = stabilized
            if stabilized > current:
                limit = self._limit(self.up, now_s, current, up=True)
                new = min(stabilized, min(self.max_replicas, max(limit, current)))
            elif stabilized < current:
                limit = self._limit(self.down, now_s, current, up=False)
                new = max(stabilized, max(self.min_replicas, min(limit, current)))
        if new != current:
            self.events.append((now_s, new - current))
        return new

    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "04_scaling_hpa_behavior_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def replay(scaler, recommendations, start, dt):
    replicas, out = start, []
    for i, rec in enumerate(recommendations):
        replicas = scaler.step(dt * i, replicas, rec)
        out.append(int(replicas))
    return out


docs_down = {"window_s": 0, "policies": [("Pods", 4, 60), ("Percent", 10, 60)], "select": "Max"}
got = replay(HPABehavior(1, 100, scale_down=docs_down), [1] * 10, start=80, dt=60.0)
print("Kubernetes docs example, one sync a minute:", got)
assert got == [72, 64, 57, 51, 45, 40, 36, 32, 28, 24]  # 4 at a time once 10% is < 4 pods
# the default scale-up: max(+4 pods, +100%) per 15 s
assert replay(HPABehavior(1, 100), [100] * 7, start=1, dt=15.0) == [5, 10, 20, 40, 80, 100, 100]
# the default scale-down waits for the 300 s window (the first call recorded the current 10)
got = replay(HPABehavior(1, 100), [2] * 22, start=10, dt=15.0)
assert got[:20] == [10] * 20 and got[20] == 2, got
### BEGIN HIDDEN TESTS
import numbers as _numbers
import random as _random

from labkit.scaling.hpa import Autoscaler as _Auto
from labkit.scaling.hpa import Behavior as _Beh
from labkit.scaling.hpa import ScalingPolicy as _Pol
from labkit.scaling.hpa import ScalingRules as _Rules


def _run(scaler, times, recs, start):
    out, r = [], start
    for t, rec in zip(times, recs, strict=True):
        _x = scaler.step(t, r, rec)
        assert isinstance(_x, _numbers.Integral), f"step must return an integer, got {type(_x)}"
        r = int(_x)
        out.append(r)
    return out


# Kubernetes sequences (labkit's tests/scaling/test_hpa.py, from horizontal_test.go and the docs)
_min_down = {"window_s": 0, "policies": [("Pods", 4, 60), ("Percent", 10, 60)], "select": "Min"}
assert _run(HPABehavior(1, 100, scale_down=_min_down), [0, 60, 120, 180, 240], [1] * 5, 80) == [
    76,
    72,
    68,
    64,
    60,
]
_docs = {"window_s": 0, "policies": [("Pods", 4, 60), ("Percent", 10, 60)], "select": "Max"}
_t15 = [15.0 * i for i in range(6)]  # the 8-pod budget of a 60 s period is spent once
assert _run(HPABehavior(1, 100, scale_down=_docs), _t15, [1] * 6, 80) == [72, 72, 72, 72, 64, 64]
_up60 = {"window_s": 60, "policies": [("Pods", 4, 15), ("Percent", 100, 15)], "select": "Max"}
_s = HPABehavior(1, 100, scale_up=_up60)  # the window holds the initial 2 for its first minute
assert [int(_s.step(0.0, 2, 10)), int(_s.step(15.0, 2, 4)), int(_s.step(30.0, 2, 20))] == [2, 2, 2]
assert int(_s.step(61.0, 2, 20)) == 4 and int(_s.step(76.0, 4, 20)) == 8  # window min, then rate
_both = HPABehavior(
    1,
    100,
    scale_up={"window_s": 0, "policies": [("Pods", 2, 60)], "select": "Max"},
    scale_down={"window_s": 0, "policies": [("Pods", 3, 60)], "select": "Max"},
)
assert [
    int(_both.step(0.0, 10, 7)),
    int(_both.step(10.0, 7, 20)),
    int(_both.step(20.0, 12, 1)),
] == [
    7,
    12,
    7,
]  # periods look back over events in both directions
assert int(HPABehavior(2, 5).step(0.0, 8, 8)) == 5 and int(HPABehavior(2, 5).step(0.0, 1, 1)) == 2
_dis = {"window_s": 0, "policies": [("Pods", 4, 15)], "select": "Disabled"}
assert int(HPABehavior(1, 50, scale_up=_dis).step(0.0, 3, 50)) == 3
assert int(HPABehavior(1, 5).step(0.0, 3, 50)) == 5

# Random sequences against labkit.scaling.hpa.Autoscaler (the controller's rules). Percentages
# are exact in binary (25, 50, ...) so float and exact arithmetic agree; both directions share
# their longest period, as the controller's event bookkeeping then matches a plain event list.
_rng = _random.Random(4242)
for _case in range(250):
    _longest = _rng.choice([15, 30, 60, 120])
    _periods = [p for p in (15, 30, 60, 120) if p <= _longest]

    def _pols(up, _longest, _periods):
        out = [(_rng.choice(["Pods", "Percent"]), None, _longest)]
        out += [(_rng.choice(["Pods", "Percent"]), None, _rng.choice(_periods))]
        out = out[: _rng.randint(1, 2)]
        pct = [25, 50, 100, 150, 200, 300] if up else [25, 50, 75]
        return [(k, _rng.randint(1, 12) if k == "Pods" else _rng.choice(pct), p) for k, _, p in out]

    _up = {
        "window_s": _rng.choice([0, 0, 15, 45, 60]),
        "policies": _pols(True, _longest, _periods),
        "select": _rng.choice(["Max", "Max", "Min", "Disabled"]),
    }
    _down = {
        "window_s": _rng.choice([0, 30, 60, 120, 300]),
        "policies": _pols(False, _longest, _periods),
        "select": _rng.choice(["Max", "Max", "Min", "Disabled"]),
    }
    _lo = _rng.randint(1, 4)
    _hi = _rng.randint(_lo + 1, 150)
    _start = _rng.randint(_lo, _hi)
    _times, _t = [], 0.0
    _recs, _level = [], _start
    for _ in range(_rng.randint(5, 40)):
        _times.append(_t)
        _t += 15.0 * _rng.randint(1, 3)
        if _rng.random() < 0.3:
            _level = _rng.randint(0, _hi + 20)
        _recs.append(max(0, _level + _rng.randint(-2, 2)))
    _got = _run(
        HPABehavior(_lo, _hi, scale_up=dict(_up), scale_down=dict(_down)), _times, _recs, _start
    )
    _ref = _Auto(
        _lo,
        _hi,
        _Beh(
            _Rules(_up["window_s"], [_Pol(*p) for p in _up["policies"]], _up["select"]),
            _Rules(_down["window_s"], [_Pol(*p) for p in _down["policies"]], _down["select"]),
        ),
    )
    _want, _r = [], _start
    for _x, _y in zip(_times, _recs, strict=True):
        _r = _ref.step(_x, _r, _y)
        _want.append(_r)
    assert _got == _want, (_up, _down, _lo, _hi, _start, _times, _recs, _got, _want)

for _bad in (
    {"scale_up": {"window_s": 0, "policies": [("Replicas", 4, 15)], "select": "Max"}},
    {"scale_down": {"window_s": 0, "policies": [("Pods", 4, 15)], "select": "Largest"}},
):
    try:
        HPABehavior(1, 10, **_bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f"HPABehavior(1, 10, **{_bad}) must raise ValueError")
_s = HPABehavior(1, 10)
_s.step(30.0, 3, 3)
try:
    _s.step(15.0, 3, 3)
except ValueError:
    pass
else:
    raise AssertionError("a sync earlier than the previous one must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# The default behavior on a two-minute spike: the scale-up follows within a sync or two (at most
# max(4 pods, 100%) per 15 s), the scale-down waits until no recommendation in the last 5 minutes
# asked for more. Drawn with `labkit.scaling.hpa.Autoscaler`, the reference your class was graded
# against.

# %%
from labkit.scaling.hpa import Autoscaler

hpa = Autoscaler(min_replicas=2, max_replicas=50)
replicas, trace, asked = 2, [], []
for i in range(40):
    recommended = 30 if 4 <= i < 12 else 3  # two minutes of surge, then calm
    replicas = hpa.step(15.0 * i, replicas, recommended)
    trace.append(replicas)
    asked.append(recommended)
minutes = np.arange(40) * 15.0 / 60.0
fig, ax = plt.subplots(figsize=(8, 3.2))
ax.step(minutes, asked, where="post", ls="--", label="recommendation")
ax.step(minutes, trace, where="post", label="replicas set (default behavior)")
ax.set_xlabel("time (min)")
ax.set_ylabel("replicas")
ax.legend()
fig.tight_layout()
RESULTS["hpa_spike_trace"] = trace

# %% [markdown]
# ## 7. A day of traffic: size the pool, then autoscale it
#
# The simulator replays a day — night trough, lunchtime bump, evening peak, and a surge on top
# (a push notification) — through a pool of replicas whose per-replica capacity is the one you
# measured in section 2 and whose start-up delay is your measured cold start plus time to
# schedule the pod. Each step it serves what the ready replicas can, queues the rest (up to 64
# per replica) and sheds the excess; latency within a step is the backlog's wait plus the
# steady-state M/M/c response time at that step's load.
#
# This is a model, and its SLO-miss percentages are model outputs, not measurements: a batching
# replica is modelled as one M/M/1 server at its *batched* throughput, so the time a request
# waits for its batch (tens of milliseconds in section 2) is not in it, and neither are the
# HTTP and load-balancer hops. Its replica-hours are exact for the policy it replays.
#
# **Exercise 6 (tune, 3 points). Size the static pool with Erlang C.** The usual rule of thumb
# provisions for the peak at 70% utilization. Instead, write `size_pool(profile, replica_rps,
# wait_s, max_probability)`: the number of replicas of a static pool that serves `profile`
# (a `TrafficProfile`; `profile.rate_rps` is its request rate per step, `profile.peak_rps` the
# highest rate of the day, surge included) when each replica is one server completing
# `replica_rps` requests per second: the smallest count `c` such that **at the day's highest
# rate** `P(Wq > wait_s) ≤ max_probability` in M/M/c. Use your `replicas_for_wait` (or
# `labkit.scaling.queueing.servers_for_wait`, which answers the same question). Return an
# integer. The cell then sizes this day's pool from your measured capacity for a queueing delay
# under 10 ms for 99.9% of requests at the peak. The test replays the day through that pool and
# through the 70% rule in the simulator: yours must miss the SLO for at most 0.1% of the day's
# requests and cost fewer replica-hours; on other days and rates it must match the Erlang C
# answer exactly.

# %%
from labkit.scaling.concurrency_autoscaler import ConcurrencyAutoscaler, ScheduledScaler
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

PEAK_RPS = 20 * CAPACITY  # the evening peak: 20 replicas' worth at 100% utilization
hours = 4 if GRADING else 24
start_hour = 17 if GRADING else 0
day = peak_hour_profile(peak_rps=PEAK_RPS, duration_s=hours * 3600, start_hour=start_hour, seed=0)
pool = PoolConfig(
    service_rate_rps=CAPACITY,
    startup_s=cold.ready_s + 20.0,  # process start + model load, plus scheduling the pod
    queue_per_replica=64,
    slo_p99_s=0.25,
)
RULE_OF_THUMB = math.ceil(day.peak_rps / (0.7 * CAPACITY))  # the peak at 70% utilization
print(day)
print(f"70% rule: {RULE_OF_THUMB} replicas for a peak of {day.peak_rps:.0f} requests/s")


# %% nbgrader={"grade": false, "grade_id": "04_scaling_size_pool", "locked": false, "schema_version": 3, "solution": true, "task": false}
def size_pool(profile, replica_rps, wait_s, max_probability):
    ### BEGIN SOLUTION
    return replicas_for_wait(profile.peak_rps, replica_rps, wait_s, max_probability)
    ### END SOLUTION


ERLANG_REPLICAS = size_pool(day, CAPACITY, wait_s=0.010, max_probability=0.001)

# %% nbgrader={"grade": true, "grade_id": "04_scaling_size_pool_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import numbers

assert isinstance(ERLANG_REPLICAS, numbers.Integral), "return an integer number of replicas"
sized = {
    "static, 70% rule": simulate(day, StaticPolicy(RULE_OF_THUMB, name="static, 70% rule"), pool),
    "static, Erlang C": simulate(
        day, StaticPolicy(int(ERLANG_REPLICAS), name="static, Erlang C"), pool
    ),
}
for name, sim in sized.items():
    print(f"{name}: {sim}")
miss = sized["static, Erlang C"].slo_violation_fraction
assert miss <= 0.001, f"the Erlang C pool misses the SLO for {miss:.3%} of requests (budget 0.1%)"
assert sized["static, Erlang C"].replica_hours < sized["static, 70% rule"].replica_hours
### BEGIN HIDDEN TESTS
import numbers as _numbers
import random as _random

from labkit.scaling.queueing import servers_for_wait as _sfw
from labkit.scaling.simulator import PoolConfig as _Pool
from labkit.scaling.simulator import StaticPolicy as _Static
from labkit.scaling.simulator import simulate as _simulate
from labkit.scaling.traffic import peak_hour_profile as _profile

# the notebook's day, sized again inside the test, against labkit's servers_for_wait
_n = size_pool(day, CAPACITY, 0.010, 0.001)
assert isinstance(_n, _numbers.Integral) and int(_n) == _sfw(day.peak_rps, CAPACITY, 0.010, 0.001)
_rng = _random.Random(606)
for _case in range(12):
    _mu = _rng.uniform(2.0, 500.0)
    _prof = _profile(
        peak_rps=_mu * _rng.uniform(3.0, 400.0),
        duration_s=2 * 3600,
        start_hour=_rng.choice([18.5, 19.0]),
        surge_at_hour=_rng.choice([None, 19.5, 20.0]),
        surge_factor=_rng.uniform(1.2, 2.0),
        seed=_rng.randint(0, 10**6),
    )
    _w, _p = _rng.choice([0.0, 0.2 / _mu, 2.0 / _mu]), _rng.choice([0.001, 0.01, 0.2])
    _got = size_pool(_prof, _mu, _w, _p)
    assert isinstance(_got, _numbers.Integral), f"return an integer, got {type(_got)}"
    # reference: labkit's Erlang C sizing at the profile's highest rate
    assert int(_got) == _sfw(_prof.peak_rps, _mu, _w, _p), (_case, _got)
    if _case < 2:  # and the outcome in the simulator (SLO: 40 service times)
        _pool = _Pool(
            service_rate_rps=_mu, startup_s=30.0, queue_per_replica=64, slo_p99_s=40 / _mu
        )
        _sim = _simulate(_prof, _Static(int(_got)), _pool)
        assert _sim.slo_violation_fraction <= max(_p, 0.001), (_case, _sim)
### END HIDDEN TESTS

# %%
forecast = peak_hour_profile(peak_rps=PEAK_RPS, surge_at_hour=None, seed=1)  # "yesterday"
plan = ScheduledScaler.from_forecast(
    forecast,
    capacity_rps=CAPACITY,
    target_utilization=0.6,
    lead_s=600,
    clock_offset_s=start_hour * 3600.0,  # the simulated day starts at start_hour
)
policies = [
    StaticPolicy(RULE_OF_THUMB, name="static, 70% rule"),
    StaticPolicy(int(ERLANG_REPLICAS), name="static, Erlang C"),
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
print(results_table(sims))
RESULTS["simulation"] = [s.summary() for s in sims]
RESULTS["pool_sizing"] = {"rule_of_thumb": RULE_OF_THUMB, "erlang_c": int(ERLANG_REPLICAS)}
_ = plot_simulation(sims)
within = [s for s in sims if s.slo_violation_fraction <= 0.001]
cheapest = min(within or sims, key=lambda s: s.replica_hours)
print(f"cheapest policy within 0.1% SLO misses (model): {cheapest.name}")

# %% [markdown]
# Erlang C sized the pool for the peak it will see; the 70% rule pays for headroom the queue
# does not need at this scale (with many replicas, random bursts average out: the square-root
# staffing rule says the spare capacity needed grows like √a, not like a). A static pool still
# pays for the peak all day. The autoscalers below react to load instead, and pay for
# reacting late.
#
# ## 8. Serverless: scale to zero, and what it costs
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

svc.stop()
by_name = {s.name: s.summary() for s in sims}
summary = {  # the numbers to cite in the answer below
    "capacity_rps_1_worker_batching": CAPACITY,
    "capacity_rps_1_worker_no_batching": NOBATCH_CAPACITY,
    "cold_start_s": cold.first_response_s,
    "admission": {r["front"]: (round(r["goodput_rps"]), round(r["p99_ok_ms"])) for r in admission},
    "replicas_70pct_rule_vs_erlang_c": (RULE_OF_THUMB, int(ERLANG_REPLICAS)),
    "policies": {
        name: (round(row["slo_violation_pct"], 3), round(row["replica_hours"]))
        for name, row in by_name.items()
    },
}
RESULTS["summary"] = summary
from labkit.study.results import save  # schema'd, with the machine (docs/results.md)

save("04_scaling", {k: v for k, v in RESULTS.items() if k != "lab"}, device=DEVICE)
print(json.dumps(summary, indent=1, default=float))

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
# shed rate). 2 — makes one replica efficient and protects it: micro-batching, a bounded queue
# with 503 + Retry-After or admission control in front (a token bucket, a concurrency limit),
# workers × threads matched to CPU requests/limits, with the measured gains. 2 — scales out
# correctly: HPA on CPU and/or in-flight requests, its formula and tolerance, fast scale-up and
# slow scale-down (stabilization, rate policies), and pod start-up time as the limit on reaction
# speed. 2 — plans capacity: Erlang C / M/M/c sizing checked against a load test and a
# simulation, headroom for surges, scheduled/predictive scaling for the known daily peak.
# 2 — weighs cost and serverless: replica-hours per policy, scale-to-zero only where the
# measured cold start is acceptable.

# %% [markdown] nbgrader={"grade": true, "grade_id": "04_scaling_interview_answer", "locked": false, "points": 10, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# *Model answer. Figures from a reference run on a 2-core CPU shared with other jobs, the load
# generator on the same cores. Cite your own.*
#
# **Measure first, open loop.** Poisson arrivals, latency from the scheduled send time. One
# batching worker served 530 requests/s in a closed loop (p99 83 ms: it never sends faster than
# the server answers). At 200% of that the bounded queue refused 1,077 of 2,166 requests with 503
# and the served ones had a 481 ms p99. The metrics: 33 ms mean queue wait against 9 ms of model
# time per batch, 23% shed — overloaded.
#
# **Make each replica efficient, then protect it.** Batching served 1.7× the requests of
# one-at-a-time scoring (504 vs 296/s); at 424 requests/s the unbatched p99 was 1.08 s, the
# batched 86 ms. A second worker added 16% with the load generator on the other core: workers ×
# threads = the CPU limit. A hot-user cache hit 78% of Zipf traffic (p99 51 ms). A token bucket
# at 90% of the saturated throughput (818/s) kept 86% of the goodput and lowered the p99 from
# 280 to 218 ms.
#
# **Scale out, knowing the controller.** The HPA stabilizes (a scale-down waits until 300 s of
# recommendations agree) and rate-limits (up: max(4 pods, 100%) per 15 s); new pods need the
# 1.6 s cold start plus scheduling, so over a replayed day with a surge a CPU-based HPA missed
# the SLO for 0.05% of requests (simulated, M/M/c).
#
# **Plan capacity.** Erlang C sized the static pool: 36 replicas keep the peak's queueing delay
# under 10 ms for 99.9% of requests, against 50 from the 70% rule — 864 instead of 1,200
# replica-hours, neither with modelled misses. A schedule from yesterday's traffic met the SLO
# with 385 replica-hours; scaling on requests in flight was cheapest, 327 at 0.02% misses.
#
# **Serverless where it fits.** Scale-to-zero saved 79% of a quiet endpoint's replica time at
# night with a 30 s idle timeout, but 109 of its 136 requests waited 1.6 s for a cold start:
# fine for a latency-tolerant side path, not for `/recommend` at peak.
# ### END SOLUTION
