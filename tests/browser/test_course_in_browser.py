"""The course in a real browser: Debian's chromium driving the real ``jupyter lab`` on a scratch
copy of the course, as a learner (run a release, solve it in the editor, Validate, fetch from the
Assignment List) and as an instructor (nbgrader's menu; formgrader lists, generates and releases
the labs) would.

The server's kernels run at the learner's sizes, without ``NBGRADER_EXECUTION``: lab 00 takes a
few seconds at full size in a browser kernel, and a learner sees exactly those cells. nbgrader's
Validate runs the saved notebook again in a fresh grading kernel (the venv's ``python3``
kernelspec, labkit's grading launcher) under ``NBGRADER_EXECUTION=validate``, so there the lab
picks its grading sizes and the grading limits apply.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).parent))

from jupyterlab_ui import STDERR, NotebookUI, ReleasePlan, cell_source, load_cells, open_in_lab

from labkit.grading._paths import course_root, lab_dirs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = course_root()
LABS = ["00_orientation"]  # each further lab costs its full run time in the browser
JUPYTERLAB_FLOOR = (4, 4)
NBGRADER_MENU = [
    "Assignment List",
    "Course List",
    "Formgrader",
    "Formgrader (local)",
    "Create assignment",
]
VALIDATE_OK = "Success! Your notebook passes all the tests."
VALIDATE_TIMEOUT_MS = 180_000


def _report(what: str) -> None:
    print(f"{what} (load average {os.getloadavg()[0]:.2f})")


def _notebook(lab: str) -> str:
    (release,) = sorted((ROOT / "notebooks" / lab).glob("*.ipynb"))  # lab 00 has one notebook
    return release.name


def _learner_copy(server, lab: str, learner: str) -> str:
    """The release of ``lab`` copied for one learner; its path under the server's root."""
    target = server.course / "learners" / learner / lab
    shutil.copytree(ROOT / "notebooks" / lab, target, ignore=shutil.ignore_patterns("*.json"))
    return str((target / _notebook(lab)).relative_to(server.course))


def _answers(lab: str) -> dict[str, str]:
    """Each solution cell of the nbgrader source, by grade_id, as a learner would write it."""
    markers = {"### BEGIN SOLUTION", "### END SOLUTION"}
    answers = {}
    for cell in load_cells(ROOT / "solutions" / lab / _notebook(lab)):
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            lines = cell_source(cell).splitlines()
            answers[meta["grade_id"]] = "\n".join(ln for ln in lines if ln.strip() not in markers)
    return answers


def _grade_ids(path: Path) -> dict[str, int]:
    return {
        c["metadata"]["nbgrader"]["grade_id"]: i
        for i, c in enumerate(load_cells(path))
        if "grade_id" in c["metadata"].get("nbgrader", {})
    }


@pytest.mark.parametrize("lab", LABS)
def test_release_runs_with_plots_and_only_the_exercises_failing(page, lab_server, lab):
    path = _learner_copy(lab_server, lab, "runner")
    plan = ReleasePlan.of(lab_server.course / path)
    assert plan.must_fail, "a release's exercise tests fail until the exercise is solved"
    assert plan.plots, f"{lab} draws a plot"
    open_in_lab(page, lab_server, path)
    notebook = NotebookUI(page)
    notebook.wait_ready()
    page.artifacts.shot("opened")

    start = time.perf_counter()
    notebook.run_each_cell(plan.code_cells)
    _report(f"{lab} ran cell by cell in the browser in {time.perf_counter() - start:.1f} s")
    page.artifacts.shot("ran-every-cell")

    # a fresh kernel ran each code cell once, in order
    assert [notebook.prompt(i) for i in plan.code_cells] == [
        f"[{n}]:" for n in range(1, len(plan.code_cells) + 1)
    ]
    failed, plotted = set(), set()
    for i in plan.code_cells:
        outputs = notebook.outputs(i)
        errors = [o.text for o in outputs if o.mime == STDERR]
        if i in plan.must_fail:
            assert len(errors) == 1, f"cell {i}: {errors}"
            *_, last = errors[0].strip().splitlines()
            assert re.match(r"NotImplementedError\b", last), f"cell {i} failed otherwise: {last}"
            assert "raise NotImplementedError()" in errors[0], "raised by the exercise's stub"
            failed.add(i)
        else:
            assert errors == [], f"cell {i} shows an error or a stderr line: {errors}"
        if any(o.mime == "image/png" and o.images for o in outputs):
            plotted.add(i)
    assert failed == plan.must_fail
    assert plotted == plan.plots, "every plot renders as an image, in the cell that draws it"
    progress = notebook.panel.locator(".jp-OutputArea-output .widget-hprogress")
    assert (progress.count() > 0) == plan.progress_bars
    assert page.artifacts.page_errors() == []


def test_progress_bars_render_as_widgets(page, lab_server):
    # the labs' long loops use tqdm.auto, which shows an ipywidgets bar in a notebook kernel
    folder = lab_server.course / "learners" / "progress"
    folder.mkdir(parents=True)
    loop = "from tqdm.auto import tqdm\n\nfor step in tqdm(range(40), desc='epochs'):\n    pass"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(loop)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / "progress.ipynb")
    open_in_lab(page, lab_server, "learners/progress/progress.ipynb")
    notebook = NotebookUI(page)
    notebook.wait_ready()
    notebook.run_each_cell((0,))
    bar = notebook.cell(0).locator(".widget-hprogress")
    expect(bar).to_be_visible()
    expect(notebook.cell(0).locator(".jp-OutputArea-output")).to_contain_text("40/40")
    page.artifacts.shot("progress-bar")
    # one output, the widget: no stderr fallback ("IProgress not found"), no text bar
    (output,) = notebook.outputs(0)
    assert output.mime != STDERR and re.search(r"epochs:\s*100%", output.text), output
    assert page.artifacts.page_errors() == []


