"""Lab 03 benchmark: labkit.drift side by side with the straightforward way and with river.

Three comparisons, each measured in this one run and printed as a table:

1. **MMD permutation test**, n = m = 2,000, d = 32, 1,000 permutations:
   ``labkit.drift.mmd_test`` (kernel matrix built once, permutations as batched matrix products)
   against (a) the straightforward implementation that recomputes the statistic — pairwise
   distances and kernel — for every permutation, and (b) the approach of alibi-detect's PyTorch
   backend (kernel once, then re-index the matrix per permutation in a Python loop), written here
   in torch because alibi-detect itself does not install beside this project (below). The
   straightforward version costs the same for every permutation, so by default it is timed on
   ``--naive-permutations`` of them and scaled to 1,000 (``--full`` runs all 1,000).
2. **Streaming detectors**: microseconds per ``update`` of labkit's ADWIN, DDM, EDDM and
   Page–Hinkley against river 0.26.1 on the same 100,000-value streams, with a check that both
   flag drift (and warnings) at identical indices.
3. **Per-feature KS** on 100,000 × 100 reference and current data: ``ks_per_feature`` (one
   vectorized pass; NumPy and torch CPU) against a loop of ``scipy.stats.ks_2samp`` over columns,
   with a check that every statistic is identical.

After the table, one line per target of the lab: ADWIN's time per update as a multiple of
river's (target: within 3×) and KS per feature's speed-up over the SciPy loop (target: at least
3×), each with the load average it was measured under.

alibi-detect: when ``import alibi_detect`` works in this interpreter its ``MMDDrift`` (PyTorch
backend) is timed too. It is not a dependency: alibi-detect 0.13.0 (the latest release) pins
``numpy<2.0`` and ``numba<0.60`` and imports ``transformers`` from its PyTorch drift module, so
installing it would downgrade this project's NumPy 2. Its permutation test itself needs only
torch: ``--alibi-src DIR`` (an unpacked wheel, ``pip download alibi-detect --no-deps``) runs
alibi-detect's own ``utils/pytorch/distance.py`` the way its ``MMDDriftTorch.score`` does.

Usage::

    .venv/bin/python benchmarks/drift_bench.py             # a few minutes on 2 cores
    .venv/bin/python benchmarks/drift_bench.py --quick     # small sizes, seconds (smoke test)
    .venv/bin/python benchmarks/drift_bench.py --json out.json
    .venv/bin/python benchmarks/drift_bench.py --only mmd --alibi-src DIR   # alibi-detect's code
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np
import scipy.stats
import torch
from scipy.spatial.distance import cdist

from labkit.drift import ADWIN, DDM, EDDM, PageHinkley, ks_per_feature, median_heuristic, mmd_test
from labkit.loadguard import guarded
from labkit.timing import benchmark, format_seconds

# The two targets, one line each after the table (with the load while they ran).
TARGETS: list[str] = []


def _load() -> str:
    return "load average " + " / ".join(f"{v:.2f}" for v in os.getloadavg())


@dataclass(frozen=True)
class Row:
    section: str
    variant: str
    seconds: float
    ratio: str
    note: str = ""


def _naive_mmd_test(x, y, sigma, n_permutations, seed):
    """The straightforward permutation test: recompute the whole statistic per permutation."""
    rng = np.random.default_rng(seed)
    z, n = np.vstack([x, y]), len(x)

    def statistic(a, b):
        kaa = np.exp(-cdist(a, a, "sqeuclidean") / (2 * sigma**2))
        kbb = np.exp(-cdist(b, b, "sqeuclidean") / (2 * sigma**2))
        kab = np.exp(-cdist(a, b, "sqeuclidean") / (2 * sigma**2))
        na, nb = len(a), len(b)
        return (
            (kaa.sum() - np.trace(kaa)) / (na * (na - 1))
            + (kbb.sum() - np.trace(kbb)) / (nb * (nb - 1))
            - 2 * kab.mean()
        )

    observed = statistic(x, y)
    exceed = 0
    for _ in range(n_permutations):
        idx = rng.permutation(len(z))
        exceed += statistic(z[idx[:n]], z[idx[n:]]) >= observed
    return observed, (1 + exceed) / (1 + n_permutations)


def _alibi_distance_module(src: str | None):
    """alibi-detect's own ``utils/pytorch/distance.py``, loaded from an unpacked wheel.

    That file needs only torch and NumPy, so it runs here although the package does not install
    (``pip download alibi-detect --no-deps`` and unzip, then pass ``--alibi-src DIR``).
    """
    if src is None:
        return None
    import importlib.util
    from pathlib import Path

    path = Path(src) / "alibi_detect" / "utils" / "pytorch" / "distance.py"
    spec = importlib.util.spec_from_file_location("alibi_distance", path)
    if spec is None or spec.loader is None or not path.exists():
        raise SystemExit(f"--alibi-src: {path} not found (unzip the alibi-detect wheel there)")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reindex_mmd_test(x, y, sigma, n_permutations, seed, alibi=None):
    """alibi-detect's MMDDriftTorch.score: kernel once, then re-index it per permutation.

    With ``alibi`` (its distance module) this runs alibi-detect's own functions, as its
    ``score`` does; without, the same steps written out in torch.
    """
    torch.manual_seed(seed)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    if alibi is not None:
        k = torch.exp(-0.5 * alibi.squared_pairwise_distance(
            torch.cat([xt, yt]), torch.cat([xt, yt])) / sigma**2)  # fmt: skip
        k = k - torch.diag(k.diag())
        m = len(yt)
        observed = alibi.mmd2_from_kernel_matrix(k, m, permute=False, zero_diag=False)
        permuted = torch.Tensor(
            [alibi.mmd2_from_kernel_matrix(k, m, permute=True, zero_diag=False)
             for _ in range(n_permutations)]
        )  # fmt: skip
        return float(observed), float((observed <= permuted).float().mean())
    z = torch.cat([xt, yt])
    n, total = len(xt), len(z)
    k = torch.exp(-torch.cdist(z, z).square() / (2 * sigma**2))
    k = k - torch.diag(k.diag())

    def statistic(km):
        m = total - n
        return (
            km[:n, :n].sum() / (n * (n - 1))
            + km[n:, n:].sum() / (m * (m - 1))
            - 2 * km[:n, n:].mean()
        )

    observed = statistic(k)
    permuted = []
    for _ in range(n_permutations):
        p = torch.randperm(total)
        permuted.append(statistic(k[p][:, p]))
    permuted = torch.stack(permuted)
    return float(observed), (1 + int((permuted >= observed).sum())) / (1 + n_permutations)


def bench_mmd(
    n: int, d: int, permutations: int, naive_permutations: int, alibi_src: str | None = None
) -> list[Row]:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(n, d)), rng.normal(0.05, 1, size=(n, d))
    sigma = median_heuristic(x, y)
    label = f"MMD test n=m={n:,}, d={d}, {permutations:,} perms"
    ours = benchmark(mmd_test, x, y, permutations, sigma, 0, warmup=1, repeat=3)
    ours_torch = benchmark(
        mmd_test, torch.as_tensor(x), torch.as_tensor(y), permutations, sigma, 0, warmup=1, repeat=3
    )
    start = time.perf_counter()
    _naive_mmd_test(x, y, sigma, naive_permutations, 0)
    naive_s = (time.perf_counter() - start) / (naive_permutations + 1) * (permutations + 1)
    note = (
        "measured"
        if naive_permutations == permutations
        else f"timed on {naive_permutations} perms, scaled to {permutations:,}"
    )
    alibi = _alibi_distance_module(alibi_src)
    reindex_perms = permutations if naive_permutations == permutations else min(permutations, 100)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)  # alibi-detect runs in float32
    _reindex_mmd_test(x32[:50], y32[:50], sigma, 5, 0, alibi)  # warm-up
    start = time.perf_counter()
    _reindex_mmd_test(x32, y32, sigma, reindex_perms, 0, alibi)
    reindex_s = (time.perf_counter() - start) / reindex_perms * permutations
    reindex_variant = (
        "alibi-detect 0.13 PyTorch code (its distance.py), float32"
        if alibi is not None
        else "alibi-detect's method re-implemented in torch, float32"
    )
    reindex_note = "kernel once, re-index per perm; " + (
        "measured" if reindex_perms == permutations else f"timed on {reindex_perms} perms, scaled"
    )
    p = mmd_test(x, y, permutations, sigma, 0).p_value
    rows = [
        Row(label, "labkit mmd_test (NumPy)", ours.median, "1.0×", f"p = {p:.3f}"),
        Row(label, "labkit mmd_test (torch CPU)", ours_torch.median,
            f"{ours.median / ours_torch.median:.2f}×"),
        Row(label, "straightforward: recompute per permutation", naive_s,
            f"{ours.median / naive_s:.3f}× (labkit {naive_s / ours.median:.0f}× faster)", note),
        Row(label, reindex_variant, reindex_s,
            f"{ours.median / reindex_s:.3f}× (labkit {reindex_s / ours.median:.1f}× faster)",
            reindex_note),
    ]  # fmt: skip
    try:
        from alibi_detect.cd import MMDDrift as AlibiMMD  # type: ignore[import-not-found]
    except Exception as err:  # not installed (see module docstring) or broken
        rows.append(Row(label, "alibi-detect MMDDrift (PyTorch)", float("nan"), "-",
                        f"not importable here: {type(err).__name__}"))  # fmt: skip
    else:
        det = AlibiMMD(x.astype(np.float32), backend="pytorch", n_permutations=permutations)
        m = benchmark(det.predict, y.astype(np.float32), warmup=1, repeat=3)
        rows.append(Row(label, "alibi-detect MMDDrift (PyTorch)", m.median,
                        f"{ours.median / m.median:.2f}×"))  # fmt: skip
    return rows


def _stream(n: int, binary: bool, seed: int) -> list:
    rng = np.random.default_rng(seed)
    level = np.repeat(rng.uniform(0, 1, size=10), n // 10)
    if binary:
        return (rng.random(n) < 0.05 + 0.3 * level).astype(int).tolist()
    return (level + rng.normal(0, 0.5, n)).tolist()


def _flags(detector, stream) -> list[tuple[int, bool, bool]]:
    out = []
    for i, x in enumerate(stream):
        detector.update(x)
        warning = bool(getattr(detector, "warning_detected", False))
        if detector.drift_detected or warning:
            out.append((i, bool(detector.drift_detected), warning))
    return out


def bench_streaming(n: int) -> list[Row]:
    from river import __version__ as river_version
    from river import drift as rdrift

    pairs = {
        "ADWIN": (ADWIN, rdrift.ADWIN, False),
        "DDM": (DDM, rdrift.binary.DDM, True),
        "EDDM": (EDDM, rdrift.binary.EDDM, True),
        "PageHinkley": (PageHinkley, rdrift.PageHinkley, False),
    }
    rows = []
    for name, (ours_cls, river_cls, binary) in pairs.items():
        stream = _stream(n, binary, seed=1)
        same = _flags(ours_cls(), stream) == _flags(river_cls(), stream)
        drifts = sum(d for _, d, _ in _flags(ours_cls(), stream))

        def run(cls, values=stream):
            det = cls()
            for v in values:
                det.update(v)

        ours = benchmark(run, ours_cls, warmup=1, repeat=5)
        theirs = benchmark(run, river_cls, warmup=1, repeat=5)
        if name == "ADWIN":
            TARGETS.append(
                f"ADWIN per update: labkit {format_seconds(ours.median / n)}, river "
                f"{format_seconds(theirs.median / n)}: {ours.median / theirs.median:.2f}× river's "
                f"time (target: within 3×); {_load()}"
            )
        label = f"{name}, {n:,} updates"
        rows.append(Row(label, f"river {river_version}", theirs.median / n, "1.0×"))
        rows.append(Row(label, "labkit", ours.median / n,
                        f"{theirs.median / ours.median:.2f}× river's speed",
                        f"{drifts} drifts; identical detections: {'yes' if same else 'NO'}"))  # fmt: skip
    return rows


def bench_ks(rows_n: int, cols: int) -> list[Row]:
    rng = np.random.default_rng(2)
    x_ref = rng.normal(size=(rows_n, cols))
    x = rng.normal(size=(rows_n, cols)) + np.linspace(0, 0.05, cols)

    def scipy_loop():
        return [scipy.stats.ks_2samp(x_ref[:, j], x[:, j], method="asymp") for j in range(cols)]

    reference = scipy_loop()
    ours = ks_per_feature(x_ref, x)
    # D bit for bit against SciPy's default (above 10,000 rows the asymptotic path's D; below,
    # SciPy snaps it to a multiple of 1/lcm(n, m)), p within docs/design.md §4.1's 1e-6.
    default_d = (
        [s.statistic for s in reference]
        if rows_n > 10_000
        else [scipy.stats.ks_2samp(x_ref[:, j], x[:, j]).statistic for j in range(cols)]
    )
    same = all(
        r.statistic == d and abs(r.p_value - s.pvalue) <= 1e-6
        for r, s, d in zip(ours, reference, default_d, strict=True)
    )
    m_scipy = benchmark(scipy_loop, warmup=0, repeat=3)
    m_np = benchmark(ks_per_feature, x_ref, x, warmup=1, repeat=3)
    TARGETS.append(
        f"KS per feature {rows_n:,} × {cols}: labkit {format_seconds(m_np.median)}, SciPy column "
        f"loop {format_seconds(m_scipy.median)}: {m_scipy.median / m_np.median:.2f}× faster "
        f"(target: at least 3×); {_load()}"
    )
    tr, tx = torch.as_tensor(x_ref), torch.as_tensor(x)
    m_torch = benchmark(ks_per_feature, tr, tx, warmup=1, repeat=3)
    label = f"KS per feature, {rows_n:,} × {cols} vs {rows_n:,} × {cols}"
    return [
        Row(label, "scipy.stats.ks_2samp, loop over columns", m_scipy.median, "1.0×"),
        Row(label, "labkit ks_per_feature (NumPy)", m_np.median,
            f"{m_scipy.median / m_np.median:.2f}×",
            f"same D (exactly) and p (within 1e-6) as SciPy: {'yes' if same else 'NO'}"),
        Row(label, "labkit ks_per_feature (torch CPU)", m_torch.median,
            f"{m_scipy.median / m_torch.median:.2f}×"),
    ]  # fmt: skip


def print_table(rows: list[Row]) -> None:
    def fmt(s: float) -> str:
        return "-" if s != s else format_seconds(s)

    cells = [(r.section, r.variant, fmt(r.seconds), r.ratio, r.note) for r in rows]
    head = ("comparison", "variant", "time", "speed vs first row", "note")
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(4)]
    last = None
    for i, c in enumerate([head, *cells]):
        section = c[0] if c[0] != last else ""
        last = c[0]
        print("  ".join(v.ljust(w) for v, w in zip((section, *c[1:4]), widths, strict=True)), c[4])
        if i == 0:
            print("-" * (sum(widths) + 30))


@guarded
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--full", action="store_true", help="time all naive MMD permutations")
    parser.add_argument("--naive-permutations", type=int, default=20)
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--only", default="mmd,streaming,ks",
                        help="comma-separated sections to run (mmd, streaming, ks)")  # fmt: skip
    parser.add_argument("--alibi-src", default=None,
                        help="folder with an unpacked alibi-detect wheel: time its own MMD code")  # fmt: skip
    args = parser.parse_args(argv)
    if args.quick:
        mmd_args, stream_n, ks_shape = (200, 8, 100, 10, args.alibi_src), 5_000, (5_000, 10)
    else:
        perms = 1000
        naive = perms if args.full else args.naive_permutations
        mmd_args = (2000, 32, perms, naive, args.alibi_src)
        stream_n, ks_shape = 100_000, (100_000, 100)
    machine = (
        f"{platform.machine()} {platform.processor() or ''} {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, numpy {np.__version__}, Python {platform.python_version()}"
    )
    print(f"drift_bench — {machine}", flush=True)
    sections = {
        "mmd": (bench_mmd, mmd_args),
        "streaming": (bench_streaming, (stream_n,)),
        "ks": (bench_ks, ks_shape),
    }
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    if not chosen or set(chosen) - set(sections):
        parser.error(f"--only: choose from {', '.join(sections)}; got {args.only!r}")
    rows: list[Row] = []
    for name in chosen:
        fn, fargs = sections[name]
        t0 = time.perf_counter()
        rows += fn(*fargs)
        print(f"  [{name}: {time.perf_counter() - t0:.0f} s]", file=sys.stderr, flush=True)
    print()
    print_table(rows)
    if TARGETS:
        print()
        print("\n".join(TARGETS))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"machine": machine, "rows": [asdict(r) for r in rows], "targets": TARGETS},
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
