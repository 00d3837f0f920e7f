import numpy as np
import pytest
import torch
from scipy.special import softmax

from labkit.inference.models import (
    CLIP,
    accuracy,
    count_parameters,
    make_dataset,
    make_mlp,
    train_classifier,
)
from labkit.inference.pipeline import Pipeline, postprocess, preprocess, preprocess_loop


def test_lab_model_size():
    model = make_mlp()
    assert count_parameters(model) == 256 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 10 + 10


def test_seeded_model_is_reproducible_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a, b = make_mlp(hidden=8, seed=1), make_mlp(hidden=8, seed=1)
    assert torch.rand(1) == expected_next
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize("bad", [{"hidden": 0}, {"depth": -1}, {"num_classes": 1.5}])
def test_make_mlp_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        make_mlp(**bad)


def test_dataset_standardization_matches_the_raw_features():
    data = make_dataset(n_train=500, n_test=200, seed=3)
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    z = np.clip((data.raw_test - data.mean_) / data.std_, -CLIP, CLIP).astype(np.float32)
    np.testing.assert_allclose(data.x_test.numpy(), z, rtol=0, atol=1e-6)
    assert abs(float(data.x_train.mean())) < 0.05
    assert data.num_classes == 10


def test_accuracy_matches_a_direct_count_for_torch_and_numpy_predictors():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(300, 5, generator=gen)
    y = torch.randint(0, 3, (300,), generator=gen)
    w = torch.randn(5, 3, generator=gen)
    expected = float(((x @ w).argmax(1) == y).float().mean())
    assert accuracy(lambda t: t @ w, x, y, batch_size=64) == pytest.approx(expected)
    assert accuracy(lambda a: a @ w.numpy(), x.numpy(), y.numpy()) == pytest.approx(expected)


def test_training_learns_the_task():
    data = make_dataset(n_train=4000, n_test=500, seed=0)
    result = train_classifier(make_mlp(hidden=256, seed=0), data, num_epochs=4)
    assert result.accuracy > 0.4  # chance is 0.1
    assert result.epoch_losses[-1] < result.epoch_losses[0]
    assert not result.model.training


def test_preprocess_loop_and_vectorized_agree_with_the_formula():
    rng = np.random.default_rng(0)
    mean, std = rng.normal(size=16), rng.uniform(0.5, 3, size=16)
    raw = rng.normal(scale=10, size=(7, 16))
    expected = np.clip((raw - mean) / std, -CLIP, CLIP).astype(np.float32)
    np.testing.assert_allclose(preprocess(raw.tolist(), mean, std), expected, atol=1e-6)
    np.testing.assert_allclose(preprocess_loop(raw.tolist(), mean, std), expected, atol=1e-6)


def test_preprocess_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        preprocess([[1.0, 2.0]], np.zeros(3), np.ones(3))


def test_postprocess_matches_scipy_softmax():
    logits = np.random.default_rng(1).normal(size=(5, 4)) * 5
    out = postprocess(logits, decimals=8)
    p = softmax(logits, axis=1)
    assert [o["label"] for o in out] == list(p.argmax(1))
    np.testing.assert_allclose([o["probability"] for o in out], p.max(1), atol=1e-8)


def test_pipeline_chains_and_validates():
    pipe = Pipeline((("double", lambda x: 2 * x), ("inc", lambda x: x + 1)))
    assert pipe(3) == 7 and pipe.names == ("double", "inc")
    with pytest.raises(ValueError, match="unique"):
        Pipeline((("a", abs), ("a", abs)))
    with pytest.raises(TypeError, match="'b' is not callable"):
        Pipeline((("b", 3),))
