"""Lab 04 autoscaling comparison: static peak provisioning vs HPA vs concurrency (Knative-style)
vs scheduled scaling, on one simulated day with an evening surge.

    python benchmarks/scaling_autoscaling.py [--replica-rps 250] [--startup-s 30] [--slo-ms 250]

Per-replica capacity and start-up time default to what the lab measured for one batching worker
on a 2-core CPU (override them with your own). Every policy sees the same Poisson traffic.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from labkit.loadguard import guarded
from labkit.scaling.concurrency_autoscaler import ConcurrencyAutoscaler, ScheduledScaler
from labkit.scaling.simulator import (
    ConcurrencyPolicy,
    HPAPolicy,
    PoolConfig,
    ScheduledPolicy,
    StaticPolicy,
    results_table,
    simulate,
)
from labkit.scaling.traffic import peak_hour_profile


@guarded
def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replica-rps", type=float, default=250.0)
    p.add_argument("--startup-s", type=float, default=30.0)
    p.add_argument("--slo-ms", type=float, default=250.0)
    p.add_argument("--peak-replicas", type=float, default=20.0, help="evening peak / capacity")
    args = p.parse_args()

    cap = args.replica_rps
    day = peak_hour_profile(peak_rps=args.peak_replicas * cap, seed=0)
    forecast = peak_hour_profile(peak_rps=args.peak_replicas * cap, surge_at_hour=None, seed=1)
    pool = PoolConfig(
        service_rate_rps=cap,
        startup_s=args.startup_s,
        queue_per_replica=64,
        slo_p99_s=args.slo_ms / 1000,
    )
    plan = ScheduledScaler.from_forecast(forecast, capacity_rps=cap, target_utilization=0.6)
    policies = [
        StaticPolicy(math.ceil(day.peak_rps / (0.7 * cap)), name="static (peak)"),
        HPAPolicy(2, 100, target_utilization=60, name="hpa cpu 60%"),
        ConcurrencyPolicy(
            ConcurrencyAutoscaler(target_concurrency=1.0, min_replicas=2, max_replicas=100)
        ),
        ScheduledPolicy(plan, name="scheduled"),
        ScheduledPolicy(plan, reactive=HPAPolicy(2, 100, 60), name="scheduled + hpa"),
    ]
    start = time.perf_counter()
    results = [simulate(day, policy, pool, seed=0) for policy in policies]
    print(
        f"{day}; replica {cap:g} rps, start-up {args.startup_s:g} s, SLO p99 {args.slo_ms:g} ms"
        f" ({time.perf_counter() - start:.1f} s to simulate)"
    )
    print(results_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
