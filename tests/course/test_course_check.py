"""`labkit course check` catches stale builds and leaked solutions (on a scratch copy)."""

import json
import shutil

import pytest

from labkit.grading import check
from labkit.grading._paths import course_root

LAB = "00_orientation"


@pytest.fixture
def scratch_course(tmp_path, monkeypatch):
    root = course_root()
    shutil.copy(root / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(root / "solutions" / LAB, tmp_path / "solutions" / LAB)
    shutil.copytree(root / "notebooks" / LAB, tmp_path / "notebooks" / LAB)
    monkeypatch.setenv("LABKIT_COURSE_ROOT", str(tmp_path))
    return tmp_path


def test_committed_course_is_clean(scratch_course):
    assert check([LAB]) == []


def test_edited_source_makes_both_builds_stale(scratch_course):
    src = scratch_course / "solutions" / LAB / f"{LAB}.py"
    src.write_text(src.read_text() + "\n# %% [markdown]\n# A new paragraph.\n")
    problems = [str(p) for p in check([LAB])]
    assert any(f"solutions/{LAB}/{LAB}.ipynb: stale" in p for p in problems), problems
    assert any(f"notebooks/{LAB}/{LAB}.ipynb: stale" in p for p in problems), problems


def test_leaked_hidden_test_and_solution_are_reported(scratch_course):
    source = json.loads((scratch_course / "solutions" / LAB / f"{LAB}.ipynb").read_text())
    release_path = scratch_course / "notebooks" / LAB / f"{LAB}.ipynb"
    release = json.loads(release_path.read_text())
    by_id = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c for c in source["cells"]}
    # Paste the source's solution and test cells (with hidden tests, markers removed) back in.
    for cell in release["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in ("00_orientation_percentile", "00_orientation_percentile_test"):
            body = "".join(by_id[grade_id]["source"])
            cell["source"] = body.replace("### BEGIN HIDDEN TESTS", "").replace(
                "### END HIDDEN TESTS", ""
            )
    release_path.write_text(json.dumps(release))
    problems = [str(p) for p in check([LAB])]
    assert any("'00_orientation_percentile' leaks its solution" in p for p in problems), problems
    assert any("'00_orientation_percentile_test' leaks" in p for p in problems), problems
    assert any("marker 'BEGIN SOLUTION' present" in p for p in problems), problems


def test_unknown_lab_is_named():
    with pytest.raises(ValueError, match="99_nope"):
        check(["99_nope"])
