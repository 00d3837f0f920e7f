"""Binder installs what pyproject.toml declares (CPU flavour), so the course runs the same there."""

import tomllib

from packaging.requirements import Requirement
from packaging.version import Version

from labkit.grading._paths import course_root

ROOT = course_root()


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _binder():
    reqs = {}
    for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-") and line != ".":
            req = Requirement(line)
            reqs[req.name.lower()] = req
    return reqs


def test_binder_matches_pyproject_dependencies_and_cpu_extra():
    project = _pyproject()
    declared = {
        Requirement(r).name.lower(): Requirement(r)
        for r in project["dependencies"] + project["optional-dependencies"]["cpu"]
    }
    binder = _binder()
    assert set(binder) == set(declared), set(binder) ^ set(declared)
    for name, req in declared.items():
        if name == "torch":
            # Binder pins one CPU build; it must lie inside pyproject's range.
            (pin,) = binder[name].specifier
            assert pin.operator == "==" and Version(pin.version) in req.specifier
        else:
            assert binder[name].specifier == req.specifier, name


def test_binder_installs_labkit_and_no_gpu_packages():
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    assert "." in [ln.strip() for ln in lines]
    gpu_only = {Requirement(r).name for r in _pyproject()["optional-dependencies"]["cuda"]}
    assert not gpu_only & set(_binder())


def test_binder_opens_the_release():
    assert "/lab/tree/notebooks" in (ROOT / "binder" / "start").read_text()


def test_binder_runtime_satisfies_requires_python():
    from packaging.specifiers import SpecifierSet

    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert runtime.startswith("python-"), runtime
    assert Version(runtime.removeprefix("python-")) in SpecifierSet(_pyproject()["requires-python"])
