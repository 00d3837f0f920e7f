"""Detector evaluation: scoring rule, baseline, synthetic streams."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.drift import (
    ADWIN,
    DDM,
    AlwaysAlarm,
    PageHinkley,
    detect,
    error_stream,
    evaluate_detector,
    mean_shift_stream,
    score_detections,
)


def test_scoring_rule_by_hand():
    s = score_detections(
        [50, 1010, 1030, 2600, 2990], [1000, 2000, 3000], n_samples=4000, max_delay=500
    )
    # 1010 detects 1000 (delay 10); 1030 is a duplicate -> false alarm; 2000 missed (2600 is
    # past 2000 + 500); 2990 < 3000 is early -> false alarm; 3000 missed; 50 false alarm.
    assert s.delays == (10,)
    assert (s.n_detected, s.n_missed, s.false_alarms) == (1, 2, 4)
    assert s.false_alarms_per_10k == pytest.approx(1e4 * 4 / 4000)
    assert s.precision == pytest.approx(1 / 5) and s.recall == pytest.approx(1 / 3)


def test_window_ends_at_next_change_point():
    s = score_detections([1150], [1000, 1100], n_samples=2000, max_delay=500)
    assert s.delays == (50,) and s.n_missed == 1


def test_always_alarm_baseline():
    stream = error_stream(n=5000, change_points=(2500,), seed=0)
    s = evaluate_detector(AlwaysAlarm, [stream], max_delay=100)
    assert s.delays == (0,) and s.n_missed == 0
    assert s.false_alarms_per_10k == pytest.approx(1e4 * 4999 / 5000)
    assert s.f1 < 0.001


def test_streams_change_where_they_say():
    abrupt = mean_shift_stream(n=20_000, change_points=(10_000,), shift=3.0, noise=0.5, seed=1)
    assert (
        abs(abrupt.values[:10_000].mean()) < 0.05 and abs(abrupt.values[10_000:].mean() - 3) < 0.05
    )
    gradual = mean_shift_stream(
        n=20_000, change_points=(10_000,), shift=3.0, noise=0.0, kind="gradual", width=2000, seed=1
    )
    share = gradual.values[10_000:12_000] / 3.0
    assert 0.4 < share.mean() < 0.6 and share[:500].mean() < share[-500:].mean()
    errors = error_stream(
        n=20_000, change_points=(5_000, 15_000), error_rates=(0.1, 0.4, 0.2), seed=2
    )
    assert abs(errors.values[5_000:15_000].mean() - 0.4) < 0.02


def test_detectors_find_abrupt_changes_with_few_false_alarms():
    streams = [
        mean_shift_stream(n=10_000, change_points=(5_000,), shift=1.0, seed=s) for s in range(5)
    ]
    adwin = evaluate_detector(ADWIN, streams, max_delay=1000)
    assert adwin.n_missed == 0 and adwin.false_alarms_per_10k < 1
    ph = evaluate_detector(lambda: PageHinkley(threshold=30.0), streams, max_delay=1000)
    assert ph.n_missed == 0
    bits = [
        error_stream(n=10_000, change_points=(5_000,), error_rates=(0.1, 0.3), seed=s)
        for s in range(5)
    ]
    ddm = evaluate_detector(DDM, bits, max_delay=1000)
    assert ddm.n_missed == 0 and ddm.mean_delay < 600


def test_detect_collects_warnings():
    stream = error_stream(n=4000, change_points=(2000,), error_rates=(0.05, 0.5), seed=3)
    found = detect(DDM(), stream.values)
    assert (
        found.drifts
        and found.warnings
        and min(found.warnings) < min(d for d in found.drifts if d >= 2000)
    )
    assert detect(ADWIN(), np.zeros(100)).warnings == ()
