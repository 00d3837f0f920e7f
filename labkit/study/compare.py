"""The same figures from several machines side by side, with ratios: what the hardware bought.

:func:`compare` reads results files (CPU laptop, Colab T4, H100, ...), groups them by lab and,
for each figure the brief quotes (:mod:`labkit.study.catalog`) and each remedy's effect, prints
one row: the value on each machine and its ratio to the first file's value. A figure missing on
a machine is ``-``; a ratio needs both numbers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from labkit.study._format import format_value, number
from labkit.study.catalog import brief_catalog
from labkit.study.results import LAB_IDS, Results, ResultsError, read

__all__ = ["Comparison", "compare", "figure_rows"]


@dataclass(frozen=True)
class Comparison:
    """The printed table, and one line per file that could not be read."""

    text: str
    problems: tuple[str, ...]


def _value(results: Results, effect: str | list[str]) -> float | None:
    if isinstance(effect, list):
        a, b = (results.get(k) for k in effect)
        ok = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))
        return a / b if ok and b else None
    value = results.get(effect)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def figure_rows(lab: str) -> list[tuple[str, str | list[str], str]]:
    """(label, key or [numerator, denominator], unit) for every figure compared in ``lab``."""
    info = brief_catalog()[lab]
    rows = [(f["label"], f["key"], f["unit"]) for f in info["figures"]]
    rows += [(f"{r['name']}: {r['label']}", r["effect"], "x") for r in info["remedies"]]
    return rows


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def compare(paths: Sequence[str | os.PathLike[str]]) -> Comparison:
    """Side-by-side table of ``paths`` (two or more results files), one block per lab."""
    problems, loaded = [], []
    for p in paths:
        try:
            loaded.append(read(p))
        except ResultsError as err:
            problems.append(str(err))
    blocks = []
    for lab in LAB_IDS:
        runs = [r for r in loaded if r.lab == lab]
        if not runs:
            continue
        names = [f"[{i + 1}]" for i in range(len(runs))]
        legend = [f"{n} {r.machine_label()} ({r.path})" for n, r in zip(names, runs, strict=True)]
        header = ["figure", *names] + [f"{n}/[1]" for n in names[1:]]
        rows = [header]
        for label, key, unit in figure_rows(lab):
            values = [_value(r, key) for r in runs]
            shown = ["-" if v is None else format_value(v, unit) for v in values]
            ratios = [
                number(v / values[0]) + "×" if v is not None and values[0] else "-"
                for v in values[1:]
            ]
            rows.append([label, *shown, *ratios])
        blocks.append(f"{lab}\n" + "\n".join(legend) + "\n\n" + _table(rows))
    if len(loaded) == 1 and not problems:
        problems.append("only one results file read: compare needs two or more to set side by side")
    return Comparison("\n\n".join(blocks), tuple(problems))
