"""Driving nbgrader in-process with the course's own configuration, in any course directory."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labkit.grading._paths import course_root

__all__ = ["api_for", "course_config", "run_step"]


def course_config(
    root: Path | str | None = None,
    *,
    db_url: str | None = None,
    source: str | None = None,
    release: str | None = None,
    sandbox: bool | None = None,
) -> Any:
    """The traitlets config of ``nbgrader_config.py``, re-rooted at ``root``.

    Kernel name, per-cell timeout, ignore pattern and file filters come from the course file, so
    self-grading, class grading and the instructor's own nbgrader commands grade alike.
    ``sandbox`` overrides the course's ``GuardedExecute.sandbox`` (``True``: require it).
    """
    from traitlets.config.loader import PyFileConfigLoader

    course = course_root()
    loader = PyFileConfigLoader("nbgrader_config.py", path=str(course))
    config = loader.load_config()
    if root is not None:
        config.CourseDirectory.root = str(Path(root).resolve())
        config.CourseDirectory.db_url = db_url or f"sqlite:///{Path(root).resolve()}/gradebook.db"
        # A scratch course never exchanges files; give it a writable exchange so nbgrader does
        # not complain about the system-wide one.
        exchange = Path(root).resolve() / "exchange"
        exchange.mkdir(parents=True, exist_ok=True)
        config.Exchange.root = str(exchange)
    elif db_url is not None:
        config.CourseDirectory.db_url = db_url
    if source is not None:
        config.CourseDirectory.source_directory = source
    if release is not None:
        config.CourseDirectory.release_directory = release
    if sandbox is not None:
        config.GuardedExecute.sandbox = "require" if sandbox else "off"
    return config


@contextlib.contextmanager
def _nbgrader_environment() -> Iterator[None]:
    """nbgrader runs ``alembic`` by name when it creates a gradebook: put our venv on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    old = os.environ.get("PATH", "")
    if bin_dir not in old.split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + old
    try:
        yield
    finally:
        os.environ["PATH"] = old


def api_for(config: Any) -> Any:
    """An ``NbGraderAPI`` for ``config`` whose own logging stays quiet."""
    from nbgrader.apps import NbGraderAPI

    config.NbGraderAPI.log_level = "ERROR"
    config.Application.log_level = "ERROR"
    api = NbGraderAPI(config=config)
    api.log.setLevel(logging.ERROR)
    return api


def run_step(step: str, config: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run one NbGraderAPI method (``generate_assignment``, ``autograde``, ...) quietly.

    Raises ``RuntimeError`` with nbgrader's captured log when the step fails.
    """
    with (
        _nbgrader_environment(),
        contextlib.redirect_stdout(io.StringIO()),
        warnings.catch_warnings(),
    ):
        # SQLAlchemy 2.1 warns about nbgrader's session handling when a student is created;
        # harmless (docs/reference.md, "nbgrader 0.9.6"), and it would bury the one line a
        # learner needs.
        warnings.filterwarnings("ignore", message=".*not in session.*")
        api = api_for(config)
        result = getattr(api, step)(*args, **kwargs)
    if not result.get("success", False):
        detail = (result.get("error") or result.get("log") or "").strip()
        raise RuntimeError(f"nbgrader {step} failed:\n{detail}")
    return result
