"""`labkit grade-class`: parallel, resumable class grading into sqlite and PostgreSQL gradebooks.

Submissions are lab 00's own notebooks (the solution scores full marks, the untouched release 0,
as the course end-to-end test establishes with plain nbgrader), plus broken ones.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from labkit.grading._classexport import export, records
from labkit.grading._paths import course_root
from labkit.grading.classgrade import ClassReport, grade_class

ROOT = course_root()
LAB = "00_orientation"
SOLUTION = ROOT / "solutions" / LAB / f"{LAB}.ipynb"
RELEASE = ROOT / "notebooks" / LAB / f"{LAB}.ipynb"
ANSWER = f"{LAB}_answer"


def _full_marks() -> float:
    cells = json.loads(SOLUTION.read_text())["cells"]
    return sum(
        float(c["metadata"]["nbgrader"]["points"])
        for c in cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade")
        and not c["metadata"]["nbgrader"].get("solution")
    )


def _class(tmp_path: Path, students: dict[str, str]) -> Path:
    """Submissions folder: student -> 'solution' | 'release' | 'renamed' | 'corrupt' | 'empty'."""
    root = tmp_path / "submitted"
    for student, kind in students.items():
        folder = root / student / LAB
        folder.mkdir(parents=True)
        if kind == "solution":
            shutil.copyfile(SOLUTION, folder / SOLUTION.name)
        elif kind == "release":
            shutil.copyfile(RELEASE, folder / RELEASE.name)
        elif kind == "renamed":  # saved under another name: matched by its graded cells
            shutil.copyfile(RELEASE, folder / "my copy of lab 0.ipynb")
        elif kind == "corrupt":
            (folder / RELEASE.name).write_text('{"cells": [{"cell_type": "code", "sour')
        elif kind == "empty":  # no lab notebook, only an unrelated one
            (folder / "notes.ipynb").write_text(json.dumps({"cells": [], "metadata": {}}))
    (root / "carol" / "99_not_a_lab").mkdir(parents=True, exist_ok=True)  # ignored
    return root


def _by_student(report: ClassReport) -> dict[str, tuple[str, float]]:
    return {r.student: (r.status, r.score) for r in report.results}


def _csv(path: str) -> dict[str, dict[str, str]]:
    with open(path, newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


@pytest.mark.course
@pytest.mark.slow
def test_class_sqlite_parallel_resumable_with_manual_scores(tmp_path):
    full = _full_marks()
    subs = _class(
        tmp_path, {"alice": "solution", "bob": "renamed", "carol": "corrupt", "dave": "empty"}
    )
    db = f"sqlite:///{tmp_path / 'class.db'}"
    out = tmp_path / "grades"
    report = grade_class(subs, jobs=2, db_url=db, out=out, progress=False)
    got = _by_student(report)
    assert got == {
        "alice": ("graded", full),
        "bob": ("graded", 0.0),
        "carol": ("invalid", 0.0),
        "dave": ("invalid", 0.0),
    }, report
    assert "not valid notebook JSON" in next(
        r.error for r in report.results if r.student == "carol"
    )
    assert all(r.max_score == full for r in report.results)

    rows = _csv(report.files["grades_csv"])
    assert float(rows["alice"]["auto_score"]) == full and float(rows["bob"]["auto_score"]) == 0
    assert rows["alice"]["needs_manual_grade"] == "True"  # the written answer awaits a person
    stats = {s["grade_id"]: s for s in json.loads(Path(report.files["exercises_json"]).read_text())}
    test_ids = [g for g in stats if g != ANSWER]
    assert test_ids and all(stats[g]["mean"] == stats[g]["max_score"] / 4 for g in test_ids)
    assert all(stats[g]["full_marks_share"] == 0.25 for g in test_ids)
    assert stats[ANSWER]["kind"] == "manual" and stats[ANSWER]["scored"] == 3  # alice pending
    assert Path(report.files["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "autograded" / "alice" / LAB / SOLUTION.name).exists()
    # feedback as nbgrader's generate_feedback lays it out, the renamed notebook under its lab name
    feedback = sorted(p.relative_to(out).as_posix() for p in (out / "feedback").rglob("*"))
    assert [p for p in feedback if p.endswith(".html")] == [
        f"feedback/{s}/{LAB}/{LAB}.html" for s in ("alice", "bob")
    ]

    # resumable: nothing changed -> nothing graded again
    again = grade_class(subs, jobs=2, db_url=db, out=out, progress=False)
    assert {r.status for r in again.results} == {"skipped"}, again
    # a newer submission is graded again, the others are not
    newer = subs / "bob" / LAB / "my copy of lab 0.ipynb"
    shutil.copyfile(SOLUTION, newer)
    os.utime(newer, (newer.stat().st_atime + 60, newer.stat().st_mtime + 60))
    third = grade_class(subs, jobs=2, db_url=db, out=out, progress=False)
    assert _by_student(third)["bob"] == ("graded", full)
    assert {r.status for r in third.results if r.student != "bob"} == {"skipped"}

    # an instructor grades the written answer with nbgrader's own gradebook API (formgrader's)
    from nbgrader.api import Gradebook

    with Gradebook(db) as gb:
        grade = gb.find_grade(ANSWER, LAB, LAB, "alice")
        assert grade.needs_manual_grade
        grade.manual_score = 3.0
        grade.needs_manual_grade = False
        gb.db.commit()
    files = export(db, out, [LAB])
    alice = _csv(files["grades_csv"])["alice"]
    assert float(alice["manual_score"]) == 3.0 and float(alice["score"]) == full + 3.0
    (row,) = [r for r in records(db, [LAB]) if r["student"] == "alice"]
    assert {c["grade_id"]: c["score"] for c in row["cells"]}[ANSWER] == 3.0


def test_cli_grade_class_json_and_bad_input(tmp_path):
    subs = _class(tmp_path, {"carol": "corrupt", "dave": "empty"})
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    cmd = [sys.executable, "-m", "labkit.cli", "grade-class", str(subs), "--jobs", "2"]
    result = subprocess.run(
        [*cmd, "--db", db, "--out", str(tmp_path / "out"), "--json"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {r["student"]: r["status"] for r in data["results"]} == {
        "carol": "invalid",
        "dave": "invalid",
    }
    assert Path(data["files"]["grades_csv"]).exists()
    bad = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "grade-class", str(tmp_path / "nope")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.startswith("labkit grade-class: ")
    with pytest.raises(ValueError, match="jobs must be an integer >= 1, got 0"):
        grade_class(subs, jobs=0)
    with pytest.raises(ValueError, match="99_nope"):
        grade_class(subs, labs=["99_nope"])


def test_grade_class_checks_argument_types(tmp_path):
    """``jobs=True`` is a mistake, not one job; a NumPy count is a count."""
    subs = tmp_path / "submitted"
    subs.mkdir()
    with pytest.raises(TypeError, match=r"jobs must be an integer >= 1, got True \(bool\)"):
        grade_class(subs, jobs=True)
    with pytest.raises(TypeError, match=r"jobs must be an integer >= 1, got 2\.0 \(float\)"):
        grade_class(subs, jobs=2.0)
    with pytest.raises(TypeError, match="sandbox must be True or False, got 'no'"):
        grade_class(subs, sandbox="no")
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    report = grade_class(
        subs, jobs=np.int64(2), db_url=db, out=tmp_path / "out", progress=False, sandbox=False
    )
    assert report.results == () and report.jobs == 2 and type(report.jobs) is int


@pytest.fixture
def pg_url():
    """A fresh database on the PostgreSQL server named by LABKIT_TEST_PG_URL, dropped after."""
    base = os.environ.get("LABKIT_TEST_PG_URL")
    if not base:
        pytest.skip("LABKIT_TEST_PG_URL is not set (CI starts a PostgreSQL server, .ci/run)")
    import sqlalchemy as sa

    name = f"labkit_class_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.course
@pytest.mark.slow
@pytest.mark.postgres
def test_class_postgresql_gradebook(tmp_path, pg_url):
    full = _full_marks()
    subs = _class(tmp_path, {"alice": "solution", "carol": "corrupt"})
    report = grade_class(subs, jobs=2, db_url=pg_url, out=tmp_path / "out", progress=False)
    assert _by_student(report) == {"alice": ("graded", full), "carol": ("invalid", 0.0)}
    assert "***@" in json.dumps(report.to_dict())  # the password never reaches an export

    from nbgrader.api import Gradebook

    with Gradebook(pg_url) as gb:
        assert {s.id for s in gb.students} == {"alice", "carol"}
        assert gb.find_submission(LAB, "alice").score == full
        grade = gb.find_grade(ANSWER, LAB, LAB, "alice")
        grade.manual_score = 4.0
        gb.db.commit()
    again = grade_class(subs, jobs=2, db_url=pg_url, out=tmp_path / "out", progress=False)
    assert {r.status for r in again.results} == {"skipped"}
    assert float(_csv(again.files["grades_csv"])["alice"]["score"]) == full + 4.0
