"""DDM and EDDM: drift detectors for a stream of prediction errors (1 = wrong, 0 = right).

Both watch a model's mistakes, so they detect *concept* drift (or any drift that hurts the
model) and need labels. Each matches river 0.26.1 (``river.drift.binary``) warning for warning
and drift for drift, with the same running-mean arithmetic (checked against river in
``tests/drift/test_streaming_river.py``).

* DDM (Gama et al. 2004): p = running error rate, s = sqrt(p(1 − p) / n). After ``warm_start``
  values it remembers the (p, s) where p + s was smallest; warning when
  p + s > p_min + ``warning_threshold`` · s_min, drift when p + s > p_min + ``drift_threshold`` · s_min.
* EDDM (Baena-García et al. 2006): tracks the distance between consecutive errors, its mean
  p' and standard deviation s' (ddof = 1), and the largest p' + 2s' so far. Once more than
  ``warm_start`` errors have been seen, drift when (p' + 2s') / max < ``beta``, warning below
  ``alpha``. Errors that come closer together are what it reacts to, so gradual drift shows
  earlier than in DDM, at the price of more false alarms.
"""

from __future__ import annotations

import math
from typing import Any

from labkit._validate import check_int, check_real
from labkit.drift.base import BinaryDriftDetector, WarningMixin

__all__ = ["DDM", "EDDM"]


class DDM(WarningMixin, BinaryDriftDetector):
    """Drift Detection Method on a 0/1 error stream.

    Parameters
    ----------
    warm_start
        Values to see before any warning or drift.
    warning_threshold, drift_threshold
        Warning (drift) when p + s exceeds p_min + threshold · s_min; the defaults 2 and 3
        correspond to roughly 95 % and 99 % confidence.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(42)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])
    >>> ddm = DDM()
    >>> [i for i, e in enumerate(stream) if ddm.update(e).drift_detected]
    [1334]
    >>> ddm
    DDM(warm_start=30, warning_threshold=2.0, drift_threshold=3.0)
    """

    def __init__(
        self, warm_start: int = 30, warning_threshold: float = 2.0, drift_threshold: float = 3.0
    ) -> None:
        self.warm_start = check_int(warm_start, "warm_start", min_val=0)
        self.warning_threshold = check_real(warning_threshold, "warning_threshold", min_val=0.0)
        self.drift_threshold = check_real(drift_threshold, "drift_threshold", min_val=0.0)
        self._reset()

    def _reset(self) -> None:
        super()._reset()
        self._n = 0.0
        self._p = 0.0
        self._p_min = math.inf
        self._s_min = math.inf
        self._ps_min = math.inf

    @property
    def error_rate(self) -> float:
        """Running error rate p since the last reset."""
        return self._p

    def update(self, x: Any) -> DDM:
        """Feed one outcome: 1 (or True) for an error, 0 for a correct prediction."""
        error = x if type(x) is int and (x == 0 or x == 1) else self._binary(x)
        if self._drift_detected:
            self._reset()
        # Same running-mean update as river.stats.Mean, so p is bit-identical.
        self._n += 1.0
        self._p += (1.0 / self._n) * (error - self._p)
        p, n = self._p, self._n
        s = math.sqrt(p * (1 - p) / n)
        if n > self.warm_start:
            if p + s <= self._ps_min:
                self._p_min, self._s_min = p, s
                self._ps_min = p + s
            self._warning_detected = p + s > self._p_min + self.warning_threshold * self._s_min
            if p + s > self._p_min + self.drift_threshold * self._s_min:
                self._drift_detected = True
                self._warning_detected = False
        return self


class EDDM(WarningMixin, BinaryDriftDetector):
    """Early Drift Detection Method on a 0/1 error stream.

    Parameters
    ----------
    warm_start
        Errors (and values) to see before any warning or drift.
    alpha
        Warning when the distance statistic falls below ``alpha`` times its maximum.
    beta
        Drift when it falls below ``beta`` times its maximum; 0 < beta <= alpha <= 1.

    ``warning_detected`` stays set until an error lifts the statistic above ``alpha`` again.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(0)
    >>> before = rng.choices([0, 1], k=1000, weights=[0.97, 0.03])      # 3 % errors
    >>> after = rng.choices([0, 1], k=1000, weights=[0.7, 0.3])         # 30 % from index 1000
    >>> eddm = EDDM()
    >>> drifts = [i for i, e in enumerate(before + after) if eddm.update(e).drift_detected]
    >>> drifts[:3]
    [1002, 1078, 1186]
    """

    def __init__(self, warm_start: int = 30, alpha: float = 0.95, beta: float = 0.9) -> None:
        self.warm_start = check_int(warm_start, "warm_start", min_val=0)
        self.alpha = check_real(
            alpha, "alpha", min_val=0.0, max_val=1.0, include_boundaries="right"
        )
        self.beta = check_real(beta, "beta", min_val=0.0, max_val=1.0, include_boundaries="right")
        if self.beta > self.alpha:
            raise ValueError(
                f"beta (drift level, {beta!r}) must be <= alpha (warning level, {alpha!r})"
            )
        self._reset()

    def _reset(self) -> None:
        super()._reset()
        self._n = 0
        self._last_error = 0
        self._n_errors = 0
        # Welford running mean and sum of squares of the gaps between errors (river.stats.Var).
        self._count = 0.0
        self._mean = 0.0
        self._ssd = 0.0
        self._p2s_max = -1.0

    def update(self, x: Any) -> EDDM:
        """Feed one outcome: 1 (or True) for an error, 0 for a correct prediction."""
        error = x if type(x) is int and (x == 0 or x == 1) else self._binary(x)
        if self._drift_detected:
            self._reset()
        self._n += 1
        if error:
            self._n_errors += 1
            gap = self._n - self._last_error
            old_mean = self._mean
            self._count += 1.0
            self._mean += (1.0 / self._count) * (gap - self._mean)
            self._ssd += (gap - old_mean) * (gap - self._mean)
            if self._n > self.warm_start:
                var = self._ssd / (self._count - 1) if self._count > 1 else 0.0
                p2s = self._mean + 2 * var**0.5
                if p2s > self._p2s_max:
                    self._p2s_max = p2s
                elif self._n_errors > self.warm_start:
                    level = p2s / self._p2s_max
                    if level < self.beta:
                        self._drift_detected = True
                    elif level < self.alpha:
                        self._warning_detected = True
                    else:
                        self._warning_detected = False
            self._last_error = self._n
        return self
