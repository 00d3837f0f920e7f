"""DDP under torchrun on two CPU processes equals one process on the same global batch."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from labkit.training.ddp import launch, reference_run, shard_indices


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
