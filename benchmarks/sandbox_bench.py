"""The grading sandbox's cost: `labkit grade` of each lab's model solution, sandbox on vs off.

Rounds alternate the two settings so machine load hits both alike; the table gives the median
wall time of each, the ratio, whether the scores agree (honest marks lost to the sandbox), and
the load average before and after.

    .venv/bin/python benchmarks/sandbox_bench.py                  # lab 00, 3 rounds
    .venv/bin/python benchmarks/sandbox_bench.py --labs 00_orientation 04_scaling --rounds 2
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "grading"))

import adversary as adv

from labkit.grading import grade
from labkit.grading._paths import course_root
from labkit.grading.sandbox import probe
from labkit.loadguard import guarded


@guarded
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", nargs="*", default=["00_orientation"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    status = probe()
    if not status.works:
        print(f"grading sandbox unavailable: {status.detail}")
        return 0
    root = course_root()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; sandbox: {status.detail}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for lab in args.labs:
            source = root / "solutions" / lab / f"{lab}.ipynb"
            release = root / "notebooks" / lab / source.name
            nb = adv.write(adv.filled(adv.load(source), adv.load(release)), Path(tmp) / source.name)
            times: dict[bool, list[float]] = {True: [], False: []}
            scores: dict[bool, set[float]] = {True: set(), False: set()}
            for _ in range(args.rounds):
                for sandbox in (True, False):
                    start = time.perf_counter()
                    report = grade(nb, sandbox=sandbox)
                    times[sandbox].append(time.perf_counter() - start)
                    scores[sandbox].add(report.score)
            on, off = statistics.median(times[True]), statistics.median(times[False])
            agree = "yes" if scores[True] == scores[False] and len(scores[True]) == 1 else "NO"
            rows.append((lab, f"{off:.1f}", f"{on:.1f}", f"{on / off:.2f}x", agree,
                         f"{max(scores[True])}"))  # fmt: skip
    header = ("lab", "off s", "sandbox s", "ratio", "same scores", "score")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    print(f"({args.rounds} rounds, median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
