"""The whole course on a GPU in one command: gpu_check, then every lab's solution notebook.

Meant for a machine that has a CUDA torch but not necessarily labkit or its venv (a rented or
lent GPU box with a system ``python3``), within about 8 minutes:

1. wheels carried in ``.whl/`` (pure-Python packages such an image lacks; fill the folder here
   with ``benchmarks/gpu_wheels.sh``) are installed into a scratch folder, never the system;
2. ``benchmarks/gpu_check.py`` runs (≤ 4 minutes): every CUDA path, one table;
3. each lab's solution notebook runs at graded sizes (``NBGRADER_EXECUTION=autograde``, the sizes
   the autograder uses) as a plain script from its jupytext source, in a scratch copy of the lab,
   so no Jupyter is needed; the headline figures each writes to ``<lab>_results.json`` are read
   back.

It prints one table — per notebook: status, wall time, headline figures — and writes it, with
gpu_check's rows and every notebook's results JSON, to ``--out`` (default ``$OUT`` when set).

Usage::

    benchmarks/gpu_wheels.sh                  # once, where pip reaches PyPI: fills .whl/
    python3 benchmarks/gpu_labs.py            # on the GPU machine, from the repository root
    python3 benchmarks/gpu_labs.py --smoke-cpu --only 00_orientation   # the script, on a CPU
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the checkout's labkit, installed or not
    sys.path.insert(0, str(ROOT))

from labkit.loadguard import guarded  # noqa: E402

WHEELS = ROOT / ".whl"
BUDGET_S = 8 * 60
GPU_CHECK_LIMIT_S = 4 * 60


@dataclass
class NotebookRun:
    notebook: str
    status: str  # ok | FAIL | timeout | skip
    wall_s: float
    figures: dict[str, object] = field(default_factory=dict)
    error: str = ""


def install_carried_wheels(target: Path) -> list[str]:
    """Install ``.whl/*.whl`` into ``target`` (no index, no dependencies); names installed."""
    wheels = sorted(WHEELS.glob("*.whl"))
    if not wheels:
        return []
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps"]
    cmd += ["--no-compile", "--target", str(target), *map(str, wheels)]
    subprocess.run(cmd, check=True)
    return [w.name.split("-")[0] for w in wheels]


def headline(results: dict, limit: int = 8) -> dict[str, object]:
    """The first ``limit`` scalar figures of a results JSON, nested keys joined by ``.``.

    >>> headline({"device": "cuda", "mfu": {"bf16": 0.41, "fp32": 0.05}, "curve": [1, 2]})
    {'device': 'cuda', 'mfu.bf16': 0.41, 'mfu.fp32': 0.05}
    """
    out: dict[str, object] = {}

    def walk(prefix: str, value: object) -> None:
        if len(out) >= limit:
            return
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, bool | int | float | str) and len(str(value)) <= 40:
            out[prefix] = round(value, 4) if isinstance(value, float) else value

    walk("", results)
    return out


def run_notebook(source: Path, workdir: Path, env: dict[str, str], limit_s: float) -> NotebookRun:
    """Execute one jupytext source as a script in ``workdir``; read the results it wrote."""
    name = source.stem
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, source.name], cwd=workdir, env=env, text=True,
                              capture_output=True, timeout=limit_s)  # fmt: skip
    except subprocess.TimeoutExpired:
        return NotebookRun(name, "timeout", time.perf_counter() - start, error=f"> {limit_s:.0f} s")
    wall = time.perf_counter() - start
    figures: dict[str, object] = {}
    for path in sorted(workdir.glob("*_results.json")):
        try:
            doc = json.loads(path.read_text())
            if "figures" in doc:  # results schema 1 (docs/results.md): the machine, then figures
                machine = doc.get("machine", {})
                doc = {"lab": doc.get("lab"), "device": machine.get("device"),
                       "gpu": machine.get("gpu"), **doc["figures"]}  # fmt: skip
            figures |= headline(doc)
        except (OSError, ValueError) as err:  # a half-written file says so in the table
            figures[path.name] = f"unreadable ({type(err).__name__})"
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        return NotebookRun(name, "FAIL", wall, figures, lines[-1][:200] if lines else "")
    return NotebookRun(name, "ok", wall, figures)


def print_table(runs: list[NotebookRun]) -> None:
    width = max([len("notebook"), *(len(r.notebook) for r in runs)])
    print(f"{'notebook':<{width}}  status   wall s  headline figures")
    print("-" * (width + 60))
    for r in runs:
        figures = ", ".join(f"{k}={v}" for k, v in r.figures.items()) or r.error
        print(f"{r.notebook:<{width}}  {r.status:<7}  {r.wall_s:6.1f}  {figures}")
        if r.error and r.figures:
            print(f"{'':<{width}}  {'':<7}  {'':>6}  error: {r.error}")


@guarded
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke-cpu", action="store_true",
                        help="gpu_check's CPU smoke run; notebooks on the CPU (tests the script)")  # fmt: skip
    parser.add_argument("--only", default="", help="comma-separated lab ids (default: every lab)")
    parser.add_argument("--skip-gpu-check", action="store_true")
    parser.add_argument("--out", default=os.environ.get("OUT"), help="folder for the JSON report")
    args = parser.parse_args(argv)
    labs = sorted(p for p in (ROOT / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit())
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - {p.name for p in labs}
    if unknown:
        parser.error(
            f"--only: unknown lab(s) {sorted(unknown)}; choose from {[p.name for p in labs]}"
        )
    labs = [p for p in labs if not only or p.name in only]
    deadline = time.perf_counter() + BUDGET_S

    with tempfile.TemporaryDirectory(prefix="labkit-gpu-") as tmp:
        site = Path(tmp) / "site"
        carried = install_carried_wheels(site)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT), str(site) if carried else "", os.environ.get("PYTHONPATH")])
        )
        print(f"gpu_labs: python {sys.version.split()[0]}; carried wheels: "
              f"{', '.join(carried) or 'none'}", flush=True)  # fmt: skip

        check_rows: list[dict] = []
        if not args.skip_gpu_check:
            rows_json = Path(tmp) / "gpu_check.json"
            cmd = [
                sys.executable,
                str(ROOT / "benchmarks" / "gpu_check.py"),
                "--json",
                str(rows_json),
            ]
            cmd += ["--smoke-cpu"] if args.smoke_cpu else []
            try:
                subprocess.run(cmd, env=env, timeout=GPU_CHECK_LIMIT_S, check=False)
            except subprocess.TimeoutExpired:
                print(f"gpu_check: stopped after {GPU_CHECK_LIMIT_S} s", flush=True)
            if rows_json.exists():
                check_rows = json.loads(rows_json.read_text())

        runs: list[NotebookRun] = []
        nb_env = {**env, "NBGRADER_EXECUTION": "autograde"}
        for lab in labs:
            workdir = Path(tmp) / "labs" / lab.name
            shutil.copytree(lab, workdir, ignore=shutil.ignore_patterns("*.ipynb"))
            for source in sorted(workdir.glob("*.py")):  # a lab's notebooks run in name order
                left = deadline - time.perf_counter()
                if left < 10:
                    runs.append(NotebookRun(source.stem, "skip", 0.0, error="time budget spent"))
                    continue
                runs.append(run_notebook(source, workdir, nb_env, limit_s=min(left, 180)))
                print(f"  [{source.stem}: {runs[-1].status}, {runs[-1].wall_s:.0f} s]", flush=True)
        print()
        print_table(runs)
        if args.out:
            Path(args.out).mkdir(parents=True, exist_ok=True)
            report = {"gpu_check": check_rows, "notebooks": [asdict(r) for r in runs]}
            (Path(args.out) / "gpu_labs.json").write_text(json.dumps(report, indent=1, default=str))
    failed = [r for r in runs if r.status != "ok"] + [
        r for r in check_rows if r["status"] == "FAIL"
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
