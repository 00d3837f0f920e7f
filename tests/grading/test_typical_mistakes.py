"""Every exercise's typical mistakes lose marks and its honest rewrites keep them
(docs/exercises.md, "The hidden test catches the typical mistake").

One kernel per lab runs the source notebook top to bottom with grading sizes
(``NBGRADER_EXECUTION``). At each exercise it first tries the lab's cases from
``tests/grading/mistakes/``: the case's cell, then every test cell of that exercise, visible and
hidden. Then the model solution runs and the notebook goes on, so each case sees exactly the
state a learner's cell would. A case that raises in its own cell counts as failing its tests
(nbgrader would score the tests after it 0 as well).
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from labkit.grading._paths import course_root, lab_dirs

sys.path.insert(0, str(Path(__file__).parent))
import adversary as adv
from mistakes import Case

ROOT = course_root()
# tests/grading/mistakes/labNN.py holds the cases of the lab whose id starts with NN
LABS = {
    f"lab{d.name[:2]}": d.name
    for d in lab_dirs(ROOT)
    if (Path(__file__).parent / "mistakes" / f"lab{d.name[:2]}.py").exists()
}


def _exercises(nb) -> dict[str, tuple[int, list[int]]]:
    """Solution grade_id -> (its cell index, the indices of the test cells after it)."""
    return {
        ex.grade_id: (adv._index(nb, ex.grade_id), [adv._index(nb, t.grade_id) for t in ex.tests])
        for ex in adv.exercises(nb)
    }


def _failure(client: NotebookClient, source: str, index: int) -> str | None:
    """None if the cell runs cleanly, else its error in one line."""
    cell = nbformat.v4.new_code_cell(source)
    try:
        client.execute_cell(cell, index)
    except CellExecutionError as error:
        return f"{error.ename}: {error.evalue}"[:300]
    return None


def _cases(module: str) -> list[Case]:
    return importlib.import_module(f"mistakes.{module}").CASES


@pytest.mark.course
@pytest.mark.slow
@pytest.mark.parametrize("module", sorted(LABS))
def test_mistakes_lose_marks_and_honest_rewrites_keep_them(module, tmp_path):
    lab = LABS[module]
    cases = _cases(module)
    work = tmp_path / lab
    shutil.copytree(ROOT / "solutions" / lab, work)
    outcomes: list[str] = []
    covered: set[str] = set()
    for path in sorted(work.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        exercises = _exercises(nb)
        at = {index: gid for gid, (index, _) in exercises.items()}
        env = {k: v for k, v in os.environ.items() if k not in ("LABKIT_SANDBOX", "LABKIT_DB_URL")}
        env["NBGRADER_EXECUTION"] = "autograde"
        client = NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}}
        )
        with client.setup_kernel(env=env):
            for i, cell in enumerate(nb.cells):
                if i in at:
                    gid = at[i]
                    tests = [nb.cells[t].source for t in exercises[gid][1]]
                    for case in (c for c in cases if c.grade_id == gid):
                        covered.add(gid)
                        failure = _failure(client, case.code(), i)
                        for test in tests:
                            failure = failure or _failure(client, test, i)
                        if case.honest and failure:
                            outcomes.append(
                                f"{gid}: honest rewrite lost marks: {case.name}: {failure}"
                            )
                        if not case.honest and not failure:
                            outcomes.append(f"{gid}: mistake passed: {case.name}")
                if cell.cell_type == "code":
                    client.execute_cell(cell, i)
        for gid in exercises:
            honest = [c for c in cases if c.grade_id == gid and c.honest]
            wrong = [c for c in cases if c.grade_id == gid and not c.honest]
            if len(honest) < 1 or len(wrong) < 2:
                have = f"has {len(honest)} and {len(wrong)}"
                outcomes.append(f"{gid}: needs 1 honest rewrite and 2 mistakes, {have}")
    unknown = {c.grade_id for c in cases} - covered
    assert not unknown, f"cases for exercises the lab does not have: {sorted(unknown)}"
    assert not outcomes, "\n".join(outcomes)
