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


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a torch that sees no GPU")
def test_doctor_fails_loudly_when_torch_cannot_use_the_drivers_gpu(tmp_path):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho '| NVIDIA-SMI 580.159.03   CUDA Version: 13.0 |'\n")
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env["PATH"] = f"{tmp_path}{os.pathsep}{env['PATH']}"
    result = run("doctor", env=env)
    assert result.returncode == 1
    assert "NVIDIA driver" in result.stdout and "supports CUDA 13.0" in result.stdout
    assert f"torch {torch.__version__} (CPU build) cannot use it" in result.stderr
    # the same machine with its GPUs hidden on purpose is a CPU machine, not a broken one
    assert run("doctor", env={**env, "CUDA_VISIBLE_DEVICES": ""}).returncode == 0
    assert json.loads(run("doctor", "--json", env=env).stdout)["nvidia_driver_cuda"] == "13.0"


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
