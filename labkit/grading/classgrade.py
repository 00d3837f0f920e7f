"""``labkit grade-class``: autograde a whole class in parallel, resumably, into one gradebook.

nbgrader grades one student after another and its sqlite gradebook takes one writer at a time
(docs/reference.md, "nbgrader 0.9.6"). Here every submission (one student's notebooks of one
lab, found by :mod:`~labkit.grading._discovery`) is autograded in a worker process (``--jobs``
of them, :mod:`~labkit.grading._worker`) in its own scratch course, with its own sqlite gradebook
copied from a per-lab template; the parent merges each result into the target gradebook
(:mod:`~labkit.grading._merge`; the course's ``db_url`` by default, or ``--db`` — sqlite or
PostgreSQL) as it arrives. The target is a normal nbgrader gradebook: instructors enter manual
scores with nbgrader's own tools and the next export includes them. A second run skips
submissions already graded unless the file is newer.

Layout of ``SUBMISSIONS_DIR`` (nbgrader's ``submitted/``): ``<student>/<lab>/<notebook>.ipynb``.
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from labkit._validate import check_bool, check_int
from labkit.grading._classexport import export
from labkit.grading._discovery import Submission, find_submissions, unreadable
from labkit.grading._merge import already_graded, ensure_assignment, merge
from labkit.grading._nbgrader import _nbgrader_environment, course_config
from labkit.grading._paths import course_root, lab_dirs
from labkit.grading._worker import GradeTask, WorkerResult, grade_one, prepare_template
from labkit.grading.sandbox import probe

__all__ = ["ClassReport", "Status", "SubmissionResult", "grade_class"]

# "skipped": the target gradebook already holds it, up to date; the others as the worker's
# (labkit.grading._worker.WorkerStatus): "graded", "invalid" (scored as it stands, often 0),
# "failed" (nothing written; the next run grades it again)
Status = Literal["graded", "skipped", "invalid", "failed"]
_STATUSES: tuple[Status, ...] = ("graded", "skipped", "invalid", "failed")


@dataclass(frozen=True)
class SubmissionResult:
    """What happened to one submission (one student, one lab) in this run.

    Examples
    --------
    >>> SubmissionResult("alice", "00_orientation", "graded", 9.0, 10.0, 4.2).to_dict()["score"]
    9.0
    """

    student: str
    lab: str
    status: Status
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ClassReport:
    """One ``grade_class`` run: per-submission results and where the exports were written.

    Examples
    --------
    >>> report = ClassReport(
    ...     (SubmissionResult("alice", "00_orientation", "graded", 9.0, 10.0, 4.2),
    ...      SubmissionResult("bob", "00_orientation", "skipped")),
    ...     "postgresql+psycopg2://grader:secret@db/course", wall_s=5.0, jobs=2)
    >>> report.count("skipped")
    1
    >>> print(report)  # skipped submissions are counted, not listed
    2 submissions in 5.0 s with 2 job(s): 1 graded, 1 skipped
      alice                00_orientation       graded   9 / 10  (4.2 s)
    >>> report.to_dict()["db_url"]  # never the password
    'postgresql+psycopg2://grader:***@db/course'
    """

    results: tuple[SubmissionResult, ...]
    db_url: str
    files: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    jobs: int = 1

    def count(self, status: Status) -> int:
        """How many submissions ended with ``status``."""
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
        counts = ", ".join(f"{self.count(s)} {s}" for s in _STATUSES if self.count(s))
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
    jobs = check_int(jobs, "jobs", min_val=1)
    force = check_bool(force, "force")
    progress = check_bool(progress, "progress")
    keep_autograded = check_bool(keep_autograded, "keep_autograded")
    sandbox = check_bool(sandbox, "sandbox")
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
    found = find_submissions(root, known)
    results: list[SubmissionResult] = []

    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory(prefix="labkit-class-") as tmp:
        workdir = Path(tmp)
        todo: list[Submission] = []
        with Gradebook(target) as gb:
            for found_one in found:
                if (
                    not force
                    and found_one.files
                    and already_graded(gb, found_one.lab, found_one.student, found_one.timestamp)
                ):
                    results.append(SubmissionResult(found_one.student, found_one.lab, "skipped"))
                else:
                    todo.append(found_one)
        needed = sorted({s.lab for s in todo})
        templates = {lab: prepare_template(lab, known[lab], workdir) for lab in needed}
        for lab in needed:
            ensure_assignment(target, lab, templates[lab])
        keep = out_dir / "autograded" if keep_autograded else None
        tasks = [
            GradeTask(
                student=s.student,
                lab=s.lab,
                files=s.files,
                sources=tuple(sorted(known[s.lab].glob("*.ipynb"))),
                template=templates[s.lab],
                stamp=s.timestamp,
                keep_dir=keep,
                sandbox=sandbox,
            )
            for s in todo
        ]
        # notebooks that cannot be read are scored 0 here: no worker needed for them
        runnable = []
        for task in tasks:
            problems = unreadable(task.files)
            if problems is None:
                runnable.append(task)
            else:
                with Gradebook(target) as gb:
                    _, top = merge(gb, task.lab, task.student, task.stamp, ())
                results.append(
                    SubmissionResult(task.student, task.lab, "invalid", 0.0, top, 0.0, problems)
                )
        results += _run(runnable, jobs, target, progress)
    results.sort(key=lambda r: (r.student, r.lab))
    files = export(target, out_dir, list(known))
    return ClassReport(tuple(results), target, files, time.perf_counter() - start, jobs)


def _run(tasks: list[GradeTask], jobs: int, target: str, progress: bool) -> list[SubmissionResult]:
    """Grade ``tasks`` in ``jobs`` worker processes, merging each result as it arrives."""
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
        futures = {pool.submit(grade_one, task): task for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                res: WorkerResult = future.result()
            except Exception as err:  # the worker itself died: retry next run
                res = WorkerResult.failure(f"{type(err).__name__}: {err}")
            score = max_score = 0.0
            if res.status in ("graded", "invalid"):
                score, max_score = merge(gb, task.lab, task.student, task.stamp, res.grades)
            results.append(
                SubmissionResult(task.student, task.lab, res.status, score, max_score,
                                 res.seconds, res.error)
            )  # fmt: skip
            bar.update(1)
    bar.close()
    return results
