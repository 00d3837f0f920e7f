"""`labkit grade-class --scheduler`: a real Dask scheduler and workers on loopback.

One class (a full-marks solution, an untouched release, a corrupt notebook) is graded once with
the local process pool and once on a two-worker Dask cluster, one worker being SIGKILLed while
it grades; the two gradebooks must agree cell by cell, each submission counted once. The
learners' feedback pages must exist and show no hidden-test source. Bad clusters (nobody
listening, a worker on another labkit version) are refused before anything is written.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from labkit.grading._paths import course_root
from labkit.grading.classgrade import ClassReport, grade_class

pytest.importorskip("distributed")

ROOT = course_root()
LAB = "00_orientation"
SOLUTION = ROOT / "solutions" / LAB / f"{LAB}.ipynb"
RELEASE = ROOT / "notebooks" / LAB / f"{LAB}.ipynb"
DASK = str(Path(sys.executable).with_name("dask"))
STUDENTS = {"alice": "solution", "bob": "release", "carol": "corrupt"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _class(root: Path) -> Path:
    for student, kind in STUDENTS.items():
        folder = root / student / LAB
        folder.mkdir(parents=True)
        if kind == "corrupt":
            (folder / RELEASE.name).write_text('{"cells": [{"cell_type": "code", "sour')
        else:
            shutil.copyfile(SOLUTION if kind == "solution" else RELEASE, folder / RELEASE.name)
    return root


class Cluster:
    """A ``dask scheduler`` and ``dask worker`` processes, each in its own process group."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.procs: list[subprocess.Popen] = []
        self.workers: dict[str, tuple[subprocess.Popen, Path]] = {}
        port = self.address.rsplit(":", 1)[1]
        self._start(
            "scheduler",
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", port,
             "--dashboard-address", "127.0.0.1:0"],
            os.environ,
        )  # fmt: skip

    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()
        self.procs.append(proc)
        return proc

    def add_worker(self, name: str, *extra: str) -> Path:
        """Start a worker whose temporary files go to its own folder; returns that folder."""
        scratch = self.tmp / f"tmp-{name}"
        scratch.mkdir()
        env = {**os.environ, "TMPDIR": str(scratch)}
        argv = [DASK, "worker", self.address, "--nworkers", "1", "--nthreads", "1",
                "--no-nanny", "--name", name, "--no-dashboard", *extra]  # fmt: skip
        self.workers[name] = (self._start(name, argv, env), scratch)
        return scratch

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=120)

    def kill(self, name: str) -> None:
        os.killpg(self.workers[name][0].pid, signal.SIGKILL)

    def close(self) -> None:
        for proc in reversed(self.procs):
            with contextlib.suppress(ProcessLookupError):  # a worker the test killed
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.tmp.glob("*.log"))


def _gradebook(db: str) -> dict[tuple[str, str, str], tuple[float | None, bool]]:
    """Every grade of every submission: (student, notebook, grade id) -> (auto score, manual?)."""
    from nbgrader.api import Gradebook

    cells = {}
    with Gradebook(db) as gb:
        for sub in gb.assignment_submissions(LAB):
            for nb in sub.notebooks:
                for g in nb.grades:
                    key = (sub.student_id, nb.name, g.name)
                    assert key not in cells, f"{key} counted twice"
                    cells[key] = (g.auto_score, bool(g.needs_manual_grade))
    return cells


