"""Which ONNX Runtime execution providers actually load on this machine.

A GPU build of ONNX Runtime lists CUDA and TensorRT as *available* even where their libraries are
missing, then logs an error and runs on the CPU. The only reliable answer is to build a session
and read ``session.get_providers()``. That probe fails on purpose on many machines, and ORT writes
its failures through its *default* logger, which a session's ``log_severity_level`` does not
silence (about 1.5 KB of stderr per probe from onnxruntime-gpu 1.31): the probe raises the
default logger's threshold while it runs. TensorRT is asked for only where its libraries load:
ORT 1.2x–1.3x's TensorRT provider is built against TensorRT 10 (``libnvinfer.so.10``).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
from collections.abc import Iterator

log = logging.getLogger(__name__)

# Preference order used everywhere in labkit: fastest first, CPU always last.
PREFERRED_PROVIDERS = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CoreMLExecutionProvider",
    "CPUExecutionProvider",
)


# ORT's default logger threshold when nothing has changed it (0 verbose .. 4 fatal): 2, warning
_ORT_DEFAULT_SEVERITY = 2
TENSORRT_LIBRARY = "libnvinfer.so.10"
TENSORRT_HINT = (
    f"TensorRT 10 libraries ({TENSORRT_LIBRARY}) not found; ONNX Runtime's TensorRT provider "
    'needs TensorRT 10.x: pip install "tensorrt-cu13>=10,<11" (PyPI\'s newest TensorRT, 11.x, '
    "does not load)"
)


@contextlib.contextmanager
def quiet_default_logger(severity: int = 4) -> Iterator[None]:
    """Raise ORT's default-logger threshold to ``severity`` (4: fatal only) inside the block."""
    import onnxruntime as ort

    ort.set_default_logger_severity(severity)
    try:
        yield
    finally:
        ort.set_default_logger_severity(_ORT_DEFAULT_SEVERITY)


def tensorrt_loads() -> bool:
    """Whether TensorRT 10's core library loads (from the system or the ``tensorrt_libs`` wheel)."""
    candidates = [TENSORRT_LIBRARY]
    with contextlib.suppress(ImportError):
        import tensorrt_libs  # the PyPI wheel's libraries, not on the loader's path by default

        candidates += [f"{path}/{TENSORRT_LIBRARY}" for path in tensorrt_libs.__path__]
    for candidate in candidates:
        try:
            ctypes.CDLL(candidate)
            return True
        except OSError:
            continue
    return False


def _identity_model() -> bytes:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "probe", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # readable by every onnxruntime release labkit supports
    return model.SerializeToString()


def loaded_providers(available: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Providers a real session loads, in preference order (at least the CPU provider)."""
    import onnxruntime as ort

    available = tuple(ort.get_available_providers()) if available is None else available
    wanted = [p for p in PREFERRED_PROVIDERS if p in available] or ["CPUExecutionProvider"]
    if "TensorrtExecutionProvider" in wanted and not tensorrt_loads():
        wanted.remove("TensorrtExecutionProvider")
    options = ort.SessionOptions()
    options.log_severity_level = 4  # the fallback message is expected here; we report it ourselves
    with quiet_default_logger():
        try:
            session = ort.InferenceSession(_identity_model(), options, providers=wanted)
        except Exception as err:  # a provider that fails hard: fall back to the CPU only
            log.warning("ONNX Runtime providers %s failed to load: %s", wanted, err)
            session = ort.InferenceSession(
                _identity_model(), options, providers=["CPUExecutionProvider"]
            )
    return tuple(session.get_providers())


def tensorrt_options(
    cache_dir: str, input_name: str, feature_shape: tuple[int, ...], max_batch: int
) -> dict[str, str]:
    """TensorRT provider options: engines cached on disk and one profile for batches 1..max_batch.

    Without a profile a dynamic-batch model is rebuilt (seconds to minutes) for every new batch
    size; without the cache, in every process.

    >>> tensorrt_options("/tmp/trt", "x", (256,), 64)["trt_profile_max_shapes"]
    'x:64x256'
    """
    dims = "x".join(str(d) for d in feature_shape)

    def shape(batch: int) -> str:
        return f"{input_name}:{batch}x{dims}" if dims else f"{input_name}:{batch}"

    return {
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": cache_dir,
        "trt_timing_cache_enable": "True",
        "trt_timing_cache_path": cache_dir,
        "trt_profile_min_shapes": shape(1),
        "trt_profile_opt_shapes": shape(max_batch),
        "trt_profile_max_shapes": shape(max_batch),
    }
