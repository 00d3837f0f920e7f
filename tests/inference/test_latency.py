import time

import numpy as np
import pytest

from labkit.inference.latency import latency_summary, measure_latency, measure_stages
from labkit.inference.pipeline import Pipeline
from labkit.inference.sweep import SweepPoint, batch_size_sweep, best_under_slo, knee
from labkit.timing import Measurement


def test_summary_percentiles_match_numpy():
    times = np.random.default_rng(0).lognormal(-7, 1, size=999)
    report = latency_summary(times, batch_size=4, label="x")
    for q, value in ((50, report.p50), (90, report.p90), (95, report.p95), (99, report.p99)):
        assert value == pytest.approx(np.percentile(times, q), rel=1e-12)
    assert report.mean == pytest.approx(times.mean())
    assert report.throughput_per_s == pytest.approx(4 / times.mean())
    assert set(report.to_dict()) >= {"p50_s", "p99_s", "throughput_per_s", "batch_size"}


def test_summary_rejects_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        latency_summary([0.1], batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        latency_summary([])


def test_measure_latency_times_the_call():
    report = measure_latency(time.sleep, 0.002, warmup=1, repeat=5)
    assert len(report.times) == 5
    assert report.p50 >= 0.002


def test_stage_breakdown_times_each_stage_on_its_real_input():
    seen = []

    def pre(x):
        time.sleep(0.004)
        return x + 1

    def model(x):
        seen.append(x)
        time.sleep(0.001)
        return x * 2

    breakdown = measure_stages(Pipeline((("pre", pre), ("model", model))), 1, warmup=1, repeat=5)
    assert seen and set(seen) == {2}  # the model stage always got the preprocessed input
    stages = dict(breakdown.stages)
    # sleeps give lower bounds that hold however loaded the machine is
    assert stages["pre"].min >= 0.004 and stages["model"].min >= 0.001
    assert breakdown.total.min >= 0.005
    assert set(breakdown.shares()) == {"pre", "model"}
    assert "end-to-end" in breakdown.table()


def _point(b, seconds):
    return SweepPoint(b, Measurement((seconds,) * 3))


def test_knee_is_where_throughput_stops_rising():
    # throughput: 1000, 1900, 3600, 3800, 3900 items/s
    points = [
        _point(1, 1e-3),
        _point(2, 2 / 1900),
        _point(4, 4 / 3600),
        _point(8, 8 / 3800),
        _point(16, 16 / 3900),
    ]
    assert knee(points).batch_size == 4
    assert knee(points, min_gain=0.03).batch_size == 8
    assert knee(points[:2]).batch_size == 2


def test_best_under_slo():
    points = [_point(1, 1e-3), _point(8, 4e-3), _point(64, 20e-3)]
    assert best_under_slo(points, 5e-3).batch_size == 8
    assert best_under_slo(points, 1e-4) is None


def test_sweep_measures_each_size():
    points = batch_size_sweep(lambda x: x.sum(), lambda b: np.ones((b, 8)), (4, 1, 4), repeat=3)
    assert [p.batch_size for p in points] == [1, 4]
    with pytest.raises(ValueError, match=r"batch_sizes\[0\] must be an integer >= 1, got 0"):
        batch_size_sweep(len, list, (0,))
    with pytest.raises(TypeError, match=r"batch_sizes\[1\] must be an integer >= 1, got True"):
        batch_size_sweep(len, list, (1, True))
    with pytest.raises(ValueError, match="at least one"):
        batch_size_sweep(len, list, ())
