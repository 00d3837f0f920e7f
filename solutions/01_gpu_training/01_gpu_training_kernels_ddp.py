# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lab 01, part 2 — kernels and many devices
#
# The first notebook measured one device: precision, MFU, the input pipeline, memory. This one
# builds two mechanisms every GPU-training interview reaches sooner or later: the **online
# softmax** a fused kernel (and FlashAttention) runs tile by tile, and the **bucketed gradient
# all-reduce** inside DistributedDataParallel — checked against DDP itself, with the bytes it
# moves. It ends with the interview question, answered from both notebooks' numbers.
#
# | section | you measure | you build |
# |---|---|---|
# | 1 kernels | a CuPy kernel and its NumPy twin, zero-copy DLPack, the memory of a tiled softmax | the online softmax statistics |
# | 2 many devices | all-reduce time per bucket size, DDP gradients vs one process | `DistributedSampler`'s shard (warm-up), a bucketed all-reduce |

# %%
import json
import os
import time
import weakref
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.distributed as dist
from torch.nn import functional as F
from tqdm.auto import tqdm

from labkit.device import resolve
from labkit.study.results import figures, save
from labkit.timing import benchmark
from labkit.training import (
    bias_gelu,
    cupy_available,
    format_bytes,
    measure_peak_memory,
    run_ranks,
    shares_memory,
    to_numpy_zero_copy,
)
from labkit.training.kernels import ROW_SOFTMAX_CUDA_SOURCE

GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))
device = resolve()
ON_GPU = device.type == "cuda"
RESULTS = Path("01_gpu_training_results.json")  # the first notebook's numbers, if it has run
first = figures(RESULTS, part="training") if RESULTS.exists() else {}
results = {"device": str(device)}  # this notebook's own figures
print(f"device {device}; first notebook's results {'found' if first else 'not found'}")

# %% [markdown]
# ## 1. Custom kernels and zero-copy interop
#
# When no library op does what you need, you write a kernel. `labkit.training.kernels` has three
# CuPy kernels — an `ElementwiseKernel` fusing bias + GELU, a `ReductionKernel` for Σx², and a
# `RawKernel` in CUDA C computing a row softmax (one block per row, shared-memory max and sum) —
# each with a NumPy twin that computes the same result on a CPU. Tensors cross between torch,
# CuPy and NumPy through **DLPack** without copying: both sides see the same memory. Fusing pays
# because elementwise work is memory-bound (the first notebook's roofline): one kernel reads and
# writes each element once, where `x + b` then `gelu` reads and writes it twice.

# %%
print("CuPy kernels usable here:", cupy_available())
print(ROW_SOFTMAX_CUDA_SOURCE[:420], "...")
t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
view = to_numpy_zero_copy(t)
view[0, 0] = 100.0  # written through NumPy ...
print("torch sees the NumPy write:", t[0, 0].item(), "| same memory:", shares_memory(view, t))
xk = torch.randn(2048 if ON_GPU else 256, 1024, device=device)
bk = torch.randn(1024, device=device)
m_kernel = benchmark(bias_gelu, xk, bk, warmup=2, repeat=10, device=device)
m_torch = benchmark(lambda: F.gelu(xk + bk, approximate="tanh"), warmup=2, repeat=10, device=device)
path = "CuPy ElementwiseKernel" if ON_GPU and cupy_available() else "NumPy twin via DLPack"
print(
    f"bias+GELU, {path}: {m_kernel.median * 1e6:.0f} µs;  torch eager: {m_torch.median * 1e6:.0f} µs"
)
err = (bias_gelu(xk, bk) - F.gelu(xk + bk, approximate="tanh")).abs().max().item()
print(f"max |difference| vs torch: {err:.2e}")
results.update(kernel_path=path, kernel_vs_torch=m_torch.median / m_kernel.median)

