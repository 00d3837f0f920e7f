"""Lab 04 service benchmark: requests/s and latency for 1 worker without batching, 1 worker with
batching and 2 workers with batching, side by side in one run on this machine.

    python benchmarks/scaling_service.py [--items 100000] [--seconds 5] [--rate 150]

For each configuration: a closed loop (32 concurrent users) measures the maximum throughput, then
an open loop at a fixed Poisson rate (the "stated load", the same for all three) measures
latency from the scheduled send time. The load generator runs on the same machine, so on a
small machine it competes with the server for CPU; the table prints the core count and the load
average so results can be compared across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

from labkit.inference.cache import zipf_keys
from labkit.loadguard import guarded
from labkit.scaling.load import load_table, run_closed_loop, run_open_loop
from labkit.scaling.process import ServiceProcess
from labkit.scaling.traffic import poisson_schedule


@guarded
def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=5000)
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--seconds", type=float, default=5.0, help="length of each load test")
    p.add_argument("--rate", type=float, default=150.0, help="open-loop rate, requests/s")
    p.add_argument("--json", help="also write the rows to this file")
    args = p.parse_args()

    model = os.path.join(tempfile.mkdtemp(prefix="labkit-bench-"), "model.pt")
    trained = subprocess.run(
        [
            sys.executable,
            "-m",
            "labkit.scaling.train",
            "--out",
            model,
            "--users",
            str(args.users),
            "--items",
            str(args.items),
            "--dim",
            "64",
            "--epochs",
            "1",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(trained.stdout.strip().splitlines()[-1])
    users = zipf_keys(100_000, args.users, seed=1)  # a few heavy users, as at peak
    configs = [
        ("1 worker, no batching", dict(workers=1, max_batch_size=1)),
        ("1 worker, batching 32", dict(workers=1, max_batch_size=32)),
        ("2 workers, batching 32", dict(workers=2, max_batch_size=32)),
    ]
    results = []
    for label, opts in configs:
        with ServiceProcess(model, cache_size=0, **opts) as svc:
            results.append(
                run_closed_loop(
                    svc.url,
                    user_ids=users,
                    concurrency=32,
                    duration_s=args.seconds,
                    label=f"{label}: max",
                )
            )
            results.append(
                run_open_loop(
                    svc.url,
                    poisson_schedule(args.rate, args.seconds, seed=2),
                    user_ids=users,
                    label=f"{label}: {args.rate:.0f} rps",
                )
            )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; model {info['users']} users x {info['items']} items x "
        f"dim {info['dim']}; cache off; {args.seconds:g} s per test"
    )
    print(load_table(results))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([r.summary() for r in results], fh, indent=1, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
