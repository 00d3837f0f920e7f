"""Lab 02: inference latency, measured, explained and cut.

Measure a request path as a distribution and by stage (:mod:`~labkit.inference.latency`), find
the slow part (:mod:`~labkit.inference.profiling`), and apply the standard remedies as
experiments: load once (:mod:`~labkit.inference.loading`); export to ONNX and run on ONNX
Runtime with explicit providers (:mod:`~labkit.inference.export`,
:mod:`~labkit.inference.session`); quantize (:mod:`~labkit.inference.quantization`), prune
(:mod:`~labkit.inference.pruning`) or distill (:mod:`~labkit.inference.distillation`); batch
(:mod:`~labkit.inference.sweep`; the rule in :mod:`~labkit.inference.batching`, the batcher in
:mod:`~labkit.inference.batcher`, load on it in :mod:`~labkit.inference.serving`); cache (:mod:`~labkit.inference.cache`); overlap I/O
(:mod:`~labkit.inference.io_overlap`); look features up well (:mod:`~labkit.inference.features`)
and see the network's share (:mod:`~labkit.inference.network`). The lab's model and data are in
:mod:`~labkit.inference.models`; plots in :mod:`~labkit.inference.plots`.

Names are imported on first use (PEP 562, :mod:`labkit._lazy`), so the batching, caching and
I/O modules that lab 04's service builds on load without PyTorch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit._lazy import exports

if TYPE_CHECKING:
    from labkit.inference.batcher import (
        BatcherClosedError,
        BatcherStats,
        DynamicBatcher,
        QueueFullError,
        RequestTimeoutError,
    )
    from labkit.inference.batching import batch_decision
    from labkit.inference.cache import CacheStats, LRUCache, serve_stream, zipf_keys
    from labkit.inference.distillation import distillation_loss, train_student
    from labkit.inference.export import ExportError, batch_dim, export_onnx
    from labkit.inference.features import FeatureStore
    from labkit.inference.io_overlap import ConcurrencyResult, compare_concurrency
    from labkit.inference.latency import (
        LatencyReport,
        StageBreakdown,
        latency_summary,
        measure_latency,
        measure_stages,
    )
    from labkit.inference.loading import LoadingCost, measure_loading, save_weights, torch_loader
    from labkit.inference.models import (
        LAB_MODEL,
        LabData,
        TrainResult,
        accuracy,
        count_parameters,
        make_dataset,
        make_mlp,
        train_classifier,
    )
    from labkit.inference.network import DelayProxy, HttpLatency, ModelServer, http_latency
    from labkit.inference.pipeline import Pipeline, postprocess, preprocess, preprocess_loop
    from labkit.inference.plots import (
        plot_batch_sweep,
        plot_latency_cdf,
        plot_latency_histogram,
        plot_stages,
    )
    from labkit.inference.profiling import (
        FunctionStat,
        OpStat,
        format_stats,
        python_hotspots,
        top_ops,
    )
    from labkit.inference.pruning import prune_magnitude, shrink, sparsity
    from labkit.inference.quantization import model_size_bytes, quantize_int8
    from labkit.inference.serving import (
        BatcherLoadResult,
        closed_loop,
        compare_batching,
        serve_batching,
    )
    from labkit.inference.session import OrtSession, ParityResult, default_providers, parity
    from labkit.inference.sweep import SweepPoint, batch_size_sweep, best_under_slo, knee
    from labkit.inference.virtual_time import VirtualTimeEventLoop, run_virtual

_EXPORTS = {
    "accuracy": "labkit.inference.models",
    "batch_decision": "labkit.inference.batching",
    "batch_dim": "labkit.inference.export",
    "batch_size_sweep": "labkit.inference.sweep",
    "BatcherClosedError": "labkit.inference.batcher",
    "BatcherStats": "labkit.inference.batcher",
    "best_under_slo": "labkit.inference.sweep",
    "CacheStats": "labkit.inference.cache",
    "closed_loop": "labkit.inference.serving",
    "compare_batching": "labkit.inference.serving",
    "compare_concurrency": "labkit.inference.io_overlap",
    "ConcurrencyResult": "labkit.inference.io_overlap",
    "count_parameters": "labkit.inference.models",
    "default_providers": "labkit.inference.session",
    "DelayProxy": "labkit.inference.network",
    "distillation_loss": "labkit.inference.distillation",
    "DynamicBatcher": "labkit.inference.batcher",
    "export_onnx": "labkit.inference.export",
    "ExportError": "labkit.inference.export",
    "FeatureStore": "labkit.inference.features",
    "format_stats": "labkit.inference.profiling",
    "FunctionStat": "labkit.inference.profiling",
    "http_latency": "labkit.inference.network",
    "HttpLatency": "labkit.inference.network",
    "knee": "labkit.inference.sweep",
    "LAB_MODEL": "labkit.inference.models",
    "LabData": "labkit.inference.models",
    "latency_summary": "labkit.inference.latency",
    "LatencyReport": "labkit.inference.latency",
    "LoadingCost": "labkit.inference.loading",
    "BatcherLoadResult": "labkit.inference.serving",
    "LRUCache": "labkit.inference.cache",
    "make_dataset": "labkit.inference.models",
    "make_mlp": "labkit.inference.models",
    "measure_latency": "labkit.inference.latency",
    "measure_loading": "labkit.inference.loading",
    "measure_stages": "labkit.inference.latency",
    "model_size_bytes": "labkit.inference.quantization",
    "ModelServer": "labkit.inference.network",
    "OpStat": "labkit.inference.profiling",
    "OrtSession": "labkit.inference.session",
    "parity": "labkit.inference.session",
    "ParityResult": "labkit.inference.session",
    "Pipeline": "labkit.inference.pipeline",
    "plot_batch_sweep": "labkit.inference.plots",
    "plot_latency_cdf": "labkit.inference.plots",
    "plot_latency_histogram": "labkit.inference.plots",
    "plot_stages": "labkit.inference.plots",
    "postprocess": "labkit.inference.pipeline",
    "preprocess": "labkit.inference.pipeline",
    "preprocess_loop": "labkit.inference.pipeline",
    "prune_magnitude": "labkit.inference.pruning",
    "python_hotspots": "labkit.inference.profiling",
    "quantize_int8": "labkit.inference.quantization",
    "QueueFullError": "labkit.inference.batcher",
    "RequestTimeoutError": "labkit.inference.batcher",
    "run_virtual": "labkit.inference.virtual_time",
    "save_weights": "labkit.inference.loading",
    "serve_batching": "labkit.inference.serving",
    "serve_stream": "labkit.inference.cache",
    "shrink": "labkit.inference.pruning",
    "sparsity": "labkit.inference.pruning",
    "StageBreakdown": "labkit.inference.latency",
    "SweepPoint": "labkit.inference.sweep",
    "top_ops": "labkit.inference.profiling",
    "torch_loader": "labkit.inference.loading",
    "train_classifier": "labkit.inference.models",
    "train_student": "labkit.inference.distillation",
    "TrainResult": "labkit.inference.models",
    "VirtualTimeEventLoop": "labkit.inference.virtual_time",
    "zipf_keys": "labkit.inference.cache",
}

__all__ = [
    "LAB_MODEL",
    "BatcherClosedError",
    "BatcherLoadResult",
    "BatcherStats",
    "CacheStats",
    "ConcurrencyResult",
    "DelayProxy",
    "DynamicBatcher",
    "ExportError",
    "FeatureStore",
    "FunctionStat",
    "HttpLatency",
    "LRUCache",
    "LabData",
    "LatencyReport",
    "LoadingCost",
    "ModelServer",
    "OpStat",
    "OrtSession",
    "ParityResult",
    "Pipeline",
    "QueueFullError",
    "RequestTimeoutError",
    "StageBreakdown",
    "SweepPoint",
    "TrainResult",
    "VirtualTimeEventLoop",
    "accuracy",
    "batch_decision",
    "batch_dim",
    "batch_size_sweep",
    "best_under_slo",
    "closed_loop",
    "compare_batching",
    "compare_concurrency",
    "count_parameters",
    "default_providers",
    "distillation_loss",
    "export_onnx",
    "format_stats",
    "http_latency",
    "knee",
    "latency_summary",
    "make_dataset",
    "make_mlp",
    "measure_latency",
    "measure_loading",
    "measure_stages",
    "model_size_bytes",
    "parity",
    "plot_batch_sweep",
    "plot_latency_cdf",
    "plot_latency_histogram",
    "plot_stages",
    "postprocess",
    "preprocess",
    "preprocess_loop",
    "prune_magnitude",
    "python_hotspots",
    "quantize_int8",
    "run_virtual",
    "save_weights",
    "serve_batching",
    "serve_stream",
    "shrink",
    "sparsity",
    "top_ops",
    "torch_loader",
    "train_classifier",
    "train_student",
    "zipf_keys",
]


__getattr__, __dir__ = exports(__name__, _EXPORTS)
