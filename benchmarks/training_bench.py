"""Lab 01 benchmark: training throughput side by side in one run, with MFU.

Three tables, each measured in this process one configuration after another:

1. precision and compilation on a small GPT (TinyTransformer): fp32 eager, bf16 autocast,
   fp32 and bf16 compiled (and tf32 / fp16 with GradScaler on CUDA) — tokens/s, speed-up over
   fp32, and MFU against the device's peak (spec sheet on a GPU, a measured matmul on a CPU);
2. the input pipeline on a stalling dataset (simulated per-item I/O wait): DataLoader workers,
   persistent workers and, on CUDA, pinned memory with non-blocking copies;
3. optimizer implementations: for-loop, foreach, fused.

Usage::

    .venv/bin/python benchmarks/training_bench.py            # sizes picked by device
    .venv/bin/python benchmarks/training_bench.py --no-compile --device cpu

Prints the tables and writes ``benchmarks/out/training_bench.json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from labkit.device import resolve
from labkit.loadguard import guarded
from labkit.training import (
    MLP,
    StallingDataset,
    TinyTransformer,
    gpu_spec,
    make_classification_data,
    make_loader,
    make_token_data,
    measure_matmul_flops,
    mfu,
    model_flops_per_token,
    supported_precisions,
    train,
)

ROUNDS = 3


def _median_report(reports: list) -> object:
    """The report whose throughput is the median of the rounds."""
    return sorted(reports, key=lambda r: r.samples_per_s)[len(reports) // 2]


def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))


@functools.cache
def _peak(dev: torch.device, precision: str) -> tuple[float | None, str]:
    if dev.type == "cuda":
        spec = gpu_spec(torch.cuda.get_device_name(dev))
        if spec is None:
            return None, "unknown GPU"
        return spec.peak_flops(precision), f"{spec.name} dense {precision} spec"
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    return measure_matmul_flops(1024, dtype=dtype, device=dev), f"measured {precision} matmul"


def bench_precision(dev: torch.device, compile_too: bool, big: bool) -> list[dict]:
    cfg = (
        {"vocab_size": 4096, "d_model": 1024, "n_heads": 16, "n_layers": 8, "seq_len": 1024}
        if big
        else {"vocab_size": 512, "d_model": 256, "n_heads": 4, "n_layers": 4, "seq_len": 128}
    )
    batch, steps = (16, 10) if big else (8, 4)
    data = make_token_data(
        batch * (steps + 4), seq_len=cfg["seq_len"], vocab_size=cfg["vocab_size"]
    )
    modes = [(p, False) for p in supported_precisions(dev)]
    if compile_too:
        # on a CPU one compiled row is enough to show the trade (compilation costs ~30+ s here)
        compiled = ("fp32", "bf16") if dev.type == "cuda" else ("fp32",)
        modes += [(p, True) for p in compiled if p in supported_precisions(dev)]
    models = {}
    for precision, compiled in modes:
        torch.manual_seed(0)
        models[precision, compiled] = TinyTransformer(**cfg)
    # Interleaved rounds: every mode runs once per round, so a burst of load from other programs
    # hits all of them alike; the median round is reported. Round 1's warm-up holds compilation.
    per_mode: dict = {m: [] for m in modes}
    for round_ in range(ROUNDS):
        for precision, compiled in modes:
            loader = make_loader(data, batch_size=batch, device=dev, seed=round_)
            per_mode[precision, compiled].append(
                train(models[precision, compiled], loader, max_steps=steps + 1, warmup_steps=1,
                      precision=precision, compile=compiled, lr=3e-4, device=dev)
            )  # fmt: skip
    results = []
    for (precision, compiled), reports in per_mode.items():
        r = _median_report(reports)
        tokens_per_s = r.samples_per_s * cfg["seq_len"]
        model = models[precision, compiled]
        achieved = tokens_per_s * model_flops_per_token(model)
        peak, peak_src = _peak(dev, precision)
        results.append({
            "precision": precision, "compiled": compiled, "tokens_per_s": tokens_per_s,
            "step_s": r.step_s, "warmup_s": reports[0].warmup_s, "achieved_flops": achieved,
            "mfu": mfu(achieved, peak) if peak else None, "peak_source": peak_src,
            "peak_memory_bytes": r.peak_memory_bytes, "final_loss": reports[-1].losses[-1],
            "rounds_tokens_per_s": [x.samples_per_s * cfg["seq_len"] for x in reports],
        })  # fmt: skip
        print(f"  ran {precision}{' compiled' if compiled else ''}: {tokens_per_s:,.0f} tok/s",
              file=sys.stderr)  # fmt: skip
    base = results[0]["tokens_per_s"]
    rows = [
        [
            r["precision"] + (" + compile" if r["compiled"] else ""),
            f"{r['tokens_per_s']:,.0f}",
            f"{r['tokens_per_s'] / base:.2f}×",
            f"{r['step_s'] * 1e3:.1f}",
            f"{r['warmup_s']:.1f}",
            f"{r['achieved_flops'] / 1e12:.3f}",
            "n/a" if r["mfu"] is None else f"{r['mfu']:.1%}",
            r["peak_source"],
        ]
        for r in results
    ]
    _table(
        f"1. precision and compilation — TinyTransformer {cfg}, batch {batch}; "
        f"median of {ROUNDS} interleaved rounds of {steps} steps",
        ["mode", "tokens/s", "vs fp32", "ms/step", "warm-up s", "TFLOP/s", "MFU", "MFU against"],
        rows,
    )
    return results


def bench_loader(dev: torch.device, big: bool) -> list[dict]:
    latency = 2e-4  # per item: a slow disk or object-store read
    batch = 256 if big else 128
    steps = 20 if big else 8
    ds = StallingDataset(make_classification_data(batch * (steps + 3) * 2, in_features=64),
                         latency_s=latency)  # fmt: skip
    settings = [
        ("num_workers=0", {"num_workers": 0}),
        ("num_workers=2", {"num_workers": 2}),
        ("num_workers=2, persistent, prefetch 4",
         {"num_workers": 2, "persistent_workers": True, "prefetch_factor": 4}),
    ]  # fmt: skip
    if dev.type == "cuda":
        settings += [
            ("num_workers=4, persistent, pinned",
             {"num_workers": 4, "persistent_workers": True, "pin_memory": True}),
            ("num_workers=4, persistent, not pinned",
             {"num_workers": 4, "persistent_workers": True, "pin_memory": False}),
        ]  # fmt: skip
    results = []
    for name, kw in settings:
        torch.manual_seed(0)
        loader = make_loader(ds, batch_size=batch, device=dev, **kw)
        r = train(MLP(in_features=64, hidden=256, depth=4), loader, num_epochs=2,
                  max_steps=steps + 1, device=dev)  # fmt: skip
        results.append({"setting": name, "samples_per_s": r.samples_per_s,
                        "data_fraction": r.data_fraction, "warmup_s": r.warmup_s})  # fmt: skip
    base = results[0]["samples_per_s"]
    _table(
        f"2. input pipeline — {latency * 1e6:.0f} µs simulated read per item, batch {batch}",
        ["DataLoader", "samples/s", "vs 0 workers", "time waiting for data", "warm-up s"],
        [[r["setting"], f"{r['samples_per_s']:,.0f}", f"{r['samples_per_s'] / base:.2f}×",
          f"{r['data_fraction']:.0%}", f"{r['warmup_s']:.2f}"] for r in results],
    )  # fmt: skip
    return results


def bench_optimizer(dev: torch.device, big: bool) -> list[dict]:
    depth, hidden = (24, 512) if big else (12, 128)
    ds = make_classification_data(64 * 40, in_features=64)
    impls = ("for-loop", "foreach", "fused")
    models = {}
    for impl in impls:
        torch.manual_seed(0)
        models[impl] = MLP(in_features=64, hidden=hidden, depth=depth)
    per_impl: dict = {impl: [] for impl in impls}
    for round_ in range(ROUNDS):
        for impl in impls:
            loader = make_loader(ds, batch_size=64, device=dev, seed=round_)
            per_impl[impl].append(train(models[impl], loader, max_steps=11, warmup_steps=1,
                                        optimizer_impl=impl, device=dev))  # fmt: skip
    results = []
    for impl, reports in per_impl.items():
        r = _median_report(reports)
        results.append({"impl": impl, "step_s": r.step_s, "samples_per_s": r.samples_per_s})
    base = results[0]["step_s"]
    _table(
        f"3. AdamW implementation — MLP depth {depth}, width {hidden} ({6 * depth + 4} parameter "
        f"tensors), batch 64; median of {ROUNDS} interleaved rounds",
        ["optimizer", "ms/step", "speed-up"],
        [[r["impl"], f"{r['step_s'] * 1e3:.2f}", f"{base / r['step_s']:.2f}×"] for r in results],
    )
    return results


@guarded
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile rows")
    parser.add_argument("--out", default="benchmarks/out/training_bench.json")
    args = parser.parse_args(argv)
    dev = resolve(args.device)
    big = dev.type == "cuda"
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "CPU"
    print(f"labkit lab 01 benchmark — {dev} ({name}), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads on {os.cpu_count()} cores")  # fmt: skip
    start = time.perf_counter()
    out = {
        "device": str(dev),
        "device_name": name,
        "torch": torch.__version__,
        "precision": bench_precision(dev, not args.no_compile, big),
        "loader": bench_loader(dev, big),
        "optimizer": bench_optimizer(dev, big),
    }
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
