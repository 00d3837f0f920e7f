# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 00 — Orientation: measure before you claim
#
# This course answers four questions that ML-engineering interviews keep asking, and it answers
# them the way an engineer should: by measuring on the machine in front of you.
#
# | lab | question | what you will measure |
# |---|---|---|
# | 01 GPU training | What did GPUs buy you in training and inference? | throughput per precision, MFU, memory, DDP |
# | 02 latency | How do you cut inference latency in deployment? | p50/p99 per stage, ONNX Runtime, int8, batching, caching |
# | 03 drift | How do you detect data, concept and model drift? | detector delays and false alarms on known change points |
# | 04 scaling | A recommender slows down at peak traffic — what now? | load tests, autoscaler simulations, cost vs SLO |
#
# **How exercises work.** A cell that says `YOUR CODE HERE` is yours to fill in. The cell after it
# holds visible tests: run it to check your work. When grading, hidden tests run as well — on fresh
# data, against independent references — so a solution must be right in general, not just for the
# examples shown. **Check your own work** at any time from a terminal:
#
# ```
# labkit grade notebooks/00_orientation/00_orientation.ipynb
# ```
#
# It prints the score the instructor's autograder would give, per exercise, and writes an HTML
# feedback file. The written answer at the end is graded by a person with the mark scheme shown.

# %% [markdown]
# ## 1. What is this machine?
#
# Every number in this course depends on the hardware, so each lab starts by recording it.
# `labkit doctor` prints the same table from a terminal.

# %%
import json
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from labkit.device import environment_report, resolve
from labkit.timing import benchmark

report = environment_report()
device = resolve()
GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
for name, value in report.rows():
    print(f"{name:<26} {value}")

# %% [markdown]
# ## 2. Percentiles, not averages
#
# Latency is a distribution. A service with a 2 ms mean can still make one request in a hundred
# wait 50 ms, and that p99 is what users feel. The usual definition (NumPy's default) sorts the
# `n` samples and, for the `q`-th percentile, reads position `(n − 1)·q/100`, interpolating
# linearly between the two neighbouring samples.
#
# **Exercise 1.** Write `percentile(samples, q)` for `q` in [0, 100] without calling NumPy. Raise
# `ValueError` for an empty sequence or a `q` outside [0, 100].


