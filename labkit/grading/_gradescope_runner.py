"""Gradescope's ``run_autograder``: grade the submitted notebooks, write ``results.json``.

:mod:`labkit.grading._autograder_export` copies this file into the autograder zip as
``run_autograder``. It runs under whatever ``python3`` the grader image has (standard library
only, no labkit import) and calls ``labkit grade --json`` once per submitted notebook; the lab's
expected test cells come from ``autograder.json`` (written at export time), so a missing or broken
submission still gets every test listed, at 0, and a message saying why.

What a learner sees: each test cell's score and a sentence on how to find what failed; never the
hidden tests' source, their tracebacks or the grader's own output (``stdout_visibility`` hidden).

Paths follow Gradescope's layout under ``AUTOGRADER_ROOT`` (default ``/autograder``):
``source/`` (the unpacked zip), ``submission/``, ``results/results.json``. ``LABKIT_VENV``
(default ``/opt/labkit``, where ``setup.sh`` installs) is put first on ``PATH`` when it exists.

Examples
--------
>>> spec = {"lab": "00_orientation", "visibility": "visible", "manual_points": 0.0,
...         "tests": [{"grade_id": "00_orientation_a_test", "max_score": 2.0}]}
>>> report = {"lab": "00_orientation", "score": 2.0, "max_score": 2.0, "tests": [
...     {"grade_id": "00_orientation_a_test", "score": 2.0, "max_score": 2.0}]}
>>> out = results(spec, [("a.ipynb", report)], [])
>>> out["score"], out["tests"][0]["status"]
(2.0, 'passed')
>>> results(spec, [], ["no notebook (.ipynb) in the submission"])["score"]
0.0
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

SPEC_NAME = "autograder.json"
GRADE_TIMEOUT_S = 3600  # one notebook; Gradescope's own timeout stops the whole run earlier

FAILED = (
    "lost marks: run this exercise's test cell in your notebook: a failing visible check shows "
    "there; if they all pass, the hidden checks failed (fresh random inputs and edge cases "
    "against an independent reference), so make the solution right in general"
)
NOT_GRADED = "not graded: no notebook in the submission that could be graded contains this test"


def _paths() -> tuple[Path, Path, Path]:
    root = Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    return root / "source", root / "submission", root / "results" / "results.json"


def _environment(source: Path) -> dict[str, str]:
    env = dict(os.environ)
    venv_bin = Path(env.get("LABKIT_VENV", "/opt/labkit")) / "bin"
    if venv_bin.is_dir():
        env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("LABKIT_COURSE_ROOT", str(source / "course"))
    return env


def submitted_notebooks(submission: Path) -> list[Path]:
    """Every notebook a learner uploaded, in any folder, checkpoints left out."""
    if not submission.is_dir():
        return []
    found = submission.rglob("*.ipynb")
    return sorted(p for p in found if ".ipynb_checkpoints" not in p.parts and p.is_file())


def grade_notebook(path: Path, env: dict[str, str]) -> tuple[dict[str, Any] | None, str]:
    """``labkit grade --json`` on one notebook: (its report, "") or (None, why it failed)."""
    try:
        run = subprocess.run(
            ["labkit", "grade", "--json", str(path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=GRADE_TIMEOUT_S,
        )
    except FileNotFoundError:
        return None, "the grader is not installed (labkit not found on PATH)"
    except subprocess.TimeoutExpired:
        return None, f"grading took longer than {GRADE_TIMEOUT_S} s"
    # the grader's own output is for the instructor (results/stdout), never for the learner
    print(f"--- labkit grade {path.name}: exit {run.returncode}\n{run.stderr.strip()}")
    lines = [ln for ln in run.stderr.strip().splitlines() if ln.startswith("labkit grade:")]
    if run.returncode != 0:
        why = lines[-1].removeprefix("labkit grade:").strip() if lines else ""
        return None, why or f"the grader stopped (exit status {run.returncode})"
    for line in reversed(run.stdout.splitlines()):
        try:
            report = json.loads(line)
        except ValueError:
            continue
        if isinstance(report, dict) and isinstance(report.get("tests"), list):
            return report, ""
    return None, "the grader printed no report"


def results(
    spec: dict[str, Any], reports: list[tuple[str, dict[str, Any]]], problems: list[str]
) -> dict[str, Any]:
    """Gradescope's results object from the graded notebooks' reports and what went wrong."""
    best: dict[str, float] = {}
    notes = list(problems)
    for name, report in reports:
        if report.get("lab") != spec["lab"]:
            notes.append(f"{name}: a notebook of lab {report.get('lab')}, not {spec['lab']}")
            continue
        notes.append(f"{name}: {report['score']:g} / {report['max_score']:g} autograded points")
        for test in report["tests"]:
            grade_id, score = test["grade_id"], float(test["score"])
            best[grade_id] = max(score, best.get(grade_id, 0.0))
    tests = []
    for expected in spec["tests"]:
        grade_id, max_score = expected["grade_id"], float(expected["max_score"])
        score = min(best.get(grade_id, 0.0), max_score)
        passed = grade_id in best and score >= max_score
        tests.append(
            {
                "name": grade_id,
                "score": score,
                "max_score": max_score,
                "status": "passed" if passed else "failed",
                "visibility": spec["visibility"],
                "output": "passed" if passed else (FAILED if grade_id in best else NOT_GRADED),
            }
        )
    if spec.get("manual_points"):
        notes.append(
            f"the written answers ({spec['manual_points']:g} points) are graded by hand, later"
        )
    return {
        "score": float(sum(t["score"] for t in tests)),
        "output": "\n".join(notes),
        "visibility": spec["visibility"],
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def write_results(target: Path, data: dict[str, Any]) -> None:
    """Write ``results.json`` whole or not at all (temporary file, then rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".results-", suffix=".json", dir=target.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    os.replace(tmp, target)


def main() -> int:
    source, submission, target = _paths()
    try:
        spec = json.loads((source / SPEC_NAME).read_text(encoding="utf-8"))
        env = _environment(source)
        reports, problems = [], []
        notebooks = submitted_notebooks(submission)
        if not notebooks:
            expected = ", ".join(spec.get("notebooks", [])) or "the lab's notebook"
            problems.append(f"no notebook (.ipynb) in the submission: upload {expected}")
        for path in notebooks:
            name = str(path.relative_to(submission))
            report, why = grade_notebook(path, env)
            if report is None:
                problems.append(f"{name}: could not be graded: {why}")
            else:
                reports.append((name, report))
        data = results(spec, reports, problems)
    except Exception:  # the learner gets a score and a message, the instructor the traceback
        traceback.print_exc(file=sys.stdout)
        data = {
            "score": 0.0,
            "output": "the autograder itself failed; your instructor can see why",
            "stdout_visibility": "hidden",
            "tests": [],
        }
    write_results(target, data)
    print(json.dumps({"score": data["score"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
