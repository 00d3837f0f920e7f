# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 01 — GPU training: what the accelerator buys you, measured
#
# *"Describe your experience with GPU training and inference: which tools, and what
# improvements did you see?"* A strong answer names numbers and explains them: throughput per
# precision, how close to the hardware's peak the run got (MFU), where time went (data or
# compute), what limited the batch size (memory), and how the work spread over devices. In this
# lab you produce those numbers on your own machine — a laptop CPU or a datacenter GPU — with
# `labkit.training`, and answer the question from them at the end.
#
# | section | you measure | you build |
# |---|---|---|
# | 1 timing | wrong vs right GPU timing | a synchronized timer |
# | 2 precision | throughput vs batch size per precision, loss curves, the cost of a sync per step, fp16 loss scales | a dynamic loss scaler (graded against `GradScaler`) |
# | 3 FLOPs | MFU of a small GPT, a roofline | FLOPs per token and MFU (warm-up) |
# | 4 input pipeline | data vs compute time, DataLoader workers | — |
# | 5 memory | peak memory, activation checkpointing, OOM back-off | a batch-size back-off |
#
# The lab's second notebook, `01_gpu_training_kernels_ddp.ipynb`, goes on with kernels (the
# online softmax a fused kernel runs) and many devices (`DistributedSampler`'s shard and a
# bucketed gradient all-reduce checked against DDP), then the interview question.
#
# Sizes follow the device: on a CPU everything is small and quick; on a GPU the same cells use
# sizes where the GPU's advantages show.

# %%
import copy
import json
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from labkit.device import environment_report, resolve
from labkit.timing import benchmark
from labkit.training import (
    GPU_SPECS,
    MLP,
    StallingDataset,
    TinyTransformer,
    compare_timing_methods,
    format_bytes,
    gpu_spec,
    make_classification_data,
    make_loader,
    make_token_data,
    measure_bandwidth,
    measure_elementwise_point,
    measure_matmul_flops,
    measure_matmul_point,
    measure_peak_memory,
    model_flops_per_token,
    plot_roofline,
    supported_precisions,
    train,
)
from labkit.training import (
    mfu as labkit_mfu,
)

GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
device = resolve()
ON_GPU = device.type == "cuda"
report = environment_report()
for name, value in report.rows()[:9]:
    print(f"{name:<24} {value}")
print(f"{'precisions here':<24} {', '.join(supported_precisions(device))}")

# Sizes per device: small on a CPU (and smaller while grading), large enough on a GPU to matter.
S = {
    "hidden": 1024 if ON_GPU else 256,
    "depth": 8 if ON_GPU else 4,
    "batch_sizes": [256, 1024, 4096, 16384]
    if ON_GPU
    else ([32, 256] if GRADING else [32, 128, 512]),
    "sweep_steps": 20 if ON_GPU else 4,
    "curve_samples": 65536 if ON_GPU else (1024 if GRADING else 4096),
    "curve_model": {"hidden": 1024, "depth": 8} if ON_GPU else {"hidden": 128, "depth": 2},
    "curve_batch": 256 if ON_GPU else 64,
    "gpt": (
        {"vocab_size": 8192, "d_model": 768, "n_heads": 12, "n_layers": 6, "seq_len": 512}
        if ON_GPU
        else {"vocab_size": 256, "d_model": 128, "n_heads": 4, "n_layers": 2, "seq_len": 64}
    ),
    "gpt_batch": 16 if ON_GPU else 8,
    "matmul_sizes": [256, 1024, 4096, 8192] if ON_GPU else [64, 256, 1024],
}
results = {"lab": "01_gpu_training", "device": str(device), "torch": torch.__version__}

# %% [markdown]
# ## 1. Timing GPU work: the two classic mistakes
#
# A CUDA call returns as soon as its kernel is *queued*; the GPU finishes later. A timer read
# right after the call measures the launch — microseconds — however long the work takes. And the
# first call of anything pays one-off costs (CUDA context, cuBLAS handles, autotuning,
# allocator growth, compilation). `compare_timing_methods` times one function three ways. On a
# CPU the three rows differ little — CPU work is done when the call returns, and its one-off
# costs are small (other programs' noise can even reorder the rows); on a GPU the cold call can
# be hundreds of times slower than the median and the unsynchronized one hundreds of times
# faster.

# %%
n = 4096 if ON_GPU else 512
a = torch.randn(n, n, device=device)
fresh = torch.nn.Linear(n, n, device=device)  # never called yet: its first call is cold
timing = compare_timing_methods(fresh, a, device=device, repeat=10)
print(timing)
results["timing"] = timing.to_dict()

# %% [markdown]
# **Exercise 1 (3 points).** Write `synchronized_times(fn, sync, warmup, repeat)`. `fn()` only
# *launches* work; `sync()` blocks until all launched work has finished (on a GPU you would pass
# `torch.cuda.synchronize`). Call `fn` `warmup` times untimed, then time `repeat` calls with
# `time.perf_counter()` so that each sample covers exactly one call's work — no more (work left
# over from earlier calls) and no less (work still queued). Return the list of seconds.


# %% nbgrader={"grade": false, "grade_id": "01_gpu_training_timer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def synchronized_times(fn, sync, warmup, repeat):
    """Per-call seconds of `repeat` calls to fn(), each bracketed by sync() calls."""
    ### BEGIN SOLUTION
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return times
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "01_gpu_training_timer_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
class QueueDevice:
    """A pretend accelerator: launch() returns at once, synchronize() waits for queued work."""

    def __init__(self):
        self.queued = 0.0

    def launch(self, seconds):
        self.queued += seconds

    def synchronize(self):
        time.sleep(self.queued)
        self.queued = 0.0


