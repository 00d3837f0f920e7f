"""Export a PyTorch model to ONNX with a dynamic batch dimension.

ONNX Runtime runs a static graph without Python in the loop, which is where much of its speed at
small batch sizes comes from. The graph must accept any batch size, or the server could not
batch requests, so the first axis of the input and output is named (``"batch"``) instead of
fixed.

Exporter choice: since PyTorch 2.9 ``torch.onnx.export`` defaults to the ``torch.export``-based
("dynamo") exporter. On this course's stack it takes ~5 s for a small MLP, needs ``onnxscript``,
and writes progress lines and warnings to stdout/stderr (which an autograder scores as a
failure). The TorchScript-based exporter (``dynamo=False``) exports the same MLP in
milliseconds, silently apart from a ``DeprecationWarning`` that announces the default change;
labkit uses it and hides exactly that warning. What tracing cannot capture, such as Python
control flow on tensor values, raises :class:`ExportError` instead of writing a graph that is
wrong for other inputs.

Examples
--------
>>> import tempfile, torch
>>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = export_onnx(model, torch.zeros(1, 4), f"{tmp}/m.onnx")
...     batch_dim(path)
'batch'
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import torch

__all__ = ["ExportError", "batch_dim", "export_onnx"]

# Messages torch emits on every legacy export; they announce a default change, not a problem.
_LEGACY_NOTICES = (
    r"You are using the legacy TorchScript-based ONNX export",
    r"The feature will be removed\. Please remove usage of this function",
)


class ExportError(RuntimeError):
    """The model could not be exported to a correct ONNX graph."""


def export_onnx(
    model: torch.nn.Module,
    example_input: torch.Tensor,
    path: str | Path,
    *,
    dynamic_batch: bool = True,
    opset_version: int = 17,
    input_name: str = "x",
    output_name: str = "y",
) -> Path:
    """Write ``model`` (in eval mode) as an ONNX file with one input and one output.

    Parameters
    ----------
    model
        A module whose ``forward`` takes one tensor.
    example_input
        A tensor of the right shape and dtype (its batch size does not matter when
        ``dynamic_batch``).
    path
        Where to write the ``.onnx`` file; parent directories must exist.
    dynamic_batch
        Name the first axis ``"batch"`` so the graph accepts any batch size.
    opset_version
        ONNX operator set (17 is read by every ONNX Runtime this course supports).

    Returns
    -------
    Path
        ``path``, after ``onnx.checker`` accepted the file.

    Raises
    ------
    ExportError
        The exporter failed, or tracing met value-dependent Python code.
    """
    import onnx

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(example_input, torch.Tensor):
        raise TypeError(f"example_input must be a torch.Tensor, got {type(example_input).__name__}")
    if example_input.ndim < 1:
        raise ValueError("example_input needs a batch dimension, got a 0-d tensor")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"directory {str(path.parent)!r} for the ONNX file does not exist")
    dynamic_axes = {input_name: {0: "batch"}, output_name: {0: "batch"}} if dynamic_batch else None
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with torch.no_grad():
                torch.onnx.export(
                    model,
                    (example_input,),
                    str(path),
                    input_names=[input_name],
                    output_names=[output_name],
                    dynamic_axes=dynamic_axes,
                    opset_version=opset_version,
                    dynamo=False,
                )
    except Exception as err:
        path.unlink(missing_ok=True)
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ExportError(
            f"cannot export {type(model).__name__} to ONNX (opset {opset_version}): {first_line}"
        ) from err
    finally:
        model.train(was_training)
    tracer = [w for w in caught if issubclass(w.category, torch.jit.TracerWarning)]
    if tracer:
        # A tracer warning means the graph is specialized to this example input: refuse it.
        path.unlink(missing_ok=True)
        raise ExportError(
            f"cannot export {type(model).__name__}: its forward depends on tensor values "
            f"(Python control flow, .item(), .tolist() or NumPy), so the traced graph would only "
            f"be right for the example input. Tracer said: {tracer[0].message}"
        )
    for w in caught:  # pass on anything else, except the exporter's own notices
        if not any(re.match(notice, str(w.message)) for notice in _LEGACY_NOTICES):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    onnx.checker.check_model(str(path))
    return path


def batch_dim(path: str | Path) -> str | int:
    """The first dimension of the model's first input: a name if dynamic, else its size."""
    import onnx

    dim = (
        onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim[0]
    )
    return dim.dim_param if dim.dim_param else dim.dim_value
