"""Custom GPU kernels with CuPy, the same computations in NumPy, and zero-copy DLPack interop.

Three kernels, each with a NumPy path that computes the same result on the CPU:

- :func:`bias_gelu`: a CuPy ``ElementwiseKernel`` fusing a bias add and the tanh-approximate GELU
  into one pass over memory (torch's ``gelu(x + b, approximate="tanh")`` reads and writes twice
  unless compiled).
- :func:`squared_norm`: a ``ReductionKernel`` (map ``x*x``, reduce ``a + b``).
- :func:`row_softmax`: a ``RawKernel`` in CUDA C, one thread block per row, block-wide max and
  sum reductions in shared memory, the numerically stable ``exp(x - max)`` form.

Inputs may be NumPy arrays, CuPy arrays or torch tensors. A CUDA tensor crosses into CuPy and
back through DLPack without a copy; a CPU tensor is viewed as a NumPy array the same way. CuPy
is imported only when a CuPy array or CUDA tensor arrives (it is in the ``cuda`` extra), so the
module works on machines without it.

Examples
--------
>>> x = torch.tensor([[-1.0, 0.0, 2.0]])
>>> bias_gelu(x, torch.zeros(3))
tensor([[-0.1588,  0.0000,  1.9546]])
>>> a = to_numpy_zero_copy(x)
>>> a[0, 0] = 5.0                  # writes through: same memory
>>> float(x[0, 0]), shares_memory(a, x)
(5.0, True)
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch

__all__ = [
    "ROW_SOFTMAX_CUDA_SOURCE",
    "bias_gelu",
    "cupy_available",
    "row_softmax",
    "shares_memory",
    "squared_norm",
    "to_numpy_zero_copy",
]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

ROW_SOFTMAX_CUDA_SOURCE = r"""
extern "C" __global__
void labkit_row_softmax(const float* x, float* y, const int n_cols) {
    extern __shared__ float buf[];
    const long long row = blockIdx.x;
    const float* xr = x + row * n_cols;
    float* yr = y + row * n_cols;
    const int tid = threadIdx.x;

    float m = __int_as_float(0xff800000);  // -inf
    for (int j = tid; j < n_cols; j += blockDim.x) m = fmaxf(m, xr[j]);
    buf[tid] = m;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) buf[tid] = fmaxf(buf[tid], buf[tid + s]);
        __syncthreads();
    }
    m = buf[0];
    __syncthreads();

    float sum = 0.0f;
    for (int j = tid; j < n_cols; j += blockDim.x) {
        const float e = expf(xr[j] - m);
        yr[j] = e;
        sum += e;
    }
    buf[tid] = sum;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) buf[tid] += buf[tid + s];
        __syncthreads();
    }
    const float inv = 1.0f / buf[0];
    for (int j = tid; j < n_cols; j += blockDim.x) yr[j] *= inv;
}
"""
_THREADS = 256  # a power of two: the tree reductions above halve it


def cupy_available() -> bool:
    """True when CuPy imports *and* a CUDA device answers (CuPy imports without a driver)."""
    try:
        import cupy
    except Exception:  # not installed, or its CUDA libraries are missing
        return False
    try:
        return bool(cupy.cuda.is_available())
    except Exception:
        return False


@functools.cache
def _cupy_kernels() -> dict[str, Any]:
    import cupy

    return {
        "bias_gelu": cupy.ElementwiseKernel(
            "T x, T b",
            "T y",
            f"T u = x + b; y = (T)0.5 * u * ((T)1 + tanh((T){_SQRT_2_OVER_PI!r} * "
            "(u + (T)0.044715 * u * u * u)));",
            "labkit_bias_gelu",
        ),
        "squared_norm": cupy.ReductionKernel(
            "T x", "T y", "x * x", "a + b", "y = a", "0", "labkit_squared_norm"
        ),
        "row_softmax": cupy.RawKernel(ROW_SOFTMAX_CUDA_SOURCE, "labkit_row_softmax"),
    }


def _kind(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return "torch-cuda" if x.device.type == "cuda" else "torch-cpu"
    if type(x).__module__.split(".")[0] == "cupy":
        return "cupy"
    if isinstance(x, np.ndarray):
        return "numpy"
    raise TypeError(f"expected a NumPy array, CuPy array or torch tensor, got {type(x).__name__}")


def _float_dtype(x: Any) -> None:
    dtype = str(x.dtype).removeprefix("torch.")
    if dtype not in ("float32", "float64"):
        raise TypeError(f"expected float32 or float64 data, got {dtype}")


def _apply(numpy_fn, cupy_fn, *arrays: Any) -> Any:
    """Run on the library the first array lives in; torch tensors go through DLPack both ways."""
    kind = _kind(arrays[0])
    for a in arrays:
        _float_dtype(a)
        if _kind(a) != kind:
            raise TypeError(f"all arrays must be of one kind, got {kind} and {_kind(a)}")
    if kind == "numpy":
        return numpy_fn(*arrays)
    if kind == "torch-cpu":
        out = numpy_fn(*(np.from_dlpack(a.detach()) for a in arrays))
        return torch.from_dlpack(np.ascontiguousarray(out)) if isinstance(out, np.ndarray) else out
    import cupy

    if kind == "torch-cuda":
        out = cupy_fn(*(cupy.from_dlpack(a.detach()) for a in arrays))
        return torch.from_dlpack(out) if isinstance(out, cupy.ndarray) else out
    return cupy_fn(*arrays)


def _bias_gelu_numpy(x: np.ndarray, bias: np.ndarray) -> np.ndarray:
    u = x + bias
    return 0.5 * u * (1.0 + np.tanh(_SQRT_2_OVER_PI * (u + 0.044715 * u**3)))


def bias_gelu(x: Any, bias: Any) -> Any:
    """``gelu(x + bias)`` with the tanh approximation; ``bias`` broadcasts over the last axis."""
    return _apply(_bias_gelu_numpy, lambda a, b: _cupy_kernels()["bias_gelu"](a, b), x, bias)


def squared_norm(x: Any) -> float:
    """``Σ x²`` over all elements, as a Python float.

    >>> squared_norm(np.array([3.0, 4.0]))
    25.0
    """
    return float(_apply(lambda a: np.sum(a * a), lambda a: _cupy_kernels()["squared_norm"](a), x))


def _row_softmax_numpy(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _row_softmax_cupy(x: Any) -> Any:
    import cupy

    if x.ndim != 2:
        raise ValueError(f"row_softmax expects a 2-D array, got shape {x.shape}")
    dtype = x.dtype
    x32 = cupy.ascontiguousarray(x, dtype=cupy.float32)
    y = cupy.empty_like(x32)
    _cupy_kernels()["row_softmax"](
        (x32.shape[0],), (_THREADS,), (x32, y, np.int32(x32.shape[1])), shared_mem=_THREADS * 4
    )
    return y.astype(dtype, copy=False)


def row_softmax(x: Any) -> Any:
    """Softmax of each row of a 2-D array (the CUDA kernel computes in float32).

    >>> row_softmax(np.array([[0.0, 0.0], [0.0, np.log(3.0)]]))
    array([[0.5 , 0.5 ],
           [0.25, 0.75]])
    """
    if getattr(x, "ndim", None) != 2:
        raise ValueError(f"row_softmax expects a 2-D array, got shape {getattr(x, 'shape', None)}")
    return _apply(_row_softmax_numpy, _row_softmax_cupy, x)


def _address(x: Any) -> int:
    kind = _kind(x)
    if kind.startswith("torch"):
        return x.data_ptr()
    if kind == "cupy":
        return int(x.data.ptr)
    return int(x.__array_interface__["data"][0])


def shares_memory(a: Any, b: Any) -> bool:
    """True when two arrays (any of NumPy, CuPy, torch) start at the same memory address."""
    return _address(a) == _address(b)


def to_numpy_zero_copy(t: torch.Tensor) -> np.ndarray:
    """View a CPU tensor as a NumPy array through DLPack: no copy, writes go both ways."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(t).__name__}")
    if t.device.type != "cpu":
        raise ValueError(
            f"NumPy can only view CPU memory; the tensor is on {t.device}. "
            "Use cupy.from_dlpack(t) for a zero-copy view on the GPU"
        )
    return np.from_dlpack(t.detach())
