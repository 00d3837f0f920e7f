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


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a torch that sees no GPU")
def test_a_gpu_torch_cannot_use_is_a_loud_failure(tmp_path):
    """nvidia-smi answers but torch sees no device (a CPU build on a GPU host): exit 1, saying so."""
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho '| NVIDIA-SMI 580.159.03  Driver Version: 580.159.03  "
                    "CUDA Version: 13.0 |'\n")  # fmt: skip
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    env["PATH"] = f"{tmp_path}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "nvidia-smi sees a GPU (driver for CUDA 13.0)" in result.stderr
    assert "the install is broken" in result.stderr and "_cuda_stack.py" in result.stderr


# What the lent GPU image lacks (it has torch, NumPy, SciPy, scikit-learn, matplotlib, tqdm, ONNX
# and a CPU onnxruntime): hidden here by a finder, with the venv's editable labkit removed, so the
# script must find the checkout's labkit itself and skip what needs a missing package.
BARE_SITECUSTOMIZE = """
import sys
BLOCKED = {"array_api_compat", "starlette", "uvicorn", "river", "nbgrader", "jupytext", "nbclient",
           "nbformat", "ipykernel", "jupyter_client", "jupyterlab", "traitlets", "kubernetes",
           "psycopg2", "cupy"}
sys.meta_path[:] = [f for f in sys.meta_path
                    if not getattr(f, "__module__", "").startswith("__editable__")]
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name.split(".")[0])
sys.meta_path.insert(0, Blocker())
"""


@pytest.mark.slow
def test_smoke_run_in_a_bare_interpreter_without_labkit(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BARE_SITECUSTOMIZE)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    probe = subprocess.run(
        [sys.executable, "-c", "import labkit"], cwd=tmp_path, env=env, capture_output=True
    )
    assert probe.returncode != 0  # the simulation hides the installed labkit
    out = tmp_path / "rows.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--smoke-cpu",
         "--only", "timing,cupy,ort,drift,latency", "--json", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {r["check"]: r for r in json.loads(out.read_text())}
    assert rows["drift"] == {"check": "drift", "status": "skip", "figure": "-",
                             "note": "skipped: array_api_compat not installed"}  # fmt: skip
    assert rows["ORT CPU"]["status"] == "ok" and rows["latency ORT CPU batch 1"]["status"] == "ok"
    assert "Traceback" not in result.stderr


def test_one_librarys_error_leaves_the_other_drift_rows(monkeypatch):
    spec = importlib.util.spec_from_file_location("drift_gpu", ROOT / "benchmarks" / "drift_gpu.py")
    drift_gpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(drift_gpu)

    class BrokenCupy:  # a CuPy whose first GPU call fails, as a mismatched CUDA build does
        @staticmethod
        def asarray(a):
            raise RuntimeError("libcublas.so.12: cannot open shared object file")

    libraries = {"torch cpu": torch.as_tensor, "CuPy": BrokenCupy.asarray}
    monkeypatch.setattr(drift_gpu, "_libraries", lambda device: libraries)
    rows = {r[0]: r for r in drift_gpu.drift_rows(torch.device("cpu"), smoke=True)}
    assert rows["drift stats on torch cpu"][1] == "ok"
    assert rows["KS per feature torch cpu"][1] == "ok"
    for check in ("drift stats on CuPy", "MMD test CuPy", "KS per feature CuPy"):
        assert rows[check][1:3] == ("FAIL", "RuntimeError"), rows[check]


def _gpu_labs():
    spec = importlib.util.spec_from_file_location("gpu_labs", ROOT / "benchmarks" / "gpu_labs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_prepared_device_command_runs_a_lab_in_a_bare_interpreter(tmp_path):
    """benchmarks/gpu_labs.py with the lent image's packages missing: lab 00's solution runs as a
    script at graded sizes and its results come back as headline figures."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BARE_SITECUSTOMIZE)
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_labs.py"), "--smoke-cpu",
         "--only", "00_orientation", "--skip-gpu-check", "--out", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "gpu_labs.json").read_text())
    (run,) = report["notebooks"]
    assert run["notebook"] == "00_orientation" and run["status"] == "ok"
    assert run["figures"]["lab"] == "00_orientation" and run["figures"]["device"] == "cpu"
    assert "00_orientation  ok" in result.stdout


def test_prepared_device_command_refuses_an_unknown_lab(capsys):
    with pytest.raises(SystemExit) as info:
        _gpu_labs().main(["--only", "99_warp_drive"])
    assert info.value.code == 2 and "unknown lab(s) ['99_warp_drive']" in capsys.readouterr().err


def test_headline_flattens_scalars_and_reports_an_unreadable_results_file(tmp_path):
    gpu_labs = _gpu_labs()
    assert gpu_labs.headline({"a": {"b": 1.23456, "c": [1]}, "d": "x" * 50, "e": True}) == {
        "a.b": 1.2346,
        "e": True,
    }
    (tmp_path / "broken.py").write_text(
        "open('x_results.json', 'w').write('{\"half\": ')\nraise SystemExit('stopped')\n"
    )
    run = gpu_labs.run_notebook(tmp_path / "broken.py", tmp_path, dict(os.environ), limit_s=60)
    assert run.status == "FAIL" and run.error == "stopped"
    assert run.figures == {"x_results.json": "unreadable (JSONDecodeError)"}
