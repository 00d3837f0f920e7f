"""A matrix-factorization recommender (BPR), its top-k retrieval and recall@k.

Training: Bayesian Personalized Ranking (Rendle et al., UAI 2009) — for each observed click
(u, i) and a sampled item j the user did not click, maximize log σ(s(u,i) − s(u,j)) with
s(u, i) = p_u · q_i + b_i. Serving: the scores of one user against the whole catalog are a
matrix-vector product, and of a batch of users a matrix-matrix product, followed by top-k. The
catalog matrix is read from memory once per *batch*, which is why micro-batching pays off on
retrieval even on a CPU.

Examples
--------
>>> from labkit.scaling.data import make_interactions
>>> train, test = make_interactions(n_users=300, n_items=400, seed=0).split_last()
>>> model = train_mf(train, dim=16, num_epochs=3, seed=0)
>>> items, scores = model.recommend([0, 1], k=5)
>>> tuple(items.shape), bool((scores[:, :-1] >= scores[:, 1:]).all())
((2, 5), True)
>>> recall_at_k(model, test, k=20) > recall_at_k(PopularityRecommender.fit(train), test, k=20)
True
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from labkit._threads import torch_threads
from labkit._validate import check_int, check_real
from labkit.device import resolve
from labkit.scaling.data import Interactions

__all__ = [
    "MatrixFactorization",
    "PopularityRecommender",
    "Recommender",
    "recall_at_k",
    "train_mf",
]


class MatrixFactorization(torch.nn.Module):
    """Scores s(u, i) = p_u · q_i + b_i."""

    def __init__(self, n_users: int, n_items: int, dim: int = 32) -> None:
        super().__init__()
        # Sparse gradients: a batch touches a few thousand rows of a large catalog, and the
        # optimizer (SparseAdam) updates only those.
        self.user = torch.nn.Embedding(n_users, dim, sparse=True)
        self.item = torch.nn.Embedding(n_items, dim, sparse=True)
        self.bias = torch.nn.Embedding(n_items, 1, sparse=True)
        torch.nn.init.normal_(self.user.weight, std=0.1)
        torch.nn.init.normal_(self.item.weight, std=0.1)
        torch.nn.init.zeros_(self.bias.weight)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return (self.user(users) * self.item(items)).sum(-1) + self.bias(items).squeeze(-1)


class _Ranker(Protocol):
    n_users: int

    def recommend(
        self, user_ids: Sequence[int] | torch.Tensor, k: int = 10
    ) -> tuple[torch.Tensor, torch.Tensor]: ...


@dataclass(frozen=True)
class Recommender:
    """A trained model ready to serve: user and item factors, item biases.

    ``recommend`` scores whole batches at once; the service calls it once per micro-batch.
    """

    user_factors: torch.Tensor
    item_factors: torch.Tensor
    item_bias: torch.Tensor

    @property
    def n_users(self) -> int:
        return int(self.user_factors.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.item_factors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.item_factors.shape[1])

    @property
    def device(self) -> torch.device:
        return self.item_factors.device

    def recommend(
        self, user_ids: Sequence[int] | torch.Tensor, k: int = 10
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-``k`` items and scores for each user, best first (both ``[len(user_ids), k]``)."""
        users = torch.as_tensor(user_ids, dtype=torch.long, device=self.device)
        if users.ndim != 1:
            raise ValueError(f"user_ids must be one-dimensional, got shape {tuple(users.shape)}")
        if users.numel() and (int(users.min()) < 0 or int(users.max()) >= self.n_users):
            raise ValueError(f"user ids must be in [0, {self.n_users}), got {user_ids!r}")
        if not 1 <= k <= self.n_items:
            raise ValueError(f"k must be in [1, {self.n_items}], got {k!r}")
        with torch.inference_mode():
            scores = self.user_factors[users] @ self.item_factors.T + self.item_bias
            top = torch.topk(scores, k, dim=1)
        return top.indices, top.values

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the factors to ``path`` (a ``torch.save`` file of plain tensors)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tensors = {
            "user_factors": self.user_factors.cpu(),
            "item_factors": self.item_factors.cpu(),
            "item_bias": self.item_bias.cpu(),
        }
        torch.save(tensors, tmp)
        tmp.replace(path)  # never leave a half-written model behind
        return path

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], device: str | torch.device | None = "cpu"
    ) -> Recommender:
        """Read a model written by :meth:`save` (tensors only: ``weights_only=True``)."""
        dev = resolve(device)
        state = torch.load(Path(path), map_location=dev, weights_only=True)
        missing = {"user_factors", "item_factors", "item_bias"} - set(state)
        if missing:
            raise ValueError(f"{path} is not a labkit recommender: missing {sorted(missing)}")
        return cls(
            state["user_factors"].contiguous(),
            state["item_factors"].contiguous(),
            state["item_bias"].contiguous(),
        )

    def __repr__(self) -> str:
        size = sum(t.numel() * t.element_size() for t in (self.user_factors, self.item_factors))
        return (
            f"Recommender({self.n_users:,} users × {self.n_items:,} items, dim {self.dim}, "
            f"{size / 2**20:.1f} MiB, {self.device})"
        )


