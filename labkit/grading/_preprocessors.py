"""nbgrader preprocessors that keep one learner's broken or dishonest notebook from moving a grade.

Installed by ``nbgrader_config.py`` into ``Autograde.autograde_preprocessors``, so ``labkit
grade``, ``labkit grade-class`` and the instructor's own ``nbgrader autograde`` grade alike:

:class:`GuardedExecute`
    nbgrader's ``Execute`` gives up on the whole notebook when the kernel dies (``os._exit``, a
    crash, the CPU-time limit of :mod:`._kernel`) and, when a timed-out cell ignores the
    interrupt, lets every later cell time out behind it. This one marks that cell with an error,
    starts a fresh kernel, replays the cells that had run cleanly before it, and goes on: the
    exercise that killed the kernel scores 0, the rest are graded. Each kernel runs in the
    grading sandbox (:mod:`.sandbox`) unless ``sandbox="off"``.
:class:`StripWarnings`
    removes Python warning records (``file:line: Category: message`` and the echoed source
    line) from stderr, line by line, so a correct solution that warns keeps its marks while any
    other stderr still scores the cell 0 as nbgrader intends. (nbgrader's ``IgnorePattern`` drops
    a whole stream if its pattern matches anywhere in it.)
:class:`CapOutput`
    truncates huge stream outputs (megabytes printed) that nbgrader's line-based
    ``LimitOutput`` lets through when they come as few long lines.
:class:`FlagTampering`
    reads the learner-editable code (:mod:`._integrity`) and scores every test cell that ran
    after tampering 0, with the reason in the cell's output (and so in the feedback).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Enum, Float, Integer

from labkit.grading import sandbox
from labkit.grading._integrity import scan

__all__ = ["CapOutput", "FlagTampering", "GuardedExecute", "RestoreTestCells", "StripWarnings"]

TIMEOUT_ENAME = "CellTimeoutError"
DIED_ENAME = "KernelDied"
TAMPER_ENAME = "IntegrityError"


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(
        output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


def _failed(cell: NotebookNode) -> bool:
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


class GuardedExecute(Execute):
    """``Execute`` that survives a dead or unresponsive kernel and grades the remaining cells."""

    max_kernel_restarts = Integer(
        3, help="Fresh kernels started for one notebook before the rest is scored 0"
    ).tag(config=True)
    responsive_timeout = Float(
        10.0, help="Seconds a kernel has to answer after a timed-out cell was interrupted"
    ).tag(config=True)
    sandbox = Enum(
        ["require", "off"],
        "require",
        help="'require': every kernel runs in the grading sandbox, and grading stops with the "
        "reason when it cannot start; 'off': kernels run with the grader's rights",
    ).tag(config=True)

    def create_kernel_manager(self) -> Any:
        km = super().create_kernel_manager()
        if self.sandbox == "require":
            # ZeroMQ over Unix sockets in a folder of this kernel's own: the sandboxed kernel has
            # no network, and the folder it sees holds no other kernel's signing key.
            folder = Path(tempfile.mkdtemp(prefix="labkit-kernel-"))
            self._ipc_folders.append(folder)
            km.transport = "ipc"
            km.connection_file = str(folder / "kernel.json")
            km.ip = str(folder / "kernel")
        return km

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        # The kernel's own fds 1 and 2 are the grader's otherwise: a learner's C-level print would
        # end up inside `labkit grade --json`'s output, and every kernel start logs a line to
        # stderr. Cell output travels over ZMQ regardless.
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        mode = "on" if self.sandbox == "require" else "off"
        kwargs.setdefault("env", {**os.environ, sandbox.MODE_ENV: mode})
        await super().async_start_new_kernel(**kwargs)

    # nbclient binds the sync wrapper to its own coroutine at class level: rebind to ours
    start_new_kernel = run_sync(async_start_new_kernel)

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> Any:
        from nbclient import NotebookClient

        if self.sandbox == "require":
            status = sandbox.probe()
            if not status.works:
                raise sandbox.SandboxUnavailable(
                    f"the grading sandbox cannot start here ({status.detail}); install "
                    "bubblewrap, or grade with the sandbox off (GuardedExecute.sandbox='off', "
                    "labkit grade-class --no-sandbox)"
                )
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._ipc_folders: list[Path] = []
        try:
            self._execute_all(resources)
        finally:
            for folder in self._ipc_folders:
                shutil.rmtree(folder, ignore_errors=True)
        return self.nb, self.resources

    def _execute_all(self, resources: Any) -> None:
        restarts = 0
        with self.setup_kernel():
            self._kernel_info()
            for index, cell in enumerate(self.nb.cells):
                if restarts > self.max_kernel_restarts:
                    if cell.cell_type == "code":
                        cell.outputs = [
                            _error(DIED_ENAME, "not run: the kernel died too often before this")
                        ]
                    continue
                healthy = True
                try:
                    self.preprocess_cell(cell, resources, index)
                    if any(o.get("ename") == TIMEOUT_ENAME for o in cell.get("outputs", [])):
                        healthy = run_sync(self._async_responsive)()
                except DeadKernelError:
                    cell.outputs = [*cell.get("outputs", []), _error(DIED_ENAME, self._death())]
                    healthy = False
                except CellTimeoutError:  # interrupted, but the kernel never went idle
                    cell.outputs = [
                        *cell.get("outputs", []),
                        _error(
                            TIMEOUT_ENAME,
                            f"no reply within {self.timeout} s and the kernel ignored the "
                            "interrupt; it was restarted and the rest graded",
                        ),
                    ]
                    healthy = False
                if not healthy:
                    restarts += 1
                    if restarts <= self.max_kernel_restarts:
                        self._fresh_kernel(index)
        self.set_widgets_metadata()

    def _death(self) -> str:
        return (
            "the kernel stopped while running this cell (os._exit, a crash, or the grading "
            "kernel's CPU-time or memory limit); it was restarted and the rest graded"
        )

    def _kernel_info(self) -> None:
        info = self.wait_for_reply(self.kc.kernel_info())
        if info:
            self.nb.metadata["language_info"] = info["content"]["language_info"]

    async def _async_responsive(self) -> bool:
        """Whether the kernel answers a kernel_info request within ``responsive_timeout``."""
        msg_id = self.kc.kernel_info()
        deadline = time.monotonic() + self.responsive_timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Empty:
                return False
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True
        return False

    def _fresh_kernel(self, failed_index: int) -> None:
        """Replace the kernel and replay the cells before ``failed_index`` that ran cleanly."""
        self.log.warning("restarting the kernel after cell %d", failed_index)
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # already dead: nothing to shut down
            self.log.debug("shutdown of a dead kernel failed", exc_info=True)
        if self.kc is not None:
            self.kc.stop_channels()
            self.kc = None
        # shutdown closed the old manager's ZMQ context: a new manager, a new kernel
        self.km = self.create_kernel_manager()
        self.start_new_kernel()
        self.start_new_kernel_client()
        self._kernel_info()
        for index in range(failed_index):
            original = self.nb.cells[index]
            if original.cell_type != "code" or _failed(original):
                continue
            replay = copy.deepcopy(original)
            try:
                self.execute_cell(replay, index, store_history=False)
            except DeadKernelError:  # pragma: no cover - it ran before; give up on the replay
                break


class RestoreTestCells(NbGraderPreprocessor):
    """Give test cells back their nbgrader metadata before ``OverwriteCells`` checks them.

    A test cell whose metadata was edited (``grade`` switched off, points changed, retyped to
    markdown) makes ``OverwriteCells`` fail on the checksum and the whole notebook go ungraded.
    Restoring the flags from the gradebook first lets nbgrader restore the cell itself.
    """

    def preprocess(self, nb: NotebookNode, resources: Any) -> Any:
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            source = gb.find_notebook(info["notebook"], info["assignment"])
            graded = {c.name: float(c.max_score) for c in source.grade_cells}
            solutions = {c.name for c in source.solution_cells}
            locked = {c.name for c in source.source_cells if c.locked}
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader")
            grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
            if grade_id in graded and grade_id not in solutions:
                meta.update(
                    grade=True, solution=False, task=False, points=graded[grade_id],
                    locked=grade_id in locked, schema_version=3,
                )  # fmt: skip
        return nb, resources


# A warning record as `warnings.showwarning` formats it: "path:lineno: CategoryWarning: text",
# usually followed by the source line, indented.
_WARNING_LINE = re.compile(r"^\S.*?:\d+: [A-Za-z_][\w.]*(?:Warning|Deprecation)\b.*$")


def strip_warnings(text: str) -> str:
    """``text`` without Python warning records (the record line and its echoed source line).

    Examples
    --------
    >>> strip_warnings("/x.py:3: UserWarning: slow path\\n  warnings.warn('slow path')\\n")
    ''
    >>> strip_warnings("Traceback: boom\\n")
    'Traceback: boom\\n'
    """
    out, skip_echo = [], False
    for line in text.splitlines(keepends=True):
        if _WARNING_LINE.match(line.rstrip("\n")):
            skip_echo = True
            continue
        if skip_echo and line.startswith((" ", "\t")):
            skip_echo = False
            continue
        skip_echo = False
        out.append(line)
    return "".join(out)


class StripWarnings(NbGraderPreprocessor):
    """Drop warning records from stderr streams; keep anything else (which scores 0)."""

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if cell.cell_type == "code":
            kept = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    text = strip_warnings(out.get("text", ""))
                    if not text.strip():
                        continue
                    out["text"] = text
                kept.append(out)
            cell.outputs = kept
        return cell, resources


class CapOutput(NbGraderPreprocessor):
    """Truncate each stream output to ``max_chars`` characters (megabytes printed)."""

    max_chars = Integer(100_000, help="Characters kept per stream output").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                text = out.get("text", "") if out.get("output_type") == "stream" else ""
                if len(text) > self.max_chars:
                    dropped = len(text) - self.max_chars
                    out["text"] = (
                        text[: self.max_chars] + f"\n... [{dropped} characters of output dropped]\n"
                    )
        return cell, resources


def _source_cells(root: str | None, source_dir: str, assignment: str, notebook: str) -> set[str]:
    """Code-cell sources of the course's own notebook (course code is trusted)."""
    if not root:
        return set()
    path = Path(root) / source_dir / assignment / f"{notebook}.ipynb"
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {
        "".join(c.get("source", "")).strip()
        for c in nb.get("cells", [])
        if c.get("cell_type") == "code"
    }


class FlagTampering(NbGraderPreprocessor):
    """Score 0 every test cell that runs after learner code that tampers with the tests."""

    def preprocess(self, nb: NotebookNode, resources: Any) -> Any:
        info = resources.get("nbgrader", {})
        course = self.config.get("CourseDirectory", {})
        trusted = _source_cells(
            course.get("root"),
            course.get("source_directory", "source"),
            info.get("assignment", ""),
            info.get("notebook", ""),
        )
        findings = [
            (i, f)
            for i, f in scan(nb)
            if "".join(nb.cells[i].get("source", "")).strip() not in trusted
        ]
        if not findings:
            return nb, resources
        first = min(i for i, _ in findings)
        reasons = "; ".join(str(f) for _, f in findings[:5])
        message = (
            f"not credited: learner code before this test tampers with what tests rely on "
            f"({reasons}). Remove it and grade again."
        )
        for cell in nb.cells[first + 1 :]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
                cell.outputs = [*cell.get("outputs", []), _error(TAMPER_ENAME, message)]
        return nb, resources
