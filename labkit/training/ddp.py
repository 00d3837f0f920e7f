"""Data-parallel training with DistributedDataParallel, launched by ``torchrun``.

Each of ``W`` processes holds a full copy of the model, computes the loss on its own shard of the
global batch and calls ``backward()``; DDP all-reduces (averages) the gradients across
processes while backward runs, so every replica steps with the same gradient. With a mean loss
and equal shards, the average of the shard means *is* the global mean, so the gradients equal
those of one process on the whole global batch — which :func:`launch` plus
:func:`reference_run` let a test check. The backend is NCCL between GPUs and gloo on CPUs.

Run it directly (what :func:`launch` does)::

    torchrun --standalone --nproc_per_node=2 -m labkit.training.ddp --out result.pt

Examples
--------
>>> list(shard_indices(8, rank=1, world_size=2))
[4, 5, 6, 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from labkit._validate import check_int, check_real
from labkit.training.models import MLP, make_classification_data

__all__ = ["DDPResult", "launch", "reference_run", "shard_indices"]

_MODEL = {"in_features": 16, "hidden": 32, "out_features": 4, "depth": 2}


def shard_indices(n_samples: int, *, rank: int, world_size: int) -> range:
    """The contiguous slice of ``range(n_samples)`` that ``rank`` of ``world_size`` owns.

    Shards are equal, so ``n_samples`` must divide evenly (``DistributedSampler`` pads
    instead, which would make the averaged gradient differ from the global one).
    """
    n_samples = check_int(n_samples, "n_samples", min_val=1)
    world_size = check_int(world_size, "world_size", min_val=1)
    rank = check_int(rank, "rank", min_val=0, max_val=world_size - 1)
    if n_samples % world_size:
        raise ValueError(
            f"n_samples={n_samples} must be divisible by world_size={world_size} for equal shards"
        )
    per = n_samples // world_size
    return range(rank * per, (rank + 1) * per)


def _global_batch(step: int, batch_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    ds = make_classification_data(
        batch_size, in_features=_MODEL["in_features"], n_classes=4, seed=seed + step
    )
    return ds.tensors


@dataclass(frozen=True)
class DDPResult:
    """Gradients of the first step and parameters after the last, keyed by parameter name."""

    world_size: int
    backend: str
    first_grads: dict[str, torch.Tensor]
    final_params: dict[str, torch.Tensor]
    losses: tuple[float, ...]
    seconds: float

    def max_abs_diff(self, other: DDPResult) -> float:
        """Largest absolute difference of any first-step gradient or final parameter."""
        diffs = [
            (mine - other_dict[name]).abs().max().item()
            for mine_dict, other_dict in (
                (self.first_grads, other.first_grads),
                (self.final_params, other.final_params),
            )
            for name, mine in mine_dict.items()
        ]
        return max(diffs)

    def __repr__(self) -> str:
        return (
            f"DDPResult(world_size={self.world_size}, backend={self.backend!r}, "
            f"steps={len(self.losses)}, {self.seconds:.2f} s)"
        )


def _run(
    *, rank: int, world_size: int, steps: int, batch_size: int, lr: float, seed: int, ddp: bool
) -> tuple[dict, dict, list[float], str]:
    backend = "none"
    device = torch.device("cpu")
    torch.manual_seed(seed)
    model: torch.nn.Module = MLP(**_MODEL)
    if ddp:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel

        use_nccl = torch.cuda.is_available() and torch.cuda.device_count() >= world_size
        backend = "nccl" if use_nccl else "gloo"
        if use_nccl:
            local = int(os.environ.get("LOCAL_RANK", rank))
            device = torch.device("cuda", local)
            torch.cuda.set_device(device)
        dist.init_process_group(backend)
        model = DistributedDataParallel(
            model.to(device), device_ids=[device.index] if use_nccl else None
        )
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    first: dict[str, torch.Tensor] = {}
    losses = []
    shard = shard_indices(batch_size, rank=rank, world_size=world_size)
    for step in range(steps):
        x, y = _global_batch(step, batch_size, seed)
        x, y = x[shard.start : shard.stop].to(device), y[shard.start : shard.stop].to(device)
        loss = F.cross_entropy(model(x), y)  # mean over this rank's shard
        opt.zero_grad(set_to_none=True)
        loss.backward()  # DDP averages gradients across ranks here
        if step == 0:
            first = {_name(n): p.grad.detach().cpu().clone() for n, p in model.named_parameters()}
        opt.step()
        losses.append(loss.item())
    params = {_name(n): p.detach().cpu().clone() for n, p in model.named_parameters()}
    if ddp:
        import torch.distributed as dist

        dist.destroy_process_group()
    return first, params, losses, backend


def _name(name: str) -> str:
    return name.removeprefix("module.")  # DDP prefixes parameter names with "module."


def reference_run(
    *, steps: int = 3, batch_size: int = 64, lr: float = 0.1, seed: int = 0
) -> DDPResult:
    """The same training in one process on the whole global batch (no DDP)."""
    start = time.perf_counter()
    first, params, losses, _ = _run(
        rank=0, world_size=1, steps=steps, batch_size=batch_size, lr=lr, seed=seed, ddp=False
    )
    return DDPResult(1, "none", first, params, tuple(losses), time.perf_counter() - start)


def launch(
    nproc: int = 2,
    *,
    steps: int = 3,
    batch_size: int = 64,
    lr: float = 0.1,
    seed: int = 0,
    timeout_s: float = 120.0,
) -> DDPResult:
    """Run :mod:`labkit.training.ddp` under ``torchrun --standalone`` with ``nproc`` processes.

    Returns rank 0's gradients and parameters (identical on every rank after the all-reduce).
    The launcher's output is captured; a failure raises ``RuntimeError`` carrying its tail.
    """
    nproc = check_int(nproc, "nproc", min_val=1)
    steps = check_int(steps, "steps", min_val=1)
    batch_size = check_int(batch_size, "batch_size", min_val=1)
    lr = check_real(lr, "lr", min_val=0, include_boundaries="neither")
    timeout_s = check_real(
        timeout_s, "timeout_s", min_val=0, include_boundaries="neither", unit="seconds"
    )
    shard_indices(batch_size, rank=0, world_size=nproc)  # validates divisibility up front
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ddp.pt"
        cmd = [
            sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={nproc}", "-m", "labkit.training.ddp", "--out", str(out),
            "--steps", str(steps), "--batch-size", str(batch_size), "--lr", str(lr),
            "--seed", str(seed),
        ]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
        seconds = time.perf_counter() - start
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stdout + proc.stderr)[-2000:]
            raise RuntimeError(f"torchrun exited with {proc.returncode}:\n{tail}")
        saved: dict[str, Any] = torch.load(out, weights_only=True)
    return DDPResult(
        nproc, saved["backend"], saved["first_grads"], saved["final_params"],
        tuple(saved["losses"]), seconds,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """Entry point for each torchrun process (reads RANK and WORLD_SIZE from the environment)."""
    parser = argparse.ArgumentParser(description="DDP training step (run under torchrun)")
    parser.add_argument("--out", required=True, help="where rank 0 saves its result (.pt)")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch size")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    first, params, losses, backend = _run(
        rank=rank, world_size=world, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
        seed=args.seed, ddp=True,
    )  # fmt: skip
    if rank == 0:
        torch.save(
            {"first_grads": first, "final_params": params, "losses": losses, "backend": backend},
            args.out,
        )


if __name__ == "__main__":
    main()
