"""ADWIN, adaptive windowing (Bifet & Gavaldà 2007), matching river 0.26.1 detection for detection.

ADWIN keeps a window of recent values, compressed into an exponential histogram: row ``i``
holds up to ``max_buckets`` buckets that each summarize 2^i values (their total and their sum
of squared deviations, merged with the parallel-variance formula of Babcock et al. 2003).
Every ``clock`` values, once the window is wider than ``grace_period``, it tries every split
of the window into an older part W0 and a newer part W1 (bucket boundaries only, oldest to
newest) and cuts when the two means differ by more than

    ε = sqrt(2 · m · (σ²_W) · δ') + (2/3) · δ' · m,
    δ' = ln(2 · ln(|W|) / delta),  m = 1/(n0 − mwl + 1) + 1/(n1 − mwl + 1),

where σ²_W is the window's variance and mwl is ``min_window_length``. On a cut it drops the
oldest bucket and checks again, so one detection can shrink the window by many buckets.

river 0.26 runs this loop in Rust (``river._river_rust.drift.AdaptiveWindowing``); this is a
plain-Python rendering of the same algorithm with the same floating-point operations in the
same order, which is what makes its detections land on the same indices
(``tests/drift/test_streaming_river.py`` checks that against river itself). Older river and
scikit-multiflow skipped the newest bucket of each row while scanning and disagree with both.

Examples
--------
>>> import random
>>> rng = random.Random(12345)
>>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
>>> adwin = ADWIN()
>>> [i for i, v in enumerate(stream) if adwin.update(v).drift_detected]
[1023]
"""

from __future__ import annotations

import math
from typing import Any

from labkit.drift._checks import check_float, check_int
from labkit.drift._streaming import StreamingDetector, real_value

__all__ = ["ADWIN"]


class ADWIN(StreamingDetector):
    """Adaptive windowing drift detector for a stream of real numbers.

    Parameters
    ----------
    delta
        Confidence of a cut, in (0, 1): smaller means fewer false alarms and later detection.
    clock
        Check for a cut every ``clock`` updates (1 = every update).
    max_buckets
        Buckets kept per row of the exponential histogram before the two oldest merge.
    min_window_length
        Smallest sub-window (in values) a split may leave on either side.
    grace_period
        No check until the window holds more than this many values.

    Attributes
    ----------
    drift_detected
        Whether the last update cut the window.
    width, total, variance, estimation, n_detections
        Window length, sum of its values, its sum of squared deviations (river calls it
        ``variance``), its mean, and detections since the last reset (as river counts them).
    """

    _params = ("delta", "clock", "max_buckets", "min_window_length", "grace_period")

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        self.delta = check_float(delta, "delta", 0.0, 1.0, low_open=True, high_open=True)
        self.clock = check_int(clock, "clock", 1)
        # With 1, row 0 empties on every merge; river 0.26.1 then divides by zero and can panic.
        self.max_buckets = check_int(max_buckets, "max_buckets", 2)
        self.min_window_length = check_int(min_window_length, "min_window_length", 0)
        self.grace_period = check_int(grace_period, "grace_period", 0)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._totals: list[list[float]] = [[]]  # row i: bucket totals, oldest first
        self._variances: list[list[float]] = [[]]
        self._total = 0.0
        self._variance = 0.0
        self._width = 0.0
        self._tick = 0
        self._n_detections = 0

    @property
    def width(self) -> int:
        return int(self._width)

    @property
    def total(self) -> float:
        return self._total

    @property
    def variance(self) -> float:
        return self._variance

    @property
    def estimation(self) -> float:
        return self._total / self._width if self._width else 0.0

    @property
    def n_detections(self) -> int:
        return self._n_detections

    def update(self, x: Any) -> ADWIN:
        """Add one value, then (every ``clock`` values) look for a cut."""
        # Fast path for finite Python floats (x - x is NaN for inf and NaN); the rest is checked.
        value = x if type(x) is float and x - x == 0.0 else real_value(x, "ADWIN")
        if self._drift_detected:
            self.reset()
        # Insert into row 0, updating width, total and variance exactly as river does.
        row0 = self._totals[0]
        row0.append(value)
        self._variances[0].append(0.0)
        width = self._width + 1.0
        self._width = width
        if width > 1.0:
            d = value - self._total / (width - 1.0)
            self._variance += (width - 1.0) * d * d / width
        self._total += value
        if len(row0) > self.max_buckets:
            self._compress()
        self._tick += 1
        detected = False
        if self._tick % self.clock == 0 and width > self.grace_period:
            while self._cut_once():
                detected = True
        if detected:
            self._n_detections += 1
        self._drift_detected = detected
        return self

    def _compress(self) -> None:
        """Merge the two oldest buckets of any full row into one bucket of the next row."""
        totals, variances, limit = self._totals, self._variances, self.max_buckets
        row = 0
        while len(totals[row]) == limit + 1:
            size = float(1 << row)
            t0, t1 = totals[row][0], totals[row][1]
            mu0, mu1 = t0 / size, t1 / size
            merged_var = (
                variances[row][0] + variances[row][1] + size * 0.5 * (mu0 - mu1) * (mu0 - mu1)
            )
            if row + 1 == len(totals):
                totals.append([])
                variances.append([])
            totals[row + 1].append(t0 + t1)
            variances[row + 1].append(merged_var)
            del totals[row][:2], variances[row][:2]
            if len(totals[row + 1]) <= limit:
                break
            row += 1

    def _cut_once(self) -> bool:
        """Scan the splits oldest to newest; on the first cut drop the oldest bucket.

        Same operations in the same order as river's ``detect_change``/``evaluate_cut``; the
        terms that do not depend on the split (δ', the window variance) are computed once per
        scan, which gives identical values.
        """
        mwl = float(self.min_window_length)
        width = self._width
        if width < 2.0:
            return False  # one value: no split to test (and ln(ln 1) is undefined)
        delta_prime = math.log(2.0 * math.log(width) / self.delta)
        variance = self._variance / width
        bias = 2.0 / 3.0 * delta_prime
        n0, n1, u0, u1 = 0.0, width, 0.0, self._total
        totals = self._totals
        for row in range(len(totals) - 1, -1, -1):
            size = float(1 << row)
            buckets = totals[row]
            last = len(buckets) - 1
            for k, bucket_total in enumerate(buckets):
                n0 += size
                n1 -= size
                u0 += bucket_total
                u1 -= bucket_total
                if row == 0 and k == last:
                    return False  # W1 would be empty
                if n1 >= mwl and n0 >= mwl:
                    m_recip = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0)
                    spread = 2.0 * m_recip * variance * delta_prime
                    # A rounding-negative variance makes river's sqrt NaN: no cut there.
                    if spread >= 0.0 and abs((u0 / n0) - (u1 / n1)) > math.sqrt(spread) + (
                        bias * m_recip
                    ):
                        self._drop_oldest()
                        return True
        return False

    def _drop_oldest(self) -> None:
        row = len(self._totals) - 1
        size = float(1 << row)
        u, v = self._totals[row].pop(0), self._variances[row].pop(0)
        mu = u / size
        self._width -= size
        self._total -= u
        mu_window = self._total / self._width
        self._variance -= v + size * self._width * (mu - mu_window) * (mu - mu_window) / (
            size + self._width
        )
        if not self._totals[row] and row > 0:
            self._totals.pop()
            self._variances.pop()
