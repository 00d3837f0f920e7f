"""Dotted paths into a results file's figures, and the numbers a file holds.

A path is split on ``.``; each segment is a dict key, a list index (``-1``) or a row selector
``[field=value&field=value]`` that picks the first dict in a list whose fields match (as text).

Examples
--------
>>> figs = {"cache": [{"cache": "none", "hit": 0.0}, {"cache": "LRU 500", "hit": 0.61}]}
>>> lookup(figs, "cache.[cache=LRU 500].hit"), lookup(figs, "cache.-1.hit"), lookup(figs, "x")
(0.61, 0.61, None)
>>> sorted(numbers({"a": 1, "b": [2.5, {"c": True}], "d": "text"}))
[1.0, 2.5]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["lookup", "numbers"]


def _segments(key: str) -> list[str]:
    out, depth, current = [], 0, ""
    for ch in key:  # dots inside a [selector] belong to the selector
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "." and depth == 0:
            out.append(current)
            current = ""
        else:
            current += ch
    out.append(current)
    return out


def lookup(figures: Any, key: str, default: Any = None) -> Any:
    """The value at ``key`` in ``figures``, or ``default`` when any segment is missing."""
    value = figures
    for seg in _segments(key):
        if isinstance(value, dict):
            if seg not in value:
                return default
            value = value[seg]
        elif isinstance(value, list) and seg.startswith("[") and seg.endswith("]"):
            wanted = dict(part.split("=", 1) for part in seg[1:-1].split("&"))
            rows = [
                row
                for row in value
                if isinstance(row, dict) and all(str(row.get(k)) == v for k, v in wanted.items())
            ]
            if not rows:
                return default
            value = rows[0]
        elif isinstance(value, list) and seg.lstrip("-").isdigit():
            index = int(seg)
            if not -len(value) <= index < len(value):
                return default
            value = value[index]
        else:
            return default
    return value


def numbers(value: Any) -> Iterator[float]:
    """Every number (not bool) anywhere inside ``value``."""
    if isinstance(value, dict):
        for v in value.values():
            yield from numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from numbers(v)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield float(value)
