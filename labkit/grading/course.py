"""Build the course from its sources and check that what is committed matches them.

One source of truth per notebook: ``solutions/<lab>/<name>.py`` (jupytext percent format with
nbgrader metadata in the cell headers). :func:`build` turns it into the nbgrader source notebook
``solutions/<lab>/<name>.ipynb`` and runs nbgrader's ``generate_assignment`` to make the learner's
copy in ``notebooks/<lab>/``. :func:`check` rebuilds both in memory and reports what is stale, and
scans the released notebooks for solutions or hidden tests that leaked.

Every notebook opens with the same set-up cell (:data:`SETUP_CELL`), inserted here rather than
written in each source, so a notebook opened where labkit is not installed (Colab, Kaggle, a
JupyterHub image) installs the course package first.
"""

from __future__ import annotations

import filecmp
import json
import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.grading._nbgrader import course_config, run_step
from labkit.grading._paths import course_root, lab_dirs

__all__ = [
    "SETUP_CELL",
    "CourseProblem",
    "build",
    "check",
    "notebook_from_source",
    "setup_cell_source",
    "source_files",
]

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
_SOLUTION = re.compile(r"### BEGIN SOLUTION(.*?)### END SOLUTION", re.S)
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)
_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
SETUP_CELL_ID = "labkit-setup"
# pip gives up after one short try (no network: the learner reads what to install at once), and
# never upgrades what already satisfies a range, so Colab's CUDA torch stays.
SETUP_CELL = """\
# Set-up: where labkit is not installed (Colab, Kaggle, a JupyterHub image), install the course.
# LABKIT_INSTALL_SPEC overrides what is installed (a wheel's path, a fork's git URL).
import importlib
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("labkit") is None:
    _spec = os.environ.get("LABKIT_INSTALL_SPEC", "labkit[cpu] @ git+{homepage}")
    print(f"labkit is not installed here: pip install {{_spec!r}} ...", flush=True)
    _pip = [sys.executable, "-m", "pip", "install", "--quiet", "--timeout", "10", "--retries", "0"]
    if subprocess.run([*_pip, _spec]).returncode != 0:
        raise RuntimeError(
            f"could not install labkit (no network?); install it, then restart: pip install {{_spec!r}}"
        )
    importlib.invalidate_caches()
"""


@dataclass(frozen=True)
class CourseProblem:
    """One thing wrong with the committed course, found by :func:`check`.

    Examples
    --------
    >>> print(CourseProblem("notebooks/00_orientation/00_orientation.ipynb", "stale release"))
    notebooks/00_orientation/00_orientation.ipynb: stale release
    """

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def source_files(lab_dir: Path) -> list[Path]:
    """The jupytext notebook sources of one lab (``*.py`` files with ``# %%`` cells)."""
    return sorted(
        p for p in lab_dir.glob("*.py") if "\n# %%" in "\n" + p.read_text(encoding="utf-8")
    )


def _homepage() -> str:
    """pyproject's ``[project.urls] Homepage``: from the checkout, else the installed metadata."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if pyproject.is_file():
        return tomllib.loads(pyproject.read_text("utf-8"))["project"]["urls"]["Homepage"]
    from importlib.metadata import metadata

    urls = dict(u.split(", ", 1) for u in metadata("labkit").get_all("Project-URL") or [])
    return urls["Homepage"]


def setup_cell_source() -> str:
    """The set-up cell, installing from pyproject's ``[project.urls] Homepage`` repository.

    Examples
    --------
    >>> 'find_spec("labkit")' in setup_cell_source()
    True
    """
    return SETUP_CELL.format(homepage=_homepage()).rstrip("\n")


def notebook_from_source(path: Path) -> Any:
    """Convert one jupytext source into the nbgrader source notebook, deterministically.

    The set-up cell (:func:`setup_cell_source`) comes first, ungraded.
    """
    import jupytext
    import nbformat

    nb = jupytext.read(path, fmt="py:percent")
    nb.cells.insert(0, nbformat.v4.new_code_cell(setup_cell_source()))
    nb.metadata = nbformat.from_dict(
        {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    )
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell_id = grade_id or (SETUP_CELL_ID if index == 0 else f"cell-{index:03d}")
        if cell_id in seen:
            raise ValueError(f"{path}: grade_id {cell_id!r} is used by more than one cell")
        seen.add(cell_id)
        cell["id"] = cell_id
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    return nb


def _dumps(nb: Any) -> str:
    import nbformat

    return nbformat.writes(nb) + "\n"


def _normalized(path: Path) -> str:
    """A notebook's JSON with keys sorted, for comparison."""
    return json.dumps(json.loads(path.read_text(encoding="utf-8")), sort_keys=True)


def _generate_release(
    lab_dir: Path, workdir: Path, notebooks: dict[str, str] | None = None
) -> Path:
    """Run generate_assignment on a scratch copy of ``lab_dir``; return its release folder.

    ``notebooks`` (file name -> JSON text) replaces source notebooks in the copy, so a check can
    release what the jupytext sources produce without writing into the course.
    """
    scratch = workdir / "course"
    lab = lab_dir.name
    shutil.copytree(lab_dir, scratch / "solutions" / lab)
    for name, text in (notebooks or {}).items():
        (scratch / "solutions" / lab / name).write_text(text, encoding="utf-8")
    config = course_config(scratch, db_url=f"sqlite:///{workdir / 'gradebook.db'}")
    run_step("generate_assignment", config, lab, force=True)
    return scratch / "notebooks" / lab


