"""The grade-class worker: autograde one submission in its own scratch course and gradebook.

nbgrader's sqlite gradebook takes one writer at a time (docs/reference.md, "nbgrader 0.9.6"), so each
worker grades in a copy of a per-lab template course (:func:`prepare_template`, the assignment
already generated into its own gradebook) and hands back plain, picklable data
(:class:`WorkerResult`): the grades, the learner's HTML feedback (hidden tests removed by
``GenerateFeedback.preprocessors``) and, when asked, the autograded notebooks. Only the client
writes the target gradebook and the output folder (:mod:`labkit.grading._merge`).

A :class:`GradeTask` carries the notebooks' bytes, not paths, so the worker may be a process on
this machine (``--jobs``) or a Dask worker on another one (:mod:`labkit.grading._dask`). A task
without a template makes the worker build its own from its installed course, once per lab and
process (:func:`cached_template`); :func:`lab_digest` lets the client check that the worker's
course is the one it graded against.

Examples
--------
>>> WorkerResult.failure("BrokenProcessPool: a worker died")
WorkerResult(status='failed', error='BrokenProcessPool: a worker died', seconds=0.0)
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import shutil
import stat
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from labkit.grading._nbgrader import _nbgrader_environment, course_config, run_step
from labkit.grading._paths import course_root, lab_dirs
from labkit.grading.selfgrade import GradeError, _copy_writable, _load, identify

__all__ = [
    "CellGrade",
    "GradeTask",
    "WorkerResult",
    "WorkerStatus",
    "cached_template",
    "grade_one",
    "lab_digest",
    "prepare_template",
]

# "graded": autograded; "invalid": graded but with notebooks missing or unreadable (scored as
# they stand, 0 when nothing could run); "failed": nbgrader or the worker broke, so nothing is
# written and the next run grades it again
WorkerStatus = Literal["graded", "invalid", "failed"]

# a file the worker would send back that is larger than this is left out (a learner's notebook
# that prints gigabytes is cut by CapOutput first; this only guards the transfer)
MAX_RETURNED_BYTES = 64 * 1024 * 1024

Files = tuple[tuple[str, bytes], ...]  # (relative name, content)


@dataclass(frozen=True)
class GradeTask:
    """One submission for a worker: the student's notebooks as bytes, and how to grade them."""

    student: str
    lab: str
    notebooks: Files  # the student's notebooks: (file name, bytes)
    stamp: dt.datetime  # the submission's timestamp, written to the gradebook
    sandbox: bool  # run the kernels in the grading sandbox
    keep_autograded: bool = False  # send the autograded notebooks back
    template: Path | None = None  # a course from prepare_template(); None: the worker's own
    digest: str = ""  # lab_digest() on the client; a worker whose course differs refuses


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
    grades: tuple[CellGrade, ...] = field(default=(), repr=False)
    seconds: float = 0.0
    feedback: Files = field(default=(), repr=False)  # <notebook>.html files
    autograded: Files = field(default=(), repr=False)  # autograded/<student>/<lab>/ files

    @classmethod
    def failure(cls, error: str, seconds: float = 0.0) -> WorkerResult:
        """A submission to grade again next run (nothing of it reaches the gradebook)."""
        return cls("failed", error, seconds=seconds)


def _lab_source(lab: str) -> Path | None:
    """``lab``'s source folder in this installation's course, if it has that lab."""
    return {d.name: d for d in lab_dirs(course_root())}.get(lab)


