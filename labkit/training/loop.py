"""The training loop: one function, every knob the lab measures, a frozen report of what it saw.

:func:`train` places the model and each batch on the device, runs the forward pass under the
chosen precision (:mod:`labkit.training.precision`), accumulates gradients over
``grad_accum_steps`` micro-batches, steps a fused, foreach or plain for-loop optimizer, and
optionally compiles the model and checkpoints activations. It times every optimizer step and
splits the time into *data* (waiting for the next batch and issuing its copy to the device) and
*compute* (everything else, up to the loss value being read back, which synchronizes the
device). Warm-up steps (compilation, allocator growth, cuDNN/cuBLAS set-up) are timed separately
and excluded from throughput.

Peak memory comes from the CUDA allocator on a GPU (over the timed steps); on the CPU it is
measured on the first warm-up step with :class:`~labkit.training.memory.LiveTensorTracker`,
which would slow timed steps down, and not at all for a compiled model on the CPU (the tracker
would make ``torch.compile`` fall back to eager execution).

:class:`TrainReport` shows a run end to end.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from labkit._validate import check_bool, check_choice, check_int, check_real
from labkit.device import resolve, synchronize
from labkit.timing import Measurement, format_seconds
from labkit.training.memory import LiveTensorTracker, format_bytes
from labkit.training.precision import autocast, grad_scaler

__all__ = ["OPTIMIZER_IMPLS", "TrainReport", "default_loss", "make_optimizer", "train"]

OPTIMIZER_IMPLS = ("foreach", "fused", "for-loop")
_OPTIMIZERS = {"adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


@dataclass(frozen=True)
class TrainReport:
    """What one :func:`train` run measured. Times in seconds, memory in bytes.

    Examples
    --------
    >>> from labkit.training.data import make_loader
    >>> from labkit.training.models import MLP, make_classification_data
    >>> loader = make_loader(make_classification_data(256, in_features=8), batch_size=32)
    >>> _ = torch.manual_seed(0)
    >>> report = train(MLP(in_features=8, hidden=16, depth=1), loader, max_steps=5, device="cpu")
    >>> report.num_steps, report.num_samples, len(report.losses)  # warm-up step: loss, no time
    (4, 128, 5)
    >>> report.losses[-1] < report.losses[0], report.total_s == report.data_s + report.compute_s
    (True, True)
    """

    device: str
    precision: str
    compiled: bool
    checkpointing: bool
    batch_size: int
    grad_accum_steps: int
    num_steps: int  # timed optimizer steps (warm-up excluded)
    num_samples: int  # samples in the timed steps
    total_s: float
    data_s: float
    compute_s: float
    warmup_s: float
    losses: tuple[float, ...]  # one per optimizer step, warm-up included
    peak_memory_bytes: int | None
    memory_method: str
    step_times: tuple[float, ...] = ()  # wall time of each timed optimizer step

    @property
    def samples_per_s(self) -> float:
        return self.num_samples / self.total_s if self.total_s > 0 else float("nan")

    @property
    def step_s(self) -> float:
        return self.total_s / self.num_steps if self.num_steps else float("nan")

    @property
    def noisy(self) -> bool:
        """True when the steps' interquartile range exceeds 10% of their median time."""
        if len(self.step_times) < 4:
            return False
        m = Measurement(self.step_times)
        return m.noisy

    @property
    def data_fraction(self) -> float:
        """Share of the timed wall time spent waiting for data: near 1 means input-bound."""
        return self.data_s / self.total_s if self.total_s > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["losses"] = list(self.losses)
        out["step_times"] = list(self.step_times)
        out.update(samples_per_s=self.samples_per_s, data_fraction=self.data_fraction)
        return out

    def __repr__(self) -> str:
        flags = [self.precision]
        if self.compiled:
            flags.append("compiled")
        if self.checkpointing:
            flags.append("checkpointing")
        if self.grad_accum_steps > 1:
            flags.append(f"accum×{self.grad_accum_steps}")
        mem = "n/a" if self.peak_memory_bytes is None else format_bytes(self.peak_memory_bytes)
        loss = f"{self.losses[0]:.4g} → {self.losses[-1]:.4g}" if self.losses else "none"
        return (
            f"TrainReport({self.device}, {', '.join(flags)}, batch {self.batch_size})\n"
            f"  {self.samples_per_s:,.0f} samples/s over {self.num_steps} steps "
            f"({format_seconds(self.step_s)}/step; warm-up {format_seconds(self.warmup_s)})\n"
            f"  data {self.data_fraction:.0%} of time, compute {1 - self.data_fraction:.0%}; "
            f"peak memory {mem} ({self.memory_method}); loss {loss}"
        ) + (
            "\n  WARNING: noisy — step times vary by more than 10% of their median; "
            "close other programs or run more steps"
            if self.noisy
            else ""
        )


