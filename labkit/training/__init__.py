"""Lab 01, GPU training: a measured training loop and the tools to explain its numbers.

:func:`train` runs a training loop with the choices that decide GPU training speed (device
placement, fp32/tf32/bf16/fp16 precision, ``torch.compile``, gradient accumulation, activation
checkpointing, fused or foreach optimizers, DataLoader workers and pinning) and returns a
:class:`TrainReport` (throughput, loss curve, peak memory, data vs compute time). Around it:
correct and incorrect GPU timing (:mod:`~labkit.training.gpu_timing`), FLOP counts and MFU
(:mod:`~labkit.training.flops`) against spec-sheet peaks (:mod:`~labkit.training.gpus`), the
roofline (:mod:`~labkit.training.roofline`), CuPy kernels with NumPy twins and DLPack interop
(:mod:`~labkit.training.kernels`), DistributedDataParallel under torchrun
(:mod:`~labkit.training.ddp`) and a forked gloo group for functions defined in a notebook
(:mod:`~labkit.training.ranks`), and peak memory with out-of-memory back-off
(:mod:`~labkit.training.memory`). Everything runs on a CPU; CUDA paths engage when a GPU is present.

Names are imported on first use (PEP 562, :mod:`labkit._lazy`), so ``import labkit.training``
costs nothing until a name is used, and :data:`GPU_SPECS` or :func:`gpu_spec` load no PyTorch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit._lazy import exports

if TYPE_CHECKING:
    from labkit.training.data import StallingDataset, make_loader
    from labkit.training.flops import (
        linear_flops,
        matmul_flops,
        measure_matmul_flops,
        mfu,
        model_flops_per_token,
        transformer_flops_per_token,
    )
    from labkit.training.gpu_timing import (
        TimingComparison,
        compare_timing_methods,
        cuda_event_time,
        time_without_sync,
    )
    from labkit.training.gpus import GPU_SPECS, GpuSpec, gpu_spec
    from labkit.training.kernels import (
        bias_gelu,
        cupy_available,
        row_softmax,
        shares_memory,
        squared_norm,
        to_numpy_zero_copy,
    )
    from labkit.training.loop import TrainReport, default_loss, make_optimizer, train
    from labkit.training.memory import (
        BatchSizeSearch,
        LiveTensorTracker,
        PeakMemory,
        SimulatedOutOfMemoryError,
        find_max_batch_size,
        format_bytes,
        measure_peak_memory,
    )
    from labkit.training.models import (
        MLP,
        TinyTransformer,
        make_classification_data,
        make_token_data,
    )
    from labkit.training.precision import PRECISIONS, autocast, grad_scaler, supported_precisions
    from labkit.training.ranks import run_ranks
    from labkit.training.roofline import (
        RooflinePoint,
        attainable_flops,
        matmul_intensity,
        measure_bandwidth,
        measure_elementwise_point,
        measure_matmul_point,
        plot_roofline,
    )

_EXPORTS = {
    "attainable_flops": "labkit.training.roofline",
    "autocast": "labkit.training.precision",
    "BatchSizeSearch": "labkit.training.memory",
    "bias_gelu": "labkit.training.kernels",
    "compare_timing_methods": "labkit.training.gpu_timing",
    "cuda_event_time": "labkit.training.gpu_timing",
    "cupy_available": "labkit.training.kernels",
    "default_loss": "labkit.training.loop",
    "find_max_batch_size": "labkit.training.memory",
    "format_bytes": "labkit.training.memory",
    "gpu_spec": "labkit.training.gpus",
    "GPU_SPECS": "labkit.training.gpus",
    "GpuSpec": "labkit.training.gpus",
    "grad_scaler": "labkit.training.precision",
    "linear_flops": "labkit.training.flops",
    "LiveTensorTracker": "labkit.training.memory",
    "make_classification_data": "labkit.training.models",
    "make_loader": "labkit.training.data",
    "make_optimizer": "labkit.training.loop",
    "make_token_data": "labkit.training.models",
    "matmul_flops": "labkit.training.flops",
    "matmul_intensity": "labkit.training.roofline",
    "measure_bandwidth": "labkit.training.roofline",
    "measure_elementwise_point": "labkit.training.roofline",
    "measure_matmul_flops": "labkit.training.flops",
    "measure_matmul_point": "labkit.training.roofline",
    "measure_peak_memory": "labkit.training.memory",
    "mfu": "labkit.training.flops",
    "MLP": "labkit.training.models",
    "model_flops_per_token": "labkit.training.flops",
    "PeakMemory": "labkit.training.memory",
    "plot_roofline": "labkit.training.roofline",
    "PRECISIONS": "labkit.training.precision",
    "RooflinePoint": "labkit.training.roofline",
    "row_softmax": "labkit.training.kernels",
    "run_ranks": "labkit.training.ranks",
    "shares_memory": "labkit.training.kernels",
    "SimulatedOutOfMemoryError": "labkit.training.memory",
    "squared_norm": "labkit.training.kernels",
    "StallingDataset": "labkit.training.data",
    "supported_precisions": "labkit.training.precision",
    "time_without_sync": "labkit.training.gpu_timing",
    "TimingComparison": "labkit.training.gpu_timing",
    "TinyTransformer": "labkit.training.models",
    "to_numpy_zero_copy": "labkit.training.kernels",
    "train": "labkit.training.loop",
    "TrainReport": "labkit.training.loop",
    "transformer_flops_per_token": "labkit.training.flops",
}

__all__ = [
    "GPU_SPECS",
    "MLP",
    "PRECISIONS",
    "BatchSizeSearch",
    "GpuSpec",
    "LiveTensorTracker",
    "PeakMemory",
    "RooflinePoint",
    "SimulatedOutOfMemoryError",
    "StallingDataset",
    "TimingComparison",
    "TinyTransformer",
    "TrainReport",
    "attainable_flops",
    "autocast",
    "bias_gelu",
    "compare_timing_methods",
    "cuda_event_time",
    "cupy_available",
    "default_loss",
    "find_max_batch_size",
    "format_bytes",
    "gpu_spec",
    "grad_scaler",
    "linear_flops",
    "make_classification_data",
    "make_loader",
    "make_optimizer",
    "make_token_data",
    "matmul_flops",
    "matmul_intensity",
    "measure_bandwidth",
    "measure_elementwise_point",
    "measure_matmul_flops",
    "measure_matmul_point",
    "measure_peak_memory",
    "mfu",
    "model_flops_per_token",
    "plot_roofline",
    "row_softmax",
    "run_ranks",
    "shares_memory",
    "squared_norm",
    "supported_precisions",
    "time_without_sync",
    "to_numpy_zero_copy",
    "train",
    "transformer_flops_per_token",
]


__getattr__, __dir__ = exports(__name__, _EXPORTS)
