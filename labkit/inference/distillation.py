"""Knowledge distillation: train a small, fast student to imitate a large teacher.

Latency grows with model size; a smaller model is the most direct cut, but trained alone it is
less accurate. Hinton, Vinyals and Dean, "Distilling the Knowledge in a Neural Network" (2015,
arXiv:1503.02531) train the student on the teacher's *softened* output distribution as well as
on the labels:

    L = α · T² · KL(softmax(z_t / T) ‖ softmax(z_s / T)) + (1 − α) · CE(y, z_s)

A temperature ``T > 1`` spreads probability over the wrong classes, which tells the student how
the teacher generalizes ("dark knowledge"). The soft term's gradients scale as 1/T², hence the
T² factor (section 2 of the paper), which keeps both terms' weight comparable when ``T`` changes.

Examples
--------
>>> import torch
>>> z = torch.tensor([[2.0, 0.5, -1.0]])
>>> float(distillation_loss(z, z, torch.tensor([0]), temperature=4.0, alpha=1.0))
0.0
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from labkit._validate import check_real
from labkit.device import resolve
from labkit.inference.models import LabData, TrainResult, fit

__all__ = ["distillation_loss", "train_student"]


def _check(temperature: float, alpha: float) -> tuple[float, float]:
    return (
        check_real(temperature, "temperature", min_val=0, include_boundaries="neither"),
        check_real(alpha, "alpha", min_val=0, max_val=1),
    )


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    y: torch.Tensor,
    temperature: float = 4.0,
    alpha: float = 0.5,
) -> torch.Tensor:
    """Hinton et al.'s distillation loss, averaged over the batch.

    Parameters
    ----------
    student_logits, teacher_logits
        ``(batch, classes)`` logits. The teacher's are treated as constants (no gradient).
    y
        ``(batch,)`` integer class labels.
    temperature
        ``T``: softens both distributions in the KL term.
    alpha
        Weight of the soft (KL) term; ``1 - alpha`` weighs the cross-entropy on ``y``.

    Returns
    -------
    torch.Tensor
        A scalar: ``α·T²·KL(p_teacher ‖ p_student) + (1−α)·CE(y, student_logits)`` with the KL
        summed over classes and averaged over the batch.
    """
    temperature, alpha = _check(temperature, alpha)
    if student_logits.shape != teacher_logits.shape or student_logits.ndim != 2:
        raise ValueError(
            "student_logits and teacher_logits must both be (batch, classes), got "
            f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}"
        )
    log_p_student = F.log_softmax(student_logits / temperature, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits.detach() / temperature, dim=1)
    # kl_div(input=log q, target=log p, log_target=True) = Σ p·(log p − log q) = KL(p ‖ q).
    soft = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)
    hard = F.cross_entropy(student_logits, y)
    return alpha * temperature**2 * soft + (1.0 - alpha) * hard


def train_student(
    student: nn.Module,
    teacher: nn.Module,
    data: LabData,
    *,
    temperature: float = 4.0,
    alpha: float = 0.7,
    num_epochs: int = 4,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train ``student`` on :func:`distillation_loss` against a frozen ``teacher``.

    The teacher runs in eval mode under ``torch.no_grad`` on each batch, on the same device.
    """
    temperature, alpha = _check(temperature, alpha)
    teacher.eval()

    def loss(logits: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            teacher_logits = teacher(x)
        return distillation_loss(logits, teacher_logits, y, temperature, alpha)

    teacher_device = next(teacher.parameters()).device
    try:
        teacher.to(resolve(device))
        return fit(
            student,
            data,
            loss,
            num_epochs=num_epochs,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            device=device,
            progress=progress,
        )
    finally:
        teacher.to(teacher_device)
