"""Magnitude pruning, unstructured and structured, and why only one of them is faster.

Unstructured pruning (``torch.nn.utils.prune.l1_unstructured``) zeroes the individual weights of
smallest magnitude. Accuracy survives high sparsity, but the weight matrix keeps its shape and
a dense matrix multiply does the same work on zeros as on anything else: no speed-up without a
sparse kernel and sparsity high or regular enough for it (e.g. 2:4 on NVIDIA Ampere and later).

Structured pruning (``prune.ln_structured`` over output rows) removes whole neurons: the rows
with the smallest L2 norm. The layer can then be rebuilt smaller (:func:`shrink`), and a smaller
dense matrix multiply *is* faster; the cost is accuracy, since whole features go.

Pruning here copies the model and makes the masks permanent (``prune.remove``), so the result
is an ordinary module with zeros in its weights.

Examples
--------
>>> import torch
>>> model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
>>> round(sparsity(prune_magnitude(model, 0.75)), 2)
0.75
>>> pruned = prune_magnitude(model, 0.5, structured=True)
>>> small = shrink(pruned)
>>> small[0].out_features
8
>>> x = torch.randn(5, 8)
>>> torch.allclose(pruned(x), small(x), atol=1e-6)
True
"""

from __future__ import annotations

import copy
import itertools

import torch
from torch import nn
from torch.nn.utils import prune

from labkit._validate import check_real

__all__ = ["prune_magnitude", "shrink", "sparsity"]

# Element-wise activations that map a neuron's constant output through unchanged structure.
_ELEMENTWISE = (nn.ReLU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.SiLU, nn.LeakyReLU, nn.Identity)


def _hidden_linears(model: nn.Module) -> list[nn.Linear]:
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer to prune")
    return linears[:-1] or linears  # keep the classifier head whole (its rows are the classes)


def prune_magnitude(model: nn.Module, amount: float, *, structured: bool = False) -> nn.Module:
    """A pruned copy of ``model``: ``amount`` of each hidden ``Linear`` layer's weights set to 0.

    Parameters
    ----------
    model
        Not modified.
    amount
        Share of weights (unstructured) or of output neurons (structured) to remove, in [0, 1).
    structured
        Remove whole output neurons (rows with the smallest L2 norm) instead of single weights.
        The last ``Linear`` layer (the classifier head) is never pruned structurally.
    """
    amount = check_real(amount, "amount", min_val=0, max_val=1, include_boundaries="left")
    pruned = copy.deepcopy(model)
    layers = (
        _hidden_linears(pruned)
        if structured
        else [m for m in pruned.modules() if isinstance(m, nn.Linear)]
    )
    if not layers:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer to prune")
    for layer in layers:
        if structured:
            prune.ln_structured(layer, "weight", amount=float(amount), n=2, dim=0)
        else:
            prune.l1_unstructured(layer, "weight", amount=float(amount))
        prune.remove(layer, "weight")
    return pruned


def sparsity(model: nn.Module) -> float:
    """Share of exactly-zero entries over all ``Linear`` weight matrices."""
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    if not weights:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer")
    zeros = sum(int((w == 0).sum()) for w in weights)
    return zeros / sum(w.numel() for w in weights)


@torch.no_grad()
def shrink(model: nn.Sequential) -> nn.Sequential:
    """Rebuild a structurally pruned MLP without its all-zero neurons; same outputs, fewer FLOPs.

    A removed neuron ``j`` still outputs the constant ``act(bias[j])``; that constant's effect
    on the next layer is folded into the next layer's bias, so the result equals the input model.
    ``model`` must be an ``nn.Sequential`` of ``Linear`` layers and element-wise activations.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"shrink needs an nn.Sequential MLP, got {type(model).__name__}")
    for module in model:
        if not isinstance(module, (nn.Linear, *_ELEMENTWISE)):
            raise ValueError(
                f"shrink supports Linear layers and element-wise activations, got {module!r}"
            )
    modules = [copy.deepcopy(m) for m in model]
    linear_at = [i for i, m in enumerate(modules) if isinstance(m, nn.Linear)]
    for here, after in itertools.pairwise(linear_at):
        layer, nxt = modules[here], modules[after]
        keep = layer.weight.abs().sum(dim=1) != 0
        if bool(keep.all()):
            continue
        constant = torch.zeros(layer.out_features) if layer.bias is None else layer.bias.clone()
        for act in modules[here + 1 : after]:
            constant = act(constant)
        dropped = ~keep
        new_bias = nxt.bias if nxt.bias is not None else torch.zeros(nxt.out_features)
        new_bias = new_bias + nxt.weight[:, dropped] @ constant[dropped]
        smaller = nn.Linear(layer.in_features, int(keep.sum()), bias=layer.bias is not None)
        smaller.weight.copy_(layer.weight[keep])
        if layer.bias is not None:
            smaller.bias.copy_(layer.bias[keep])
        following = nn.Linear(int(keep.sum()), nxt.out_features)
        following.weight.copy_(nxt.weight[:, keep])
        following.bias.copy_(new_bias)
        modules[here], modules[after] = smaller, following
    return nn.Sequential(*modules).eval()
