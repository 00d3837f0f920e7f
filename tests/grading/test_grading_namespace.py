"""`labkit.grading` keeps its promise: grading loads no PyTorch (the learner's kernel does)."""

import subprocess
import sys

import pytest

import labkit.grading
import labkit.training

# torch hidden: any import of it fails, so a module that needs it cannot load by accident
_HIDDEN = "import sys; sys.modules['torch'] = None; "


@pytest.mark.parametrize(
    "statement",
    [
        "import labkit.grading",
        "from labkit.grading import grade, grade_class, build, check, ClassReport",
        "import labkit.grading.classgrade, labkit.grading.sandbox, labkit.cli",
        "import labkit.training",
        "from labkit.training import GPU_SPECS, gpu_spec",
    ],
)
def test_imports_without_torch(statement):
    result = subprocess.run(
        [sys.executable, "-c", _HIDDEN + statement], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_namespaces_list_the_same_public_names():
    for package in (labkit.grading, labkit.training):
        assert set(package.__all__) <= set(dir(package))
        for name in package.__all__:
            assert getattr(package, name) is not None
