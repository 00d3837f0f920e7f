"""The `labkit` command line: doctor and the bad-input contract of `labkit grade`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

LABKIT = [sys.executable, "-m", "labkit.cli"]


def run(*args, cwd=None, env=None):
    return subprocess.run(
        [*LABKIT, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def test_doctor_prints_the_table_and_exits_0():
    result = run("doctor")
    assert result.returncode == 0, result.stderr
    for row in ("Python", "torch CUDA", "GPUs", "CuPy CUDA usable", "ORT providers that load"):
        assert row in result.stdout
    assert "nbgrader" in result.stdout and "jupyterlab" in result.stdout


def test_doctor_json_is_one_object():
    data = json.loads(run("doctor", "--json").stdout)
    assert data["torch"] == torch.__version__
    assert "CPUExecutionProvider" in data["ort_providers_loaded"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_doctor_reports_an_impossible_device_request():
    env = {**os.environ, "LABKIT_DEVICE": "cuda"}
    result = run("doctor", env=env)
    assert result.returncode == 0
    assert "CUDA is not available" in result.stdout


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    not_json = tmp_path / "notes.ipynb"
    not_json.write_text("this is not JSON")
    truncated = tmp_path / "truncated.ipynb"
    truncated.write_text('{"cells": [{"cell_type": "code", "source": ')
    foreign = tmp_path / "foreign.ipynb"
    foreign.write_text(
        json.dumps(
            {
                "cells": [{"cell_type": "code", "metadata": {}, "source": "1", "outputs": []}],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )
    return {
        "missing": tmp_path / "nope.ipynb",
        "directory": tmp_path,
        "not json": not_json,
        "corrupted": truncated,
        "foreign": foreign,
    }


@pytest.mark.parametrize("case", ["missing", "directory", "not json", "corrupted", "foreign"])
def test_grade_bad_input_is_one_line_exit_2_nothing_written(tmp_path, case):
    path = _bad_inputs(tmp_path)[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run("grade", str(path), "--feedback", str(tmp_path / "fb.html"), cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("labkit grade: "), result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_grade_class_bad_jobs_is_one_line_exit_2(tmp_path):
    result = run("grade-class", str(tmp_path), "--jobs", "0", "--no-sandbox", cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.strip() == "labkit grade-class: jobs must be an integer >= 1, got 0"
    assert result.stdout == ""
