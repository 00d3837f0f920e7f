"""FLOP formulas against torch's own FLOP counter, GPU peaks against the data sheets, roofline."""

import math

import matplotlib
import numpy as np
import pytest
import torch
from torch.nn import functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from labkit.training import (
    GPU_SPECS,
    MLP,
    RooflinePoint,
    TinyTransformer,
    attainable_flops,
    gpu_spec,
    linear_flops,
    matmul_flops,
    matmul_intensity,
    measure_bandwidth,
    measure_elementwise_point,
    measure_matmul_flops,
    measure_matmul_point,
    mfu,
    model_flops_per_token,
    plot_roofline,
    transformer_flops_per_token,
)

matplotlib.use("Agg")


def _counted(fn):
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def test_matmul_flops_match_torch_counter():
    a, b = torch.randn(7, 5), torch.randn(5, 3)
    assert matmul_flops(7, 3, 5) == _counted(lambda: a @ b) == 2 * 7 * 3 * 5


def test_sizes_accept_numpy_integers_and_refuse_bools():
    got = matmul_flops(np.int64(7), np.int32(3), np.uint8(5))
    assert got == 2 * 7 * 3 * 5 and type(got) is int  # no NumPy overflow, no NumPy type
    with pytest.raises(TypeError, match=r"m must be an integer >= 1, got True \(bool\)"):
        matmul_flops(True, 3, 5)
    with pytest.raises(TypeError, match="batch_size"):
        linear_flops([(4, 8)], batch_size=2.0)


def test_linear_training_flops_match_torch_counter():
    torch.manual_seed(0)
    model = MLP(in_features=16, hidden=32, out_features=5, depth=2)
    x = torch.randn(12, 16, requires_grad=True)  # so backward computes every input gradient
    y = torch.randint(0, 5, (12,))
    counted = _counted(lambda: F.cross_entropy(model(x), y).backward())
    assert linear_flops(model, 12) == counted
    assert linear_flops(model, 12, training=False) * 3 == counted


def test_transformer_per_token_formula_matches_torch_counter():
    torch.manual_seed(0)
    model = TinyTransformer(vocab_size=64, d_model=128, n_heads=4, n_layers=2, seq_len=32)
    idx = torch.randint(0, 64, (2, 32))

    def step():
        # the math backend spells attention out as matmuls, which the counter sees (it has no
        # formula for the fused CPU kernel)
        with sdpa_kernel(SDPBackend.MATH):
            out = model(idx)
            F.cross_entropy(out.reshape(-1, 64), idx.reshape(-1)).backward()

    per_token = _counted(step) / idx.numel()
    formula = model_flops_per_token(model)
    assert formula == transformer_flops_per_token(
        n_params=model.num_params(), n_layers=2, n_heads=4, head_dim=32, seq_len=32
    )
    # 6N counts biases and norm weights as if they were matmul weights (~1% here)
    assert per_token == pytest.approx(formula, rel=0.02)


def test_transformer_formula_by_hand():
    # PaLM appendix B: 6N + 12 L H Q T
    assert (
        transformer_flops_per_token(
            n_params=124_000_000, n_layers=12, n_heads=12, head_dim=64, seq_len=1024
        )
        == 6 * 124_000_000 + 12 * 12 * 12 * 64 * 1024
    )
    with pytest.raises(ValueError, match="seq_len"):
        transformer_flops_per_token(n_params=1, n_layers=1, n_heads=1, head_dim=1, seq_len=0)
    with pytest.raises(TypeError, match="TinyTransformer"):
        model_flops_per_token(torch.nn.Linear(2, 2))


def test_mfu():
    assert mfu(494.75e12, 989.5e12) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="peak"):
        mfu(1.0, 0.0)


def test_gpu_table_is_dense_with_sparsity_marked():
    names = {s.name for s in GPU_SPECS}
    for required in ("A100", "H100", "H200", "L4", "T4"):
        assert any(n.startswith(required) for n in names), required
    for spec in GPU_SPECS:
        assert spec.source
        if spec.sparse_bf16 is not None:
            assert spec.sparse_bf16 == pytest.approx(2 * spec.bf16, rel=0.01)
        if spec.tf32 is not None:
            assert spec.bf16 == pytest.approx(2 * spec.tf32, rel=0.01)
    h100, h200 = gpu_spec("NVIDIA H100 80GB HBM3"), gpu_spec("NVIDIA H200")
    assert h100.bf16 == 989.5e12 and h100.memory_bandwidth == 3.35e12
    assert h200.bf16 == h100.bf16 and h200.memory_bandwidth == 4.8e12
    assert round(h100.ridge_point("bf16")) == 295 and round(h200.ridge_point("bf16")) == 206
    assert gpu_spec("NVIDIA A100-SXM4-80GB").bf16 == 312e12
    assert gpu_spec("NVIDIA H100 PCIe").name == "H100 PCIe"
    for nvl in ("NVIDIA H100 NVL", "NVIDIA H200 NVL"):  # PCIe cards: 835 dense bf16, not 989
        assert gpu_spec(nvl).name == nvl.removeprefix("NVIDIA ") and gpu_spec(nvl).bf16 == 835.5e12
    assert gpu_spec("NVIDIA L4").name == "L4" and gpu_spec("NVIDIA L40S") is None
    assert gpu_spec("Tesla T4").peak_flops("bf16") is None
    with pytest.raises(ValueError, match="no bf16"):
        gpu_spec("Tesla T4").ridge_point("bf16")
    with pytest.raises(ValueError, match="precision"):
        h100.peak_flops("fp8")


def test_roofline_formulas():
    assert matmul_intensity(1024, 1024, 1024, bytes_per_element=2) == pytest.approx(
        2 * 1024**3 / (2 * 3 * 1024**2)
    )
    assert attainable_flops(1.0, peak_flops=100.0, bandwidth=10.0) == 10.0
    assert attainable_flops(1e3, peak_flops=100.0, bandwidth=10.0) == 100.0
    with pytest.raises(ValueError, match=r"intensity must be a finite real number >= 0, got -1\.0"):
        attainable_flops(-1.0, peak_flops=1.0, bandwidth=1.0)
    with pytest.raises(ValueError, match="bandwidth"):
        attainable_flops(1.0, peak_flops=1.0, bandwidth=0.0)


def test_measured_points_and_plot():
    mm = measure_matmul_point(128, device="cpu", repeat=3)
    ew = measure_elementwise_point(2**16, device="cpu", repeat=3)
    assert mm.flops == 2 * 128**3 and mm.bytes_moved == 3 * 128 * 128 * 4
    assert ew.intensity == pytest.approx(2 / 16)  # 2 FLOPs per 4 float32 moved
    assert mm.intensity > ew.intensity and mm.flops_per_s > 0
    bw = measure_bandwidth(2**18, device="cpu", repeat=3)
    peak = measure_matmul_flops(128, device="cpu", repeat=3)
    assert math.isfinite(bw) and bw > 0 and peak > 0
    ax = plot_roofline([mm, ew, RooflinePoint("x", 1.0, 1.0, 1.0)], peak_flops=peak, bandwidth=bw)
    assert "intensity" in ax.get_xlabel() and ax.get_xscale() == "log"
    assert set(RooflinePoint("x", 2.0, 1.0, 1.0).to_dict()) >= {"intensity", "flops_per_s"}
