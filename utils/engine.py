"""The training engine's shared part: one configuration, checked once, and its schedule.

:func:`utils.training.train` (one network), :func:`utils.ensembles.train_ensemble` (many at
once) and :func:`utils.grokking.train_pair_mlps` (many, each on its own pairs) read their
arguments into a :class:`TrainConfig` through :func:`make_config`, which holds every
argument check once; the config then says when to evaluate and when to stop
(:attr:`TrainConfig.eval_at`, :attr:`TrainConfig.last_step`,
:meth:`TrainConfig.target_reached`). The batched
parameters and their optimizers live in :mod:`utils.stack` and :mod:`utils.stack_optim`.

Example
-------
>>> cfg = make_config(n=100, loss="cross_entropy", optimizer="sgd", lr=0.1, batch_size=32,
...                   epochs=2, evals_per_epoch=2)
>>> cfg.steps_per_epoch, sorted(cfg.eval_at), cfg.last_step
(4, [2, 4], 8)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ._validation import check_int, check_option, check_real, per_member

__all__ = ["TrainConfig", "make_config", "check_data"]

LOSSES = ("cross_entropy", "mse", "logistic")


@dataclass(frozen=True)
class TrainConfig:
    """Checked training settings; ``lr`` and ``weight_decay`` hold one value per member."""

    loss: str
    optimizer: str
    lr: tuple[float, ...]
    weight_decay: tuple[float, ...]
    momentum: float
    n: int
    batch_size: int
    epochs: int
    max_steps: int | None = None
    target_accuracy: float | None = None
    target_loss: float | None = None
    evals_per_epoch: int = 1

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.n // self.batch_size)  # ceiling division

    @property
    def eval_at(self) -> set[int]:
        """Steps within an epoch (1 .. steps_per_epoch) after which to evaluate."""
        points = np.linspace(0, self.steps_per_epoch, self.evals_per_epoch + 1)[1:]
        return {int(step) for step in points.round()}

    @property
    def last_step(self) -> int:
        """The step after which training ends whatever happens."""
        steps = self.epochs * self.steps_per_epoch
        return steps if self.max_steps is None else min(self.max_steps, steps)

    @property
    def full_batch(self) -> bool:
        return self.batch_size >= self.n

    def target_reached(self, row: dict) -> str | None:
        """'target_accuracy' or 'target_loss' if ``row`` reaches that target, else None."""
        if self.target_accuracy is not None and row["train_acc"] >= self.target_accuracy:
            return "target_accuracy"
        if self.target_loss is not None and row["train_loss"] <= self.target_loss:
            return "target_loss"
        return None


def make_config(*, n: int, loss: str, optimizer: str, lr, weight_decay=0.0,
                momentum: float = 0.0, batch_size: int | None = None, epochs: int = 100,
                max_steps: int | None = None, target_accuracy: float | None = None,
                target_loss: float | None = None, evals_per_epoch: int = 1,
                members: int | None = None, optimizers=("sgd", "adam"),
                X_val=None, y_val=None, callback: Callable | None = None) -> TrainConfig:
    """Check the training arguments once and return them as a :class:`TrainConfig`.

    ``members``: None for one network (``lr`` and ``weight_decay`` must be numbers), else
    the number of networks (each may also be a list of that many). ``optimizers``: the
    choices allowed. ``X_val``/``y_val`` and ``callback`` are only checked here (both or
    neither; callable). Wrong types raise TypeError, wrong values ValueError.
    """
    check_option("loss", loss, LOSSES)
    check_option("optimizer", optimizer, optimizers)
    if members is None:
        lrs = [check_real("lr", lr, 0.0, low_open=True)]
        momentum = check_real("momentum", momentum, 0.0, 1.0, high_open=True)
        wds = [check_real("weight_decay", weight_decay, 0.0)]
    else:
        lrs = per_member("lr", lr, members, 0.0, low_open=True)
        wds = per_member("weight_decay", weight_decay, members, 0.0)
        momentum = check_real("momentum", momentum, 0.0, 1.0, high_open=True)
        if momentum != 0 and optimizer != "sgd":
            raise ValueError(f"momentum applies to optimizer='sgd' only, got "
                             f"optimizer={optimizer!r}")
    batch_size = n if batch_size is None else check_int("batch_size", batch_size, 1)
    epochs = check_int("epochs", epochs, minimum=1)
    if max_steps is not None:
        check_int("max_steps", max_steps, minimum=1)
    if target_accuracy is not None:
        check_real("target_accuracy", target_accuracy, 0.0, 1.0, low_open=True)
    if target_loss is not None:
        check_real("target_loss", target_loss, 0.0, low_open=True)
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    evals_per_epoch = check_int("evals_per_epoch", evals_per_epoch, minimum=1)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable (model -> dict or None), got "
                        f"{type(callback).__name__}")
    return TrainConfig(loss, optimizer, tuple(lrs), tuple(wds), momentum, n, batch_size,
                       epochs, max_steps, target_accuracy, target_loss, evals_per_epoch)


def check_data(X, y, name: str = "X", loss: str | None = None) -> None:
    """Reject data that torch would fail on obscurely, or train on silently to NaN.

    ``name`` is how the features are called in messages ("X" or "X_val"; the labels are
    "y"/"y_val"). With ``loss``, the labels are checked against what that loss needs.
    """
    yname = "y" + name[1:]
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} and {yname} must be torch tensors (see utils.data.to_tensors), "
                         f"got {type(X).__name__} and {type(y).__name__}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples x features), got shape {tuple(X.shape)}")
    if y.ndim == 0 or y.shape[0] != X.shape[0]:
        raise ValueError(f"{name} and {yname} must have the same number of rows, got "
                         f"{X.shape[0]} and {tuple(y.shape)[:1] or 'a scalar'}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} and {yname} hold no examples (0 rows): give at least one")
    if not X.is_floating_point():
        raise ValueError(f"{name} must hold floating-point features, got dtype {X.dtype}: "
                         f"use {name}.float() (utils.data.to_tensors gives float32)")
    _check_finite(X, name)
    if loss is not None:
        _check_labels(y, loss, yname)


def _check_finite(values: torch.Tensor, name: str) -> None:
    bad = ~torch.isfinite(values)
    if bool(bad.any()):
        row = int(bad.reshape(values.shape[0], -1).any(dim=1).nonzero()[0, 0])
        raise ValueError(f"{name} holds {int(bad.sum())} NaN or infinite value(s), the first in "
                         f"row {row}: training on them gives NaN losses and weights; drop or "
                         "fill in those values first")


def _check_labels(y: torch.Tensor, loss: str, name: str) -> None:
    """Labels of the dtype the loss needs: int64 classes, or finite real targets for mse."""
    if loss in ("cross_entropy", "logistic") and y.dtype != torch.int64:
        hint = (f"use {name}.long() if they are whole numbers, or loss='mse' for real-valued "
                "targets" if y.is_floating_point() else f"use {name}.long()")
        raise ValueError(f"loss={loss!r} needs integer class labels (torch.int64) in {name}, "
                         f"got dtype {y.dtype}: {hint}")
    if loss == "mse" and not y.is_floating_point() and y.dtype != torch.int64:
        raise ValueError(f"loss='mse' needs class labels as torch.int64 or real targets as "
                         f"floats in {name}, got dtype {y.dtype}: use {name}.long() or "
                         f"{name}.float()")
    if y.is_floating_point():
        _check_finite(y, name)
