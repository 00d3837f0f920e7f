"""`labkit start`'s workspace: copies the release, never overwrites a learner's edits.

A throwaway course (LABKIT_COURSE_ROOT) stands in for the release so a test can publish a new
version of a notebook; the real release is copied by tests/install/test_install.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import __version__
from labkit.start import MANIFEST, StartError, jupyter_command, sync

NAMES = ("00_intro/00_intro.ipynb", "01_next/01_next.ipynb")


def _publish(course: Path, rel: str, text: str) -> None:
    path = course / "notebooks" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def course(tmp_path, monkeypatch):
    root = tmp_path / "course"
    (root / "solutions").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("")
    for rel in NAMES:
        _publish(root, rel, f'{{"release": 1, "name": "{rel}"}}')
    monkeypatch.setenv("LABKIT_COURSE_ROOT", str(root))
    return root


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_first_start_copies_every_release_and_records_its_hash(course, tmp_path):
    ws = tmp_path / "ws"
    report = sync(ws)
    assert sorted(report.copied) == sorted(NAMES)
    for rel in NAMES:
        assert (ws / rel).read_bytes() == (course / "notebooks" / rel).read_bytes()
    record = json.loads((ws / MANIFEST).read_text())
    assert record["course"] == "labkit" and record["version"] == __version__
    assert set(record["files"]) == set(NAMES)
    again = sync(ws)
    assert (again.copied, again.updated, again.kept) == ([], [], [])
    assert sorted(again.unchanged) == sorted(NAMES)


def test_a_new_release_updates_untouched_notebooks_and_keeps_edited_ones(course, tmp_path):
    ws = tmp_path / "ws"
    sync(ws)
    edited, untouched = NAMES
    (ws / edited).write_text('{"my": "work"}')
    for rel in NAMES:
        _publish(course, rel, f'{{"release": 2, "name": "{rel}"}}')
    report = sync(ws)
    assert report.updated == [untouched] and report.kept == [edited]
    assert (ws / untouched).read_text() == (course / "notebooks" / untouched).read_text()
    assert (ws / edited).read_text() == '{"my": "work"}'
    beside = ws / Path(edited).with_name(f"00_intro.release-{__version__}.ipynb")
    assert beside.read_text() == (course / "notebooks" / edited).read_text()
    assert any("your edits" in line and str(beside.name) in line for line in report.lines())
    # the edit survives every later start, and the release beside it is not duplicated
    before = _tree(ws)
    assert sync(ws).kept == [edited]
    assert _tree(ws) == before


def test_an_edited_notebook_with_no_newer_release_is_left_alone(course, tmp_path):
    ws = tmp_path / "ws"
    sync(ws)
    (ws / NAMES[0]).write_text("mine")
    before = _tree(ws)
    report = sync(ws)
    assert report.kept == [] and report.updated == []
    assert _tree(ws) == before


def test_foreign_notebooks_with_our_names_are_refused_and_nothing_is_written(course, tmp_path):
    ws = tmp_path / "ws"
    (ws / "00_intro").mkdir(parents=True)
    (ws / NAMES[0]).write_text("someone else's notebook")
    before = _tree(ws)
    with pytest.raises(StartError, match="did not put there"):
        sync(ws)
    assert _tree(ws) == before


def test_another_courses_workspace_is_refused(course, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / MANIFEST).write_text(json.dumps({"course": "other", "files": {}}))
    with pytest.raises(StartError, match="another course"):
        sync(ws)
    assert sorted(p.name for p in ws.iterdir()) == [MANIFEST]
    (ws / MANIFEST).write_text("not json")
    with pytest.raises(StartError, match="not a labkit workspace record"):
        sync(ws)


def _cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "labkit.cli", "start", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=os.environ.copy(),
        timeout=120,
    )


def test_cli_bad_folders_exit_2_with_one_line(course, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    for target in (a_file, a_file / "sub", Path("/proc/self/labkit-course")):
        result = _cli("--no-server", str(target), cwd=tmp_path)
        assert result.returncode == 2, (target, result)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("labkit start: "), result.stderr
    assert a_file.read_text() == "keep me"


def test_cli_default_folder_is_labkit_course_in_the_current_folder(course, tmp_path):
    result = _cli("--no-server", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(_tree(tmp_path / "labkit-course")) == sorted([*NAMES, MANIFEST])


def test_jupyter_listens_on_localhost_with_its_token(tmp_path):
    cmd = jupyter_command(tmp_path, 9999)
    assert "--ServerApp.ip=127.0.0.1" in cmd and f"--ServerApp.root_dir={tmp_path}" in cmd
    assert not any("token" in arg.lower() for arg in cmd)  # Jupyter's own token stays on
    assert ("--ServerApp.allow_root=True" in cmd) == (os.geteuid() == 0)
