"""Adversarial submissions: each has an expected score per test cell, graded for real.

* Every lab (found on disk, so a lab added later is covered): one submission with one trick per
  exercise (answers that equal anything, answers right only for the visible inputs, `sys.exit`,
  warnings, a slower solution, megabytes of output), through `labkit grade --json`.
* Lab 00 (the cheapest notebook) carries the expensive cases through a plain `nbgrader
  autograde` of several students at once: a kernel that cannot be interrupted, a kernel that
  dies, a memory hog under the grading kernel's limit, an infinite loop, edited / retyped /
  deleted / reordered test cells, a monkeypatched builtin, corrupted JSON, a missing notebook
  and an extra unrelated one.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import adversary as adv

from labkit.grading._kernel import installed
from labkit.grading._paths import course_root, lab_dirs

ROOT = course_root()
LABS = [d.name for d in lab_dirs(ROOT)]
HERE = Path(__file__).parent
BIN = str(Path(sys.executable).parent)
LAB0 = "00_orientation"


def _env(share: Path, **extra: str) -> dict[str, str]:
    """The grader's environment: the tricks' module in ``share``, a folder the sandboxed kernel
    may read and write (its ``tricks.log`` says which tricks fired)."""
    share.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HERE / "adversary_runtime.py", share / "adversary_runtime.py")
    env = {k: v for k, v in os.environ.items() if k not in ("LABKIT_DB_URL", "NBGRADER_EXECUTION")}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(share), env.get("PYTHONPATH")) if p)
    env["LABKIT_SANDBOX_SHARE"] = str(share)
    env.update(extra)
    return env


def _notebooks(lab: str) -> list[tuple[Path, Path]]:
    return [
        (src, ROOT / "notebooks" / lab / src.name)
        for src in sorted((ROOT / "solutions" / lab).glob("*.ipynb"))
    ]


def _fired(log: Path) -> set[str]:
    return set(log.read_text().splitlines()) if log.exists() else set()


@pytest.mark.course
@pytest.mark.slow
@pytest.mark.parametrize("lab", LABS)
def test_one_trick_per_exercise_scores_as_expected(lab, tmp_path):
    assert _notebooks(lab), f"{lab} has no built notebook: run `labkit course build {lab}`"
    for source, release in _notebooks(lab):
        nb, expected, plan = adv.mixed(adv.load(source), adv.load(release))
        submission = adv.write(nb, tmp_path / "my work" / f"{source.stem}-attempt.ipynb")
        share = tmp_path / f"share-{source.stem}"
        log = share / "tricks.log"
        html = tmp_path / f"{source.stem}_feedback.html"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "labkit.cli",
                "grade",
                str(submission),
                "--json",
                "--feedback",
                str(html),
            ],
            env=_env(share),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        report = json.loads(result.stdout)  # stdout holds exactly one object, flood or not
        got = {t["grade_id"]: t["score"] for t in report["tests"]}
        wrong = {
            gid: f"trick {plan.get(gid.removesuffix('_test'), plan)!r}: expected {want}, got "
            f"{got.get(gid)}"
            for gid, want in expected.items()
            if got.get(gid) != want
        }
        assert not wrong, f"{lab}/{source.name}: tests fooled or honest work penalised: {wrong}"
        fired = _fired(log)
        silent = [f"{t} {ex}" for ex, t in plan.items() if f"{t} {ex}" not in fired]
        assert not silent, (
            f"tricks that never ran (the test above proves nothing for them): {silent}"
        )
        assert report["score"] == sum(expected.values())
        text = _text_of_html(html)
        leaked = [ln for ln in _hidden_lines(source, release) if ln in text]
        assert not leaked, f"feedback shows hidden tests' source: {leaked[:5]}"
        assert "Feedback:" in _text_of_html(html)  # failed exercises say why


def _text_of_html(path: Path) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def _hidden_lines(source: Path, release: Path) -> list[str]:
    """Distinctive lines of the source notebook's hidden-test blocks: in neither the release nor
    the rest of the source (a hidden line that repeats the solution's own code, such as
    `scaler.scale(loss).backward()`, legitimately appears in feedback as the learner's code)."""
    hidden = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)
    cells = ["".join(cell.get("source", "")) for cell in adv.load(source)["cells"]]
    shown = release.read_text() + "\n".join(hidden.sub("", text) for text in cells)
    lines = []
    for text in cells:
        for block in hidden.findall(text):
            lines += [
                ln.strip()
                for ln in block.splitlines()
                if len(ln.strip()) >= 25
                and json.dumps(ln.strip())[1:-1] not in shown
                and ln.strip() not in shown
            ]
    return lines