dev = QueueDevice()
t = synchronized_times(lambda: dev.launch(0.02), dev.synchronize, warmup=1, repeat=4)
assert len(t) == 4
assert all(0.02 <= x < 0.2 for x in t), f"each sample should cover one call's 20 ms of work: {t}"
### BEGIN HIDDEN TESTS
# Reference: a pretend device whose every call queues a different, known amount of work.
import time as _time


class _Dev:
    def __init__(self):
        self.queued, self.calls = 0.0, 0

    def launch(self, s):
        self.calls += 1
        self.queued += s

    def synchronize(self):
        _time.sleep(self.queued)
        self.queued = 0.0


_d = _Dev()
_warm = 0.25  # warm-up work that must not leak into the first sample
_work = [0.012, 0.075, 0.031, 0.14, 0.05]  # each timed call's own work, all different
_n = 0


def _fn():
    global _n
    _n += 1
    _d.launch(_warm if _n <= 2 else _work[_n - 3])


_t = [float(x) for x in synchronized_times(_fn, _d.synchronize, 2, 5)]
assert _d.calls == 7 and len(_t) == 5
for _x, _w in zip(_t, _work, strict=True):
    assert _w <= _x < _w + 0.05, (_t, _work)  # covers its own call's work and nothing else
### END HIDDEN TESTS

# %% [markdown]
# `labkit.timing.benchmark` is this timer plus warm-up, percentiles and a noise warning; every
# number below comes from it or from the training loop.
#
# ## 2. Precision: fp32, tf32, bf16, fp16
#
# Tensor cores multiply in reduced precision: **tf32** keeps fp32 storage and rounds matmul
# inputs to a 10-bit mantissa; **bf16** keeps fp32's 8-bit exponent (so gradients rarely
# underflow) with a 7-bit mantissa; **fp16** has a 10-bit mantissa but a 5-bit exponent: values
# below about 6e-8 flush to zero and values above 65504 overflow to inf. `torch.autocast` runs
# matmuls in the low precision and keeps reductions and the loss in fp32.
#
# fp16 training therefore multiplies the loss by a large **loss scale** `s` before backward, so
# small gradients stay representable, and divides the gradients by `s` before the optimizer sees
# them. No single `s` is right for a whole run, so `torch.amp.GradScaler` adapts it: a step whose
# gradients overflowed (inf or NaN) is skipped and `s` is backed off; after enough good steps in a
# row `s` grows again, to use as much of fp16's range as is safe.
#
# **Exercise 2 (4 points). Build the dynamic loss scaler.** Write the class
# `DynamicLossScaler(init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
# growth_interval=2000)`, used exactly like `GradScaler`:
# `scaler.scale(loss).backward(); scaler.step(optimizer); scaler.update()`.
# - The constructor raises `ValueError` if `init_scale` is not positive, `growth_factor` is not
#   greater than 1, `backoff_factor` is not strictly between 0 and 1, or `growth_interval` is
#   not a whole number ≥ 1 (0 and 2.5 are refused).
# - `scale(loss)` returns `loss * s`, where `s` is the current scale.
# - `step(optimizer)` first *unscales*: it divides, in place, every `.grad` of the parameters in
#   `optimizer.param_groups` by `s` (parameters whose `.grad` is `None` are skipped). If any of
#   those gradients holds an inf **or** a NaN it does **not** call `optimizer.step()`; otherwise
#   it calls it once.
# - `update()` adjusts the scale after that step: after an overflow, `s *= backoff_factor` and the
#   count of consecutive good steps restarts at 0; after a good step the count goes up by one, and
#   when it reaches `growth_interval`, `s *= growth_factor` and the count restarts at 0.
# - `get_scale()` returns `s` as a float.
#
# The test replays a training run with momentum, step for step, against `torch.amp.GradScaler`
# with the same settings: the same parameters and the same scale after every step, with inf and
# NaN gradients injected at steps (and into parameters) you do not know. Its scales and factors
# are powers of two, so dividing by `s` and multiplying by `1/s` (what GradScaler does) agree
# exactly.


# %% nbgrader={"grade": false, "grade_id": "01_gpu_training_loss_scaler", "locked": false, "schema_version": 3, "solution": true, "task": false}
class DynamicLossScaler:
    """Loss scaling for fp16 training: scale, unscale, skip on overflow, back off, grow."""

    ### BEGIN SOLUTION
    def __init__(
        self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000
    ):
        if not init_scale > 0:
            raise ValueError(f"init_scale must be positive, got {init_scale!r}")
        if not growth_factor > 1:
            raise ValueError(f"growth_factor must be > 1, got {growth_factor!r}")
        if not 0 < backoff_factor < 1:
            raise ValueError(f"backoff_factor must be in (0, 1), got {backoff_factor!r}")
        if isinstance(growth_interval, bool) or int(growth_interval) != growth_interval:
            raise ValueError(f"growth_interval must be an integer, got {growth_interval!r}")
        if growth_interval < 1:
            raise ValueError(f"growth_interval must be >= 1, got {growth_interval!r}")
        self._scale = float(init_scale)
        self.growth_factor = float(growth_factor)
        self.backoff_factor = float(backoff_factor)
        self.growth_interval = int(growth_interval)
        self._good_steps = 0
        self._found_inf = False

    def scale(self, loss):
        return loss * self._scale

    def step(self, optimizer):
        grads = [
            p.grad
            for group in optimizer.param_groups
            for p in group["params"]
            if p.grad is not None
        ]
        found = False
        for g in grads:
            g.div_(self._scale)
            found = found or not bool(torch.isfinite(g).all())
        self._found_inf = found
        if not found:
            optimizer.step()

    def update(self):
        if self._found_inf:
            self._scale *= self.backoff_factor
            self._good_steps = 0
        else:
            self._good_steps += 1
            if self._good_steps == self.growth_interval:
                self._scale *= self.growth_factor
                self._good_steps = 0

    def get_scale(self):
        return self._scale

    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "01_gpu_training_loss_scaler_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
