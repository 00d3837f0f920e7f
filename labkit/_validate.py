"""Argument validation: the one helper every labkit function uses for scalar arguments.

Modelled on scikit-learn's ``check_scalar``: the value comes first, then the argument's name; a
wrong *type* raises :class:`ArgumentTypeError` (a ``TypeError``), a right type with a bad
*value* raises ``ValueError``; each message names the argument, the value it got and what is
allowed, so the call can be fixed from the message alone.

NumPy scalars are numbers here: an integer is anything registered as ``numbers.Integral``
(``int``, ``np.int64``, ...), a real anything registered as ``numbers.Real`` (``float``,
``np.float32``, ``fractions.Fraction``, and every integer). ``bool`` is refused wherever a number
is meant (``True`` is an ``int`` to Python, but ``jobs=True`` is a mistake, not a count). Values
come back as plain Python ``int``/``float``, so results and JSON never carry NumPy types.

Examples
--------
>>> import numpy as np
>>> check_int(np.int64(3), "replicas", min_val=1)
3
>>> check_real(0.5, "p_val", min_val=0, max_val=1, include_boundaries="neither")
0.5
>>> check_int(True, "jobs", min_val=1)
Traceback (most recent call last):
...
labkit._validate.ArgumentTypeError: jobs must be an integer >= 1, got True (bool)
>>> check_real(-1.0, "timeout_s", min_val=0)
Traceback (most recent call last):
...
ValueError: timeout_s must be a finite real number >= 0, got -1.0
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import Any, Literal, TypeVar

import numpy as np

__all__ = [
    "ArgumentTypeError",
    "check_bool",
    "check_choice",
    "check_int",
    "check_real",
]

Boundaries = Literal["both", "left", "right", "neither"]
_BOUNDARIES = ("both", "left", "right", "neither")
T = TypeVar("T")


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type.

    A ``TypeError`` as scikit-learn raises for a wrong type; also a ``ValueError`` (as NumPy's
    ``AxisError`` is both a ``ValueError`` and an ``IndexError``) so that code written against
    labkit's earlier, ValueError-only checks keeps catching it.
    """


def _got(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _interval(min_val: float | None, max_val: float | None, include: Boundaries) -> str:
    left_closed = include in ("both", "left")
    right_closed = include in ("both", "right")
    if min_val is not None and max_val is not None:
        return f"in {'[' if left_closed else '('}{min_val}, {max_val}{']' if right_closed else ')'}"
    if min_val is not None:
        return f"{'>=' if left_closed else '>'} {min_val}"
    if max_val is not None:
        return f"{'<=' if right_closed else '<'} {max_val}"
    return ""


def _check_range(
    value: float,
    name: str,
    kind: str,
    min_val: float | None,
    max_val: float | None,
    include: Boundaries,
    original: Any,
) -> None:
    if include not in _BOUNDARIES:
        raise ValueError(f"include_boundaries must be one of {_BOUNDARIES}, got {include!r}")
    left_closed = include in ("both", "left")
    right_closed = include in ("both", "right")
    too_low = min_val is not None and (value < min_val if left_closed else value <= min_val)
    too_high = max_val is not None and (value > max_val if right_closed else value >= max_val)
    if too_low or too_high:
        raise ValueError(
            f"{name} must be {kind} {_interval(min_val, max_val, include)}, got {original!r}"
        )


def check_int(
    value: Any,
    name: str,
    *,
    min_val: int | None = None,
    max_val: int | None = None,
    include_boundaries: Boundaries = "both",
) -> int:
    """``value`` as an ``int``: an integer (Python or NumPy, never ``bool``) in the interval.

    Raises
    ------
    ArgumentTypeError
        ``value`` is not an integer (a float such as ``3.0`` included: a count is never a float).
    ValueError
        ``value`` lies outside ``[min_val, max_val]`` (ends as ``include_boundaries`` says).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        allowed = _interval(min_val, max_val, include_boundaries)
        raise ArgumentTypeError(
            f"{name} must be an integer{' ' + allowed if allowed else ''}, got {_got(value)}"
        )
    _check_range(
        int(value), name, "an integer", min_val, max_val, include_boundaries, original=value
    )
    return int(value)


def check_real(
    value: Any,
    name: str,
    *,
    min_val: float | None = None,
    max_val: float | None = None,
    include_boundaries: Boundaries = "both",
    finite: bool = True,
    unit: str = "",
) -> float:
    """``value`` as a ``float``: a real number (Python, NumPy or ``Fraction``, never ``bool``).

    ``finite=True`` (the default) refuses NaN and ±inf; with ``finite=False`` only NaN is
    refused, so ``math.inf`` can mean "no limit". ``unit`` ("seconds", say) is named in the
    message.

    Raises
    ------
    ArgumentTypeError
        ``value`` is not a real number.
    ValueError
        NaN, an infinity where ``finite``, or a value outside the interval.
    """
    kind = f"a {'finite ' if finite else ''}real number{' of ' + unit if unit else ''}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        allowed = _interval(min_val, max_val, include_boundaries)
        raise ArgumentTypeError(
            f"{name} must be {kind}{' ' + allowed if allowed else ''}, got {_got(value)}"
        )
    number = float(value)
    if math.isnan(number) or (finite and math.isinf(number)):
        allowed = _interval(min_val, max_val, include_boundaries)
        raise ValueError(f"{name} must be {kind}{' ' + allowed if allowed else ''}, got {value!r}")
    _check_range(number, name, kind, min_val, max_val, include_boundaries, original=value)
    return number


def check_bool(value: Any, name: str) -> bool:
    """``value`` itself when it is a ``bool`` (or ``np.bool_``): flags are never 0/1 or strings."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ArgumentTypeError(f"{name} must be True or False, got {_got(value)}")


def check_choice(value: T, name: str, allowed: Collection[T]) -> T:
    """``value`` when it is one of ``allowed`` (compared with ``==``, type included)."""
    if any(type(value) is type(option) and value == option for option in allowed):
        return value
    options = ", ".join(map(repr, allowed))
    raise ValueError(f"{name} must be one of {options}; got {value!r}")
