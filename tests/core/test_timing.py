"""labkit.timing: percentiles against NumPy, warm-up and synchronization behaviour."""

import statistics

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit import timing
from labkit.timing import Measurement, benchmark, format_seconds

times_strategy = st.lists(
    st.floats(min_value=0, max_value=10, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=200,
)


@settings(max_examples=100, deadline=None)
@given(times=times_strategy, q=st.floats(min_value=0, max_value=100))
def test_percentiles_match_numpy(times, q):
    m = Measurement(times=tuple(times))
    assert m.percentile(q) == pytest.approx(np.percentile(times, q), rel=1e-9, abs=1e-12)
    assert m.median == pytest.approx(np.median(times), rel=1e-9, abs=1e-12)
    assert m.p99 == pytest.approx(np.percentile(times, 99), rel=1e-9, abs=1e-12)
    iqr = np.percentile(times, 75) - np.percentile(times, 25)
    assert m.iqr == pytest.approx(iqr, rel=1e-9, abs=1e-12)
    assert m.mean == pytest.approx(statistics.fmean(times), rel=1e-9, abs=1e-12)


def test_hand_computed_values():
    m = Measurement(times=(4.0, 1.0, 3.0, 2.0))
    assert (m.median, m.p90, m.min) == (2.5, pytest.approx(3.7), 1.0)
    assert m.to_dict()["median_s"] == 2.5


def test_noisy_measurement_warns_in_repr():
    quiet = Measurement(times=(1e-3,) * 10, label="quiet")
    noisy = Measurement(times=(1e-3, 1e-3, 1e-3, 5e-3, 5e-3, 5e-3), label="noisy")
    assert not quiet.noisy and "WARNING" not in repr(quiet)
    assert noisy.noisy and "WARNING: noisy" in repr(noisy)
    assert "1 ms" in repr(quiet)


@pytest.mark.parametrize(
    ("seconds", "text"), [(2.0, "2 s"), (0.0123, "12.3 ms"), (2.5e-5, "25 us"), (3e-9, "3 ns")]
)
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_bad_measurements_are_rejected():
    with pytest.raises(ValueError, match="empty"):
        Measurement(times=())
    with pytest.raises(ValueError, match="finite"):
        Measurement(times=(float("nan"),))
    with pytest.raises(ValueError, match=r"q must be a finite real number in \[0, 100\], got 101"):
        Measurement(times=(1.0,)).percentile(101)


def test_benchmark_warms_up_then_times_each_call():
    calls = []

    def fn(x, scale=1):
        calls.append((x, scale))

    m = benchmark(fn, 3, scale=2, warmup=4, repeat=7)
    assert len(calls) == 11 and set(calls) == {(3, 2)}
    assert len(m.times) == 7 and m.label == "fn" and m.device == "cpu"


def test_warmup_keeps_first_call_costs_out():
    state = {"n": 0}

    def slow_first():
        state["n"] += 1
        if state["n"] == 1:
            import time

            time.sleep(0.05)

    assert benchmark(slow_first, warmup=1, repeat=5).percentile(100) < 0.05


@pytest.mark.parametrize(("kw", "match"), [({"warmup": -1}, "warmup"), ({"repeat": 0}, "repeat")])
def test_benchmark_validates_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        benchmark(lambda: None, **kw)
    with pytest.raises(TypeError, match="callable"):
        benchmark(42)


def test_benchmark_takes_numpy_counts_and_refuses_bool():
    m = benchmark(lambda: None, warmup=np.int64(0), repeat=np.int32(3))
    assert len(m.times) == 3
    with pytest.raises(TypeError, match=r"repeat must be an integer >= 1, got True \(bool\)"):
        benchmark(lambda: None, repeat=True)
    with pytest.raises(TypeError, match=r"warmup must be an integer >= 0, got 1\.0"):
        benchmark(lambda: None, warmup=1.0)


def test_cpu_work_is_not_synchronized(monkeypatch):
    seen = []
    monkeypatch.setattr(timing, "synchronize", lambda d: seen.append(d))
    benchmark(torch.add, torch.ones(2), torch.ones(2), warmup=1, repeat=2)
    assert seen and all(d is None for d in seen)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_work_is_synchronized_around_every_call(monkeypatch):
    seen = []
    real = timing.synchronize
    monkeypatch.setattr(timing, "synchronize", lambda d: (seen.append(d), real(d)))
    a = torch.randn(512, 512, device="cuda")
    m = benchmark(torch.matmul, a, a, warmup=1, repeat=5)
    assert m.device.startswith("cuda")
    assert len([d for d in seen if d is not None]) == 1 + 2 * 5
