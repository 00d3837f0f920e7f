"""Spec-sheet peaks of common NVIDIA GPUs: dense tensor-core throughput and memory bandwidth.

Every figure is *dense*. NVIDIA's data sheets quote tensor-core numbers "with sparsity" (2:4
structured sparsity, which doubles the figure and which ordinary training does not use); those
appear here only in the ``sparse_*`` fields, marked as such, and MFU must never be computed
against them. Sources, one per row (``source``):

- A100 SXM4 80 GB: NVIDIA A100 Tensor Core GPU data sheet (2021), table "A100 80GB SXM".
- H100 SXM5 and H100 PCIe: NVIDIA H100 Tensor Core GPU data sheet (2023), the "with sparsity"
  footnote for TF32/BF16/FP16.
- H200 SXM: NVIDIA H200 product page / data sheet (2024): H100's compute, 141 GB at 4.8 TB/s.
- H100 NVL and H200 NVL (PCIe cards, lower power): the same data sheets' NVL columns — 835 dense
  bf16 TFLOP/s (1,671 with sparsity), 60 fp32; H100 NVL 94 GB at 3.9 TB/s, H200 NVL 141 GB at
  4.8 TB/s. Their device names contain "NVL", which the SXM rows must not claim.
- L4: NVIDIA L4 Tensor Core GPU data sheet (2023).
- T4: NVIDIA T4 Tensor Core GPU data sheet (2019): Turing has no TF32 or BF16 tensor cores;
  65 TFLOP/s is FP16 with FP32 accumulate.

Measured reality is lower: the best bf16 GEMMs on an H100/H200 reach roughly 790-800 TFLOP/s
(about 80% of the dense peak), and large training runs count ~50% MFU as good (PaLM: 46.2%).

Examples
--------
>>> spec = gpu_spec("NVIDIA H100 80GB HBM3")
>>> spec.name, spec.peak_flops("bf16") / 1e12
('H100 SXM', 989.5)
>>> round(spec.ridge_point("bf16"))  # FLOP per byte where compute and bandwidth meet
295
>>> gpu_spec("NVIDIA H200 NVL").name  # the longest match wins over the SXM row's "H200"
'H200 NVL'
>>> gpu_spec("Tesla T4").peak_flops("bf16") is None
True
>>> gpu_spec("NVIDIA L40S") is None  # not in the table
True
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from labkit._validate import check_choice

__all__ = ["GPU_SPECS", "GpuSpec", "gpu_spec"]

_T = 1e12


@dataclass(frozen=True)
class GpuSpec:
    """Dense peaks in FLOP/s (``None``: the GPU has no such tensor-core mode), bandwidth in B/s.

    Examples
    --------
    >>> h100 = gpu_spec("NVIDIA H100 80GB HBM3")  # a name as torch.cuda.get_device_name() gives it
    >>> h100.peak_flops("bf16") / 1e12, h100.sparse_bf16 / 1e12  # dense, and never for MFU
    (989.5, 1979.0)
    """

    name: str
    match: tuple[str, ...]  # substrings of torch.cuda.get_device_name() that identify it
    fp32: float  # CUDA cores, no tensor cores
    tf32: float | None
    bf16: float | None
    fp16: float
    memory_bandwidth: float
    memory_bytes: float
    sparse_bf16: float | None  # 2:4 structured sparsity figure, marked: not for MFU
    source: str

    def peak_flops(self, precision: str) -> float | None:
        """Dense peak FLOP/s for ``"fp32"``, ``"tf32"``, ``"bf16"`` or ``"fp16"``."""
        check_choice(precision, "precision", ("fp32", "tf32", "bf16", "fp16"))
        return getattr(self, precision)

    def ridge_point(self, precision: str) -> float:
        """Arithmetic intensity (FLOP/byte) above which a kernel can be compute-bound."""
        peak = self.peak_flops(precision)
        if peak is None:
            raise ValueError(f"{self.name} has no {precision} tensor cores")
        return peak / self.memory_bandwidth

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


GPU_SPECS: tuple[GpuSpec, ...] = (
    GpuSpec(
        "A100 SXM 80GB", ("A100",), 19.5 * _T, 156 * _T, 312 * _T, 312 * _T,
        2.039e12, 80e9, 624 * _T,
        "NVIDIA A100 Tensor Core GPU data sheet: A100 80GB SXM (sparse figures are 2x dense)",
    ),
    GpuSpec(
        "H100 PCIe", ("H100 PCIe",), 51 * _T, 378 * _T, 756.5 * _T, 756.5 * _T,
        2.0e12, 80e9, 1513 * _T,
        "NVIDIA H100 Tensor Core GPU data sheet: H100 PCIe (sheet quotes 1,513 bf16 with sparsity)",
    ),
    GpuSpec(
        "H100 SXM", ("H100",), 67 * _T, 494.5 * _T, 989.5 * _T, 989.5 * _T,
        3.35e12, 80e9, 1979 * _T,
        "NVIDIA H100 Tensor Core GPU data sheet: H100 SXM (sheet quotes 1,979 bf16 with sparsity)",
    ),
    GpuSpec(
        "H200 SXM", ("H200",), 67 * _T, 494.5 * _T, 989.5 * _T, 989.5 * _T,
        4.8e12, 141e9, 1979 * _T,
        "NVIDIA H200 data sheet: H200 SXM (H100 compute; 141 GB HBM3e at 4.8 TB/s)",
    ),
    GpuSpec(
        "H100 NVL", ("H100 NVL",), 60 * _T, 417.5 * _T, 835.5 * _T, 835.5 * _T,
        3.9e12, 94e9, 1671 * _T,
        "NVIDIA H100 Tensor Core GPU data sheet: H100 NVL (sheet quotes 1,671 bf16 with sparsity)",
    ),
    GpuSpec(
        "H200 NVL", ("H200 NVL",), 60 * _T, 417.5 * _T, 835.5 * _T, 835.5 * _T,
        4.8e12, 141e9, 1671 * _T,
        "NVIDIA H200 data sheet: H200 NVL (sheet quotes 1,671 bf16 with sparsity)",
    ),
    GpuSpec(
        "L4", ("L4",), 30.3 * _T, 60 * _T, 121 * _T, 121 * _T,
        300e9, 24e9, 242 * _T,
        "NVIDIA L4 Tensor Core GPU data sheet (sheet quotes 120 tf32 / 242 bf16 with sparsity)",
    ),
    GpuSpec(
        "T4", ("T4",), 8.1 * _T, None, None, 65 * _T,
        320e9, 16e9, None,
        "NVIDIA T4 data sheet: Turing, fp16 tensor cores only (65 TFLOP/s mixed precision)",
    ),
)  # fmt: skip


def gpu_spec(device_name: str) -> GpuSpec | None:
    """The spec whose ``match`` occurs in ``device_name`` (longest match wins), else ``None``.

    Pass ``torch.cuda.get_device_name()``; "NVIDIA H100 PCIe" finds the PCIe row, "NVIDIA H100
    80GB HBM3" the SXM one.
    """
    if not isinstance(device_name, str):
        raise TypeError(f"device_name must be a str, got {type(device_name).__name__}")
    best: tuple[int, GpuSpec] | None = None
    for spec in GPU_SPECS:
        for key in spec.match:
            # whole-word match, so "L4" does not claim an "L40S"
            found = re.search(
                rf"(?<![A-Za-z0-9]){re.escape(key)}(?![A-Za-z0-9])", device_name, re.I
            )
            if found and (best is None or len(key) > best[0]):
                best = (len(key), spec)
    return best[1] if best else None
