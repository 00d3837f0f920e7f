"""A real JupyterLab server on a scratch copy of the course, and Debian's chromium driving it.

One server and one browser per test module (per xdist worker): each test opens its own page, in
its own JupyterLab workspace, on its own copy of a lab, and screenshots every step into
``$LABKIT_TEST_ARTIFACTS/<test>/`` (default: the test's tmp_path). The screenshots, the browser's
console and the server's log are kept when the test fails, and the folder is printed.

Off CI the tests skip where chromium is missing; with ``CI=true`` that is a failure (.ci/run
installs it).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from labkit.grading._paths import course_root

ROOT = course_root()
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium keeps calling home, which floods a closed
# network and slows every page.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_S = 90
# JupyterLab's own settings for the test's server: every cell stays in the DOM (no windowing, so
# a test can read any cell's output) and no news or update check reaches for the network.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

_REPORTS = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report, so a fixture's teardown knows whether its test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@dataclass(frozen=True)
class LabServer:
    """A running ``jupyter lab`` whose root (and working folder) is a scratch course."""

    url: str
    token: str
    course: Path
    log: Path

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel this server runs, so the next test starts with the machine free."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")


def _scratch_course(folder: Path) -> Path:
    course = folder / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    skip = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*_results.json")
    for name in ("notebooks", "solutions"):
        shutil.copytree(ROOT / name, course / name, ignore=skip)
    # an exchange of its own, as an instructor sets one up (nbgrader's docs: a folder everyone
    # may write), so formgrader can release and the Assignment List can fetch
    (folder / "exchange").mkdir()
    (folder / "exchange").chmod(0o777)
    with (course / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write(f"\nc.Exchange.root = {str(folder / 'exchange')!r}\n")
    return course


def _server_env(folder: Path) -> dict[str, str]:
    settings = folder / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values), encoding="utf-8")
    # the grader's variables stay out: the server's kernels are a learner's, at the learner's sizes
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "LABKIT_DB_URL")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    # the user's own Jupyter folders (config, kernelspecs, workspaces) play no part
    env["JUPYTER_CONFIG_DIR"] = str(folder / "jupyter-config")
    env["JUPYTER_DATA_DIR"] = str(folder / "jupyter-data")
    env["JUPYTER_RUNTIME_DIR"] = str(folder / "jupyter-runtime")
    env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(folder / "lab-workspaces")
    return env


def _wait_until_serving(process: subprocess.Popen, runtime: Path, token: str, log: Path) -> str:
    deadline = time.monotonic() + SERVER_START_S
    info = runtime / f"jpserver-{process.pid}.json"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited ({process.returncode}):\n{log.read_text()}")
        try:
            url = f"http://127.0.0.1:{json.loads(info.read_text())['port']}"
            request = urllib.request.Request(
                f"{url}/api/status", headers={"Authorization": f"token {token}"}
            )
            with urllib.request.urlopen(request, timeout=5):
                return url
        except (OSError, ValueError, KeyError, urllib.error.URLError):
            time.sleep(0.2)
    raise RuntimeError(f"jupyter lab did not answer in {SERVER_START_S} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory) -> LabServer:
    folder = tmp_path_factory.mktemp("jupyterlab")
    course = _scratch_course(folder)
    token = secrets.token_hex(24)
    log = folder / "server.log"
    command = [
        str(BIN / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--ServerApp.allow_root=True")
    with log.open("w") as out:
        # the server's working folder is the course, so nbgrader's handlers load its config
        process = subprocess.Popen(command, cwd=course, env=_server_env(folder), stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        url = _wait_until_serving(process, folder / "jupyter-runtime", token, log)
        yield LabServer(url=url, token=token, course=course, log=log)
    finally:
        process.send_signal(signal.SIGTERM)  # the server stops its kernels on the way out
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _chromium_required() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium():
    _chromium_required()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@dataclass
class Artifacts:
    """Numbered screenshots of a test's steps, and what the page said, in one folder."""

    folder: Path
    page: object
    console: list[str] = field(default_factory=list)
    _count: int = 0

    def page_errors(self) -> list[str]:
        """Uncaught exceptions and console errors the page reported so far."""
        return [m for m in self.console if m.startswith(("uncaught:", "console.error:"))]

    def shot(self, step: str) -> Path:
        self._count += 1
        path = self.folder / f"{self._count:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', step)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _artifact_folder(request, tmp_path: Path) -> Path:
    base = os.environ.get("LABKIT_TEST_ARTIFACTS")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
    folder = Path(base) / name if base else tmp_path / "artifacts"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def page(chromium, lab_server, request, tmp_path):
    """A fresh browser page with the test's artifacts (``page.artifacts``)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.artifacts = artifacts = Artifacts(_artifact_folder(request, tmp_path), page)
    page.on("console", lambda m: artifacts.console.append(f"console.{m.type}: {m.text}"))
    page.on("pageerror", lambda e: artifacts.console.append(f"uncaught: {e}"))
    yield page
    reports = request.node.stash.get(_REPORTS, {})
    failed = any(r.failed for r in reports.values())
    if failed:
        try:
            artifacts.shot("at-failure")
        except Exception as err:  # the page may be gone; the earlier shots still tell the story
            artifacts.console.append(f"no screenshot at failure: {err}")
        (artifacts.folder / "console.txt").write_text("\n".join(artifacts.console) + "\n")
        shutil.copy2(lab_server.log, artifacts.folder / "server.log")
    context.close()
    lab_server.shutdown_kernels()
    if failed:
        print(f"\nbrowser artifacts (screenshots, console, server log): {artifacts.folder}")
    else:
        shutil.rmtree(artifacts.folder, ignore_errors=True)
