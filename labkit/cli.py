"""``labkit``: doctor, start, grade, grade-class, export-autograder, brief, drill, compare, course."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict

__all__ = ["main"]


def _table(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _doctor(args: argparse.Namespace) -> int:
    from labkit._cuda_stack import broken_gpu_install, driver_cuda_version, query_driver
    from labkit.device import environment_report
    from labkit.grading.sandbox import probe

    report, sandbox = environment_report(), probe()
    driver = driver_cuda_version(query_driver())
    driver_text = f"answers, supports CUDA {driver[0]}.{driver[1]}" if driver else "none"
    if args.json:
        extra = {"nvidia_driver_cuda": ".".join(map(str, driver)) if driver else None}
        print(
            json.dumps({**report.to_dict(), **extra, "grading_sandbox": asdict(sandbox)}, indent=2)
        )
    else:
        print(_table([("NVIDIA driver", driver_text), *report.rows(),
                      ("grading sandbox", str(sandbox))]))  # fmt: skip
    # a GPU the driver sees but torch cannot use is a broken install, not a CPU machine
    broken = broken_gpu_install(report.torch, report.torch_cuda, torch_sees_gpu=bool(report.gpus))
    if broken:
        print(f"labkit doctor: {broken}", file=sys.stderr)
        return 1
    return 0


def _grade(args: argparse.Namespace) -> int:
    from pathlib import Path

    from labkit.grading import GradeError, grade
    from labkit.grading.sandbox import probe

    sandbox = probe()
    if not sandbox.works:  # self-grading one's own work: grade anyway, but say so once
        print(
            f"labkit grade: warning: grading without the sandbox ({sandbox.detail}); "
            "the notebook runs with your rights",
            file=sys.stderr,
        )
    feedback = args.feedback
    if feedback is None and not args.json:
        path = Path(args.notebook)
        feedback = path.with_name(path.stem + "_feedback.html")
    try:
        report = grade(args.notebook, feedback=feedback, sandbox=sandbox.works)
    except GradeError as err:
        print(f"labkit grade: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(repr(report))
        if feedback is not None:
            print(f"feedback: {feedback}")
    return 0


def _grade_class(args: argparse.Namespace) -> int:
    from labkit.grading.classgrade import grade_class

    try:
        report = grade_class(
            args.submissions,
            jobs=args.jobs,
            scheduler=args.scheduler,
            db_url=args.db,
            out=args.out,
            labs=args.labs or None,
            force=args.force,
            progress=not args.json,
            sandbox=not args.no_sandbox,
        )
    except ValueError as err:
        print(f"labkit grade-class: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict()) if args.json else repr(report))
    return 1 if report.count("failed") else 0


def _export_autograder(args: argparse.Namespace) -> int:
    from labkit.grading._autograder_export import export_autograder

    try:
        path = export_autograder(args.target, args.lab, args.output, visibility=args.visibility)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f"labkit export-autograder: {err}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def _course(args: argparse.Namespace) -> int:
    from labkit.grading import build, check

    if args.action == "build":
        rebuilt = build(args.labs or None, if_stale=args.if_stale)
        print("rebuilt: " + (", ".join(rebuilt) if rebuilt else "nothing (up to date)"))
        return 0
    problems = check(args.labs or None)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"course check: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("course check: notebooks/ is up to date and leaks nothing")
    return 0


def _start(args: argparse.Namespace) -> int:
    import os

    from labkit.start import StartError, jupyter_command, sync

    try:
        workspace = sync(args.directory)
    except StartError as err:
        print(f"labkit start: {err}", file=sys.stderr)
        return 2
    print("\n".join(workspace.lines()), flush=True)
    if args.no_server:
        return 0
    print("Starting JupyterLab: open the URL with the token printed below.", flush=True)
    cmd = jupyter_command(workspace.root, args.port)
    os.execv(cmd[0], cmd)  # JupyterLab takes over this process (Ctrl-C stops it)
    return 0  # pragma: no cover


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    doctor = sub.add_parser("doctor", help="print what this machine offers the course")
    doctor.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    doctor.set_defaults(run=_doctor)

    grade = sub.add_parser("grade", help="autograde a course notebook, hidden tests included")
    grade.add_argument("notebook", help="path to a filled-in course notebook")
    grade.add_argument("--json", action="store_true", help="print one JSON object")
    grade.add_argument(
        "--feedback",
        metavar="PATH",
        help="write the HTML feedback here (default without --json: <notebook>_feedback.html)",
    )
    grade.set_defaults(run=_grade)

    klass = sub.add_parser(
        "grade-class", help="autograde every student's submissions in parallel, resumably"
    )
    klass.add_argument("submissions", help="folder of <student>/<lab>/<notebook>.ipynb")
    engine = klass.add_mutually_exclusive_group()
    engine.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    engine.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="grade on this running Dask cluster instead (needs labkit[cluster])",
    )
    klass.add_argument(
        "--db", metavar="URL", help="target gradebook (default: the course's, or LABKIT_DB_URL)"
    )
    klass.add_argument("--out", default="grades", help="folder for the exports (default grades/)")
    klass.add_argument("--labs", nargs="*", help="only these labs")
    klass.add_argument("--force", action="store_true", help="grade again what is already graded")
    klass.add_argument("--json", action="store_true", help="print one JSON object")
    klass.add_argument(
        "--no-sandbox",
        action="store_true",
        help="grade where the sandbox cannot start: learners' code runs with your rights",
    )
    klass.set_defaults(run=_grade_class)

    export = sub.add_parser(
        "export-autograder", help="package a lab as a hosted grader's autograder (Gradescope)"
    )
    export.add_argument("target", help="the hosted grader: gradescope")
    export.add_argument("lab", help="lab id, e.g. 00_orientation")
    export.add_argument(
        "-o", "--output", metavar="ZIP", help="zip to write (default <lab>_<target>.zip)"
    )
    export.add_argument(
        "--visibility",
        default="visible",
        help="when learners see the tests: visible (default), hidden, after_due_date, "
        "after_published",
    )
    export.set_defaults(run=_export_autograder)

    start = sub.add_parser(
        "start", help="copy the released notebooks into a workspace and open JupyterLab on it"
    )
    start.add_argument(
        "directory",
        nargs="?",
        default="labkit-course",
        help="workspace folder (default ./labkit-course); your edits there are never overwritten",
    )
    start.add_argument("--no-server", action="store_true", help="only copy, start nothing")
    start.add_argument("--port", type=int, help="JupyterLab's port (default: its own, 8888)")
    start.set_defaults(run=_start)

    course = sub.add_parser("course", help="build or check the nbgrader course")
    course.add_argument("action", choices=["build", "check"])
    course.add_argument("labs", nargs="*", help="lab ids (default: all)")
    course.add_argument(
        "--if-stale", action="store_true", help="build only labs whose release is stale"
    )
    course.set_defaults(run=_course)

    from labkit.study._cli import add_study_parsers  # brief, drill, compare

    add_study_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
