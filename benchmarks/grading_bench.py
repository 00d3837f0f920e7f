"""Class grading: wall time of `labkit grade-class` with --jobs 1 vs --jobs 2, side by side.

Generates N submissions (default 40) spread over every lab of the course — a mix of correct
(the model solution typed in), partial (one exercise left as released) and broken (corrupted
JSON, or the untouched release) — grades them all with one worker, then again with two, into
fresh sqlite gradebooks, and prints a table: wall time, time per submission, speed-up, and
whether both runs recorded identical scores.

    .venv/bin/python benchmarks/grading_bench.py                # 40 submissions
    .venv/bin/python benchmarks/grading_bench.py -n 10 --jobs 1 2 4
    .venv/bin/python benchmarks/grading_bench.py --per-lab      # each lab's grading cost

``--per-lab`` instead grades every lab's solution notebooks one after another with
``labkit grade`` (sandbox as configured) and prints, per lab, the wall time and the CPU time of
the grader and everything it started (kernels included): what one submission costs an
instructor.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from labkit.grading import grade_class
from labkit.grading._paths import course_root, lab_dirs
from labkit.loadguard import guarded

KINDS = ["correct", "partial", "correct", "broken-json", "partial", "correct", "blank", "partial"]


def _solution_filled(source: dict, release: dict) -> dict:
    by_id = {
        c["metadata"]["nbgrader"]["grade_id"]: c
        for c in source["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    }
    nb = copy.deepcopy(release)
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in by_id:
            text = "".join(by_id[meta["grade_id"]]["source"])
            cell["source"] = "\n".join(
                ln for ln in text.splitlines() if "### BEGIN SOLUTION" not in ln
                and "### END SOLUTION" not in ln
            )  # fmt: skip
    return nb


def _partial(source: dict, release: dict, k: int) -> dict:
    """Everything solved except the k-th code exercise (left as released)."""
    nb = _solution_filled(source, release)
    code_solutions = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution")
    ]
    if code_solutions:
        i = code_solutions[k % len(code_solutions)]
        nb["cells"][i] = copy.deepcopy(release["cells"][i])
    return nb


def generate(
    root: Path, n: int, labs: list[str] | None = None, kinds: Sequence[str] = KINDS
) -> dict[str, int]:
    """Write ``n`` submissions under ``root`` as <student>/<lab>/<notebook>.ipynb, labs (default:
    every built lab) and kinds (correct, partial, blank, anything else half a file) in turn."""
    course = course_root()
    if labs is None:
        labs = [d.name for d in lab_dirs(course) if list(d.glob("*.ipynb"))]
    counts: dict[str, int] = {}
    for i in range(n):
        lab, kind = labs[i % len(labs)], kinds[(i // len(labs)) % len(kinds)]
        student = f"student{i // len(labs):02d}"
        for source_path in sorted((course / "solutions" / lab).glob("*.ipynb")):
            release_text = (course / "notebooks" / lab / source_path.name).read_text()
            source, release = json.loads(source_path.read_text()), json.loads(release_text)
            target = root / student / lab / source_path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if kind == "correct":
                target.write_text(json.dumps(_solution_filled(source, release)))
            elif kind == "partial":
                target.write_text(json.dumps(_partial(source, release, i)))
            elif kind == "blank":
                target.write_text(release_text)
            else:  # corrupt: half a file
                target.write_text(release_text[: len(release_text) // 2])
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def per_lab() -> int:
    """Wall and CPU seconds of `labkit grade` on each lab's solution notebooks."""
    print(f"{'lab':<18}{'notebooks':>10}{'score':>12}{'wall s':>9}{'CPU s':>8}{'CPU/wall':>10}")
    for lab in lab_dirs(course_root()):
        notebooks = sorted(lab.glob("*.ipynb"))
        wall = cpu = score = max_score = 0.0
        for nb in notebooks:
            cpu0, start = _children_cpu_s(), time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "labkit.cli", "grade", str(nb), "--json"],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            wall += time.perf_counter() - start
            cpu += _children_cpu_s() - cpu0
            report = json.loads(done.stdout)
            score += report["score"]
            max_score += report["max_score"]
        print(f"{lab.name:<18}{len(notebooks):>10}{f'{score:g}/{max_score:g}':>12}{wall:>9.1f}"
              f"{cpu:>8.1f}{cpu / wall:>10.2f}")  # fmt: skip
    return 0


@guarded
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--submissions", type=int, default=40)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--per-lab", action="store_true", help="each lab's `labkit grade` cost")
    args = parser.parse_args(argv)
    if args.per_lab:
        return per_lab()
    rows = []
    with tempfile.TemporaryDirectory(prefix="labkit-grading-bench-") as tmp:
        tmp_path = Path(tmp)
        counts = generate(tmp_path / "submitted", args.submissions)
        print(f"{args.submissions} submissions: {counts}", file=sys.stderr)
        scores = {}
        for jobs in args.jobs:
            db = f"sqlite:///{tmp_path / f'jobs{jobs}.db'}"
            start = time.perf_counter()
            report = grade_class(
                tmp_path / "submitted", jobs=jobs, db_url=db, out=tmp_path / f"out{jobs}",
                progress=True, keep_autograded=False,
            )  # fmt: skip
            wall = time.perf_counter() - start
            executed = [r.seconds for r in report.results if r.status == "graded"]
            scores[jobs] = {(r.student, r.lab): r.score for r in report.results}
            rows.append((jobs, wall, len(report.results), executed, report))
    base = rows[0][1]
    print(f"\nlabkit grade-class, {args.submissions} submissions, {platform.processor() or ''} "
          f"{platform.machine()}, Python {platform.python_version()}")  # fmt: skip
    print(f"{'jobs':>4} {'wall s':>8} {'s/submission':>13} {'worker s (median)':>18} "
          f"{'speed-up':>9} {'same scores':>12}")  # fmt: skip
    for jobs, wall, n, executed, _ in rows:
        median = statistics.median(executed) if executed else float("nan")
        same = scores[jobs] == scores[rows[0][0]]
        print(f"{jobs:>4} {wall:>8.1f} {wall / n:>13.2f} {median:>18.1f} {base / wall:>8.2f}x "
              f"{same!s:>12}")  # fmt: skip
    first = scores[rows[0][0]]
    for jobs, *_ in rows[1:]:
        for key in sorted(first):
            if scores[jobs].get(key) != first[key]:
                print(
                    f"  differs with --jobs {jobs}: {key}: {first[key]} vs {scores[jobs].get(key)}"
                )
    statuses = {}
    for r in rows[0][4].results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    print(f"outcomes: {statuses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
