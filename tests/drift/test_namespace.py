"""``labkit.drift`` exposes its names lazily (PEP 562) and every promised name resolves."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import labkit.drift


def test_every_public_name_resolves_to_its_module():
    for name in labkit.drift.__all__:
        value = getattr(labkit.drift, name)
        module = labkit.drift._EXPORTS[name]
        assert getattr(importlib.import_module(module), name) is value
        assert name in dir(labkit.drift)
    assert sorted(labkit.drift.__all__) == sorted(labkit.drift._EXPORTS)


def test_import_loads_no_submodule():
    code = (
        "import sys, labkit.drift; "
        "print(sorted(m for m in sys.modules if m.startswith('labkit.drift.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="KSDirft"):
        labkit.drift.KSDirft  # noqa: B018
