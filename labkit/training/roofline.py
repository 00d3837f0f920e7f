"""The roofline model: where measured kernels sit against a device's compute and bandwidth limits.

A kernel doing ``F`` FLOPs while moving ``B`` bytes to and from memory has arithmetic intensity
``I = F / B``; it can run no faster than ``min(peak FLOP/s, I × bandwidth)`` (Williams, Waterman
and Patterson, "Roofline", CACM 2009). Below the ridge point ``peak / bandwidth`` a kernel is
memory-bound (elementwise ops, small matmuls), above it compute-bound (large matmuls). For a
GPU the limits come from :mod:`labkit.training.gpus`; for a CPU, which publishes neither, they
are measured here (a large matmul and a large copy), so the chart shows practical roofs.

Examples
--------
>>> round(matmul_intensity(4096, 4096, 4096, bytes_per_element=2))  # bf16 GEMM
1365
>>> attainable_flops(10.0, peak_flops=100e12, bandwidth=2e12) / 1e12  # memory-bound
20.0
>>> p = RooflinePoint("add", flops=1e6, bytes_moved=12e6, seconds=1e-3)
>>> round(p.intensity, 3), p.flops_per_s
(0.083, 1000000000.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from labkit._validate import check_int, check_real
from labkit.device import resolve
from labkit.timing import benchmark

__all__ = [
    "RooflinePoint",
    "attainable_flops",
    "matmul_intensity",
    "measure_bandwidth",
    "measure_elementwise_point",
    "measure_matmul_point",
    "plot_roofline",
]


@dataclass(frozen=True)
class RooflinePoint:
    """One measured kernel: its FLOPs, bytes moved and time (seconds).

    Examples
    --------
    >>> point = RooflinePoint("axpy", flops=2e6, bytes_moved=12e6, seconds=1e-3)
    >>> round(point.intensity, 3), point.flops_per_s / 1e9  # FLOP/byte, GFLOP/s
    (0.167, 2.0)
    """

    name: str
    flops: float
    bytes_moved: float
    seconds: float

    @property
    def intensity(self) -> float:
        return self.flops / self.bytes_moved

    @property
    def flops_per_s(self) -> float:
        return self.flops / self.seconds

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "intensity": self.intensity, "flops_per_s": self.flops_per_s}


def matmul_intensity(m: int, n: int, k: int, *, bytes_per_element: int = 4) -> float:
    """FLOP/byte of ``(m,k)@(k,n)``, each operand read once and the result written once."""
    m, n, k = (check_int(v, name, min_val=1) for v, name in ((m, "m"), (n, "n"), (k, "k")))
    bytes_per_element = check_int(bytes_per_element, "bytes_per_element", min_val=1)
    return 2 * m * n * k / (bytes_per_element * (m * k + k * n + m * n))


def attainable_flops(intensity: float, *, peak_flops: float, bandwidth: float) -> float:
    """The roof: ``min(peak_flops, intensity × bandwidth)``."""
    intensity = check_real(intensity, "intensity", min_val=0)
    peak_flops = check_real(peak_flops, "peak_flops", min_val=0, include_boundaries="neither")
    bandwidth = check_real(bandwidth, "bandwidth", min_val=0, include_boundaries="neither")
    return min(peak_flops, intensity * bandwidth)


def measure_matmul_point(
    n: int, *, dtype: torch.dtype = torch.float32, device: str | torch.device | None = None,
    repeat: int = 10,
) -> RooflinePoint:  # fmt: skip
    """Time an ``n×n`` matmul and place it on the roofline."""
    n = check_int(n, "n", min_val=1)
    dev = resolve(device)
    a = torch.randn(n, n, device=dev, dtype=dtype)
    b = torch.randn(n, n, device=dev, dtype=dtype)
    m = benchmark(torch.matmul, a, b, warmup=2, repeat=repeat, device=dev)
    size = a.element_size()
    return RooflinePoint(f"matmul {n} {str(dtype).removeprefix('torch.')}", 2.0 * n**3,
                         3.0 * n * n * size, m.median)  # fmt: skip


def measure_elementwise_point(
    numel: int, *, dtype: torch.dtype = torch.float32, device: str | torch.device | None = None,
    repeat: int = 10,
) -> RooflinePoint:  # fmt: skip
    """Time ``a * b + c`` (one FLOP-pair per element: 2 FLOPs, 4 tensors moved)."""
    numel = check_int(numel, "numel", min_val=1)
    dev = resolve(device)
    a, b, c = (torch.randn(numel, device=dev, dtype=dtype) for _ in range(3))
    out = torch.empty_like(a)
    m = benchmark(torch.addcmul, c, a, b, out=out, warmup=2, repeat=repeat, device=dev)
    return RooflinePoint(f"a*b+c {numel:.0e}", 2.0 * numel, 4.0 * numel * a.element_size(),
                         m.median)  # fmt: skip


def measure_bandwidth(
    numel: int = 2**25, *, device: str | torch.device | None = None, repeat: int = 10
) -> float:
    """Achieved memory bandwidth in bytes/s of a large float32 copy (read + write)."""
    numel = check_int(numel, "numel", min_val=1)
    dev = resolve(device)
    src = torch.randn(numel, device=dev)
    dst = torch.empty_like(src)
    m = benchmark(dst.copy_, src, warmup=2, repeat=repeat, device=dev, label="copy")
    return 2.0 * numel * src.element_size() / m.median


def plot_roofline(
    points: Sequence[RooflinePoint],
    *,
    peak_flops: float,
    bandwidth: float,
    title: str = "Roofline",
    ax: Any = None,
) -> Any:
    """Log-log roofline with ``points``; returns the matplotlib Axes."""
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4.2))
    lo = min([p.intensity for p in points] + [peak_flops / bandwidth]) / 4
    hi = max([p.intensity for p in points] + [peak_flops / bandwidth]) * 4
    x = np.logspace(np.log10(lo), np.log10(hi), 200)
    ax.loglog(x, np.minimum(peak_flops, x * bandwidth), "k-", lw=2, label="roof")
    ridge = peak_flops / bandwidth
    ax.axvline(ridge, color="grey", ls=":", lw=1)
    ax.annotate(f"ridge {ridge:.0f} FLOP/B", (ridge, peak_flops / 8), rotation=90, fontsize=8)
    for p in points:
        ax.loglog(p.intensity, p.flops_per_s, "o", ms=7, label=p.name)
    ax.set_xlabel("arithmetic intensity (FLOP/byte)")
    ax.set_ylabel("throughput (FLOP/s)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, which="both", alpha=0.3)
    return ax
