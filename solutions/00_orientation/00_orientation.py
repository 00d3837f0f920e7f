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
from labkit.training.gpus import GPU_SPECS, gpu_spec

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
# **Exercise 1.** Write `percentile(samples, q)` yourself, by sorting and interpolating (the hidden
# tests compare your result with `np.percentile`, default method, on fresh data):
#
# - `samples`: a sequence (list or tuple) of real numbers in any order, from 1 to a few thousand
#   of them. Do not modify it: the caller's list keeps its order.
# - `q`: a real number in [0, 100], both ends included (`q=0` is the minimum, `q=100` the maximum).
# - Return a real number (a Python `float` or `int`, or a NumPy scalar).
# - Raise `ValueError` for an empty sequence, or for a `q` below 0 or above 100.


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
assert percentile([4, 1, 3, 2], 100) == 4  # integers work too; q=100 is the maximum
for bad_q in (-1, 101):
    try:
        percentile([1.0], bad_q)
    except ValueError:
        pass
    else:
        raise AssertionError(f"q={bad_q} should raise ValueError")
### BEGIN HIDDEN TESTS
import numbers as _numbers
import random as _random

import numpy as _np

_rng = _random.Random(20261128)
for _n in (1, 2, 3, 7, 100, 1001):
    _xs = [_rng.lognormvariate(0, 1) for _ in range(_n)]
    _rng.shuffle(_xs)
    _before = list(_xs)
    for _q in (0, 1, 12.5, 33.3, 50, 90, 95, 99, 99.9, 100):
        # the learner's answer first: while it runs, the expected value exists nowhere
        _got = percentile(_xs, _q)
        assert isinstance(_got, _numbers.Real), type(_got)
        # reference: NumPy's default (linear) percentile
        _want = float(_np.percentile(_np.asarray(_before, dtype=float), _q))
        assert abs(float(_got) - _want) <= 1e-12 * max(1.0, abs(_want)), (_n, _q)
    assert _xs == _before, "percentile must not modify (e.g. sort in place) its samples"
# a tuple of integers, and NumPy scalars for q
_ints = tuple(_rng.randint(-50, 50) for _ in range(11))
for _q in (_np.float64(25.0), 37.5, 100):
    _got = percentile(_ints, _q)
    _want = float(_np.percentile(_np.asarray(_ints, dtype=float), float(_q)))
    assert abs(float(_got) - _want) <= 1e-12 * max(1.0, abs(_want)), (_ints, _q)
