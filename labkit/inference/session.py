"""``OrtSession``: an ONNX Runtime session that says where it runs, and a parity check.

Three things trip people up with ONNX Runtime in production, and this wrapper makes each
visible:

* **Providers.** A GPU build lists CUDA and TensorRT as available even where their libraries
  are missing, then logs an error and runs on the CPU. The wrapper asks for providers explicitly
  (fastest first, from :data:`labkit._ort_probe.PREFERRED_PROVIDERS`), reads back
  ``session.get_providers()`` and logs when the first choice did not load.
* **Threads and graph optimizations.** ``intra_op_num_threads`` (0 = one per physical core) and
  the graph optimization level (``"disable"``, ``"basic"``, ``"extended"``, ``"all"``) change
  latency measurably; both are constructor arguments, kept on the object for reporting.
* **Bad input.** ONNX Runtime's own messages for a wrong shape or dtype are long and generic;
  :meth:`OrtSession.run` checks both first and names what the graph expects.

Examples are on :class:`OrtSession`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from labkit._ort_probe import (
    PREFERRED_PROVIDERS,
    loaded_providers,
    quiet_default_logger,
    tensorrt_options,
)
from labkit._validate import check_int, check_real
from labkit.device import resolve, to_numpy

__all__ = ["GRAPH_OPTIMIZATIONS", "OrtSession", "ParityResult", "default_providers", "parity"]

log = logging.getLogger(__name__)

GRAPH_OPTIMIZATIONS = ("disable", "basic", "extended", "all")
_ORT_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}


@functools.cache
def _preload_gpu_libraries() -> None:
    import onnxruntime as ort

    if torch.cuda.is_available() and hasattr(ort, "preload_dlls"):
        # onnxruntime-gpu (>= 1.21) finds the CUDA/cuDNN libraries of the nvidia-* wheels that
        # torch installed only when asked to; without this its CUDA provider may fail to load.
        try:
            ort.preload_dlls()
        except Exception as err:
            log.warning("onnxruntime.preload_dlls() failed: %s", err)


@functools.cache
def _usable_providers() -> tuple[str, ...]:
    _preload_gpu_libraries()
    return loaded_providers()


def default_providers(device: str | torch.device | None = None) -> tuple[str, ...]:
    """Providers to ask for on ``device``: GPU ones that really load here, then the CPU.

    On a CPU device (or when :func:`labkit.device.resolve` picks the CPU) only the CPU provider.
    """
    dev = resolve(device)
    if dev.type != "cuda":
        return ("CPUExecutionProvider",)
    usable = _usable_providers()
    gpu = tuple(p for p in PREFERRED_PROVIDERS if p in usable and p != "CPUExecutionProvider")
    return (*gpu, "CPUExecutionProvider")


def _tensorrt_options(source: str | bytes, max_batch: int) -> dict[str, str]:
    """TensorRT options for this model: its input's name and non-batch dims, a disk cache."""
    import os

    import onnx

    graph = (
        onnx.load_from_string(source) if isinstance(source, bytes) else onnx.load(source)
    ).graph
    inp = graph.input[0]
    dims = tuple(d.dim_value for d in inp.type.tensor_type.shape.dim[1:])
    cache = os.environ.get("LABKIT_TRT_CACHE") or str(Path.home() / ".cache/labkit/tensorrt")
    Path(cache).mkdir(parents=True, exist_ok=True)
    return tensorrt_options(cache, inp.name, dims, max_batch)


