"""The study data shipped with labkit: what the brief says per lab, and the follow-up drills.

Both are TOML package data (``labkit/study/data/``), read once. A placeholder ``{key|unit}`` in
their text is a dotted figure path (:mod:`labkit.study._keys`) shown in a unit of
:mod:`labkit.study._format`; :func:`fill` replaces each with the learner's number or says that
the figure is not in their results.

Examples
--------
>>> fill("p50 {a.p50|s}, {a.gone|x}", {"a": {"p50": 0.0021}})
('p50 2.1 ms, (not in your results)', ['a.gone'])
>>> sorted(brief_catalog())[:2]
['00_orientation', '01_gpu_training']
"""

from __future__ import annotations

import functools
import re
import tomllib
from importlib import resources
from typing import Any

from labkit.study._format import format_value
from labkit.study._keys import lookup

__all__ = ["PLACEHOLDER", "brief_catalog", "drills", "fill"]

PLACEHOLDER = re.compile(r"\{([^{}|]+)(?:\|(\w+))?\}")
_NOT_MEASURED = "(not in your results)"


def _load(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("labkit.study").joinpath("data", name).read_text())


@functools.cache
def brief_catalog() -> dict[str, dict[str, Any]]:
    """Per lab id: title, question, source, figures, remedies and answer sentences."""
    return _load("brief.toml")["labs"]


@functools.cache
def drills() -> tuple[dict[str, Any], ...]:
    """Every follow-up question: ``id``, ``lab``, ``question``, ``answer``, ``where``."""
    return tuple(_load("drills.toml")["drill"])


def fill(text: str, figures: dict[str, Any] | None) -> tuple[str, list[str]]:
    """``text`` with each placeholder replaced; also the keys that were not in ``figures``."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        key, unit = match.group(1), match.group(2) or "n"
        value = lookup(figures or {}, key)
        if value is None or isinstance(value, dict):
            missing.append(key)
            return _NOT_MEASURED
        return format_value(value, unit)

    return PLACEHOLDER.sub(replace, text), missing
