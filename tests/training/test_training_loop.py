"""The training loop against plain torch: same gradients, same updates, honest report fields."""

import copy
import dataclasses

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from labkit.training import (
    MLP,
    StallingDataset,
    TinyTransformer,
    autocast,
    default_loss,
    grad_scaler,
    make_classification_data,
    make_loader,
    make_optimizer,
    make_token_data,
    supported_precisions,
    train,
)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _small_mlp(seed=0, **kw):
    torch.manual_seed(seed)
    return MLP(in_features=8, hidden=16, out_features=3, depth=2, **kw)


def _batches(n_batches, batch_size, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(batch_size, 8, generator=g), torch.randint(0, 3, (batch_size,), generator=g))
        for _ in range(n_batches)
    ]


def test_report_fields_are_consistent():
    loader = make_loader(make_classification_data(320, in_features=8, n_classes=3), batch_size=32)
    report = train(_small_mlp(), loader, max_steps=6, warmup_steps=2, device="cpu")
    assert report.num_steps == 4 and report.num_samples == 4 * 32 and len(report.losses) == 6
    assert report.total_s == pytest.approx(report.data_s + report.compute_s)
    assert report.samples_per_s == pytest.approx(report.num_samples / report.total_s)
    assert 0 <= report.data_fraction <= 1
    assert report.peak_memory_bytes > 0 and "tracker" in report.memory_method
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.num_steps = 0  # type: ignore[misc]
    d = report.to_dict()
    assert d["samples_per_s"] == report.samples_per_s and isinstance(d["losses"], list)
    assert "samples/s" in repr(report)
    assert len(report.step_times) == 4 and sum(report.step_times) == pytest.approx(report.total_s)
    assert isinstance(report.noisy, bool)
    steady = dataclasses.replace(report, step_times=(1.0, 1.0, 1.0, 1.0))
    jittery = dataclasses.replace(report, step_times=(1.0, 2.0, 1.0, 3.0, 1.5))
    assert not steady.noisy and "WARNING" not in repr(steady)
    assert jittery.noisy and "WARNING: noisy" in repr(jittery)


def test_epochs_run_until_data_ends():
    loader = make_loader(make_classification_data(100, in_features=8, n_classes=3), batch_size=25)
    report = train(_small_mlp(), loader, num_epochs=3, warmup_steps=1, device="cpu")
    assert len(report.losses) == 12 and report.num_steps == 11


