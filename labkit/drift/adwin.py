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

Why it is fast in plain Python: nothing between two clock ticks can observe the window, so
``update`` only appends the value to a pending list; the tick then folds the pending values
into the window statistics and the histogram in one local-variable loop. Folding a batch gives
the state that folding one value at a time gives: each row is a queue whose two oldest buckets
merge while it is over ``max_buckets``, so the same pairs merge in the same order, and the
running width, total and variance see the same values in the same order.
"""

from __future__ import annotations

import math
from typing import Any, Self

from labkit._validate import check_int, check_real
from labkit.drift.base import DriftDetector, real_value

__all__ = ["ADWIN"]


class ADWIN(DriftDetector):
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

    Notes
    -----
    The parameter names and defaults are river 0.26's (docs/design.md §4.1), and detections
    land on exactly river 0.26.1's indices; the module docstring gives the cut rule.

    Examples
    --------
    Two segments of a stream, the second with a higher mean: ADWIN flags the change at the
    first clock tick (every 32 values) where the old and new sub-windows differ enough.

    >>> import random
    >>> rng = random.Random(12345)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    >>> adwin = ADWIN()
    >>> [i for i, v in enumerate(stream) if adwin.update(v).drift_detected]
    [1023]
    >>> adwin.width  # as in river, the update after a drift starts a fresh window
    976
    """

    __slots__ = (
        "_countdown",
        "_drift_detected",
        "_n_detections",
        "_pending",
        "_push",
        "_total",
        "_totals",
        "_variance",
        "_variances",
        "_width",
        "clock",
        "delta",
        "grace_period",
        "max_buckets",
        "min_window_length",
    )

    def __init__(
        self,
        delta: float = 0.002,
        clock: int = 32,
        max_buckets: int = 5,
        min_window_length: int = 5,
        grace_period: int = 10,
    ) -> None:
        self.delta = check_real(
            delta, "delta", min_val=0.0, max_val=1.0, include_boundaries="neither"
        )
        self.clock = check_int(clock, "clock", min_val=1)
        # With 1, row 0 empties on every merge; river 0.26.1 then divides by zero and can panic.
        self.max_buckets = check_int(max_buckets, "max_buckets", min_val=2)
        self.min_window_length = check_int(min_window_length, "min_window_length", min_val=0)
        self.grace_period = check_int(grace_period, "grace_period", min_val=0)
        self._reset()

    def _reset(self) -> None:
        super()._reset()
        self._pending: list[float] = []  # values since the last tick, not yet in the window
        self._push = self._pending.append
        self._countdown = self.clock  # updates left until the next tick
        # Row i: bucket totals (and, from row 1 on, variances), oldest first; row 0's buckets
        # hold one value each, whose variance is 0 and is not stored.
        self._totals: list[list[float]] = [[]]
        self._variances: list[list[float]] = [[]]
        self._total = 0.0
        self._variance = 0.0
        self._width = 0.0
        self._n_detections = 0

    @property
    def width(self) -> int:
        self._fold()
        return int(self._width)

    @property
    def total(self) -> float:
        self._fold()
        return self._total

    @property
    def variance(self) -> float:
        self._fold()
        return self._variance

    @property
    def estimation(self) -> float:
        self._fold()
        return self._total / self._width if self._width else 0.0

    @property
    def n_detections(self) -> int:
        return self._n_detections

    def update(self, x: Any) -> Self:
        """Add one value, then (every ``clock`` values) look for a cut."""
        # Finite Python floats skip the check (x - x is NaN for inf and NaN); the rest is checked.
        if type(x) is not float or x - x != 0.0:
            x = real_value(x, "ADWIN")
        # After a drift ``_push`` is _restart, which resets the window first (as river does on
        # the update after a drift); this keeps the flag test out of the common path.
        self._push(x)
        countdown = self._countdown - 1
        if countdown:
            self._countdown = countdown
        else:
            self._countdown = self.clock
            self._tick()
        return self

    def _restart(self, x: float) -> None:
        self._reset()
        self._push(x)

    def _tick(self) -> None:
        self._fold()
        if self._width > self.grace_period:
            detected = False
            while self._cut_once():
                detected = True
            if detected:
                self._n_detections += 1
                self._drift_detected = True
                self._push = self._restart

    def _fold(self) -> None:
        """Move the pending values into the window: width, total, variance, then the buckets.

        The running statistics use river's operations one value at a time: with the new width
        w + 1, d = x − total / w and variance += w · d · d / (w + 1).
        """
        pending = self._pending
        if not pending:
            return
        width, total, variance = self._width, self._total, self._variance
        for value in pending:
            if width:
                d = value - total / width
                grown = width + 1.0
                variance += width * d * d / grown
                width = grown
            else:
                width = 1.0
            total += value
        self._width, self._total, self._variance = width, total, variance
        row0 = self._totals[0]
        row0 += pending
        pending.clear()
        if len(row0) > self.max_buckets:
            self._compress()

    def _compress(self) -> None:
        """Merge the two oldest buckets of every over-full row into one bucket of the next row.

        The merged variance is river's ``v0 + v1 + size · 0.5 · (μ0 − μ1)²`` (as
        ``size * 0.5 * (mu0 - mu1) * (mu0 - mu1)``); in row 0 (size 1, v0 = v1 = 0) that is
        exactly ``0.5 * d * d`` with d the difference of the two values.
        """
        totals, variances, limit = self._totals, self._variances, self.max_buckets
        row0 = totals[0]
        end = (len(row0) - limit + 1) // 2 * 2
        older, newer = row0[0:end:2], row0[1:end:2]
        merged_t = [a + b for a, b in zip(older, newer, strict=True)]
        merged_v = [0.5 * (a - b) * (a - b) for a, b in zip(older, newer, strict=True)]
        del row0[:end]
        row = 1
        while True:
            if row == len(totals):
                totals.append([])
                variances.append([])
            row_t, row_v = totals[row], variances[row]
            row_t += merged_t
            row_v += merged_v
            if len(row_t) <= limit:
                return
            size = float(1 << row)
            half = size * 0.5
            end = (len(row_t) - limit + 1) // 2 * 2
            older, newer = row_t[0:end:2], row_t[1:end:2]
            merged_t = [a + b for a, b in zip(older, newer, strict=True)]
            merged_v = [
                va + vb + half * (a / size - b / size) * (a / size - b / size)
                for a, b, va, vb in zip(older, newer, row_v[0:end:2], row_v[1:end:2], strict=True)
            ]
            del row_t[:end], row_v[:end]
            row += 1

    def _cut_once(self) -> bool:
        """Scan the splits oldest to newest; on the first cut drop the oldest bucket.

        Same operations in the same order as river's ``detect_change``/``evaluate_cut``; the
        terms that do not depend on the split (δ', the window variance) are computed once per
        scan, which gives identical values.
        """
        width = self._width
        if width < 2.0:
            return False  # one value: no split to test (and ln(ln 1) is undefined)
        mwl = float(self.min_window_length)
        delta_prime = math.log(2.0 * math.log(width) / self.delta)
        variance = self._variance / width
        if not (variance > 0.0 and delta_prime > 0.0):
            return self._cut_once_signed(width, mwl, delta_prime, variance)
        # With both positive, river's ``2 * m * variance * delta_prime`` is never negative (no
        # sqrt of a negative to guard) and equals (m * (2 * variance)) * delta_prime exactly:
        # doubling is exact, so it may move.
        double_var = 2.0 * variance
        bias = 2.0 / 3.0 * delta_prime
        sqrt = math.sqrt
        # n0 - mwl + 1 and n1 - mwl + 1 are whole numbers, computed exactly either way.
        n0, n1, u0, u1 = 0.0, width, 0.0, self._total
        a0, a1 = 1.0 - mwl, width - mwl + 1.0
        totals = self._totals
        for row in range(len(totals) - 1, -1, -1):
            size = float(1 << row)
            buckets = totals[row] if row else totals[0][:-1]  # W1 keeps row 0's newest bucket
            for bucket_total in buckets:
                n0 += size
                n1 -= size
                a0 += size
                a1 -= size
                u0 += bucket_total
                u1 -= bucket_total
                if a1 < 1.0:
                    return False  # n1 < mwl here and for every newer split
                if a0 >= 1.0:
                    m_recip = 1.0 / a0 + 1.0 / a1
                    if abs((u0 / n0) - (u1 / n1)) > sqrt(m_recip * double_var * delta_prime) + (
                        bias * m_recip
                    ):
                        self._drop_oldest()
                        return True
        return False

    def _cut_once_signed(
        self, width: float, mwl: float, delta_prime: float, variance: float
    ) -> bool:
        """The scan with river's guard for a variance that rounding made zero or negative."""
        bias = 2.0 / 3.0 * delta_prime
        n0, n1, u0, u1 = 0.0, width, 0.0, self._total
        totals = self._totals
        for row in range(len(totals) - 1, -1, -1):
            size = float(1 << row)
            buckets = totals[row] if row else totals[0][:-1]
            for bucket_total in buckets:
                n0 += size
                n1 -= size
                u0 += bucket_total
                u1 -= bucket_total
                if n1 >= mwl and n0 >= mwl:
                    m_recip = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0)
                    spread = 2.0 * m_recip * variance * delta_prime
                    # A negative spread makes river's sqrt NaN: no cut there.
                    if spread >= 0.0 and abs((u0 / n0) - (u1 / n1)) > math.sqrt(spread) + (
                        bias * m_recip
                    ):
                        self._drop_oldest()
                        return True
        return False

    def _drop_oldest(self) -> None:
        totals, variances = self._totals, self._variances
        row = len(totals) - 1
        size = float(1 << row)
        u = totals[row].pop(0)
        v = variances[row].pop(0) if row else 0.0
        mu = u / size
        self._width -= size
        self._total -= u
        mu_window = self._total / self._width
        self._variance -= v + size * self._width * (mu - mu_window) * (mu - mu_window) / (
            size + self._width
        )
        if not totals[row] and row > 0:
            totals.pop()
            variances.pop()