torch.manual_seed(0)
_m = torch.nn.Linear(4, 2)
_opt = torch.optim.SGD(_m.parameters(), lr=0.1)
_sc = DynamicLossScaler(init_scale=8.0, growth_interval=2)
_loss = _m(torch.ones(3, 4)).sum()
assert abs(float(_sc.scale(_loss).detach()) - 8.0 * float(_loss.detach())) < 1e-5
_sc.scale(_loss).backward()
_before = _m.weight.detach().clone()
_sc.step(_opt)  # unscaled: the gradient of sum(W·x + b) w.r.t. W is 3 in every entry
assert torch.allclose(_m.weight.grad, torch.full((2, 4), 3.0)), _m.weight.grad
assert not torch.equal(_m.weight, _before), "a finite step must update the weights"
_sc.update()
_m.weight.grad[0, 0] = float("inf")  # an overflow: skip the step and halve the scale
_before = _m.weight.detach().clone()
_sc.step(_opt)
_sc.update()
assert torch.equal(_m.weight, _before) and _sc.get_scale() == 4.0, _sc.get_scale()
for _bad in ({"init_scale": 0.0}, {"growth_factor": 1.0}, {"backoff_factor": 1.0}):
    try:
        DynamicLossScaler(**_bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f"DynamicLossScaler(**{_bad}) should raise ValueError")
### BEGIN HIDDEN TESTS
import copy as _copy
import math as _math

import torch as _torch

# Reference: torch.amp.GradScaler on the CPU, replayed on a copy of the same model and data.
for _bad in ({"init_scale": -1.0}, {"growth_factor": 0.5}, {"backoff_factor": 0.0},
             {"backoff_factor": 1.5}, {"growth_interval": 0}, {"growth_interval": 2.5}):  # fmt: skip
    try:
        DynamicLossScaler(**_bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f"DynamicLossScaler(**{_bad}) should raise ValueError")

_g = _torch.Generator().manual_seed(20261202)
_base = _torch.nn.Sequential(_torch.nn.Linear(12, 32), _torch.nn.Tanh(), _torch.nn.Linear(32, 4))
_base[0].bias.requires_grad_(False)  # a parameter without a gradient
_xs = [_torch.randn(16, 12, generator=_g) for _ in range(16)]
_ys = [_torch.randint(0, 4, (16,), generator=_g) for _ in range(16)]
# step -> (parameter index among those with gradients, value): overflows the test injects
_inject = {2: (2, float("inf")), 6: (1, float("nan")), 7: (0, float("-inf")), 11: (2, float("nan"))}
_settings = {"init_scale": 2.0**10, "growth_factor": 4.0, "backoff_factor": 0.25,
             "growth_interval": 3}  # fmt: skip
_mine, _ref = _copy.deepcopy(_base), _copy.deepcopy(_base)
_opt_m = _torch.optim.SGD(_mine.parameters(), lr=0.05, momentum=0.9)
_opt_r = _torch.optim.SGD(_ref.parameters(), lr=0.05, momentum=0.9)
_sm = DynamicLossScaler(**_settings)
_sr = _torch.amp.GradScaler("cpu", **_settings)
_scales = []
for _i, (_x, _y) in enumerate(zip(_xs, _ys, strict=True)):
    for _model, _opt, _sc in ((_mine, _opt_m, _sm), (_ref, _opt_r, _sr)):
        _opt.zero_grad()
        _sc.scale(_torch.nn.functional.cross_entropy(_model(_x), _y)).backward()
        if _i in _inject:
            _k, _v = _inject[_i]
            [p for p in _model.parameters() if p.grad is not None][_k].grad.view(-1)[3] = _v
        _sc.step(_opt)
        _sc.update()
    _got_scale = float(_sm.get_scale())
    assert _got_scale == _sr.get_scale(), f"step {_i}: scale {_got_scale}, want {_sr.get_scale()}"
    _scales.append(_got_scale)
    for _p, _q in zip(_mine.parameters(), _ref.parameters(), strict=True):
        _a, _b = _p.detach().flatten().tolist(), _q.detach().flatten().tolist()
        assert all(_math.isfinite(u) and abs(u - v) <= 1e-6 for u, v in zip(_a, _b, strict=True)), (
            f"step {_i}: parameters differ from GradScaler's run"
        )
# the run exercised growth and back-off both (so a scaler that never changes s fails)
assert len(set(_scales)) >= 3, _scales
### END HIDDEN TESTS

# %% [markdown]
# Your scaler on a real fp16 run: autocast to fp16 on this device, starting from a scale of
# 2²⁴, where the backward pass overflows fp16's range. Both scalers back off to the same scale
# and skip the same steps; the plot is the scale over the run.

