"""Where batch-1 time goes in torch eager and in ONNX Runtime, for lab 02's MLP, one thread each.

Each runtime is first timed with profiling off (median of 2,000 calls after 200 warm-up calls),
then run again under its own profiler — ``torch.profiler`` (self CPU time per operator) and ONNX
Runtime's ``enable_profiling`` (kernel time per node) — to split the call into kernels and the
framework around them. One intra-op thread on both sides, so the comparison is kernel against
kernel, not how many cores each runtime grabs. The profiled runs are slower than the timed ones
(the profilers add overhead); read their shares, not their microseconds.

    .venv/bin/python benchmarks/ort_profile.py
"""

from __future__ import annotations

import collections
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import onnxruntime as ort
import torch
from torch.profiler import ProfilerActivity, profile

from labkit.inference import LAB_MODEL, export_onnx, make_mlp
from labkit.loadguard import guarded

CALLS, WARMUP = 2000, 200


def _median_us(fn) -> float:
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def _ort(path: Path, level: ort.GraphOptimizationLevel, tmp: str, x) -> tuple[float, dict]:
    def session(profiled: bool) -> ort.InferenceSession:
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.graph_optimization_level = level
        if profiled:
            so.enable_profiling = True
            so.profile_file_prefix = os.path.join(tmp, f"ort{int(level)}")
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])

    feed = {session(False).get_inputs()[0].name: x}
    plain = session(False)
    latency = _median_us(lambda: plain.run(None, feed))
    profiled = session(True)
    for _ in range(CALLS // 4):
        profiled.run(None, feed)
    events = json.loads(Path(profiled.end_profiling()).read_text())
    runs = [e["dur"] for e in events if e.get("name") == "model_run"]
    kernels: collections.Counter = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            kernels[e["args"]["op_name"]] += e["dur"]
    per_run = {op: us / len(runs) for op, us in kernels.items()}
    return latency, {"call": statistics.mean(runs), **per_run}


@guarded
def main() -> int:
    torch.set_num_threads(1)
    model = make_mlp(**LAB_MODEL, seed=0).eval()
    x = torch.randn(1, LAB_MODEL["num_features"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        eager = _median_us(lambda: model(x))
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(CALLS // 4):
                model(x)
        ops = {e.key: e.self_cpu_time_total / (CALLS // 4) for e in prof.key_averages()}
        gemm = ops.get("aten::addmm", 0.0)
        rows.append(("torch eager", eager, gemm, sum(ops.values()) - gemm))
        path = export_onnx(model, x, Path(tmp) / "lab02.onnx")
        for name, level in (("ORT, no graph optimization", ort.GraphOptimizationLevel.ORT_DISABLE_ALL),
                            ("ORT, all optimizations", ort.GraphOptimizationLevel.ORT_ENABLE_ALL)):  # fmt: skip
            latency, split = _ort(path, level, tmp, x.numpy())
            kernel = sum(v for k, v in split.items() if k != "call")
            gemm = sum(v for k, v in split.items() if "Gemm" in k or "MatMul" in k)
            rows.append((name, latency, gemm, split["call"] - gemm))
            print(f"  {name}: kernels per call {({k: round(v, 1) for k, v in split.items() if k != 'call'})}, "
                  f"all kernels {kernel:.1f} µs of a {split['call']:.1f} µs profiled call")  # fmt: skip
    print(f"\nlab 02 MLP {LAB_MODEL}, batch 1, one intra-op thread")
    print(
        f"{'runtime':<28}{'p50 µs':>8}{'vs eager':>10}{'GEMM µs (profiled)':>20}{'rest µs (profiled)':>20}"
    )
    for name, latency, gemm, rest in rows:
        print(f"{name:<28}{latency:>8.1f}{rows[0][1] / latency:>9.2f}×{gemm:>20.1f}{rest:>20.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
