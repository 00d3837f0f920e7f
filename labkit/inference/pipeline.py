"""A serving pipeline in stages: preprocess → model → postprocess.

A request's latency is rarely all model. Decoding the payload, scaling features and turning
logits into a response are plain Python, and plain Python loops over numbers are slow (every
element is a boxed object, every ``+`` a dynamic dispatch). :func:`preprocess_loop` is such a
step, written the way it often first appears in production code; :func:`preprocess` does the
same in three vectorized NumPy calls. The lab profiles the pipeline, finds the loop, and
measures the difference.

Examples
--------
>>> import numpy as np
>>> mean, std = np.array([1.0, 2.0]), np.array([2.0, 4.0])
>>> preprocess([[3.0, 2.0], [1.0, 100.0]], mean, std)
array([[1., 0.],
       [0., 5.]], dtype=float32)
>>> postprocess(np.array([[0.0, 3.0, 0.0]]))
[{'label': 1, 'probability': 0.9094}]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.device import to_numpy
from labkit.inference.models import CLIP

__all__ = ["Pipeline", "postprocess", "preprocess", "preprocess_loop"]


def preprocess_loop(
    records: Sequence[Sequence[float]], mean: np.ndarray, std: np.ndarray, clip: float = CLIP
) -> np.ndarray:
    """Standardize and clip raw feature records one number at a time (the slow way)."""
    out = np.empty((len(records), len(mean)), dtype=np.float32)
    for i, record in enumerate(records):
        for j, (value, m, s) in enumerate(zip(record, mean, std, strict=True)):
            z = (value - m) / s
            out[i, j] = -clip if z < -clip else clip if z > clip else z
    return out


def preprocess(
    records: Sequence[Sequence[float]] | np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    clip: float = CLIP,
) -> np.ndarray:
    """Standardize and clip raw feature records, vectorized: ``clip((x - mean) / std)`` as float32."""
    x = np.asarray(records, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(mean):
        raise ValueError(
            f"records must be (batch, {len(mean)}) numbers, got shape {tuple(x.shape)}"
        )
    return np.clip((x - mean) / std, -clip, clip).astype(np.float32)


def postprocess(logits: Any, decimals: int = 4) -> list[dict[str, Any]]:
    """Logits → one response per row: the predicted class and its softmax probability."""
    z = to_numpy(logits).astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)  # stable softmax
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    labels = p.argmax(axis=1)
    return [
        {"label": int(k), "probability": round(float(p[i, k]), decimals)}
        for i, k in enumerate(labels)
    ]


@dataclass(frozen=True)
class Pipeline:
    """Named stages applied in order: ``Pipeline((("preprocess", f), ("model", g)))(x) == g(f(x))``."""

    stages: tuple[tuple[str, Callable[[Any], Any]], ...]

    def __post_init__(self) -> None:
        names = [name for name, _ in self.stages]
        if not self.stages:
            raise ValueError("a Pipeline needs at least one stage")
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique, got {names}")
        for name, fn in self.stages:
            if not callable(fn):
                raise TypeError(f"stage {name!r} is not callable: {fn!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.stages)

    def __call__(self, x: Any) -> Any:
        for _, fn in self.stages:
            x = fn(x)
        return x
