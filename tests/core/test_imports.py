"""Imports keep their promises: the modules that say they need no PyTorch import without it, and
every subpackage's lazy namespace (``labkit._lazy``) loads nothing until a name is used and then
gives exactly the object its table names.

Each import runs in a fresh interpreter where a meta-path finder makes ``import torch`` fail as it
would on a machine without PyTorch, so a module that pulls torch in, directly or through another
labkit module, fails here with the import chain in its traceback.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import pytest

HIDE_TORCH = textwrap.dedent(
    """
    import importlib.abc
    import sys

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError(f"No module named {name!r} (hidden by the test)")
            return None

    sys.meta_path.insert(0, NoTorch())
    """
)

TORCH_FREE = [
    # the core
    "labkit",
    "labkit._validate",
    "labkit._atomic",
    "labkit._lazy",
    "labkit._asyncio",
    "labkit._threads",
    "labkit._ort_probe",
    "labkit.device",
    "labkit.timing",
    # lab 04: everything but the model (data, recommender, service) and what serves it
    "labkit.scaling",
    "labkit.scaling.hpa",
    "labkit.scaling.queueing",
    "labkit.scaling.traffic",
    "labkit.scaling.concurrency_autoscaler",
    "labkit.scaling.simulator",
    "labkit.scaling.policies",
    "labkit.scaling.metrics",
    "labkit.scaling.load",
    "labkit.scaling.serve",
    "labkit.scaling.process",
    "labkit.scaling.serverless",
    "labkit.scaling.train",
    # lab 02: the serving side that lab 04's service builds on
    "labkit.inference",
    "labkit.inference.batching",
    "labkit.inference.batcher",
    "labkit.inference.cache",
    "labkit.inference.features",
    "labkit.inference.io_overlap",
    "labkit.inference.latency",
    "labkit.inference.network",
    "labkit.inference.serving",
    "labkit.inference.virtual_time",
    # lab 03: the statistics and streaming detectors on NumPy arrays
    "labkit.drift",
    "labkit.drift.univariate",
    "labkit.drift.batch",
    "labkit.drift.adwin",
    "labkit.drift.binary",
    "labkit.drift.page_hinkley",
    # lab 01's spec table, and grading: the learner's kernel loads torch, the grader does not
    "labkit.training",
    "labkit.training.gpus",
    "labkit.grading",
    "labkit.grading.classgrade",
    "labkit.grading.course",
    "labkit.grading.sandbox",
    "labkit.grading.selfgrade",
    "labkit.grading._dask",
    "labkit.grading._autograder_export",
    "labkit.grading._gradescope_runner",
    # interview study: reads results files, never measures
    "labkit.study",
    "labkit.study.results",
    "labkit.study.brief",
    "labkit.study.drill",
    "labkit.study.compare",
    "labkit.start",
    "labkit.cli",
]

SUBPACKAGES = ["drift", "inference", "scaling", "training", "grading", "study"]


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("module", TORCH_FREE)
def test_module_imports_without_torch(module):
    done = _run(f"{HIDE_TORCH}\nimport {module}\n")
    assert done.returncode == 0, f"import {module} needs torch:\n{done.stderr}"


def test_the_finder_really_hides_torch():
    done = _run(f"{HIDE_TORCH}\nimport labkit.scaling.recommender\n")
    assert done.returncode != 0 and "hidden by the test" in done.stderr


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_subpackage_init_does_not_import_torch(package):
    done = _run(f"import sys\nimport labkit.{package}\nprint('torch' in sys.modules)\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False", f"import labkit.{package} loaded torch"


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_subpackage_import_loads_no_submodule(package):
    code = (
        f"import sys, labkit.{package}; "
        f"print(sorted(m for m in sys.modules if m.startswith('labkit.{package}.')))"
    )
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_every_public_name_resolves_to_the_object_its_table_names(package):
    namespace = importlib.import_module(f"labkit.{package}")
    assert sorted(namespace.__all__) == sorted(namespace._EXPORTS)
    for name in namespace.__all__:
        module = namespace._EXPORTS[name]
        expected = importlib.import_module(module)
        if module != f"labkit.{package}.{name}":  # else the name is the submodule itself
            expected = getattr(expected, name)
        assert getattr(namespace, name) is expected
        assert name in dir(namespace)
    with pytest.raises(AttributeError, match=f"module 'labkit.{package}' has no attribute 'Nope'"):
        namespace.Nope  # noqa: B018