class OrtSession:
    """An ONNX Runtime inference session with explicit providers and checked inputs.

    Parameters
    ----------
    model
        Path to an ``.onnx`` file, or its serialized bytes.
    providers
        Execution providers in order of preference. ``None``: :func:`default_providers` for
        ``device``. The CPU provider is always appended as the fallback.
    device
        Used only when ``providers`` is None (see :func:`labkit.device.resolve`).
    intra_op_num_threads
        Threads inside one operator; 0 lets ONNX Runtime use one per physical core.
    inter_op_num_threads
        Threads across independent operators (only used by the parallel executor); 0 = default.
    graph_optimization
        One of :data:`GRAPH_OPTIMIZATIONS`.
    tensorrt_max_batch
        With the TensorRT provider: the largest batch of the one optimization profile (1 to this),
        so a dynamic-batch model builds its engine once, not per batch size. Engines and timing
        caches are kept in ``$LABKIT_TRT_CACHE`` (default ``~/.cache/labkit/tensorrt``).

    Attributes
    ----------
    providers
        The providers the session actually loaded, in priority order.
    requested_providers
        What was asked for.

    Examples
    --------
    >>> import tempfile, numpy as np, torch
    >>> from labkit.inference.export import export_onnx
    >>> model = torch.nn.Linear(4, 2)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     session = OrtSession(export_onnx(model, torch.zeros(1, 4), f"{tmp}/m.onnx"), device="cpu")
    >>> session.providers, session.input_shape
    (('CPUExecutionProvider',), (None, 4))
    >>> parity(model, session, torch.randn(8, 4)).ok
    True
    """

    def __init__(
        self,
        model: str | Path | bytes,
        *,
        providers: Sequence[str] | None = None,
        device: str | torch.device | None = None,
        intra_op_num_threads: int = 0,
        inter_op_num_threads: int = 0,
        graph_optimization: str = "all",
        tensorrt_max_batch: int = 64,
    ) -> None:
        import onnxruntime as ort

        if graph_optimization not in GRAPH_OPTIMIZATIONS:
            raise ValueError(
                f"graph_optimization must be one of {GRAPH_OPTIMIZATIONS}, got {graph_optimization!r}"
            )
        tensorrt_max_batch = check_int(tensorrt_max_batch, "tensorrt_max_batch", min_val=1)
        intra_op_num_threads = check_int(intra_op_num_threads, "intra_op_num_threads", min_val=0)
        inter_op_num_threads = check_int(inter_op_num_threads, "inter_op_num_threads", min_val=0)
        if isinstance(model, str | Path) and not Path(model).is_file():
            raise FileNotFoundError(f"ONNX model {str(model)!r} does not exist")
        if not isinstance(model, str | Path | bytes):
            raise TypeError(f"model must be a path or bytes, got {type(model).__name__}")
        if providers is None:
            wanted = list(default_providers(device))
        else:
            available = ort.get_available_providers()
            unknown = [p for p in providers if p not in available]
            if unknown:
                raise ValueError(
                    f"providers {unknown} are not in this ONNX Runtime build; available: {available}"
                )
            wanted = list(dict.fromkeys([*providers, "CPUExecutionProvider"]))
        if wanted[0] != "CPUExecutionProvider":
            _preload_gpu_libraries()
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_num_threads
        options.inter_op_num_threads = inter_op_num_threads
        options.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[graph_optimization]
        options.log_severity_level = 3  # a failed GPU provider is reported below, once, by us
        source = model if isinstance(model, bytes) else str(model)
        chain: list[Any] = list(wanted)
        if "TensorrtExecutionProvider" in wanted:
            chain[wanted.index("TensorrtExecutionProvider")] = (
                "TensorrtExecutionProvider",
                _tensorrt_options(source, tensorrt_max_batch),
            )
        with quiet_default_logger(3):  # ORT's own fallback errors; the warning below says it once
            self._session = ort.InferenceSession(source, options, providers=chain)
        self.requested_providers = tuple(wanted)
        self.providers = tuple(self._session.get_providers())
        self.intra_op_num_threads = intra_op_num_threads
        self.inter_op_num_threads = inter_op_num_threads
        self.graph_optimization = graph_optimization
        if self.providers[0] != wanted[0]:
            log.warning(
                "ONNX Runtime could not load %s; the session runs on %s",
                wanted[0],
                ", ".join(self.providers),
            )
        inp = self._session.get_inputs()
        if len(inp) != 1:
            raise ValueError(f"OrtSession supports models with one input, this one has {len(inp)}")
        self.input_name: str = inp[0].name
        self.input_shape: tuple[int | None, ...] = tuple(
            d if isinstance(d, int) else None for d in inp[0].shape
        )
        if inp[0].type not in _ORT_DTYPES:
            raise ValueError(
                f"unsupported input type {inp[0].type} (supported: {list(_ORT_DTYPES)})"
            )
        self.input_dtype = np.dtype(_ORT_DTYPES[inp[0].type])
        self.output_names = tuple(o.name for o in self._session.get_outputs())
        # batch size -> the first output's (shape, NumPy dtype), learned by one unbound run
        self._outputs: dict[int, tuple[tuple[int, ...], np.dtype]] = {}

    def _check_layout(self, dtype: str, shape: tuple[int, ...]) -> None:
        """Raise unless an input of dtype ``dtype`` (a name) and ``shape`` fits the model."""
        if dtype != self.input_dtype.name:
            raise TypeError(
                f"input {self.input_name!r} must have dtype {self.input_dtype}, got {dtype}; "
                f"convert with x.astype(np.{self.input_dtype})"
            )
        expected = tuple("batch" if d is None else d for d in self.input_shape)
        if len(shape) != len(self.input_shape) or any(
            d is not None and d != s for d, s in zip(self.input_shape, shape, strict=True)
        ):
            raise ValueError(f"input {self.input_name!r} must have shape {expected}, got {shape}")

    def _check(self, x: Any) -> np.ndarray:
        if isinstance(x, torch.Tensor):
            x = to_numpy(x)
        if not isinstance(x, np.ndarray):
            raise TypeError(f"input must be a NumPy array or torch.Tensor, got {type(x).__name__}")
        self._check_layout(x.dtype.name, tuple(x.shape))
        return x

    def run(self, x: Any) -> np.ndarray:
        """Run the model on ``x`` (NumPy or torch, right shape and dtype); the first output."""
        return self._session.run(None, {self.input_name: self._check(x)})[0]

    __call__ = run

    def run_bound(self, x: torch.Tensor) -> torch.Tensor:
        """Run on a torch tensor where it lives, through ORT's IO binding: no host round trip.

        ``run`` copies a CUDA input to the host and the output back; here ORT reads ``x``'s memory
        and writes the first output into a torch tensor on ``x``'s device (its shape taken from a
        first, unbound run for that batch size). The GPU latency rows time this, so they measure
        the model and not two PCIe copies.
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"run_bound takes a torch.Tensor, got {type(x).__name__}")
        # from the tensor's metadata: no copy or device sync on this hot path
        self._check_layout(str(x.dtype).removeprefix("torch."), tuple(x.shape))
        x = x.contiguous()
        kind = "cuda" if x.device.type == "cuda" else "cpu"
        index = x.device.index or 0
        layout = self._outputs.get(x.shape[0])
        if layout is None:  # once per batch size: ask ORT for the output's shape and dtype
            first = self._session.run(self.output_names[:1], {self.input_name: to_numpy(x)})[0]
            layout = self._outputs[x.shape[0]] = (first.shape, first.dtype)
        shape, first_dtype = layout
        out = torch.empty(shape, dtype=torch.from_numpy(np.empty(0, first_dtype)).dtype,
                          device=x.device)  # fmt: skip
        binding = self._session.io_binding()
        binding.bind_input(self.input_name, kind, index, self.input_dtype, tuple(x.shape),
                           x.data_ptr())  # fmt: skip
        binding.bind_output(self.output_names[0], kind, index, first_dtype, tuple(shape),
                            out.data_ptr())  # fmt: skip
        self._session.run_with_iobinding(binding)
        return out

    def __repr__(self) -> str:
        return (
            f"OrtSession(input {self.input_name}{self.input_shape} {self.input_dtype}, "
            f"providers={list(self.providers)}, intra_op_num_threads={self.intra_op_num_threads}, "
            f"graph_optimization={self.graph_optimization!r})"
        )


@dataclass(frozen=True)
class ParityResult:
    """How far a candidate's outputs are from a reference's on the same inputs.

    ``max_abs_error``: largest |candidate − reference|; ``argmax_agreement``: share of rows
    whose arg-max (predicted class) is the same; ``ok``: ``max_abs_error <= atol``.
    """

    max_abs_error: float
    argmax_agreement: float
    atol: float

    @property
    def ok(self) -> bool:
        return self.max_abs_error <= self.atol

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_abs_error": self.max_abs_error,
            "argmax_agreement": self.argmax_agreement,
            "atol": self.atol,
            "ok": self.ok,
        }

    def __repr__(self) -> str:
        verdict = "ok" if self.ok else "MISMATCH"
        return (
            f"ParityResult({verdict}: max abs error {self.max_abs_error:.2e} (atol {self.atol:.0e}),"
            f" arg-max agreement {self.argmax_agreement:.2%})"
        )


def parity(
    reference: Callable[[Any], Any],
    candidate: Callable[[Any], Any],
    x: torch.Tensor | np.ndarray,
    *,
    atol: float = 1e-4,
) -> ParityResult:
    """Compare ``candidate(x)`` with ``reference(x)`` (each torch or NumPy in, either out)."""
    atol = check_real(atol, "atol", min_val=0)

    def call(fn: Callable[[Any], Any]) -> np.ndarray:
        arg = (
            torch.from_numpy(x)
            if isinstance(fn, torch.nn.Module) and isinstance(x, np.ndarray)
            else x
        )
        return to_numpy(fn(arg)).astype(np.float64)

    with torch.inference_mode():
        ref, out = call(reference), call(candidate)
    if ref.shape != out.shape:
        raise ValueError(f"outputs differ in shape: reference {ref.shape}, candidate {out.shape}")
    agree = float((ref.argmax(axis=-1) == out.argmax(axis=-1)).mean()) if ref.ndim > 1 else 1.0
    return ParityResult(float(np.abs(ref - out).max()), agree, float(atol))
