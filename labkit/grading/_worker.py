"""The grade-class worker: autograde one submission in its own scratch course and gradebook.

nbgrader's sqlite gradebook takes one writer at a time (docs/reference.md, "nbgrader 0.9.6"), so each
worker process grades in a copy of a per-lab template course (made once by
:func:`prepare_template`, the assignment already generated into its own gradebook) and hands
back its grades as plain, picklable data (:class:`WorkerResult`); only the parent writes the
target gradebook (:mod:`labkit.grading._merge`).

Examples
--------
>>> WorkerResult.failure("BrokenProcessPool: a worker died")
WorkerResult(status='failed', error='BrokenProcessPool: a worker died', grades=(), seconds=0.0)
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from labkit.grading._nbgrader import _nbgrader_environment, course_config, run_step
from labkit.grading._paths import course_root
from labkit.grading.selfgrade import GradeError, _load, identify

__all__ = [
    "CellGrade",
    "GradeTask",
    "WorkerResult",
    "WorkerStatus",
    "grade_one",
    "prepare_template",
]

# "graded": autograded; "invalid": graded but with notebooks missing or unreadable (scored as
# they stand, 0 when nothing could run); "failed": nbgrader or the worker broke, so nothing is
# written and the next run grades it again
WorkerStatus = Literal["graded", "invalid", "failed"]


@dataclass(frozen=True)
class GradeTask:
    """One submission for a worker: where its notebooks and the lab's template course are."""

    student: str
    lab: str
    files: tuple[Path, ...]  # the student's notebooks
    sources: tuple[Path, ...]  # the lab's source notebooks (the names to grade under)
    template: Path  # a course from prepare_template()
    stamp: dt.datetime  # the submission's timestamp, written to the gradebook
    keep_dir: Path | None  # where to copy the autograded notebooks, if anywhere
    sandbox: bool  # run the kernels in the grading sandbox


@dataclass(frozen=True)
class CellGrade:
    """One graded cell of one notebook, as the worker's gradebook holds it after autograding."""

    notebook: str
    grade_id: str
    auto_score: float | None
    needs_manual_grade: bool


@dataclass(frozen=True)
class WorkerResult:
    """What a worker sends back for one :class:`GradeTask`."""

    status: WorkerStatus
    error: str
    grades: tuple[CellGrade, ...]
    seconds: float

    @classmethod
    def failure(cls, error: str, seconds: float = 0.0) -> WorkerResult:
        """A submission to grade again next run (nothing of it reaches the gradebook)."""
        return cls("failed", error, (), seconds)


def prepare_template(lab: str, source_dir: Path, workdir: Path) -> Path:
    """A scratch course for ``lab`` with the assignment generated into its own gradebook."""
    course = workdir / "templates" / lab
    shutil.copytree(source_dir, course / "solutions" / lab)
    run_step("generate_assignment", course_config(course), lab, force=True)
    return course


def _place(files: tuple[Path, ...], sources: tuple[Path, ...], dest: Path) -> list[str]:
    """Copy a student's notebooks under the course's names; returns the problems found."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {s.name: s for s in sources}
    problems = []
    placed: set[str] = set()
    for path in files:
        try:
            nb = _load(path)
        except GradeError as err:
            problems.append(str(err))
            continue
        name = path.name
        if name not in wanted:  # renamed by the student: match it by its graded cells
            try:
                _, source = identify(nb, course_root())
            except GradeError:
                continue  # an unrelated notebook: ignored, as nbgrader does
            name = source.name
            if name not in wanted or name in placed:
                continue
        shutil.copyfile(path, dest / name)
        placed.add(name)
    for name in sorted(set(wanted) - placed):
        if not problems:
            problems.append(f"no notebook {name!r} in the submission")
    return problems


def grade_one(task: GradeTask) -> WorkerResult:
    """Worker entry point: autograde one submission; returns its grades as plain data."""
    with _nbgrader_environment():
        return _grade_one_here(task)


def _grade_one_here(task: GradeTask) -> WorkerResult:
    start = time.perf_counter()
    student, lab = task.student, task.lab
    with tempfile.TemporaryDirectory(prefix=f"labkit-class-{lab}-") as tmp:
        course = Path(tmp) / "course"
        shutil.copytree(task.template, course)
        config = course_config(course, sandbox=task.sandbox)
        submitted = course / "submitted" / student / lab
        problems = _place(task.files, task.sources, submitted)
        if not any(submitted.glob("*.ipynb")):
            error = "; ".join(problems) or "no notebook"
            return WorkerResult("invalid", error, (), time.perf_counter() - start)
        try:
            run_step("autograde", config, lab, student, force=True)
        except RuntimeError as err:
            return WorkerResult.failure(str(err).splitlines()[0], time.perf_counter() - start)
        grades = _read_grades(config.CourseDirectory.db_url, lab, student)
        if task.keep_dir is not None:  # the autograded notebooks, for the instructor to look at
            target = task.keep_dir / student / lab
            shutil.rmtree(target, ignore_errors=True)
            # links as links: a learner's link to /dev/zero or the gradebook is not followed
            shutil.copytree(course / "autograded" / student / lab, target, symlinks=True)
    status: WorkerStatus = "invalid" if problems else "graded"
    return WorkerResult(status, "; ".join(problems), grades, time.perf_counter() - start)


def _read_grades(db_url: str, lab: str, student: str) -> tuple[CellGrade, ...]:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        submission = gb.find_submission(lab, student)
        return tuple(
            CellGrade(
                notebook=nb.name,
                grade_id=g.name,
                auto_score=None if g.auto_score is None else float(g.auto_score),
                needs_manual_grade=bool(g.needs_manual_grade),
            )
            for nb in submission.notebooks
            for g in nb.grades
        )
