"""The timing demonstration: what each method measures, checked with deterministic bounds."""

import time

import pytest
import torch

from labkit.training import compare_timing_methods, cuda_event_time, time_without_sync


def test_first_call_includes_one_off_cost():
    calls = []

    def fn():
        calls.append(1)
        time.sleep(0.05 if len(calls) == 1 else 0.001)

    cmp = compare_timing_methods(fn, device="cpu", repeat=5)
    assert cmp.first_call_s >= 0.05  # the cold call slept 50 ms: a lower bound, not a timing
    assert len(cmp.synchronized.times) == 5 and cmp.synchronized.median >= 0.001
    assert len(calls) == 1 + 2 + 1 + 1 + 5  # cold, 2 warm-ups, no-sync, benchmark warm-up, timed
    assert set(cmp.to_dict()) == {"device", "first_call_s", "no_sync_s", "synchronized_median_s"}
    assert "median" in repr(cmp)


def test_time_without_sync_returns_seconds():
    assert time_without_sync(time.sleep, 0.01) >= 0.01


@pytest.mark.skipif(torch.cuda.is_available(), reason="CPU-only behaviour")
def test_cuda_events_explain_themselves_on_cpu():
    with pytest.raises(RuntimeError, match=r"labkit\.timing\.benchmark"):
        cuda_event_time(lambda: None)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_events_agree_with_synchronized_timing():
    a = torch.randn(4096, 4096, device="cuda")
    cmp = compare_timing_methods(torch.matmul, a, a, device="cuda", repeat=10)
    events = cuda_event_time(torch.matmul, a, a, repeat=10)
    assert events == pytest.approx(cmp.synchronized.median, rel=0.5)
    assert cmp.no_sync_s < cmp.synchronized.median  # only the launch was timed
