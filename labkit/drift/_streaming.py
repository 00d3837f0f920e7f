"""Shared behaviour of the streaming detectors (river's protocol, DESIGN.md 3.4).

``update(x)`` feeds one value and returns the detector; ``drift_detected`` (and, where the
method has one, ``warning_detected``) then describe that value. As in river, the update after
a drift starts from a fresh state, so a detector can be left running over a whole stream.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["StreamingDetector"]


class StreamingDetector:
    """Base class: the drift flag, ``reset()`` and a readable repr built from the parameters."""

    _params: tuple[str, ...] = ()

    _drift_detected: bool = False

    @property
    def drift_detected(self) -> bool:
        """Whether the last ``update`` detected a drift."""
        return self._drift_detected

    def reset(self) -> None:
        """Forget everything seen so far (what the detector does by itself after a drift)."""
        self._drift_detected = False

    def update(self, x: Any) -> StreamingDetector:  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._params)
        return f"{type(self).__name__}({args})"


def real_value(x: Any, detector: str) -> float:
    """One finite real number from a stream (Python, NumPy or torch scalar)."""
    if isinstance(x, float):
        v = x
    elif isinstance(x, numbers.Real) or getattr(x, "ndim", None) == 0:
        v = float(x)
    else:
        raise ValueError(
            f"{detector}.update(x): x must be one real number per call, got "
            f"{type(x).__name__} {str(x)[:60]}"
        )
    if not math.isfinite(v):
        raise ValueError(f"{detector}.update(x): x must be finite, got {v}")
    return v


def binary_value(x: Any, detector: str) -> int:
    """0 (correct prediction) or 1 (error) from a bool, an int or a float equal to 0/1."""
    if isinstance(x, numbers.Real) or getattr(x, "ndim", None) == 0:
        v = float(x)
        if v == 0.0 or v == 1.0:
            return int(v)
    raise ValueError(
        f"{detector}.update(x): x must be 0 (correct prediction) or 1 (error), got {x!r}; "
        "feed it the error indicator y != y_hat, not a score"
    )
