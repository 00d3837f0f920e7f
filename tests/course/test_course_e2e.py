"""End to end, for every lab that exists: build → release leaks nothing → the solution scores
full marks and the untouched release 0 under `nbgrader autograde` → feedback is written → for
the first lab, `labkit grade --json` reports exactly what the gradebook recorded (the same code
path for every lab; the adversarial suite runs `labkit grade` on every lab's notebooks)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.grading._paths import course_root, lab_dirs
from labkit.grading.course import _leaks

ROOT = course_root()
LABS = [d.name for d in lab_dirs(ROOT)]
BIN = str(Path(sys.executable).parent)


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("LABKIT_DB_URL", "NBGRADER_EXECUTION")}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    return env


def _nbgrader(*args, cwd):
    result = subprocess.run(
        [os.path.join(BIN, "nbgrader"), *args, "--force"],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _gradebook_scores(db_url, lab, notebook, student, source_nb):
    from nbgrader.api import Gradebook

    cells = json.loads(source_nb.read_text())["cells"]
    scores = {}
    with Gradebook(db_url) as gb:
        for cell in cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                g = gb.find_grade(meta["grade_id"], notebook, lab, student)
                scores[meta["grade_id"]] = (float(g.auto_score or 0), float(g.max_score))
    return scores


def test_every_lab_has_a_released_notebook():
    assert LABS, "no labs found under solutions/"
    for lab in LABS:
        assert list((ROOT / "notebooks" / lab).glob("*.ipynb")), lab


@pytest.mark.course
@pytest.mark.slow
@pytest.mark.parametrize("lab", LABS)
def test_lab_end_to_end(lab, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions" / lab, course / "solutions" / lab)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    _nbgrader("generate_assignment", lab, cwd=course)

    sources = sorted((ROOT / "solutions" / lab).glob("*.ipynb"))
    for source in sources:
        released = course / "notebooks" / lab / source.name
        assert released.exists()
        assert _leaks(released, source) == []
        for student, nb in (
            ("solution", source),
            ("blank", ROOT / "notebooks" / lab / source.name),
        ):
            target = course / "submitted" / student / lab / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(nb, target)

    _nbgrader("autograde", lab, cwd=course)
    _nbgrader("generate_feedback", lab, cwd=course)
    db_url = f"sqlite:///{course / '.nbgrader' / 'gradebook.db'}"

    manual = []
    for source in sources:
        solution = _gradebook_scores(db_url, lab, source.stem, "solution", source)
        blank = _gradebook_scores(db_url, lab, source.stem, "blank", source)
        assert solution, f"{source.name} has no autograded test cells"
        assert {k: s for k, (s, _) in solution.items()} == {k: m for k, (_, m) in solution.items()}
        assert all(s == 0 for s, _ in blank.values()), blank
        assert (course / "feedback" / "solution" / lab / f"{source.stem}.html").stat().st_size > 0
        assert (course / "autograded" / "solution" / lab / f"{lab}_results.json").exists()

        manual += [
            c for c in json.loads(source.read_text())["cells"]
            if c["cell_type"] == "markdown" and c["metadata"].get("nbgrader", {}).get("grade")
        ]  # fmt: skip
        if lab != LABS[0]:
            continue  # one lab proves the contract; the adversarial suite runs `labkit grade` on all
        grade = subprocess.run(
            [sys.executable, "-m", "labkit.cli", "grade", str(source), "--json"],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert grade.returncode == 0, grade.stderr
        report = json.loads(grade.stdout)
        assert report["lab"] == lab
        assert {t["grade_id"]: (t["score"], t["max_score"]) for t in report["tests"]} == solution
        assert report["score"] == report["max_score"] == sum(m for _, m in solution.values())
        assert [m["grade_id"] for m in report["manual"]] == [
            c["metadata"]["nbgrader"]["grade_id"] for c in manual
        ]
    assert manual, "every lab ends with a manually graded written answer"
