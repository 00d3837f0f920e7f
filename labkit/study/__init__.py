"""Interview study from the learner's own numbers: results files, the brief, drills, comparison.

Every lab writes ``<lab>_results.json`` through :func:`save` (a versioned schema, the machine it
was measured on, the figures); :func:`read` validates one. :func:`build_brief` turns the results
found into an interview brief (Markdown and HTML with plots), :mod:`labkit.study.drill` asks the
follow-up questions in spaced-repetition order (FSRS) or exports them as an Anki deck, and
:func:`compare` puts the same figures from several machines side by side.

Names are imported on first use (PEP 562, :mod:`labkit._lazy`); reading results, the brief, the
drills and the comparison never import PyTorch (only :func:`save` asks it for the GPU name).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit._lazy import exports

if TYPE_CHECKING:
    from labkit.study.brief import build_brief, find_results
    from labkit.study.compare import compare
    from labkit.study.results import SCHEMA, Results, ResultsError, figures, read, save

_EXPORTS = {
    "build_brief": "labkit.study.brief",
    "compare": "labkit.study.compare",
    "figures": "labkit.study.results",
    "find_results": "labkit.study.brief",
    "read": "labkit.study.results",
    "Results": "labkit.study.results",
    "ResultsError": "labkit.study.results",
    "save": "labkit.study.results",
    "SCHEMA": "labkit.study.results",
}

__all__ = [
    "SCHEMA",
    "Results",
    "ResultsError",
    "build_brief",
    "compare",
    "figures",
    "find_results",
    "read",
    "save",
]

__getattr__, __dir__ = exports(__name__, _EXPORTS)
