"""The grading sandbox's own contract: its arguments, its checks, and what happens without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import adversary as adv

from labkit.grading._paths import course_root
from labkit.grading.sandbox import SandboxUnavailable, command, ipc_folder, kernel_environment

ROOT = course_root()
LAB0 = "00_orientation"
BIN = str(Path(sys.executable).parent)


def test_kernel_keeps_no_secret_of_the_grader():
    env = {"PATH": "/usr/bin", "LABKIT_DB_URL": "postgresql://u:pw@h/db", "AWS_SECRET": "x",
           "JPY_PARENT_PID": "1", "NBGRADER_EXECUTION": "autograde", "LABKIT_KERNEL_CPU_S": "9"}  # fmt: skip
    kept = kernel_environment(env)
    assert "LABKIT_DB_URL" not in kept and "AWS_SECRET" not in kept
    # the parent's PID means nothing in the kernel's own PID namespace (ipykernel would exit)
    assert "JPY_PARENT_PID" not in kept
    assert kept["NBGRADER_EXECUTION"] == "autograde" and kept["HOME"] == "/tmp"


def test_command_names_the_bad_folder(tmp_path):
    with pytest.raises(ValueError, match=r"workdir=.*is not a folder"):
        command(["true"], workdir=tmp_path / "missing", ipc_dir=tmp_path)


def test_a_shared_folder_may_not_expose_the_course(tmp_path):
    for share in (ROOT, ROOT / "solutions", ROOT.parent):
        with pytest.raises(ValueError, match="overlaps the course"):
            command(["true"], workdir=tmp_path, ipc_dir=tmp_path,
                    env={"LABKIT_SANDBOX_SHARE": str(share)})  # fmt: skip


def test_masks_the_notebooks_of_the_working_folder(tmp_path):
    (tmp_path / "lab.ipynb").write_text("{}")
    argv = command(["true"], workdir=tmp_path, ipc_dir=tmp_path, env={})
    i = argv.index(str(tmp_path / "lab.ipynb"))
    assert argv[i - 2 : i] == ["--ro-bind", "/dev/null"]
    assert str(ROOT / "solutions") not in " ".join(argv)


def test_ipc_folder_must_be_private_and_ipc(tmp_path):
    conn = tmp_path / "kernel.json"
    conn.write_text(json.dumps({"transport": "tcp", "ip": "127.0.0.1"}))
    with pytest.raises(SandboxUnavailable, match="transport='tcp'"):
        ipc_folder(conn)
    conn.write_text(json.dumps({"transport": "ipc", "ip": str(tmp_path / "kernel")}))
    assert ipc_folder(conn) == tmp_path.resolve()
    (tmp_path / "kernel-other.json").write_text("{}")  # another kernel's signing key
    with pytest.raises(SandboxUnavailable, match="not private"):
        ipc_folder(conn)


def _no_bwrap_env() -> dict[str, str]:
    """The grader's environment on a machine without bubblewrap (nothing else on PATH)."""
    env = {k: v for k, v in os.environ.items() if k != "LABKIT_DB_URL"}
    env["PATH"] = BIN
    return env


def _labkit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def test_doctor_says_whether_the_sandbox_works():
    out = json.loads(_labkit("doctor", "--json", env=dict(os.environ)).stdout)
    assert set(out["grading_sandbox"]) == {"works", "detail"}
    missing = json.loads(_labkit("doctor", "--json", env=_no_bwrap_env()).stdout)
    assert missing["grading_sandbox"] == {
        "works": False,
        "detail": "bubblewrap is not installed (Debian/Ubuntu: apt install bubblewrap)",
    }


@pytest.mark.course
@pytest.mark.slow
def test_without_the_sandbox_grade_warns_and_grade_class_refuses(tmp_path):
    source = ROOT / "solutions" / LAB0 / f"{LAB0}.ipynb"
    nb = adv.filled(adv.load(source), adv.load(ROOT / "notebooks" / LAB0 / source.name))
    mine = adv.write(nb, tmp_path / "class" / "ada" / LAB0 / source.name)
    env = _no_bwrap_env()
    run = _labkit("grade", str(mine), "--json", env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [ln for ln in run.stderr.splitlines() if "without the sandbox" in ln]
    assert len(warnings) == 1, run.stderr
    assert json.loads(run.stdout)["score"] == 6.0
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    klass = [str(tmp_path / "class"), "--db", db, "--out", str(tmp_path / "grades"), "--json"]
    run = _labkit("grade-class", *klass, env=env)
    assert run.returncode == 2
    assert "sandbox cannot start" in run.stderr and "--no-sandbox" in run.stderr
    assert not (tmp_path / "gradebook.db").exists(), "a refused run must write nothing"
    # --no-sandbox goes ahead (a corrupted notebook keeps this cheap: no kernel is needed)
    mine.write_text("{ not json")
    run = _labkit("grade-class", *klass, "--no-sandbox", env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout)["results"][0]["status"] == "invalid"
