"""The course from a package: the wheel's contents, `labkit start` and `labkit grade` from a
non-editable install with no checkout in sight, and the Binder environment (tests/install/conftest.py)
kept lean and able to run every released notebook.
"""

from __future__ import annotations

import ast
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from install_env import REPO, copy_source, runtime_version

pytestmark = pytest.mark.slow

RELEASES = sorted(
    p.relative_to(REPO / "notebooks").as_posix()
    for p in (REPO / "notebooks").glob("[0-9]*/*.ipynb")
)
SOURCES = sorted(
    p.relative_to(REPO).as_posix() for p in (REPO / "solutions").glob("[0-9]*/*.ipynb")
)
# mybinder.org gives a session 1-2 GB of RAM; the image's Python environment stays under 2 GiB on
# disk (a CUDA torch alone would not), and a notebook's kernel under 2 GiB resident at graded sizes.
ENV_BUDGET_MIB = 2048
KERNEL_BUDGET_MIB = 2048


def _run(cmd, **kwargs):
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    kwargs.setdefault("timeout", 600)
    kwargs.setdefault("cwd", tempfile.gettempdir())  # never the checkout: `python -c` imports cwd
    return subprocess.run([str(c) for c in cmd], **kwargs)


def _size_mib(path: Path) -> float:
    return (
        sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
        / 2**20
    )


def test_the_wheel_carries_the_course_and_no_notebook_sources(tmp_path):
    source = copy_source(tmp_path / "src")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", source]
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("labkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    course = {n.removeprefix("labkit/_course/") for n in names if n.startswith("labkit/_course/")}
    assert course == {"nbgrader_config.py", *(f"notebooks/{r}" for r in RELEASES), *SOURCES}
    for name in course - {"nbgrader_config.py"}:
        packaged = zipfile.ZipFile(wheel).read(f"labkit/_course/{name}")
        assert packaged == (REPO / name).read_bytes(), name
    assert "labkit/cli.py" in names and "labkit/start.py" in names


def test_binder_env_honours_runtime_txt_and_stays_lean(course_env):
    probe = _run(
        [
            course_env.python,
            "-c",
            "import sys, torch; print(sys.version.split()[0], torch.__version__, torch.version.cuda)",
        ]
    )
    assert probe.returncode == 0, probe.stderr
    python, torch_version, cuda = probe.stdout.split()
    assert python.startswith(runtime_version() + ".")
    (pin,) = [
        ln
        for ln in (REPO / "binder/requirements.txt").read_text().splitlines()
        if ln.startswith("torch==")
    ]
    assert torch_version.split("+")[0] == pin.removeprefix("torch==") and cuda == "None"
    size = _size_mib(course_env.venv)
    print(
        f"\nBinder env: {size:.0f} MiB (budget {ENV_BUDGET_MIB}), built in {course_env.build_seconds:.0f} s, load {os.getloadavg()}"
    )
    assert size <= ENV_BUDGET_MIB


def _packaged_course(course_env, cwd: Path) -> Path:
    found = _run(
        [
            course_env.python,
            "-c",
            "from labkit.grading._paths import course_root; print(course_root())",
        ],
        cwd=cwd,
        env=course_env.env(course_env.venv),
    )
    assert found.returncode == 0, found.stderr
    return Path(found.stdout.strip())


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
    }


