"""Mixed precision: which modes a device supports, the autocast context and the grad scaler.

- ``"fp32"``: no autocast.
- ``"tf32"`` (CUDA, Ampere or newer): fp32 tensors, matmuls on tensor cores with a 10-bit
  mantissa (``torch.backends.cuda.matmul.allow_tf32``).
- ``"bf16"``: ``torch.autocast(device_type, dtype=torch.bfloat16)`` on CPU and on GPUs with
  bf16 (Ampere or newer). bf16 keeps fp32's exponent range, so gradients do not underflow and no
  loss scaling is needed.
- ``"fp16"`` (CUDA only): autocast to float16 plus ``torch.amp.GradScaler``, which multiplies the
  loss so small gradients survive fp16's narrow range, then unscales before the step and skips
  steps whose gradients overflowed.

The dtype is always passed explicitly: ``torch.get_autocast_dtype("cuda")`` defaults to float16,
and asking for CUDA autocast or a CUDA GradScaler on a CPU-only build warns and disables itself,
so this module refuses those combinations with an error instead.

Examples
--------
>>> supported_precisions("cpu")
('fp32', 'bf16')
>>> with autocast("cpu", "bf16"):
...     y = torch.nn.Linear(4, 4)(torch.ones(2, 4))
>>> y.dtype
torch.bfloat16
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from labkit._validate import check_choice
from labkit.device import resolve

__all__ = ["PRECISIONS", "autocast", "grad_scaler", "supported_precisions"]

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")


def supported_precisions(device: str | torch.device | None = None) -> tuple[str, ...]:
    """The precision modes :func:`autocast` accepts on ``device``, cheapest last."""
    dev = resolve(device)
    if dev.type == "cuda":
        major, _ = torch.cuda.get_device_capability(dev)
        modes = ["fp32"]
        if major >= 8:  # Ampere and newer: tf32 and bf16 tensor cores
            modes += ["tf32", "bf16"]
        modes.append("fp16")
        return tuple(modes)
    if dev.type == "cpu":
        return ("fp32", "bf16")
    return ("fp32",)


def _check(precision: str, dev: torch.device) -> None:
    check_choice(precision, "precision", PRECISIONS)
    allowed = supported_precisions(dev)
    if precision not in allowed:
        hint = (
            " (fp16 needs CUDA and a GradScaler; use 'bf16' on a CPU)"
            if precision == "fp16"
            else ""
        )
        raise ValueError(
            f"precision={precision!r} is not supported on device {str(dev)!r}; "
            f"allowed there: {allowed}{hint}"
        )


@contextlib.contextmanager
def autocast(device: str | torch.device | None, precision: str = "fp32") -> Iterator[None]:
    """Context manager running the forward pass (and loss) in ``precision`` on ``device``.

    Raises ``ValueError`` for a mode the device does not support (see
    :func:`supported_precisions`), naming the modes it does.
    """
    dev = resolve(device)
    _check(precision, dev)
    if precision == "fp32":
        yield
    elif precision == "tf32":
        previous = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = previous
    else:
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        with torch.autocast(dev.type, dtype=dtype):
            yield


def grad_scaler(device: str | torch.device | None, precision: str) -> torch.amp.GradScaler | None:
    """A ``GradScaler`` for ``precision="fp16"`` on CUDA; ``None`` for every other mode.

    Only fp16 needs loss scaling; creating a CUDA scaler without CUDA would warn on stderr, so
    none is made there (and :func:`autocast` rejects fp16 off CUDA anyway).

    >>> grad_scaler("cpu", "bf16") is None
    True
    """
    dev = resolve(device)
    _check(precision, dev)
    if precision == "fp16":
        return torch.amp.GradScaler("cuda")
    return None
