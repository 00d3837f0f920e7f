"""Build hook: the wheel carries the course as ``labkit/_course`` package data.

The repository keeps its layout (``notebooks/``, ``solutions/``, ``nbgrader_config.py`` at the
top); building copies what a learner and the grader need into the package, never a second
committed copy: the releases, the nbgrader source notebooks (hidden tests included) and the
course's nbgrader configuration. The jupytext ``*.py`` sources stay behind: grading reads the
``.ipynb`` sources only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
COURSE_PACKAGE = Path("labkit") / "_course"


def course_files() -> list[Path]:
    """Paths, relative to the repository, of every course file the package carries."""
    files = [Path("nbgrader_config.py")]
    # notebooks only: a lab run in the checkout leaves results and feedback files beside them
    for top in ("notebooks", "solutions"):
        files += sorted(p.relative_to(HERE) for p in (HERE / top).glob("[0-9]*/*.ipynb"))
    return files


class BuildPyWithCourse(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / COURSE_PACKAGE
        for rel in course_files():
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(HERE / rel, dest)


setup(cmdclass={"build_py": BuildPyWithCourse})
