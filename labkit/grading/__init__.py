"""The nbgrader course: build and check it, and grade notebooks the way the autograder does.

:func:`build` and :func:`check` keep ``solutions/`` (nbgrader source, from jupytext sources) and
``notebooks/`` (the release) in step; :func:`grade` scores one learner notebook in a scratch
course with the course's own ``nbgrader_config.py``, hidden tests included.
"""

from labkit.grading._paths import LAB_IDS, course_root
from labkit.grading.course import CourseProblem, build, check
from labkit.grading.selfgrade import GradeError, GradeReport, grade

__all__ = [
    "LAB_IDS",
    "CourseProblem",
    "GradeError",
    "GradeReport",
    "build",
    "check",
    "course_root",
    "grade",
]
