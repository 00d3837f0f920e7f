"""Where the course lives: a folder holding ``nbgrader_config.py`` and ``solutions/``.

Three places, in order: ``LABKIT_COURSE_ROOT``; the checkout labkit runs from (an editable
install, ``make``); the course a wheel carries as package data (``labkit/_course``, added by
``setup.py``). The packaged course may be read-only (site-packages): nothing writes into it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["LAB_IDS", "course_root", "lab_dirs", "packaged_course", "user_data_dir"]

LAB_IDS = ("00_orientation", "01_gpu_training", "02_latency", "03_drift", "04_scaling")
ENV_VAR = "LABKIT_COURSE_ROOT"
_PACKAGE = Path(__file__).resolve().parents[1]


def _is_course(root: Path) -> bool:
    return (root / "nbgrader_config.py").is_file() and (root / "solutions").is_dir()


def packaged_course() -> Path:
    """Where an installed wheel keeps the course (it may not exist in a checkout)."""
    return _PACKAGE / "_course"


def user_data_dir() -> Path:
    """labkit's folder in the user's data directory (``$XDG_DATA_HOME/labkit``, else
    ``~/.local/share/labkit``): what outlives a notebook or an upgrade of the package."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "labkit"


def course_root() -> Path:
    """The course directory: ``LABKIT_COURSE_ROOT``, else the checkout, else the package data.

    Works from any working directory, so a learner can grade a notebook saved anywhere. A set
    ``LABKIT_COURSE_ROOT`` that holds no course is an error, never silently passed over.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        if _is_course(Path(env)):
            return Path(env).resolve()
        where = env
    else:
        for root in (_PACKAGE.parent, packaged_course()):
            if _is_course(root):
                return root.resolve()
        where = f"{_PACKAGE.parent} or {packaged_course()}"
    raise FileNotFoundError(
        f"no labkit course found at {where!r} (expected nbgrader_config.py and solutions/); "
        f"install labkit from its wheel or a checkout of the course, or set {ENV_VAR}"
    )


def lab_dirs(root: Path | None = None) -> list[Path]:
    """Source folders of the labs that exist, in course order."""
    source = (root or course_root()) / "solutions"
    return sorted(p for p in source.iterdir() if p.is_dir() and p.name[:2].isdigit())
