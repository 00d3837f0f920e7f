"""``labkit grade-class``: autograde a whole class in parallel, resumably, into one gradebook.

nbgrader grades one student after another and its sqlite gradebook takes one writer at a time
(docs/reference.md, "nbgrader 0.9.6"). Here every submission (one student's notebooks of one
lab, found by :mod:`~labkit.grading._discovery`) is one task: its notebooks' bytes go to a worker
(:mod:`~labkit.grading._worker`), which autogrades them in its own scratch course, with its own
sqlite gradebook copied from a per-lab template, and sends back the grades, the learner's HTML
feedback and the autograded notebooks. Workers are local processes (``--jobs``) or the workers
of a running Dask cluster (``--scheduler``, :mod:`~labkit.grading._dask`); they never touch the
target gradebook. This client merges each result into it (:mod:`~labkit.grading._merge`; the
course's ``db_url`` by default, or ``--db`` — sqlite or PostgreSQL) as it arrives, and writes
``feedback/<student>/<lab>/<notebook>.html`` (nbgrader's ``generate_feedback`` layout, hidden
tests removed) and ``autograded/`` under the output folder. The target is a normal nbgrader
gradebook: instructors enter manual scores with nbgrader's own tools and the next export
includes them. A second run skips submissions already graded unless the file is newer.

The local pool is a ``ProcessPoolExecutor``, not a Dask ``LocalCluster``: the base install grades
without ``distributed`` (the ``cluster`` extra), and both engines share everything but the
submit-and-wait loop.

Layout of ``SUBMISSIONS_DIR`` (nbgrader's ``submitted/``): ``<student>/<lab>/<notebook>.ipynb``.
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from labkit._validate import check_bool, check_int
from labkit.grading._classexport import export
from labkit.grading._discovery import Submission, find_submissions, unreadable
from labkit.grading._merge import already_graded, deliver, ensure_assignment, merge
from labkit.grading._nbgrader import _nbgrader_environment, course_config
from labkit.grading._paths import course_root, lab_dirs
from labkit.grading._worker import GradeTask, WorkerResult, grade_one, lab_digest, prepare_template
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
    scheduler: str = ""  # the Dask scheduler's address; "" for the local process pool

    def count(self, status: Status) -> int:
        """How many submissions ended with ``status``."""
        return sum(r.status == status for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "db_url": _redacted(self.db_url),
            "jobs": self.jobs,
            "scheduler": self.scheduler,
            "wall_s": self.wall_s,
            "files": dict(self.files),
            "results": [r.to_dict() for r in self.results],
        }

    def __repr__(self) -> str:
        counts = ", ".join(f"{self.count(s)} {s}" for s in _STATUSES if self.count(s))
        where = f" on {self.scheduler}" if self.scheduler else ""
        lines = [
            f"{len(self.results)} submissions in {self.wall_s:.1f} s with {self.jobs} job(s)"
            f"{where}: {counts or 'nothing to do'}"
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


Engine = Callable[[list[GradeTask]], Iterator[tuple[GradeTask, WorkerResult]]]


def grade_class(
    submissions: str | Path,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
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
        Worker processes on this machine (each grades one submission at a time in its own
        scratch course).
    scheduler
        A running Dask scheduler (``tcp://HOST:PORT``): each submission becomes a task on its
        workers instead (``jobs`` must stay 1). Every worker must run the same labkit version
        and course as this client; a lost worker's submission is graded again elsewhere.
        Needs ``labkit[cluster]``.
    db_url
        Target gradebook (``sqlite:///path`` or ``postgresql+psycopg2://...``); default: the
        course's (``nbgrader_config.py``, ``LABKIT_DB_URL``).
    out
        Folder for ``grades.csv``, ``grades.json``, ``exercises.csv``, ``scores.png``, the
        learners' ``feedback/`` and the ``autograded/`` notebooks.
    labs
        Only these labs (default: every lab of the course).
    force
        Grade again even what the target gradebook already holds for an unchanged file.
    progress
        Show a progress bar (graded / total, ETA) on stderr.
    keep_autograded
        Write the autograded notebooks under ``out/autograded/``.
    sandbox
        Run every kernel in the grading sandbox (:mod:`labkit.grading.sandbox`) on every worker;
        refuses with ``ValueError`` where it cannot start. ``False`` runs learners' code with the
        worker's rights: it can read the course, other submissions and the gradebook.

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
    if scheduler is not None and jobs != 1:
        raise ValueError(f"jobs={jobs} with scheduler={scheduler!r}: pass one or the other")
    course = course_root()
    known = {d.name: d for d in lab_dirs(course)}
    if labs:
        unknown = sorted(set(labs) - set(known))
        if unknown:
            raise ValueError(f"labs={unknown} are not in the course; known: {sorted(known)}")
        known = {k: v for k, v in known.items() if k in labs}
    target = db_url or course_config().CourseDirectory.db_url
    out_dir = Path(out).expanduser()
    if scheduler is None:
        if sandbox and not (status := probe()).works:
            raise ValueError(
                f"the grading sandbox cannot start here ({status.detail}); install bubblewrap, "
                "or pass --no-sandbox to run learners' code with your rights"
            )
        with _nbgrader_environment():
            return _grade_class(root, known, target, out_dir, force, progress, keep_autograded,
                                sandbox, lambda tasks: _local_pool(tasks, jobs), jobs, "")  # fmt: skip

    from labkit.grading import _dask

    # nothing is written before the cluster has answered and every worker passed the checks
    with _dask.connect(scheduler) as client:
        workers = _dask.check_workers(client, sorted(known), sandbox)
        if progress and (link := _dask.dashboard(client)):
            print(f"Dask dashboard: {link}", file=sys.stderr)
        with _nbgrader_environment():
            return _grade_class(root, known, target, out_dir, force, progress, keep_autograded,
                                sandbox, lambda tasks: _dask.results(client, tasks), workers,
                                scheduler)  # fmt: skip


def _grade_class(
    root: Path,
    known: dict[str, Path],
    target: str,
    out_dir: Path,
    force: bool,
    progress: bool,
    keep_autograded: bool,
    sandbox: bool,
    engine: Engine,
    jobs: int,
    scheduler: str,
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
        remote = bool(scheduler)
        digests = {lab: lab_digest(lab) for lab in needed} if remote else {}
        runnable = []
        for sub in todo:
            # notebooks that cannot be read are scored 0 here: no worker needed for them
            problems = unreadable(sub.files)
            if problems is not None:
                with Gradebook(target) as gb:
                    _, top = merge(gb, sub.lab, sub.student, sub.timestamp, ())
                results.append(
                    SubmissionResult(sub.student, sub.lab, "invalid", 0.0, top, 0.0, problems)
                )
                continue
            runnable.append(
                GradeTask(
                    student=sub.student,
                    lab=sub.lab,
                    notebooks=tuple((p.name, p.read_bytes()) for p in sub.files),
                    stamp=sub.timestamp,
                    sandbox=sandbox,
                    keep_autograded=keep_autograded,
                    # a remote worker builds its own template from its installed course
                    template=None if remote else templates[sub.lab],
                    digest=digests.get(sub.lab, ""),
                )
            )
        results += _collect(engine(runnable), len(runnable), target, out_dir, progress)
    results.sort(key=lambda r: (r.student, r.lab))
    files = export(target, out_dir, list(known))
    if (out_dir / "feedback").is_dir():
        files["feedback"] = str(out_dir / "feedback")
    return ClassReport(tuple(results), target, files, time.perf_counter() - start, jobs, scheduler)


def _collect(
    done: Iterator[tuple[GradeTask, WorkerResult]],
    total: int,
    target: str,
    out_dir: Path,
    progress: bool,
) -> list[SubmissionResult]:
    """Merge each result into the gradebook and write its files, as it arrives."""
    from nbgrader.api import Gradebook
    from tqdm.auto import tqdm

    results = []
    bar = tqdm(total=total, desc="graded", unit="submission", disable=not progress,
               file=sys.stderr)  # fmt: skip
    with Gradebook(target) as gb:
        for task, res in done:
            score = max_score = 0.0
            if res.status in ("graded", "invalid"):
                score, max_score = merge(gb, task.lab, task.student, task.stamp, res.grades)
                deliver(out_dir, "feedback", task.student, task.lab, res.feedback)
                deliver(out_dir, "autograded", task.student, task.lab, res.autograded)
            results.append(
                SubmissionResult(task.student, task.lab, res.status, score, max_score,
                                 res.seconds, res.error)
            )  # fmt: skip
            bar.update(1)
    bar.close()
    return results


def _local_pool(tasks: list[GradeTask], jobs: int) -> Iterator[tuple[GradeTask, WorkerResult]]:
    """Grade ``tasks`` in ``jobs`` processes on this machine, yielding results as they finish."""
    if not tasks:
        return
    # spawn: fresh interpreters (nothing forked from the parent's ZMQ or event loop); workers
    # are reused across submissions (imports are paid once). A worker that dies takes its
    # submission with it; those are reported "failed" and graded again by the next run.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = {pool.submit(grade_one, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                res: WorkerResult = future.result()
            except Exception as err:  # the worker itself died: retry next run
                res = WorkerResult.failure(f"{type(err).__name__}: {err}")
            yield futures[future], res
