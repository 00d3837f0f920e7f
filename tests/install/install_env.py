"""Helpers of the install tests: one fresh environment built the way Binder (repo2docker) builds it, shared by the install tests.

``binder/runtime.txt`` picks the interpreter; ``pip install --no-cache-dir -r
binder/requirements.txt`` runs from a copy of the repository, so its ``.`` line builds and
installs labkit non-editably, exactly the wheel a learner gets. Under xdist the workers of one
run share it (a file lock, the first worker builds). What this machine cannot reproduce: Docker,
and download.pytorch.org (the requirements' extra index; pip tries it once, then takes the CPU
build of the pinned torch from the indexes it does reach).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COPIED = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "nbgrader_config.py")
COPIED_DIRS = ("labkit", "notebooks", "solutions", "binder")


@dataclass(frozen=True)
class CourseEnv:
    """The Binder-built venv: its interpreter, its ``labkit`` script, and how it was built."""

    venv: Path
    source: Path
    build_seconds: float

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def labkit(self) -> Path:
        return self.venv / "bin" / "labkit"

    def env(self, home: Path) -> dict[str, str]:
        """Environment for a learner's command: no checkout or course override in sight."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "VIRTUAL_ENV"))}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["HOME"] = str(home)
        env.pop("NBGRADER_EXECUTION", None)
        env.pop("PYTHONPATH", None)
        return env


def runtime_version() -> str:
    """The Python version binder/runtime.txt asks for, e.g. ``3.11``."""
    text = (REPO / "binder" / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", text)
    assert match, f"binder/runtime.txt should read python-X.Y, not {text!r}"
    return match.group(1)


def interpreter(version: str) -> str | None:
    found = shutil.which(f"python{version}")
    if found:
        return found
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return getattr(sys, "_base_executable", sys.executable)
    return None


def copy_source(target: Path) -> Path:
    """The files a build reads, copied so building never writes into the checkout."""
    target.mkdir(parents=True)
    for name in COPIED:
        shutil.copy2(REPO / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*_results.json")
    for name in COPIED_DIRS:
        shutil.copytree(REPO / name, target / name, ignore=ignore)
    return target


def build(root: Path, python: str) -> float:
    start = time.perf_counter()
    source = copy_source(root / "src")
    subprocess.run([python, "-m", "venv", str(root / "venv")], check=True, timeout=120)
    pip = [str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "--no-cache-dir"]
    subprocess.run(
        [*pip, "--quiet", "--retries", "0", "--timeout", "15", "-r", "binder/requirements.txt"],
        cwd=source,
        check=True,
        timeout=900,
    )
    return time.perf_counter() - start
