"""Where the course lives: the repository holding ``nbgrader_config.py`` and ``solutions/``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["LAB_IDS", "course_root", "lab_dirs"]

LAB_IDS = ("00_orientation", "01_gpu_training", "02_latency", "03_drift", "04_scaling")
ENV_VAR = "LABKIT_COURSE_ROOT"


def course_root() -> Path:
    """The course directory: ``LABKIT_COURSE_ROOT``, else the checkout labkit was installed from.

    Works from any working directory, so a learner can grade a notebook saved anywhere.
    """
    env = os.environ.get(ENV_VAR)
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2])
    for root in candidates:
        if (root / "nbgrader_config.py").is_file() and (root / "solutions").is_dir():
            return root.resolve()
    where = env or str(candidates[-1])
    raise FileNotFoundError(
        f"no labkit course found at {where!r} (expected nbgrader_config.py and solutions/); "
        f"install labkit from a checkout of the course or set {ENV_VAR}"
    )


def lab_dirs(root: Path | None = None) -> list[Path]:
    """Source folders of the labs that exist, in course order."""
    source = (root or course_root()) / "solutions"
    return sorted(p for p in source.iterdir() if p.is_dir() and p.name[:2].isdigit())
