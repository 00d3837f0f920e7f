"""``labkit grade-class``: autograde a whole class in parallel, resumably, into one gradebook.

nbgrader grades one student after another and its sqlite gradebook takes one writer at a time
(REFERENCE.md). Here every submission (one student's notebooks of one lab) is autograded in a
worker process (``--jobs`` of them) in its own scratch course, with its own sqlite gradebook
copied from a per-lab template; the parent merges each result into the target gradebook (the course's
``db_url`` by default, or ``--db`` — sqlite or PostgreSQL) as it arrives. The target is a normal
nbgrader gradebook: instructors enter manual scores with nbgrader's own tools and the next export
includes them. A second run skips submissions already graded unless the file is newer.

Layout of ``SUBMISSIONS_DIR`` (nbgrader's ``submitted/``): ``<student>/<lab>/<notebook>.ipynb``.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from labkit.grading._classexport import export
from labkit.grading._nbgrader import _nbgrader_environment, course_config, run_step
from labkit.grading._paths import course_root, lab_dirs
from labkit.grading.sandbox import probe
from labkit.grading.selfgrade import GradeError, _load, identify

__all__ = ["ClassReport", "SubmissionResult", "grade_class"]


@dataclass(frozen=True)
class SubmissionResult:
    """What happened to one submission (one student, one lab) in this run."""

    student: str
    lab: str
    status: str  # "graded", "skipped" (already graded), "invalid" (scored 0), "failed" (retry)
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ClassReport:
    """One ``grade_class`` run: per-submission results and where the exports were written."""

    results: tuple[SubmissionResult, ...]
    db_url: str
    files: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    jobs: int = 1

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "db_url": _redacted(self.db_url),
            "jobs": self.jobs,
            "wall_s": self.wall_s,
            "files": dict(self.files),
            "results": [r.to_dict() for r in self.results],
        }

    def __repr__(self) -> str:
        statuses = ("graded", "skipped", "invalid", "failed")
        counts = ", ".join(f"{self.count(s)} {s}" for s in statuses if self.count(s))
        lines = [
            f"{len(self.results)} submissions in {self.wall_s:.1f} s with {self.jobs} job(s): "
            f"{counts or 'nothing to do'}"
        ]
        for r in self.results:
            if r.status in ("graded", "invalid", "failed"):
                note = f"  {r.error}" if r.error else ""
                lines.append(
                    f"  {r.student:<20} {r.lab:<18} {r.status:<8} "
                    f"{r.score:g} / {r.max_score:g}  ({r.seconds:.1f} s){note}"
                )
        lines += [f"  {name}: {path}" for name, path in self.files.items()]
        return "\n".join(lines)


def _redacted(url: str) -> str:
    """A database URL without its password, for logs and exports."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


# --- discovering submissions ----------------------------------------------------------------


def _submissions(root: Path, labs: dict[str, Path]) -> list[tuple[str, str, list[Path]]]:
    """``(student, lab, notebooks)`` for every ``<student>/<lab>/`` folder under ``root``."""
    found = []
    for student_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if student_dir.name.startswith("."):
            continue
        for lab_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            if lab_dir.name in labs:
                notebooks = sorted(
                    p for p in lab_dir.glob("*.ipynb") if ".ipynb_checkpoints" not in str(p)
                )
                found.append((student_dir.name, lab_dir.name, notebooks))
    return found


def _unreadable(files: list[Path]) -> str | None:
    """Why none of ``files`` is a readable notebook, or None when at least one is."""
    problems = []
    for path in files:
        try:
            _load(path)
            return None
        except GradeError as err:
            problems.append(str(err))
    return "; ".join(problems) or "no notebook in the submission"


def _timestamp(files: list[Path]) -> dt.datetime:
    newest = max((p.stat().st_mtime for p in files), default=0.0)
    return dt.datetime.fromtimestamp(newest, tz=dt.UTC).replace(tzinfo=None)


# --- the worker: one submission in its own scratch course -----------------------------------


def _prepare_template(lab: str, source_dir: Path, workdir: Path) -> Path:
    """A scratch course for ``lab`` with the assignment generated into its own gradebook."""
    course = workdir / "templates" / lab
    shutil.copytree(source_dir, course / "solutions" / lab)
    run_step("generate_assignment", course_config(course), lab, force=True)
    return course


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


def _grade_one(task: dict[str, Any]) -> dict[str, Any]:
    """Worker: autograde one submission; returns its grades as plain data."""
    with _nbgrader_environment():
        return _grade_one_here(task)


