"""The streaming detectors' lifecycle, in river's shape (``river.base.drift``).

``update(x)`` feeds one value and returns the detector; ``drift_detected`` (and, for a
detector with the :class:`WarningMixin`, ``warning_detected``) then describe that value. As in
river, the update after a drift starts from a fresh state, so a detector can be left running
over a whole stream (docs/design.md §3.4 and §4.1).

* :class:`DriftDetector`: a stream of real numbers (ADWIN, Page–Hinkley).
* :class:`BinaryDriftDetector`: a stream of 0/1 outcomes, 1 for a model error (DDM, EDDM).
* :class:`WarningMixin`: adds ``warning_detected``, the zone before a drift.

A subclass stores each ``__init__`` argument under its own name, overrides :meth:`_reset` (calling
``super()._reset()``) for its state and implements ``update``; the parameters, the repr and
:meth:`~DriftDetector.clone` then come from the ``__init__`` signature, as river's
``Base._get_params`` derives them.

Examples
--------
>>> class Threshold(DriftDetector):
...     def __init__(self, level: float = 1.0) -> None:
...         self.level = level
...         self._reset()
...
...     def update(self, x):
...         if self.drift_detected:
...             self._reset()
...         self._drift_detected = real_value(x, "Threshold") > self.level
...         return self
>>> detector = Threshold(level=2.0)
>>> detector
Threshold(level=2.0)
>>> [i for i, v in enumerate([0.5, 3.0, 1.0]) if detector.update(v).drift_detected]
[1]
>>> detector.clone({"level": 5.0})
Threshold(level=5.0)
"""

from __future__ import annotations

import abc
import inspect
import math
import numbers
from typing import Any, Self

__all__ = [
    "BinaryDriftDetector",
    "DriftDetector",
    "WarningMixin",
    "binary_value",
    "real_value",
]

_SKIPPED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


class DriftDetector(abc.ABC):
    """A streaming drift detector: ``update(x) -> self``, then read ``drift_detected``."""

    _drift_detected: bool = False

    @property
    def drift_detected(self) -> bool:
        """Whether the last ``update`` detected a drift."""
        return self._drift_detected

    @abc.abstractmethod
    def update(self, x: Any) -> Self:
        """Feed one value of the stream; return the detector."""

    def reset(self) -> None:
        """Forget everything seen so far (what the detector does by itself after a drift)."""
        self._reset()

    def _reset(self) -> None:
        """Put the state back to its start; subclasses extend it (river's ``_reset``)."""
        self._drift_detected = False

    @property
    def _params(self) -> dict[str, Any]:
        """The ``__init__`` arguments by name, read back from the attributes of the same name."""
        signature = inspect.signature(type(self).__init__)
        return {
            name: getattr(self, name)
            for name, parameter in signature.parameters.items()
            if name != "self" and parameter.kind not in _SKIPPED_KINDS
        }

    def clone(self, new_params: dict[str, Any] | None = None) -> Self:
        """A fresh detector with the same parameters, ``new_params`` overriding some of them."""
        return type(self)(**{**self._params, **(new_params or {})})

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self._params.items())
        return f"{type(self).__name__}({args})"


class BinaryDriftDetector(DriftDetector):
    """A detector of a 0/1 stream: 1 (or ``True``) is a model error, 0 a correct prediction."""

    def _binary(self, x: Any) -> int:
        """``x`` as 0 or 1, or a ValueError naming the detector and what it expects.

        ``update`` takes plain 0/1 ints without this call (the common case, kept fast) and
        hands everything else here.
        """
        return binary_value(x, type(self).__name__)


class WarningMixin:
    """Adds ``warning_detected`` to a :class:`DriftDetector` (river's ``DriftAndWarningDetector``)."""

    _warning_detected: bool = False

    @property
    def warning_detected(self) -> bool:
        """Whether the last ``update`` put the detector in its warning zone."""
        return self._warning_detected

    def _reset(self) -> None:
        super()._reset()  # type: ignore[misc]  # the DriftDetector this mixes into
        self._warning_detected = False


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