def _write_sources(lab_dir: Path) -> list[Path]:
    written = []
    for src in source_files(lab_dir):
        target = src.with_suffix(".ipynb")
        text = _dumps(notebook_from_source(src))
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def _replace_dir(new: Path, target: Path) -> None:
    """Swap ``new`` in for ``target`` so a failed build never leaves a half-written release."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    staged = target.with_name(f".{target.name}.new")
    if staged.exists():
        shutil.rmtree(staged)
    shutil.copytree(new, staged)
    if target.exists():
        target.rename(old)
    staged.rename(target)
    if old.exists():
        shutil.rmtree(old)


def _selected(root: Path, labs: list[str] | None) -> list[Path]:
    dirs = lab_dirs(root)
    if not labs:
        return dirs
    known = {d.name: d for d in dirs}
    unknown = [lab for lab in labs if lab not in known]
    if unknown:
        raise ValueError(f"labs {unknown} do not exist; known labs: {sorted(known)}")
    return [known[lab] for lab in labs]


def build(labs: list[str] | None = None, *, if_stale: bool = False) -> list[str]:
    """Regenerate source notebooks and releases; returns the labs that were rebuilt."""
    root = course_root()
    rebuilt = []
    for lab_dir in _selected(root, labs):
        if if_stale and not check([lab_dir.name]):
            continue
        _write_sources(lab_dir)
        with tempfile.TemporaryDirectory(prefix="labkit-build-") as tmp:
            release = _generate_release(lab_dir, Path(tmp))
            _replace_dir(release, root / "notebooks" / lab_dir.name)
        rebuilt.append(lab_dir.name)
    return rebuilt


def _leaks(release_nb: Path, source_nb: Path) -> list[str]:
    """Solution or hidden-test text from the source that is still in the released notebook."""
    released = json.loads(release_nb.read_text(encoding="utf-8"))
    text = "\n".join("".join(c.get("source", "")) for c in released.get("cells", []))
    found = [f"marker {m!r} present" for m in _MARKERS if m in text]
    if source_nb.exists():
        source = json.loads(source_nb.read_text(encoding="utf-8"))
        for cell in source.get("cells", []):
            body = "".join(cell.get("source", ""))
            meta = cell.get("metadata", {}).get("nbgrader", {})
            blocks = _SOLUTION.findall(body) + _HIDDEN.findall(body)
            if cell.get("cell_type") == "markdown" and meta.get("solution"):
                blocks.append(body)  # a written answer: the whole cell is the model answer
            for block in blocks:
                lines = [ln.strip() for ln in block.splitlines() if len(ln.strip()) > 20]
                if lines and all(ln in text for ln in lines):
                    found.append(f"cell {meta.get('grade_id', '?')!r} leaks its solution")
    return found


def check(labs: list[str] | None = None) -> list[CourseProblem]:
    """Everything stale or leaking in the committed course (empty list: all good)."""
    root = course_root()
    problems: list[CourseProblem] = []
    selected = _selected(root, labs)
    released_labs = {p.name for p in (root / "notebooks").glob("[0-9]*") if p.is_dir()}
    if not labs:
        for orphan in sorted(released_labs - {d.name for d in selected}):
            problems.append(CourseProblem(f"notebooks/{orphan}", "released lab has no source"))
    for lab_dir in selected:
        rel = lab_dir.relative_to(root)
        sources = source_files(lab_dir)
        if not sources:
            problems.append(CourseProblem(str(rel), "no notebook source (*.py with # %% cells)"))
            continue
        expected = {
            src.with_suffix(".ipynb").name: _dumps(notebook_from_source(src)) for src in sources
        }
        for name, text in expected.items():
            target = lab_dir / name
            if not target.exists() or _normalized(target) != json.dumps(
                json.loads(text), sort_keys=True
            ):
                problems.append(
                    CourseProblem(str(target.relative_to(root)), "stale: run `labkit course build`")
                )
        release_dir = root / "notebooks" / lab_dir.name
        with tempfile.TemporaryDirectory(prefix="labkit-check-") as tmp:
            # Compare against the release the *current* sources produce.
            fresh = _generate_release(lab_dir, Path(tmp), notebooks=expected)
            problems += _compare_release(fresh, release_dir, root)
        for nb in sorted(release_dir.glob("*.ipynb")):
            for leak in _leaks(nb, lab_dir / nb.name):
                problems.append(CourseProblem(str(nb.relative_to(root)), leak))
    return problems


def _compare_release(fresh: Path, committed: Path, root: Path) -> list[CourseProblem]:
    rel = str(committed.relative_to(root))
    if not committed.is_dir():
        return [CourseProblem(rel, "missing: run `labkit course build`")]
    problems = []
    fresh_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    committed_files = {
        p.relative_to(committed)
        for p in committed.rglob("*")
        if p.is_file()
        and not p.name.endswith("_results.json")
        and ".ipynb_checkpoints" not in str(p)
    }
    for name in sorted(fresh_files ^ committed_files):
        state = "missing" if name in fresh_files else "not produced by the source"
        problems.append(CourseProblem(f"{rel}/{name}", f"{state}: run `labkit course build`"))
    for name in sorted(fresh_files & committed_files):
        a, b = fresh / name, committed / name
        same = (
            _normalized(a) == _normalized(b)
            if name.suffix == ".ipynb"
            else filecmp.cmp(a, b, shallow=False)
        )
        if not same:
            problems.append(CourseProblem(f"{rel}/{name}", "stale: run `labkit course build`"))
    return problems