def _grade_one_here(task: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    student, lab = task["student"], task["lab"]
    with tempfile.TemporaryDirectory(prefix=f"labkit-class-{lab}-") as tmp:
        course = Path(tmp) / "course"
        shutil.copytree(task["template"], course)
        config = course_config(course, sandbox=task["sandbox"])
        sources = [Path(s) for s in task["sources"]]
        problems = _place(
            [Path(f) for f in task["files"]], sources, course / "submitted" / student / lab
        )
        if not any((course / "submitted" / student / lab).glob("*.ipynb")):
            return {"status": "invalid", "error": "; ".join(problems) or "no notebook",
                    "grades": [], "seconds": time.perf_counter() - start}  # fmt: skip
        try:
            run_step("autograde", config, lab, student, force=True)
        except RuntimeError as err:
            return {"status": "failed", "error": str(err).splitlines()[0], "grades": [],
                    "seconds": time.perf_counter() - start}  # fmt: skip
        grades = _read_grades(config.CourseDirectory.db_url, lab, student)
        keep = task.get("keep_dir")
        if keep:  # the autograded notebooks, for the instructor to look at
            target = Path(keep) / student / lab
            shutil.rmtree(target, ignore_errors=True)
            # links as links: a learner's link to /dev/zero or the gradebook is not followed
            shutil.copytree(course / "autograded" / student / lab, target, symlinks=True)
    status = "invalid" if problems else "graded"
    return {"status": status, "error": "; ".join(problems), "grades": grades,
            "seconds": time.perf_counter() - start}  # fmt: skip


def _read_grades(db_url: str, lab: str, student: str) -> list[dict[str, Any]]:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        submission = gb.find_submission(lab, student)
        return [
            {
                "notebook": nb.name,
                "grade_id": g.name,
                "auto_score": None if g.auto_score is None else float(g.auto_score),
                "needs_manual_grade": bool(g.needs_manual_grade),
            }
            for nb in submission.notebooks
            for g in nb.grades
        ]


# --- the parent: merge into the target gradebook ---------------------------------------------


def _ensure_assignment(db_url: str, lab: str, template: Path) -> None:
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


def _already_graded(gb: Any, lab: str, student: str, stamp: dt.datetime) -> bool:
    from nbgrader.api import MissingEntry

    try:
        sub = gb.find_submission(lab, student)
    except MissingEntry:
        return False
    if sub.timestamp is None or sub.timestamp < stamp:
        return False
    autograded = [g for nb in sub.notebooks for g in nb.grades if g.cell_type == "code"]
    return all(g.auto_score is not None for g in autograded)


def _merge(
    gb: Any, lab: str, student: str, stamp: dt.datetime, grades: list[dict[str, Any]]
) -> tuple[float, float]:
    """Write one submission's auto scores into the target; manual scores are left alone."""
    with warnings.catch_warnings():
        # SQLAlchemy 2.1 warns about nbgrader's session handling here; harmless (REFERENCE.md)
        warnings.filterwarnings("ignore", message=".*not in session.*")
        gb.update_or_create_student(student)
        sub = gb.update_or_create_submission(lab, student, timestamp=stamp)
    by_key = {(g["notebook"], g["grade_id"]): g for g in grades}
    score = max_score = 0.0
    for nb in sub.notebooks:
        for grade in nb.grades:
            got = by_key.get((nb.name, grade.name))
            if grade.cell_type == "code" or got is None:
                grade.auto_score = float(got["auto_score"] or 0) if got else 0.0
                grade.needs_manual_grade = bool(got and got["needs_manual_grade"])
            else:
                grade.auto_score = got["auto_score"]
                grade.needs_manual_grade = got["needs_manual_grade"]
            if grade.cell_type == "code":
                score += float(grade.auto_score or 0)
                max_score += float(grade.max_score)
    gb.db.commit()
    return score, max_score


def grade_class(
    submissions: str | Path,
    *,
    jobs: int = 1,
    db_url: str | None = None,
    out: str | Path = "grades",
    labs: list[str] | None = None,
    force: bool = False,
    progress: bool = True,
    keep_autograded: bool = True,
    sandbox: bool = True,
) -> ClassReport:
    """Autograde every ``<student>/<lab>/`` submission under ``submissions`` in parallel.

    Parameters
    ----------
    submissions
        nbgrader's ``submitted/`` layout: ``<student>/<lab>/<notebook>.ipynb``.
    jobs
        Worker processes (each grades one submission at a time in its own scratch course).
    db_url
        Target gradebook (``sqlite:///path`` or ``postgresql+psycopg2://...``); default: the
        course's (``nbgrader_config.py``, ``LABKIT_DB_URL``).
    out
        Folder for ``grades.csv``, ``grades.json``, ``exercises.csv``, ``scores.png`` and the
        autograded notebooks.
    labs
        Only these labs (default: every lab of the course).
    force
        Grade again even what the target gradebook already holds for an unchanged file.
    progress
        Show a progress bar on stderr.
    sandbox
        Run every kernel in the grading sandbox (:mod:`labkit.grading.sandbox`); refuses with
        ``ValueError`` where it cannot start. ``False`` runs learners' code with the caller's
        rights: it can read the course, other submissions and the gradebook.

    Examples
    --------
    >>> grade_class("/nonexistent", progress=False)
    Traceback (most recent call last):
    ...
    ValueError: submissions='/nonexistent' is not a folder; expected <student>/<lab>/<notebook>.ipynb
    """
    root = Path(submissions).expanduser()
    if not root.is_dir():
        raise ValueError(
            f"submissions={str(submissions)!r} is not a folder; "
            "expected <student>/<lab>/<notebook>.ipynb"
        )
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs={jobs!r} must be a positive integer")
    course = course_root()
    known = {d.name: d for d in lab_dirs(course)}
    if labs:
        unknown = sorted(set(labs) - set(known))
        if unknown:
            raise ValueError(f"labs={unknown} are not in the course; known: {sorted(known)}")
        known = {k: v for k, v in known.items() if k in labs}
    if sandbox and not (status := probe()).works:
        raise ValueError(
            f"the grading sandbox cannot start here ({status.detail}); install bubblewrap, or "
            "pass --no-sandbox to run learners' code with your rights"
        )
    target = db_url or course_config().CourseDirectory.db_url
    with _nbgrader_environment():
        return _grade_class(root, known, target, Path(out).expanduser(), jobs, force, progress,
                            keep_autograded, sandbox)  # fmt: skip


def _grade_class(
    root: Path,
    known: dict[str, Path],
    target: str,
    out_dir: Path,
    jobs: int,
    force: bool,
    progress: bool,
    keep_autograded: bool,
    sandbox: bool,
) -> ClassReport:
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    found = _submissions(root, known)
    results: list[SubmissionResult] = []

    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory(prefix="labkit-class-") as tmp:
        workdir = Path(tmp)
        todo = []
        with Gradebook(target) as gb:
            for student, lab, files in found:
                stamp = _timestamp(files)
                if not force and files and _already_graded(gb, lab, student, stamp):
                    results.append(SubmissionResult(student, lab, "skipped"))
                else:
                    todo.append((student, lab, files, stamp))
        needed = sorted({lab for _, lab, _, _ in todo})
        templates = {lab: _prepare_template(lab, known[lab], workdir) for lab in needed}
        for lab in needed:
            _ensure_assignment(target, lab, templates[lab])
        keep = str(out_dir / "autograded") if keep_autograded else None
        tasks = [
            {"student": student, "lab": lab, "files": [str(f) for f in files],
             "sources": [str(s) for s in sorted(known[lab].glob("*.ipynb"))],
             "template": str(templates[lab]), "stamp": stamp, "keep_dir": keep,
             "sandbox": sandbox}
            for student, lab, files, stamp in todo
        ]  # fmt: skip
        # notebooks that cannot be read are scored 0 here: no worker needed for them
        runnable = []
        for task in tasks:
            problems = _unreadable([Path(f) for f in task["files"]])
            if problems is None:
                runnable.append(task)
            else:
                with Gradebook(target) as gb:
                    _, top = _merge(gb, task["lab"], task["student"], task["stamp"], [])
                results.append(
                    SubmissionResult(task["student"], task["lab"], "invalid", 0.0, top, 0.0,
                                     problems)
                )  # fmt: skip
        results += _run(runnable, jobs, target, progress)
    results.sort(key=lambda r: (r.student, r.lab))
    files = export(target, out_dir, list(known))
    return ClassReport(tuple(results), target, files, time.perf_counter() - start, jobs)


def _run(tasks: list[dict], jobs: int, target: str, progress: bool) -> list[SubmissionResult]:
    from nbgrader.api import Gradebook
    from tqdm.auto import tqdm

    results = []
    bar = tqdm(total=len(tasks), desc="grading", unit="submission", disable=not progress,
               file=sys.stderr)  # fmt: skip
    # spawn: fresh interpreters (nothing forked from the parent's ZMQ or event loop); workers
    # are reused across submissions (imports are paid once). A worker that dies takes its
    # submission with it; those are reported "failed" and graded again by the next run.
    ctx = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool,
        Gradebook(target) as gb,
    ):
        futures = {pool.submit(_grade_one, task): task for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                res = future.result()
            except Exception as err:  # the worker itself died: retry next run
                res = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                       "grades": [], "seconds": 0.0}  # fmt: skip
            score = max_score = 0.0
            if res["status"] in ("graded", "invalid"):
                score, max_score = _merge(gb, task["lab"], task["student"], task["stamp"],
                                          res["grades"])  # fmt: skip
            results.append(
                SubmissionResult(task["student"], task["lab"], res["status"], score, max_score,
                                 res["seconds"], res["error"])
            )  # fmt: skip
            bar.update(1)
    bar.close()
    return results
