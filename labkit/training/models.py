"""The lab's models and synthetic data sets: a residual MLP and a small GPT-style transformer.

Both models take ``checkpointing=`` (activation checkpointing per block, through
:func:`torch.utils.checkpoint.checkpoint` with ``use_reentrant=False``, the variant PyTorch
recommends) and report their size in the form the FLOP formulas of :mod:`labkit.training.flops`
need. The data sets are generated from a seed so every run, CPU or GPU, sees the same samples.

Examples
--------
>>> model = MLP(in_features=8, hidden=16, out_features=3, depth=2)
>>> model(torch.zeros(4, 8)).shape
torch.Size([4, 3])
>>> gpt = TinyTransformer(vocab_size=32, d_model=16, n_heads=2, n_layers=1, seq_len=8)
>>> gpt(torch.zeros(2, 8, dtype=torch.long)).shape
torch.Size([2, 8, 32])
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

from labkit._validate import check_bool, check_int, check_real

__all__ = ["MLP", "TinyTransformer", "make_classification_data", "make_token_data"]


class _ResidualBlock(nn.Module):
    """LayerNorm → Linear(d, 4d) → GELU → Linear(4d, d), added to the input (pre-norm)."""

    def __init__(self, width: int, expansion: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.up = nn.Linear(width, expansion * width)
        self.down = nn.Linear(expansion * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.down(F.gelu(self.up(self.norm(x))))


class MLP(nn.Module):
    """A residual MLP classifier: input projection, ``depth`` expanding blocks, output head.

    Each block holds activations of width ``4 * hidden`` for the backward pass; with
    ``checkpointing=True`` only the block inputs are kept and the rest is recomputed, which is
    what makes the memory/time trade-off visible.

    Parameters
    ----------
    in_features, hidden, out_features
        Input width, residual width and number of classes.
    depth
        Number of residual blocks.
    expansion
        Width multiplier inside a block (4, as in transformer MLPs).
    checkpointing
        Recompute each block's activations during backward instead of storing them.

    Examples
    --------
    >>> model = MLP(in_features=8, hidden=16, out_features=3, depth=2)
    >>> model(torch.zeros(4, 8)).shape
    torch.Size([4, 3])
    >>> model.layer_sizes()  # input projection, two blocks (up, down), head
    [(8, 16), (16, 64), (64, 16), (16, 64), (64, 16), (16, 3)]
    """

    def __init__(
        self,
        *,
        in_features: int = 64,
        hidden: int = 256,
        out_features: int = 10,
        depth: int = 4,
        expansion: int = 4,
        checkpointing: bool = False,
    ) -> None:
        super().__init__()
        in_features = check_int(in_features, "in_features", min_val=1)
        hidden = check_int(hidden, "hidden", min_val=1)
        out_features = check_int(out_features, "out_features", min_val=1)
        depth = check_int(depth, "depth", min_val=1)
        expansion = check_int(expansion, "expansion", min_val=1)
        self.checkpointing = check_bool(checkpointing, "checkpointing")
        self.inp = nn.Linear(in_features, hidden)
        self.blocks = nn.ModuleList(_ResidualBlock(hidden, expansion) for _ in range(depth))
        self.head = nn.Linear(hidden, out_features)

    def layer_sizes(self) -> list[tuple[int, int]]:
        """``(in, out)`` of every Linear layer in forward order (for FLOP counting)."""
        return [(m.in_features, m.out_features) for m in self.modules() if isinstance(m, nn.Linear)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for block in self.blocks:
            if self.checkpointing and torch.is_grad_enabled():
                h = checkpoint(block, h, use_reentrant=False)
            else:
                h = block(h)
        return self.head(h)


class _Block(nn.Module):
    """A pre-norm GPT block: causal self-attention then a 4× MLP, each with a residual."""

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc = nn.Linear(d_model, 4 * d_model)
        self.out = nn.Linear(4 * d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class TinyTransformer(nn.Module):
    """A small decoder-only language model (nanoGPT's layout) for the FLOPs and MFU exercises.

    Parameters
    ----------
    vocab_size, d_model, n_heads, n_layers, seq_len
        Vocabulary, model width, attention heads, blocks and context length.
    checkpointing
        Recompute each block during backward.

    Examples
    --------
    >>> gpt = TinyTransformer(vocab_size=32, d_model=16, n_heads=2, n_layers=1, seq_len=8)
    >>> gpt(torch.zeros(2, 8, dtype=torch.long)).shape  # logits per position
    torch.Size([2, 8, 32])
    >>> gpt.head_dim, gpt.num_params() < gpt.num_params(non_embedding=False)
    (8, True)
    """

    def __init__(
        self,
        *,
        vocab_size: int = 256,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        seq_len: int = 64,
        checkpointing: bool = False,
    ) -> None:
        super().__init__()
        vocab_size = check_int(vocab_size, "vocab_size", min_val=1)
        d_model = check_int(d_model, "d_model", min_val=1)
        n_heads = check_int(n_heads, "n_heads", min_val=1)
        n_layers = check_int(n_layers, "n_layers", min_val=1)
        seq_len = check_int(seq_len, "seq_len", min_val=1)
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.vocab_size, self.d_model, self.n_heads = vocab_size, d_model, n_heads
        self.n_layers, self.seq_len = n_layers, seq_len
        self.checkpointing = check_bool(checkpointing, "checkpointing")
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(seq_len, d_model)
        self.blocks = nn.ModuleList(_Block(d_model, n_heads) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False)
        self.lm_head.weight = self.tok.weight  # weight tying, as in GPT-2 and nanoGPT

    def num_params(self, *, non_embedding: bool = True) -> int:
        """Parameter count; ``non_embedding`` drops the position table (nanoGPT's convention:
        the token table is tied to the output head, so it does matmul work and stays counted)."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.pos.weight.numel() if non_embedding else n

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        if t > self.seq_len:
            raise ValueError(f"sequence length {t} exceeds the model's seq_len={self.seq_len}")
        pos = torch.arange(t, device=idx.device)
        h = self.tok(idx) + self.pos(pos)
        for block in self.blocks:
            if self.checkpointing and torch.is_grad_enabled():
                h = checkpoint(block, h, use_reentrant=False)
            else:
                h = block(h)
        return self.lm_head(self.ln_f(h))


def make_classification_data(
    n_samples: int = 4096,
    *,
    in_features: int = 64,
    n_classes: int = 10,
    noise: float = 1.5,
    seed: int = 0,
) -> torch.utils.data.TensorDataset:
    """Gaussian class clusters: a learnable problem whose loss visibly falls in a few steps.

    >>> ds = make_classification_data(10, in_features=3, n_classes=2)
    >>> len(ds), ds[0][0].shape
    (10, torch.Size([3]))
    """
    n_samples = check_int(n_samples, "n_samples", min_val=1)
    in_features = check_int(in_features, "in_features", min_val=1)
    n_classes = check_int(n_classes, "n_classes", min_val=1)
    noise = check_real(noise, "noise", min_val=0)
    seed = check_int(seed, "seed")
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(n_classes, in_features, generator=g) / in_features**0.25
    y = torch.randint(0, n_classes, (n_samples,), generator=g)
    x = centers[y] + noise * torch.randn(n_samples, in_features, generator=g)
    return torch.utils.data.TensorDataset(x, y)


def make_token_data(
    n_samples: int = 512, *, seq_len: int = 64, vocab_size: int = 256, seed: int = 0
) -> torch.utils.data.TensorDataset:
    """Next-token data from a noisy repeating pattern (inputs and targets shifted by one).

    >>> x, y = make_token_data(2, seq_len=5, vocab_size=7)[0]
    >>> bool((x[1:] == y[:-1]).all())
    True
    """
    n_samples = check_int(n_samples, "n_samples", min_val=1)
    seq_len = check_int(seq_len, "seq_len", min_val=1)
    vocab_size = check_int(vocab_size, "vocab_size", min_val=1)
    seed = check_int(seed, "seed")
    g = torch.Generator().manual_seed(seed)
    start = torch.randint(0, vocab_size, (n_samples, 1), generator=g)
    step = torch.randint(1, 4, (n_samples, 1), generator=g)
    seq = (start + step * torch.arange(seq_len + 1)) % vocab_size
    flip = torch.rand(n_samples, seq_len + 1, generator=g) < 0.05
    seq = torch.where(flip, torch.randint(0, vocab_size, seq.shape, generator=g), seq)
    return torch.utils.data.TensorDataset(seq[:, :-1].contiguous(), seq[:, 1:].contiguous())
