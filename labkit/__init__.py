"""labkit: the tools behind an ML systems engineering course.

Subpackages, one per lab, plus a shared core: :mod:`labkit.device` (where code runs),
:mod:`labkit.timing` (how it is timed), :mod:`labkit.training` (lab 01), :mod:`labkit.inference`
(lab 02), :mod:`labkit.drift` (lab 03), :mod:`labkit.scaling` (lab 04) and
:mod:`labkit.grading` (the nbgrader course). Importing ``labkit`` loads none of them.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
