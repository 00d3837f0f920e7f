"""The session's Binder-built environment (see install_env.py), shared by the install tests."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from install_env import CourseEnv, build, interpreter, runtime_version


@pytest.fixture(scope="session")
def course_env(tmp_path_factory) -> CourseEnv:
    python = interpreter(runtime_version())
    if python is None:
        pytest.skip(f"no python{runtime_version()} here, the interpreter binder/runtime.txt names")
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "labkit-binder-env"
    with open(shared / "labkit-binder-env.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other worker waits for the one build
        ready = root / "ready.json"
        if not ready.exists():
            if root.exists():
                shutil.rmtree(root)
            root.mkdir()
            seconds = build(root, python)
            ready.write_text(json.dumps({"build_seconds": seconds}))
        seconds = json.loads(ready.read_text())["build_seconds"]
    return CourseEnv(root / "venv", root / "src", seconds)
