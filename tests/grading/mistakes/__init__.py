"""Typical mistakes and independently written honest solutions, one module per lab.

Each module defines ``CASES``: a list of :class:`Case`. A case replaces one exercise's solution
cell with ``source`` (the learner's whole cell) and runs that exercise's test cells, visible and
hidden, in a kernel that has executed the source notebook up to there. An honest case must pass
every one of them; a mistake must fail at least one. ``tests/grading/test_typical_mistakes.py``
runs them; docs/exercises.md says why each exercise owes at least one honest rewrite in another style
and two typical mistakes.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    grade_id: str  # the exercise's solution cell
    name: str  # what the learner did, in a few words
    source: str  # the learner's cell
    honest: bool = False  # True: must keep full marks; False: a mistake that must lose them

    def code(self) -> str:
        return textwrap.dedent(self.source).strip() + "\n"


def honest(grade_id: str, name: str, source: str) -> Case:
    return Case(grade_id, name, source, honest=True)


def mistake(grade_id: str, name: str, source: str) -> Case:
    return Case(grade_id, name, source, honest=False)