# %% nbgrader={"grade": false, "grade_id": "00_orientation_percentile", "locked": false, "schema_version": 3, "solution": true, "task": false}
def percentile(samples, q):
    """The q-th percentile of samples with linear interpolation between order statistics."""
    ### BEGIN SOLUTION
    values = sorted(float(s) for s in samples)
    if not values:
        raise ValueError("samples must not be empty")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within [0, 100], got {q!r}")
    pos = (len(values) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "00_orientation_percentile_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert percentile([3.0, 1.0, 2.0], 50) == 2.0
assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5  # halfway between 2 and 3
assert percentile([10.0, 20.0], 90) == 19.0
assert percentile([5.0], 99) == 5.0
for bad_q in (-1, 101):
    try:
        percentile([1.0], bad_q)
    except ValueError:
        pass
    else:
        raise AssertionError(f"q={bad_q} should raise ValueError")
### BEGIN HIDDEN TESTS
import math as _math
import random as _random

_rng = _random.Random(20261128)
for _n in (1, 2, 7, 100, 1001):
    _xs = [_rng.lognormvariate(0, 1) for _ in range(_n)]
    _sorted = sorted(_xs)
    for _q in (0, 1, 12.5, 50, 90, 95, 99, 100):
        # the learner's answer first: while it runs, the expected value exists nowhere
        _got = percentile(list(_xs), _q)
        assert type(_got) in (float, int) or type(_got).__name__ == "float64", type(_got)
        _pos = (_n - 1) * _q / 100
        _lo = _math.floor(_pos)
        _hi = min(_lo + 1, _n - 1)
        _want = _sorted[_lo] + (_sorted[_hi] - _sorted[_lo]) * (_pos - _lo)
        assert abs(float(_got) - _want) <= 1e-12 * max(1.0, abs(_want)), (_n, _q)
try:
    percentile([], 50)
except ValueError:
    pass
else:
    raise AssertionError("empty samples should raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Warm up, then time every call
#
# The first calls of anything pay one-off costs: memory allocation, library loading, on a GPU
# the cuBLAS handle and kernel autotuning, with `torch.compile` the whole compilation. Timing
# them mixes set-up into the steady state. And on a GPU, work runs asynchronously: a timer must
# wait for it (`torch.cuda.synchronize()`) or it measures only the launch.
#
# **Exercise 2.** Write `time_calls(fn, warmup, repeat)`: call `fn()` `warmup` times without
# timing, then `repeat` times, returning the list of per-call durations in seconds measured with
# `time.perf_counter()`.


# %% nbgrader={"grade": false, "grade_id": "00_orientation_time_calls", "locked": false, "schema_version": 3, "solution": true, "task": false}
def time_calls(fn, warmup, repeat):
    """Per-call wall times (seconds) of `repeat` calls to fn(), after `warmup` untimed calls."""
    ### BEGIN SOLUTION
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "00_orientation_time_calls_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
calls = []


def slow_start():
    """Slow for its first two calls (set-up), then fast: a warmed-up timer sees only the fast part."""
    calls.append(1)
    time.sleep(0.2 if len(calls) <= 2 else 0.002)


times = time_calls(slow_start, warmup=2, repeat=5)
assert len(calls) == 7, f"fn should be called warmup + repeat = 7 times, was called {len(calls)}"
assert len(times) == 5
assert all(0.002 <= t < 0.1 for t in times), times
### BEGIN HIDDEN TESTS
import time as _time

_calls = []


def _probe():
    _calls.append(_time.perf_counter())
    _time.sleep(0.15 if len(_calls) <= 3 else 0.004)


_t = time_calls(_probe, warmup=3, repeat=8)
_t = [float(x) for x in _t]
assert len(_calls) == 11 and len(_t) == 8
assert all(0.004 <= x < 0.12 for x in _t), _t
# the timed durations must come from the calls themselves: consecutive call starts bound them
_gaps = [_calls[i + 1] - _calls[i] for i in range(3, len(_calls) - 1)]
assert all(x <= g + 1e-3 for x, g in zip(_t, _gaps, strict=False)), (_t, _gaps)
### END HIDDEN TESTS

# %% [markdown]
# `labkit.timing.benchmark` does the same, synchronizes CUDA around each call when the work is on
# a GPU, and summarizes the samples. Here it times a matrix multiply on this machine's default
# device; the histogram shows why one number is never enough.

# %%
n = 256 if GRADING else 512
a = torch.randn(n, n, device=device)
b = torch.randn(n, n, device=device)
m = benchmark(torch.matmul, a, b, warmup=3, repeat=30 if GRADING else 100, label=f"matmul {n}")
print(m)

fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(np.array(m.times) * 1e3, bins=30)
for name, value in (("p50", m.p50), ("p99", m.p99)):
    ax.axvline(value * 1e3, linestyle="--", label=f"{name} {value * 1e3:.2f} ms")
ax.set_xlabel("time per call (ms)")
ax.set_ylabel("calls")
ax.set_title(f"{n}×{n} matmul on {device}")
ax.legend()
plt.show()

# %% [markdown]
# ## 4. From time to throughput, and how far from the peak
#
# A multiply of an `m×k` by a `k×n` matrix does `m·n·k` multiply-adds: `2·m·n·k` floating-point
# operations. Dividing by the measured time gives achieved FLOP/s; dividing that by the hardware's
# peak says how much of the machine the code uses. On an H100 the dense bf16 peak is 989 TFLOP/s;
# the best measured matmuls reach about 80% of it.
#
# **Exercise 3.** Write `matmul_tflops(m, n, k, seconds)` returning achieved TFLOP/s (10¹²
# FLOP/s), and `fraction_of_peak(achieved, peak)` returning achieved/peak. Both raise
# `ValueError` for non-positive inputs.


# %% nbgrader={"grade": false, "grade_id": "00_orientation_throughput", "locked": false, "schema_version": 3, "solution": true, "task": false}
def matmul_tflops(m, n, k, seconds):
    """Achieved TFLOP/s of an (m×k)·(k×n) matrix multiply that took `seconds`."""
    ### BEGIN SOLUTION
    if min(m, n, k) <= 0 or seconds <= 0:
        raise ValueError("m, n, k and seconds must be positive")
    return 2.0 * m * n * k / seconds / 1e12
    ### END SOLUTION


def fraction_of_peak(achieved, peak):
    """Achieved throughput as a fraction of the peak (same units)."""
    ### BEGIN SOLUTION
    if achieved <= 0 or peak <= 0:
        raise ValueError("achieved and peak must be positive")
    return achieved / peak
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "00_orientation_throughput_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert abs(matmul_tflops(1000, 1000, 1000, 1e-3) - 2.0) < 1e-12  # 2e9 FLOP in 1 ms
assert abs(fraction_of_peak(494.5, 989.0) - 0.5) < 1e-12
try:
    matmul_tflops(10, 10, 10, 0.0)
except ValueError:
    pass
else:
    raise AssertionError("seconds=0 should raise ValueError")
### BEGIN HIDDEN TESTS
import random as _random

_rng = _random.Random(7)
for _ in range(50):
    _m, _n, _k = (_rng.randint(1, 8192) for _ in range(3))
    _s = _rng.uniform(1e-6, 2.0)
    _got = float(matmul_tflops(_m, _n, _k, _s))
    _want = 2.0 * _m * _n * _k / _s / 1e12
    assert abs(_got - _want) <= 1e-9 * _want, (_m, _n, _k, _s)
    _peak = _rng.uniform(1.0, 2000.0)
    _frac = float(fraction_of_peak(_want, _peak))
    assert abs(_frac - _want / _peak) <= 1e-12 * (_want / _peak)
for _bad in ((0, 1, 1, 1.0), (1, 1, 1, -1.0)):
    try:
        matmul_tflops(*_bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f"{_bad} should raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# Now apply it to the measurement above, and put it beside the peaks of datacenter GPUs
# (dense, no sparsity; vendor data sheets).

# %%
achieved = matmul_tflops(n, n, n, m.median)
peaks = {"A100 bf16": 312.0, "H100 SXM bf16": 989.0, "H200 bf16": 989.0, "L4 bf16": 121.0}
print(f"{n}×{n} fp32 matmul on {device}: {achieved * 1e3:.1f} GFLOP/s (median of {len(m.times)})")
for gpu, peak in peaks.items():
    print(f"  = {fraction_of_peak(achieved, peak):.2e} of an {gpu} peak ({peak:.0f} TFLOP/s)")

results = {
    "lab": "00_orientation",
    "device": str(device),
    "torch": torch.__version__,
    "matmul_n": n,
    "matmul_median_s": m.median,
    "matmul_p99_s": m.p99,
    "matmul_tflops": achieved,
}
with open("00_orientation_results.json", "w") as f:
    json.dump(results, f, indent=2)
print(json.dumps(results, indent=2))

# %% [markdown] nbgrader={"grade": false, "grade_id": "00_orientation_question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5. In an interview
#
# *"A teammate says our model's GPU inference takes 2 ms: they wrapped the first call in
# `time.time()`. Do you trust the number? How would you measure it?"*
#
# Answer in a few sentences, using what you measured above.
#
# **Mark scheme (4 points).** 1 — names asynchronous execution: without synchronization the timer
# measures the launch, not the work. 1 — names one-off costs of the first call (warm-up). 1 —
# asks for a distribution from many calls (p50 and p99, spread), with `perf_counter` or CUDA
# events rather than `time.time()`. 1 — cites a number from this notebook (e.g. the p50/p99 gap
# or the achieved TFLOP/s against a peak).

# %% [markdown] nbgrader={"grade": true, "grade_id": "00_orientation_answer", "locked": false, "points": 4, "schema_version": 3, "solution": true, "task": false}
# No. CUDA launches kernels asynchronously, so a timer around an unsynchronized call returns when
# the kernel is queued, not when it finishes; and the first call pays one-off costs (context and
# cuBLAS set-up, autotuning) that steady-state requests never see. I would warm up, synchronize
# (or use CUDA events) around each call, time a hundred calls with `time.perf_counter`, and
# report the median and p99. On this machine the matmul above already shows the spread: its p99
# is above its p50 (see the histogram), and its achieved TFLOP/s is a small fraction of a
# datacenter GPU's peak — one number from one call would have hidden both.