# %%
fp16_steps = 24 if GRADING else 60
fp16_data = make_classification_data(64 * 4, in_features=64, seed=4)
fp16_runs = {}
for name, make_scaler in (
    ("yours", lambda: DynamicLossScaler(init_scale=2.0**24, growth_interval=10)),
    ("torch GradScaler", lambda: torch.amp.GradScaler(device.type, init_scale=2.0**24,
                                                        growth_interval=10)),
):  # fmt: skip
    torch.manual_seed(0)
    model = MLP(in_features=64, hidden=64, depth=2).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    scaler, scales, skipped = make_scaler(), [], 0
    for i in tqdm(range(fp16_steps), desc=f"fp16, {name}", leave=False):
        xb, yb = (
            fp16_data.tensors[0][i % 4 :: 4].to(device),
            fp16_data.tensors[1][i % 4 :: 4].to(device),
        )
        opt.zero_grad()
        with torch.autocast(device.type, dtype=torch.float16):
            loss = F.cross_entropy(model(xb), yb)
        before = scaler.get_scale()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        skipped += scaler.get_scale() < before
        scales.append(scaler.get_scale())
    fp16_runs[name] = (scales, skipped, loss.item())
    print(f"{name:<17} skipped {skipped} of {fp16_steps} steps; final scale 2^{np.log2(scales[-1]):.0f}; "
          f"last loss {loss.item():.3f}")  # fmt: skip
fig, ax = plt.subplots(figsize=(6.5, 3))
for name, (scales, _, _) in fp16_runs.items():
    ax.step(range(len(scales)), np.log2(scales), where="post", label=name, alpha=0.8)
ax.set_xlabel("optimizer step")
ax.set_ylabel("log2(loss scale)")
ax.set_title("Dynamic loss scaling in an fp16 run")
ax.legend()
plt.show()
results["fp16_skipped_steps"] = fp16_runs["yours"][1]
results["fp16_scalers_agree"] = fp16_runs["yours"][0] == fp16_runs["torch GradScaler"][0]

# %% [markdown]
# Now the library's loop (`labkit.training.train`: autocast, `GradScaler` for fp16, gradient
# accumulation, compilation, fused optimizers) sweeps batch size × precision. Small
# batches leave the hardware idle between kernel launches; throughput climbs with batch size
# until the device is saturated. Reduced precision pays off once matmuls dominate.

# %%
sweep = []
data = make_classification_data(max(S["batch_sizes"]) * (S["sweep_steps"] + 2), in_features=64)
configs = [(p, b) for p in supported_precisions(device) for b in S["batch_sizes"]]
for precision, batch_size in tqdm(configs, desc="batch × precision"):
    torch.manual_seed(0)
    model = MLP(in_features=64, hidden=S["hidden"], depth=S["depth"])
    loader = make_loader(data, batch_size=batch_size, device=device)
    r = train(model, loader, max_steps=S["sweep_steps"] + 1, precision=precision, device=device,
              optimizer_impl="fused")  # fmt: skip
    sweep.append({"precision": precision, "batch_size": batch_size,
                  "samples_per_s": r.samples_per_s, "peak_memory_bytes": r.peak_memory_bytes})  # fmt: skip

fig, ax = plt.subplots(figsize=(6.5, 4))
for precision in supported_precisions(device):
    pts = [s for s in sweep if s["precision"] == precision]
    ax.plot(
        [s["batch_size"] for s in pts], [s["samples_per_s"] for s in pts], "o-", label=precision
    )
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xlabel("batch size (samples)")
ax.set_ylabel("training throughput (samples/s)")
ax.set_title(f"MLP width {S['hidden']}, depth {S['depth']} on {device}")
ax.legend()
plt.show()

best = {
    p: max(s["samples_per_s"] for s in sweep if s["precision"] == p)
    for p in supported_precisions(device)
}
for p, v in best.items():
    print(f"best {p:>5}: {v:>12,.0f} samples/s   ({v / best['fp32']:.2f}× fp32)")
results["sweep"] = sweep
results["best_speedup_vs_fp32"] = {p: v / best["fp32"] for p, v in best.items()}

# %% [markdown]
# Speed is worthless if training diverges, so compare loss curves on the same data, same
# initialization and same batch order: bf16 should track fp32 closely.

# %%
curve_data = make_classification_data(S["curve_samples"], in_features=64, seed=1)
curves = {}
for precision in supported_precisions(device):
    torch.manual_seed(0)
    model = MLP(in_features=64, **S["curve_model"])
    r = train(model, make_loader(curve_data, batch_size=S["curve_batch"], device=device),
              precision=precision, lr=1e-3, device=device)  # fmt: skip
    curves[precision] = r
    print(r)

fig, ax = plt.subplots(figsize=(6.5, 3.5))
for precision, r in curves.items():
    ax.plot(r.losses, label=f"{precision} (final {np.mean(r.losses[-5:]):.3f})", alpha=0.8)
ax.set_xlabel("optimizer step")
ax.set_ylabel("training loss (cross-entropy)")
ax.set_title("Loss curves per precision")
ax.legend()
plt.show()
results["final_loss"] = {p: float(np.mean(r.losses[-5:])) for p, r in curves.items()}

# %% [markdown]
# ### The readback in the loop is a host–device sync
#
# `train` reads each step's loss back to the host (`loss.item()`) so it can log it. On a GPU
# that is the classic **host–device synchronization anti-pattern**: the CPU stops launching work
# until the GPU has drained its queue, so the GPU idles while the CPU prepares the next step.
# `readback_every=k` keeps the losses on the device and reads them back once every `k` steps.
# On a CPU the ratio is 1 up to noise — CPU work is finished when the call returns, there is no
# queue to drain (run the cell again: it moves by several percent either way); on a GPU with
# small, launch-bound steps the gap is the launch overhead the readback exposes. Alongside, on a GPU, the same model on the CPU answers
# the interview question's "what improvement did you observe?" with your own ratio.

