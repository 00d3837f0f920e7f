"""Finding a class's submissions: ``<student>/<lab>/<notebook>.ipynb`` under nbgrader's ``submitted/``.

A submission is one student's notebooks of one lab. Discovery only reads the file tree (and, for
:func:`unreadable`, the notebooks' JSON); what to grade is decided against the gradebook by
:mod:`labkit.grading._merge`.

Examples
--------
>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> (root / "alice" / "00_orientation").mkdir(parents=True)
>>> (root / "alice" / "00_orientation" / "lab.ipynb").write_text("{}")
2
>>> [(s.student, s.lab, [f.name for f in s.files]) for s in find_submissions(root, {"00_orientation"})]
[('alice', '00_orientation', ['lab.ipynb'])]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from labkit.grading.selfgrade import GradeError, _load

__all__ = ["Submission", "find_submissions", "unreadable"]


@dataclass(frozen=True)
class Submission:
    """One student's notebooks of one lab, as found on disk."""

    student: str
    lab: str
    files: tuple[Path, ...]

    @property
    def timestamp(self) -> dt.datetime:
        """The newest notebook's modification time (naive UTC, as nbgrader stores it)."""
        newest = max((p.stat().st_mtime for p in self.files), default=0.0)
        return dt.datetime.fromtimestamp(newest, tz=dt.UTC).replace(tzinfo=None)


def find_submissions(root: Path, labs: Collection[str]) -> list[Submission]:
    """Every ``<student>/<lab>/`` folder under ``root`` whose lab is in ``labs``, sorted.

    Hidden folders and Jupyter's ``.ipynb_checkpoints`` copies are skipped; folders of other
    labs are ignored, as nbgrader ignores them.
    """
    found = []
    for student_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if student_dir.name.startswith("."):
            continue
        for lab_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            if lab_dir.name in labs:
                notebooks = sorted(
                    p for p in lab_dir.glob("*.ipynb") if ".ipynb_checkpoints" not in str(p)
                )
                found.append(Submission(student_dir.name, lab_dir.name, tuple(notebooks)))
    return found


def unreadable(files: Collection[Path]) -> str | None:
    """Why none of ``files`` is a readable notebook, or None when at least one is."""
    problems = []
    for path in files:
        try:
            _load(path)
            return None
        except GradeError as err:
            problems.append(str(err))
    return "; ".join(problems) or "no notebook in the submission"
