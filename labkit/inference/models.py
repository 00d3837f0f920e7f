"""The lab's model and data: an MLP classifier on a synthetic tabular task, and how to train it.

Lab 02 needs a model that is small enough to train in seconds on a laptop CPU, yet big enough
that the classic latency remedies have a real effect: its two 1024-wide hidden layers hold
1.3 M weights (5 MB in float32), so at batch 1 the model is bound by reading weights, which is
exactly what int8 quantization (4× fewer bytes) and a graph runtime (fewer framework overheads)
improve. The task is a 10-class problem from :func:`sklearn.datasets.make_classification`
with several clusters per class, so capacity matters and a smaller student loses accuracy
(which distillation can win back). Raw features have arbitrary per-feature scales and offsets,
as logged production features do, so the serving pipeline must standardize them.

Examples
--------
>>> data = make_dataset(n_train=400, n_test=100, seed=0)
>>> data.x_train.shape, data.num_classes
(torch.Size([400, 256]), 10)
>>> model = make_mlp(hidden=32, seed=0)
>>> result = train_classifier(model, data, num_epochs=1)
>>> 0.0 <= result.accuracy <= 1.0
True
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from labkit._validate import check_int
from labkit.device import resolve, to_numpy

__all__ = [
    "CLIP",
    "LAB_MODEL",
    "LabData",
    "TrainResult",
    "accuracy",
    "count_parameters",
    "fit",
    "make_dataset",
    "make_mlp",
    "train_classifier",
]

# Standardized features are clipped to ±CLIP at training and serving time (an outlier guard).
CLIP = 5.0
# The lab's model: 256 → 1024 → 1024 → 10 (chosen so int8 and ORT effects are measurable).
LAB_MODEL = {"num_features": 256, "hidden": 1024, "depth": 2, "num_classes": 10}


def make_mlp(
    num_features: int = 256,
    hidden: int = 1024,
    num_classes: int = 10,
    depth: int = 2,
    seed: int | None = None,
) -> nn.Sequential:
    """A ReLU MLP: ``depth`` hidden ``Linear`` layers of width ``hidden``, then the classifier.

    ``seed`` makes the initial weights reproducible.
    """
    num_features, hidden, num_classes, depth = (
        check_int(value, name, min_val=1)
        for name, value in (
            ("num_features", num_features),
            ("hidden", hidden),
            ("num_classes", num_classes),
            ("depth", depth),
        )
    )
    generator_state = torch.random.get_rng_state()
    if seed is not None:
        torch.manual_seed(seed)
    try:
        layers: list[nn.Module] = []
        width = num_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, num_classes))
        return nn.Sequential(*layers)
    finally:
        if seed is not None:
            torch.random.set_rng_state(generator_state)


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (weights and biases)."""
    return sum(p.numel() for p in model.parameters())


@dataclass(frozen=True)
class LabData:
    """Train/test split. ``x_*`` are standardized float32 features, ``raw_test`` the raw ones.

    ``mean_`` and ``std_`` are the training set's per-feature statistics: serving standardizes
    a raw request with them, ``x = clip((raw - mean_) / std_, -CLIP, CLIP)``.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    raw_test: np.ndarray
    mean_: np.ndarray
    std_: np.ndarray

    @property
    def num_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def num_classes(self) -> int:
        return int(torch.cat([self.y_train, self.y_test]).max()) + 1


def make_dataset(
    n_train: int = 20_000,
    n_test: int = 4_000,
    num_features: int = 256,
    num_classes: int = 10,
    seed: int = 0,
) -> LabData:
    """The lab's synthetic classification task (see the module docstring)."""
    from sklearn.datasets import make_classification

    n_train = check_int(n_train, "n_train", min_val=1)
    n_test = check_int(n_test, "n_test", min_val=1)
    num_features = check_int(num_features, "num_features", min_val=1)
    num_classes = check_int(num_classes, "num_classes", min_val=2)
    if n_train < num_classes or n_test < 1:
        raise ValueError(
            f"need n_train >= num_classes ({num_classes}) and n_test >= 1, got {n_train}, {n_test}"
        )
    informative = min(48, num_features)
    x, y = make_classification(
        n_samples=n_train + n_test,
        n_features=num_features,
        n_informative=informative,
        n_redundant=min(16, num_features - informative),
        n_classes=num_classes,
        n_clusters_per_class=3,
        class_sep=2.0,
        random_state=seed,
    )
    rng = np.random.default_rng(seed)
    # Production-like raw scales: each feature gets its own unit and offset.
    raw = x * rng.uniform(0.5, 50.0, num_features) + rng.uniform(-100, 100, num_features)
    mean, std = raw[:n_train].mean(axis=0), raw[:n_train].std(axis=0)
    std[std == 0] = 1.0
    z = np.clip((raw - mean) / std, -CLIP, CLIP).astype(np.float32)
    y = y.astype(np.int64)
    return LabData(
        x_train=torch.from_numpy(z[:n_train]),
        y_train=torch.from_numpy(y[:n_train]),
        x_test=torch.from_numpy(z[n_train:]),
        y_test=torch.from_numpy(y[n_train:]),
        raw_test=raw[n_train:],
        mean_=mean,
        std_=std,
    )


