"""Feedback a learner can act on, without giving away the hidden tests.

nbgrader's feedback shows the autograded notebook, hidden tests and their tracebacks included (a
long-standing complaint; docs/reference.md, "nbgrader 0.9.6"): a learner could read the hidden checks and fit to them.
:func:`explain` turns a test cell's outputs into one sentence — which part failed (visible line,
or "a hidden test"), the error's message, and a hint for that kind of failure.
:class:`HideHiddenTests` (``GenerateFeedback.preprocessors`` in ``nbgrader_config.py``) rewrites
each test cell before the HTML is made: hidden lines and tracebacks out, the sentence in.
"""

from __future__ import annotations

import re
from typing import Any

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

__all__ = ["HideHiddenTests", "explain", "visible_source"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_LINE = re.compile(r"(?:Cell In\s*\[\d*\]|ipykernel_\d+/\d+\.py), line (\d+)")
BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"

HINTS = {
    "NotImplementedError": "the exercise is not done yet: replace `raise NotImplementedError()` "
    "with your code and run the cell",
    "NameError": "a name is not defined when the tests run: run the cell with your solution, and "
    "keep the function or class name the exercise asks for",
    "CellTimeoutError": "the tests did not finish within the per-cell time limit: look for an "
    "infinite loop, or an approach that is far slower than needed",
    "KernelDied": "the Python kernel stopped while the tests ran (os._exit, a crash, or the "
    "grading kernel's memory or CPU-time limit); the other exercises were still graded",
    "MemoryError": "your code needed more memory than the grading kernel allows: work on the "
    "data in place or in pieces",
    "SystemExit": "your code called sys.exit(): return a value or raise an exception instead",
    "IntegrityError": "",
}


def _src(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def hidden_span(source: str) -> tuple[int, int] | None:
    """1-based first and last line of the hidden block (markers included), if any."""
    lines = source.splitlines()
    start = next((i + 1 for i, ln in enumerate(lines) if BEGIN in ln), None)
    if start is None:
        return None
    end = next((i + 1 for i, ln in enumerate(lines) if END in ln and i + 1 > start), len(lines))
    return start, end


def visible_source(source: str) -> str:
    """``source`` with the hidden block replaced by one comment line."""
    span = hidden_span(source)
    if span is None:
        return source
    lines = source.splitlines()
    kept = [*lines[: span[0] - 1], "# (hidden tests run here when grading)", *lines[span[1] :]]
    return "\n".join(kept)


def _failing_line(error: dict[str, Any]) -> int | None:
    """Line of the test cell where ``error`` was raised (the outermost cell frame)."""
    for entry in error.get("traceback", []):
        match = _CELL_LINE.search(_ANSI.sub("", entry))
        if match:
            return int(match.group(1))
    return None


def explain(cell: dict[str, Any]) -> str:
    """One sentence on why a test cell scored 0 ("" when it passed).

    Examples
    --------
    >>> explain({"source": "assert f(1) == 2", "outputs": []})
    ''
    >>> explain({"source": "assert f(1) == 2", "outputs": [{"output_type": "error",
    ...     "ename": "NameError", "evalue": "name 'f' is not defined", "traceback": []}]})
    "NameError: name 'f' is not defined — a name is not defined when the tests run: ..."
    """
    outputs = cell.get("outputs", [])
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if not errors:
        if any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in outputs):
            return (
                "the test wrote to stderr, which nbgrader scores 0: remove prints to "
                "sys.stderr, logging and progress bars from the code the tests call"
            )
        return ""
    error = errors[-1] if errors[-1].get("ename") == "IntegrityError" else errors[0]
    ename, evalue = error.get("ename", "Error"), str(error.get("evalue", "")).strip()
    if ename == "IntegrityError":
        return evalue
    message = f"{ename}: {evalue}" if evalue else ename
    if ename in HINTS:
        return f"{message} — {HINTS[ename]}"
    source = _src(cell)
    line = _failing_line(error)
    span = hidden_span(source)
    if line is not None and span is not None and line >= span[0]:
        return (
            f"a hidden test failed ({message}) — your code passes the examples shown but not the "
            "hidden checks, which use fresh random inputs and edge cases (other sizes, empty or "
            "extreme inputs) against an independent reference; results must be plain numbers or "
            "arrays of the documented type"
        )
    if line is not None:
        lines = source.splitlines()
        shown = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        return f"the visible test at line {line} failed: `{shown}` ({message})"
    return f"{message} — read the visible test above for what is expected"


class HideHiddenTests(NbGraderPreprocessor):
    """Before nbgrader renders feedback: hidden tests and tracebacks out, an explanation in."""

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> Any:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            return cell, resources
        why = explain(cell)
        source = _src(cell)
        cell.source = visible_source(source)
        if hidden_span(source) is not None or why:
            kept = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"]
            if why:
                kept.append(
                    NotebookNode(output_type="stream", name="stdout", text=f"Feedback: {why}\n")
                )
            cell.outputs = kept
        return cell, resources