# %%
sync_batch = min(S["batch_sizes"])  # small steps: where launch overhead matters most
sync_runs = {}
for every in (1, S["sweep_steps"]):
    torch.manual_seed(0)
    model = MLP(in_features=64, hidden=S["hidden"], depth=S["depth"])
    loader = make_loader(data, batch_size=sync_batch, device=device)
    sync_runs[every] = train(model, loader, max_steps=S["sweep_steps"] + 1, readback_every=every,
                             device=device, track_memory=False)  # fmt: skip
    print(
        f"loss read back every {every:>2} step(s): {sync_runs[every].samples_per_s:>12,.0f} samples/s"
    )
results["readback_speedup"] = sync_runs[S["sweep_steps"]].samples_per_s / sync_runs[1].samples_per_s
print(f"deferring the readback: {results['readback_speedup']:.2f}× on {device}")
if ON_GPU:
    best_cfg = max((s for s in sweep if s["precision"] == "fp32"), key=lambda s: s["samples_per_s"])
    torch.manual_seed(0)
    cpu_run = train(MLP(in_features=64, hidden=S["hidden"], depth=S["depth"]),
                    make_loader(data, batch_size=best_cfg["batch_size"], device="cpu"),
                    max_steps=4, device="cpu")  # fmt: skip
    results["gpu_vs_cpu_fp32"] = best_cfg["samples_per_s"] / cpu_run.samples_per_s
    results["gpu_vs_cpu_best"] = max(best.values()) / cpu_run.samples_per_s
    print(f"same model, batch {best_cfg['batch_size']}: CPU {cpu_run.samples_per_s:,.0f} samples/s; "
          f"GPU fp32 {results['gpu_vs_cpu_fp32']:.1f}× faster, best precision "
          f"{results['gpu_vs_cpu_best']:.1f}×")  # fmt: skip
else:
    print("this run is on the CPU: open the lab on a GPU to measure the GPU-vs-CPU speed-up")

# %% [markdown]
# ### Compilation
#
# `torch.compile` traces the model and generates fused kernels: fewer trips through memory and
# fewer launches. It costs seconds to minutes up front (paid in the warm-up below) and pays back
# only over many steps. Skipped while grading.

# %%
if GRADING:
    print("torch.compile demo skipped while grading (it costs tens of seconds on a CPU)")
else:
    compiled_runs = {}
    for use_compile in (False, True):
        torch.manual_seed(0)
        model = MLP(in_features=64, hidden=S["hidden"], depth=S["depth"])
        loader = make_loader(curve_data, batch_size=S["curve_batch"], device=device)
        compiled_runs[use_compile] = train(model, loader, max_steps=12, warmup_steps=2,
                                           compile=use_compile, device=device)  # fmt: skip
    eager_r, comp_r = compiled_runs[False], compiled_runs[True]
    print(f"eager:    {eager_r.samples_per_s:,.0f} samples/s, warm-up {eager_r.warmup_s:.2f} s")
    print(f"compiled: {comp_r.samples_per_s:,.0f} samples/s, warm-up {comp_r.warmup_s:.2f} s")
    print(f"speed-up {comp_r.samples_per_s / eager_r.samples_per_s:.2f}×; compile pays back after "
          f"~{comp_r.warmup_s / max(eager_r.step_s - comp_r.step_s, 1e-9):,.0f} steps"
          if comp_r.step_s < eager_r.step_s else "no steady-state gain at this size")  # fmt: skip
    results["compile_speedup"] = comp_r.samples_per_s / eager_r.samples_per_s
    results["compile_warmup_s"] = comp_r.warmup_s

# %% [markdown]
# ## 3. FLOPs, MFU and the roofline
#
# Throughput in samples/s cannot be compared across models; FLOP/s can. For a decoder-only
# transformer, training costs about **6N + 12·L·H·Q·T FLOPs per token** (PaLM, appendix B): `N`
# non-embedding parameters, each used in one multiply-add forward (2 FLOPs) and two backward
# (4 FLOPs), plus the attention matmuls over `L` layers, `H` heads of dimension `Q` and context
# `T`, which have no parameters. **MFU** (model FLOPs utilization) is tokens/s × FLOPs/token ÷ the
# device's dense peak. Around 50% is good for large training runs.
#
# **Exercise 3 (2 points).** Write `train_flops_per_token(n_params, n_layers, n_heads, head_dim,
# seq_len)` and `mfu(tokens_per_s, flops_per_token, peak_flops)` (a fraction, 0.4 for 40%).
# `mfu` raises `ValueError` when `peak_flops` is not positive.


# %% nbgrader={"grade": false, "grade_id": "01_gpu_training_mfu", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_flops_per_token(n_params, n_layers, n_heads, head_dim, seq_len):
    """Training FLOPs per token of a decoder-only transformer (6N + 12·L·H·Q·T)."""
    ### BEGIN SOLUTION
    return 6 * n_params + 12 * n_layers * n_heads * head_dim * seq_len
    ### END SOLUTION