def lab_digest(lab: str) -> str:
    """SHA-256 of ``lab``'s source notebooks in this installation's course (names and bytes)."""
    source = _lab_source(lab)
    if source is None:
        return ""
    digest = hashlib.sha256()
    for path in sorted(source.glob("*.ipynb")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def prepare_template(lab: str, source_dir: Path, workdir: Path) -> Path:
    """A scratch course for ``lab`` with the assignment generated into its own gradebook."""
    course = workdir / "templates" / lab
    _copy_writable(source_dir, course / "solutions" / lab)  # an installed course is read-only
    run_step("generate_assignment", course_config(course), lab, force=True)
    return course


_TEMPLATES: dict[str, Path] = {}
_TEMPLATE_LOCK = threading.Lock()
# nbgrader swaps sys.stdout and PATH while it runs: one grading at a time per process, even in a
# Dask worker started with several threads
_GRADING_LOCK = threading.Lock()


def cached_template(lab: str) -> Path:
    """This process's template course for ``lab`` from its installed course, made on first use."""
    with _TEMPLATE_LOCK:
        if lab not in _TEMPLATES:
            source = _lab_source(lab)
            if source is None:
                raise GradeError(f"this worker's course at {course_root()} has no lab {lab!r}")
            workdir = Path(tempfile.mkdtemp(prefix="labkit-templates-"))
            atexit.register(shutil.rmtree, workdir, ignore_errors=True)
            _TEMPLATES[lab] = prepare_template(lab, source, workdir)
        return _TEMPLATES[lab]


def _place(files: list[Path], sources: list[Path], dest: Path) -> list[str]:
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


def _collect(folder: Path) -> Files:
    """Regular files under ``folder`` (links and devices a learner left there are not read)."""
    found = []
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_RETURNED_BYTES:
            found.append((path.relative_to(folder).as_posix(), path.read_bytes()))
    return tuple(found)


def grade_one(task: GradeTask) -> WorkerResult:
    """Worker entry point: autograde one submission; returns its grades and files as data."""
    from labkit import __version__

    start = time.perf_counter()
    with _GRADING_LOCK, _nbgrader_environment():
        try:
            template = task.template or cached_template(task.lab)
            if task.digest and task.digest != (mine := lab_digest(task.lab)):
                return WorkerResult.failure(
                    f"this worker's course differs from the client's for {task.lab} (labkit "
                    f"{__version__} at {course_root()}, lab digest {mine[:12]} != "
                    f"{task.digest[:12]}): install the same course on every worker"
                )
            return _grade_one_here(task, template, start)
        except (GradeError, RuntimeError, OSError) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            return WorkerResult.failure(first, time.perf_counter() - start)


def _grade_one_here(task: GradeTask, template: Path, start: float) -> WorkerResult:
    student, lab = task.student, task.lab
    with tempfile.TemporaryDirectory(prefix=f"labkit-class-{lab}-") as tmp:
        incoming = Path(tmp) / "incoming"
        incoming.mkdir()
        files = []
        for name, content in task.notebooks:
            path = incoming / Path(name).name  # a bare name: nothing lands outside incoming/
            path.write_bytes(content)
            files.append(path)
        course = Path(tmp) / "course"
        shutil.copytree(template, course)
        config = course_config(course, sandbox=task.sandbox)
        submitted = course / "submitted" / student / lab
        sources = sorted((template / "solutions" / lab).glob("*.ipynb"))
        problems = _place(files, sources, submitted)
        if not any(submitted.glob("*.ipynb")):
            error = "; ".join(problems) or "no notebook"
            return WorkerResult("invalid", error, seconds=time.perf_counter() - start)
        try:
            run_step("autograde", config, lab, student, force=True)
        except RuntimeError as err:
            return WorkerResult.failure(str(err).splitlines()[0], time.perf_counter() - start)
        grades = _read_grades(config.CourseDirectory.db_url, lab, student)
        feedback: Files = ()
        try:
            run_step("generate_feedback", config, lab, student, force=True)
            feedback = _collect(course / "feedback" / student / lab)
        except RuntimeError as err:  # grades stand; the learner's page is missing, said why
            problems.append(f"no feedback: {str(err).splitlines()[0]}")
        autograded = _collect(course / "autograded" / student / lab) if task.keep_autograded else ()
    status: WorkerStatus = "invalid" if problems else "graded"
    return WorkerResult(status, "; ".join(problems), grades, time.perf_counter() - start,
                        feedback, autograded)  # fmt: skip


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
