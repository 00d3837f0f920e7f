"""Unit tests of the grading defences: the tamper scan, warning stripping, kernel limits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import adversary as adv

from labkit.grading._integrity import scan, scan_source
from labkit.grading._kernel import SPEC, apply_limits, install, installed
from labkit.grading._paths import course_root, lab_dirs
from labkit.grading._preprocessors import CapOutput, StripWarnings, strip_warnings

ROOT = course_root()
LABS = [d.name for d in lab_dirs(ROOT)]

TAMPERING = {
    "math.isclose": "import math\nmath.isclose = lambda *a, **k: True",
    "numpy.testing": "import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None",
    "numpy.testing from": "from numpy import testing\ntesting.assert_allclose = print",
    "setattr module": "import math\nsetattr(math, 'isclose', lambda *a, **k: True)",
    "labkit helper": "import labkit.timing\nlabkit.timing.benchmark = lambda *a, **k: None",
    "builtins module": "import builtins\nbuiltins.abs = lambda x: 0.0",
    "__builtins__": "__builtins__['abs'] = lambda x: 0.0",
    "shadow abs": "abs = lambda x: 0.0",
    "shadow float": "def float(x):\n    return 1.0",
    "shadow isinstance import": "from os.path import isfile as isinstance",
    "frame read": "import sys\ndef f(x):\n    return sys._getframe(1).f_locals['_want']",
    "inspect frame": "import inspect\ndef f():\n    return inspect.currentframe().f_back",
    "traceback frame": "def f():\n    try:\n        raise ValueError\n    except ValueError as e:\n        return e.__traceback__.tb_frame",
    "ipython": "get_ipython().input_transformers_cleanup.append(lambda lines: [])",
    "history": "def f():\n    return In[-1]",
    "read notebook": "import json\nsrc = json.load(open('00_orientation.ipynb'))",
    "find notebook": "import os\nnames = [f for f in os.listdir() if f.endswith('ipynb')]",
    "run a file": "%run cheat.py",
    "write a module": "%%writefile helper.py\nx = 1",
    "exec": "exec('import math; math.isclose = 1')",
    "dunder import": "m = __import__('ma' + 'th')",
    "ctypes": "import ctypes",
    "signal": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)",
    "sys.modules": "import sys\nsys.modules['math'] = object()",
    "trace": "import sys\nsys.settrace(lambda *a: None)",
}

HONEST = {
    "cudnn flag": "import torch\ntorch.backends.cudnn.benchmark = True",
    "environment": "import os\nos.environ['OMP_NUM_THREADS'] = '1'",
    "rcParams": "import matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (4, 3)",
    "local names": "def mean(xs):\n    sum = 0.0\n    for x in xs:\n        sum += x\n    return sum / len(xs)",
    "own __eq__": "class P:\n    def __eq__(self, other):\n        return isinstance(other, P)",
    "self attrs": "class D:\n    def __init__(self):\n        self.total = 0\n        self.n = 0",
    "seed": "import numpy as np\nnp.random.seed(0)\nx = np.zeros(3)\nx[0] = 1",
    "magic": "%timeit sum(range(10))",
    "imports": "from math import isclose\nimport numpy as np\nimport torch.nn.functional as F",
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampering_is_flagged(case):
    assert scan_source(TAMPERING[case]), case


@pytest.mark.parametrize("case", sorted(HONEST))
def test_honest_code_is_not_flagged(case):
    assert scan_source(HONEST[case]) == [], case


def test_scan_knows_imports_from_earlier_cells_and_skips_course_cells():
    nb = nbformat.v4.new_notebook()
    locked = nbformat.v4.new_code_cell("import math\nabs = abs")  # course code: not scanned
    locked.metadata["nbgrader"] = {"locked": True, "grade_id": "given", "grade": False,
                                   "solution": False, "schema_version": 3}  # fmt: skip
    nb.cells = [locked, nbformat.v4.new_code_cell("math.isclose = lambda *a: True")]
    (found,) = scan(nb)
    assert found[0] == 1 and "math.isclose" in found[1].reason


@pytest.mark.parametrize("lab", LABS)
def test_honest_solutions_of_every_lab_pass_the_scan(lab):
    """A learner who types the model solution is never flagged (no false positives)."""
    for source in sorted((ROOT / "solutions" / lab).glob("*.ipynb")):
        release = ROOT / "notebooks" / lab / source.name
        nb = adv.filled(adv.load(source), adv.load(release))
        assert [str(f) for _, f in scan(nb)] == [], f"{lab}/{source.name}"


def test_strip_warnings_keeps_everything_else():
    text = (
        "/tmp/ipykernel_1/2.py:3: UserWarning: slow path\n"
        "  warnings.warn('slow path')\n"
        "/x/torch/amp.py:10: FutureWarning: `torch.cuda.amp` is deprecated\n"
        "  return f()\n"
        "real problem\n"
    )
    assert strip_warnings(text) == "real problem\n"
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=text),
        nbformat.v4.new_output("stream", name="stderr", text=text.replace("real problem\n", "")),
        nbformat.v4.new_output("stream", name="stdout", text="x" * 300_000),
    ]
    cell, _ = StripWarnings().preprocess_cell(cell, {}, 0)
    assert [o["text"] for o in cell.outputs[:1]] == ["real problem\n"] and len(cell.outputs) == 2
    cell, _ = CapOutput(max_chars=1000).preprocess_cell(cell, {}, 0)
    assert len(cell.outputs[1]["text"]) < 1100 and "dropped" in cell.outputs[1]["text"]


def test_kernelspec_install_and_the_course_kernel(tmp_path):
    spec = install(tmp_path)
    assert json.loads(spec.read_text())["argv"] == SPEC["argv"] and installed(tmp_path)
    assert not installed(tmp_path / "elsewhere")
    # this environment's python3 kernel is the grading launcher (`make` installs it)
    from jupyter_client.kernelspec import KernelSpecManager

    argv = KernelSpecManager().get_kernel_spec("python3").argv
    assert "labkit.grading._kernel" in argv, f"run `make` to install the grading kernel: {argv}"


def _limited(code: str, **env: str) -> subprocess.CompletedProcess:
    script = "from labkit.grading._kernel import apply_limits\napply_limits()\n" + code
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_limits_apply_only_while_grading():
    assert apply_limits({"LABKIT_KERNEL_CPU_S": "1"}) == {}
    hog = "b = bytearray(600 * 1024 * 1024)\nprint(len(b))"
    free = _limited(hog, LABKIT_KERNEL_MEMORY_MB="300")  # no NBGRADER_EXECUTION: unlimited
    assert free.returncode == 0, free.stderr
    grading = _limited(hog, LABKIT_KERNEL_MEMORY_MB="300", NBGRADER_EXECUTION="autograde")
    assert grading.returncode == 1 and "MemoryError" in grading.stderr
    burn = "while True:\n    pass"
    killed = _limited(burn, LABKIT_KERNEL_CPU_S="1", NBGRADER_EXECUTION="autograde")
    assert killed.returncode == -signal.SIGXCPU
    with pytest.raises(ValueError, match="LABKIT_KERNEL_CPU_S='soon'"):
        apply_limits({"NBGRADER_EXECUTION": "autograde", "LABKIT_KERNEL_CPU_S": "soon"})


def test_nbgrader_config_installs_the_defences():
    from labkit.grading._nbgrader import course_config

    config = course_config()
    names = [c.__name__ for c in config.Autograde.autograde_preprocessors]
    assert names[:4] == ["GuardedExecute", "StripWarnings", "IgnorePattern", "FlagTampering"]
    assert "RestoreTestCells" in [c.__name__ for c in config.Autograde.sanitize_preprocessors]
    assert config.OverwriteCells.add_missing_cells is True
    assert textwrap.dedent(os.environ["LABKIT_KERNEL_MEMORY_MB"]).isdigit()
