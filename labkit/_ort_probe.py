"""Which ONNX Runtime execution providers actually load on this machine.

A GPU build of ONNX Runtime lists CUDA and TensorRT as *available* even where their libraries are
missing, then logs an error and runs on the CPU. The only reliable answer is to build a session
and read ``session.get_providers()``.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# Preference order used everywhere in labkit: fastest first, CPU always last.
PREFERRED_PROVIDERS = (
    "TensorrtExecutionProvider",
    "CUDAExecutionProvider",
    "CoreMLExecutionProvider",
    "CPUExecutionProvider",
)


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
    options = ort.SessionOptions()
    options.log_severity_level = 4  # the fallback message is expected here; we report it ourselves
    try:
        session = ort.InferenceSession(_identity_model(), options, providers=wanted)
    except Exception as err:  # a provider that fails hard: fall back to asking for the CPU only
        log.warning("ONNX Runtime providers %s failed to load: %s", wanted, err)
        session = ort.InferenceSession(
            _identity_model(), options, providers=["CPUExecutionProvider"]
        )
    return tuple(session.get_providers())
