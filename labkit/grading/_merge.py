"""The grade-class parent's side: what the target gradebook holds, and writing results into it.

The target is a normal nbgrader gradebook (sqlite or PostgreSQL). Only auto scores are written:
manual scores an instructor entered with nbgrader's own tools stay, and the next export includes
them. A submission counts as graded when the gradebook holds it with a timestamp at least as new
as its files and an auto score on every code cell, which is what makes a re-run resumable.
Merging is idempotent: a submission's row and its grades are updated in place, so a result that
arrives twice (a task Dask ran again after losing a worker) is still counted once.

:func:`deliver` writes the files a worker sent back beside the exports, laid out as nbgrader's
``generate_feedback`` and ``autograde`` lay them out: ``feedback/<student>/<lab>/<notebook>.html``
and ``autograded/<student>/<lab>/``; each folder is replaced whole, never left half-written.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from labkit.grading._nbgrader import course_config
from labkit.grading._worker import CellGrade, Files

__all__ = ["already_graded", "deliver", "ensure_assignment", "merge"]


def ensure_assignment(db_url: str, lab: str, template: Path) -> None:
    """Create ``lab``'s assignment in the target gradebook, copied from the template's.

    The rows are the ones nbgrader's ``generate_assignment`` (its ``SaveCells`` step) writes;
    copying them spares a second generate run per lab.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(lab)
            return
        except MissingEntry:
            pass
        with Gradebook(course_config(template).CourseDirectory.db_url) as src:
            assignment = src.find_assignment(lab)
            gb.update_or_create_assignment(lab, duedate=assignment.duedate)
            for nb in assignment.notebooks:
                gb.add_notebook(nb.name, lab, kernelspec=nb.kernelspec)
                for c in nb.grade_cells:
                    gb.update_or_create_grade_cell(
                        c.name, nb.name, lab, max_score=c.max_score, cell_type=c.cell_type
                    )
                for c in nb.solution_cells:
                    gb.update_or_create_solution_cell(c.name, nb.name, lab)
                for c in nb.task_cells:
                    gb.update_or_create_task_cell(
                        c.name, nb.name, lab, max_score=c.max_score, cell_type=c.cell_type
                    )
                for c in nb.source_cells:
                    gb.update_or_create_source_cell(
                        c.name, nb.name, lab, cell_type=c.cell_type, locked=c.locked,
                        source=c.source, checksum=c.checksum,
                    )  # fmt: skip


def already_graded(gb: Any, lab: str, student: str, stamp: dt.datetime) -> bool:
    """Whether ``gb`` (an open ``nbgrader.api.Gradebook``) holds this submission, up to date."""
    from nbgrader.api import MissingEntry

    try:
        sub = gb.find_submission(lab, student)
    except MissingEntry:
        return False
    if sub.timestamp is None or sub.timestamp < stamp:
        return False
    autograded = [g for nb in sub.notebooks for g in nb.grades if g.cell_type == "code"]
    return all(g.auto_score is not None for g in autograded)


def merge(
    gb: Any, lab: str, student: str, stamp: dt.datetime, grades: Iterable[CellGrade]
) -> tuple[float, float]:
    """Write one submission's auto scores into ``gb``; returns ``(score, max_score)``.

    A code cell the worker did not grade scores 0; manual scores are left alone.
    """
    with warnings.catch_warnings():
        # SQLAlchemy 2.1 warns about nbgrader's session handling here; harmless
        # (docs/reference.md, "nbgrader 0.9.6")
        warnings.filterwarnings("ignore", message=".*not in session.*")
        gb.update_or_create_student(student)
        sub = gb.update_or_create_submission(lab, student, timestamp=stamp)
    by_key = {(g.notebook, g.grade_id): g for g in grades}
    score = max_score = 0.0
    for nb in sub.notebooks:
        for grade in nb.grades:
            got = by_key.get((nb.name, grade.name))
            if grade.cell_type == "code" or got is None:
                grade.auto_score = float(got.auto_score or 0) if got else 0.0
                grade.needs_manual_grade = bool(got and got.needs_manual_grade)
            else:
                grade.auto_score = got.auto_score
                grade.needs_manual_grade = got.needs_manual_grade
            if grade.cell_type == "code":
                score += float(grade.auto_score or 0)
                max_score += float(grade.max_score)
    gb.db.commit()
    return score, max_score


def deliver(out_dir: Path, kind: str, student: str, lab: str, files: Files) -> Path | None:
    """Replace ``out_dir/kind/student/lab/`` by ``files``; returns the folder (None: no files)."""
    if not files:
        return None
    target = out_dir / kind / student / lab
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{lab}-", dir=target.parent))
    staged.chmod(0o755)  # as a folder nbgrader makes, not mkdtemp's owner-only
    try:
        for name, content in files:
            path = staged / name
            if not path.resolve().is_relative_to(staged.resolve()):
                continue  # a name that climbs out of the folder is not written
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        if target.exists():
            old = target.with_name(f".{lab}-old-{staged.name}")
            target.rename(old)
            staged.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staged.rename(target)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return target