def mfu(tokens_per_s, flops_per_token, peak_flops):
    """Model FLOPs utilization as a fraction of peak_flops (FLOP/s)."""
    ### BEGIN SOLUTION
    if not peak_flops > 0:
        raise ValueError(f"peak_flops must be positive, got {peak_flops!r}")
    return tokens_per_s * flops_per_token / peak_flops
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "01_gpu_training_mfu_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# GPT-2 small (124M parameters incl. embeddings; ~85M without) at T = 1024
assert (
    train_flops_per_token(85_000_000, 12, 12, 64, 1024) == 6 * 85_000_000 + 12 * 12 * 12 * 64 * 1024
)
assert abs(mfu(1000.0, 1e9, 4e12) - 0.25) < 1e-12
try:
    mfu(1.0, 1.0, 0.0)
except ValueError:
    pass
else:
    raise AssertionError("peak_flops=0 should raise ValueError")
### BEGIN HIDDEN TESTS
# Reference: the PaLM formula written out here, on random sizes; MFU by plain arithmetic.
import random as _random

_rng = _random.Random(11)
for _ in range(100):
    _N, _L, _H, _Q, _T = (_rng.randint(1, 10**9), _rng.randint(1, 96), _rng.randint(1, 128),
                          _rng.randint(1, 256), _rng.randint(1, 32768))  # fmt: skip
    _want = 6 * _N + 12 * _L * _H * _Q * _T
    assert int(train_flops_per_token(_N, _L, _H, _Q, _T)) == _want
    _tps, _peak = _rng.uniform(1, 1e6), _rng.uniform(1e12, 2e15)
    _got = float(mfu(_tps, _want, _peak))
    assert abs(_got - _tps * _want / _peak) <= 1e-12 * max(1.0, _tps * _want / _peak)
for _bad in (0.0, -5.0):
    try:
        mfu(1.0, 1.0, _bad)
    except ValueError:
        pass
    else:
        raise AssertionError("non-positive peak_flops should raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# The spec sheets' dense peaks (sparsity figures, which NVIDIA quotes at twice these, are not
# what training gets):

# %%
print(f"{'GPU':<14}{'fp32':>7}{'tf32':>7}{'bf16':>7}{'fp16':>7}  {'HBM TB/s':>8}  (dense TFLOP/s)")
for spec in GPU_SPECS:
    show = [
        f"{v / 1e12:7.0f}" if v else "      -" for v in (spec.fp32, spec.tf32, spec.bf16, spec.fp16)
    ]
    print(f"{spec.name:<14}{''.join(show)}  {spec.memory_bandwidth / 1e12:8.2f}")

# %% [markdown]
# Now measure a small GPT and compute its MFU. On a GPU the peak is the spec sheet's; a CPU
# publishes no such figure, so the peak used is this machine's own best matmul (so CPU MFU says
# "fraction of what a large matmul achieves here").

# %%
cfg = S["gpt"]
gpt_precision = "bf16" if "bf16" in supported_precisions(device) else "fp32"
tok_data = make_token_data(S["gpt_batch"] * 8, seq_len=cfg["seq_len"], vocab_size=cfg["vocab_size"])
torch.manual_seed(0)
gpt = TinyTransformer(**cfg)
gpt_report = train(gpt, make_loader(tok_data, batch_size=S["gpt_batch"], device=device),
                   max_steps=6, warmup_steps=1, precision=gpt_precision, device=device)  # fmt: skip
tokens_per_s = gpt_report.samples_per_s * cfg["seq_len"]
fpt = model_flops_per_token(gpt)  # labkit's version of your train_flops_per_token
if ON_GPU and gpu_spec(torch.cuda.get_device_name()) is not None:
    peak = gpu_spec(torch.cuda.get_device_name()).peak_flops(gpt_precision)
    peak_source = f"{gpu_spec(torch.cuda.get_device_name()).name} dense {gpt_precision} spec"
else:
    peak_dtype = torch.bfloat16 if gpt_precision == "bf16" else torch.float32
    peak = measure_matmul_flops(1024, dtype=peak_dtype, device=device)
    peak_source = f"this machine's measured {gpt_precision} 1024³ matmul"
gpt_mfu = labkit_mfu(tokens_per_s * fpt, peak)  # labkit's takes achieved FLOP/s
print(f"{gpt.num_params():,} non-embedding parameters, {fpt / 1e6:.1f} MFLOP per token")
print(f"{tokens_per_s:,.0f} tokens/s in {gpt_precision} → {tokens_per_s * fpt / 1e12:.3f} TFLOP/s")
print(f"MFU {gpt_mfu:.1%} against {peak / 1e12:.3f} TFLOP/s ({peak_source})")
results.update(gpt_tokens_per_s=tokens_per_s, gpt_mfu=gpt_mfu, mfu_peak_source=peak_source)

# %% [markdown]
# **The roofline** says why some kernels can never reach the peak. A kernel doing `F` FLOPs
# while moving `B` bytes has arithmetic intensity `F/B`; it can run no faster than
# `min(peak, intensity × bandwidth)`. Elementwise work (a few FLOPs per 12+ bytes) is always
# memory-bound; a large matmul (intensity grows with `n`) can be compute-bound.

# %%
mm_dtype = torch.bfloat16 if ON_GPU else torch.float32
points = [
    measure_matmul_point(n, dtype=mm_dtype, device=device, repeat=5) for n in S["matmul_sizes"]
]
points.append(measure_elementwise_point(2**24 if ON_GPU else 2**21, device=device, repeat=5))
spec = gpu_spec(torch.cuda.get_device_name()) if ON_GPU else None
if spec is not None:
    roof_peak, roof_bw = spec.peak_flops("bf16" if spec.bf16 else "fp16"), spec.memory_bandwidth
    roof_title = f"Roofline: {spec.name} spec sheet"
else:
    roof_peak = max(p.flops_per_s for p in points)
    roof_bw = measure_bandwidth(2**26 if ON_GPU else 2**22, device=device, repeat=5)
    roof_title = f"Roofline: {device}, roofs measured here"
plot_roofline(points, peak_flops=roof_peak, bandwidth=roof_bw, title=roof_title)
plt.show()
for p in points:
    bound = "memory" if p.intensity < roof_peak / roof_bw else "compute"
    print(f"{p.name:<22} intensity {p.intensity:8.2f} FLOP/B  {p.flops_per_s / 1e9:10.1f} GFLOP/s"
          f"  ({bound}-bound region)")  # fmt: skip
results["roofline"] = [p.to_dict() for p in points]
results["bandwidth_Bps"] = roof_bw

# %% [markdown]
# ## 4. The input pipeline: is the accelerator waiting for data?
#
# A fast model behind a slow loader runs at the loader's speed. The loop's report splits each
# step into *data* time (waiting for the next batch) and *compute*. `StallingDataset` makes every
# item cost a fixed wait, as reading from slow storage does; worker processes
# (`num_workers`) prepare batches in parallel while the model computes, and `persistent_workers`
# keeps them alive across epochs. On a GPU, `pin_memory=True` with `non_blocking=True` copies
# also overlap the transfer with compute.

# %%
stall = StallingDataset(make_classification_data(32 * 12, in_features=64), latency_s=2e-3)
pipeline = {}
n_workers = min(4, os.cpu_count() or 1)  # the waits are I/O-like: workers overlap them, not CPU
for workers in (0, n_workers):
    torch.manual_seed(0)
    loader = make_loader(stall, batch_size=32, num_workers=workers, device=device,
                         persistent_workers=workers > 0)  # fmt: skip
    r = train(MLP(in_features=64, hidden=64, depth=1), loader, max_steps=8, device=device)
    pipeline[workers] = r
    print(f"num_workers={workers}: {r.samples_per_s:8,.0f} samples/s, "
          f"{r.data_fraction:.0%} of step time waiting for data")  # fmt: skip
results["pipeline_workers"] = n_workers
results["pipeline_speedup"] = pipeline[n_workers].samples_per_s / pipeline[0].samples_per_s
results["data_fraction_0_workers"] = pipeline[0].data_fraction

# %% [markdown]
# ## 5. Memory: what limits the batch size
#
# Training memory = weights + gradients + optimizer state (AdamW: two fp32 moments) +
# activations saved for backward, which grow with batch size. **Activation checkpointing**
# keeps only each block's input and recomputes the rest during backward: less memory for about
# one extra forward pass of time. On a GPU the allocator reports the peak; on a CPU labkit counts
# live tensor bytes itself (`LiveTensorTracker`).

# %%
ck_batch, ck_hidden = (
    (4096, 1024) if ON_GPU else (512 if GRADING else 1024, 128)
)  # activations ≫ weights
ck = {}
for ckpt in (False, True):
    torch.manual_seed(0)
    model = MLP(in_features=64, hidden=ck_hidden, depth=S["depth"], checkpointing=ckpt).to(device)
    xb = torch.randn(ck_batch, 64, device=device)
    yb = torch.randint(0, 10, (ck_batch,), device=device)

    def fwd_bwd(model=model, xb=xb, yb=yb):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(xb), yb).backward()

    peak_mem = measure_peak_memory(fwd_bwd, device=device).peak_bytes
    step_time = benchmark(fwd_bwd, warmup=1, repeat=3, device=device).median
    ck[ckpt] = (peak_mem, step_time)
    print(
        f"checkpointing={ckpt!s:<5}  peak {format_bytes(peak_mem):>11}  step {step_time * 1e3:7.1f} ms"
    )
