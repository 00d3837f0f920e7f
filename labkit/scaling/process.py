"""Start and stop the service as a real process, from a notebook, a test or a benchmark.

:class:`ServiceProcess` runs ``python -m labkit.scaling.serve`` on loopback with a port the kernel
picks (no collisions between parallel tests), follows the JSON events it prints, waits until
``/readyz`` answers, and on exit sends SIGTERM and waits for the graceful drain — killing the
process only if it overstays. Its stdout and stderr are captured (nothing leaks into a notebook
cell or a test's output) and kept for inspection.

Examples
--------
>>> import tempfile, torch
>>> from labkit.scaling.recommender import Recommender
>>> path = Recommender(torch.randn(20, 4), torch.randn(30, 4), torch.zeros(30)).save(
...     tempfile.mkdtemp() + "/m.pt")
>>> with ServiceProcess(path) as svc:
...     status, body = svc.get("/recommend?user_id=3&k=2")
>>> status, len(body["items"]), svc.returncode
(200, 2, 0)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["ServiceProcess"]


class ServiceProcess:
    """The recommendation service in a child process on ``127.0.0.1``.

    Parameters
    ----------
    model_path
        Model file for ``--model``.
    workers
        Worker processes behind the one port.
    start_timeout_s
        How long start-up (imports, model load, warm-up) may take before it counts as failed.
    **options
        Further ``serve`` options by their Python names, e.g. ``max_batch_size=1``,
        ``max_queue_size=64``, ``timeout_s=1.0``, ``cache_size=0``, ``drain_delay_s=0.5``.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        workers: int = 1,
        start_timeout_s: float = 60.0,
        **options: Any,
    ) -> None:
        self.model_path = str(model_path)
        self.workers = workers
        self.start_timeout_s = start_timeout_s
        self.options = options
        self.port: int | None = None
        self.events: list[dict[str, Any]] = []
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self.launched_at: float | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []

    # -- life cycle -----------------------------------------------------------------------------
    def command(self) -> list[str]:
        args = [sys.executable, "-m", "labkit.scaling.serve", "--model", self.model_path]
        args += ["--host", "127.0.0.1", "--port", "0", "--workers", str(self.workers)]
        args += ["--parent-pid", str(os.getpid())]  # the server leaves when we do
        for name, value in self.options.items():
            args += ["--" + name.replace("_", "-"), str(value)]
        return args

    def start(self) -> ServiceProcess:
        """Launch and wait until every worker is ready; raises ``RuntimeError`` with the log."""
        if self._proc is not None:
            raise RuntimeError("the service is already started")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.launched_at = time.time()
        self._proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # a Ctrl-C in the notebook does not hit the server
        )
        for stream, is_stdout in ((self._proc.stdout, True), (self._proc.stderr, False)):
            thread = threading.Thread(target=self._pump, args=(stream, is_stdout), daemon=True)
            thread.start()
            self._threads.append(thread)
        try:
            self.wait_for_event("listening", self.start_timeout_s)
            self.wait_for_event("ready", self.start_timeout_s, count=self.workers)
        except Exception:
            self.kill()
            raise
        return self

    def _pump(self, stream: Any, is_stdout: bool) -> None:
        for line in stream:
            line = line.rstrip("\n")
            with self._cond:
                if not is_stdout:
                    self.stderr_lines.append(line)
                    del self.stderr_lines[:-500]  # keep the tail only
                else:
                    self.stdout_lines.append(line)
                    try:
                        event = json.loads(line)
                    except ValueError:
                        event = None
                    if isinstance(event, dict) and "event" in event:
                        self.events.append(event)
                        if event["event"] == "listening":
                            self.port = int(event["port"])
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for_event(self, name: str, timeout_s: float, count: int = 1) -> list[dict[str, Any]]:
        """Block until ``count`` events called ``name`` have been printed."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                found = [e for e in self.events if e["event"] == name]
                if len(found) >= count:
                    return found
                if self._proc is not None and self._proc.poll() is not None:
                    raise RuntimeError(
                        f"the service exited with code {self._proc.returncode} before {name!r}:\n"
                        + "\n".join(self.stderr_lines[-30:])
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError(
                        f"no {name!r} event within {timeout_s} s:\n"
                        + "\n".join(self.stderr_lines[-30:])
                    )
                self._cond.wait(min(remaining, 0.1))

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, then wait for the graceful drain; SIGKILL after ``timeout_s``."""
        if self._proc is None:
            return 0
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        for thread in self._threads:
            thread.join(timeout=5)
        return int(self._proc.returncode if self._proc.returncode is not None else -9)

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(10)

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- convenience ----------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc is not None else None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the service has not started")
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        return [e["pid"] for e in self.events if e["event"] == "ready"]

    def get(self, path: str, timeout_s: float = 10.0) -> tuple[int, Any]:
        """GET ``path``: (status, parsed JSON body or text)."""
        return self.request("GET", path, None, timeout_s)

    def request(
        self, method: str, path: str, body: bytes | None = None, timeout_s: float = 10.0
    ) -> tuple[int, Any]:
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                status, raw = resp.status, resp.read()
                ctype = resp.headers.get("content-type", "")
        except urllib.error.HTTPError as err:
            status, raw, ctype = err.code, err.read(), err.headers.get("content-type", "")
        text = raw.decode("utf-8", "replace")
        return status, json.loads(text) if "json" in ctype else text

    def metrics_text(self) -> str:
        status, text = self.get("/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        return text

    def rss_bytes(self) -> int:
        """Resident memory of the server and its workers (Linux ``/proc``), in bytes."""
        pids = {self.pid, *self.worker_pids()} - {None}
        total = 0
        for pid in pids:
            status = Path(f"/proc/{pid}/status")
            if status.exists():
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        return total

    def __repr__(self) -> str:
        state = (
            "not started"
            if self._proc is None
            else ("running" if self._proc.poll() is None else f"exited {self._proc.returncode}")
        )
        return f"ServiceProcess({self.model_path!r}, workers={self.workers}, {state}, port={self.port})"
