"""Evaluating streaming detectors on synthetic streams with known change points.

A detector is judged on three numbers, never on one: **detection delay** (samples from the
change to the alarm), **missed drifts** (changes with no alarm within ``max_delay``) and
**false alarms per 10,000 samples**. A detector that alarms on every sample has zero delay and
misses nothing, so F1-style scores are reported beside :class:`AlwaysAlarm`, the baseline any
real detector has to beat.

Scoring rule: for each change point c, the first alarm in [c, min(c + max_delay, next change))
is a detection with delay t − c; every other alarm is a false alarm.

Examples
--------
>>> from labkit.drift.page_hinkley import PageHinkley
>>> stream = mean_shift_stream(n=4000, change_points=(2000,), shift=2.0, seed=0)
>>> score = evaluate_detector(PageHinkley, [stream], max_delay=500)
>>> score.n_missed, score.mean_delay < 100
(0, True)
>>> evaluate_detector(AlwaysAlarm, [stream], max_delay=500).false_alarms_per_10k > 9000
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from labkit._validate import check_choice, check_int, check_real
from labkit.drift.base import DriftDetector, WarningMixin

__all__ = [
    "AlwaysAlarm",
    "DetectionScore",
    "Detections",
    "Stream",
    "detect",
    "error_stream",
    "evaluate_detector",
    "mean_shift_stream",
    "score_detections",
]


@dataclass(frozen=True)
class Stream:
    """A synthetic stream and the indices where its distribution changes."""

    values: np.ndarray
    change_points: tuple[int, ...]
    kind: str = "abrupt"

    def __len__(self) -> int:
        return int(self.values.size)


def _concept_index(
    n: int, change_points: Sequence[int], kind: str, width: int, rng: Any
) -> np.ndarray:
    """Which concept (0, 1, 2, ...) each sample is drawn from.

    Gradual drift: inside ``width`` samples after a change, the new concept is drawn with a
    probability that rises linearly from 0 to 1 (old and new concepts interleave).
    """
    t = np.arange(n)
    concept = np.zeros(n, dtype=np.int64)
    for c in change_points:
        if kind == "abrupt":
            concept += t >= c
        else:
            share = np.clip((t - c) / width, 0.0, 1.0)
            concept += rng.random(n) < share
    return concept


def _validate(
    n: int, change_points: Iterable[int], kind: str, width: int
) -> tuple[int, tuple[int, ...], str, int]:
    n = check_int(n, "n", min_val=2)
    cps = tuple(check_int(c, "change_points[i]", min_val=1, max_val=n - 1) for c in change_points)
    if list(cps) != sorted(set(cps)):
        raise ValueError(f"change_points must be strictly increasing, got {cps}")
    kind = check_choice(kind, "kind", ("abrupt", "gradual"))
    width = check_int(width, "width", min_val=1)
    return n, cps, kind, width


def mean_shift_stream(
    n: int = 10_000,
    change_points: Iterable[int] = (5_000,),
    shift: float = 1.0,
    noise: float = 1.0,
    kind: str = "abrupt",
    width: int = 500,
    seed: int | None = None,
) -> Stream:
    """Gaussian values whose mean rises by ``shift`` at every change point (for ADWIN, PH)."""
    n, cps, kind, width = _validate(n, change_points, kind, width)
    shift = check_real(shift, "shift")
    noise = check_real(noise, "noise", min_val=0.0)
    rng = np.random.default_rng(seed)
    concept = _concept_index(n, cps, kind, width, rng)
    return Stream(shift * concept + noise * rng.standard_normal(n), cps, kind)


def error_stream(
    n: int = 10_000,
    change_points: Iterable[int] = (5_000,),
    error_rates: Sequence[float] = (0.1, 0.3),
    kind: str = "abrupt",
    width: int = 500,
    seed: int | None = None,
) -> Stream:
    """0/1 model errors whose rate steps through ``error_rates`` (for DDM, EDDM)."""
    n, cps, kind, width = _validate(n, change_points, kind, width)
    rates = np.array(
        [check_real(r, "error_rates[i]", min_val=0.0, max_val=1.0) for r in error_rates]
    )
    if rates.size != len(cps) + 1:
        raise ValueError(
            f"error_rates needs one rate per segment: {len(cps) + 1} for {len(cps)} change "
            f"point(s), got {rates.size}"
        )
    rng = np.random.default_rng(seed)
    concept = _concept_index(n, cps, kind, width, rng)
    return Stream((rng.random(n) < rates[concept]).astype(np.int64), cps, kind)


@dataclass(frozen=True)
class Detections:
    """Indices where a detector flagged drift and (if it has them) warnings."""

    drifts: tuple[int, ...]
    warnings: tuple[int, ...] = ()


def detect(detector: DriftDetector, values: Iterable[Any]) -> Detections:
    """Run ``detector`` over ``values``; collect the indices of drifts and warnings.

    Warnings are collected from detectors that have them (:class:`~labkit.drift.base.WarningMixin`).
    """
    drifts, warnings = [], []
    has_warning = isinstance(detector, WarningMixin)
    for i, v in enumerate(values.tolist() if isinstance(values, np.ndarray) else values):
        detector.update(v)
        if detector.drift_detected:
            drifts.append(i)
        if has_warning and detector.warning_detected:
            warnings.append(i)
    return Detections(tuple(drifts), tuple(warnings))


class AlwaysAlarm(DriftDetector):
    """Baseline that flags drift on every sample: zero delay, nothing missed, useless."""

    def update(self, x: Any) -> AlwaysAlarm:
        self._drift_detected = True
        return self


@dataclass(frozen=True)
class DetectionScore:
    """Delay, misses and false alarms of a detector over one or more streams.

    ``mean_delay`` is NaN when nothing was detected. ``precision`` = detections / alarms,
    ``recall`` = detections / changes, ``f1`` their harmonic mean.
    """

    n_samples: int
    n_changes: int
    n_detected: int
    n_missed: int
    false_alarms: int
    delays: tuple[int, ...]
    mean_delay: float
    false_alarms_per_10k: float
    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_detections(
    drifts: Iterable[int], change_points: Iterable[int], n_samples: int, max_delay: int
) -> DetectionScore:
    """Score alarm indices against known change points (rule in the module docstring)."""
    n_samples = check_int(n_samples, "n_samples", min_val=1)
    max_delay = check_int(max_delay, "max_delay", min_val=1)
    alarms = sorted(int(d) for d in drifts)
    cps = sorted(int(c) for c in change_points)
    matched: set[int] = set()
    delays = []
    for j, c in enumerate(cps):
        end = min(c + max_delay, cps[j + 1] if j + 1 < len(cps) else n_samples)
        hit = next((a for a in alarms if c <= a < end), None)
        if hit is not None:
            matched.add(hit)
            delays.append(hit - c)
    false_alarms = len(alarms) - len(matched)
    return _summarize(n_samples, len(cps), tuple(delays), false_alarms, len(alarms))


def _summarize(
    n: int, changes: int, delays: tuple[int, ...], false_alarms: int, alarms: int
) -> DetectionScore:
    detected = len(delays)
    precision = detected / alarms if alarms else float("nan")
    recall = detected / changes if changes else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if detected else 0.0
    return DetectionScore(
        n_samples=n,
        n_changes=changes,
        n_detected=detected,
        n_missed=changes - detected,
        false_alarms=false_alarms,
        delays=delays,
        mean_delay=float(np.mean(delays)) if delays else float("nan"),
        false_alarms_per_10k=1e4 * false_alarms / n,
        precision=precision,
        recall=recall,
        f1=f1,
    )


def evaluate_detector(
    make_detector: Callable[[], DriftDetector], streams: Iterable[Stream], max_delay: int = 1000
) -> DetectionScore:
    """Run a fresh detector (``make_detector()``) on each stream and pool the scores."""
    n = changes = false_alarms = alarms = 0
    delays: list[int] = []
    for stream in streams:
        found = detect(make_detector(), stream.values).drifts
        s = score_detections(found, stream.change_points, len(stream), max_delay)
        n += s.n_samples
        changes += s.n_changes
        false_alarms += s.false_alarms
        alarms += len(found)
        delays += s.delays
    if n == 0:
        raise ValueError("streams is empty; give at least one Stream")
    return _summarize(n, changes, tuple(delays), false_alarms, alarms)
