"""Device resolution, the array namespace of any array, and an environment report.

Every function in labkit that can run on a GPU takes ``device=`` and passes it through
:func:`resolve`, so the choice rule lives in one place: an explicit argument wins, then the
``LABKIT_DEVICE`` environment variable, then CUDA, then Apple MPS, then the CPU. Falling back to
the CPU is logged once (never silent, never an error on a machine without a GPU); *asking* for a
device that is not there is an error.

PyTorch is imported by the functions that need it, not by this module: :func:`to_numpy` and
:func:`array_namespace` serve NumPy code (lab 03's statistics) without loading it.

Examples
--------
>>> import torch
>>> resolve("cpu")
device(type='cpu')
>>> xp = array_namespace(torch.zeros(3))
>>> float(xp.sum(torch.ones(3)))
3.0
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = [
    "EnvironmentReport",
    "array_namespace",
    "environment_report",
    "is_cuda",
    "resolve",
    "synchronize",
    "to_numpy",
]

log = logging.getLogger(__name__)

ENV_VAR = "LABKIT_DEVICE"
_ALLOWED = ("cpu", "cuda", "cuda:N", "mps")
_fallback_logged = False


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _check_available(dev: torch.device, source: str) -> torch.device:
    import torch

    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"{source} asks for device {str(dev)!r} but CUDA is not available on this machine "
                f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}); "
                f"use 'cpu' or unset {ENV_VAR}"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"{source} asks for device {str(dev)!r} but only "
                f"{torch.cuda.device_count()} CUDA device(s) exist"
            )
    elif dev.type == "mps" and not _mps_available():
        raise RuntimeError(f"{source} asks for device 'mps' but MPS is not available here")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{source}: device {str(dev)!r} is not supported; allowed: {_ALLOWED}")
    return dev


def _parse(value: str | torch.device, source: str) -> torch.device:
    import torch

    if isinstance(value, torch.device):
        return value
    if not isinstance(value, str):
        raise TypeError(
            f"{source} must be a str or torch.device, got {type(value).__name__} {value!r}"
        )
    try:
        return torch.device(value.strip().lower())
    except RuntimeError:
        raise ValueError(
            f"{source}={value!r} is not a device name; allowed: {', '.join(_ALLOWED)}"
        ) from None


def resolve(device: str | torch.device | None = None) -> torch.device:
    """Pick the device to run on.

    Parameters
    ----------
    device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, a :class:`torch.device`, or ``None`` for
        automatic choice (``LABKIT_DEVICE``, then CUDA, then MPS, then CPU).

    Returns
    -------
    torch.device
        The device. A request for a device that is not present raises ``RuntimeError``.

    Examples
    --------
    >>> import torch
    >>> resolve(torch.device("cpu")).type
    'cpu'
    """
    global _fallback_logged
    import torch

    if device is not None:
        return _check_available(_parse(device, "device"), "device")
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return _check_available(_parse(env, ENV_VAR), ENV_VAR)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    if not _fallback_logged:
        log.info("no CUDA or MPS device found; labkit runs on the CPU")
        _fallback_logged = True
    return torch.device("cpu")


def is_cuda(device: str | torch.device | None) -> bool:
    """Whether ``device`` (already resolved or a name) is a CUDA device."""
    if device is None:
        return False
    import torch

    return torch.device(device).type == "cuda"


def synchronize(device: str | torch.device | None = None) -> None:
    """Wait for queued GPU work on ``device``; a no-op on the CPU.

    CUDA kernels launch asynchronously: without this a timer measures the launch, not the work.
    """
    if device is None:  # the CPU path of every timed call: return before touching torch
        return
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()


def array_namespace(*arrays: Any) -> Any:
    """The array-API namespace shared by ``arrays`` (NumPy, PyTorch or CuPy).

    Code written against the returned namespace runs unchanged on all three libraries
    (``array_api_compat`` wraps their differences).

    Examples
    --------
    >>> import numpy as np
    >>> xp = array_namespace(np.arange(4.0))
    >>> float(xp.mean(np.arange(4.0)))
    1.5
    """
    import array_api_compat

    if not arrays:
        raise ValueError("array_namespace needs at least one array")
    try:
        return array_api_compat.array_namespace(*arrays)
    except TypeError as err:
        kinds = ", ".join(sorted({type(a).__module__ + "." + type(a).__name__ for a in arrays}))
        raise TypeError(
            f"arrays must all be NumPy, PyTorch or CuPy arrays of one library, got {kinds}"
        ) from err


def to_numpy(x: Any) -> Any:
    """Copy (or view) any supported array as a NumPy array on the host."""
    import numpy as np

    # A tensor exists only once torch is imported; checking sys.modules keeps NumPy callers
    # from loading it.
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)


@dataclass(frozen=True)
class EnvironmentReport:
    """What this machine offers the course; ``rows()`` gives the table ``labkit doctor`` prints."""

    python: str
    platform: str
    cpu_count: int
    torch: str
    torch_cuda: str | None
    cudnn: str | None
    gpus: tuple[str, ...]
    default_device: str
    cupy: str | None
    cupy_cuda_usable: bool
    onnxruntime: str | None
    ort_providers_available: tuple[str, ...]
    ort_providers_loaded: tuple[str, ...]
    packages: dict[str, str | None] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, str]]:
        def show(value: object) -> str:
            if value is None:
                return "not installed"
            if isinstance(value, tuple):
                return ", ".join(value) if value else "none"
            return str(value)

        rows = [
            ("Python", self.python),
            ("Platform", self.platform),
            ("CPU cores", str(self.cpu_count)),
            ("torch", self.torch),
            ("torch CUDA", self.torch_cuda or "not built with CUDA"),
            ("cuDNN", self.cudnn or "unavailable"),
            ("GPUs", show(self.gpus)),
            ("labkit default device", self.default_device),
            ("CuPy", show(self.cupy)),
            ("CuPy CUDA usable", "yes" if self.cupy_cuda_usable else "no"),
            ("ONNX Runtime", show(self.onnxruntime)),
            ("ORT providers built in", show(self.ort_providers_available)),
            ("ORT providers that load", show(self.ort_providers_loaded)),
        ]
        rows += [(name, show(version)) for name, version in self.packages.items()]
        return rows

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cupy_status() -> tuple[str | None, bool]:
    try:
        cupy = importlib.import_module("cupy")
    except Exception:  # not installed, or a broken CUDA library path: both mean "no CuPy"
        return None, False
    try:
        usable = bool(cupy.cuda.is_available())
    except Exception:
        usable = False
    return cupy.__version__, usable


def _ort_status() -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    try:
        ort = importlib.import_module("onnxruntime")
    except ImportError:
        return None, (), ()
    available = tuple(ort.get_available_providers())
    # A GPU build lists CUDA even where its libraries are missing and then quietly runs on the
    # CPU, so build a one-node session and ask which providers it really loaded.
    from labkit._ort_probe import loaded_providers

    return ort.__version__, available, loaded_providers(available)


def environment_report() -> EnvironmentReport:
    """Collect versions and devices: Python, torch/CUDA/cuDNN, GPUs, CuPy, ONNX Runtime, tools."""
    import torch

    gpus: tuple[str, ...] = ()
    if torch.cuda.is_available():
        gpus = tuple(
            f"{torch.cuda.get_device_name(i)} "
            f"({torch.cuda.get_device_properties(i).total_memory / 2**30:.0f} GiB)"
            for i in range(torch.cuda.device_count())
        )
    cudnn = None
    if torch.backends.cudnn.is_available():
        cudnn = str(torch.backends.cudnn.version())
    cupy_version, cupy_usable = _cupy_status()
    ort_version, ort_available, ort_loaded = _ort_status()
    try:
        default = str(resolve())
    except RuntimeError as err:  # LABKIT_DEVICE names a missing device: report, don't crash
        default = f"error: {err}"
    return EnvironmentReport(
        python=sys.version.split()[0],
        platform=f"{platform.system()} {platform.machine()}",
        cpu_count=os.cpu_count() or 1,
        torch=torch.__version__,
        torch_cuda=torch.version.cuda,
        cudnn=cudnn,
        gpus=gpus,
        default_device=default,
        cupy=cupy_version,
        cupy_cuda_usable=cupy_usable,
        onnxruntime=ort_version,
        ort_providers_available=ort_available,
        ort_providers_loaded=ort_loaded,
        packages={
            name: _version(name) for name in ("numpy", "nbgrader", "jupyterlab", "onnx", "labkit")
        },
    )
