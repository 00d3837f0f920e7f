"""How the study tools print a measured number, so a reader (and a test) can trace it back.

One rounding rule everywhere: a magnitude of 100 or more is rounded to an integer, anything
smaller to three significant digits (written ``2.1e-69`` below 1e-4). Times (seconds) are shown in the unit that keeps the
mantissa in [1, 1000): s, ms, µs or ns; fractions as percent; ratios with a trailing ``×``.
A number on screen is therefore ``value × scale`` rounded by that rule, with scale one of 1,
100, 1e3, 1e6, 1e9 (docs/results.md).

Examples
--------
>>> number(2.3456), number(1234.6), number(0.000123456), number(-2.0965e-69)
('2.35', '1235', '0.000123', '-2.1e-69')
>>> seconds(0.00123), seconds(2.5e-6), seconds(3.0)
('1.23 ms', '2.5 µs', '3 s')
>>> ratio(11.04), percent(0.8766), points(-0.0002)
('11×', '87.7 %', '-0.02 points')
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["UNITS", "format_value", "number", "percent", "points", "ratio", "seconds"]


def number(x: float) -> str:
    """``x`` rounded by the one rule: integer from 100 up, else three significant digits."""
    x = float(x)
    if not math.isfinite(x):
        return "n/a"
    if abs(x) >= 99.95:
        return str(round(x))
    if x == 0:
        return "0"
    if abs(x) < 1e-4:  # a p-value or a float error: scientific, still three significant digits
        mantissa, exponent = f"{x:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    digits = 2 - math.floor(math.log10(abs(x)))
    text = f"{round(x, digits):.{max(digits, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def seconds(s: float) -> str:
    """A duration in the unit that keeps its mantissa in [1, 1000)."""
    s = float(s)
    for scale, unit in ((1.0, "s"), (1e3, "ms"), (1e6, "µs"), (1e9, "ns")):
        if abs(s) * scale >= 1 or unit == "ns":
            return f"{number(s * scale)} {unit}"
    raise AssertionError("unreachable")


def ratio(x: float) -> str:
    """A speed-up or slow-down: ``11×``."""
    return f"{number(x)}×"


def percent(fraction: float) -> str:
    """A fraction in [0, 1] as percent."""
    return f"{number(fraction * 100)} %"


def points(delta: float) -> str:
    """An accuracy difference (fractions) in percentage points, signed."""
    return f"{number(delta * 100)} points"


UNITS = {"s": seconds, "x": ratio, "pct": percent, "points": points, "n": number}


def format_value(value: Any, unit: str = "n") -> str:
    """``value`` shown in ``unit`` (one of :data:`UNITS`); text passes through unchanged."""
    if isinstance(value, list | tuple):
        return "(" + ", ".join(format_value(v, unit) for v in value) + ")"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return UNITS[unit](value)
