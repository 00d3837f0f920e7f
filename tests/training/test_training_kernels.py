"""Kernels against torch references, DLPack zero-copy, and the CuPy path where a GPU exists."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from labkit.training import (
    bias_gelu,
    cupy_available,
    row_softmax,
    shares_memory,
    squared_norm,
    to_numpy_zero_copy,
)

needs_cupy = pytest.mark.skipif(not cupy_available(), reason="needs CuPy with a CUDA device")
shapes = st.tuples(st.integers(1, 9), st.integers(1, 300))


@settings(max_examples=25, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31 - 1))
def test_bias_gelu_matches_torch(shape, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64) * 4
    b = torch.randn(shape[1], generator=g, dtype=torch.float64)
    want = F.gelu(x + b, approximate="tanh")
    torch.testing.assert_close(bias_gelu(x, b), want)  # torch CPU tensors via DLPack
    np.testing.assert_allclose(
        bias_gelu(x.numpy(), b.numpy()), want.numpy(), rtol=1e-12, atol=1e-12
    )


@settings(max_examples=25, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([1.0, 30.0, 1e3]))
def test_row_softmax_matches_torch(shape, seed, scale):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    x = x * scale  # large logits: the max-subtraction keeps exp finite
    got = row_softmax(x)
    torch.testing.assert_close(got, torch.softmax(x, dim=-1))
    assert torch.isfinite(got).all()


def test_squared_norm_matches_torch():
    x = torch.randn(1000, dtype=torch.float64)
    assert squared_norm(x) == pytest.approx(float((x**2).sum()), rel=1e-12)
    assert squared_norm(x.numpy()) == pytest.approx(float(torch.linalg.vector_norm(x) ** 2))
    assert isinstance(squared_norm(x), float)


def test_float32_results_stay_float32():
    x = torch.randn(4, 8)
    assert bias_gelu(x, torch.zeros(8)).dtype == torch.float32
    assert row_softmax(x.numpy()).dtype == np.float32


def test_dlpack_views_share_memory_both_ways():
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    a = to_numpy_zero_copy(t)
    assert shares_memory(a, t) and np.shares_memory(a, t.numpy())
    a[1, 2] = -1.0
    assert t[1, 2].item() == -1.0  # write through NumPy, read through torch
    back = torch.from_dlpack(a)
    back[0, 0] = 42.0
    assert a[0, 0] == 42.0 and t[0, 0].item() == 42.0 and shares_memory(back, t)
    w = torch.ones(3, requires_grad=True)
    assert shares_memory(to_numpy_zero_copy(w), w)  # detached view, still no copy
    assert not shares_memory(t.clone(), t)


def test_bad_inputs():
    with pytest.raises(TypeError, match="float32 or float64"):
        bias_gelu(torch.ones(3, dtype=torch.int64), torch.ones(3, dtype=torch.int64))
    with pytest.raises(TypeError, match="one kind"):
        bias_gelu(torch.ones(3), np.ones(3, dtype=np.float32))
    with pytest.raises(TypeError, match="NumPy array, CuPy array or torch tensor"):
        squared_norm([1.0, 2.0])
    with pytest.raises(ValueError, match="2-D"):
        row_softmax(np.ones(3))
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        to_numpy_zero_copy(np.ones(3))


@pytest.mark.gpu
@needs_cupy
def test_cupy_kernels_match_numpy():
    import cupy

    rng = np.random.default_rng(0)
    x = rng.standard_normal((33, 1000)).astype(np.float32) * 5
    b = rng.standard_normal(1000).astype(np.float32)
    xg, bg = cupy.asarray(x), cupy.asarray(b)
    np.testing.assert_allclose(bias_gelu(xg, bg).get(), bias_gelu(x, b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(row_softmax(xg).get(), row_softmax(x), rtol=1e-5, atol=1e-7)
    assert squared_norm(xg) == pytest.approx(squared_norm(x.astype(np.float64)), rel=1e-4)


@pytest.mark.gpu
@needs_cupy
def test_cuda_tensors_cross_into_cupy_without_copies():
    import cupy

    t = torch.randn(8, 16, device="cuda")
    c = cupy.from_dlpack(t)
    assert shares_memory(c, t)
    c[0, 0] = 7.0
    assert t[0, 0].item() == 7.0
    out = row_softmax(t)
    assert isinstance(out, torch.Tensor) and out.is_cuda
    torch.testing.assert_close(out, torch.softmax(t, dim=-1))
    torch.testing.assert_close(bias_gelu(t, t[0]), F.gelu(t + t[0], approximate="tanh"))
