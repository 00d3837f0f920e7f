"""Peak-memory tracking against hand-computed byte counts, and OOM back-off."""

import pytest
import torch
from torch.nn import functional as F

from labkit.training import (
    MLP,
    LiveTensorTracker,
    SimulatedOutOfMemoryError,
    find_max_batch_size,
    format_bytes,
    measure_peak_memory,
)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_tracker_counts_new_storages_only():
    x = torch.zeros(1000)  # allocated before the tracker: not counted
    with LiveTensorTracker() as t:
        a = x + 1  # 4000 B
        v = a[10:20].view(2, 5)  # view: no new storage
        a.mul_(2)  # in place: no new storage
        b = torch.empty(500, dtype=torch.float64)  # 4000 B
        assert t.live_bytes == 8000
        del a, v
        assert t.live_bytes == 4000
        c = b.clone()  # 4000 B, peak back at 8000
        del b, c
    assert t.peak_bytes == 8000 and t.live_bytes == 0


def test_budget_raises_a_catchable_cuda_style_oom():
    with pytest.raises(torch.cuda.OutOfMemoryError) as info, LiveTensorTracker(budget_bytes=10_000):
        keep = [torch.ones(1000) for _ in range(3)]  # 4000 B each: the third exceeds
        del keep
    assert isinstance(info.value, SimulatedOutOfMemoryError)
    assert "budget" in str(info.value)
    with pytest.raises(ValueError, match="budget_bytes"):
        LiveTensorTracker(budget_bytes=-1)


def test_measure_peak_memory_of_a_known_sequence():
    def work():
        a = torch.ones(256, 256)  # 256 KiB
        b = a @ a  # +256 KiB
        return (b.sum(),)  # scalar kept

    peak = measure_peak_memory(work, device="cpu")
    assert peak.peak_bytes == 2 * 256 * 256 * 4 + 4 or peak.peak_bytes == 2 * 256 * 256 * 4
    assert peak.method == "live-tensor-tracker" and peak.device == "cpu"
    assert "KiB" in repr(peak)


def _step(model, batch_size):
    x = torch.randn(batch_size, 32)
    y = torch.randint(0, 10, (batch_size,))
    F.cross_entropy(model(x), y).backward()


def test_checkpointing_lowers_the_peak_and_keeps_results():
    peaks = {}
    for ckpt in (False, True):
        torch.manual_seed(0)
        model = MLP(in_features=32, hidden=64, depth=4, checkpointing=ckpt)
        peaks[ckpt] = measure_peak_memory(_step, model, 256, device="cpu").peak_bytes
    assert peaks[True] < 0.75 * peaks[False]


def test_backoff_finds_the_largest_halving_that_fits():
    torch.manual_seed(0)
    model = MLP(in_features=32, hidden=64, depth=2)
    budget = 2 * 2**20
    result = find_max_batch_size(
        lambda bs: _step(model, bs), start=4096, budget_bytes=budget, device="cpu"
    )
    tried = [b for b, _ in result.attempts]
    assert tried == [4096 >> i for i in range(len(tried))]
    assert [ok for _, ok in result.attempts] == [False] * (len(tried) - 1) + [True]
    assert result.simulated and result.batch_size == tried[-1]
    # independent check with a plain tracker: the answer fits, twice the answer does not
    for bs, fits in ((result.batch_size, True), (2 * result.batch_size, False)):
        model.zero_grad(set_to_none=True)
        with LiveTensorTracker() as t:
            _step(model, bs)
        assert (t.peak_bytes <= budget) is fits
    assert "✓" in repr(result) and result.to_dict()["batch_size"] == result.batch_size


def test_backoff_gives_up_below_the_minimum():
    with pytest.raises(torch.OutOfMemoryError, match="min_batch_size"):
        find_max_batch_size(
            lambda bs: torch.ones(bs, 1024), start=64, min_batch_size=16, budget_bytes=1000
        )
    with pytest.raises(ValueError, match="start"):
        find_max_batch_size(lambda bs: None, start=0)


def test_format_bytes():
    assert format_bytes(3 * 2**20) == "3.00 MiB"
    assert format_bytes(1536) == "1.50 KiB"
    assert format_bytes(5 * 2**30) == "5.00 GiB"


@pytest.mark.gpu
@cuda
def test_real_cuda_oom_backs_off():
    free, _ = torch.cuda.mem_get_info()
    floats_free = free // 4

    def step(bs):  # bs rows of 2**20 floats (4 MiB each)
        return torch.empty(bs, 2**20, device="cuda").fill_(1.0).sum()

    start = 1 << (int(floats_free // 2**20) * 4).bit_length()  # well past what fits
    result = find_max_batch_size(step, start=start, device="cuda")
    assert not result.simulated and result.attempts[0][1] is False
    assert result.batch_size * 2**20 * 4 <= free
