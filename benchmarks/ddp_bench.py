"""Lab 01 benchmark: what gradient buckets buy DistributedDataParallel, side by side in one run.

Two gloo processes on this machine (``labkit.training.run_ranks``) train the same 24-layer MLP
with DDP, once per bucket setting, in interleaved rounds (every setting once per round, so a
burst of load from other programs hits them all). ``bucket_cap_mb`` tiny gives one all-reduce
per parameter; DDP's default (25 MB) packs them into a few. The table prints the median time
per training step (forward, backward with its all-reduces, SGD step), the number of buckets
DDP formed, and the bytes a ring all-reduce sends from each rank — the same for every setting.

Usage::

    .venv/bin/python benchmarks/ddp_bench.py
"""

from __future__ import annotations

import statistics
import time

import torch

from labkit.loadguard import guarded
from labkit.training import format_bytes, run_ranks

SETTINGS = {"one bucket per parameter": 1e-6, "1 MB buckets": 1.0, "default 25 MB": 25.0}
LAYERS, WIDTH, BATCH, STEPS, ROUNDS, WORLD = 24, 256, 32, 10, 5, 2


def _steps(rank: int, world_size: int, bucket_cap_mb: float) -> tuple[list[float], int, int]:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.manual_seed(0)
    model = torch.nn.Sequential(*[torch.nn.Linear(WIDTH, WIDTH) for _ in range(LAYERS)])
    ddp = DistributedDataParallel(model, bucket_cap_mb=bucket_cap_mb)
    opt = torch.optim.SGD(ddp.parameters(), lr=1e-3)
    x = torch.randn(BATCH, WIDTH)
    times = []
    for step in range(STEPS + 1):
        dist.barrier()
        start = time.perf_counter()
        opt.zero_grad()
        ddp(x).square().mean().backward()
        opt.step()
        if step:  # the first step builds DDP's buckets: warm-up
            times.append(time.perf_counter() - start)
    grad_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    buckets = len(ddp.reducer._get_zeros_like_grad_buckets())  # buckets DDP formed
    return times, buckets, grad_bytes


@guarded
def main() -> None:
    samples: dict[str, list[float]] = {name: [] for name in SETTINGS}
    shape: dict[str, tuple[int, int]] = {}
    for _ in range(ROUNDS):
        for name, cap in SETTINGS.items():
            times, buckets, grad_bytes = run_ranks(_steps, WORLD, cap)[0]
            samples[name] += times
            shape[name] = (buckets, grad_bytes)
    print(f"DDP on {WORLD} gloo processes, {LAYERS} × Linear({WIDTH}, {WIDTH}), batch {BATCH}; "
          f"{ROUNDS} interleaved rounds × {STEPS} steps")  # fmt: skip
    base = statistics.median(samples["one bucket per parameter"])
    print(
        f"{'setting':<26}{'buckets':>8}{'median step':>13}{'speed-up':>10}{'ring bytes/rank':>17}"
    )
    for name in SETTINGS:
        median = statistics.median(samples[name])
        buckets, grad_bytes = shape[name]
        ring = 2 * (WORLD - 1) / WORLD * grad_bytes
        print(f"{name:<26}{buckets:>8}{median * 1e3:>10.2f} ms{base / median:>9.2f}×"
              f"{format_bytes(ring):>17}")  # fmt: skip


if __name__ == "__main__":
    main()
