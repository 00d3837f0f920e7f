"""Array backends the drift statistics are tested on: NumPy, torch CPU, and CUDA/CuPy when present."""

from __future__ import annotations

import numpy as np
import pytest
import torch


def _cupy_usable() -> bool:
    try:
        import cupy

        return bool(cupy.cuda.is_available())
    except Exception:
        return False


BACKENDS = [
    pytest.param(lambda a: np.asarray(a), id="numpy"),
    pytest.param(lambda a: torch.as_tensor(np.asarray(a)), id="torch-cpu"),
    pytest.param(
        lambda a: torch.as_tensor(np.asarray(a)).to("cuda"),
        id="torch-cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
        ],
    ),
    pytest.param(
        lambda a: __import__("cupy").asarray(np.asarray(a)),
        id="cupy",
        marks=[pytest.mark.gpu, pytest.mark.skipif(not _cupy_usable(), reason="needs CuPy + CUDA")],
    ),
]


@pytest.fixture(params=BACKENDS)
def to_backend(request):
    """Convert a NumPy array to the backend under test."""
    return request.param