@dataclass(frozen=True)
class PopularityRecommender:
    """The baseline every recommender must beat: the most clicked items, for everyone."""

    item_counts: np.ndarray
    n_users: int

    @classmethod
    def fit(cls, train: Interactions) -> PopularityRecommender:
        return cls(train.item_counts().astype(np.float64), train.n_users)

    def recommend(
        self, user_ids: Sequence[int] | torch.Tensor, k: int = 10
    ) -> tuple[torch.Tensor, torch.Tensor]:
        counts = torch.from_numpy(self.item_counts)
        top = torch.topk(counts, k)
        n = len(user_ids)
        return top.indices.expand(n, k), top.values.expand(n, k)


def train_mf(
    train: Interactions,
    *,
    dim: int = 32,
    num_epochs: int = 5,
    lr: float = 0.02,
    batch_size: int = 4096,
    weight_decay: float = 1e-4,
    device: str | torch.device | None = None,
    seed: int = 0,
    num_threads: int | None = 1,
    progress: bool = False,
) -> Recommender:
    """Fit matrix factorization with the BPR loss and one uniform negative per click.

    Parameters
    ----------
    train
        The clicks to learn from.
    dim, num_epochs, lr, batch_size
        Model size and SparseAdam settings.
    weight_decay
        L2 penalty on the embedding rows of each batch.
    device
        Where to train (``labkit.device.resolve``); the result lives on that device.
    seed
        Seed for initialization and negative sampling.
    num_threads
        PyTorch threads while training (one is fastest for these small sparse updates on a
        CPU; ``None`` keeps the current setting).
    progress
        Show a tqdm bar over epochs.
    """
    if len(train) == 0:
        raise ValueError("train has no interactions")
    dim = check_int(dim, "dim", min_val=1)
    num_epochs = check_int(num_epochs, "num_epochs", min_val=1)
    batch_size = check_int(batch_size, "batch_size", min_val=1)
    lr = check_real(lr, "lr", min_val=0, include_boundaries="neither")
    with torch_threads(num_threads if resolve(device).type == "cpu" else None):
        return _train(train, dim, num_epochs, lr, batch_size, weight_decay, device, seed, progress)


def _train(
    train: Interactions,
    dim: int,
    num_epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float,
    device: str | torch.device | None,
    seed: int,
    progress: bool,
) -> Recommender:
    dev = resolve(device)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = MatrixFactorization(train.n_users, train.n_items, dim).to(dev)
    opt = torch.optim.SparseAdam(list(model.parameters()), lr=lr)
    users = torch.from_numpy(train.user_ids).to(dev)
    items = torch.from_numpy(train.item_ids).to(dev)
    n = len(train)
    epochs = range(num_epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="BPR epochs", leave=False)
    for _ in epochs:
        order = torch.randperm(n, generator=gen).to(dev)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            u, i = users[idx], items[idx]
            j = torch.randint(0, train.n_items, (len(idx),), generator=gen).to(dev)
            pu, qi, qj = model.user(u), model.item(i), model.item(j)
            margin = (pu * (qi - qj)).sum(-1) + (model.bias(i) - model.bias(j)).squeeze(-1)
            # L2 on the rows in this batch: SparseAdam has no weight decay of its own
            l2 = (pu.pow(2).sum() + qi.pow(2).sum() + qj.pow(2).sum()) / len(idx)
            loss = -torch.nn.functional.logsigmoid(margin).mean() + weight_decay * l2
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    with torch.no_grad():
        return Recommender(
            model.user.weight.detach().clone(),
            model.item.weight.detach().clone(),
            model.bias.weight.detach().squeeze(-1).clone(),
        )


def recall_at_k(model: _Ranker, test: Interactions, k: int = 10, batch_size: int = 1024) -> float:
    """Share of held-out clicks whose item is in the user's top-``k`` (leave-last-out recall).

    With one held-out item per user this is also the hit rate at k.
    """
    if len(test) == 0:
        raise ValueError("test has no interactions")
    hits = 0
    for start in range(0, len(test), batch_size):
        users = test.user_ids[start : start + batch_size]
        wanted = torch.from_numpy(test.item_ids[start : start + batch_size])
        top, _ = model.recommend(users.tolist(), k=k)
        hits += int((top.cpu() == wanted[:, None]).any(dim=1).sum())
    return hits / len(test)
