"""Lab 02's GPU paths: the lab's model on ONNX Runtime's CUDA (and TensorRT) provider, checked
against torch and timed, and the DynamicBatcher serving it.

On the first CUDA device, for the lab's 256 → 1024 → 1024 → 10 MLP exported with a dynamic
batch dimension (:func:`labkit.inference.export_onnx`):

- which providers an :class:`labkit.inference.OrtSession` on ``cuda`` actually loaded (a silent
  fall-back to the CPU is a FAIL);
- parity with torch on the GPU (max abs error, TF32 tolerance) at batch 1 and 64;
- latency at batch 1 and throughput at batch 256, torch eager on CUDA vs ORT CUDA (ORT's figures
  include copying the input from and the output to host memory, as a server receiving requests
  over the network would);
- TensorRT, when its provider loads: parity and batch-1 latency (engine build time noted);
- 64 closed-loop clients served one at a time vs by the DynamicBatcher, on ORT CUDA.

``benchmarks/gpu_check`` runs it as its ``latency`` check (``latency_rows``)::

    benchmarks/gpu_check --only latency              # needs a CUDA device
    benchmarks/gpu_check --only latency --smoke-cpu  # tiny sizes on the CPU: tests the script
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from labkit.inference import (
    LAB_MODEL,
    OrtSession,
    compare_batching,
    export_onnx,
    make_mlp,
    measure_latency,
    parity,
)
from labkit.timing import format_seconds

RowT = tuple[str, str, str, str]  # check, status (ok | FAIL | skip), figure, note


def _provider(session: OrtSession) -> str:
    return session.providers[0].removesuffix("ExecutionProvider")


def _timings(model, session, num_features: int, device, smoke: bool) -> list[RowT]:
    rows = []
    name = _provider(session)
    repeat = 20 if smoke else 300
    for batch in (1, 8 if smoke else 256):
        x = torch.randn(batch, num_features)
        xd, xh = x.to(device), x.numpy()
        with torch.inference_mode():
            eager = measure_latency(model, xd, repeat=repeat, batch_size=batch, device=device)
        if device.type == "cuda" and session.providers[0] != "CPUExecutionProvider":
            # IO binding: ORT reads and writes torch's CUDA memory, as eager does — no PCIe copies
            ort = measure_latency(session.run_bound, xd, repeat=repeat, batch_size=batch,
                                  device=device)  # fmt: skip
            where = "on device, IO binding"
        else:
            ort = measure_latency(session.run, xh, repeat=repeat, batch_size=batch)
            where = "host in/out"
        if batch == 1:
            figure = f"{format_seconds(ort.p50)} vs {format_seconds(eager.p50)}"
            note = f"p50 at batch 1: ORT {name} vs torch eager {device}; {eager.p50 / ort.p50:.2f}×"
        else:
            figure = f"{ort.throughput_per_s:,.0f} vs {eager.throughput_per_s:,.0f} items/s"
            note = f"batch {batch}: ORT {name} ({where}) vs torch eager {device} (on device)"
        rows.append((f"latency ORT {name} batch {batch}", "ok", figure, note))
    return rows


def latency_rows(device: torch.device, smoke: bool) -> list[RowT]:
    """Rows for gpu_check (see the module docstring)."""
    import onnxruntime as ort

    cuda = device.type == "cuda"
    sizes = {**LAB_MODEL, "num_features": 32, "hidden": 64} if smoke else LAB_MODEL
    model = make_mlp(**sizes, seed=0).eval().to(device)
    rows: list[RowT] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(
            model, torch.zeros(1, sizes["num_features"], device=device), Path(tmp) / "lab02.onnx"
        )
        if cuda:
            session = OrtSession(path, providers=["CUDAExecutionProvider"])
        else:
            session = OrtSession(path, device="cpu")
        name = _provider(session)
        want = "CUDA" if cuda else "CPU"
        rows.append(
            (
                "latency ORT session",
                "ok" if name == want else "FAIL",
                name,
                f"loaded {', '.join(session.providers)}; asked for {session.requested_providers[0]}",
            )
        )
        if name != want:
            return rows
        tol = 1e-2 if cuda else 1e-4  # GPU providers may run fp32 matmuls as TF32
        for batch in (1, 64):
            x = torch.randn(batch, sizes["num_features"], device=device)
            result = parity(model, session, x, atol=tol)
            rows.append(
                (
                    f"latency parity {name} batch {batch}",
                    "ok" if result.ok else "FAIL",
                    f"max err {result.max_abs_error:.1e}",
                    f"vs torch on {device}; tolerance {tol:.0e}; arg-max agreement "
                    f"{result.argmax_agreement:.0%}",
                )
            )
        rows += _timings(model, session, sizes["num_features"], device, smoke)

        if cuda and "TensorrtExecutionProvider" in ort.get_available_providers():
            start = time.perf_counter()
            try:
                trt = OrtSession(path, providers=["TensorrtExecutionProvider"])
                x1 = torch.randn(1, sizes["num_features"], device=device)
                trt_parity = parity(model, trt, x1, atol=1e-2)  # first run builds the engine
                build_s = time.perf_counter() - start
                if _provider(trt) != "Tensorrt":
                    rows.append(
                        (
                            "latency ORT TensorRT",
                            "skip",
                            "-",
                            f"provider built in but not loaded: runs {_provider(trt)}",
                        )
                    )
                else:
                    m = measure_latency(trt.run, x1.cpu().numpy(), repeat=300)
                    rows.append(
                        (
                            "latency ORT TensorRT batch 1",
                            "ok" if trt_parity.ok else "FAIL",
                            format_seconds(m.p50),
                            f"max err {trt_parity.max_abs_error:.1e}; engine built in {build_s:.1f} s",
                        )
                    )
            except Exception as err:  # TensorRT libraries missing or incompatible: report it
                rows.append(("latency ORT TensorRT", "skip", "-", f"{type(err).__name__}: {err}"))
        elif cuda:
            rows.append(("latency ORT TensorRT", "skip", "-", "TensorRT provider not built in"))

        x_np = np.random.default_rng(0).standard_normal((4096, sizes["num_features"]))
        x_np = x_np.astype(np.float32)
        one, batched = compare_batching(
            lambda rows_: list(session.run(np.stack(rows_))),
            lambda i: x_np[i % len(x_np)],
            clients=64,
            requests_per_client=5 if smoke else 50,
            max_batch_size=64,
            max_queue_delay_s=0.002,
            run_in_thread=True,
        )
        gain = batched.throughput_per_s / one.throughput_per_s
        rows.append(
            (
                f"latency DynamicBatcher {name}",
                "ok" if batched.completed == one.completed else "FAIL",
                f"{gain:.1f}× throughput",
                f"64 clients: {batched.throughput_per_s:,.0f} vs {one.throughput_per_s:,.0f} req/s; "
                f"p99 {format_seconds(batched.latency.p99)} vs {format_seconds(one.latency.p99)}; "
                f"mean batch {batched.batch_stats.mean_batch_size:.1f}",
            )
        )
    if not cuda:
        rows.append(("latency ORT CUDA", "skip", "-", "needs CUDA"))
    return rows