@pytest.mark.parametrize("lab", LABS)
def test_solution_typed_in_the_editor_validates(page, lab_server, lab):
    path = _learner_copy(lab_server, lab, "solver")
    saved = lab_server.course / path
    where = _grade_ids(saved)
    answers = _answers(lab)
    cells = load_cells(saved)
    code = {g: a for g, a in answers.items() if cells[where[g]]["cell_type"] == "code"}
    written = {g: a for g, a in answers.items() if g not in code}
    assert code and written, f"{lab} has code exercises and a written answer"
    open_in_lab(page, lab_server, path)
    notebook = NotebookUI(page)
    notebook.wait_ready()
    validate = notebook.panel.locator(".validate-button")
    expect(validate).to_be_visible()

    for grade_id, answer in code.items():
        notebook.replace_code(where[grade_id], answer)
    page.artifacts.shot("code-typed")
    dialog = page.locator(".jp-Dialog")
    start = time.perf_counter()
    validate.click()  # nbgrader saves the notebook, then validates the saved file
    expect(dialog).to_contain_text("Validation Results", timeout=VALIDATE_TIMEOUT_MS)
    _report(f"{lab}: Validate answered in {time.perf_counter() - start:.1f} s")
    page.artifacts.shot("validated-without-written-answer")
    # the code passes; what is left is the written answer, still the release's stub (nbgrader
    # lists each failed cell under its own "The following cell failed:")
    expect(dialog.get_by_text("The following cell failed:", exact=True)).to_have_count(1)
    expect(dialog).to_contain_text("You did not provide a response")
    dialog.get_by_role("button", name="Ok").click()
    expect(dialog).to_have_count(0)

    for grade_id, answer in written.items():
        notebook.replace_markdown(where[grade_id], answer)
    notebook.save()
    validate.click()
    expect(dialog).to_contain_text(VALIDATE_OK, timeout=VALIDATE_TIMEOUT_MS)
    page.artifacts.shot("validated")
    on_disk = load_cells(saved)
    assert {g: cell_source(on_disk[where[g]]) for g in answers} == answers
    assert page.artifacts.page_errors() == []


def test_formgrader_lists_generates_and_releases_the_labs(page, lab_server):
    open_in_lab(page, lab_server)
    config = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent)")
    version = tuple(int(x) for x in config["appVersion"].split(".")[:2])
    assert version >= JUPYTERLAB_FLOOR, config["appVersion"]
    # nbgrader's lab extension loaded: its menu, with its four entries
    page.locator(".lm-MenuBar-itemLabel").get_by_text("Nbgrader", exact=True).click()
    entries = page.locator(".lm-Menu-content .lm-Menu-itemLabel")
    expect(entries).to_have_text(NBGRADER_MENU)
    page.artifacts.shot("nbgrader-menu")
    entries.get_by_text("Formgrader", exact=True).click()

    formgrader = page.frame_locator("iframe[src$='/formgrader']")
    labs = [d.name for d in lab_dirs(lab_server.course)]
    names = formgrader.locator("#main-table td.name")
    expect(names).to_have_text(labs, timeout=60_000)  # from the course's source folder
    page.artifacts.shot("formgrader")

    # the instructor generates lab 00's student version from formgrader, which records it in the
    # course's gradebook
    lab = LABS[0]
    formgrader.locator(f"#main-table tr:has(td.name[data-order='{lab}']) td.assign a").click()
    expect(formgrader.locator(".modal-dialog")).to_contain_text(
        f"Successfully created the student version of '{lab}'", timeout=60_000
    )
    page.artifacts.shot("generated")
    from nbgrader.api import Gradebook

    source = ROOT / "solutions" / lab / _notebook(lab)
    points = sum(
        c["metadata"]["nbgrader"].get("points", 0)
        for c in load_cells(source)
        if c["metadata"].get("nbgrader", {}).get("grade")
    )
    with Gradebook(f"sqlite:///{lab_server.course / '.nbgrader' / 'gradebook.db'}") as gradebook:
        assignment = gradebook.find_assignment(lab)
        assert [nb.name for nb in assignment.notebooks] == [source.stem]
        assert assignment.max_score == points
    release = lab_server.course / "notebooks" / lab / source.name
    assert "### BEGIN SOLUTION" not in release.read_text()
    formgrader.locator(".modal-footer button", has_text="OK").click()

    # released to the course's exchange, the lab appears in a learner's Assignment List
    formgrader.locator(f"#main-table tr:has(td.name[data-order='{lab}']) td.release a").click()
    expect(formgrader.locator(".modal-dialog")).to_contain_text("Success", timeout=60_000)
    page.artifacts.shot("released")
    page.locator(".lm-MenuBar-itemLabel").get_by_text("Nbgrader", exact=True).click()
    entries.get_by_text("Assignment List", exact=True).click()
    released = page.locator("#released_assignments_list .list_item", has_text=lab)
    released.get_by_role("button", name="Fetch").click()
    expect(page.locator("#fetched_assignments_list")).to_contain_text(lab, timeout=60_000)
    page.artifacts.shot("fetched")
    fetched = lab_server.course / lab / source.name
    assert json.loads(fetched.read_text()) == json.loads(release.read_text())
    assert page.artifacts.page_errors() == []
