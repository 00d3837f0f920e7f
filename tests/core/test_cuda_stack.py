"""The set-up's choice of torch / ONNX Runtime / CuPy builds, with the driver query faked, and the
`cuda` extras resolved by pip to one CUDA major each."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from labkit._cuda_stack import StackError, choose_stack, driver_cuda_version, torch_plan

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "labkit" / "_cuda_stack.py"

H200_BANNER = """\
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 580.159.03             Driver Version: 580.159.03     CUDA Version: 13.0     |
|-----------------------------------------+------------------------+----------------------+
"""


def fake_driver(tmp_path: Path, banner: str | None, exit_code: int = 0) -> dict[str, str]:
    """An environment whose PATH has an `nvidia-smi` printing ``banner`` (None: no nvidia-smi)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if banner is not None:
        exe = bin_dir / "nvidia-smi"
        exe.write_text(f"#!/bin/sh\ncat <<'EOF'\n{banner}EOF\nexit {exit_code}\n")
        exe.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_CUDA"}
    # keep the system's sh and cat, drop any real nvidia-smi
    env["PATH"] = f"{bin_dir}:/usr/bin:/bin"
    return env


def run_script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("banner", "variant", "extra"),
    [
        (H200_BANNER, "cu13", "cuda"),
        (H200_BANNER.replace("13.0", "13.2"), "cu13", "cuda"),
        (H200_BANNER.replace("13.0", "12.8"), "cu12", "cuda12"),
        (H200_BANNER.replace("13.0", "12.6"), "cu12", "cuda12"),
        (None, "cpu", "cpu"),
    ],
)
def test_script_picks_the_stack_from_the_driver(tmp_path, banner, variant, extra):
    env = fake_driver(tmp_path, banner)
    assert run_script(env, "variant").stdout.strip() == variant
    assert run_script(env, "extra").stdout.strip() == extra


def test_a_driver_that_fails_counts_as_none(tmp_path):
    env = fake_driver(tmp_path, "NVIDIA-SMI has failed because it couldn't communicate\n", 9)
    assert run_script(env, "variant").stdout.strip() == "cpu"


def test_too_old_driver_is_refused_with_what_to_install(tmp_path):
    env = fake_driver(tmp_path, H200_BANNER.replace("13.0", "11.8"))
    done = run_script(env, "variant")
    assert done.returncode == 2 and done.stdout == ""
    assert "CUDA 11.8" in done.stderr and "R560" in done.stderr and "LABKIT_CUDA=cpu" in done.stderr


def test_override_and_its_bad_value(tmp_path):
    env = fake_driver(tmp_path, H200_BANNER) | {"LABKIT_CUDA": "cpu"}
    assert run_script(env, "variant").stdout.strip() == "cpu"
    done = run_script(env | {"LABKIT_CUDA": "cuda"}, "variant")
    assert (
        done.returncode == 2 and "LABKIT_CUDA must be one of 'cpu', 'cu13', 'cu12'" in done.stderr
    )


def test_banner_parsing():
    assert driver_cuda_version(H200_BANNER) == (13, 0)
    assert driver_cuda_version("no version here") is None
    assert driver_cuda_version("") is None


def test_cuda12_takes_the_matching_pytorch_index():
    assert choose_stack((12, 9)).torch_args[-1] == "https://download.pytorch.org/whl/cu128"
    assert choose_stack((12, 6)).torch_args[-1] == "https://download.pytorch.org/whl/cu126"
    with pytest.raises(StackError):
        choose_stack((12, 4))


@pytest.mark.parametrize(
    ("variant_cuda", "present", "installed", "reinstall"),
    [
        ((13, 0), True, None, True),  # a venv built on a CPU machine, now on a GPU host
        ((13, 0), True, "12.8", True),  # a CUDA 12 torch under a CUDA 13 stack
        ((13, 0), True, "13.0", False),
        ((12, 8), True, "12.8", False),
        (None, True, None, False),  # CPU host, CPU torch
        (None, True, "13.0", True),  # CPU host with a CUDA torch: the lean CPU build instead
        ((13, 0), False, None, False),  # nothing to uninstall, just install
    ],
)
def test_torch_plan_replaces_a_wrong_build(variant_cuda, present, installed, reinstall):
    stack = choose_stack(variant_cuda)
    plan = torch_plan(stack, present, installed)
    assert (plan[:1] == [["uninstall", "--yes", "torch"]]) is reinstall
    needs_install = reinstall or not present
    assert bool(plan) is needs_install
    if needs_install:
        assert plan[-1][:2] == ["install", "--quiet"] and list(stack.torch_args) == plan[-1][2:]


def test_install_torch_keeps_a_matching_build(tmp_path):
    """In this venv (a CPU torch on a machine without a driver) the plan is empty: nothing runs."""
    env = fake_driver(tmp_path, None)
    done = run_script(env, "install-torch", sys.executable)
    assert done.returncode == 0 and "pip" not in done.stderr


def _extras() -> dict[str, list[str]]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def _cuda_majors(requirements: list[str]) -> set[str]:
    """The CUDA majors named by package names: ``cupy-cuda13x``, ``nvidia-*-cu12``, ..."""
    majors = set()
    for req in requirements:
        name = re.split(r"[<>=~!;\[ ]", req, maxsplit=1)[0].lower()
        if m := re.fullmatch(r"cupy-cuda(\d+)x", name) or re.search(r"-cu(\d+)$", name):
            majors.add(m.group(1))
    return majors


@pytest.mark.slow
@pytest.mark.parametrize(("extra", "major"), [("cuda", "13"), ("cuda12", "12")])
def test_cuda_extra_resolves_to_one_cuda_major(tmp_path, extra, major):
    """pip resolves the extra (a dry run, for this interpreter and platform) and every CUDA library
    it brings, ONNX Runtime's own CUDA requirements included, names the same major. For CUDA 13
    the torch the set-up installs from PyPI is resolved with it (the CUDA 12 torch comes from
    download.pytorch.org, which is not PyPI)."""
    requirements = list(_extras()[extra])
    if major == "13":
        requirements += choose_stack((13, 0)).torch_args
    report = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
    cmd += ["--report", str(report), "--only-binary=:all:", *requirements]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and "No matching distribution" not in done.stderr:
        if os.environ.get("CI") == "true":
            pytest.fail(f"pip could not resolve the {extra} extra:\n{done.stderr[-2000:]}")
        pytest.skip(f"the package index is not reachable: {done.stderr.strip()[-300:]}")
    assert done.returncode == 0, done.stderr[-2000:]
    resolved = json.loads(report.read_text())["install"]
    names = [item["metadata"]["name"] for item in resolved]
    # ONNX Runtime states its CUDA libraries under its own "cuda" extra
    ort = next(i for i in resolved if i["metadata"]["name"] == "onnxruntime-gpu")
    ort_cuda = [r for r in ort["metadata"].get("requires_dist", []) if 'extra == "cuda"' in r]
    assert ort_cuda, "onnxruntime-gpu no longer states its CUDA requirements"
    assert _cuda_majors(names + ort_cuda) == {major}, (names, ort_cuda)
    assert ("torch" in names) is (major == "13")
