"""Result types of the drift tests and batch detectors: :class:`TestResult` and :class:`DriftResult`.

Both are frozen dataclasses of plain Python numbers (whatever array library the inputs came
from), print readably, and turn into JSON-ready dicts with ``to_dict()``. A p-value always
travels with an effect size: on large samples a test flags shifts too small to matter, and the
effect size is what tells the two apart.

Examples
--------
>>> r = TestResult(statistic=0.25, p_value=0.003, effect_size=0.25, effect_name="D",
...                method="ks_2samp", n_ref=200, n=200)
>>> statistic, p_value = r
>>> r.significant(0.01)
True
>>> r.to_dict()["effect_name"]
'D'
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["DriftResult", "TestResult"]


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e4):
        return f"{value:.3e}"
    return f"{value:.4g}"


@dataclass(frozen=True)
class TestResult:
    """Outcome of one two-sample test.

    Attributes
    ----------
    statistic
        The test statistic (KS D, chi-square, MMD², AUC, ...).
    p_value
        Probability, under "no drift", of a statistic at least this extreme.
    effect_size
        How large the difference is, independent of sample size (KS: D; chi-square: Cramér's V;
        MMD: the MMD itself, ``sqrt(max(MMD², 0))``; classifier: AUC − 0.5).
    effect_name
        What ``effect_size`` measures.
    method
        Which test produced the result.
    n_ref, n
        Sizes of the reference and the current sample.

    Unpacks like SciPy's results: ``statistic, p_value = result``.
    """

    __test__ = False  # a name pytest would otherwise try to collect as a test class

    statistic: float
    p_value: float
    effect_size: float = math.nan
    effect_name: str = ""
    method: str = ""
    n_ref: int = 0
    n: int = 0

    def __iter__(self) -> Iterator[float]:
        return iter((self.statistic, self.p_value))

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether ``p_value < alpha``."""
        return bool(self.p_value < alpha)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __repr__(self) -> str:
        effect = f", {self.effect_name}={_fmt(self.effect_size)}" if self.effect_name else ""
        return (
            f"TestResult({self.method or 'test'}: statistic={_fmt(self.statistic)}, "
            f"p_value={_fmt(self.p_value)}{effect}, n_ref={self.n_ref}, n={self.n})"
        )


@dataclass(frozen=True)
class DriftResult:
    """Verdict of a batch drift detector on one batch of current data.

    Attributes
    ----------
    is_drift
        Whether the detector flags drift (``p_value`` below ``threshold`` for a single test; for
        per-feature tests, any feature flagged after the multiple-testing correction).
    p_value
        The test's p-value; for per-feature tests the smallest per-feature p-value.
    distance
        The test's statistic; for per-feature tests the largest per-feature statistic.
    threshold
        The p-value below which drift is flagged, after correction (Bonferroni: ``p_val / d``;
        FDR: the Benjamini–Hochberg cut-off).
    method
        Which detector produced the result.
    correction
        ``"bonferroni"``, ``"fdr"`` or ``"none"`` for single tests.
    feature_p_values, feature_distances, feature_drift
        Per-feature p-values, statistics and flags (empty for multivariate tests).
    effect_size, effect_name
        Effect size of the (worst) difference and what it measures.
    n_ref, n
        Sizes of the reference and the current sample.
    """

    is_drift: bool
    p_value: float
    distance: float
    threshold: float
    method: str = ""
    correction: str = "none"
    feature_p_values: tuple[float, ...] = ()
    feature_distances: tuple[float, ...] = ()
    feature_drift: tuple[bool, ...] = ()
    effect_size: float = math.nan
    effect_name: str = ""
    n_ref: int = 0
    n: int = 0

    @classmethod
    def from_test(cls, test: TestResult, threshold: float, method: str) -> DriftResult:
        """The verdict of one (multivariate) test: drift when its p-value is below ``threshold``."""
        return cls(
            is_drift=test.p_value < threshold,
            p_value=test.p_value,
            distance=test.statistic,
            threshold=threshold,
            method=method,
            effect_size=test.effect_size,
            effect_name=test.effect_name,
            n_ref=test.n_ref,
            n=test.n,
        )

    @property
    def n_features_drifted(self) -> int:
        """How many features are flagged (0 for multivariate tests)."""
        return sum(self.feature_drift)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("feature_p_values", "feature_distances", "feature_drift"):
            out[key] = list(out[key])
        return out

    def __repr__(self) -> str:
        verdict = "DRIFT" if self.is_drift else "no drift"
        per_feature = ""
        if self.feature_drift:
            per_feature = f", {self.n_features_drifted}/{len(self.feature_drift)} features"
        effect = f", {self.effect_name}={_fmt(self.effect_size)}" if self.effect_name else ""
        return (
            f"DriftResult({self.method or 'detector'}: {verdict}{per_feature}, "
            f"p_value={_fmt(self.p_value)} vs threshold={_fmt(self.threshold)}, "
            f"distance={_fmt(self.distance)}{effect}, n_ref={self.n_ref}, n={self.n})"
        )
