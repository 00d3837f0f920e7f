"""Post-training int8 dynamic quantization with ONNX Runtime.

Dynamic quantization stores weights as 8-bit integers (a quarter of float32's bytes) with a
scale per tensor (or per output channel) and quantizes activations on the fly, batch by batch,
from their observed range. No calibration data is needed, which makes it the first thing to try
on linear-layer-heavy models. At batch 1 such a model is bound by reading its weights, so
4× fewer bytes and integer matrix kernels (VNNI/AMX on x86, dot-product on ARM) cut latency; the
gain grows with the weights' size and shrinks when they already fit in cache.

``onnxruntime.quantization.quantize_dynamic`` logs a hint about optional model pre-processing
through the *root* logger, which lands on stderr; :func:`quantize_int8` drops exactly that
record. (PyTorch's own eager path, ``torch.ao.quantization``, is deprecated and warns on use.)

Examples
--------
>>> import tempfile, torch
>>> from labkit.inference.export import export_onnx
>>> with tempfile.TemporaryDirectory() as tmp:
...     fp32 = export_onnx(torch.nn.Linear(256, 256), torch.zeros(1, 256), f"{tmp}/fp32.onnx")
...     int8 = quantize_int8(fp32, f"{tmp}/int8.onnx")
...     round(model_size_bytes(fp32) / model_size_bytes(int8))
4
"""

from __future__ import annotations

import logging
from pathlib import Path

__all__ = ["model_size_bytes", "quantize_int8"]

_HINT = "Please consider to run pre-processing before quantization"


def _drop_hint(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(_HINT)


def quantize_int8(
    model_in: str | Path,
    model_out: str | Path,
    *,
    per_channel: bool = False,
    weight_type: str = "qint8",
) -> Path:
    """Quantize an ONNX model's weights to int8 (dynamic quantization) and write it.

    Parameters
    ----------
    model_in
        The float32 ``.onnx`` file.
    model_out
        Where to write the quantized model.
    per_channel
        One scale per output channel instead of one per tensor (more accurate, a little slower).
    weight_type
        ``"qint8"`` (signed, the usual choice on x86 with VNNI) or ``"quint8"``.

    Returns
    -------
    Path
        ``model_out``.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    types = {"qint8": QuantType.QInt8, "quint8": QuantType.QUInt8}
    if weight_type not in types:
        raise ValueError(f"weight_type must be one of {sorted(types)}, got {weight_type!r}")
    model_in, model_out = Path(model_in), Path(model_out)
    if not model_in.is_file():
        raise FileNotFoundError(f"ONNX model {str(model_in)!r} does not exist")
    if model_in.resolve() == model_out.resolve():
        raise ValueError("model_out must differ from model_in (the float model would be lost)")
    root = logging.getLogger()
    root.addFilter(_drop_hint)
    try:
        quantize_dynamic(
            model_in, model_out, weight_type=types[weight_type], per_channel=per_channel
        )
    finally:
        root.removeFilter(_drop_hint)
    return model_out


def model_size_bytes(path: str | Path) -> int:
    """Size of an ONNX file on disk, in bytes."""
    return Path(path).stat().st_size
