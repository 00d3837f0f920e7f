"""FLOP counts for the lab's models and model FLOPs utilization (MFU).

Conventions (a multiply-add is 2 FLOPs):

- matmul ``(m, k) @ (k, n)``: ``2·m·n·k``.
- Linear layers in training: forward ``2·B·in·out`` per layer, backward twice that (gradients
  with respect to inputs and to weights), so a training step costs 3× the forward pass.
- Decoder-only transformer, per token of training (PaLM, Chowdhery et al. 2022, appendix B;
  nanoGPT's ``estimate_mfu``): ``6·N + 12·L·H·Q·T`` with ``N`` non-embedding parameters, ``L``
  layers, ``H`` heads, ``Q`` head dimension and ``T`` sequence length. The first term is the
  weight matmuls (2 forward + 4 backward per parameter), the second the attention score and
  value matmuls, which have no parameters.

MFU = achieved model FLOP/s ÷ the device's dense peak. It counts the FLOPs the model needs, not
what the hardware ran, so recomputation (activation checkpointing) lowers it.

Examples
--------
>>> matmul_flops(2, 3, 4)
48
>>> transformer_flops_per_token(n_params=1000, n_layers=2, n_heads=2, head_dim=4, seq_len=8)
7536
>>> mfu(400e12, 989.5e12)  # doctest: +ELLIPSIS
0.404...
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from labkit._validate import check_int, check_real

__all__ = [
    "linear_flops",
    "matmul_flops",
    "measure_matmul_flops",
    "mfu",
    "model_flops_per_token",
    "transformer_flops_per_token",
]


def _count(value: object, name: str) -> int:
    """``value`` as a positive ``int`` (a size or a count), else the validation error."""
    return check_int(value, name, min_val=1)


def matmul_flops(m: int, n: int, k: int) -> int:
    """FLOPs of an ``(m, k) @ (k, n)`` product: ``2·m·n·k``."""
    return 2 * _count(m, "m") * _count(n, "n") * _count(k, "k")


def linear_flops(
    layers: Iterable[tuple[int, int]] | nn.Module, batch_size: int, *, training: bool = True
) -> int:
    """FLOPs of a stack of Linear layers on a batch: forward ``2·B·Σ in·out``, ×3 in training.

    ``layers`` is a list of ``(in_features, out_features)`` or a module whose ``nn.Linear``
    submodules are counted (biases, norms and activations are ignored: they are a few percent).

    >>> linear_flops([(4, 8), (8, 2)], batch_size=10, training=False)
    960
    >>> linear_flops(nn.Linear(4, 8), batch_size=10)
    1920
    """
    batch_size = _count(batch_size, "batch_size")
    if isinstance(layers, nn.Module):
        layers = [
            (m.in_features, m.out_features) for m in layers.modules() if isinstance(m, nn.Linear)
        ]
    forward = sum(2 * batch_size * i * o for i, o in layers)
    return 3 * forward if training else forward


def transformer_flops_per_token(
    *, n_params: int, n_layers: int, n_heads: int, head_dim: int, seq_len: int
) -> int:
    """Training FLOPs per token of a decoder-only transformer: ``6N + 12·L·H·Q·T``."""
    attention = (
        _count(n_layers, "n_layers")
        * _count(n_heads, "n_heads")
        * _count(head_dim, "head_dim")
        * _count(seq_len, "seq_len")
    )
    return 6 * _count(n_params, "n_params") + 12 * attention


def model_flops_per_token(model: nn.Module) -> int:
    """:func:`transformer_flops_per_token` for a :class:`~labkit.training.models.TinyTransformer`.

    >>> from labkit.training.models import TinyTransformer
    >>> m = TinyTransformer(vocab_size=16, d_model=8, n_heads=2, n_layers=1, seq_len=4)
    >>> model_flops_per_token(m) == 6 * m.num_params() + 12 * 1 * 2 * 4 * 4
    True
    """
    needed = ("num_params", "n_layers", "n_heads", "head_dim", "seq_len")
    missing = [name for name in needed if not hasattr(model, name)]
    if missing:
        raise TypeError(f"{type(model).__name__} lacks {missing}; pass a TinyTransformer")
    return transformer_flops_per_token(
        n_params=model.num_params(),
        n_layers=model.n_layers,
        n_heads=model.n_heads,
        head_dim=model.head_dim,
        seq_len=model.seq_len,
    )


def mfu(achieved_flops_per_s: float, peak_flops_per_s: float) -> float:
    """Model FLOPs utilization: achieved over peak, as a fraction (0.4 means 40%)."""
    peak = check_real(peak_flops_per_s, "peak_flops_per_s", min_val=0, include_boundaries="neither")
    achieved = check_real(achieved_flops_per_s, "achieved_flops_per_s", min_val=0)
    return achieved / peak


def measure_matmul_flops(
    n: int = 1024,
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
    repeat: int = 10,
) -> float:
    """Achieved FLOP/s of an ``n×n @ n×n`` matmul (median of ``repeat`` synchronized runs).

    On a CPU this is the practical peak to compute MFU against, since CPUs publish no single
    figure for it.
    """
    from labkit.device import resolve
    from labkit.timing import benchmark

    dev = resolve(device)
    n = _count(n, "n")
    repeat = _count(repeat, "repeat")
    a = torch.randn(n, n, device=dev, dtype=dtype)
    b = torch.randn(n, n, device=dev, dtype=dtype)
    m = benchmark(torch.matmul, a, b, warmup=2, repeat=repeat, device=dev, label=f"matmul {n}")
    return matmul_flops(n, n, n) / m.median
