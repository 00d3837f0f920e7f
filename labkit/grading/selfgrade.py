"""``labkit grade``: the autograder's score for one notebook, hidden tests included.

A learner's notebook is graded exactly as the instructor's ``nbgrader autograde`` would grade it:
in a scratch course made from the course source (the same ``nbgrader_config.py``), nbgrader
generates the assignment, autogrades the submission (restoring edited test cells and re-inserting
hidden tests) and writes feedback; the scores are then read back from that gradebook.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.grading._feedback import explain
from labkit.grading._nbgrader import course_config, run_step
from labkit.grading._paths import course_root, lab_dirs

__all__ = ["CellScore", "GradeError", "GradeReport", "ManualCell", "grade", "identify"]

STUDENT = "learner"


class GradeError(Exception):
    """The notebook cannot be graded (missing, corrupted, or not from this course)."""


@dataclass(frozen=True)
class CellScore:
    """One autograded test cell; ``feedback`` says why it lost marks (never hidden source)."""

    grade_id: str
    score: float
    max_score: float
    feedback: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"grade_id": self.grade_id, "score": self.score, "max_score": self.max_score}


@dataclass(frozen=True)
class ManualCell:
    """A written answer an instructor grades by hand, with the mark scheme shown above it."""

    grade_id: str
    max_score: float
    mark_scheme: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"grade_id": self.grade_id, "max_score": self.max_score}


@dataclass(frozen=True)
class GradeReport:
    """Autograded score of one notebook; ``manual`` lists cells an instructor grades by hand.

    :func:`grade` returns one; ``labkit grade --json`` prints its :meth:`to_dict`.

    Examples
    --------
    >>> report = GradeReport(
    ...     "lab.ipynb", "00_orientation", 1.0, 3.0,
    ...     tests=(CellScore("00_orientation_mean", 1.0, 1.0),
    ...            CellScore("00_orientation_std", 0.0, 2.0, "a hidden test failed")),
    ...     manual=(ManualCell("00_orientation_answer", 4.0),))
    >>> print(report)
    lab.ipynb (00_orientation): 1 / 3 autograded
      00_orientation_mean                      1 / 1
      00_orientation_std                       0 / 2
          a hidden test failed
      00_orientation_answer                    needs manual grading, 4 points
    >>> sorted(report.to_dict())
    ['lab', 'manual', 'max_score', 'notebook', 'score', 'tests']
    """

    notebook: str
    lab: str
    score: float
    max_score: float
    tests: tuple[CellScore, ...]
    manual: tuple[ManualCell, ...]

    def to_dict(self) -> dict[str, Any]:
        # docs/design.md §4.4: exactly these keys (feedback and mark schemes are in the text report)
        return {
            "notebook": self.notebook,
            "lab": self.lab,
            "score": self.score,
            "max_score": self.max_score,
            "tests": [t.to_dict() for t in self.tests],
            "manual": [m.to_dict() for m in self.manual],
        }

    def __repr__(self) -> str:
        lines = [f"{self.notebook} ({self.lab}): {self.score:g} / {self.max_score:g} autograded"]
        for t in self.tests:
            lines.append(f"  {t.grade_id:<40} {t.score:g} / {t.max_score:g}")
            if t.feedback:
                lines.append(textwrap.fill(t.feedback, 96, initial_indent="      ",
                                           subsequent_indent="      "))  # fmt: skip
        for m in self.manual:
            lines.append(f"  {m.grade_id:<40} needs manual grading, {m.max_score:g} points")
            if m.mark_scheme:
                lines += [f"      {ln}" for ln in m.mark_scheme.splitlines()]
        return "\n".join(lines)


def _grade_cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        c["metadata"]["nbgrader"]
        for c in nb.get("cells", [])
        if isinstance(c, dict)
        and isinstance(c.get("metadata", {}).get("nbgrader"), dict)
        and c["metadata"]["nbgrader"].get("grade_id")
    ]


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise GradeError(f"notebook {str(path)!r} does not exist")
    if not path.is_file():
        raise GradeError(f"notebook {str(path)!r} is not a file")
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise GradeError(f"notebook {str(path)!r} is not valid notebook JSON ({err})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise GradeError(f"notebook {str(path)!r} is not a Jupyter notebook (no cell list)")
    return nb


def identify(nb: dict[str, Any], root: Path | None = None) -> tuple[str, Path]:
    """The lab and course source notebook a submission belongs to, matched by grade ids."""
    ids = {m["grade_id"] for m in _grade_cells(nb)}
    best: tuple[int, str, Path] | None = None
    for lab_dir in lab_dirs(root):
        for source in sorted(lab_dir.glob("*.ipynb")):
            source_ids = {m["grade_id"] for m in _grade_cells(_load(source))}
            overlap = len(ids & source_ids)
            if overlap and (best is None or overlap > best[0]):
                best = (overlap, lab_dir.name, source)
    if best is None:
        raise GradeError("notebook is not from this course (none of its graded cells match)")
    return best[1], best[2]


def _copy_writable(source: Path, target: Path) -> None:
    """Copy a lab's source folder without its modes: an installed course may be read-only."""
    shutil.copytree(
        source,
        target,
        copy_function=shutil.copyfile,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    for folder in (target, *(p for p in target.rglob("*") if p.is_dir())):
        folder.chmod(0o755)


def grade(
    notebook: str | Path, *, feedback: str | Path | None = None, sandbox: bool = True
) -> GradeReport:
    """Autograde ``notebook`` against the course source, hidden tests included.

    Parameters
    ----------
    notebook
        A course notebook, filled in or not, saved anywhere under any name.
    feedback
        Where to write nbgrader's HTML feedback; ``None`` writes nothing.
    sandbox
        Run the notebook in the grading sandbox (:mod:`labkit.grading.sandbox`); ``False``
        runs it with the caller's rights (``labkit grade`` does so, with a warning, only where
        the sandbox cannot start).

    Returns
    -------
    GradeReport
        Per-test-cell scores as recorded in the gradebook, and the manually graded cells.
    """
    path = Path(notebook).expanduser()
    nb = _load(path)
    root = course_root()
    lab, source = identify(nb, root)
    with tempfile.TemporaryDirectory(prefix="labkit-grade-") as tmp:
        scratch = Path(tmp)
        _copy_writable(source.parent, scratch / "solutions" / lab)
        config = course_config(scratch, sandbox=sandbox)
        run_step("generate_assignment", config, lab, force=True)
        submitted = scratch / "submitted" / STUDENT / lab
        submitted.mkdir(parents=True)
        shutil.copyfile(path, submitted / source.name)
        run_step("autograde", config, lab, STUDENT, force=True)
        graded = scratch / "autograded" / STUDENT / lab / source.name
        report = _read_gradebook(config, lab, source, path, graded)
        if feedback is not None:
            run_step("generate_feedback", config, lab, STUDENT, force=True)
            html = scratch / "feedback" / STUDENT / lab / source.with_suffix(".html").name
            target = Path(feedback).expanduser()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(html, target)
    return report


_SCHEME = re.compile(r"(\**mark scheme.*)", re.I | re.S)


def mark_schemes(nb: dict[str, Any]) -> dict[str, str]:
    """grade_id of each written answer -> the mark scheme in the markdown cell before it."""
    out: dict[str, str] = {}
    previous = ""
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        text = "".join(cell.get("source", ""))
        if (
            meta.get("grade_id")
            and (meta.get("solution") or meta.get("task"))
            and meta.get("grade")
        ):
            found = _SCHEME.search(previous)
            out[meta["grade_id"]] = (found.group(1) if found else previous).strip()
        if cell.get("cell_type") == "markdown":
            previous = text
    return out


def _feedback_by_cell(graded: Path) -> dict[str, str]:
    try:
        nb = json.loads(graded.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {
        c["metadata"]["nbgrader"]["grade_id"]: explain(c)
        for c in nb.get("cells", [])
        if c.get("cell_type") == "code"
        and c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    }


def _read_gradebook(
    config: Any, lab: str, source: Path, submission: Path, graded: Path | None = None
) -> GradeReport:
    from nbgrader.api import Gradebook

    source_nb = _load(source)
    schemes = mark_schemes(source_nb)
    why = _feedback_by_cell(graded) if graded is not None else {}
    tests, manual = [], []
    with Gradebook(config.CourseDirectory.db_url) as gb:
        for meta in _grade_cells(source_nb):
            if not meta.get("grade") and not meta.get("task"):
                continue
            g = gb.find_grade(meta["grade_id"], source.stem, lab, STUDENT)
            if meta.get("solution") or meta.get("task"):
                manual.append(
                    ManualCell(
                        meta["grade_id"], float(g.max_score), schemes.get(meta["grade_id"], "")
                    )
                )
            else:
                score = float(g.auto_score or 0)
                note = why.get(meta["grade_id"], "") if score < float(g.max_score) else ""
                tests.append(CellScore(meta["grade_id"], score, float(g.max_score), note))
    return GradeReport(
        notebook=str(submission),
        lab=lab,
        score=float(sum(t.score for t in tests)),
        max_score=float(sum(t.max_score for t in tests)),
        tests=tuple(tests),
        manual=tuple(manual),
    )
