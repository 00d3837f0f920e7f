"""Lab 03's GPU paths: labkit.drift statistics on torch CUDA and CuPy arrays, checked and timed.

Every statistic runs unchanged on NumPy, PyTorch and CuPy (it is written against the array
API). This check feeds the same data to each library on the GPU and requires the same numbers
as NumPy on the CPU (statistics to 1e-9 relative, KS statistics and MMD p-values exactly), then
times the two heavy ones against NumPy: the MMD permutation test (n = m = 4,000, d = 32,
1,000 permutations) and KS over 100,000 × 100.

``benchmarks/gpu_check`` runs it as its ``drift`` check (``drift_rows``)::

    benchmarks/gpu_check --only drift              # needs a CUDA device
    benchmarks/gpu_check --only drift --smoke-cpu  # tiny sizes on the CPU: tests the script
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from labkit.drift import (
    chi2_test,
    jensen_shannon,
    ks_2samp,
    ks_per_feature,
    mmd2,
    mmd_test,
    psi,
    wasserstein,
)
from labkit.timing import format_seconds

RowT = tuple[str, str, str, str]  # check, status (ok | FAIL | skip), figure, note


def _cupy() -> Any:
    try:
        import cupy

        return cupy if cupy.cuda.is_available() else None
    except Exception:
        return None


def _agree(name: str, convert: Callable[[np.ndarray], Any], rng: np.random.Generator) -> RowT:
    """Every statistic on ``convert``-ed arrays against the NumPy result."""
    x, y = np.round(rng.normal(size=3000), 2), np.round(rng.normal(0.1, 1.2, size=2500), 2)
    counts_p, counts_q = (
        rng.integers(0, 50, 16).astype(float),
        rng.integers(0, 50, 16).astype(float),
    )
    labels_a, labels_b = rng.integers(0, 6, 2000), rng.integers(1, 8, 1500)
    xm, ym = rng.normal(size=(300, 8)), rng.normal(0.2, 1, size=(250, 8))
    xr, xc = rng.normal(size=(2000, 12)), rng.normal(size=(1500, 12))
    pairs = {
        "ks D": (lambda f: ks_2samp(f(x), f(y)).statistic, 0.0),
        "ks p": (lambda f: ks_2samp(f(x), f(y)).p_value, 1e-12),
        "ks_per_feature": (lambda f: [r.statistic for r in ks_per_feature(f(xr), f(xc))], 0.0),
        "psi": (lambda f: psi(f(x), f(y)), 1e-9),
        "wasserstein": (lambda f: wasserstein(f(x), f(y)), 1e-9),
        "jensen_shannon": (lambda f: jensen_shannon(f(counts_p), f(counts_q)), 1e-9),
        "chi2": (lambda f: chi2_test(f(labels_a), f(labels_b)).statistic, 1e-9),
        "mmd2": (lambda f: mmd2(f(xm), f(ym)), 1e-9),
        "mmd_test p": (lambda f: mmd_test(f(xm), f(ym), 200, seed=3).p_value, 0.0),
    }
    bad = []
    for what, (fn, tol) in pairs.items():
        want, got = np.asarray(fn(np.asarray)), np.asarray(fn(convert))
        if not np.allclose(got, want, rtol=tol, atol=tol * 1e-3):
            bad.append(f"{what}: {got} vs {want}")
    status = "ok" if not bad else "FAIL"
    figure = f"{len(pairs) - len(bad)}/{len(pairs)} equal"
    return (f"drift stats on {name}", status, figure, "; ".join(bad) or "vs NumPy on the CPU")


def _time(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up: kernels, allocator, cuBLAS handles
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # results come back as Python floats, so the GPU work has finished
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _isolated(check: str, row: Callable[[], RowT]) -> RowT:
    """``row()``, or a FAIL row for ``check`` alone: a CuPy error must not discard torch's rows."""
    try:
        return row()
    except Exception as err:
        return (
            check,
            "FAIL",
            type(err).__name__,
            str(err).splitlines()[0][:160] if str(err) else "",
        )


def _libraries(device: torch.device) -> dict[str, Callable[[np.ndarray], Any]]:
    """Each array library to check, as a function moving a NumPy array onto ``device``."""
    libraries: dict[str, Callable[[np.ndarray], Any]] = {
        f"torch {device.type}": lambda a: torch.as_tensor(a).to(device)
    }
    cupy = _cupy() if device.type == "cuda" else None
    if cupy is not None:
        libraries["CuPy"] = cupy.asarray
    return libraries


def drift_rows(device: torch.device, smoke: bool) -> list[RowT]:
    """Rows for gpu_check: agreement on each GPU library, then MMD and KS timings; each row is
    computed on its own, so one library's failure leaves the others' rows standing."""
    rng = np.random.default_rng(0)
    rows: list[RowT] = []
    cuda = device.type == "cuda"
    libraries = _libraries(device)
    for name, convert in libraries.items():
        rows.append(
            _isolated(f"drift stats on {name}", lambda n=name, c=convert: _agree(n, c, rng))
        )
    if "CuPy" not in libraries:
        why = "needs CUDA" if not cuda else "CuPy not installed or CUDA not usable by it"
        rows.append(("drift stats on CuPy", "skip", "-", why))

    n, d, perms = (200, 8, 100) if smoke else (4000, 32, 1000)
    x, y = rng.normal(size=(n, d)), rng.normal(0.05, 1, size=(n, d))
    cpu_s = _time(lambda: mmd_test(x, y, perms, seed=0), repeat=1 if not smoke else 2)
    p_cpu = mmd_test(x, y, perms, seed=0).p_value

    def mmd_row(name: str, convert: Callable[[np.ndarray], Any]) -> RowT:
        xg, yg = convert(x), convert(y)
        gpu_s = _time(lambda: mmd_test(xg, yg, perms, seed=0), repeat=3)
        same = mmd_test(xg, yg, perms, seed=0).p_value == p_cpu
        return (
            f"MMD test {name}", "ok" if same else "FAIL", f"{cpu_s / gpu_s:.1f}× vs NumPy",
            f"n=m={n:,}, d={d}, {perms} perms: {format_seconds(gpu_s)} vs {format_seconds(cpu_s)}; "
            f"same p-value: {'yes' if same else 'NO'}",
        )  # fmt: skip

    for name, convert in libraries.items():
        rows.append(_isolated(f"MMD test {name}", lambda n=name, c=convert: mmd_row(n, c)))

    rows_n, cols = (2000, 10) if smoke else (100_000, 100)
    xr, xc = rng.normal(size=(rows_n, cols)), rng.normal(size=(rows_n, cols))
    cpu_s = _time(lambda: ks_per_feature(xr, xc), repeat=1)
    want = [r.statistic for r in ks_per_feature(xr, xc)]

    def ks_row(name: str, convert: Callable[[np.ndarray], Any]) -> RowT:
        a, b = convert(xr), convert(xc)
        gpu_s = _time(lambda: ks_per_feature(a, b), repeat=3)
        same = [r.statistic for r in ks_per_feature(a, b)] == want
        return (
            f"KS per feature {name}", "ok" if same else "FAIL", f"{cpu_s / gpu_s:.1f}× vs NumPy",
            f"{rows_n:,} × {cols}: {format_seconds(gpu_s)} vs {format_seconds(cpu_s)}; "
            f"identical D: {'yes' if same else 'NO'}",
        )  # fmt: skip

    for name, convert in libraries.items():
        rows.append(_isolated(f"KS per feature {name}", lambda n=name, c=convert: ks_row(n, c)))
    return rows
