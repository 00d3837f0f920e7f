"""Argument checks shared by the lab 04 modules: each error names the argument, the value it got
and what is allowed."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["integer", "non_negative", "positive"]


def _finite(name: str, value: Any, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number {allowed}, got {value!r}")
    return float(value)


def positive(name: str, value: Any) -> float:
    """``value`` as a float, or ``ValueError`` unless it is a finite number > 0."""
    if _finite(name, value, "> 0") <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


def non_negative(name: str, value: Any) -> float:
    """``value`` as a float, or ``ValueError`` unless it is a finite number >= 0."""
    if _finite(name, value, ">= 0") < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return float(value)


def integer(name: str, value: Any, minimum: int) -> int:
    """``value``, or ``ValueError`` unless it is an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value