mem_saving = 1 - ck[True][0] / ck[False][0]
time_cost = ck[True][1] / ck[False][1]
print(f"checkpointing saves {mem_saving:.0%} of peak memory for {time_cost:.2f}× the step time")
results.update(checkpoint_memory_saving=mem_saving, checkpoint_time_ratio=time_cost)

# %% [markdown]
# When a batch does not fit, CUDA raises `torch.cuda.OutOfMemoryError` — catchable, so a job can
# free memory (`torch.cuda.empty_cache()`) and retry with a smaller batch instead of dying
# (accumulating gradients over several smaller batches keeps the effective batch). A CPU has no
# such error — it swaps, or the kernel's OOM killer ends the process — so here it is simulated:
# `LiveTensorTracker(budget_bytes=...)` raises a `torch.cuda.OutOfMemoryError` subclass at the
# first allocation that would exceed a memory budget, the point at which a GPU's allocator fails.
#
# **Exercise 4 (2 points).** Write `largest_batch_that_fits(step, start, min_batch_size=1)`: try
# `step(batch_size)` from `start`, halving (integer division) after each
# `torch.cuda.OutOfMemoryError`, and return `(batch_size, tried)` — the size that ran and the list
# of every size tried (`start`, `start // 2`, `start // 4`, …). Any other exception must
# propagate unchanged (never hide a real bug as "out of memory"). When a size fails and the next
# one would be below `min_batch_size`, re-raise that OOM error (`raise` inside the `except`).


# %% nbgrader={"grade": false, "grade_id": "01_gpu_training_backoff", "locked": false, "schema_version": 3, "solution": true, "task": false}
def largest_batch_that_fits(step, start, min_batch_size=1):
    """(batch size that ran, list of sizes tried), halving on out-of-memory errors."""
    ### BEGIN SOLUTION
    batch_size, tried = start, []
    while True:
        tried.append(batch_size)
        try:
            step(batch_size)
            return batch_size, tried
        except torch.cuda.OutOfMemoryError:
            if batch_size // 2 < min_batch_size:
                raise
        batch_size //= 2
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "01_gpu_training_backoff_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import itertools

