"""benchmarks/gpu_check on a machine without a GPU: a clear message, exit 0; the CPU smoke run."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check"


def _run(*args, env=None, timeout=300):
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
             **(env or {})},
    )  # fmt: skip


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_wrapper_is_executable():
    assert os.access(SCRIPT, os.X_OK)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CPU-only behaviour")
def test_without_a_gpu_it_says_so_and_exits_cleanly():
    result = _run(env={"CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode == 0, result.stderr
    assert "no CUDA device is visible" in result.stdout and "nothing to check" in result.stdout
    assert result.stderr == ""


def test_unknown_check_names_are_refused(capsys):
    for flag in ("--skip", "--only"):
        with pytest.raises(SystemExit) as info:
            _module().main([flag, "warp-drive"])
        assert info.value.code == 2 and "unknown check" in capsys.readouterr().err


def test_other_labs_gpu_scripts_become_checks():
    module = _module()
    for path in (ROOT / "benchmarks").glob("*_gpu.py"):
        assert path.stem.removesuffix("_gpu") in module.CHECKS


@pytest.mark.slow
def test_cpu_smoke_run_prints_a_table_without_failures(tmp_path, capsys):
    out = tmp_path / "rows.json"
    only = "matmul,bandwidth,timing,amp,memory,cupy,ort"  # compile and DDP have their own tests
    code = _module().main(["--smoke-cpu", "--only", only, "--json", str(out)])
    stdout = capsys.readouterr().out
    assert code == 0, stdout
    rows = json.loads(out.read_text())
    by_check = {r["check"]: r for r in rows}
    assert all(r["status"] in ("ok", "skip") for r in rows), rows
    for expected in ("matmul fp32", "memory bandwidth", "train fp32", "train bf16",
                     "activation checkpointing", "ORT CPU", "DLPack torch<->NumPy (CPU)"):  # fmt: skip
        assert by_check[expected]["status"] == "ok", by_check.get(expected)
    assert by_check["train fp16"]["status"] == "skip"  # fp16 + GradScaler is CUDA-only
    lines = stdout.splitlines()
    assert "load average at start" in lines[0]  # the load guard's header comes first
    assert "0 failed" in stdout and "check" in lines[3]
