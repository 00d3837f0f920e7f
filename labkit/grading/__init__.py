"""The nbgrader course: build and check it, and grade notebooks the way the autograder does.

:func:`build` and :func:`check` keep ``solutions/`` (nbgrader source, from jupytext sources) and
``notebooks/`` (the release) in step; :func:`grade` scores one learner notebook in a scratch
course with the course's own ``nbgrader_config.py``, hidden tests included, and says why each
exercise lost marks; :func:`grade_class` grades a whole class in parallel into one gradebook.
The course configuration also installs the integrity defences (grading kernel limits, restart
after a dead kernel, restored test cells, tampering flagged) that every grading path shares.

Names are imported on first use (PEP 562, :mod:`labkit._lazy`); grading never imports PyTorch
(the learner's kernel does, in its own process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit._lazy import exports

if TYPE_CHECKING:
    from labkit.grading._paths import LAB_IDS, course_root
    from labkit.grading.classgrade import ClassReport, SubmissionResult, grade_class
    from labkit.grading.course import CourseProblem, build, check
    from labkit.grading.selfgrade import GradeError, GradeReport, grade

_EXPORTS = {
    "build": "labkit.grading.course",
    "check": "labkit.grading.course",
    "ClassReport": "labkit.grading.classgrade",
    "course_root": "labkit.grading._paths",
    "CourseProblem": "labkit.grading.course",
    "grade": "labkit.grading.selfgrade",
    "grade_class": "labkit.grading.classgrade",
    "GradeError": "labkit.grading.selfgrade",
    "GradeReport": "labkit.grading.selfgrade",
    "LAB_IDS": "labkit.grading._paths",
    "SubmissionResult": "labkit.grading.classgrade",
}

__all__ = [
    "LAB_IDS",
    "ClassReport",
    "CourseProblem",
    "GradeError",
    "GradeReport",
    "SubmissionResult",
    "build",
    "check",
    "course_root",
    "grade",
    "grade_class",
]


__getattr__, __dir__ = exports(__name__, _EXPORTS)