# %% [markdown]
# ### The online softmax: one pass, one tile at a time
#
# The RawKernel above holds a whole row in one block. A kernel that fuses softmax into a matmul —
# FlashAttention is the famous one — cannot: the row of scores `Q·Kᵀ` is produced one tile of
# columns at a time and must never exist in full (for a 32k context it is 128 KiB per row per
# head). It keeps, for every row, only the running maximum `m` and the running sum
# `l = Σ exp(x − m)` of the tiles seen so far. When a new tile raises the row maximum from `m` to
# `m'`, the sum so far was computed against the old maximum, so it is rescaled first:
#
# `l ← l · exp(m − m') + Σ_tile exp(x − m')`,  then `m ← m'`.
#
# (FlashAttention rescales its running output the same way.) At the end
# `softmax(x) = exp(x − m) / l` and `logsumexp(x) = m + log l`.
#
# **Exercise 1 (3 points). Build the online softmax statistics.** Write
# `online_softmax_stats(tiles)`:
# - `tiles` is an iterable — a generator in the test — of 2-D float tensors: the column tiles of
#   one matrix, left to right, each of shape `(rows, width)`; widths may differ (the last tile is
#   often narrower) and a matrix may be a single tile;
# - read it **once**, and keep no reference to a tile after you have moved on to the next one
#   (the test checks that earlier tiles have been freed: your memory must stay at a few tiles,
#   not the whole matrix — so do not collect the tiles and concatenate them);
# - return `(m, l)`, two 1-D tensors (or arrays) of length `rows`: `m` the exact maximum of each
#   row, and `l = Σ_j exp(x_ij − m_i)` over the whole row, within a relative 1e-4;
# - start from `m = −∞` and `l = 0`. Rows in the test reach ±10 000: `exp` of a raw logit
#   overflows there, and starting from `m = 0` instead of `−∞` leaves a row of very negative
#   logits with `l = 0`. The test's tiles are float32 and finite, and there is at least one;
#   return any float dtype.


