"""DDP under torchrun on two CPU processes equals one process on the same global batch."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from labkit.training.ddp import launch, reference_run, shard_indices
from labkit.training.ranks import run_ranks


@given(world=st.integers(1, 8), per=st.integers(1, 50))
def test_shards_partition_the_batch(world, per):
    n = world * per
    shards = [shard_indices(n, rank=r, world_size=world) for r in range(world)]
    assert [i for s in shards for i in s] == list(range(n))
    assert {len(s) for s in shards} == {per}


def test_shard_arguments_are_checked():
    with pytest.raises(ValueError, match="divisible"):
        shard_indices(10, rank=0, world_size=3)
    with pytest.raises(ValueError, match="rank"):
        shard_indices(10, rank=2, world_size=2)
    with pytest.raises(ValueError, match="nproc"):
        launch(0)


@pytest.mark.slow
def test_two_process_gradients_equal_one_process():
    ddp = launch(2, steps=2, batch_size=32)
    ref = reference_run(steps=2, batch_size=32)
    assert ddp.world_size == 2 and ddp.backend in ("gloo", "nccl")
    assert set(ddp.first_grads) == set(ref.first_grads)
    for name, grad in ref.first_grads.items():
        torch.testing.assert_close(ddp.first_grads[name], grad, rtol=1e-5, atol=1e-6)
    for name, p in ref.final_params.items():
        torch.testing.assert_close(ddp.final_params[name], p, rtol=1e-5, atol=1e-6)
    assert ddp.max_abs_diff(ref) < 1e-5
    # and the sharding mattered: one shard alone gives a different gradient
    half = reference_run(steps=1, batch_size=16)
    assert any(
        not torch.allclose(half.first_grads[n], g, atol=1e-6) for n, g in ref.first_grads.items()
    )


def _reduce_and_report(rank, world_size, values):
    import torch.distributed as dist

    t = torch.tensor(values[rank], dtype=torch.float64)
    dist.all_reduce(t)  # sum over ranks
    return rank, world_size, t.tolist()


def _fail_on_rank_one(rank, world_size):
    import torch.distributed as dist

    if rank == 1:
        raise KeyError("rank one's own error")
    dist.all_reduce(torch.ones(1))  # would wait for rank 1 forever: must be cut short


@pytest.mark.parametrize("world", [1, 2, 3])
def test_run_ranks_gives_each_rank_a_real_gloo_group(world):
    values = [[float(r), 10.0 * r] for r in range(world)]
    got = run_ranks(_reduce_and_report, world, values)
    total = [sum(v[0] for v in values), sum(v[1] for v in values)]
    assert got == [(r, world, total) for r in range(world)]


def test_run_ranks_reports_the_failing_rank_without_waiting_for_the_others():
    with pytest.raises(RuntimeError, match=r"rank 1 of 2 failed:(.|\n)*rank one's own error"):
        run_ranks(_fail_on_rank_one, 2, timeout_s=60)
    for bad in (0, True, 1.5):
        with pytest.raises(ValueError, match="world_size"):
            run_ranks(_reduce_and_report, bad)
    with pytest.raises(ValueError, match="timeout_s"):
        run_ranks(_reduce_and_report, 2, timeout_s=0)
