"""GPU check: every CUDA path of the course in one short run (≤ 4 minutes on an H100/H200).

Exercises, on the first CUDA device, and prints one table of figures:

- dense matmul throughput per precision (fp32, tf32, bf16, fp16) against the spec-sheet peak;
- memory bandwidth of a large copy against the spec sheet;
- correct vs wrong timing (no synchronization, CUDA events);
- training with AMP: bf16 autocast and fp16 with GradScaler (tokens/s, MFU, loss falls);
- ``torch.compile`` (compile time, speed-up over eager);
- peak memory, activation checkpointing's saving, and a real ``torch.cuda.OutOfMemoryError``
  caught and backed off;
- CuPy: ElementwiseKernel, ReductionKernel and RawKernel against NumPy, zero-copy DLPack with
  torch, and time against the equivalent torch operation;
- ONNX Runtime: which execution providers load (``labkit._ort_probe``), then a small exported
  model on CUDA (and TensorRT when it loads) checked against torch;
- DistributedDataParallel over NCCL (all GPUs when more than one, else one process);
- the other labs' GPU paths: every ``benchmarks/<name>_gpu.py`` that defines
  ``<name>_rows(device, smoke)`` becomes check ``<name>`` (lab 02: ``latency_gpu.py``, lab 03:
  ``drift_gpu.py``).

On a machine without a CUDA device it says so and exits 0: there is nothing to check — unless
``nvidia-smi`` sees a GPU that torch cannot use (a CPU build of torch, a driver too old for its
CUDA): that is a broken install, and the script says so and exits 1.

It runs in any interpreter that has torch and NumPy, labkit installed or not: run from a checkout
(``python3 benchmarks/gpu_check.py``) it imports the checkout's labkit, and hands it to its
torchrun children. A check whose optional package is missing (CuPy, ONNX Runtime,
array-api-compat for the drift statistics) is a "skip" row naming the package, not a failure.
``--smoke-cpu`` runs the same checks with tiny sizes on the CPU (CUDA-only parts are reported as
skipped), which is how the script itself is tested without a GPU.

Usage::

    benchmarks/gpu_check                   # or: .venv/bin/python benchmarks/gpu_check.py
    benchmarks/gpu_check --skip ort,ddp --json out.json
    benchmarks/gpu_check --only matmul,amp
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

# the checkout's labkit, for this process and the torchrun children it starts (DDP check)
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))

from labkit._cuda_stack import broken_gpu_install  # noqa: E402
from labkit.loadguard import guarded  # noqa: E402
from labkit.timing import benchmark  # noqa: E402
from labkit.training import (  # noqa: E402
    MLP,
    TinyTransformer,
    bias_gelu,
    compare_timing_methods,
    cuda_event_time,
    cupy_available,
    find_max_batch_size,
    format_bytes,
    gpu_spec,
    make_loader,
    make_token_data,
    matmul_flops,
    measure_peak_memory,
    mfu,
    model_flops_per_token,
    row_softmax,
    shares_memory,
    squared_norm,
    supported_precisions,
    train,
)

NO_GPU_MESSAGE = (
    "gpu_check: no CUDA device is visible (torch {torch}, CUDA build {cuda}); nothing to check. "
    "Run it on a machine with an NVIDIA GPU, or pass --smoke-cpu to exercise the script on the CPU."
)


@dataclass(frozen=True)
class Row:
    check: str
    status: str  # ok | FAIL | skip
    figure: str
    note: str = ""


@dataclass
class Context:
    device: torch.device
    smoke: bool
    spec: object | None

    def size(self, gpu: int, cpu: int) -> int:
        return cpu if self.smoke else gpu


def _ok(check: str, figure: str, note: str = "") -> Row:
    return Row(check, "ok", figure, note)


def _fail(check: str, figure: str, note: str = "") -> Row:
    return Row(check, "FAIL", figure, note)


def _skip(check: str, note: str) -> Row:
    return Row(check, "skip", "-", note)


def _cuda(ctx: Context) -> bool:
    return ctx.device.type == "cuda"


def check_matmul(ctx: Context) -> list[Row]:
    n = ctx.size(8192, 256)
    rows = []
    dtypes = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16,
              "fp16": torch.float16}  # fmt: skip
    for precision in ("fp32", "tf32", "bf16", "fp16"):
        if precision not in supported_precisions(ctx.device) and precision != "fp16":
            rows.append(_skip(f"matmul {precision}", f"unsupported on {ctx.device}"))
            continue
        if precision == "fp16" and not _cuda(ctx):
            rows.append(_skip("matmul fp16", "needs CUDA"))
            continue
        a = torch.randn(n, n, device=ctx.device, dtype=dtypes[precision])
        b = torch.randn(n, n, device=ctx.device, dtype=dtypes[precision])
        previous = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        try:
            m = benchmark(torch.matmul, a, b, warmup=3, repeat=ctx.size(20, 3), device=ctx.device)
        finally:
            torch.backends.cuda.matmul.allow_tf32 = previous
        achieved = matmul_flops(n, n, n) / m.median
        peak = ctx.spec.peak_flops(precision) if ctx.spec is not None else None
        note = f"{n}³, median of {len(m.times)}"
        if peak:
            rows.append(_ok(f"matmul {precision}", f"{achieved / 1e12:.1f} TFLOP/s",
                            f"{mfu(achieved, peak):.0%} of dense peak {peak / 1e12:.0f}; {note}"))  # fmt: skip
        else:
            rows.append(_ok(f"matmul {precision}", f"{achieved / 1e12:.3f} TFLOP/s", note))
        del a, b
    return rows


def check_bandwidth(ctx: Context) -> list[Row]:
    numel = ctx.size(2**30, 2**20)  # 4 GiB of float32 on a GPU
    src = torch.empty(numel, device=ctx.device).fill_(1.0)
    dst = torch.empty_like(src)
    m = benchmark(dst.copy_, src, warmup=2, repeat=ctx.size(10, 3), device=ctx.device)
    bw = 2 * numel * 4 / m.median
    spec_bw = getattr(ctx.spec, "memory_bandwidth", None)
    note = f"copy of {format_bytes(numel * 4)}"
    if spec_bw:
        note += f"; {bw / spec_bw:.0%} of spec {spec_bw / 1e12:.2f} TB/s"
    return [_ok("memory bandwidth", f"{bw / 1e12:.2f} TB/s", note)]


def check_timing(ctx: Context) -> list[Row]:
    n = ctx.size(8192, 256)
    a = torch.randn(n, n, device=ctx.device)
    cmp = compare_timing_methods(torch.matmul, a, a, device=ctx.device, repeat=ctx.size(10, 3))
    med = cmp.synchronized.median
    rows = [_ok("timing: no sync vs synchronized",
                f"{cmp.no_sync_s * 1e3:.3f} vs {med * 1e3:.3f} ms",
                f"unsynchronized timer sees {cmp.no_sync_s / med:.1%} of the work")]  # fmt: skip
    if _cuda(ctx):
        events = cuda_event_time(torch.matmul, a, a, repeat=10)
        status = _ok if abs(events - med) <= 0.25 * med else _fail
        rows.append(status("timing: CUDA events", f"{events * 1e3:.3f} ms",
                           f"vs synchronized perf_counter {med * 1e3:.3f} ms"))  # fmt: skip
    else:
        rows.append(_skip("timing: CUDA events", "needs CUDA"))
    return rows


def _gpt(ctx: Context) -> tuple[dict, int, int]:
    cfg = (
        {"vocab_size": 128, "d_model": 64, "n_heads": 2, "n_layers": 1, "seq_len": 32}
        if ctx.smoke
        else {"vocab_size": 8192, "d_model": 1024, "n_heads": 16, "n_layers": 8, "seq_len": 1024}
    )
    return cfg, ctx.size(16, 4), ctx.size(20, 3)


def _train_gpt(ctx: Context, precision: str, compiled: bool, cfg: dict, batch: int, steps: int):
    data = make_token_data(
        batch * (steps + 3), seq_len=cfg["seq_len"], vocab_size=cfg["vocab_size"]
    )
    torch.manual_seed(0)
    model = TinyTransformer(**cfg)
    report = train(model, make_loader(data, batch_size=batch, device=ctx.device),
                   max_steps=steps + 2, warmup_steps=2, precision=precision, compile=compiled,
                   lr=1e-3, device=ctx.device)  # fmt: skip
    flops = report.samples_per_s * cfg["seq_len"] * model_flops_per_token(model)
    return report, flops


def check_amp(ctx: Context) -> list[Row]:
    cfg, batch, steps = _gpt(ctx)
    rows = []
    base = None
    for precision in ("fp32", "bf16", "fp16"):
        if precision not in supported_precisions(ctx.device):
            rows.append(_skip(f"train {precision}", f"unsupported on {ctx.device}"))
            continue
        report, flops = _train_gpt(ctx, precision, False, cfg, batch, steps)
        base = base or report.samples_per_s
        peak = ctx.spec.peak_flops(precision) if ctx.spec is not None else None
        fell = all(np.isfinite(report.losses)) and report.losses[-1] < report.losses[0]
        figure = f"{report.samples_per_s * cfg['seq_len']:,.0f} tok/s"
        note = f"{report.samples_per_s / base:.2f}× fp32"
        if peak:
            note += f"; MFU {mfu(flops, peak):.0%}"
        note += f"; peak mem {format_bytes(report.peak_memory_bytes or 0)}"
        note += "" if fell else "; LOSS DID NOT FALL"
        rows.append((_ok if fell else _fail)(f"train {precision}"
                                             + (" + GradScaler" if precision == "fp16" else ""),
                                             figure, note))  # fmt: skip
    return rows


def check_compile(ctx: Context) -> list[Row]:
    cfg, batch, steps = _gpt(ctx)
    precision = "bf16" if "bf16" in supported_precisions(ctx.device) else "fp32"
    eager, _ = _train_gpt(ctx, precision, False, cfg, batch, steps)
    compiled, _ = _train_gpt(ctx, precision, True, cfg, batch, steps)
    diff = abs(compiled.losses[0] - eager.losses[0])
    status = _ok if diff < 0.05 * abs(eager.losses[0]) else _fail
    return [status(f"torch.compile ({precision})",
                   f"{compiled.samples_per_s / eager.samples_per_s:.2f}× eager",
                   f"compile+warm-up {compiled.warmup_s:.1f} s; first loss differs by {diff:.2g}")]  # fmt: skip


def check_memory(ctx: Context) -> list[Row]:
    rows = []
    width, batch = ctx.size(2048, 32), ctx.size(4096, 64)
    peaks = {}
    for ckpt in (False, True):
        torch.manual_seed(0)
        model = MLP(in_features=width, hidden=width, depth=8, checkpointing=ckpt).to(ctx.device)
        x = torch.randn(batch, width, device=ctx.device)
        y = torch.randint(0, 10, (batch,), device=ctx.device)
        peaks[ckpt] = measure_peak_memory(
            lambda m=model, x=x, y=y: torch.nn.functional.cross_entropy(m(x), y).backward(),
            device=ctx.device,
        )
    saving = 1 - peaks[True].peak_bytes / peaks[False].peak_bytes
    status = _ok if saving > 0.2 else _fail
    rows.append(status("activation checkpointing",
                       f"{format_bytes(peaks[False].peak_bytes)} → "
                       f"{format_bytes(peaks[True].peak_bytes)}",
                       f"saves {saving:.0%} ({peaks[True].method}); "
                       f"time {peaks[True].seconds / peaks[False].seconds:.2f}×"))  # fmt: skip
    if _cuda(ctx):
        free, _ = torch.cuda.mem_get_info(ctx.device)
        gib = 2**30

        def step(bs: int) -> None:  # bs GiB of activations
            torch.empty(bs * gib // 4, device=ctx.device).fill_(1.0)

        start = 1 << (free // gib + 1).bit_length()
        t0 = time.perf_counter()
        result = find_max_batch_size(step, start=start, device=ctx.device)
        fitted_first = result.attempts[0][1]
        status = _fail if fitted_first else _ok
        rows.append(status("OOM back-off (real CUDA OOM)", f"{result.batch_size} GiB fits",
                           f"tried {[b for b, _ in result.attempts]} GiB with "
                           f"{format_bytes(free)} free, {time.perf_counter() - t0:.1f} s"))  # fmt: skip
        torch.cuda.empty_cache()
    else:
        rows.append(_skip("OOM back-off (real CUDA OOM)", "needs CUDA; CPU simulation is tested"))
    return rows


def check_cupy(ctx: Context) -> list[Row]:
    rows = []
    rng = np.random.default_rng(0)
    rows_n, cols = ctx.size(8192, 64), ctx.size(4096, 128)
    x = rng.standard_normal((rows_n, cols)).astype(np.float32) * 3
    b = rng.standard_normal(cols).astype(np.float32)
    if not (_cuda(ctx) and cupy_available()):
        why = "CuPy not installed or no CUDA device" if _cuda(ctx) else "needs CUDA"
        err = float(np.abs(row_softmax(torch.from_numpy(x)).numpy() - row_softmax(x)).max())
        rows.append(_skip("CuPy kernels", f"{why}; NumPy path ok (torch-vs-NumPy {err:.1e})"))
        t = torch.from_numpy(x)
        rows.append((_ok if shares_memory(t.numpy(), t) else _fail)(
            "DLPack torch<->NumPy (CPU)", "zero-copy", "same address"))  # fmt: skip
        return rows
    import cupy

    xg, bg = cupy.asarray(x), cupy.asarray(b)
    errs = {
        "ElementwiseKernel bias_gelu": float(cupy.abs(bias_gelu(xg, bg) - cupy.asarray(
            bias_gelu(x.astype(np.float64), b.astype(np.float64)))).max()),
        "RawKernel row_softmax": float(cupy.abs(row_softmax(xg) - cupy.asarray(
            row_softmax(x.astype(np.float64)))).max()),
        "ReductionKernel squared_norm": abs(squared_norm(xg) - squared_norm(x.astype(np.float64)))
        / squared_norm(x.astype(np.float64)),
    }  # fmt: skip
    for name, err in errs.items():
        rows.append((_ok if err < 1e-4 else _fail)(f"CuPy {name}", f"max err {err:.1e}",
                                                   "vs NumPy float64"))  # fmt: skip
    t = torch.from_numpy(x).to(ctx.device)
    c = cupy.from_dlpack(t)
    back = torch.from_dlpack(c)
    same = shares_memory(c, t) and shares_memory(back, t)
    rows.append((_ok if same else _fail)("DLPack torch<->CuPy", "zero-copy" if same else "COPIED",
                                         "same device pointer both ways"))  # fmt: skip
    bt = torch.from_numpy(b).to(ctx.device)
    m_cupy = benchmark(bias_gelu, t, bt, warmup=3, repeat=20, device=ctx.device)
    m_torch = benchmark(lambda: torch.nn.functional.gelu(t + bt, approximate="tanh"),
                        warmup=3, repeat=20, device=ctx.device)  # fmt: skip
    rows.append(_ok("CuPy fused bias+GELU vs torch", f"{m_torch.median / m_cupy.median:.2f}×",
                    f"cupy {m_cupy.median * 1e6:.0f} µs, torch eager {m_torch.median * 1e6:.0f} µs"))  # fmt: skip
    return rows


def check_ort(ctx: Context) -> list[Row]:
    try:
        import onnxruntime as ort
    except ImportError:
        return [_skip("ONNX Runtime", "onnxruntime not installed")]
    from labkit._ort_probe import TENSORRT_HINT, loaded_providers

    preloaded = ""
    if _cuda(ctx) and hasattr(ort, "preload_dlls"):
        # onnxruntime-gpu finds CUDA/cuDNN from the nvidia-* wheels torch installed only when
        # asked to (ORT >= 1.21); without it the CUDA provider may fail to load and fall back.
        try:
            ort.preload_dlls()
            preloaded = "; CUDA/cuDNN DLLs preloaded"
        except Exception as err:
            preloaded = f"; preload_dlls failed: {err}"
    available = tuple(ort.get_available_providers())
    loaded = loaded_providers(available)
    rows = [_ok("ORT providers", ", ".join(p.removesuffix("ExecutionProvider") for p in loaded),
                f"ort {ort.__version__}; {len(available)} providers built in{preloaded}")]  # fmt: skip
    if (
        _cuda(ctx)
        and "TensorrtExecutionProvider" in available
        and "TensorrtExecutionProvider" not in loaded
    ):
        rows.append(_skip("ORT Tensorrt", f"built in, but {TENSORRT_HINT}"))
    if (
        _cuda(ctx)
        and "CUDAExecutionProvider" in available
        and "CUDAExecutionProvider" not in loaded
    ):
        rows.append(
            _fail("ORT CUDA", "does not load", "built in, but CUDA/cuDNN libraries fail to load")
        )
    torch.manual_seed(0)
    model = MLP(in_features=64, hidden=256, out_features=10, depth=2).eval()
    x = torch.randn(32, 64)
    with torch.no_grad():
        want = model(x).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "mlp.onnx")
        # the dynamo exporter reports progress on stdout; keep the table readable
        with contextlib.redirect_stdout(io.StringIO()):
            torch.onnx.export(model, (x,), path, dynamo=True, external_data=False)
        gpu_providers = [p for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider")
                         if p in loaded and _cuda(ctx)]  # fmt: skip
        for provider in [*gpu_providers, "CPUExecutionProvider"]:
            options = ort.SessionOptions()
            options.log_severity_level = 3
            chain = (
                [provider]
                if provider == "CPUExecutionProvider"
                else [provider, "CPUExecutionProvider"]
            )
            session = ort.InferenceSession(path, options, providers=chain)
            got_provider = session.get_providers()[0]
            name = provider.removesuffix("ExecutionProvider")
            if got_provider != provider:
                rows.append(_fail(f"ORT {name}", "fell back",
                                  f"asked for {provider}, session runs {got_provider}"))  # fmt: skip
                continue
            feed = {session.get_inputs()[0].name: x.numpy()}
            err = float(np.abs(session.run(None, feed)[0] - want).max())
            m = benchmark(session.run, None, feed, warmup=3, repeat=20)
            tol = 1e-4 if name == "CPU" else 1e-2  # GPU providers may run fp32 matmuls as TF32
            rows.append((_ok if err < tol else _fail)(f"ORT {name}", f"max err {err:.1e}",
                                                      f"batch 32 in {m.median * 1e6:.0f} µs"))  # fmt: skip
        if not _cuda(ctx):
            rows.append(_skip("ORT CUDA/TensorRT", "needs CUDA"))
        elif "CUDAExecutionProvider" not in available:
            rows.append(_fail("ORT CUDA", "not built in", "install onnxruntime-gpu (cuda extra)"))
    return rows


def check_ddp(ctx: Context) -> list[Row]:
    from labkit.training.ddp import launch, reference_run

    nproc = max(1, torch.cuda.device_count()) if _cuda(ctx) else 2
    nproc = min(nproc, 8)
    result = launch(nproc, steps=2, batch_size=8 * nproc * 4, timeout_s=180)
    ref = reference_run(steps=2, batch_size=8 * nproc * 4)
    diff = result.max_abs_diff(ref)
    status = _ok if diff < 1e-4 else _fail
    note = f"{nproc} process(es), {result.seconds:.1f} s incl. start-up; max |Δ| vs 1 process {diff:.1e}"
    if _cuda(ctx) and nproc == 1:
        note += "; one GPU: NCCL initialised, no cross-GPU traffic"
    return [status(f"DDP ({result.backend})", "grads equal" if status is _ok else "MISMATCH", note)]


def _lab_checks() -> dict[str, Callable[[Context], list[Row]]]:
    """Checks other labs contribute: ``benchmarks/<name>_gpu.py`` defining ``<name>_rows``.

    ``<name>_rows(device, smoke)`` returns ``(check, status, figure, note)`` tuples; the module is
    imported only when its check runs.
    """
    found = {}
    for path in sorted(Path(__file__).resolve().parent.glob("*_gpu.py")):
        name = path.stem.removesuffix("_gpu")

        def run(ctx: Context, path: Path = path, name: str = name) -> list[Row]:
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            spec.loader.exec_module(module)
            return [Row(*row) for row in getattr(module, f"{name}_rows")(ctx.device, ctx.smoke)]

        found[name] = run
    return found


CHECKS: dict[str, Callable[[Context], list[Row]]] = {
    "matmul": check_matmul,
    "bandwidth": check_bandwidth,
    "timing": check_timing,
    "amp": check_amp,
    "compile": check_compile,
    "memory": check_memory,
    "cupy": check_cupy,
    "ort": check_ort,
    "ddp": check_ddp,
    **_lab_checks(),
}


def print_table(rows: list[Row]) -> None:
    header = Row("check", "status", "figure", "note")
    widths = [
        max(len(getattr(r, f)) for r in [header, *rows]) for f in ("check", "status", "figure")
    ]
    for i, r in enumerate([header, *rows]):
        print(f"{r.check:<{widths[0]}}  {r.status:<{widths[1]}}  {r.figure:<{widths[2]}}  {r.note}")
        if i == 0:
            print("-" * (sum(widths) + 6 + 30))


@guarded
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Exercise every CUDA path of the course.")
    parser.add_argument("--smoke-cpu", action="store_true",
                        help="run the checks with tiny sizes on the CPU (tests the script)")  # fmt: skip
    parser.add_argument("--skip", default="", help=f"comma-separated, from {','.join(CHECKS)}")
    parser.add_argument("--only", default="", help="comma-separated: run just these checks")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    for flag, names in (("--skip", skip), ("--only", only)):
        if names - set(CHECKS):
            parser.error(
                f"{flag}: unknown check(s) {sorted(names - set(CHECKS))}; choose from {list(CHECKS)}"
            )
    selected = [name for name in CHECKS if (not only or name in only)]

    if args.smoke_cpu:
        ctx = Context(torch.device("cpu"), smoke=True, spec=None)
        title = "CPU smoke run (tiny sizes; figures are not GPU results)"
    elif not torch.cuda.is_available():
        broken = broken_gpu_install(torch.__version__, torch.version.cuda, torch_sees_gpu=False)
        if broken:
            print(f"gpu_check: {broken}", file=sys.stderr)
            return 1
        print(NO_GPU_MESSAGE.format(torch=torch.__version__, cuda=torch.version.cuda))
        return 0
    else:
        dev = torch.device("cuda", 0)
        name = torch.cuda.get_device_name(dev)
        ctx = Context(dev, smoke=False, spec=gpu_spec(name))
        spec = ctx.spec.name if ctx.spec is not None else "not in labkit's table: no MFU"
        title = (f"{name} ({torch.cuda.device_count()} GPU(s)), torch {torch.__version__}, "
                 f"CUDA {torch.version.cuda}; spec row: {spec}")  # fmt: skip
    print(f"gpu_check — {title}", flush=True)

    rows: list[Row] = []
    start = time.perf_counter()
    for name in selected:
        check = CHECKS[name]
        if name in skip:
            rows.append(_skip(name, "--skip"))
            continue
        t0 = time.perf_counter()
        try:
            new = check(ctx)
        except ModuleNotFoundError as err:  # an optional package this image lacks
            new = [_skip(name, f"skipped: {err.name} not installed")]
        except Exception as err:  # one broken path must not hide the others
            new = [
                _fail(name, type(err).__name__, str(err).splitlines()[0][:160] if str(err) else "")
            ]
            traceback.print_exc(file=sys.stderr)
        rows.extend(new)
        print(f"  [{name}: {time.perf_counter() - t0:.1f} s]", file=sys.stderr, flush=True)
        if _cuda(ctx):
            torch.cuda.empty_cache()
    print()
    print_table(rows)
    failed = [r for r in rows if r.status == "FAIL"]
    print(f"\n{len(rows)} rows, {len(failed)} failed, {time.perf_counter() - start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
