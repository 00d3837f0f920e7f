"""Lab 00 (orientation): honest rewrites from the release text, and the mistakes learners make."""

from __future__ import annotations

from mistakes import honest, mistake

PCT = "00_orientation_percentile"
TIME = "00_orientation_time_calls"
TPUT = "00_orientation_throughput"

CASES = [
    # ------------------------------------------------------------------ percentile
    honest(
        PCT,
        "insertion into a sorted copy with bisect, math.modf for the fraction, weighted blend",
        """
        import bisect
        import math


        def percentile(samples, q):
            if len(samples) == 0:
                raise ValueError("percentile of an empty sequence is undefined")
            if q < 0 or q > 100:
                raise ValueError(f"q={q} is not a percentage between 0 and 100")
            ordered = []
            for x in samples:
                bisect.insort(ordered, x)
            frac, whole = math.modf((len(ordered) - 1) * q / 100.0)
            i = int(whole)
            if i + 1 >= len(ordered):
                return ordered[-1]
            return (1.0 - frac) * ordered[i] + frac * ordered[i + 1]
        """,
    ),
    mistake(
        PCT,
        "nearest-rank percentile (no interpolation)",
        """
        import math


        def percentile(samples, q):
            values = sorted(samples)
            if not values:
                raise ValueError("samples must not be empty")
            if not 0 <= q <= 100:
                raise ValueError("q must be within [0, 100]")
            rank = max(1, math.ceil(q / 100 * len(values)))
            return values[rank - 1]
        """,
    ),
    mistake(
        PCT,
        "off-by-one rank: position n*q/100 instead of (n-1)*q/100",
        """
        def percentile(samples, q):
            values = sorted(samples)
            if not values:
                raise ValueError("samples must not be empty")
            if not 0 <= q <= 100:
                raise ValueError("q must be within [0, 100]")
            pos = min(len(values) * q / 100, len(values) - 1)
            lo = int(pos)
            hi = min(lo + 1, len(values) - 1)
            return values[lo] + (values[hi] - values[lo]) * (pos - lo)
        """,
    ),
    mistake(
        PCT,
        "sorts the caller's list in place",
        """
        def percentile(samples, q):
            if not samples:
                raise ValueError("samples must not be empty")
            if not 0 <= q <= 100:
                raise ValueError("q must be within [0, 100]")
            samples.sort()
            pos = (len(samples) - 1) * q / 100
            lo = int(pos)
            hi = min(lo + 1, len(samples) - 1)
            return samples[lo] + (samples[hi] - samples[lo]) * (pos - lo)
        """,
    ),
    mistake(
        PCT,
        "empty input not rejected (IndexError instead of ValueError)",
        """
        def percentile(samples, q):
            if not 0 <= q <= 100:
                raise ValueError("q must be within [0, 100]")
            values = sorted(samples)
            pos = (len(values) - 1) * q / 100
            lo = int(pos)
            hi = min(lo + 1, len(values) - 1)
            return values[lo] + (values[hi] - values[lo]) * (pos - lo)
        """,
    ),
    # ------------------------------------------------------------------ time_calls
    honest(
        TIME,
        "while loops, timeit.default_timer, stop time read into a local first",
        """
        import timeit


        def time_calls(fn, warmup, repeat):
            done = 0
            while done < warmup:
                fn()
                done += 1
            samples = []
            while len(samples) < repeat:
                t0 = timeit.default_timer()
                fn()
                t1 = timeit.default_timer()
                samples.append(t1 - t0)
            return samples
        """,
    ),
    honest(
        TIME,
        "integer nanoseconds from perf_counter_ns, converted at the end",
        """
        import time


        def time_calls(fn, warmup, repeat):
            for _ in range(warmup):
                fn()
            ns = []
            for _ in range(repeat):
                start = time.perf_counter_ns()
                fn()
                ns.append(time.perf_counter_ns() - start)
            return [x / 1e9 for x in ns]
        """,
    ),
    mistake(
        TIME,
        "times the whole loop and returns the average for every call",
        """
        import time


        def time_calls(fn, warmup, repeat):
            for _ in range(warmup):
                fn()
            start = time.perf_counter()
            for _ in range(repeat):
                fn()
            mean = (time.perf_counter() - start) / repeat
            return [mean] * repeat
        """,
    ),
    mistake(
        TIME,
        "one start time before the loop: running totals, not per-call times",
        """
        import time


        def time_calls(fn, warmup, repeat):
            for _ in range(warmup):
                fn()
            start = time.perf_counter()
            times = []
            for _ in range(repeat):
                fn()
                times.append(time.perf_counter() - start)
            return times
        """,
    ),
    mistake(
        TIME,
        "warm-up calls timed too (returns warmup + repeat samples)",
        """
        import time


        def time_calls(fn, warmup, repeat):
            times = []
            for _ in range(warmup + repeat):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            return times
        """,
    ),
    mistake(
        TIME,
        "samples in milliseconds",
        """
        import time


        def time_calls(fn, warmup, repeat):
            for _ in range(warmup):
                fn()
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                fn()
                times.append((time.perf_counter() - start) * 1e3)
            return times
        """,
    ),
    # ------------------------------------------------------------------ throughput
    honest(
        TPUT,
        "math.prod for the FLOP count, one keyword-argument check with its own messages",
        """
        import math


        def _check_positive(**values):
            for name, value in values.items():
                if value <= 0:
                    raise ValueError(f"{name}={value} is not positive")


        def matmul_tflops(m, n, k, seconds):
            _check_positive(m=m, n=n, k=k, seconds=seconds)
            flops = 2 * math.prod((m, n, k))
            return flops / (seconds * 10**12)


        def fraction_of_peak(achieved, peak):
            _check_positive(achieved=achieved, peak=peak)
            return achieved / peak
        """,
    ),
    mistake(
        TPUT,
        "GFLOP/s instead of TFLOP/s (divides by 1e9)",
        """
        def matmul_tflops(m, n, k, seconds):
            if min(m, n, k, seconds) <= 0:
                raise ValueError("arguments must be positive")
            return 2 * m * n * k / seconds / 1e9


        def fraction_of_peak(achieved, peak):
            if achieved <= 0 or peak <= 0:
                raise ValueError("arguments must be positive")
            return achieved / peak
        """,
    ),
    mistake(
        TPUT,
        "counts multiply-adds, not FLOPs (no factor 2)",
        """
        def matmul_tflops(m, n, k, seconds):
            if min(m, n, k, seconds) <= 0:
                raise ValueError("arguments must be positive")
            return m * n * k / seconds / 1e12


        def fraction_of_peak(achieved, peak):
            if achieved <= 0 or peak <= 0:
                raise ValueError("arguments must be positive")
            return achieved / peak
        """,
    ),
    mistake(
        TPUT,
        "< 0 instead of <= 0: zero passes the validation",
        """
        def matmul_tflops(m, n, k, seconds):
            if min(m, n, k) < 0 or seconds <= 0:
                raise ValueError("arguments must be positive")
            return 2 * m * n * k / seconds / 1e12


        def fraction_of_peak(achieved, peak):
            if achieved < 0 or peak <= 0:
                raise ValueError("arguments must be positive")
            return achieved / peak
        """,
    ),
    mistake(
        TPUT,
        "fraction_of_peak as a percentage",
        """
        def matmul_tflops(m, n, k, seconds):
            if min(m, n, k, seconds) <= 0:
                raise ValueError("arguments must be positive")
            return 2 * m * n * k / seconds / 1e12


        def fraction_of_peak(achieved, peak):
            if achieved <= 0 or peak <= 0:
                raise ValueError("arguments must be positive")
            return 100 * achieved / peak
        """,
    ),
    mistake(
        TPUT,
        "fraction_of_peak never validates (its ValueError is never raised)",
        """
        def matmul_tflops(m, n, k, seconds):
            if min(m, n, k, seconds) <= 0:
                raise ValueError("arguments must be positive")
            return 2 * m * n * k / seconds / 1e12


        def fraction_of_peak(achieved, peak):
            return achieved / peak if peak else float("inf")
        """,
    ),
]
