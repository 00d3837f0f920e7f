"""Argument checks shared by labkit.inference: each error names the argument, the value and
what is allowed."""

from __future__ import annotations

import math
from typing import Any


def check_int(name: str, value: Any, minimum: int = 1) -> None:
    """``value`` must be an ``int`` (not a ``bool``) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_seconds(name: str, value: Any, *, allow_zero: bool) -> None:
    """``value`` must be a finite number of seconds, > 0 (or >= 0 with ``allow_zero``)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        allowed = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number of seconds {allowed}, got {value!r}")
