"""Losses, their gradients and accuracies of many networks' stacked outputs at once.

Outputs are laid out ``(K, classes, n)`` (see :mod:`utils.stack`); each function gives one
value per network, as :func:`utils.training.loss_fn` and accuracy would for it alone.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

def _member_losses(outputs: torch.Tensor, y: torch.Tensor, loss: str,
                   own: bool = False) -> torch.Tensor:
    """Per-network mean loss ``(K,)`` of outputs ``(K, c, n)``, as utils.training.loss_fn.

    ``y`` holds the labels (or targets) of the n examples, shared by all networks, or with
    ``own`` a leading axis of K: each network's own examples."""
    K, c, n = outputs.shape
    if loss == "cross_entropy":
        log_p = outputs.log_softmax(dim=1)
        index = y.view(K, 1, n) if own else y.view(1, 1, n).expand(K, 1, n)
        return -log_p.gather(1, index).view(K, n).mean(dim=1)
    if loss == "logistic":
        target = y.float().view(K, n) if own else y.float().expand(K, n)
        return F.binary_cross_entropy_with_logits(outputs.view(K, n), target,
                                                  reduction="none").mean(dim=1)
    if y.dtype in (torch.int64, torch.int32):
        target = F.one_hot(y, num_classes=c).to(outputs.dtype)  # (n, c) or (K, n, c)
    else:
        target = y.reshape(K, n, c) if own else y.reshape(n, c)
        target = target.to(outputs.dtype)
    return ((outputs - target.transpose(-1, -2)) ** 2).sum(dim=1).mean(dim=1)


def _member_losses_and_grads(outputs: torch.Tensor, y: torch.Tensor, loss: str,
                             own: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_member_losses` and its gradient with respect to ``outputs`` (each network's
    mean loss differentiated by hand: softmax minus one-hot, 2 (out - target), sigmoid
    minus label, each over n)."""
    K, c, n = outputs.shape
    if loss == "cross_entropy":
        index = y.view(K, 1, n) if own else y.view(1, 1, n).expand(K, 1, n)
        log_p = outputs.log_softmax(dim=1)
        losses = -log_p.gather(1, index).view(K, n).mean(dim=1)
        grad = log_p.exp_()
        grad.scatter_add_(1, index, torch.full((K, 1, n), -1.0, dtype=grad.dtype))
        return losses, grad.div_(n)
    if loss == "logistic":
        z = outputs.view(K, n)
        target = y.to(outputs.dtype).view(K, n) if own else y.to(outputs.dtype).expand(K, n)
        losses = F.binary_cross_entropy_with_logits(z, target, reduction="none").mean(dim=1)
        return losses, (torch.sigmoid(z) - target).div_(n).view(K, c, n)
    if y.dtype in (torch.int64, torch.int32):
        target = F.one_hot(y, num_classes=c).to(outputs.dtype)
    else:
        target = (y.reshape(K, n, c) if own else y.reshape(n, c)).to(outputs.dtype)
    diff = outputs - target.transpose(-1, -2)
    return (diff ** 2).sum(dim=1).mean(dim=1), diff.mul_(2.0 / n)


def _after_true_class(y: torch.Tensor, c: int, dtype: torch.dtype) -> torch.Tensor:
    """``(1 or K, c, n)``: 0 for the classes before each example's label, -inf from it on."""
    labels = y.view(y.shape[0] if y.ndim == 2 else 1, 1, y.shape[-1])
    after = torch.zeros(labels.shape[0], c, labels.shape[2], dtype=dtype)
    after[torch.arange(c).view(1, c, 1).expand_as(after) >= labels] = -torch.inf
    return after


def _member_accuracies(outputs: torch.Tensor, y: torch.Tensor, loss: str,
                       after: torch.Tensor | None = None) -> torch.Tensor:
    """Per-network accuracy ``(K,)`` of outputs ``(K, c, n)``; NaN for real-valued targets.

    ``y``: labels ``(n,)`` shared by all networks, or ``(K, n)``, each network's own;
    ``after``: :func:`_after_true_class` of ``y`` if already computed."""
    K, _, n = outputs.shape
    if y.dtype not in (torch.int64, torch.int32):
        return torch.full((K,), float("nan"))
    if loss == "logistic":
        return ((outputs.view(K, n) > 0).long() == y).to(outputs.dtype).mean(dim=1)
    # argmax == y, computed without argmax (or max with indices), which is many times slower
    # across this strided axis: the true class's output is the largest, and no class before
    # it (argmax takes the first of equal outputs) reaches that value.
    c = outputs.shape[1]
    labels = y.view(K if y.ndim == 2 else 1, 1, n)
    top = outputs.amax(dim=1, keepdim=True)
    true = outputs.gather(1, labels.expand(K, 1, n))
    # -inf added to the classes from the true one on (an addition: torch.where with a mask
    # across this axis is many times slower)
    if after is None:
        after = _after_true_class(y, c, outputs.dtype)
    top_before = (outputs + after).amax(dim=1, keepdim=True)
    return ((true == top) & (top_before < top)).view(K, n).to(outputs.dtype).mean(dim=1)
