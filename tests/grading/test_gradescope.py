"""`labkit export-autograder gradescope`: the zip, its wheel, and its `run_autograder` run for real.

The zip is unpacked into a folder laid out like Gradescope's image (`autograder/source`,
`submission`, `results`) and its own `run_autograder` grades lab 00's notebooks with this venv's
`labkit` on PATH (setup.sh would install from the network). Expected tests and points come from
the release notebook's nbgrader metadata, not from the exporter.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import labkit
from labkit.grading._autograder_export import export_autograder
from labkit.grading._gradescope_runner import FAILED, NOT_GRADED
from labkit.grading._paths import course_root

ROOT = course_root()
LAB = "00_orientation"
SOLUTION = ROOT / "solutions" / LAB / f"{LAB}.ipynb"
RELEASE = ROOT / "notebooks" / LAB / f"{LAB}.ipynb"
BIN = Path(sys.executable).parent


def _expected_tests() -> dict[str, float]:
    """grade_id -> points of every autograded test cell, read from the release notebook."""
    out = {}
    for cell in json.loads(RELEASE.read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and not meta.get("task"):
            out[meta["grade_id"]] = float(meta["points"])
    return out


def _hidden_lines() -> list[str]:
    """Non-trivial lines of the solution's hidden test blocks (what learners must never see)."""
    lines, inside = [], False
    for cell in json.loads(SOLUTION.read_text())["cells"]:
        for line in "".join(cell.get("source", "")).splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 12:
                lines.append(line.strip())
    return lines


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    return export_autograder("gradescope", LAB, tmp_path_factory.mktemp("export") / "ag.zip")


def _gradescope(tmp_path: Path, zip_path: Path, submission: dict[str, bytes] | None) -> Path:
    """An /autograder-like tree: the zip in source/, these files in submission/."""
    root = tmp_path / "autograder"
    (root / "results").mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):  # extractall drops the mode bits
        (root / "source" / name).chmod(0o755)
    if submission is not None:
        (root / "submission").mkdir()
        for name, data in submission.items():
            (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "submission" / name).write_bytes(data)
    return root