def default_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for classifiers ``(B, C)`` and language models ``(B, T, V)``.

    >>> default_loss(torch.zeros(2, 4), torch.tensor([0, 3])).item() == torch.log(torch.tensor(4.0)).item()
    True
    """
    if output.dim() > 2:
        return F.cross_entropy(output.reshape(-1, output.shape[-1]).float(), target.reshape(-1))
    return F.cross_entropy(output.float(), target)


def make_optimizer(
    params: Iterable[nn.Parameter],
    *,
    optimizer: str = "adamw",
    impl: str = "foreach",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """AdamW or SGD with the chosen implementation.

    ``"for-loop"`` updates one parameter at a time (a kernel launch per tensor per operation);
    ``"foreach"`` batches tensors into multi-tensor kernels; ``"fused"`` does the whole update in
    one kernel per group of tensors (CUDA, and CPU since PyTorch 2.4).
    """
    check_choice(optimizer, "optimizer", tuple(_OPTIMIZERS))
    check_choice(impl, "impl", OPTIMIZER_IMPLS)
    lr = check_real(lr, "lr", min_val=0, include_boundaries="neither")
    weight_decay = check_real(weight_decay, "weight_decay", min_val=0)
    flags = {"foreach": {"foreach": True}, "fused": {"fused": True}, "for-loop": {"foreach": False}}
    return _OPTIMIZERS[optimizer](params, lr=lr, weight_decay=weight_decay, **flags[impl])


def _batches(data: Iterable, num_epochs: int) -> Iterator[Any]:
    for _ in range(num_epochs):
        yield from data


def train(
    model: nn.Module,
    data: Iterable,
    *,
    num_epochs: int = 1,
    max_steps: int | None = None,
    lr: float = 1e-3,
    precision: str = "fp32",
    compile: bool = False,
    grad_accum_steps: int = 1,
    checkpointing: bool | None = None,
    optimizer: str = "adamw",
    optimizer_impl: str = "foreach",
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = default_loss,
    non_blocking: bool = True,
    warmup_steps: int = 1,
    track_memory: bool = True,
    readback_every: int = 1,
    device: str | torch.device | None = None,
) -> TrainReport:
    """Train ``model`` on ``data`` (an iterable of ``(x, y)`` batches, e.g. a DataLoader).

    Parameters
    ----------
    num_epochs, max_steps
        Passes over ``data``, stopping early after ``max_steps`` optimizer steps (warm-up
        included).
    precision
        ``"fp32"``, ``"tf32"``, ``"bf16"`` or ``"fp16"``; see :mod:`labkit.training.precision`.
    compile
        Wrap the model in ``torch.compile`` (its cost shows up in ``warmup_s``).
    grad_accum_steps
        Micro-batches per optimizer step; the loss is divided by it so gradients equal those
        of one batch ``grad_accum_steps`` times larger.
    checkpointing
        Set the model's ``checkpointing`` attribute (the lab's models recompute activations per
        block); ``None`` leaves the model as it is.
    optimizer, optimizer_impl, lr
        See :func:`make_optimizer`.
    non_blocking
        Issue host-to-device copies asynchronously (useful with pinned memory on CUDA).
    warmup_steps
        Optimizer steps run before timing starts.
    track_memory
        Record peak memory (see the module docstring).
    readback_every
        Read the losses back to the host every this many timed steps. Each readback is a
        host–device synchronization: the CPU waits for the GPU to drain its queue before it
        can launch the next step, so a readback every step leaves the GPU idle while the host
        catches up. With ``readback_every > 1`` the losses stay on the device in between; per-
        step times are then launch times except at a readback, but their sum (and so
        ``samples_per_s``) is still the true time, because the run ends with a readback.
    """
    warmup_steps = check_int(warmup_steps, "warmup_steps", min_val=0)
    if max_steps is not None:
        max_steps = check_int(max_steps, "max_steps")
        if max_steps <= warmup_steps:
            raise ValueError(
                f"max_steps must be an integer > warmup_steps={warmup_steps} or None, "
                f"got {max_steps!r}"
            )
    config = _LoopConfig(
        precision=precision,
        loss_fn=loss_fn,
        num_epochs=check_int(num_epochs, "num_epochs", min_val=1),
        max_steps=max_steps,
        grad_accum_steps=check_int(grad_accum_steps, "grad_accum_steps", min_val=1),
        warmup_steps=warmup_steps,
        readback_every=check_int(readback_every, "readback_every", min_val=1),
        non_blocking=check_bool(non_blocking, "non_blocking"),
        track_memory=check_bool(track_memory, "track_memory"),
        compile=check_bool(compile, "compile"),
    )
    dev = resolve(device)
    scaler = grad_scaler(dev, precision)  # validates precision for the device
    if checkpointing is not None:
        if not hasattr(model, "checkpointing"):
            raise ValueError(
                f"checkpointing={checkpointing!r} needs a model with a `checkpointing` attribute "
                f"(the lab's MLP and TinyTransformer); {type(model).__name__} has none"
            )
        model.checkpointing = check_bool(checkpointing, "checkpointing")
    model.to(dev).train()
    opt = make_optimizer(model.parameters(), optimizer=optimizer, impl=optimizer_impl, lr=lr)
    forward = torch.compile(model) if config.compile else model

    # tf32 is a global matmul mode, not an autocast: hold it over the backward pass too.
    with autocast(dev, "tf32") if precision == "tf32" else contextlib.nullcontext():
        return _loop(config, model, forward, opt, scaler, data, dev)


@dataclass(frozen=True)
class _LoopConfig:
    """The validated settings of one :func:`train` run that the step loop reads."""

    precision: str
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    num_epochs: int
    max_steps: int | None
    grad_accum_steps: int
    warmup_steps: int
    readback_every: int
    non_blocking: bool
    track_memory: bool
    compile: bool


def _loop(
    config: _LoopConfig,
    model: nn.Module,
    forward: Callable[[torch.Tensor], torch.Tensor],
    opt: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler | None,
    data: Iterable,
    dev: torch.device,
) -> TrainReport:
    """Run the steps ``config`` asks for and measure them (``forward`` may be compiled)."""
    precision, loss_fn = config.precision, config.loss_fn
    max_steps, grad_accum_steps = config.max_steps, config.grad_accum_steps
    warmup_steps, readback_every = config.warmup_steps, config.readback_every
    non_blocking, track_memory = config.non_blocking, config.track_memory
    forward_precision = "fp32" if precision == "tf32" else precision
    losses: list[float] = []
    pending: list[torch.Tensor] = []  # losses still on the device
    step_times: list[float] = []
    data_s = compute_s = warmup_s = 0.0
    num_samples = batch_size = timed_steps = 0
    peak: int | None = None
    method = "none"
    batches = _batches(data, config.num_epochs)
    step = 0
    while max_steps is None or step < max_steps:
        timed = step >= warmup_steps
        if timed and step == warmup_steps and dev.type == "cuda" and track_memory:
            synchronize(dev)
            torch.cuda.reset_peak_memory_stats(dev)
        tracker = (
            LiveTensorTracker()
            # The tracker is a dispatch mode, under which torch.compile falls back to eager.
            if track_memory
            and dev.type != "cuda"
            and step == 0
            and warmup_steps > 0
            and not config.compile
            else None
        )
        start = time.perf_counter()
        step_data = 0.0
        step_samples = 0
        loss_sum = torch.zeros((), device=dev)
        got = 0
        with tracker if tracker is not None else contextlib.nullcontext():
            for _ in range(grad_accum_steps):
                t0 = time.perf_counter()
                batch = next(batches, None)
                if batch is None:
                    break
                x, y = (t.to(dev, non_blocking=non_blocking) for t in batch)
                step_data += time.perf_counter() - t0
                with autocast(dev, forward_precision):
                    loss = loss_fn(forward(x), y) / grad_accum_steps
                (scaler.scale(loss) if scaler is not None else loss).backward()
                loss_sum += loss.detach()
                step_samples += x.shape[0]
                batch_size = x.shape[0]
                got += 1
            if got < grad_accum_steps:  # data ran out mid-step: drop the partial step
                opt.zero_grad(set_to_none=True)
                break
            if scaler is not None:
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            opt.zero_grad(set_to_none=True)
            pending.append(loss_sum)
            # Warm-up steps always read back, so none of their work leaks into the timed steps.
            if not timed or len(pending) >= readback_every:
                losses.extend(torch.stack(pending).tolist())  # one host–device sync
                pending.clear()
        elapsed = time.perf_counter() - start
        if tracker is not None:
            peak, method = tracker.peak_bytes, "live-tensor-tracker (first step)"
        if timed:
            data_s += step_data
            compute_s += elapsed - step_data
            num_samples += step_samples
            timed_steps += 1
            step_times.append(elapsed)
        else:
            warmup_s += elapsed
        step += 1
    if pending:  # the queued work finishes here: charge the wait to the last timed step
        start = time.perf_counter()
        losses.extend(torch.stack(pending).tolist())
        tail = time.perf_counter() - start
        compute_s += tail
        step_times[-1] += tail
    if timed_steps == 0:
        raise ValueError(
            f"no timed steps: data gave {step} optimizer step(s), all used as warm-up "
            f"(warmup_steps={warmup_steps}, grad_accum_steps={grad_accum_steps})"
        )
    if dev.type == "cuda" and track_memory:
        peak, method = int(torch.cuda.max_memory_allocated(dev)), "cuda-allocator (timed steps)"
    return TrainReport(
        device=str(dev),
        precision=precision,
        compiled=config.compile,
        checkpointing=bool(getattr(model, "checkpointing", False)),
        batch_size=batch_size,
        grad_accum_steps=grad_accum_steps,
        num_steps=timed_steps,
        num_samples=num_samples,
        total_s=data_s + compute_s,
        data_s=data_s,
        compute_s=compute_s,
        warmup_s=warmup_s,
        losses=tuple(losses),
        peak_memory_bytes=peak,
        memory_method=method,
        step_times=tuple(step_times),
    )