# every stated error: empty samples, q just outside [0, 100]
for _args in (([], 50), ((), 0), ([1.0, 2.0], -0.5), ([1.0, 2.0], 100.5)):
    try:
        percentile(*_args)
    except ValueError:
        pass
    else:
        raise AssertionError(f"percentile{_args} should raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Warm up, then time every call
#
# The first calls of anything pay one-off costs: memory allocation, library loading, on a GPU
# the cuBLAS handle and kernel autotuning, with `torch.compile` the whole compilation. Timing
# them mixes set-up into the steady state. And on a GPU, work runs asynchronously: a timer must
# wait for it (`torch.cuda.synchronize()`) or it measures only the launch.
#
# Which clock? `time.time()` is the wall clock: it can be set or stepped (NTP, an administrator),
# so a duration taken from it can jump. `time.perf_counter()` is monotonic and meant for
# intervals. Python reports both clocks on this machine:

# %%
for clock in ("time", "perf_counter"):
    info = time.get_clock_info(clock)
    print(
        f"time.{clock + '()':<16} {info.implementation:<32} resolution {info.resolution:.0e} s,"
        f" monotonic {info.monotonic}, adjustable {info.adjustable}"
    )

# %% [markdown]
# **Exercise 2.** Write `time_calls(fn, warmup, repeat)`: call `fn()` `warmup` times without
# timing, then `repeat` more times, timing each of those calls with `time.perf_counter()`. Return
# a list of `repeat` durations in seconds, one per call, in call order. Each sample covers exactly
# its own call — read the clock just before it and just after it — so a sample is neither an
# average over the loop nor a running total, and no warm-up call is in any sample. The hidden
# test's `fn` takes a different time on every call and checks each sample against that call.


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

costs = iter([0.03, 0.002, 0.03, 0.002])  # seconds: a slow call, a fast one, ...
times = time_calls(lambda: time.sleep(next(costs)), warmup=0, repeat=4)
assert times[0] >= 0.03 and times[1] < 0.02, f"each sample is its own call, not an average: {times}"
### BEGIN HIDDEN TESTS
import random as _random
import time as _time

# every timed call costs something else, so an average over the loop matches no call
_costs = [0.001, 0.002, 0.004, 0.008, 0.016, 0.03, 0.001, 0.012]
_random.Random(4242).shuffle(_costs)
_warm = 3
_log = []  # (perf_counter on entry, perf_counter on exit) of every call, in order


def _probe():
    _enter = _time.perf_counter()
    _i = len(_log)
    _time.sleep(0.12 if _i < _warm else _costs[_i - _warm])
    _log.append((_enter, _time.perf_counter()))


_t = time_calls(_probe, warmup=_warm, repeat=len(_costs))
_returned = _time.perf_counter()
_t = [float(x) for x in _t]
assert len(_log) == _warm + len(_costs), f"fn called {len(_log)} times"
assert len(_t) == len(_costs), f"{len(_t)} samples for repeat={len(_costs)}"
# sample i covers call i (from its entry to its exit) and nothing of the calls before or after
# it: it fits between the previous call's exit and the next call's entry (1 us of slack for
# clock rounding; the costs differ by milliseconds)
for _i, _x in enumerate(_t):
    _enter, _exit = _log[_warm + _i]
    _after_prev = _log[_warm + _i - 1][1]
    _before_next = _log[_warm + _i + 1][0] if _i + 1 < len(_costs) else _returned
    assert _exit - _enter - 1e-6 <= _x <= _before_next - _after_prev + 1e-6, (
        f"sample {_i} ({_x:.4f} s) is not the duration of call {_i} ({_exit - _enter:.4f} s)"
    )
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
# operations. Dividing by the measured time gives achieved FLOP/s; dividing that by a peak says how
# much of a machine the code uses — but only against a peak **for the same precision**. A GPU
# has several: NVIDIA's H100 SXM data sheet gives 67 TFLOP/s for fp32 on the CUDA cores, and
# for the tensor cores 989 TFLOP/s TF32 and 1,979 bf16 *with 2:4 structured sparsity* — dense
# figures (the ceiling for an ordinary, non-sparse matmul) are half of those, 494.5 and 989.5. The
# matmul above is fp32, so below it is compared with fp32 peaks only.
#
# **Exercise 3.** Write two functions:
#
# - `matmul_tflops(m, n, k, seconds)`: the achieved TFLOP/s (10¹² FLOP/s, counting 2 FLOP per
#   multiply-add) of an `m×k` by `k×n` multiply that took `seconds`. `m`, `n`, `k` are integers
#   (up to 8192 each), `seconds` a real number.
# - `fraction_of_peak(achieved, peak)`: `achieved / peak` as a fraction (0.5, not 50%), both
#   arguments in the same units.
#
# Both return a real number, and both raise `ValueError` when any argument is zero or negative
# (every argument must be `> 0`).


# %% nbgrader={"grade": false, "grade_id": "00_orientation_throughput", "locked": false, "schema_version": 3, "solution": true, "task": false}
def matmul_tflops(m, n, k, seconds):
    """Achieved TFLOP/s of an (m×k)·(k×n) matrix multiply that took `seconds`."""
    ### BEGIN SOLUTION
    for name, value in (("m", m), ("n", n), ("k", k), ("seconds", seconds)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
    return 2.0 * m * n * k / seconds / 1e12
    ### END SOLUTION


def fraction_of_peak(achieved, peak):
    """Achieved throughput as a fraction of the peak (same units)."""
    ### BEGIN SOLUTION
    for name, value in (("achieved", achieved), ("peak", peak)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
    return achieved / peak
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "00_orientation_throughput_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert abs(matmul_tflops(1000, 1000, 1000, 1e-3) - 2.0) < 1e-12  # 2e9 FLOP in 1 ms
assert abs(fraction_of_peak(33.5, 67.0) - 0.5) < 1e-12
try:
    matmul_tflops(10, 10, 10, 0.0)
except ValueError:
    pass
else:
    raise AssertionError("seconds=0 should raise ValueError")
try:
    fraction_of_peak(1.0, 0.0)
except ValueError:
    pass
else:
    raise AssertionError("peak=0 should raise ValueError")
### BEGIN HIDDEN TESTS
import random as _random

_rng = _random.Random(7)
for _ in range(50):
    _m, _n, _k = (_rng.randint(1, 8192) for _ in range(3))
    _s = _rng.uniform(1e-6, 2.0)
    _got = float(matmul_tflops(_m, _n, _k, _s))
    # reference: the count written out, 2 FLOP per multiply-add, in units of 1e12 FLOP/s
    _want = 2.0 * _m * _n * _k / _s / 1e12
    assert abs(_got - _want) <= 1e-9 * _want, (_m, _n, _k, _s)
    _achieved, _peak = _rng.uniform(0.01, 3000.0), _rng.uniform(1.0, 2000.0)
    _frac = float(fraction_of_peak(_achieved, _peak))
    assert abs(_frac - _achieved / _peak) <= 1e-12 * (_achieved / _peak), (_achieved, _peak)
# every argument, at zero and below zero, raises ValueError
_ok = (64, 32, 16, 0.5)
for _i in range(4):
    for _bad_value in (0, -1):
        _bad = list(_ok)
        _bad[_i] = _bad_value if _i < 3 else float(_bad_value)
        try:
            matmul_tflops(*_bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"matmul_tflops{tuple(_bad)} should raise ValueError")
for _bad in ((0.0, 67.0), (-2.0, 67.0), (2.0, 0.0), (2.0, -67.0)):
    try:
        fraction_of_peak(*_bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f"fraction_of_peak{_bad} should raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# Now apply it to the measurement above. A PyTorch fp32 matmul runs in fp32 on a CPU, and on an
# NVIDIA GPU on the CUDA cores unless TF32 is allowed
# (`torch.backends.cuda.matmul.allow_tf32`, off by default), so the peak it is compared with is
# the fp32 one — or TF32 when that is on. The peaks are dense figures from NVIDIA's data sheets
# (`labkit/training/gpus.py` cites the sheet for each row); they are not measured here. On a CPU
# the ratio says how far this machine is from those GPUs, not how much of this CPU the matmul
# uses: a CPU's own peak is in no table here.

# %%
# GPU_SPECS holds dense peaks; each row's `source` names its NVIDIA data sheet (A100 80GB SXM,
# H100 SXM, H200 SXM, L4). The "with sparsity" figures of those sheets are not used.

on_gpu = device.type == "cuda"
precision = "tf32" if on_gpu and torch.backends.cuda.matmul.allow_tf32 else "fp32"
this_gpu = gpu_spec(torch.cuda.get_device_name(device)) if on_gpu else None
achieved = matmul_tflops(n, n, n, m.median)
print(f"{n}×{n} {a.dtype} matmul on {device} ({precision}): {achieved * 1e3:.1f} GFLOP/s")
print(f"(median of {len(m.times)} calls)\n")
print(f"{'GPU':<16} {'dense ' + precision + ' peak':>18} {'measured / peak':>16}  source")
fractions = {}
for spec in GPU_SPECS:
    if spec.name not in ("A100 SXM 80GB", "H100 SXM", "H200 SXM", "L4"):
        continue
    peak = spec.peak_flops(precision) / 1e12
    fractions[spec.name] = fraction_of_peak(achieved, peak)
    mark = "  <- this GPU" if spec is this_gpu else ""
    print(
        f"{spec.name:<16} {peak:>11.1f} TFLOP/s {fractions[spec.name]:>16.2e}  {spec.source}{mark}"
    )

from labkit.study.results import save  # schema'd, with the machine it ran on (docs/results.md)

results = {
    "device": str(device),
    "torch": torch.__version__,
    "matmul_n": n,
    "matmul_median_s": m.median,
    "matmul_p99_s": m.p99,
    "matmul_tflops": achieved,
    "matmul_precision": precision,
    "fraction_of_dense_peak": fractions,
}
save("00_orientation", results, "00_orientation_results.json", device=device)
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
# datacenter GPU's fp32 peak — one number from one call would have hidden both.