# --- lab 00: the expensive cases, one nbgrader autograde run ---------------------------------

TAMPER = """
import math
import builtins
math.isclose = lambda *args, **kwargs: True
builtins.abs = lambda x: 0.0
"""


def _students(source_nb: dict, release_nb: dict) -> dict[str, tuple[dict | str | None, dict]]:
    """student -> (notebook, or raw text, or None for missing; expected scores)."""
    exs = {ex.grade_id.removeprefix(f"{LAB0}_"): ex for ex in adv.exercises(source_nb)}
    pct, tc, tp = exs["percentile"], exs["time_calls"], exs["throughput"]
    out: dict[str, tuple[dict | str | None, dict]] = {}

    nb = adv.filled(source_nb, release_nb)
    adv.apply_trick(nb, pct, "hang_hard")  # ignores the interrupt: a fresh kernel is needed
    adv.apply_trick(nb, tc, "os_exit")  # kills its kernel
    adv.apply_trick(nb, tp, "flood")  # correct, prints megabytes
    out["kernel"] = (nb, {**adv.expected_for(pct, "x"), **adv.expected_for(tc, "x"),
                          **adv.expected_for(tp, None)})  # fmt: skip

    nb = adv.filled(source_nb, release_nb)
    adv.apply_trick(nb, pct, "memory", payload=3 * 1024**3)  # over the kernel's heap limit
    adv.apply_trick(nb, tc, "hang")  # plain infinite loop: the per-cell timeout stops it
    adv.apply_trick(nb, tp, "sys_exit")
    out["limits"] = (nb, adv.all_expected(source_nb, full=False))

    nb = adv.filled(source_nb, release_nb)
    cells = nb["cells"]
    cells[adv._index(nb, pct.tests[0].grade_id)]["source"] = "pass  # tests? what tests"
    retyped = cells[adv._index(nb, tc.tests[0].grade_id)]
    retyped.update(cell_type="markdown", source="(not a test any more)")
    retyped.pop("outputs", None), retyped.pop("execution_count", None)
    retyped["metadata"]["nbgrader"].update(grade=False, points=0)
    del cells[adv._index(nb, tp.tests[0].grade_id)]
    out["cells"] = (nb, adv.all_expected(source_nb, full=True))

    nb = adv.filled(source_nb, release_nb)
    cells = nb["cells"]
    moved = cells.pop(adv._index(nb, pct.tests[0].grade_id))
    cells.insert(adv._index(nb, pct.grade_id), moved)  # runs before the function exists
    wrong = cells[adv._index(nb, tp.grade_id)]
    wrong["source"] = (
        "def matmul_tflops(m, n, k, seconds):\n    return 1.0\n\n\n"
        "def fraction_of_peak(achieved, peak):\n    return 1.0\n" + TAMPER
    )
    out["order"] = (nb, {**adv.expected_for(pct, "x"), **adv.expected_for(tc, None),
                         **adv.expected_for(tp, "x")})  # fmt: skip

    out["corrupt"] = ('{"cells": [{"cell_type": "code", "source": "1"', adv.all_expected(
        source_nb, full=False))  # fmt: skip
    out["missing"] = (None, adv.all_expected(source_nb, full=False))
    return out


