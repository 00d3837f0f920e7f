"""Feedback per exercise (why a test failed, never the hidden source) and mark schemes."""

from __future__ import annotations

import json

import nbformat
import pytest

from labkit.grading._feedback import HideHiddenTests, explain, visible_source
from labkit.grading._paths import course_root, lab_dirs
from labkit.grading.selfgrade import CellScore, GradeReport, ManualCell, mark_schemes

ROOT = course_root()
LABS = [d.name for d in lab_dirs(ROOT)]

TEST_CELL = """assert f(2) == 4
assert f(3) == 9
### BEGIN HIDDEN TESTS
import random as _random
_secret_inputs = [_random.random() for _ in range(5)]
for _x in _secret_inputs:
    assert abs(f(_x) - _x * _x) < 1e-12, _x
### END HIDDEN TESTS
"""


def _error(ename, evalue, line):
    return nbformat.v4.new_output(
        "error",
        ename=ename,
        evalue=evalue,
        traceback=[
            "\x1b[0;31m------\x1b[0m",
            f"Cell \x1b[0;32mIn[7], line {line}\x1b[0m\n   3 _secret_inputs = ...",
            "\x1b[0;31mAssertionError\x1b[0m: ",
        ],
    )


def _cell(*outputs):
    cell = nbformat.v4.new_code_cell(TEST_CELL)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 2}
    cell.outputs = list(outputs)
    return cell


def test_visible_failure_names_the_line():
    why = explain(_cell(_error("AssertionError", "", 2)))
    assert why.startswith("the visible test at line 2 failed: `assert f(3) == 9`")


def test_hidden_failure_says_so_without_source():
    why = explain(_cell(_error("AssertionError", "0.25", 7)))
    assert why.startswith("a hidden test failed (AssertionError: 0.25)")
    assert "_secret_inputs" not in why and "random" not in why.split("—")[0]


@pytest.mark.parametrize(
    ("ename", "hint"),
    [
        ("NotImplementedError", "not done yet"),
        ("NameError", "not defined"),
        ("CellTimeoutError", "time limit"),
        ("KernelDied", "kernel stopped"),
        ("MemoryError", "more memory"),
        ("SystemExit", "sys.exit"),
    ],
)
def test_hints_by_kind_of_failure(ename, hint):
    assert hint in explain(_cell(_error(ename, "x", 7)))


def test_stderr_and_success():
    assert "stderr" in explain(_cell(nbformat.v4.new_output("stream", name="stderr", text="!")))
    assert explain(_cell(nbformat.v4.new_output("stream", name="stdout", text="ok"))) == ""


def test_feedback_preprocessor_hides_hidden_block_and_traceback():
    cell, _ = HideHiddenTests().preprocess_cell(_cell(_error("AssertionError", "0.25", 7)), {}, 0)
    assert "_secret_inputs" not in cell.source and "assert f(3) == 9" in cell.source
    assert [o["output_type"] for o in cell.outputs] == ["stream"]
    assert cell.outputs[0]["text"].startswith("Feedback: a hidden test failed")
    assert visible_source("x = 1\n") == "x = 1\n"


@pytest.mark.parametrize("lab", LABS)
def test_every_written_answer_has_its_mark_scheme(lab):
    schemes = {}  # a lab's written answer may close any of its notebooks
    for source in sorted((ROOT / "solutions" / lab).glob("*.ipynb")):
        schemes.update(mark_schemes(json.loads(source.read_text())))
    assert schemes, f"{lab}: no manually graded answer"
    for grade_id, scheme in schemes.items():
        assert "mark scheme" in scheme.lower(), (lab, grade_id, scheme[:200])


def test_report_text_and_json_contract():
    report = GradeReport(
        notebook="nb.ipynb",
        lab="00_orientation",
        score=2.0,
        max_score=4.0,
        tests=(
            CellScore("a_test", 2.0, 2.0),
            CellScore("b_test", 0.0, 2.0, "a hidden test failed"),
        ),
        manual=(ManualCell("answer", 4.0, "**Mark scheme (4 points).** 1 — ..."),),
    )
    text = repr(report)
    assert "a hidden test failed" in text and "needs manual grading" in text
    assert "Mark scheme (4 points)" in text
    # docs/design.md §4.4: the JSON object keeps exactly its documented keys
    data = report.to_dict()
    assert set(data) == {"notebook", "lab", "score", "max_score", "tests", "manual"}
    assert data["tests"][1] == {"grade_id": "b_test", "score": 0.0, "max_score": 2.0}
    assert data["manual"] == [{"grade_id": "answer", "max_score": 4.0}]
