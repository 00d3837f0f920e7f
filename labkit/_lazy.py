"""How every labkit subpackage exposes its names: imported on first use (PEP 562).

A subpackage's ``__init__`` lists its public names and the module each lives in, and asks
:func:`exports` for the module-level ``__getattr__`` and ``__dir__``. Nothing is imported until a
name is used, so ``import labkit.scaling`` (or ``python -m labkit.scaling.serve``) never loads
PyTorch unless the code asks for something that needs it, and a missing optional dependency
fails at the name that needs it, not at the package. Static tools read the same names from
the ``if TYPE_CHECKING:`` imports each ``__init__`` keeps beside its table.

Examples
--------
>>> import labkit.scaling  # its __init__ is ``__getattr__, __dir__ = exports(__name__, {...})``
>>> "erlang_c" in dir(labkit.scaling)
True
>>> labkit.scaling.erlang_c.__module__  # imported on first use
'labkit.scaling.queueing'
>>> "erlang_c" in vars(labkit.scaling)  # and cached on the package from then on
True
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["exports"]


def exports(
    package: str, names: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, whose public ``names`` map to their modules.

    A name that maps to its own module path (``"hpa": "labkit.scaling.hpa"``) is that module.
    """

    def __getattr__(name: str) -> Any:
        try:
            module = names[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = importlib.import_module(module)
        if module != f"{package}.{name}":  # else the name is the submodule itself
            value = getattr(value, name)
        # cache on the package so later lookups skip this function
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