def test_one_step_equals_a_hand_written_torch_step():
    batches = _batches(1, 32)
    model, ref = _small_mlp(), _small_mlp()
    train(model, batches, max_steps=1, warmup_steps=0, optimizer="sgd", lr=0.1, device="cpu")
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    x, y = batches[0]
    F.cross_entropy(ref(x), y).backward()
    opt.step()
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_gradient_accumulation_equals_one_large_batch():
    micro = _batches(4, 8)
    big = [(torch.cat([x for x, _ in micro]), torch.cat([y for _, y in micro]))]
    accumulated, single = _small_mlp(), _small_mlp()
    kw = dict(max_steps=1, warmup_steps=0, optimizer="sgd", lr=0.5, device="cpu")
    r = train(accumulated, micro, grad_accum_steps=4, **kw)
    train(single, big, **kw)
    assert r.num_samples == 32 and r.grad_accum_steps == 4
    for p, q in zip(accumulated.parameters(), single.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("impl", ["foreach", "fused", "for-loop"])
def test_optimizer_implementations_agree_with_the_for_loop(impl):
    batches = _batches(3, 16)
    model, ref = _small_mlp(), _small_mlp()
    kw = dict(max_steps=3, warmup_steps=0, lr=1e-2, device="cpu")
    train(model, batches, optimizer_impl=impl, **kw)
    train(ref, batches, optimizer_impl="for-loop", **kw)
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_make_optimizer_flags_reach_torch():
    params = list(_small_mlp().parameters())
    assert make_optimizer(params, impl="fused").defaults["fused"] is True
    assert make_optimizer(params, impl="foreach").defaults["foreach"] is True
    with pytest.raises(ValueError, match="impl"):
        make_optimizer(params, impl="turbo")
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer(params, optimizer="lamb")


def test_checkpointing_gives_the_same_gradients():
    x, y = _batches(1, 16)[0]
    plain, ckpt = _small_mlp(), _small_mlp(checkpointing=True)
    for m in (plain, ckpt):
        F.cross_entropy(m(x), y).backward()
    for p, q in zip(plain.parameters(), ckpt.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad)


def test_checkpointing_flag_is_set_on_the_model_and_rejected_without_support():
    model = _small_mlp()
    report = train(model, _batches(3, 8), checkpointing=True, device="cpu")
    assert model.checkpointing and report.checkpointing
    with pytest.raises(ValueError, match="checkpointing"):
        train(torch.nn.Linear(8, 3), _batches(3, 8), checkpointing=True, device="cpu")


def test_bf16_autocast_on_cpu_tracks_fp32(capfd):
    batches = _batches(4, 32)
    r32 = train(_small_mlp(), batches, warmup_steps=1, device="cpu")
    r16 = train(_small_mlp(), batches, warmup_steps=1, precision="bf16", device="cpu")
    assert r16.precision == "bf16"
    assert r16.losses[0] == pytest.approx(r32.losses[0], rel=3e-2)
    assert capfd.readouterr().err == ""  # autocast("cpu", bf16) is silent


def test_autocast_really_casts_matmuls_on_cpu():
    with autocast("cpu", "bf16"):
        y = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    assert y.dtype == torch.bfloat16
    with autocast("cpu", "fp32"):
        assert torch.nn.Linear(4, 4)(torch.randn(2, 4)).dtype == torch.float32


@pytest.mark.skipif(torch.cuda.is_available(), reason="CPU-only behaviour")
@pytest.mark.parametrize("precision", ["fp16", "tf32"])
def test_cuda_only_precisions_are_refused_on_cpu_without_warnings(precision, capfd, recwarn):
    with pytest.raises(ValueError, match="not supported on device 'cpu'"):
        train(_small_mlp(), _batches(3, 8), precision=precision, device="cpu")
    with pytest.raises(ValueError, match="allowed there"):
        grad_scaler("cpu", precision)
    assert len(recwarn) == 0 and capfd.readouterr().err == ""
    assert supported_precisions("cpu") == ("fp32", "bf16")
    assert grad_scaler("cpu", "bf16") is None


def test_bad_arguments_name_themselves():
    for kwargs, name in (
        ({"grad_accum_steps": 0}, "grad_accum_steps"),
        ({"num_epochs": 0}, "num_epochs"),
        ({"max_steps": 1, "warmup_steps": 1}, "max_steps"),
        ({"precision": "fp8"}, "precision"),
        ({"readback_every": 0}, "readback_every"),
    ):
        with pytest.raises(ValueError, match=name):
            train(_small_mlp(), _batches(3, 8), device="cpu", **kwargs)
    with pytest.raises(ValueError, match="no timed steps"):
        train(_small_mlp(), _batches(1, 8), warmup_steps=1, device="cpu")


def test_counts_accept_numpy_integers_and_refuse_bools():
    """A count from NumPy (``np.arange``, a sweep grid) is a count; ``True`` is a mistake."""
    ds = make_classification_data(np.int64(32), in_features=np.int32(8), n_classes=3)
    loader = make_loader(ds, batch_size=np.int64(8), device="cpu")
    assert loader.batch_size == 8 and type(loader.batch_size) is int
    model = MLP(in_features=8, hidden=np.int64(16), out_features=3, depth=np.int8(1))
    report = train(model, loader, max_steps=np.int64(3), warmup_steps=np.int64(1), device="cpu")
    assert report.num_steps == 2
    for call, name in (
        (lambda: train(_small_mlp(), _batches(3, 8), grad_accum_steps=True), "grad_accum_steps"),
        (lambda: make_loader(ds, batch_size=True), "batch_size"),
        (lambda: MLP(depth=True), "depth"),
        (lambda: train(_small_mlp(), _batches(3, 8), compile="yes"), "compile"),
    ):
        with pytest.raises(TypeError, match=name):
            call()
    with pytest.raises(TypeError, match=r"max_steps must be an integer, got 2\.0 \(float\)"):
        train(_small_mlp(), _batches(3, 8), max_steps=2.0, device="cpu")


@pytest.mark.parametrize("readback_every", [2, 5, 100])
def test_deferred_loss_readback_trains_the_same_and_times_the_whole_run(readback_every):
    """Losses read back in groups are the same losses; the step times still add up."""
    every, grouped = _small_mlp(), _small_mlp()
    ref = train(every, _batches(8, 16), warmup_steps=2, optimizer="sgd", lr=0.1, device="cpu")
    got = train(grouped, _batches(8, 16), warmup_steps=2, optimizer="sgd", lr=0.1,
                readback_every=readback_every, device="cpu")  # fmt: skip
    assert got.losses == ref.losses and len(got.step_times) == got.num_steps == 6
    assert sum(got.step_times) == pytest.approx(got.total_s)
    for p, q in zip(every.parameters(), grouped.parameters(), strict=True):
        assert torch.equal(p, q)


def test_language_model_trains_and_loss_matches_torch():
    torch.manual_seed(0)
    model = TinyTransformer(vocab_size=32, d_model=32, n_heads=2, n_layers=1, seq_len=16)
    ds = make_token_data(64, seq_len=16, vocab_size=32)
    x, y = ds.tensors
    out = model(x[:4])
    want = F.cross_entropy(out.reshape(-1, 32), y[:4].reshape(-1))
    torch.testing.assert_close(default_loss(out, y[:4]), want)
    report = train(model, make_loader(ds, batch_size=16), num_epochs=3, lr=3e-3, device="cpu")
    assert report.losses[-1] < report.losses[0]


def test_data_time_includes_the_input_stall():
    latency, batch, steps = 2e-3, 8, 4
    ds = StallingDataset(
        make_classification_data(64, in_features=8, n_classes=3), latency_s=latency
    )
    loader = make_loader(ds, batch_size=batch, device="cpu")
    report = train(_small_mlp(), loader, max_steps=steps + 1, device="cpu")
    # every timed sample slept `latency` inside the data phase: a hard lower bound, not a timing
    assert report.data_s >= steps * batch * latency
    assert report.compute_s > 0


def test_loader_knobs():
    ds = make_classification_data(40, in_features=8, n_classes=3)
    assert make_loader(ds, batch_size=8, pin_memory=True, device="cpu").pin_memory is False
    loader = make_loader(ds, batch_size=8, num_workers=1, persistent_workers=True,
                         prefetch_factor=3, device="cpu")  # fmt: skip
    assert loader.persistent_workers and loader.prefetch_factor == 3
    batches = list(loader)
    assert len(batches) == 5 and all(len(x) == 8 for x, _ in batches)
    first = [y.tolist() for _, y in make_loader(ds, batch_size=8, seed=3)]
    again = [y.tolist() for _, y in make_loader(ds, batch_size=8, seed=3)]
    assert first == again
    for kwargs, name in (
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 8, "persistent_workers": True}, "persistent_workers"),
        ({"batch_size": 8, "prefetch_factor": 2}, "prefetch_factor"),
        ({"batch_size": 8, "num_workers": -1}, "num_workers"),
    ):
        with pytest.raises(ValueError, match=name):
            make_loader(ds, **kwargs)


