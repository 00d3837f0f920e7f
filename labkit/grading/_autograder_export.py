"""``labkit export-autograder``: one lab packaged as a hosted grader's autograder (Gradescope).

The zip holds everything Gradescope's image needs, since it has no checkout of the course:

``setup.sh``
    Run once when Gradescope builds the image: bubblewrap from apt, a virtual environment at
    ``/opt/labkit`` with CPU PyTorch and the labkit wheel below, labkit's grading kernel.
``run_autograder``
    :mod:`labkit.grading._gradescope_runner`: ``labkit grade --json`` on each submitted notebook,
    then ``/autograder/results/results.json`` in Gradescope's format.
``labkit-<version>-py3-none-any.whl``
    The labkit that exports, packed from its installed files (checkout or install alike; no build
    backend or network needed), so the grader runs the same code and the same integrity rules.
``course/``
    ``nbgrader_config.py`` and the lab's source folder (hidden tests included, which is why the
    zip is for instructors only); ``run_autograder`` points ``LABKIT_COURSE_ROOT`` at it.
``autograder.json``
    The lab, its notebooks, every autograded test cell with its points, the manual points and the
    tests' visibility: what the runner reports when a submission is missing or broken.

The zip is written to a temporary file beside the target and renamed, so a failed export leaves
no partial zip.
"""

from __future__ import annotations

import base64
import csv
import fnmatch
import hashlib
import io
import json
import stat
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

from labkit._atomic import atomic_path
from labkit._validate import check_choice
from labkit.grading._paths import course_root, lab_dirs

__all__ = ["TARGETS", "VISIBILITIES", "export_autograder", "lab_spec", "wheel_bytes"]

TARGETS = ("gradescope",)
# Gradescope's visibility values for a test (and for the whole result)
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
TORCH_CPU = "2.13.0"  # the CPU build the course's Makefile and deploy images install
RUNNER = Path(__file__).with_name("_gradescope_runner.py")
# never packed: byte code, checkpoints, and what labs write beside the notebooks
_SKIP = ("__pycache__", "*.pyc", ".ipynb_checkpoints")

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu, python3).
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
apt-get update -qq
# bubblewrap: the grading sandbox (it runs where the container allows user namespaces)
apt-get install -y -qq bubblewrap python3-venv >/dev/null
PYTHON=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  # labkit needs Python >= 3.11; Ubuntu 22.04 has it as python3.11 (universe)
  apt-get install -y -qq python3.11 python3.11-venv >/dev/null
  PYTHON=python3.11
fi
VENV="${{LABKIT_VENV:-/opt/labkit}}"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# CPU PyTorch first, so the wheel's torch requirement is already met by the small CPU build
"$VENV/bin/python" -m pip install --quiet --index-url https://download.pytorch.org/whl/cpu \\
  "torch=={torch}"
