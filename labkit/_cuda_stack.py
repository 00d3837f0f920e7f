"""Which torch / ONNX Runtime / CuPy build this machine needs, from the NVIDIA driver it has.

The Makefile runs this file as a script with the system Python before the venv exists, so it uses
the standard library only. One CUDA major per install, because the three stacks load each other's
libraries (a CuPy built for CUDA 12 cannot find ``libcublas.so.12`` beside torch's CUDA 13 wheels):

======================  =========  =========================================================
driver's CUDA version   variant    what is installed
======================  =========  =========================================================
none (no nvidia-smi)    ``cpu``    torch's CPU build, ``onnxruntime``           (extra ``cpu``)
13.0 or newer (R580+)   ``cu13``   PyPI's torch (CUDA 13 since 2.11), ``onnxruntime-gpu``
                                   ≥ 1.27, ``cupy-cuda13x``                     (extra ``cuda``)
12.6 – 12.9             ``cu12``   torch from download.pytorch.org/whl/cu126 or cu128,
                                   ``onnxruntime-gpu`` < 1.27, ``cupy-cuda12x`` (extra ``cuda12``)
older                   error      the message names the driver to install
======================  =========  =========================================================

The variant is also the venv's stamp (``.venv/.labkit-installed-<variant>``), so a venv first built
on a CPU machine is rebuilt, and its ``torch+cpu`` replaced, on a GPU machine — a CPU torch
satisfies the project's torch range, so pip alone would keep it forever.

Usage::

    python3 labkit/_cuda_stack.py variant                 # cpu | cu13 | cu12
    python3 labkit/_cuda_stack.py extra                   # cpu | cuda | cuda12
    python3 labkit/_cuda_stack.py install-torch .venv/bin/python

``LABKIT_CUDA=cpu|cu13|cu12`` overrides the driver query (a CPU install on a GPU machine, say).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

# torch's CPU build that lies on this course's CI machines; any CPU build in torch's range works
TORCH_CPU = os.environ.get("TORCH_CPU", "2.13.0")
CUDA13_TORCH = "torch>=2.11,<3"  # PyPI's Linux wheels are CUDA 13 builds from 2.11 on
PYTORCH_INDEX = "https://download.pytorch.org/whl/"


class StackError(RuntimeError):
    """No supported CUDA stack for this driver."""


@dataclass(frozen=True)
class Stack:
    """What to install: the variant name, the pyproject extra and pip's arguments for torch."""

    variant: str
    extra: str
    torch_args: tuple[str, ...]
    torch_cuda_major: int | None  # what ``torch.version.cuda`` must start with; None: CPU build


def driver_cuda_version(nvidia_smi_output: str | None) -> tuple[int, int] | None:
    """The highest CUDA version the driver supports, from ``nvidia-smi``'s banner, or None.

    >>> driver_cuda_version("| NVIDIA-SMI 580.159.03   Driver Version: 580.159.03   CUDA Version: 13.0 |")
    (13, 0)
    >>> driver_cuda_version(None) is None
    True
    """
    if not nvidia_smi_output:
        return None
    match = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", nvidia_smi_output)
    return (int(match.group(1)), int(match.group(2))) if match else None


