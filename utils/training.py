"""Training: one loop for every lab, plus evaluation helpers.

The loop covers what the chapters need -- full-batch or minibatch, SGD or Adam, three
losses, an optional penalty term, a stop at a target training accuracy or a step budget --
and returns a :class:`History` with one row per evaluation (by default once per epoch, plus
the initial state at epoch 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from utils.progress import progress_bar

from ._validation import check_option
from .engine import LOSSES, TrainConfig, make_config
from .engine import check_data as _check_data

__all__ = ["History", "train", "evaluate", "accuracy", "loss_fn", "LOSSES", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "adam")


@dataclass
class History:
    """What :func:`train` recorded: one dict per evaluation, and why training stopped.

    Rows hold ``epoch`` (fractional when evaluating several times an epoch), ``step``,
    ``train_loss``, ``train_acc``, ``val_loss``/``val_acc`` when validation data was given,
    and whatever the callback returned.

    Example
    -------
    >>> h = History(rows=[{"epoch": 0, "train_acc": 0.1}, {"epoch": 1, "train_acc": 0.9}])
    >>> h["train_acc"].tolist(), h.final["epoch"]
    ([0.1, 0.9], 1)
    """

    rows: list[dict] = field(default_factory=list)
    stopped_because: str = ""

    def __getitem__(self, key: str) -> np.ndarray:
        """Column ``key`` over all rows, stacked (arrays become a 2-D array)."""
        if not self.rows or key not in self.rows[0]:
            known = sorted(self.rows[0]) if self.rows else []
            raise KeyError(f"history has no column {key!r}; columns: {known}")
        return np.stack([np.asarray(r[key]) for r in self.rows])

    @property
    def final(self) -> dict:
        """The last row."""
        if not self.rows:
            raise ValueError("history is empty: nothing was recorded")
        return self.rows[-1]

    def to_frame(self) -> pd.DataFrame:
        """The scalar columns as a pandas DataFrame (array-valued columns are left out)."""
        scalars = [k for k, v in self.rows[0].items() if np.ndim(v) == 0] if self.rows else []
        return pd.DataFrame([{k: r[k] for k in scalars} for r in self.rows])


def loss_fn(outputs: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """The training loss of ``outputs`` against labels ``y``, averaged over examples.

    'cross_entropy': softmax cross-entropy, integer labels. 'mse': squared error summed over
    outputs, averaged over examples, against one-hot targets for integer labels or against
    real targets. 'logistic': log(1 + exp(-s z)) with s = +1 for label 1 and -1 for label 0,
    z the single output (binary cross-entropy with logits).

    Example
    -------
    >>> out = torch.tensor([[2.0, 0.0]]); y = torch.tensor([0])
    >>> round(loss_fn(out, y, "mse").item(), 4)  # (2 - 1)^2 + (0 - 0)^2
    1.0
    """
    check_option("loss", loss, LOSSES)
    if loss == "cross_entropy":
        return F.cross_entropy(outputs, y)
    if loss == "logistic":
        return F.binary_cross_entropy_with_logits(outputs.reshape(-1), y.float())
    if y.dtype in (torch.int64, torch.int32):
        target = F.one_hot(y, num_classes=outputs.shape[1]).to(outputs.dtype)
    else:
        target = y.reshape(outputs.shape).to(outputs.dtype)
    return ((outputs - target) ** 2).sum(dim=1).mean()


def _predictions(outputs: torch.Tensor, loss: str) -> torch.Tensor:
    """Predicted labels: the sign of the single logit for 'logistic', else the argmax."""
    if loss == "logistic":
        return (outputs.reshape(-1) > 0).long()
    return outputs.argmax(dim=1)


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
             loss: str = "cross_entropy") -> dict:
    """Loss and accuracy of ``model`` on ``(X, y)``, in evaluation mode, without gradients.

    Accuracy is NaN for real-valued targets (regression).

    Example
    -------
    >>> net = torch.nn.Linear(2, 2)
    >>> sorted(evaluate(net, torch.zeros(4, 2), torch.tensor([0, 1, 0, 1])))
    ['accuracy', 'loss']
    """
    check_option("loss", loss, LOSSES)
    _check_data(X, y, loss=loss)
    _check_model_takes(model, X, y, loss)
    return _evaluate(model, X, y, loss)


@torch.no_grad()
def _evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: str) -> dict:
    """:func:`evaluate` without the checks (``train`` checks its data once, up front)."""
    was_training = model.training
    model.eval()
    outputs = model(X)
    model.train(was_training)
    result = {"loss": loss_fn(outputs, y, loss).item()}
    if y.dtype in (torch.int64, torch.int32):
        result["accuracy"] = (_predictions(outputs, loss) == y).float().mean().item()
    else:
        result["accuracy"] = float("nan")
    return result


def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
             loss: str = "cross_entropy") -> float:
    """Fraction of examples in ``(X, y)`` that ``model`` classifies correctly.

    ``loss`` only says how outputs become labels ('logistic': sign of one output).

    Example
    -------
    >>> net = torch.nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.eye(2)); _ = net.bias.zero_()
    >>> accuracy(net, torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
    0.5
    """
    return evaluate(model, X, y, loss)["accuracy"]


def _check_model_takes(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: str,
                       name: str = "X") -> None:
    """Check that ``model`` accepts ``X`` and that ``y`` fits its outputs under ``loss``.

    One forward pass on the first example, in evaluation mode and without gradients, so
    nothing of the model changes and no random numbers are drawn.
    """
    yname = "y" + name[1:]
    param = next(model.parameters(), None)
    if param is not None and param.is_floating_point() and X.dtype != param.dtype:
        to_data = f"{name}.float()" if param.dtype == torch.float32 else f"{name}.to({param.dtype})"
        raise ValueError(f"{name} is {X.dtype} but the model's parameters are {param.dtype}: "
                         f"convert the data with {to_data} (utils.data.to_tensors gives "
                         f"float32), or the model with model.to({X.dtype})")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(X[:1])
    except RuntimeError as err:
        first = next((m for m in model.modules() if isinstance(m, nn.Linear)), None)
        takes = f"; its first linear layer takes {first.in_features}" if first else ""
        raise ValueError(f"the model cannot take {name}, which has {X.shape[1]} features per "
                         f"example{takes} (torch: {err})") from None
    finally:
        model.train(was_training)
    n_out = out.shape[1] if out.ndim == 2 else 1
    if loss == "logistic":
        if n_out != 1:
            raise ValueError(f"loss='logistic' needs a model with 1 output, got {n_out}; use "
                             "loss='cross_entropy' for a model with one output per class")
        if not bool(((y == 0) | (y == 1)).all()):
            raise ValueError(f"loss='logistic' needs labels in {{0, 1}} in {yname}, got values "
                             f"from {int(y.min())} to {int(y.max())}")
    elif y.dtype == torch.int64:
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= n_out:
            raise ValueError(f"{yname} holds labels from {low} to {high}, but the model has "
                             f"{n_out} outputs, so labels must be in 0..{n_out - 1}")
    elif y[:1].numel() != out.numel():
        raise ValueError(f"loss='mse' with real targets needs one target per output: the model "
                         f"gives {out.numel()} output(s) per example, {yname} has "
                         f"{y[:1].numel()}")


def _make_optimizer(model, optimizer, lr, momentum, weight_decay):
    if optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                               weight_decay=weight_decay)
    return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)


def train(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *,
          loss: str = "cross_entropy", optimizer: str = "sgd", lr: float = 0.1,
          momentum: float = 0.0, weight_decay: float = 0.0, batch_size: int | None = None,
          epochs: int = 100, max_steps: int | None = None,
          target_accuracy: float | None = None,
          penalty: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
          X_val: torch.Tensor | None = None, y_val: torch.Tensor | None = None,
          evals_per_epoch: int = 1,
          callback: Callable[[nn.Module], dict | None] | None = None,
          generator: torch.Generator | None = None, progress: bool = False) -> History:
    """Train ``model`` in place on ``(X, y)`` and return its :class:`History`.

    Parameters
    ----------
    model : torch.nn.Module
    X, y : torch.Tensor
        Features (n, d) and labels (n,): integers for classification, floats for regression
        with ``loss='mse'``.
    loss : {'cross_entropy', 'mse', 'logistic'}
        See :func:`loss_fn`.
    optimizer : {'sgd', 'adam'}
    lr : float
        Learning rate, > 0.
    momentum : float
        SGD momentum in [0, 1).
    weight_decay : float
        L2 penalty coefficient of the optimizer, >= 0.
    batch_size : int, optional
        Minibatch size; None means full batch (plain gradient descent).
    epochs : int
        Maximum number of passes over the data, >= 1.
    max_steps : int, optional
        Step budget: stop after this many parameter updates.
    target_accuracy : float, optional
        Stop at the first evaluation whose training accuracy reaches this value, in (0, 1].
    penalty : callable, optional
        ``penalty(model, outputs)`` returns a scalar tensor added to the loss of every batch,
        e.g. spectral decoupling ``lambda m, out: 0.5 * lam * (out ** 2).mean()``.
    X_val, y_val : torch.Tensor, optional
        Validation data, evaluated with the training data.
    evals_per_epoch : int
        How many evaluations per epoch (evenly spaced in steps), >= 1.
    callback : callable, optional
        ``callback(model)`` is called at every evaluation; the dict it returns is merged into
        the row (arrays are welcome: ``History[key]`` stacks them).
    generator : torch.Generator, optional
        Source of the minibatch order.
    progress : bool
        Show a progress bar over epochs (tqdm).

    Returns
    -------
    History
        One row at epoch 0 (before training) and one per evaluation after it.

    Example
    -------
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(64, 2, generator=g); y = (X[:, 0] > 0).long()
    >>> _ = torch.manual_seed(0)  # the initial weights (torch's global seed differs per run)
    >>> net = torch.nn.Linear(2, 2)
    >>> h = train(net, X, y, lr=0.5, epochs=50, target_accuracy=1.0)
    >>> h.stopped_because, h.final["train_acc"]
    ('target_accuracy', 1.0)
    """
    check_option("loss", loss, LOSSES)
    _check_data(X, y, loss=loss)
    cfg = make_config(n=X.shape[0], loss=loss, optimizer=optimizer, lr=lr, momentum=momentum,
                      weight_decay=weight_decay, batch_size=batch_size, epochs=epochs,
                      max_steps=max_steps, target_accuracy=target_accuracy,
                      evals_per_epoch=evals_per_epoch, X_val=X_val, y_val=y_val)
    if X_val is not None:
        _check_data(X_val, y_val, name="X_val", loss=loss)
        if X_val.shape[1] != X.shape[1]:
            raise ValueError(f"X_val must have the features of X: {X.shape[1]} columns, got "
                             f"{X_val.shape[1]}")
    _check_model_takes(model, X, y, loss)
    if X_val is not None:
        _check_model_takes(model, X_val, y_val, loss, name="X_val")

    opt = _make_optimizer(model, optimizer, cfg.lr[0], cfg.momentum, cfg.weight_decay[0])
    history = History()

    def record(epoch: float, step: int) -> dict:
        row = _evaluation_row(model, loss, epoch, step, [("train", X, y), ("val", X_val, y_val)])
        row.update((callback(model) or {}) if callback is not None else {})
        history.rows.append(row)
        return row

    record(0, 0)
    step, eval_at = 0, cfg.eval_at
    # Closed on every way out (early stops return from inside the loop), so the bar shows
    # where training ended.
    with progress_bar(range(cfg.epochs), desc="training", disable=not progress) as bar:
        for epoch in bar:
            order = torch.randperm(cfg.n, generator=generator)
            for i in range(cfg.steps_per_epoch):
                idx = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
                _step(model, opt, X[idx], y[idx], loss, penalty)
                step += 1
                reason = _after_step(cfg, history, record, eval_at, epoch, i, step)
                if reason is not None:
                    history.stopped_because = reason
                    return history
            if progress:
                bar.set_postfix(train_acc=f"{history.rows[-1]['train_acc']:.3f}")
    history.stopped_because = "epochs"
    return history


def _evaluation_row(model: nn.Module, loss: str, epoch: float, step: int, sets) -> dict:
    """A History row: epoch, step, then loss and accuracy on each (prefix, X, y) given."""
    row = {"epoch": epoch, "step": step}
    for prefix, A, b in sets:
        if A is not None:
            metrics = _evaluate(model, A, b, loss)
            row.update({f"{prefix}_loss": metrics["loss"], f"{prefix}_acc": metrics["accuracy"]})
    return row


def _step(model: nn.Module, opt: torch.optim.Optimizer, Xb: torch.Tensor, yb: torch.Tensor,
          loss: str, penalty) -> None:
    """One optimizer step on the minibatch ``(Xb, yb)``, with the penalty if any."""
    outputs = model(Xb)
    batch_loss = loss_fn(outputs, yb, loss)
    if penalty is not None:
        batch_loss = batch_loss + penalty(model, outputs)
    opt.zero_grad()
    batch_loss.backward()
    opt.step()


def _after_step(cfg: TrainConfig, history: History, record, eval_at: set[int], epoch: int,
                i: int, step: int) -> str | None:
    """Evaluate if due; return why training stops now (a target, the step budget) or None."""
    at = epoch + (i + 1) / cfg.steps_per_epoch
    if (i + 1) in eval_at:
        reason = cfg.target_reached(record(at, step))
        if reason is not None:
            return reason
    if cfg.max_steps is not None and step >= cfg.max_steps:
        if history.rows[-1]["step"] != step:
            record(at, step)
        return "max_steps"
    return None