from labkit.training import LiveTensorTracker

torch.manual_seed(0)
_mlp = MLP(in_features=64, hidden=128, depth=2)


def _budgeted_step(bs, budget=3 * 2**20):
    _mlp.zero_grad(set_to_none=True)
    with LiveTensorTracker(budget_bytes=budget):
        F.cross_entropy(_mlp(torch.randn(bs, 64)), torch.randint(0, 10, (bs,))).backward()


fit, tried = largest_batch_that_fits(_budgeted_step, 8192)
print(f"fits: {fit}; tried {tried}")
assert tried[0] == 8192 and tried[-1] == fit and fit < 8192
assert all(b == 2 * c for b, c in itertools.pairwise(tried))
### BEGIN HIDDEN TESTS
# Reference: the halving sequence computed here for random memory limits.
import random as _random

import torch as _torch

_rng = _random.Random(5)
for _ in range(30):
    _limit = _rng.randint(1, 5000)
    _start = _rng.randint(1, 20000)
    _calls = []

    def _step(bs, _limit=_limit, _calls=_calls):
        _calls.append(bs)
        if bs > _limit:
            raise _torch.cuda.OutOfMemoryError(f"CUDA out of memory ({bs})")

    _want, _b = [], _start
    while True:
        _want.append(_b)
        if _b <= _limit:
            break
        _b //= 2
    _got = largest_batch_that_fits(_step, _start)
    assert int(_got[0]) == _want[-1] and [int(v) for v in _got[1]] == _want == _calls, (
        _start,
        _limit,
    )


_bug_calls = []


def _buggy(bs):
    _bug_calls.append(bs)
    raise ValueError("shape mismatch")  # a bug, not memory: must not be retried


try:
    largest_batch_that_fits(_buggy, 64)
except ValueError:
    pass
else:
    raise AssertionError("a ValueError from step must propagate")
assert _bug_calls == [64], f"a non-OOM error must propagate at once, without retries: {_bug_calls}"


def _never(bs):
    raise _torch.cuda.OutOfMemoryError("no")


try:
    largest_batch_that_fits(_never, 64, min_batch_size=8)
except _torch.cuda.OutOfMemoryError:
    pass
else:
    raise AssertionError("when nothing fits the OOM error must propagate")
### END HIDDEN TESTS

# %% [markdown]
# A smaller batch need not mean a different optimization: **gradient accumulation** runs `k`
# micro-batches, adding their gradients (each loss divided by `k`), then steps once. Below, one
# batch of 256 and four accumulated micro-batches of 64 see the same samples in the same order
# (same shuffling seed); the weights end up equal while the peak memory is the micro-batch's.

# %%
acc_data = make_classification_data(256 * 4, in_features=64, seed=2)
acc = {}
for batch_size, accum in ((256, 1), (64, 4)):
    torch.manual_seed(0)
    model = MLP(in_features=64, hidden=ck_hidden, depth=2)
    r = train(model, make_loader(acc_data, batch_size=batch_size, seed=3, device=device),
              grad_accum_steps=accum, max_steps=3, optimizer="sgd", lr=0.1, device=device)  # fmt: skip
    acc[accum] = (model, r)
    print(f"batch {batch_size} × accumulation {accum}: peak memory "
          f"{format_bytes(r.peak_memory_bytes or 0)}, losses {[round(v, 4) for v in r.losses]}")  # fmt: skip
acc_diff = max((p - q).abs().max().item() for p, q in
               zip(acc[1][0].parameters(), acc[4][0].parameters(), strict=True))  # fmt: skip
print(f"max |weight difference| after 3 steps: {acc_diff:.1e}")
results.update(accumulation_weight_diff=acc_diff)

# %% [markdown]
# ## 6. The numbers so far
#
# They go to `01_gpu_training_results.json` beside this notebook; the second notebook of this
# lab, `01_gpu_training_kernels_ddp.ipynb` (kernels and many devices), adds its own and ends
# with the interview question.

# %%
headline = {
    "device": str(device),
    "best bf16 speed-up over fp32": results["best_speedup_vs_fp32"].get("bf16"),
    "final loss fp32 / bf16": (
        results["final_loss"].get("fp32"),
        results["final_loss"].get("bf16"),
    ),
    "GPU vs CPU, same model": results.get("gpu_vs_cpu_best", "CPU run: no GPU here"),
    "loss readback deferred: speed-up": round(results["readback_speedup"], 2),
    "fp16: steps skipped by your loss scaler": results["fp16_skipped_steps"],
    "GPT tokens/s, MFU": (round(tokens_per_s), f"{gpt_mfu:.1%} vs {peak_source}"),
    f"{n_workers} DataLoader workers speed-up on a stalling dataset": results["pipeline_speedup"],
    "checkpointing: memory saved, time ratio": (f"{mem_saving:.0%}", round(time_cost, 2)),
    "4×64 accumulation vs batch 256: max |weight diff|": acc_diff,
    "compile speed-up": results.get("compile_speedup", "not run while grading"),
}
for k, v in headline.items():
    print(f"{k:<56} {v}")
from labkit.study.results import save  # schema'd, with the machine (docs/results.md)

save("01_gpu_training", results, "01_gpu_training_results.json", part="training", device=device)
