"""Class grading engines side by side: the local process pool against a Dask cluster.

Generates one class (default 12 submissions of lab 00: correct, partial, blank and corrupt, in
turn), then grades it, each time into a fresh sqlite gradebook and output folder, with

* the local pool, ``--jobs 1`` and ``--jobs 2`` (``labkit grade-class --jobs N``);
* a Dask cluster of 1 and of 2 workers on this machine (``dask scheduler`` and
  ``dask worker --nthreads 1 --no-nanny`` processes on loopback, started fresh for each row so
  every worker builds its own lab template as a newly started remote worker would;
  ``labkit grade-class --scheduler``).

Starting the cluster is not timed (an instructor's cluster is already running); everything from
the call to the report is: discovery, templates, grading, feedback pages, merge and exports.
The table gives submissions per minute, the ratio to the local pool with as many processes,
the ratio to one local process, and whether the gradebook's scores equal the first row's.
Learner code runs in the grading sandbox as configured (``--no-sandbox`` to turn it off).

    .venv/bin/python benchmarks/grade_class_bench.py              # lab 00, 12 submissions
    .venv/bin/python benchmarks/grade_class_bench.py -n 8 --labs 00_orientation 03_drift
    .venv/bin/python benchmarks/grade_class_bench.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grading_bench import generate

from labkit.grading import grade_class
from labkit.loadguard import guarded

KINDS = ("correct", "partial", "blank", "corrupt")
DASK = str(Path(sys.executable).with_name("dask"))


def _load() -> str:
    return "load average " + " / ".join(f"{v:.2f}" for v in os.getloadavg())


class LoopbackCluster:
    """A scheduler and ``workers`` single-threaded worker processes on 127.0.0.1."""

    def __init__(self, workers: int, logs: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{port}"
        self.procs: list[subprocess.Popen] = []
        self._start(logs / "scheduler.log", [DASK, "scheduler", "--host", "127.0.0.1",
                                              "--port", str(port), "--dashboard-address",
                                              "127.0.0.1:0"])  # fmt: skip
        for i in range(workers):
            self._start(logs / f"worker{i}.log", [DASK, "worker", self.address, "--nworkers",
                                                   "1", "--nthreads", "1", "--no-nanny"])  # fmt: skip
        from distributed import Client

        with Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=120)

    def _start(self, log: Path, argv: list[str]) -> None:
        with open(log, "wb") as out:
            self.procs.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                               start_new_session=True))  # fmt: skip

    def __enter__(self) -> LoopbackCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _scores(db: str) -> dict[tuple[str, str, str], float | None]:
    from nbgrader.api import Gradebook

    with Gradebook(db) as gb:
        return {
            (sub.student_id, sub.assignment.name, g.name): g.auto_score
            for a in gb.assignments
            for sub in gb.assignment_submissions(a.name)
            for nb in sub.notebooks
            for g in nb.grades
        }


@guarded
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--submissions", type=int, default=12)
    parser.add_argument("--labs", nargs="+", default=["00_orientation"])
    parser.add_argument("--no-sandbox", action="store_true")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    engines = [("local", 1), ("local", 2), ("dask", 1), ("dask", 2)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="labkit-grade-class-bench-") as tmp:
        tmp_path = Path(tmp)
        subs = tmp_path / "submitted"
        counts = generate(subs, args.submissions, args.labs, KINDS)
        print(f"{args.submissions} submissions of {', '.join(args.labs)}: {counts}", flush=True)
        for engine, n in engines:
            name = f"{engine}{n}"
            db = f"sqlite:///{tmp_path / f'{name}.db'}"
            common = dict(db_url=db, out=tmp_path / name, labs=args.labs, progress=True,
                          sandbox=not args.no_sandbox)  # fmt: skip
            if engine == "local":
                start = time.perf_counter()
                report = grade_class(subs, jobs=n, **common)
                wall = time.perf_counter() - start
            else:
                logs = tmp_path / f"{name}-logs"
                logs.mkdir()
                with LoopbackCluster(n, logs) as cluster:
                    start = time.perf_counter()
                    report = grade_class(subs, scheduler=cluster.address, **common)
                    wall = time.perf_counter() - start
            statuses = {s: report.count(s) for s in ("graded", "invalid", "failed")}
            rows.append({"engine": engine, "workers": n, "wall_s": wall,
                         "per_minute": 60 * len(report.results) / wall, "statuses": statuses,
                         "scores": _scores(db), "load": os.getloadavg()})  # fmt: skip
            print(f"  {name}: {wall:.1f} s {statuses}  ({_load()})", flush=True)
    local = {r["workers"]: r["per_minute"] for r in rows if r["engine"] == "local"}
    print(f"\nlabkit grade-class, {args.submissions} submissions of {', '.join(args.labs)}, "
          f"{os.cpu_count()} CPUs {platform.machine()}, Python {platform.python_version()}, "
          f"sandbox {'off' if args.no_sandbox else 'as configured'}")  # fmt: skip
    print(f"{'engine':<8}{'workers':>8}{'wall s':>9}{'subs/min':>10}{'vs local same N':>17}"
          f"{'vs local 1':>12}{'same scores':>13}  load (1/5/15 min) after")  # fmt: skip
    for r in rows:
        same = r["scores"] == rows[0]["scores"]
        load = " / ".join(f"{v:.2f}" for v in r["load"])
        print(f"{r['engine']:<8}{r['workers']:>8}{r['wall_s']:>9.1f}{r['per_minute']:>10.2f}"
              f"{r['per_minute'] / local[r['workers']]:>16.2f}x{r['per_minute'] / local[1]:>11.2f}x"
              f"{same!s:>13}  {load}")  # fmt: skip
    print(f"outcomes per run: {rows[0]['statuses']}")
    if args.json:
        for r in rows:
            r["scores"] = len(r["scores"])  # the count: the table already compared them
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
