"""Lab 02: inference latency, measured, explained and cut.

Measure a request path as a distribution and by stage (:mod:`~labkit.inference.latency`), find
the slow part (:mod:`~labkit.inference.profiling`), and apply the standard remedies as
experiments: load once (:mod:`~labkit.inference.loading`); export to ONNX and run on ONNX
Runtime with explicit providers (:mod:`~labkit.inference.export`,
:mod:`~labkit.inference.session`); quantize (:mod:`~labkit.inference.quantization`), prune
(:mod:`~labkit.inference.pruning`) or distill (:mod:`~labkit.inference.distillation`); batch
(:mod:`~labkit.inference.sweep`, :mod:`~labkit.inference.batching`,
:mod:`~labkit.inference.serving`); cache (:mod:`~labkit.inference.cache`); overlap I/O
(:mod:`~labkit.inference.concurrency`); look features up well (:mod:`~labkit.inference.features`)
and see the network's share (:mod:`~labkit.inference.network`). The lab's model and data are in
:mod:`~labkit.inference.models`; plots in :mod:`~labkit.inference.plots`.
"""

from labkit.inference.batching import (
    BatcherClosedError,
    BatcherStats,
    DynamicBatcher,
    QueueFullError,
    RequestTimeoutError,
    batch_decision,
)
from labkit.inference.cache import CacheStats, LRUCache, serve_stream, zipf_keys
from labkit.inference.concurrency import ConcurrencyResult, compare_concurrency
from labkit.inference.distillation import distillation_loss, train_student
from labkit.inference.export import ExportError, batch_dim, export_onnx
from labkit.inference.features import FeatureStore
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
from labkit.inference.profiling import FunctionStat, OpStat, format_stats, python_hotspots, top_ops
from labkit.inference.pruning import prune_magnitude, shrink, sparsity
from labkit.inference.quantization import model_size_bytes, quantize_int8
from labkit.inference.serving import LoadResult, closed_loop, compare_batching, serve_batching
from labkit.inference.session import OrtSession, ParityResult, default_providers, parity
from labkit.inference.sweep import SweepPoint, batch_size_sweep, best_under_slo, knee
from labkit.inference.virtual_time import VirtualTimeEventLoop, run_virtual

__all__ = [
    "LAB_MODEL",
    "BatcherClosedError",
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
    "LoadResult",
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