def _outputs(course: Path, student: str, stem: str) -> dict[str, list[str]]:
    path = course / "autograded" / student / LAB0 / f"{stem}.ipynb"
    nb = json.loads(path.read_text())
    return {
        c["metadata"]["nbgrader"]["grade_id"]: [
            o.get("ename") or o.get("name") for o in c["outputs"]
        ]
        for c in nb["cells"]
        if adv.is_test(c)
    }


@pytest.mark.course
@pytest.mark.slow
def test_lab00_kernel_limits_cells_and_files(tmp_path):
    assert installed(), "the grading kernelspec is not installed: run `make` (see Makefile)"
    source_path, release_path = _notebooks(LAB0)[0]
    source_nb, release_nb = adv.load(source_path), adv.load(release_path)
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions" / LAB0, course / "solutions" / LAB0)
    config = (ROOT / "nbgrader_config.py").read_text()
    # short limits keep the timeout cases cheap; the mechanism is the course's own
    config += "\nc.Execute.timeout = 10\nc.GuardedExecute.responsive_timeout = 4\n"
    (course / "nbgrader_config.py").write_text(config)
    env = _env(tmp_path / "share", LABKIT_KERNEL_MEMORY_MB="2048")
    nbgrader = os.path.join(BIN, "nbgrader")
    run = subprocess.run(
        [nbgrader, "generate_assignment", LAB0, "--force"], cwd=course, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]

    students = _students(source_nb, release_nb)
    for student, (nb, _) in students.items():
        folder = course / "submitted" / student / LAB0
        folder.mkdir(parents=True)
        if isinstance(nb, dict):
            adv.write(nb, folder / source_path.name)
        elif isinstance(nb, str):
            (folder / source_path.name).write_text(nb)
        if student in ("cells", "missing"):  # an unrelated notebook beside (or instead of) it
            adv.write({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                      folder / "scratch.ipynb")  # fmt: skip

    run = subprocess.run(
        [nbgrader, "autograde", LAB0, "--force"], cwd=course, env=env,
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    log = run.stdout + run.stderr
    # nbgrader reports the corrupted and the missing notebook as errors for those students only
    errors = [ln for ln in log.splitlines() if "error processing assignment" in ln.lower()]
    assert errors and all("corrupt" in ln or "missing" in ln for ln in errors), log[-6000:]

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / '.nbgrader' / 'gradebook.db'}") as gb:
        for student, (_, expected) in students.items():
            got = {}
            for gid in expected:
                try:
                    g = gb.find_grade(gid, source_path.stem, LAB0, student)
                    got[gid] = float(g.auto_score or 0)
                except Exception:  # no submission recorded (the corrupted one)
                    got[gid] = 0.0
            assert got == expected, (student, got, expected)

    ids = {k.removeprefix(f"{LAB0}_"): k for k in adv.all_expected(source_nb)}
    kernel = _outputs(course, "kernel", source_path.stem)
    assert "CellTimeoutError" in kernel[ids["percentile_test"]]
    assert "KernelDied" in kernel[ids["time_calls_test"]]
    assert kernel[ids["throughput_test"]] == ["stdout"]  # flooded, cut, still full marks
    limits = _outputs(course, "limits", source_path.stem)
    assert "MemoryError" in limits[ids["percentile_test"]]
    assert "CellTimeoutError" in limits[ids["time_calls_test"]]
    assert "SystemExit" in limits[ids["throughput_test"]]
    order = _outputs(course, "order", source_path.stem)
    assert "NameError" in order[ids["percentile_test"]]
    assert "IntegrityError" in order[ids["throughput_test"]]
    fired = _fired(tmp_path / "share" / "tricks.log")
    for trick in ("hang_hard", "os_exit", "flood", "memory", "hang", "sys_exit"):
        assert any(line.startswith(trick + " ") for line in fired), (trick, fired)
    flooded = (course / "autograded" / "kernel" / LAB0 / source_path.name).stat().st_size
    assert flooded < 2_000_000, "megabytes of output must be cut in the graded notebook"
