"""Array checks shared by the drift statistics, detectors and monitors.

Every check raises ``ValueError`` (or ``TypeError`` for a wrong kind of object) whose message
names the argument, what it was and what is allowed, so a learner can fix the call from the
message alone. Scalar arguments are checked by :mod:`labkit._validate`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from labkit.device import array_namespace, to_numpy

_ARRAY_MODULES = ("numpy", "torch", "cupy")


def is_array(x: Any) -> bool:
    """Whether ``x`` is a NumPy, PyTorch or CuPy array (not a list, not a scalar)."""
    return type(x).__module__.split(".")[0] in _ARRAY_MODULES and hasattr(x, "shape")


def device_of(x: Any) -> Any:
    """The device an array lives on, in its own library's terms (for ``xp.asarray(device=)``)."""
    import array_api_compat

    return array_api_compat.device(x)


def _describe(x: Any) -> str:
    shape = getattr(x, "shape", None)
    return f"{type(x).__name__} of shape {tuple(shape)}" if shape is not None else repr(x)


def _as_array(x: Any, name: str, like: Any = None) -> Any:
    """``x`` itself when it is an array; lists and tuples become arrays of ``like``'s library."""
    if is_array(x):
        return x
    if x is None or isinstance(x, str | bytes | dict | numbers.Number):
        raise TypeError(
            f"{name} must be an array (NumPy, PyTorch or CuPy) or a list of numbers, "
            f"got {type(x).__name__}"
        )
    try:
        arr = np.asarray(x)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{name} must be rectangular, got a ragged {type(x).__name__}") from err
    if like is not None and not isinstance(like, np.ndarray):
        return array_namespace(like).asarray(arr, device=device_of(like))
    return arr


def _check_dtype(x: Any, name: str, xp: Any) -> None:
    dtype = x.dtype
    if isinstance(x, np.ndarray) and dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {dtype}")
    if xp.isdtype(dtype, "complex floating"):
        raise ValueError(f"{name} must hold real numbers, got complex dtype {dtype}")


def check_finite(x: Any, name: str, xp: Any) -> None:
    """Raise when ``x`` holds NaN or ±inf, saying how many and where the first one is."""
    if xp.isdtype(x.dtype, ("bool", "integral")):
        return
    bad = ~xp.isfinite(x)
    if bool(xp.any(bad)):
        count = int(xp.sum(xp.astype(bad, xp.int64)))
        first = np.argwhere(to_numpy(bad))[0]
        where = (
            f"row {int(first[0])}" if first.size == 1 else f"index {tuple(int(i) for i in first)}"
        )
        raise ValueError(
            f"{name} contains {count} NaN or infinite value(s) (first at {where}); drift statistics "
            "need finite numbers: drop or impute them first"
        )


def as_samples(
    x: Any,
    name: str,
    *,
    ndim: tuple[int, ...] = (1,),
    min_rows: int = 1,
    like: Any = None,
) -> tuple[Any, Any]:
    """Validate one sample and return ``(array as float64, namespace)``.

    ``ndim`` lists the allowed numbers of dimensions; 1-D means one feature, 2-D means
    ``(n_samples, n_features)``.
    """
    arr = _as_array(x, name, like)
    xp = array_namespace(arr)
    _check_dtype(arr, name, xp)
    if arr.ndim not in ndim:
        if ndim == (1,):
            hint = (
                "one feature per call: pass a 1-D array, or use KSDrift / ks_per_feature for "
                "several columns"
            )
        elif ndim == (2,):
            hint = "a 2-D array of shape (n_samples, n_features); reshape a single feature with x[:, None]"
        else:
            hint = "a 1-D array (one feature) or a 2-D array (n_samples, n_features)"
        raise ValueError(f"{name} must be {hint}; got {_describe(arr)}")
    if arr.shape[0] < min_rows:
        raise ValueError(
            f"{name} needs at least {min_rows} sample(s), got {arr.shape[0]} ({_describe(arr)})"
        )
    if arr.ndim == 2 and arr.shape[1] < 1:
        raise ValueError(f"{name} has no features (shape {tuple(arr.shape)})")
    check_finite(arr, name, xp)
    return xp.astype(arr, xp.float64, copy=False), xp


def as_pair(
    x_ref: Any,
    x: Any,
    names: tuple[str, str] = ("x_ref", "x"),
    *,
    ndim: tuple[int, ...] = (1,),
    min_rows: int = 1,
) -> tuple[Any, Any, Any]:
    """Validate a reference and a current sample together: same library, device, ndim, features."""
    like = x if is_array(x) else None
    a, xp = as_samples(x_ref, names[0], ndim=ndim, min_rows=min_rows, like=like)
    b, xp_b = as_samples(x, names[1], ndim=ndim, min_rows=min_rows, like=a)
    if xp_b is not xp:
        raise TypeError(
            f"{names[0]} and {names[1]} must come from the same array library, got "
            f"{type(x_ref).__module__} and {type(x).__module__}"
        )
    if device_of(a) != device_of(b):
        raise ValueError(
            f"{names[0]} and {names[1]} must be on the same device, got "
            f"{device_of(a)} and {device_of(b)}"
        )
    if a.ndim != b.ndim:
        raise ValueError(
            f"{names[0]} is {a.ndim}-D {tuple(a.shape)} but {names[1]} is {b.ndim}-D "
            f"{tuple(b.shape)}; pass both as 1-D (one feature) or both as 2-D (n_samples, n_features)"
        )
    if a.ndim == 2 and a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{names[0]} has {a.shape[1]} features but {names[1]} has {b.shape[1]}; the current "
            "data must have the reference's columns"
        )
    return a, b, xp
