"""Page–Hinkley test (Page 1954), matching river 0.26.1's ``drift.PageHinkley`` exactly.

A CUSUM on the deviations from the running mean: with x̄ₜ the mean of x₁..xₜ (including xₜ),

    Uₜ = alpha · Uₜ₋₁ + (xₜ − x̄ₜ) − delta     (increase)
    Lₜ = alpha · Lₜ₋₁ + (xₜ − x̄ₜ) + delta     (decrease)

and drift when Uₜ − min U > ``threshold`` (mode "up"), max L − Lₜ > ``threshold`` ("down") or
either ("both"), once ``min_instances`` values have been seen. ``alpha`` < 1 slowly forgets
old deviations; ``delta`` is the change magnitude tolerated without alarm. It watches any real
signal: a feature, a model score, a loss, a latency.
"""

from __future__ import annotations

import math
from typing import Any

from labkit._validate import check_choice, check_int, check_real
from labkit.drift.base import DriftDetector, real_value

__all__ = ["PageHinkley"]


class PageHinkley(DriftDetector):
    """Page–Hinkley change detector for a stream of real numbers.

    Parameters
    ----------
    min_instances
        Values to see before any detection.
    delta
        Tolerated change per value (>= 0).
    threshold
        Detection threshold lambda (> 0), in units of the cumulative deviation.
    alpha
        Forgetting factor in (0, 1].
    mode
        ``"up"`` (increases only), ``"down"`` (decreases only) or ``"both"``.

    Examples
    --------
    >>> import random
    >>> rng = random.Random(12345)
    >>> stream = rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)
    >>> ph = PageHinkley()
    >>> [i for i, v in enumerate(stream) if ph.update(v).drift_detected]
    [1006]
    >>> ph.clone({"mode": "down"})
    PageHinkley(min_instances=30, delta=0.005, threshold=50.0, alpha=0.9999, mode='down')
    """

    def __init__(
        self,
        min_instances: int = 30,
        delta: float = 0.005,
        threshold: float = 50.0,
        alpha: float = 1 - 0.0001,
        mode: str = "both",
    ) -> None:
        self.min_instances = check_int(min_instances, "min_instances", min_val=0)
        self.delta = check_real(delta, "delta", min_val=0.0)
        self.threshold = check_real(threshold, "threshold", min_val=0.0, include_boundaries="right")
        self.alpha = check_real(
            alpha, "alpha", min_val=0.0, max_val=1.0, include_boundaries="right"
        )
        self.mode = check_choice(mode, "mode", ("up", "down", "both"))
        self._reset()

    def _reset(self) -> None:
        super()._reset()
        self._n = 0.0
        self._mean = 0.0
        self._sum_increase = 0.0
        self._sum_decrease = 0.0
        self._min_increase = math.inf
        self._max_decrease = -1.0

    def update(self, x: Any) -> PageHinkley:
        """Add one value and test for a change in its mean."""
        value = x if type(x) is float and x - x == 0.0 else real_value(x, "PageHinkley")
        if self._drift_detected:
            self._reset()
        self._n += 1.0
        self._mean += (1.0 / self._n) * (value - self._mean)
        dev = value - self._mean
        self._sum_increase = self.alpha * self._sum_increase + dev - self.delta
        self._sum_decrease = self.alpha * self._sum_decrease + dev + self.delta
        if self._sum_increase < self._min_increase:
            self._min_increase = self._sum_increase
        if self._sum_decrease > self._max_decrease:
            self._max_decrease = self._sum_decrease
        if self._n >= self.min_instances:
            up = self._sum_increase - self._min_increase > self.threshold
            down = self._max_decrease - self._sum_decrease > self.threshold
            mode = self.mode
            self._drift_detected = up if mode == "up" else down if mode == "down" else (up or down)
        return self