@dataclass(frozen=True)
class TrainResult:
    """Outcome of a training run: test accuracy (0–1), wall time (s), mean loss per epoch."""

    model: nn.Module
    accuracy: float
    seconds: float
    epoch_losses: tuple[float, ...]

    def __repr__(self) -> str:
        return (
            f"TrainResult(accuracy={self.accuracy:.3f}, seconds={self.seconds:.1f}, "
            f"epochs={len(self.epoch_losses)}, final_loss={self.epoch_losses[-1]:.3f})"
        )


def accuracy(predict: Callable[[Any], Any], x: Any, y: Any, batch_size: int = 1024) -> float:
    """Share of rows of ``x`` whose arg-max of ``predict(rows)`` equals ``y``.

    ``predict`` may take and return torch tensors or NumPy arrays (an ONNX Runtime session
    wrapper works as well as a module): inputs are passed in the type given.
    """
    n = len(x)
    correct = 0
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            logits = to_numpy(predict(x[start : start + batch_size]))
            correct += int((logits.argmax(axis=1) == to_numpy(y[start : start + batch_size])).sum())
    return correct / n


LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def fit(
    model: nn.Module,
    data: LabData,
    loss_fn: LossFn,
    *,
    num_epochs: int = 4,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> TrainResult:
    """Adam on ``loss_fn(logits, x_batch, y_batch)``; returns the model in eval mode on the CPU.

    The shared loop behind :func:`train_classifier` (cross-entropy) and
    :func:`labkit.inference.train_student` (distillation).
    """
    num_epochs = check_int(num_epochs, "num_epochs", min_val=1)
    batch_size = check_int(batch_size, "batch_size", min_val=1)
    dev = resolve(device)
    model.to(dev).train()
    x, y = data.x_train.to(dev), data.y_train.to(dev)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    epochs: Any = range(num_epochs)
    if progress:
        from tqdm.auto import tqdm

        epochs = tqdm(epochs, desc="epochs", leave=False)
    start = time.perf_counter()
    losses = []
    for _ in epochs:
        order = torch.randperm(len(x), generator=generator).to(dev)
        total, batches = 0.0, 0
        for i in range(0, len(x), batch_size):
            idx = order[i : i + batch_size]
            xb, yb = x[idx], y[idx]
            loss = loss_fn(model(xb), xb, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        losses.append(total / batches)
    seconds = time.perf_counter() - start
    model.to("cpu").eval()
    return TrainResult(
        model=model,
        accuracy=accuracy(model, data.x_test, data.y_test),
        seconds=seconds,
        epoch_losses=tuple(losses),
    )


def train_classifier(
    model: nn.Module,
    data: LabData,
    *,
    num_epochs: int = 4,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train ``model`` with cross-entropy on ``data``; test accuracy in the result."""

    def cross_entropy(logits: torch.Tensor, _x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(logits, y)

    return fit(
        model,
        data,
        cross_entropy,
        num_epochs=num_epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device=device,
        progress=progress,
    )
