"""The nbgrader course: build and check it, and grade notebooks the way the autograder does.

:func:`build` and :func:`check` keep ``solutions/`` (nbgrader source, from jupytext sources) and
``notebooks/`` (the release) in step; :func:`grade` scores one learner notebook in a scratch
course with the course's own ``nbgrader_config.py``, hidden tests included, and says why each
exercise lost marks; :func:`grade_class` grades a whole class in parallel into one gradebook.
The course configuration also installs the integrity defences (grading kernel limits, restart
after a dead kernel, restored test cells, tampering flagged) that every grading path shares.
"""

from labkit.grading._paths import LAB_IDS, course_root
from labkit.grading.classgrade import ClassReport, SubmissionResult, grade_class
from labkit.grading.course import CourseProblem, build, check
from labkit.grading.selfgrade import GradeError, GradeReport, grade

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