def _kill_first_busy(cluster: Cluster, done: threading.Event) -> str | None:
    """SIGKILL the first worker seen grading (its scratch course exists); returns its name."""
    deadline = time.monotonic() + 300
    while not done.is_set() and time.monotonic() < deadline:
        for name, (_, scratch) in cluster.workers.items():
            if any(scratch.glob(f"labkit-class-{LAB}-*")):
                time.sleep(0.5)  # inside nbgrader's autograde
                cluster.kill(name)
                return name
        time.sleep(0.1)
    return None


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded by the local pool and, with one worker killed mid-run, on Dask."""
    tmp = tmp_path_factory.mktemp("dask-class")
    subs = _class(tmp / "submitted")
    local_db = f"sqlite:///{tmp / 'local.db'}"
    local = grade_class(subs, jobs=2, db_url=local_db, out=tmp / "local", progress=False)

    cluster = Cluster(tmp)
    try:
        cluster.add_worker("doomed")
        cluster.add_worker("survivor")
        cluster.wait_for_workers(2)
        dask_db = f"sqlite:///{tmp / 'dask.db'}"
        got: dict[str, ClassReport] = {}
        done = threading.Event()

        def run() -> None:
            try:
                got["report"] = grade_class(subs, scheduler=cluster.address, db_url=dask_db,
                                            out=tmp / "dask", progress=False)  # fmt: skip
            finally:
                done.set()

        runner = threading.Thread(target=run)
        runner.start()
        killed = _kill_first_busy(cluster, done)
        runner.join(timeout=600)
        assert "report" in got, cluster.log()
        again = grade_class(subs, scheduler=cluster.address, db_url=dask_db, out=tmp / "dask",
                            progress=False)  # fmt: skip
    finally:
        cluster.close()
    return {"local": local, "local_db": local_db, "dask": got["report"], "dask_db": dask_db,
            "killed": killed, "again": again, "tmp": tmp}  # fmt: skip


def _statuses(report: ClassReport) -> dict[str, tuple[str, float]]:
    return {r.student: (r.status, r.score) for r in report.results}


@pytest.mark.course
@pytest.mark.slow
def test_dask_grades_like_the_local_pool_despite_a_killed_worker(graded):
    local, dask = graded["local"], graded["dask"]
    assert graded["killed"] is not None, "no worker was seen grading"
    assert [r.student for r in dask.results] == sorted(STUDENTS)  # each once
    assert _statuses(dask) == _statuses(local), dask
    assert _statuses(dask)["alice"][1] > 0 and _statuses(dask)["carol"][0] == "invalid"
    assert dask.scheduler.startswith("tcp://127.0.0.1:") and dask.jobs == 2
    cells = _gradebook(graded["dask_db"])
    assert cells == _gradebook(graded["local_db"])
    assert {student for student, _, _ in cells} == set(STUDENTS)
    # a re-run skips everything already graded, and grades nothing twice
    assert {r.status for r in graded["again"].results} == {"skipped"}
    assert _gradebook(graded["dask_db"]) == cells
    exported = {row["student"] for row in json.loads(Path(dask.files["grades_json"]).read_text())}
    assert exported == set(STUDENTS)


def _text(page: str) -> str:
    """What a reader of the HTML sees: tags (syntax highlighting spans) out, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _hidden_and_visible_lines() -> tuple[set[str], set[str]]:
    """Distinctive lines of the hidden test blocks, and lines of the visible tests."""
    hidden, visible = set(), set()
    for cell in json.loads(SOLUTION.read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade") or meta.get("solution") or cell["cell_type"] != "code":
            continue
        inside = False
        for line in "".join(cell["source"]).splitlines():
            inside = inside or "BEGIN HIDDEN TESTS" in line
            if len(line.strip()) > 20:
                (hidden if inside else visible).add(line.strip())
            inside = inside and "END HIDDEN TESTS" not in line
    return hidden - visible, visible


@pytest.mark.course
@pytest.mark.slow
def test_feedback_pages_for_both_engines_hide_the_hidden_tests(graded):
    hidden, visible = _hidden_and_visible_lines()
    assert hidden and visible
    for engine in ("local", "dask"):
        folder = graded["tmp"] / engine / "feedback"
        assert graded[engine].files["feedback"] == str(folder)
        pages = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html"))
        assert pages == [f"{s}/{LAB}/{LAB}.html" for s in ("alice", "bob")]  # carol: nothing ran
        for page in pages:
            text = _text((folder / page).read_text())
            assert any(line in text for line in visible), page  # the search does find source
            assert "HIDDEN TESTS" not in text and not [ln for ln in hidden if ln in text], page
        assert "Feedback: NotImplementedError" in _text((folder / pages[1]).read_text())


def test_unreachable_scheduler_exits_2_and_writes_nothing(tmp_path):
    subs = _class(tmp_path / "submitted")
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    out, db = tmp_path / "out", tmp_path / "class.db"
    result = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "grade-class", str(subs), "--scheduler", address,
         "--db", f"sqlite:///{db}", "--out", str(out)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"labkit grade-class: no Dask scheduler answers at {address}")
    assert result.stderr.count("\n") == 1, result.stderr
    assert not out.exists() and not db.exists()


def test_bad_scheduler_arguments(tmp_path, monkeypatch):
    subs = _class(tmp_path / "submitted")
    with pytest.raises(ValueError, match="expected tcp://HOST:PORT"):
        grade_class(subs, scheduler="localhost:8786")
    with pytest.raises(ValueError, match="jobs=2 with scheduler="):
        grade_class(subs, jobs=2, scheduler="tcp://127.0.0.1:8786")
    monkeypatch.setitem(sys.modules, "distributed", None)  # the base install: no cluster extra
    with pytest.raises(ValueError, match=r"install labkit\[cluster\]"):
        grade_class(subs, scheduler="tcp://127.0.0.1:8786")
    assert not (tmp_path / "grades").exists()


@pytest.mark.slow
def test_worker_on_another_labkit_version_is_refused(tmp_path):
    import labkit

    subs = _class(tmp_path / "submitted")
    preload = tmp_path / "other_labkit.py"  # the worker's labkit reports another version
    preload.write_text("import labkit\n\nlabkit.__version__ = '0.0.0+other'\n")
    cluster = Cluster(tmp_path)
    try:
        cluster.add_worker("other", "--preload", str(preload))
        cluster.wait_for_workers(1)
        out, db = tmp_path / "out", tmp_path / "class.db"
        with pytest.raises(ValueError) as refused:
            grade_class(subs, scheduler=cluster.address, db_url=f"sqlite:///{db}", out=out)
    finally:
        cluster.close()
    message = str(refused.value)
    assert "runs labkit 0.0.0+other" in message
    assert f"this client runs labkit {labkit.__version__}" in message
    assert not out.exists() and not db.exists()
