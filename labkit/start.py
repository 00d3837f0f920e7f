"""``labkit start``: the released notebooks in a workspace of the learner's, then JupyterLab.

The workspace records what it was given (``.labkit-course.json``: course, version, and the hash
of every notebook as copied), so a later release updates only what the learner left untouched.
An edited notebook is kept and the new release is written beside it as
``<name>.release-<version>.ipynb``. A folder that is a file, cannot be written, or holds another
course (another course's record, or notebooks with our names the record does not know) is refused
before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from labkit import __version__
from labkit._atomic import write_atomic
from labkit.grading._paths import course_root

__all__ = ["DEFAULT_WORKSPACE", "MANIFEST", "StartError", "Workspace", "jupyter_command", "sync"]

DEFAULT_WORKSPACE = "labkit-course"
MANIFEST = ".labkit-course.json"
COURSE_ID = "labkit"


class StartError(Exception):
    """The workspace cannot take the course (nothing was written)."""


@dataclass
class Workspace:
    """What :func:`sync` did to a workspace, one list of relative paths per outcome."""

    root: Path
    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # edited, and the release written beside
    unchanged: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"workspace {self.root}"]
        out += [f"  copied     {p}" for p in self.copied]
        out += [f"  updated    {p} (you had not edited it)" for p in self.updated]
        out += [
            f"  kept       {p} (your edits); the new release is {_beside(p)}" for p in self.kept
        ]
        if self.unchanged:
            out.append(f"  {len(self.unchanged)} notebook(s) already up to date")
        return out


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _beside(rel: str) -> str:
    path = Path(rel)
    return str(path.with_name(f"{path.stem}.release-{__version__}{path.suffix}"))


def _releases() -> dict[str, bytes]:
    """Relative path -> bytes of every file of the release (``notebooks/`` of the course)."""
    release = course_root() / "notebooks"
    return {
        p.relative_to(release).as_posix(): p.read_bytes()
        for p in sorted(release.glob("[0-9]*/*"))
        if p.is_file() and ".ipynb_checkpoints" not in p.parts and p.suffix == ".ipynb"
    }


def _read_manifest(root: Path) -> dict[str, str]:
    path = root / MANIFEST
    if not path.exists():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StartError(f"{path} is not a labkit workspace record ({err})") from None
    if not isinstance(record, dict) or record.get("course") != COURSE_ID:
        course = record.get("course") if isinstance(record, dict) else None
        raise StartError(
            f"{root} holds another course ({MANIFEST} names {course!r}, not {COURSE_ID!r}); "
            "choose another folder"
        )
    files = record.get("files", {})
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


def _check_writable(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=root, prefix=".labkit-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise StartError(f"cannot write to {root} ({err.strerror or err})") from None


def sync(directory: str | Path = DEFAULT_WORKSPACE) -> Workspace:
    """Copy the release into ``directory``, updating only notebooks the learner left untouched.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     first, again = sync(tmp), sync(tmp)
    >>> len(first.copied) > 0, again.copied, len(again.unchanged) == len(first.copied)
    (True, [], True)
    """
    root = Path(directory).expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise StartError(f"{root} is a file, not a folder; choose a folder for the workspace")
    known = _read_manifest(root) if root.is_dir() else {}
    releases = _releases()
    plan: list[tuple[str, str, bytes]] = []  # (outcome, relative path written, bytes)
    foreign = []
    for rel, data in releases.items():
        target = root / rel
        new = _digest(data)
        if not target.exists():
            plan.append(("copied", rel, data))
            continue
        have = _digest(target.read_bytes())
        if rel not in known:
            if have == new:
                plan.append(("unchanged", rel, data))  # adopt an identical copy
            else:
                foreign.append(rel)
        elif have == new:
            plan.append(("unchanged", rel, data))
        elif have == known[rel]:
            plan.append(("updated", rel, data))
        elif new == known[rel]:
            plan.append(("unchanged", rel, b""))  # edited, and no newer release to offer
        else:
            plan.append(("kept", rel, data))
    if foreign:
        raise StartError(
            f"{root} already has notebooks named like this course's that labkit did not put "
            f"there ({', '.join(foreign)}); choose another folder"
        )
    _check_writable(root)
    report = Workspace(root)
    record = dict(known)
    for outcome, rel, data in plan:
        if outcome in ("copied", "updated"):
            _write(root / rel, data)
            record[rel] = _digest(data)
        elif outcome == "kept":
            beside = root / _beside(rel)
            if not beside.exists() or beside.read_bytes() != data:
                _write(beside, data)
        elif data:
            record[rel] = _digest(data)
        getattr(report, outcome).append(rel)
        # the record follows every write: an interrupted run never mistakes a copy for an edit
        manifest = {"course": COURSE_ID, "version": __version__, "files": record}
        _write(root / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
    return report


def jupyter_command(root: Path, port: int | None = None) -> list[str]:
    """JupyterLab on ``root``: localhost only, token kept, ``allow_root`` only for root."""
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root}",
    ]
    if port is not None:
        cmd.append(f"--ServerApp.port={port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--ServerApp.allow_root=True")  # containers and CI machines often are root
    return cmd