def query_driver() -> str | None:
    """``nvidia-smi``'s output, or None where there is no working NVIDIA driver."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _cpu() -> Stack:
    return Stack("cpu", "cpu", (f"torch=={TORCH_CPU}",), None)


def _cu13() -> Stack:
    return Stack("cu13", "cuda", (CUDA13_TORCH,), 13)


def _cu12(minor: int) -> Stack:
    index = "cu128" if minor >= 8 else "cu126"
    return Stack("cu12", "cuda12", ("torch>=2.4,<3", "--index-url", PYTORCH_INDEX + index), 12)


def choose_stack(cuda: tuple[int, int] | None, override: str | None = None) -> Stack:
    """The stack for a driver supporting CUDA ``cuda`` (None: no driver), or the ``override``.

    >>> choose_stack((13, 0)).extra, choose_stack((12, 8)).torch_args[-1][-5:]
    ('cuda', 'cu128')
    >>> choose_stack(None).variant, choose_stack((13, 0), override="cpu").variant
    ('cpu', 'cpu')
    """
    if override:
        if override == "cpu":
            return _cpu()
        if override == "cu13":
            return _cu13()
        if override == "cu12":
            return _cu12(8)
        raise StackError(f"LABKIT_CUDA must be one of 'cpu', 'cu13', 'cu12'; got {override!r}")
    if cuda is None:
        return _cpu()
    major, minor = cuda
    if major >= 13:
        return _cu13()
    if major == 12 and minor >= 6:
        return _cu12(minor)
    raise StackError(
        f"the NVIDIA driver supports CUDA {major}.{minor}, older than the 12.6 that current torch "
        "builds need: install an R560 or newer driver (R580+ for CUDA 13), or set LABKIT_CUDA=cpu "
        "to install the CPU build"
    )


def installed_torch_cuda(python: str) -> tuple[bool, str | None]:
    """``(torch importable, torch.version.cuda)`` in the interpreter ``python``."""
    code = "import torch, sys; sys.stdout.write(str(torch.version.cuda))"
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300)
    except OSError:
        return False, None
    if done.returncode != 0:
        return False, None
    return True, None if done.stdout == "None" else done.stdout


def torch_plan(stack: Stack, present: bool, cuda: str | None) -> list[list[str]]:
    """pip argument lists that leave the right torch build installed (empty when it already is).

    >>> torch_plan(_cu13(), present=True, cuda=None)[0]  # a CPU torch on a CUDA 13 host
    ['uninstall', '--yes', 'torch']
    >>> torch_plan(_cu13(), present=True, cuda="13.0")
    []
    """
    if present:
        major = int(cuda.split(".")[0]) if cuda else None
        if major == stack.torch_cuda_major:
            return []
        plan = [["uninstall", "--yes", "torch"]]
    else:
        plan = []
    return [*plan, ["install", "--quiet", *stack.torch_args]]


def broken_gpu_install(torch_version: str, torch_cuda: str | None, torch_sees_gpu: bool) -> str:
    """Why torch cannot use the GPU that the NVIDIA driver reports, or "" when nothing is wrong.

    ``CUDA_VISIBLE_DEVICES=""`` hides the GPUs on purpose and is not a broken install.

    >>> broken_gpu_install("2.13.0+cpu", None, torch_sees_gpu=True)
    ''
    """
    if torch_sees_gpu or os.environ.get("CUDA_VISIBLE_DEVICES") == "":
        return ""
    cuda = driver_cuda_version(query_driver())
    if cuda is None:
        return ""
    build = f"CUDA {torch_cuda} build" if torch_cuda else "CPU build"
    return (
        f"nvidia-smi sees a GPU (driver for CUDA {cuda[0]}.{cuda[1]}) but torch {torch_version} "
        f"({build}) cannot use it: the install is broken. A CPU build of torch, or a CUDA build "
        "newer than the driver supports, does this; `make test` on this machine installs the "
        "matching build (labkit/_cuda_stack.py)."
    )


def current_stack() -> Stack:
    return choose_stack(driver_cuda_version(query_driver()), os.environ.get("LABKIT_CUDA"))


def main(argv: list[str]) -> int:
    try:
        stack = current_stack()
    except StackError as err:
        print(f"labkit set-up: {err}", file=sys.stderr)
        return 2
    if argv[:1] == ["variant"]:
        print(stack.variant)
    elif argv[:1] == ["extra"]:
        print(stack.extra)
    elif argv[:1] == ["install-torch"] and len(argv) == 2:
        present, cuda = installed_torch_cuda(argv[1])
        for args in torch_plan(stack, present, cuda):
            print(f"labkit set-up ({stack.variant}): pip {' '.join(args)}", file=sys.stderr)
            subprocess.run([argv[1], "-m", "pip", *args], check=True)
    else:
        print("usage: _cuda_stack.py variant | extra | install-torch PYTHON", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
