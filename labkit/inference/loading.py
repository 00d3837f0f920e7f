"""What it costs to load a model for every request instead of once per process.

Loading means reading weights from disk, allocating, building the module (or, for ONNX Runtime,
optimizing the graph), and paying first-call costs. A handler that loads inside the request
path (a serverless function without a warm instance, a script called per request, a "stateless"
handler written naively) pays all of that on every request. :func:`measure_loading` measures
the three numbers that settle the question: load alone, load + predict, and predict with the
model kept in memory.

Examples
--------
>>> import tempfile, torch
>>> build = lambda: torch.nn.Linear(64, 8)
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = save_weights(build(), f"{tmp}/w.pt")
...     cost = measure_loading(torch_loader(path, build), torch.zeros(1, 64), repeat=5)
>>> cost.per_request.median > cost.once.median
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from labkit.timing import Measurement, benchmark, format_seconds

__all__ = ["LoadingCost", "measure_loading", "save_weights", "torch_loader"]


def save_weights(model: torch.nn.Module, path: str | Path) -> Path:
    """Save ``model.state_dict()`` to ``path`` (tensors only, loadable with ``weights_only``)."""
    path = Path(path)
    torch.save(model.state_dict(), path)
    return path


def torch_loader(path: str | Path, build: Callable[[], torch.nn.Module]) -> Callable[[], Any]:
    """A function that builds a fresh module with ``build()`` and loads the weights at ``path``.

    Loads with ``weights_only=True``: a checkpoint is data, and unpickling arbitrary objects
    from disk can run code.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {str(path)!r} does not exist")

    def load() -> torch.nn.Module:
        model = build()
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.eval()

    return load


@dataclass(frozen=True)
class LoadingCost:
    """Loading alone, load-then-predict per request, and predict with a resident model."""

    load: Measurement
    per_request: Measurement
    once: Measurement

    @property
    def slowdown(self) -> float:
        """How many times slower a request is when it loads the model itself (medians)."""
        return self.per_request.median / self.once.median

    def to_dict(self) -> dict[str, Any]:
        return {
            "load": self.load.to_dict(),
            "per_request": self.per_request.to_dict(),
            "once": self.once.to_dict(),
            "slowdown": self.slowdown,
        }

    def __repr__(self) -> str:
        f = format_seconds
        return (
            f"LoadingCost(load {f(self.load.median)}, load+predict {f(self.per_request.median)}, "
            f"predict {f(self.once.median)}: {self.slowdown:,.0f}× slower when loading per request)"
        )


def measure_loading(
    load: Callable[[], Callable[[Any], Any]],
    x: Any,
    *,
    repeat: int = 20,
    warmup: int = 2,
    device: str | torch.device | None = None,
) -> LoadingCost:
    """Time ``load()``, ``load()(x)`` and, with the model loaded once, ``model(x)``.

    ``load`` returns a predictor (a module, an ONNX Runtime session, any callable).
    """
    if not callable(load):
        raise TypeError(f"load must be a callable that returns a model, got {type(load).__name__}")

    def load_and_predict() -> Any:
        return load()(x)

    with torch.inference_mode():
        load_m = benchmark(load, warmup=warmup, repeat=repeat, device=device, label="load")
        per_request = benchmark(
            load_and_predict, warmup=warmup, repeat=repeat, device=device, label="load + predict"
        )
        model = load()
        once = benchmark(
            model,
            x,
            warmup=warmup,
            repeat=max(repeat, 50),
            device=device,
            label="predict (loaded once)",
        )
    return LoadingCost(load_m, per_request, once)