def test_model_constructors_validate():
    with pytest.raises(ValueError, match="depth"):
        MLP(depth=0)
    with pytest.raises(ValueError, match="divisible"):
        TinyTransformer(d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="seq_len"):
        TinyTransformer(seq_len=4)(torch.zeros(1, 5, dtype=torch.long))


@pytest.mark.gpu
@cuda
@pytest.mark.parametrize("precision", ["fp16", "bf16", "tf32"])
def test_cuda_mixed_precision_trains(precision):
    if precision not in supported_precisions("cuda"):
        pytest.skip(f"{precision} unsupported on this GPU")
    loader = make_loader(make_classification_data(512, in_features=8, n_classes=3), batch_size=64,
                         device="cuda")  # fmt: skip
    model = _small_mlp()
    report = train(model, loader, num_epochs=2, precision=precision, device="cuda")
    assert report.memory_method.startswith("cuda") and report.peak_memory_bytes > 0
    assert report.losses[-1] < report.losses[0]
    ref = copy.deepcopy(model).float()
    assert all(p.is_cuda for p in ref.parameters())


@pytest.mark.slow
def test_compiled_training_matches_eager():
    batches = _batches(4, 16)
    eager = train(_small_mlp(), batches, warmup_steps=1, device="cpu")
    compiled = train(_small_mlp(), batches, warmup_steps=1, compile=True, device="cpu")
    assert compiled.compiled and compiled.peak_memory_bytes is None  # tracker would undo compile
    for a, b in zip(compiled.losses, eager.losses, strict=True):
        assert a == pytest.approx(b, rel=1e-4)
