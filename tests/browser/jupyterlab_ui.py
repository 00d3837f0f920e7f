"""Driving JupyterLab 4's notebook the way a learner does, and reading what it shows.

DOM facts this relies on (JupyterLab 4.4+, nbgrader 0.9.6): every cell is a ``.jp-Cell`` inside
the notebook (the test server turns windowing off, so all cells stay in the DOM); a code cell's
``.jp-InputArea-prompt`` reads ``[ ]:``, ``[*]:`` while it runs, ``[n]:`` once done; editors are
CodeMirror 6 (``.cm-content``); each output is a ``.jp-OutputArea-output`` carrying its MIME type
(tracebacks and stderr both ``application/vnd.jupyter.stderr``); the notebook toolbar's kernel
indicator says ``data-status="idle"``; nbgrader adds ``.validate-button`` to that toolbar.
"""

from __future__ import annotations

import ast
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

STDERR = "application/vnd.jupyter.stderr"
CELL_TIMEOUT_MS = 120_000  # nbgrader_config.py's per-cell limit
_DONE_PROMPT = re.compile(r"\[\d+\]")
_KERNEL_IDLE = re.compile(r"^(?!No Kernel).+ \| Idle$")


def open_in_lab(page: Page, server, path: str = "") -> None:
    """Open JupyterLab (at a notebook when ``path`` is given) in a workspace of its own."""
    where = f"/tree/{path}" if path else ""
    page.goto(f"{server.url}/lab/workspaces/t{uuid.uuid4().hex[:12]}{where}?token={server.token}")
    page.locator("#jp-main-dock-panel").wait_for()


def cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def load_cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _names_used(source: str) -> set[str]:
    from IPython.core.inputtransformer2 import TransformerManager  # magics become plain Python

    tree = ast.parse(TransformerManager().transform_cell(source))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _names_defined(source: str) -> set[str]:
    tree = ast.parse(source)
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}


def _calls_plt_show(source: str) -> bool:
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    return any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "show"
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == "plt"
        for n in ast.walk(tree)
    )


@dataclass(frozen=True)
class ReleasePlan:
    """What running a release top to bottom must show, read from the notebook file itself.

    The release's solution cells define stubs that raise ``NotImplementedError``; defining them
    raises nothing. A cell fails exactly when it calls one of them: the exercise's visible-test
    cell, and any later cell that uses the exercise (lab 00's peak-fraction table calls
    ``matmul_tflops``). Every other code cell must run without a traceback or a stderr line.
    """

    code_cells: tuple[int, ...]
    must_fail: frozenset[int]
    plots: frozenset[int]
    progress_bars: bool

    @classmethod
    def of(cls, path: Path) -> ReleasePlan:
        cells = load_cells(path)
        code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
        solution = {i for i in code if cells[i]["metadata"].get("nbgrader", {}).get("solution")}
        stubs = set().union(*(_names_defined(cell_source(cells[i])) for i in solution))
        stubbed = {i for i in solution if "raise NotImplementedError()" in cell_source(cells[i])}
        assert stubbed == solution, "every solution cell of a release is a stub"
        return cls(
            code_cells=tuple(code),
            must_fail=frozenset(
                i for i in code if i not in solution and _names_used(cell_source(cells[i])) & stubs
            ),
            plots=frozenset(i for i in code if _calls_plt_show(cell_source(cells[i]))),
            progress_bars=any("tqdm" in cell_source(cells[i]) for i in code),
        )


@dataclass(frozen=True)
class Output:
    mime: str
    text: str
    images: int  # <img> elements that decoded (naturalWidth > 0)


class NotebookUI:
    """One open notebook in the page's current JupyterLab."""

    def __init__(self, page: Page):
        self.page = page
        self.panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        self.cells = self.panel.locator(".jp-Notebook .jp-Cell")

    def wait_ready(self) -> None:
        """Wait for the cells and for the notebook's kernel to be connected and idle.

        The toolbar's indicator reads "idle" before any kernel exists; the status bar names the
        kernel once it is connected (and "No Kernel | Idle" before).
        """
        self.cells.first.wait_for()
        kernel = self.page.locator(".jp-StatusBar-TextItem", has_text=_KERNEL_IDLE)
        kernel.wait_for(timeout=CELL_TIMEOUT_MS)
        self.panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for()

    def cell(self, index: int) -> Locator:
        return self.cells.nth(index)

    def run_each_cell(self, code_cells: tuple[int, ...]) -> None:
        """Shift+Enter through the notebook, waiting for each code cell to finish.

        Cell by cell, as a learner steps through a lab: "Run All" stops at the first error, and
        a release's first exercise test fails until the exercise is solved.
        """
        count = max(code_cells, default=-1) + 1
        self.cell(0).locator(".jp-InputArea-prompt").click()  # selects the cell, command mode
        self.page.keyboard.press("Escape")
        for index in range(count):
            self.page.keyboard.press("Shift+Enter")
            if index in code_cells:
                prompt = self.cell(index).locator(".jp-InputArea-prompt")
                expect(prompt).to_have_text(_DONE_PROMPT, timeout=CELL_TIMEOUT_MS)

    def prompt(self, index: int) -> str:
        return self.cell(index).locator(".jp-InputArea-prompt").inner_text().strip()

    def outputs(self, index: int) -> list[Output]:
        found = []
        areas = self.cell(index).locator(".jp-OutputArea-output")
        for k in range(areas.count()):
            area = areas.nth(k)
            decoded = area.evaluate(
                "a => [...a.querySelectorAll('img')].filter(i => i.naturalWidth > 0).length"
            )
            found.append(Output(area.get_attribute("data-mime-type") or "", area.inner_text(),
                                decoded))  # fmt: skip
        return found

    def replace_code(self, index: int, text: str) -> None:
        """Select all of a code cell's editor and put ``text`` in its place."""
        self.cell(index).locator(".cm-content").click()
        self._replace_editor_text(text)
        self.page.keyboard.press("Escape")

    def replace_markdown(self, index: int, text: str) -> None:
        """Open a rendered markdown cell's editor, replace its text, render it again."""
        cell = self.cell(index)
        cell.locator(".jp-MarkdownOutput").dblclick()
        cell.locator(".cm-content").click()
        self._replace_editor_text(text)
        self.page.keyboard.press("Control+Enter")  # render in place (Shift+Enter adds a cell)
        cell.locator(".jp-MarkdownOutput").wait_for()

    def _replace_editor_text(self, text: str) -> None:
        self.page.keyboard.press("Control+a")
        # One input event, as a paste arrives: key by key, CodeMirror would indent each new line
        # and close each bracket itself, and the cell would hold a different program.
        self.page.keyboard.insert_text(text)

    def save(self) -> None:
        self.page.keyboard.press("Control+s")
        tab = self.page.locator(".jp-mod-current.lm-TabBar-tab")
        expect(tab).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"))