def _run_autograder(root: Path) -> dict:
    env = {
        **os.environ,
        "AUTOGRADER_ROOT": str(root),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "LABKIT_VENV": str(root / "no-venv-here"),
    }
    env.pop("LABKIT_COURSE_ROOT", None)  # the runner points it at source/course itself
    run = subprocess.run(
        [str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
        timeout=600, cwd=root,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads((root / "results" / "results.json").read_text())


def _check_shape(results: dict) -> None:
    expected = _expected_tests()
    assert [t["name"] for t in results["tests"]] == list(expected)
    for test in results["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "visibility", "output"}
        assert test["max_score"] == expected[test["name"]]
        assert 0 <= test["score"] <= test["max_score"]
        assert test["visibility"] == "visible"
    assert results["score"] == sum(t["score"] for t in results["tests"])
    assert results["stdout_visibility"] == "hidden"  # the grader's log is for the instructor
    text = json.dumps(results)
    leaked = [line for line in _hidden_lines() if line in text]
    assert not leaked, leaked


def test_zip_layout(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        setup = zf.read("setup.sh").decode()
        runner = zf.read("run_autograder").decode()
        spec = json.loads(zf.read("autograder.json"))
        solution = zf.read(f"course/solutions/{LAB}/{SOLUTION.name}")
    (wheel,) = [n for n in names if n.endswith(".whl")]
    assert names == {
        "setup.sh",
        "run_autograder",
        "autograder.json",
        wheel,
        "course/nbgrader_config.py",
        f"course/solutions/{LAB}/{SOLUTION.name}",
    }  # fmt: skip  (no jupytext source, results files or checkpoints)
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert runner.startswith("#!/usr/bin/env python3\n")
    assert solution == SOLUTION.read_bytes()
    assert subprocess.run(["bash", "-n"], input=setup, text=True).returncode == 0
    assert "apt-get install" in setup and "bubblewrap" in setup
    assert "download.pytorch.org/whl/cpu" in setup and f"./{wheel}[cpu]" in setup
    assert "labkit.grading._kernel install" in setup
    assert spec["lab"] == LAB and spec["notebooks"] == [SOLUTION.name]
    assert {t["grade_id"]: t["max_score"] for t in spec["tests"]} == _expected_tests()
    assert spec["manual_points"] > 0  # lab 00 ends with a written answer


def test_wheel_installs_this_labkit(autograder_zip, tmp_path):
    with zipfile.ZipFile(autograder_zip) as zf:
        (wheel,) = [n for n in zf.namelist() if n.endswith(".whl")]
        zf.extract(wheel, tmp_path)
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run([*pip, "--target", str(target), str(tmp_path / wheel)], check=True)
    assert (target / "bin" / "labkit").is_file()  # the console script from entry_points.txt
    package = Path(labkit.__file__).parent
    for path in package.rglob("*.py"):
        if "__pycache__" not in path.parts:
            copy = target / "labkit" / path.relative_to(package)
            assert (
                hashlib.sha256(copy.read_bytes()).digest()
                == hashlib.sha256(path.read_bytes()).digest()
            ), path
    where = subprocess.run(
        [sys.executable, "-c", "import labkit.grading._gradescope_runner as m; print(m.__file__)"],
        env={**os.environ, "PYTHONPATH": str(target)}, capture_output=True, text=True, check=True,
        cwd=tmp_path,
    )  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(target)


@pytest.mark.slow
def test_solution_scores_full_marks(autograder_zip, tmp_path):
    root = _gradescope(tmp_path, autograder_zip, {SOLUTION.name: SOLUTION.read_bytes()})
    results = _run_autograder(root)
    _check_shape(results)
    assert results["score"] == sum(_expected_tests().values())
    assert all(t["status"] == "passed" and t["output"] == "passed" for t in results["tests"])
    assert "graded by hand" in results["output"]


@pytest.mark.slow
def test_release_scores_zero_without_showing_hidden_tests(autograder_zip, tmp_path):
    # saved under another name and in a folder: found and matched by its graded cells
    root = _gradescope(tmp_path, autograder_zip, {"work/my lab.ipynb": RELEASE.read_bytes()})
    results = _run_autograder(root)
    _check_shape(results)
    assert results["score"] == 0
    assert all(t["status"] == "failed" and t["output"] == FAILED for t in results["tests"])


def test_corrupt_or_missing_submission_scores_zero_with_a_message(autograder_zip, tmp_path):
    corrupt = _gradescope(
        tmp_path / "a", autograder_zip, {SOLUTION.name: b'{"cells": [{"cell_type": "co'}
    )
    results = _run_autograder(corrupt)
    _check_shape(results)
    assert results["score"] == 0
    assert all(t["output"] == NOT_GRADED for t in results["tests"])
    assert f"{SOLUTION.name}: could not be graded: " in results["output"]
    assert "not valid notebook JSON" in results["output"]

    missing = _gradescope(tmp_path / "b", autograder_zip, None)  # no submission folder at all
    results = _run_autograder(missing)
    _check_shape(results)
    assert results["score"] == 0
    assert f"no notebook (.ipynb) in the submission: upload {SOLUTION.name}" in results["output"]


def test_cli_exports_and_refuses_bad_input(tmp_path):
    labkit_cli = str(BIN / "labkit")
    ok = subprocess.run(
        [labkit_cli, "export-autograder", "gradescope", LAB, "--visibility", "after_due_date",
         "-o", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    made = tmp_path / f"{LAB}_gradescope.zip"
    assert ok.stdout.strip() == f"wrote {made}"
    with zipfile.ZipFile(made) as zf:
        assert json.loads(zf.read("autograder.json"))["visibility"] == "after_due_date"
    for argv, word in (
        (["gradescope", "99_nope"], "lab must be one of '00_orientation'"),
        (["moodle", LAB], "target must be one of 'gradescope'"),
        (["gradescope", LAB, "--visibility", "never"], "visibility must be one of"),
    ):
        out = tmp_path / "bad" / "x.zip"
        bad = subprocess.run(
            [labkit_cli, "export-autograder", *argv, "-o", str(out)],
            capture_output=True, text=True, cwd=tmp_path,
        )  # fmt: skip
        assert bad.returncode == 2
        assert bad.stderr.startswith("labkit export-autograder: ") and word in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [made.name]


def test_runner_writes_a_result_when_its_own_spec_is_broken(tmp_path):
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    runner = Path(labkit.__file__).parent / "grading" / "_gradescope_runner.py"
    shutil.copyfile(runner, root / "source" / "run_autograder")
    (root / "source" / "autograder.json").write_text("{not json")
    run = subprocess.run(
        [sys.executable, str(root / "source" / "run_autograder")],
        env={**os.environ, "AUTOGRADER_ROOT": str(root)}, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "autograder itself failed" in results["output"]
    assert "JSONDecodeError" in run.stdout  # the traceback is in the instructor's log
