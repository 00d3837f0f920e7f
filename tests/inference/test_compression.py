"""Distillation loss against a from-scratch reference; pruning against NumPy."""

import numpy as np
import pytest
import torch

from labkit.inference.distillation import distillation_loss, train_student
from labkit.inference.models import make_dataset, make_mlp, train_classifier
from labkit.inference.pruning import prune_magnitude, shrink, sparsity


def reference_loss(zs, zt, y, T, alpha):
    """Hinton et al. (2015) written out with explicit softmax and sums, in float64."""
    zs, zt = zs.double(), zt.double()
    p_t = torch.exp(zt / T) / torch.exp(zt / T).sum(1, keepdim=True)
    p_s = torch.exp(zs / T) / torch.exp(zs / T).sum(1, keepdim=True)
    kl = (p_t * (torch.log(p_t) - torch.log(p_s))).sum(1).mean()
    q = torch.exp(zs) / torch.exp(zs).sum(1, keepdim=True)
    ce = -torch.log(q[torch.arange(len(y)), y]).mean()
    return alpha * T**2 * kl + (1 - alpha) * ce


@pytest.mark.parametrize(("T", "alpha"), [(1.0, 0.5), (4.0, 0.7), (2.5, 0.0), (8.0, 1.0)])
def test_loss_and_gradient_match_the_reference(T, alpha):
    gen = torch.Generator().manual_seed(int(T * 10))
    zs = (torch.randn(16, 7, generator=gen) * 3).requires_grad_()
    zt = torch.randn(16, 7, generator=gen) * 3
    y = torch.randint(0, 7, (16,), generator=gen)
    ours = distillation_loss(zs, zt, y, temperature=T, alpha=alpha)
    (grad_ours,) = torch.autograd.grad(ours, zs)
    ref = reference_loss(zs, zt, y, T, alpha)
    (grad_ref,) = torch.autograd.grad(ref, zs)
    assert ours.item() == pytest.approx(ref.item(), rel=1e-5, abs=1e-6)
    torch.testing.assert_close(grad_ours, grad_ref, rtol=1e-4, atol=1e-6)


def test_teacher_gets_no_gradient():
    zt = torch.randn(4, 3, requires_grad=True)
    distillation_loss(
        torch.randn(4, 3, requires_grad=True), zt, torch.zeros(4, dtype=torch.long)
    ).backward()
    assert zt.grad is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": 0}, "temperature must be"),
        ({"alpha": 1.5}, "alpha must be a finite real number in"),
    ],
)
def test_loss_argument_errors(kwargs, message):
    z = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=message):
        distillation_loss(z, z, torch.zeros(2, dtype=torch.long), **kwargs)
    with pytest.raises(ValueError, match=r"\(batch, classes\)"):
        distillation_loss(z, torch.zeros(2, 4), torch.zeros(2, dtype=torch.long))


def test_student_learns_from_the_teacher():
    data = make_dataset(n_train=3000, n_test=500, seed=1)
    teacher = train_classifier(make_mlp(hidden=256, seed=0), data, num_epochs=4).model
    student = train_student(make_mlp(hidden=128, depth=1, seed=0), teacher, data, num_epochs=5)
    assert student.accuracy > 0.3  # chance is 0.1
    assert next(teacher.parameters()).device.type == "cpu"


def test_unstructured_pruning_zeroes_the_smallest_weights_per_layer():
    model = make_mlp(num_features=20, hidden=30, num_classes=4, seed=0)
    pruned = prune_magnitude(model, 0.6)
    for before, after in zip(model, pruned, strict=True):
        if isinstance(before, torch.nn.Linear):
            w = before.weight.detach().numpy().ravel()
            k = round(0.6 * w.size)
            expected = w.copy()
            expected[np.argsort(np.abs(w), kind="stable")[:k]] = 0.0
            np.testing.assert_array_equal(after.weight.detach().numpy().ravel(), expected)
    assert sparsity(pruned) == pytest.approx(0.6, abs=0.01)
    assert sparsity(model) == 0.0  # the original is untouched
    assert not hasattr(pruned[0], "weight_mask")  # masks made permanent


def test_structured_pruning_removes_whole_rows_by_l2_norm_and_keeps_the_head():
    model = make_mlp(num_features=10, hidden=20, num_classes=3, seed=1)
    pruned = prune_magnitude(model, 0.25, structured=True)
    w = model[0].weight.detach().numpy()
    dropped = set(np.argsort(np.linalg.norm(w, axis=1))[:5].tolist())
    zero_rows = {i for i, row in enumerate(pruned[0].weight.detach().numpy()) if not row.any()}
    assert zero_rows == dropped
    assert torch.equal(pruned[-1].weight, model[-1].weight)


def test_shrink_is_exact_and_smaller():
    model = make_mlp(num_features=12, hidden=40, num_classes=5, depth=3, seed=2)
    pruned = prune_magnitude(model, 0.5, structured=True)
    small = shrink(pruned)
    assert [m.out_features for m in small if isinstance(m, torch.nn.Linear)] == [20, 20, 20, 5]
    x = torch.randn(64, 12)
    with torch.inference_mode():
        torch.testing.assert_close(small(x), pruned(x), atol=1e-5, rtol=1e-5)


def test_pruning_errors():
    with pytest.raises(ValueError, match=r"amount must be a finite real number in \[0, 1\), got"):
        prune_magnitude(make_mlp(hidden=4), 1.0)
    with pytest.raises(ValueError, match=r"no nn\.Linear"):
        prune_magnitude(torch.nn.ReLU(), 0.5)
    with pytest.raises(ValueError, match="element-wise activations"):
        shrink(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout()))