"$VENV/bin/python" -m pip install --quiet "./{wheel}[cpu]"
# the grading kernel (CPU-time and memory limits, sandbox) as the venv's python3 kernelspec
"$VENV/bin/python" -m labkit.grading._kernel install
"$VENV/bin/labkit" doctor || true
"""


def _skipped(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def _files(folder: Path, patterns: tuple[str, ...]) -> list[Path]:
    """Files under ``folder`` whose path has no part matching ``patterns``, sorted."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(_skipped(part, patterns) for part in p.relative_to(folder).parts)
    )


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def wheel_bytes() -> tuple[str, bytes]:
    """The running labkit as a pure-Python wheel: (file name, contents).

    Packed from the imported package's files and the installed distribution's metadata
    (PEP 427 layout, RECORD with hashes), so it is the code that exports, editable or not.

    Examples
    --------
    >>> name, data = wheel_bytes()
    >>> name.startswith("labkit-") and name.endswith("-py3-none-any.whl")
    True
    """
    import labkit

    try:
        dist = metadata.distribution("labkit")
    except metadata.PackageNotFoundError:
        raise ValueError(
            "labkit is not installed as a distribution (pip install -e . in the checkout), "
            "so its wheel cannot be packed"
        ) from None
    package = Path(labkit.__file__).resolve().parent
    info = f"labkit-{dist.version}.dist-info"
    entries: list[tuple[str, bytes]] = [
        (f"labkit/{p.relative_to(package).as_posix()}", p.read_bytes())
        for p in _files(package, _SKIP)
    ]
    wheel_meta = "Wheel-Version: 1.0\nGenerator: labkit\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    # a checkout's egg-info (found first when the checkout is on sys.path) names it PKG-INFO
    core = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
    if not core:
        raise ValueError(f"labkit's installed metadata has no METADATA or PKG-INFO ({dist!r})")
    entries.append((f"{info}/METADATA", core.encode()))
    entries.append((f"{info}/WHEEL", wheel_meta.encode()))
    entry_points = dist.read_text("entry_points.txt")
    if entry_points:
        entries.append((f"{info}/entry_points.txt", entry_points.encode()))
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in entries:
        writer.writerow([name, _record_hash(data), len(data)])
    writer.writerow([f"{info}/RECORD", "", ""])
    entries.append((f"{info}/RECORD", record.getvalue().encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as whl:
        for name, data in entries:
            whl.writestr(name, data)
    return f"labkit-{dist.version}-py3-none-any.whl", buffer.getvalue()


def lab_spec(lab: str, root: Path | None = None, visibility: str = "visible") -> dict[str, Any]:
    """What ``run_autograder`` needs to know about ``lab``: notebooks, test cells, points."""
    root = root or course_root()
    labs = {d.name: d for d in lab_dirs(root)}
    check_choice(lab, "lab", tuple(labs))
    check_choice(visibility, "visibility", VISIBILITIES)
    from labkit.grading.selfgrade import _grade_cells, _load  # nbgrader: only once lab is valid

    notebooks, tests, manual = [], [], 0.0
    for source in sorted(labs[lab].glob("*.ipynb")):
        notebooks.append(source.name)
        for meta in _grade_cells(_load(source)):
            if not meta.get("grade"):
                continue
            points = float(meta.get("points", 0))
            if meta.get("solution") or meta.get("task"):
                manual += points
            else:
                tests.append(
                    {"grade_id": meta["grade_id"], "max_score": points, "notebook": source.name}
                )
    return {
        "lab": lab,
        "notebooks": notebooks,
        "tests": tests,
        "manual_points": manual,
        "visibility": visibility,
    }


def _course_ignore() -> tuple[str, ...]:
    """The course's own ``CourseDirectory.ignore`` patterns (what never travels with a lab)."""
    from labkit.grading._nbgrader import course_config

    return (*_SKIP, *course_config().CourseDirectory.ignore)


def _add(zf: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    mode = 0o755 if executable else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    zf.writestr(info, data)


def export_autograder(
    target: str,
    lab: str,
    out: str | Path | None = None,
    *,
    visibility: str = "visible",
) -> Path:
    """Write ``lab``'s autograder for ``target`` (only ``"gradescope"``) and return its path.

    Parameters
    ----------
    target
        The hosted grader: ``"gradescope"``.
    lab
        A lab of the course (``labkit.grading.LAB_IDS``) whose source folder exists.
    out
        The zip to write; a folder puts ``<lab>_gradescope.zip`` in it. Default: that name in
        the working directory. Parent folders are created; an existing file is replaced.
    visibility
        Gradescope's visibility of the tests and the result: ``"visible"``, ``"hidden"``,
        ``"after_due_date"`` or ``"after_published"``.
    """
    check_choice(target, "target", TARGETS)
    root = course_root()
    spec = lab_spec(lab, root, visibility)
    default = f"{lab}_{target}.zip"
    path = Path(out).expanduser() if out is not None else Path(default)
    if path.is_dir():
        path = path / default
    wheel_name, wheel = wheel_bytes()
    ignore = _course_ignore()
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0600: the zip holds the hidden tests
    with atomic_path(path, mode=0o600) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        _add(zf, "setup.sh", SETUP_SH.format(torch=TORCH_CPU, wheel=wheel_name).encode(), True)
        runner = RUNNER.read_text(encoding="utf-8")
        _add(zf, "run_autograder", f"#!/usr/bin/env python3\n{runner}".encode(), True)
        _add(zf, "autograder.json", json.dumps(spec, indent=2).encode())
        _add(zf, wheel_name, wheel)
        _add(zf, "course/nbgrader_config.py", (root / "nbgrader_config.py").read_bytes())
        lab_dir = root / "solutions" / lab
        for file in _files(lab_dir, ignore):
            _add(zf, f"course/solutions/{lab}/{file.relative_to(lab_dir).as_posix()}",
                 file.read_bytes())  # fmt: skip
    return path