# %% nbgrader={"grade": false, "grade_id": "01_gpu_training_online_softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
def online_softmax_stats(tiles):
    """Running row max m and row sum l = Σ exp(x − m) over column tiles, in one pass."""
    ### BEGIN SOLUTION
    row_max = row_sum = None
    for tile in tiles:
        tile_max = tile.amax(dim=1)
        if row_max is None:
            row_max = torch.full_like(tile_max, -torch.inf)
            row_sum = torch.zeros_like(tile_max)
        new_max = torch.maximum(row_max, tile_max)
        row_sum = row_sum * torch.exp(row_max - new_max) + torch.exp(tile - new_max[:, None]).sum(
            dim=1
        )
        row_max = new_max
    return row_max, row_sum
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "01_gpu_training_online_softmax_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
_x = torch.tensor([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
_m, _l = online_softmax_stats(iter([_x[:, :2], _x[:, 2:]]))
_m, _l = torch.as_tensor(_m, dtype=torch.float64), torch.as_tensor(_l, dtype=torch.float64)
assert torch.allclose(_m, torch.tensor([4.0, 4.0], dtype=torch.float64))
_want = torch.exp(_x.double() - 4.0).sum(dim=1)
assert torch.allclose(_l, _want), (_l, _want)
_sm = torch.exp(_x.double() - _m[:, None]) / _l[:, None]
assert torch.allclose(_sm, torch.softmax(_x.double(), dim=1))
### BEGIN HIDDEN TESTS
import weakref as _weakref

import torch as _torch

# Reference: torch.logsumexp in float64 over the whole row (m + log l must equal it).


def _tiles(x, widths, refs, stale):
    start = 0
    for w in widths:
        tile = x[:, start : start + w].clone()
        start += w
        refs.append(_weakref.ref(tile))
        yield tile
        del tile
        # resumed: the learner asked for the next tile; all but the latest must be gone
        stale.append(sum(r() is not None for r in refs[:-1]))


_gen = _torch.Generator().manual_seed(20261202)
_cases = []
_a = _torch.randn(6, 50, generator=_gen) * 3
_cases.append((_a, [7] * 7 + [1]))  # a ragged last tile
_ramp = _torch.linspace(-30, 30, 64).repeat(3, 1) + _torch.randn(3, 64, generator=_gen)
_cases.append((_ramp, [16] * 4))  # every tile raises the maximum: the rescale matters
_cases.append((_torch.randn(4, 40, generator=_gen) - 10_000.0, [10] * 4))  # all very negative
_cases.append((_torch.randn(4, 40, generator=_gen) * 50 + 10_000.0, [13, 13, 14]))  # very large
_cases.append((_torch.randn(5, 9, generator=_gen), [9]))  # a single tile
for _x, _widths in _cases:
    _refs, _stale = [], []
    _got_m, _got_l = online_softmax_stats(_tiles(_x, _widths, _refs, _stale))
    _got_m = _torch.as_tensor(_got_m, dtype=_torch.float64).reshape(-1)
    _got_l = _torch.as_tensor(_got_l, dtype=_torch.float64).reshape(-1)
    _x64 = _x.double()
    assert _got_m.shape == (_x.shape[0],) and _got_l.shape == (_x.shape[0],), _widths
    assert len(_refs) == len(_widths), "read every tile exactly once"
    assert max(_stale, default=0) == 0, "earlier tiles must be freed once you move on"
    assert _torch.equal(_got_m, _x64.amax(dim=1)), "m must be the exact row maximum"
    _want_l = _torch.exp(_torch.logsumexp(_x64, dim=1) - _x64.amax(dim=1))
    _rel = ((_got_l - _want_l).abs() / _want_l).max().item()
    assert _rel <= 1e-4, (_widths, _rel)
### END HIDDEN TESTS

# %% [markdown]
# The point of the exercise, measured: a softmax over 64 rows × 65 536 columns whose scores
# arrive tile by tile (as `Q·Kᵀ` does inside an attention kernel), once materialized and
# normalized with `torch.softmax`, once through your online statistics. `measure_peak_memory`
# counts the bytes held by live tensors at the peak.

# %%
rows, cols, width = 64, 2**14 if GRADING else 2**16, 1024


def score_tiles(seed=0):
    g = torch.Generator().manual_seed(seed)
    for _ in range(cols // width):
        yield torch.randn(rows, width, generator=g) * 4


peak_full = measure_peak_memory(
    lambda: torch.logsumexp(torch.cat(list(score_tiles()), dim=1), dim=1), device="cpu"
).peak_bytes
peak_online = measure_peak_memory(
    lambda: online_softmax_stats(score_tiles()), device="cpu"
).peak_bytes
m_on, l_on = online_softmax_stats(score_tiles())
lse_full = torch.logsumexp(torch.cat(list(score_tiles()), dim=1), dim=1)
lse_err = (torch.as_tensor(m_on) + torch.log(torch.as_tensor(l_on)) - lse_full).abs().max().item()
print(f"materialized row: peak {format_bytes(peak_full):>10};  online: peak {format_bytes(peak_online):>10}"
      f"  ({peak_full / peak_online:.0f}× less), max |logsumexp difference| {lse_err:.1e}")  # fmt: skip
results.update(online_softmax_memory_ratio=peak_full / peak_online, online_softmax_lse_err=lse_err)

# %% [markdown]
# ## 2. More than one device: data parallelism
#
# DistributedDataParallel runs one process per device. Each process holds the whole model,
# computes the loss on **its shard** of the data, and during `backward()` DDP all-reduces
# (averages) the gradients, so every replica takes the same step. `torchrun` starts the
# processes; NCCL connects GPUs, gloo CPUs.
#
# Which samples does a rank see? `torch.utils.data.DistributedSampler` (what a real DDP loader
# uses) does not cut contiguous blocks: with shuffling off it pads the index list, by repeating
# it from the start, to the next multiple of `world_size`, then gives rank `r` every
# `world_size`-th index starting at `r`. Padding keeps every rank at the same number of steps —
# a rank with one batch more would wait forever in an all-reduce the others never join — at the
# price of seeing a few samples twice per epoch.
#
# **Exercise 2 (1 point, warm-up).** Write `sampler_indices(n_samples, rank, world_size)`: the
# list of sample indices `DistributedSampler(dataset_of_n_samples, num_replicas=world_size,
# rank=rank, shuffle=False)` yields. Raise `ValueError` unless `n_samples ≥ 1`,
# `world_size ≥ 1` and `0 ≤ rank < world_size`. `n_samples` may be smaller than `world_size`.


# %% nbgrader={"grade": false, "grade_id": "01_gpu_training_sampler", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sampler_indices(n_samples, rank, world_size):
    """The indices DistributedSampler(shuffle=False) gives `rank` of `world_size`."""
    ### BEGIN SOLUTION
    if n_samples < 1 or world_size < 1:
        raise ValueError(f"need n_samples >= 1 and world_size >= 1, got {n_samples}, {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, {world_size}), got {rank}")
    total = -(-n_samples // world_size) * world_size
    padded = [i % n_samples for i in range(total)]
    return padded[rank::world_size]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "01_gpu_training_sampler_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
assert [int(i) for i in sampler_indices(10, 0, 4)] == [0, 4, 8]
assert [int(i) for i in sampler_indices(10, 3, 4)] == [3, 7, 1]  # padded with 0 and 1
for _args in ((10, 4, 4), (10, -1, 4), (0, 0, 1)):
    try:
        sampler_indices(*_args)
    except ValueError:
        pass
    else:
        raise AssertionError(f"sampler_indices{_args} should raise ValueError")
### BEGIN HIDDEN TESTS
import random as _random

from torch.utils.data import DistributedSampler as _DistributedSampler

# Reference: torch's own DistributedSampler with shuffle=False.
_rng = _random.Random(8)
for _ in range(150):
    _w = _rng.randint(1, 12)
    _n = _rng.choice([_rng.randint(1, _w), _rng.randint(1, 200)])
    for _r in range(_w):
        _got = [int(i) for i in sampler_indices(_n, _r, _w)]
        _want = list(_DistributedSampler(range(_n), num_replicas=_w, rank=_r, shuffle=False))
        assert _got == _want, (_n, _r, _w)
for _args in ((5, 3, 3), (5, 0, 0), (-2, 0, 2)):
    try:
        sampler_indices(*_args)
    except ValueError:
        pass
    else:
        raise AssertionError(f"sampler_indices{_args} should raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ### The all-reduce, bucketed
#
# After `backward()` every rank holds its own gradients; the step needs their average. One
# `all_reduce` per parameter would pay a collective's fixed latency hundreds of times per step,
# so DDP packs gradients into **buckets** of about `bucket_cap_mb` (25 MB by default), flattens
# each bucket into one contiguous tensor, and all-reduces it as a whole — starting with the
# *last* layers', because backward produces their gradients first, so communication overlaps the
# rest of the backward pass. A ring all-reduce sends `2·(W−1)/W` times the gradient bytes from
# every rank, whatever the bucketing: buckets change the number of messages, not the bytes.
#
# **Exercise 3 (4 points). Build the bucketed all-reduce.** Write
# `allreduce_gradients(params, bucket_bytes)`, called on every rank after `backward()` with
# `torch.distributed` already initialized:
# - walk `params` (a list of parameters) in **reverse** order, skipping those whose `.grad` is
#   `None`; add each gradient to the current bucket while the bucket's total stays
#   **≤ `bucket_bytes`** (bytes = `numel() × element_size()`); otherwise close the bucket and
#   start a new one with it (a gradient larger than `bucket_bytes` gets a bucket of its own);
# - for each bucket, in that order: flatten its gradients into one tensor (`torch.cat` of the
#   flattened gradients), `dist.all_reduce` it (a sum over ranks), divide by
#   `dist.get_world_size()`, and copy the slices back into each parameter's `.grad`;
# - return the list of bucket sizes in bytes, in the order you reduced them.
#
# The test runs your function on two gloo processes (`labkit.training.run_ranks`) and compares
# the gradients with those `DistributedDataParallel` computes on the same shards, for several
# `bucket_bytes`.


# %% nbgrader={"grade": false, "grade_id": "01_gpu_training_allreduce", "locked": false, "schema_version": 3, "solution": true, "task": false}
def allreduce_gradients(params, bucket_bytes):
    """Average every .grad across ranks, one all_reduce per bucket; returns the bucket sizes."""
    ### BEGIN SOLUTION
    buckets, current, size = [], [], 0
    for p in reversed(list(params)):
        if p.grad is None:
            continue
        nbytes = p.grad.numel() * p.grad.element_size()
        if current and size + nbytes > bucket_bytes:
            buckets.append(current)
            current, size = [], 0
        current.append(p)
        size += nbytes
    if current:
        buckets.append(current)
    world = dist.get_world_size()
    sizes = []
    for bucket in buckets:
        flat = torch.cat([p.grad.reshape(-1) for p in bucket])
        dist.all_reduce(flat)
        flat /= world
        offset = 0
        for p in bucket:
            n = p.grad.numel()
            p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
            offset += n
        sizes.append(flat.numel() * flat.element_size())
    return sizes
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "01_gpu_training_allreduce_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def _visible(rank, world_size):
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 2)  # weight 6 floats (24 B), bias 2 floats (8 B)
    layer(torch.full((1, 3), float(rank + 1))).sum().backward()
    sizes = allreduce_gradients(list(layer.parameters()), bucket_bytes=16)
    return sizes, layer.weight.grad.tolist(), layer.bias.grad.tolist()


_out = run_ranks(_visible, 2)
print(_out[0])
assert [int(s) for s in _out[0][0]] == [8, 24], "reverse order: the bias (8 B), then the weight"
assert _out[0][1:] == _out[1][1:], "after the all-reduce every rank holds the same gradients"
assert _out[0][1] == [[1.5, 1.5, 1.5]] * 2, "the mean of rank 0's 1.0 and rank 1's 2.0"


### BEGIN HIDDEN TESTS
# Reference: torch's DistributedDataParallel on the same model and shards (its own buckets).
def _hidden(rank, world_size, bucket_sizes):
    import copy as _copy

    import torch as _torch
    from torch.nn.parallel import DistributedDataParallel as _DDP

    _torch.manual_seed(123)
    # weights/biases in float32 bytes: 320, 32, 960, 120, 360, 12 (+ a frozen one)
    model = _torch.nn.Sequential(_torch.nn.Linear(10, 8), _torch.nn.Tanh(),
                                 _torch.nn.Linear(8, 30), _torch.nn.Tanh(),
                                 _torch.nn.Linear(30, 3), _torch.nn.Linear(3, 3))  # fmt: skip
    model[5].weight.requires_grad_(False)
    model[5].bias.requires_grad_(False)
    g = _torch.Generator().manual_seed(1000 + rank)  # every rank its own shard
    x, y = _torch.randn(12, 10, generator=g), _torch.randint(0, 3, (12,), generator=g)
    ddp = _DDP(_copy.deepcopy(model))
    _torch.nn.functional.cross_entropy(ddp(x), y).backward()
    want = [None if p.grad is None else p.grad.clone() for p in ddp.module.parameters()]
    out = []
    for bucket_bytes in bucket_sizes:
        mine = _copy.deepcopy(model)
        _torch.nn.functional.cross_entropy(mine(x), y).backward()
        sizes = [int(s) for s in allreduce_gradients(list(mine.parameters()), bucket_bytes)]
        diff = max(
            (p.grad - w).abs().max().item()
            for p, w in zip(mine.parameters(), want, strict=True) if w is not None
        )  # fmt: skip
        frozen_untouched = all(p.grad is None for p in mine[5].parameters())
        out.append((sizes, diff, frozen_untouched))
    return out


_bucket_sizes = [500, 492, 1, 10_000, 1400]
_expected = {500: [492, 960, 352], 492: [492, 960, 352], 1: [12, 360, 120, 960, 32, 320],
             10_000: [1804], 1400: [492, 1312]}  # fmt: skip
try:
    _runs = run_ranks(_hidden, 2, _bucket_sizes)
except RuntimeError as _error:  # a rank's traceback would show this cell: keep its last line
    _last = [ln for ln in str(_error).splitlines() if ln.strip()][-1]
    raise AssertionError(f"allreduce_gradients failed on a rank: {_last}") from None
for _rank_out in _runs:
    for _bb, (_sizes, _diff, _frozen) in zip(_bucket_sizes, _rank_out, strict=True):
        assert _sizes == _expected[_bb], (_bb, _sizes, _expected[_bb])
        assert _diff <= 1e-6, f"bucket_bytes={_bb}: gradients differ from DDP's by {_diff}"
        assert _frozen, "parameters without a gradient must stay without one"
### END HIDDEN TESTS

# %% [markdown]
# What bucketing buys, measured: one step's gradients of a 24-layer MLP all-reduced over two
# gloo processes on this machine — one bucket per parameter versus DDP-sized buckets — plus the
# bytes a ring all-reduce sends from each rank. Each collective pays a fixed latency (on gloo,
# loopback TCP round trips; on NCCL, kernel launches and link latency), so few large messages
# beat many small ones for the same bytes.


# %%
def bucket_timing(rank, world_size, bucket_bytes_list, repeat):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(128, 128) for _ in range(24)]
    model = torch.nn.Sequential(*layers)
    model(torch.randn(32, 128)).square().mean().backward()
    params = list(model.parameters())
    out = {}
    for bucket_bytes in bucket_bytes_list:
        times = []
        for _ in range(repeat):
            dist.barrier()
            start = time.perf_counter()
            sizes = allreduce_gradients(params, bucket_bytes)
            times.append(time.perf_counter() - start)
        out[bucket_bytes] = (float(np.median(times)), len(sizes), sum(sizes))
    return out


choices = {"one per parameter": 1, "1 MiB buckets": 2**20, "one 25 MiB bucket": 25 * 2**20}
timing = run_ranks(bucket_timing, 2, list(choices.values()), 5 if GRADING else 20)[0]
world = 2
print(f"{'buckets':<20}{'all-reduces':>12}{'median ms':>11}{'ring bytes sent / rank':>24}")
for label, bb in choices.items():
    sec, n_calls, total = timing[bb]
    print(
        f"{label:<20}{n_calls:>12}{sec * 1e3:>11.2f}{format_bytes(2 * (world - 1) / world * total):>24}"
    )
per_param, one_bucket = timing[1][0], timing[25 * 2**20][0]
print(f"one bucket vs one per parameter: {per_param / one_bucket:.1f}× faster, same bytes")
results.update(allreduce_bucket_speedup=per_param / one_bucket,
               allreduce_grad_bytes=timing[1][2])  # fmt: skip

# %% [markdown]
# Now the real thing: `labkit.training.ddp.launch(2)` runs `torchrun --standalone
# --nproc_per_node=2` on this machine (gloo on a CPU), two SGD steps on 64-sample global batches
# split into equal contiguous shards (any equal split averages to the whole-batch gradient; the
# contiguous one keeps the demo simple), and returns rank 0's gradients; `reference_run` trains the
# same model in one process on the whole batch. With a mean loss and equal shards the average of
# the shard gradients *is* the whole-batch gradient, so the two agree to rounding. Skipped while
# grading (start-up takes ~10 s).

# %%
from labkit.training.ddp import launch, reference_run

if GRADING:
    print("DDP demo skipped while grading")
else:
    ddp = launch(2, steps=2, batch_size=64)
    single = reference_run(steps=2, batch_size=64)
    ddp_diff = ddp.max_abs_diff(single)
    print(ddp)
    print(f"max |gradient or parameter difference| vs one process: {ddp_diff:.2e}")
    results.update(ddp_backend=ddp.backend, ddp_max_abs_diff=ddp_diff, ddp_seconds=ddp.seconds)

# %% [markdown]
# ## 3. The numbers, in one place
#
# Both notebooks' headline figures (the first notebook's appear once it has run on this machine).

# %%
both = {**first, **results}  # the first notebook's figures, then this one's
headline = {
    "device": str(device),
    "best bf16 speed-up over fp32": both.get("best_speedup_vs_fp32", {}).get("bf16"),
    "GPU vs CPU, same model": both.get("gpu_vs_cpu_best", "not measured (no GPU)"),
    "loss readback deferred: speed-up": both.get("readback_speedup"),
    "fp16: steps skipped by the loss scaler": both.get("fp16_skipped_steps"),
    "GPT MFU": both.get("gpt_mfu"),
    "DataLoader workers speed-up on a stalling dataset": both.get("pipeline_speedup"),
    "checkpointing: memory saved": both.get("checkpoint_memory_saving"),
    "online softmax: less peak memory than materializing": round(
        results["online_softmax_memory_ratio"]
    ),
    "all-reduce: one bucket vs one per parameter": round(results["allreduce_bucket_speedup"], 1),
    "DDP vs 1 process max |diff|": both.get("ddp_max_abs_diff", "not run while grading"),
}
for k, v in headline.items():
    print(f"{k:<54} {v}")
save("01_gpu_training", results, RESULTS, part="kernels_ddp", device=device)

# %% [markdown] nbgrader={"grade": false, "grade_id": "01_gpu_training_question", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. In an interview
#
# *"Can you describe your experience with GPU-based training and inference? Which frameworks
# and tools have you used, and what performance improvements did you observe?"*
#
# Answer as you would in an interview, from what you measured in this lab's two notebooks (quote
# the numbers printed in section 3 and say which device they came from).
#
# **Mark scheme (5 points).**
# 1 — names the tools and what each is for (PyTorch with autocast and a loss scaler,
# `torch.compile`, DataLoader workers/pinned memory, DDP with torchrun/NCCL and its gradient
# buckets, fused kernels via CuPy/CUDA or an online softmax, profiling/timing with
# synchronization).
# 1 — quotes a measured speed-up with its conditions (precision, batch size, device), not a
# vendor figure.
# 1 — puts throughput in hardware terms: FLOPs per token and MFU against a dense peak, or the
# roofline (memory- vs compute-bound).
# 1 — names a challenge met and its fix with a number: input-pipeline stall (data-time fraction,
# workers), out-of-memory (checkpointing's memory/time trade-off, batch back-off, accumulation),
# fp16 overflow (the loss scaler's skipped steps), a host–device sync per step, or
# communication (buckets).
# 1 — says how the measurement was made trustworthy (warm-up, synchronization, medians, same
# data and seed across configurations; loss curves and DDP-vs-one-process gradients checked so
# speed did not cost correctness).

# %% [markdown] nbgrader={"grade": true, "grade_id": "01_gpu_training_answer", "locked": false, "points": 5, "schema_version": 3, "solution": true, "task": false}
# I train with PyTorch and treat speed as something to measure, not assume. On the device these
# notebooks ran on (section 3 names it), the batch-size sweep shows throughput rising with batch
# size until the hardware saturates, and bf16 autocast reaching the "best bf16 speed-up over
# fp32" printed above while its loss curve tracks fp32. For fp16 I use dynamic loss scaling — I
# built the scaler and checked it step for step against GradScaler: it skipped the printed number
# of overflowing steps and backed its scale off. I report hardware efficiency, not just
# samples/s: for the small GPT I counted 6N + 12·L·H·Q·T FLOPs per token and got the MFU printed
# against a dense peak; the roofline shows elementwise kernels pinned to memory bandwidth, which
# is why fusing helps — a tiled online softmax held the printed factor less memory than
# materializing the row, the trick FlashAttention is built on. Challenges: an input pipeline
# that stalled the model (DataLoader workers gave the printed speed-up); memory (activation
# checkpointing saved the printed share of peak memory; I catch `torch.cuda.OutOfMemoryError` to
# back the batch size off, with gradient accumulation to keep the effective batch); and a loss
# readback every step, which is a host–device sync — deferring it gave the printed ratio (on a
# CPU none, as expected). For scale-out I use DDP under torchrun: I wrote the bucketed all-reduce
# and matched DDP's gradients; one bucket beat one all-reduce per parameter by the printed
# factor for the same bytes, and the two-process run matched a single-process run on the same
# global batch. Every timing was warmed up and synchronized, taken as a median, with the same
# data, seed and batch order across configurations.