def test_start_and_grade_from_the_install_anywhere(course_env, tmp_path):
    course = _packaged_course(course_env, tmp_path)
    assert course.is_relative_to(course_env.venv) and course.name == "_course"
    before = _snapshot(course)
    env = course_env.env(tmp_path / "home")
    started = _run([course_env.labkit, "start", "--no-server", "ws"], cwd=tmp_path, env=env)
    assert started.returncode == 0, started.stderr
    assert (
        sorted(
            p.relative_to(tmp_path / "ws").as_posix() for p in (tmp_path / "ws").glob("*/*.ipynb")
        )
        == RELEASES
    )

    def grade(notebook):
        done = _run([course_env.labkit, "grade", "--json", notebook], cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    release = grade("ws/00_orientation/00_orientation.ipynb")
    assert release["lab"] == "00_orientation" and release["max_score"] > 0 and release["score"] == 0
    solved = (
        tmp_path / "solved.ipynb"
    )  # the model answers, which the autograder must give full marks
    solved.write_bytes((course / "solutions/00_orientation/00_orientation.ipynb").read_bytes())
    assert grade(solved)["score"] == release["max_score"]
    assert _snapshot(course) == before  # no gradebook, .nbgrader/ or checkpoint in the package


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_start_serves_jupyterlab_on_localhost_with_a_token(course_env, tmp_path):
    port = _free_port()
    env = course_env.env(tmp_path / "home")
    proc = subprocess.Popen(
        [course_env.labkit, "start", "--port", str(port), tmp_path / "ws"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        token, seen, deadline = None, [], time.monotonic() + 90
        while token is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            seen.append(line)
            found = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=(\w+)", line)
            token = found and found.group(1)
        assert token, "".join(seen)
        assert "copied" in "".join(seen)
        base = f"http://127.0.0.1:{port}/api/contents/00_orientation"
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        listing, deadline = None, time.monotonic() + 60
        while listing is None:  # the URL is logged as the server comes up: poll briefly
            try:
                with direct.open(f"{base}?token={token}", timeout=30) as reply:
                    listing = json.load(reply)
            except urllib.error.URLError as err:
                if isinstance(err, urllib.error.HTTPError) or time.monotonic() > deadline:
                    raise AssertionError(f"{err}; server said: {''.join(seen)}") from None
                time.sleep(0.5)
        assert "00_orientation.ipynb" in {item["name"] for item in listing["content"]}
        with pytest.raises(urllib.error.HTTPError) as refused:
            direct.open(base, timeout=30)
        assert refused.value.code == 403
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _setup_cell() -> str:
    nb = json.loads((REPO / "notebooks" / RELEASES[0]).read_text())
    first = nb["cells"][0]
    assert first["cell_type"] == "code" and 'find_spec("labkit")' in "".join(first["source"])
    return "".join(first["source"])


def test_every_notebook_opens_with_the_same_setup_cell():
    cell = _setup_cell()
    for rel in RELEASES:
        assert (
            "".join(json.loads((REPO / "notebooks" / rel).read_text())["cells"][0]["source"])
            == cell
        )


def test_setup_cell_installs_labkit_where_missing_and_fails_fast_offline(tmp_path):
    venv = tmp_path / "bare"
    assert _run([sys.executable, "-m", "venv", venv]).returncode == 0
    dist = tmp_path / "dist"
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            dist,
            copy_source(tmp_path / "src"),
        ]
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("labkit-*.whl")
    dead = f"http://127.0.0.1:{_free_port()}"  # nothing listens: a machine with no network
    offline = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "LABKIT_"))}
    offline |= {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": f"{dead}/simple",
        "PIP_FIND_LINKS": "",
    }
    script = _setup_cell() + "\nimport labkit\nprint('labkit at', labkit.__file__)\n"
    start = time.monotonic()
    failed = _run([venv / "bin/python", "-c", script], cwd=tmp_path, env=offline, timeout=120)
    assert failed.returncode != 0 and time.monotonic() - start < 60
    assert "could not install labkit" in failed.stderr and "pip install" in failed.stderr
    # the override, without dependencies here (the venv is bare): installed, then imported at once
    local = offline | {"LABKIT_INSTALL_SPEC": str(wheel), "PIP_NO_DEPS": "1"}
    done = _run([venv / "bin/python", "-c", script], cwd=tmp_path, env=local, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "labkit is not installed here" in done.stdout and str(venv) in done.stdout


def _defined_names(source: str) -> set[str]:
    """Names and string constants a cell defines or mentions (what a later cell may miss)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.keyword) and node.arg:  # results.update(key=...)
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
    return names


def _unexplained_errors(run: dict, release: dict, source: dict) -> list[str]:
    """Errors that are neither an exercise's stub nor a consequence of one.

    A consequence: the traceback shows NotImplementedError (a stub called here or in a worker),
    or a NameError/KeyError/AttributeError for a name that an earlier failed cell (in its model
    answer) would have defined. Every other error, in any cell, is a real failure.
    """
    source_by_id = {c.get("id"): "".join(c["source"]) for c in source["cells"]}
    missing: set[str] = set()
    bad = []
    for cell in run["cells"]:
        if not cell["errors"]:
            continue
        text = "".join(release["cells"][cell["index"]]["source"])
        for err in cell["errors"]:
            stub = "NotImplementedError" in err["ename"] + err["traceback"]
            name = re.search(r"'([^']+)'", err["evalue"])
            consequence = (
                err["ename"] in ("NameError", "KeyError", "AttributeError", "UnboundLocalError")
                and name
                and name.group(1) in missing
            )
            if not (stub or consequence):
                bad.append(
                    f"cell {cell['index']} ({cell['id']}): {err['ename']}: {err['evalue'][:300]}"
                )
        missing |= _defined_names(source_by_id.get(cell["id"], text)) | _defined_names(text)
    return bad


@pytest.mark.parametrize("release", RELEASES)
def test_release_runs_in_binder_env_failing_only_where_exercises_are_unanswered(
    course_env, tmp_path, release
):
    """Binder's learner opens the release and runs it: at graded sizes, set-up, measurement and
    plot cells must run; only unanswered exercises (NotImplementedError) and what uses them fail."""
    env = course_env.env(tmp_path / "home") | {
        "NBGRADER_EXECUTION": "autograde",
        "LABKIT_DEVICE": "cpu",
        "MPLBACKEND": "Agg",
    }
    workdir = tmp_path / "ws"
    workdir.mkdir()
    notebook = workdir / Path(release).name
    notebook.write_bytes((REPO / "notebooks" / release).read_bytes())
    out = tmp_path / "run.json"
    done = _run(
        [course_env.python, Path(__file__).with_name("_run_notebook.py"), notebook, out],
        cwd=workdir,
        env=env,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads(out.read_text())
    release_nb = json.loads((REPO / "notebooks" / release).read_text())
    source_nb = json.loads((REPO / "solutions" / release).read_text())
    stubs = sum(1 for c in run["cells"] for e in c["errors"] if e["ename"] == "NotImplementedError")
    print(
        f"\n{release}: {run['seconds']:.1f} s, kernel peak {run['kernel_peak_mib']:.0f} MiB, {stubs} stub(s) raised, load {os.getloadavg()}"
    )
    assert stubs > 0  # the release's exercises are unanswered, and they did run
    assert not run["cells"][0]["errors"]  # the set-up cell: labkit is installed, nothing to do
    assert _unexplained_errors(run, release_nb, source_nb) == []
    assert run["kernel_peak_mib"] <= KERNEL_BUDGET_MIB
