"""The labkit course for nbgrader: solutions/ is the source, notebooks/ the release.

Run nbgrader from the repository root (`nbgrader generate_assignment 01_gpu_training`, ...);
`labkit grade` and `labkit grade-class` load this same file so every path grades alike.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821  (provided by nbgrader's config loader)

ROOT = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "labkit"
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# sqlite under a git-ignored folder by default; a PostgreSQL URL for big classes, e.g.
# LABKIT_DB_URL=postgresql+psycopg2://grader@localhost/labkit
# The course a wheel carries (labkit/_course inside the installed package) may be read-only and
# is replaced on upgrade: its default gradebook lives in the user's data folder. Every other
# course directory (the checkout, a scratch copy) keeps its own under .nbgrader/.
from labkit.grading._paths import packaged_course, user_data_dir  # noqa: E402

GRADEBOOK_DIR = user_data_dir() if packaged_course().resolve() == ROOT else ROOT / ".nbgrader"
if "LABKIT_DB_URL" not in os.environ:
    GRADEBOOK_DIR.mkdir(parents=True, exist_ok=True)
c.CourseDirectory.db_url = os.environ.get(
    "LABKIT_DB_URL", f"sqlite:///{GRADEBOOK_DIR / 'gradebook.db'}"
)
# Notebook sources (*.py, jupytext) and measurement files never travel with a lab.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "*.py",
    "*_results.json",
    "*_feedback.html",
]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading kernel: one name everywhere, a per-cell time limit. `make` installs labkit's launcher
# as this environment's `python3` kernelspec; while nbgrader executes (NBGRADER_EXECUTION set) it
# runs the kernel under these limits, inherited through the environment; JupyterLab is unlimited.
c.Execute.kernel_name = "python3"
c.Execute.timeout = 120
c.ExecutePreprocessor.kernel_name = "python3"
os.environ.setdefault("LABKIT_KERNEL_MEMORY_MB", "6144")  # heap of the grading kernel
os.environ.setdefault("LABKIT_KERNEL_CPU_S", "1800")  # CPU time of one notebook, all threads
os.environ.setdefault("LABKIT_KERNEL_PROCESSES", "1024")  # processes + threads, where cgroups allow

# Grading sandbox (labkit/grading/sandbox.py): every kernel that runs learner code for grading
# runs under bubblewrap with no network, no view of the course, gradebooks, other submissions or
# the grader's home, and its own PID namespace. Where bwrap cannot start, autograding stops with
# the reason; LABKIT_SANDBOX=off grades without it (learners' code then runs with your rights).
c.GuardedExecute.sandbox = "off" if os.environ.get("LABKIT_SANDBOX") == "off" else "require"

# Integrity (labkit/grading/_preprocessors.py, rules in solutions/TESTS_THAT_CANNOT_BE_FOOLED.md):
# a dead or hung kernel costs one exercise, not the notebook; deleted test cells come back;
# warnings from a correct solution do not cost marks; megabytes of output are cut; test cells
# that run after learner code tampering with the tests' helpers are not credited.
c.OverwriteCells.add_missing_cells = True
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader import preprocessors as _np  # noqa: E402

from labkit.grading import _preprocessors as _lp  # noqa: E402
from labkit.grading._feedback import HideHiddenTests  # noqa: E402

c.Autograde.sanitize_preprocessors = [
    _np.ClearOutput,
    _np.DeduplicateIds,
    _np.OverwriteKernelspec,
    _lp.RestoreTestCells,
    _np.OverwriteCells,
    _np.CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    _lp.GuardedExecute,
    _lp.StripWarnings,
    _np.IgnorePattern,
    _lp.FlagTampering,
    ClearMetadataPreprocessor,
    _np.LimitOutput,
    _lp.CapOutput,
    _np.SaveAutoGrades,
    _np.AssignLatePenalties,
    _np.CheckCellMetadata,
]

# Known harmless stderr lines (never real errors): dropped during autograde so a correct
# solution is not scored 0 for a library's chatter.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(?:.*SAWarning.*|.*Please consider to run pre-processing before quantization.*"
    r"|.*Matplotlib is building the font cache.*|.*oneDNN custom operations.*)"
)
# Feedback says which test failed and why, with a hint, but never shows hidden tests' source.
c.GenerateFeedback.preprocessors = [_np.GetGrades, CSSHTMLHeaderPreprocessor, HideHiddenTests]
