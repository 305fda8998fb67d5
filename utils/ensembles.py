"""Ensembles: train many small, independent MLPs as one batched computation.

The labs' sweeps train dozens of tiny networks. One at a time, each step of each network
pays PyTorch's fixed cost per operation many times over, and that overhead, not arithmetic,
sets the time. :func:`train_ensemble` trains K networks together: every step is a handful of
batched matrix products over all of them, and the result for each network is what
:func:`utils.training.train` would have given for it alone (same losses, optimizers,
evaluation rows and stopping rules), up to float rounding.

The parts: the arguments are checked once into a :class:`utils.engine.TrainConfig` (as
:func:`utils.training.train` checks its own); :mod:`utils.stack_plan` groups the networks
by width, :mod:`utils.stack` holds them as stacked, padded tensors (and says why each
network's trajectory stays its own), :mod:`utils.stack_losses` gives the per-network
losses and :mod:`utils.stack_optim` the optimizers. This module holds the loop.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch
from torch import nn

from utils.progress import progress_bar
from utils.training import History

from .engine import TrainConfig, check_data, make_config
from .stack import _Stack
from .stack_losses import _after_true_class, _member_accuracies, _member_losses
from .stack_optim import _Optimizer
from .stack_plan import _check_same_family, _spec, plan_groups

__all__ = ["train_ensemble", "plan_groups", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "adam", "adamw")


# --------------------------------------------------------------------------------------------
# Reading the arguments
# --------------------------------------------------------------------------------------------


def _check_targets(y: torch.Tensor, loss: str, n_out: int, name: str) -> None:
    """Labels that the loss can use with ``n_out`` outputs (else torch fails obscurely)."""
    integer = y.dtype in (torch.int64, torch.int32)
    if loss == "logistic":
        if n_out != 1:
            raise ValueError(f"loss='logistic' needs models with 1 output, got {n_out}")
        if not bool(((y == 0) | (y == 1)).all()):
            raise ValueError(f"loss='logistic' needs labels in {{0, 1}} in {name}")
    elif loss == "cross_entropy" or integer:
        if not integer:
            raise ValueError(f"loss={loss!r} needs integer class labels in {name}, "
                             f"got dtype {y.dtype}")
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_out):
            raise ValueError(f"{name} holds labels outside 0..{n_out - 1} (the models have "
                             f"{n_out} outputs)")
    elif y.numel() // max(y.shape[0], 1) != n_out:
        raise ValueError(f"real-valued targets in {name} must have {n_out} value(s) per "
                         f"example (the models' outputs), got shape {tuple(y.shape)}")


def _generators(generator, K: int) -> tuple[torch.Generator | None,
                                            list[torch.Generator] | None]:
    """(the shared generator or None, the list of K own generators or None)."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator, None
    if not isinstance(generator, (list, tuple)):
        raise TypeError(f"generator must be a torch.Generator (one order shared by all "
                         f"models) or a list of {K} (one per model), got "
                         f"{type(generator).__name__}")
    gens = list(generator)
    if len(gens) != K:
        raise ValueError(f"generator must be one torch.Generator or a list of {K} (one per "
                         f"model), got a list of {len(gens)}")
    for i, g in enumerate(gens):
        if not isinstance(g, torch.Generator):
            raise TypeError(f"generator[{i}] must be a torch.Generator, got "
                             f"{type(g).__name__}")
    seen: dict[int, int] = {}
    for i, g in enumerate(gens):
        if id(g) in seen:
            raise ValueError(f"generator[{seen[id(g)]}] and generator[{i}] are the same "
                             f"torch.Generator: trained alone, each network would draw every "
                             f"order from its own; give each its own, or pass one generator "
                             f"to share one order")
        seen[id(g)] = i
    return None, gens


def _member_masks(masks, models: list[nn.Sequential],
                  dtype: torch.dtype) -> list[list[torch.Tensor | None]] | None:
    """Per model, per Linear layer: the weight's 0/1 mask as ``dtype``, or None (no mask)."""
    if masks is None:
        return None
    K = len(models)
    if not isinstance(masks, (list, tuple)):
        raise TypeError(f"masks must be a list of {K} entries, one per model (None, a dict "
                         f"of weight name -> 0/1 tensor as utils.pruning makes, or a list of "
                         f"one tensor or None per Linear layer), got {type(masks).__name__}")
    if len(masks) != K:
        raise ValueError(f"masks must hold one entry per model ({K}), got {len(masks)}")
    out = []
    for i, (entry, model) in enumerate(zip(masks, models)):
        linears = list(model)[0::2]
        names = [f"{2 * l}.weight" for l in range(len(linears))]
        if entry is None:
            layers = [None] * len(linears)
        elif isinstance(entry, Mapping):
            unknown = [name for name in entry if name not in names]
            if unknown:
                raise ValueError(f"masks[{i}] names {unknown}, not weights of models[{i}]: "
                                 f"its weights are {names} (biases are never masked)")
            layers = [entry.get(name) for name in names]
        elif isinstance(entry, (list, tuple)):
            if len(entry) != len(linears):
                raise ValueError(f"masks[{i}] must hold one mask (or None) per Linear layer "
                                 f"of models[{i}] ({len(linears)}), got {len(entry)}")
            layers = list(entry)
        else:
            raise TypeError(f"masks[{i}] must be None, a dict of weight name -> tensor, or a "
                             f"list of one tensor (or None) per layer, got "
                             f"{type(entry).__name__}")
        for l, (mask, linear) in enumerate(zip(layers, linears)):
            if mask is None:
                continue
            where = f"masks[{i}][{names[l]!r}]"
            if not isinstance(mask, torch.Tensor):
                raise TypeError(f"{where} must be a torch tensor, got {type(mask).__name__}")
            if tuple(mask.shape) != tuple(linear.weight.shape):
                raise ValueError(f"{where} has shape {tuple(mask.shape)}, but the weight "
                                 f"{names[l]} of models[{i}] has shape "
                                 f"{tuple(linear.weight.shape)}")
            binary = (mask == 0) | (mask == 1)
            if not bool(binary.all()):
                bad = mask[~binary].reshape(-1)[0].item()
                raise ValueError(f"{where} must hold only 0 and 1 (or False and True): 1 "
                                 f"keeps a weight, 0 prunes it; got the value {bad}")
            layers[l] = mask.detach().to(dtype)
        out.append(layers)
    return out if any(m is not None for layers in out for m in layers) else None

def train_ensemble(models: Sequence[nn.Sequential], X: torch.Tensor, y: torch.Tensor, *,
                   loss: str = "cross_entropy", optimizer: str = "adam",
                   lr: float | Sequence[float] = 1e-3,
                   weight_decay: float | Sequence[float] = 0.0, momentum: float = 0.0,
                   batch_size: int | None = None, epochs: int = 100,
                   max_steps: int | None = None, target_accuracy: float | None = None,
                   target_loss: float | None = None, X_val: torch.Tensor | None = None,
                   y_val: torch.Tensor | None = None, evals_per_epoch: int = 1,
                   callback: Callable[[nn.Module], Mapping | None] | None = None,
                   masks: Sequence | None = None,
                   generator: torch.Generator | Sequence[torch.Generator] | None = None,
                   progress: bool = False) -> list[History]:
    """Train K independent MLPs on ``(X, y)`` at once; return one History per network.

    Each network ends as :func:`utils.training.train` would leave it if trained alone from
    the same initial weights, with the same optimizer and the same minibatch order (to float
    rounding), and its History has the same rows and columns. The trained weights are
    written back into each model, in place. Unlike :func:`utils.training.train` there is no
    ``penalty`` (it acts on one network's graph).

    Parameters
    ----------
    models : sequence of nn.Sequential
        K distinct networks from :func:`utils.models.mlp` with the same depth, input and
        output sizes, activation and bias setting; hidden widths may differ.
    X, y : torch.Tensor
        Features (n, d) and labels (n,), as for :func:`utils.training.train`.
    loss : {'cross_entropy', 'mse', 'logistic'}
        As :func:`utils.training.loss_fn`.
    optimizer : {'sgd', 'adam', 'adamw'}
        'adam' adds ``weight_decay * w`` to the gradient (coupled L2, ``torch.optim.Adam``,
        as :func:`utils.training.train`); 'adamw' shrinks the weights by ``lr *
        weight_decay`` apart from the gradient (decoupled, ``torch.optim.AdamW``). Note the
        defaults differ from :func:`utils.training.train`'s ('sgd', lr 0.1).
    lr : float or list of K floats
        Learning rate(s), > 0.
    weight_decay : float or list of K floats
        Weight decay(s), >= 0.
    momentum : float
        SGD momentum in [0, 1) (only with ``optimizer='sgd'``).
    batch_size : int, optional
        Minibatch size; None means full batch.
    epochs : int
        Maximum passes over the data, >= 1.
    max_steps : int, optional
        Step budget: every network stops after this many updates.
    target_accuracy : float, optional
        A network stops at its first evaluation whose training accuracy reaches this value,
        in (0, 1]; the others go on.
    target_loss : float, optional
        A network stops at its first evaluation whose training loss is at most this value
        (> 0); ``stopped_because`` is then 'target_loss'.
    X_val, y_val : torch.Tensor, optional
        Validation data, evaluated with the training data.
    evals_per_epoch : int
        Evaluations per epoch (evenly spaced in steps), >= 1.
    callback : callable, optional
        As in :func:`utils.training.train`: at every evaluation (epoch 0 included),
        ``callback(model)`` is called for each network still training, with
        ``models[k]`` itself holding network k's current weights (written back in place
        first); the dict it returns is merged into that network's row (arrays are welcome:
        ``History[key]`` stacks them). Tell networks apart by identity (``model is
        models[k]``). It must not change the model: the batch trains its own copy. Each
        call costs a write-back and whatever the callback computes, one network at a time.
    masks : list of K entries, optional
        Per network, None (dense) or the weights to prune: a dict of weight name -> 0/1 (or
        bool) tensor of that weight's shape, as :mod:`utils.pruning` makes (names
        ``'0.weight'``, ``'2.weight'``, ...; a weight it does not name is dense), or a list
        of one tensor (or None) per Linear layer. A pruned weight (0) is set to 0 at the
        start, its gradient is zeroed and it is zeroed again after every step, so it stays
        exactly 0 with every optimizer (as after :func:`utils.pruning.apply_masks`).
        Biases are never masked.
    generator : torch.Generator or list of K torch.Generators, optional
        Source of the minibatch order. One generator: every network sees the order
        :func:`utils.training.train` would draw from it (one shared order). A list:
        network k draws its own order from ``generator[k]``, as ``train(models[k], ...,
        generator=generator[k])`` would, and each generator is left as that run would leave
        it (an order drawn per epoch while the network trains). In full-batch training the
        order only permutes the sum over examples, so the generators are drawn from as
        ``train`` would but the networks share the batch.
    progress : bool
        Show a progress bar over epochs.

    Returns
    -------
    list of History
        ``histories[k]`` for ``models[k]``: a row at epoch 0 and one per evaluation until
        that network stopped, with ``stopped_because`` one of 'target_accuracy',
        'target_loss', 'max_steps', 'epochs'.

    Example
    -------
    >>> from utils.models import mlp
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(64, 2, generator=g); y = (X[:, 0] > 0).long()
    >>> nets = [mlp(2, [w], 2, generator=g) for w in (2, 8, 32)]
    >>> hs = train_ensemble(nets, X, y, lr=0.05, epochs=300, target_accuracy=1.0)
    >>> [h.stopped_because for h in hs], [h.final["train_acc"] for h in hs]
    (['target_accuracy', 'target_accuracy', 'target_accuracy'], [1.0, 1.0, 1.0])

    Each network with its own data order, a record per checkpoint, and a pruned weight:

    >>> gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
    >>> nets = [mlp(2, [8], 2, generator=gen) for gen in gens]
    >>> prune = {"0.weight": torch.ones(8, 2)}; prune["0.weight"][0, 0] = 0
    >>> hs = train_ensemble(nets, X, y, optimizer="sgd", lr=0.1, batch_size=16, epochs=3,
    ...                     generator=gens, masks=[prune, None],
    ...                     callback=lambda m: {"w00": m[0].weight[0, 0].item()})
    >>> len(hs[0].rows), hs[0]["w00"].tolist() == [0.0] * 4, nets[1][0].weight[0, 0] != 0
    (4, True, tensor(True))
    """
    cfg, specs, shared, generators, member_masks = _read_arguments(
        models, X, y, X_val, y_val, callback, masks, generator, dict(
            loss=loss, optimizer=optimizer, lr=lr, weight_decay=weight_decay,
            momentum=momentum, batch_size=batch_size, epochs=epochs, max_steps=max_steps,
            target_accuracy=target_accuracy, target_loss=target_loss,
            evals_per_epoch=evals_per_epoch))
    sets = [("X", X, y)] + ([("X_val", X_val, y_val)] if X_val is not None else [])
    run = _EnsembleRun(list(models), specs, cfg, sets, callback, member_masks, generators)
    with progress_bar(range(cfg.epochs), desc="training ensemble",
                      disable=not progress) as bar:
        for epoch in bar:
            if _train_epoch(run, epoch, run.draw_orders(shared)):
                return run.histories
            if progress:
                bar.set_postfix(training=f"{len(run.stack.members)}/{len(run.models)}")
        run.stop({m: "epochs" for m in run.stack.members})
    return run.histories


def _read_arguments(models, X, y, X_val, y_val, callback, masks, generator, options: dict):
    """Check every argument of :func:`train_ensemble` once; return the config, the networks'
    specs, the shared generator (or None), the own generators (or None) and the masks."""
    if isinstance(models, nn.Module):
        raise TypeError("models must be a list of networks; for a single one pass [model] "
                        "or use utils.training.train")
    models = list(models)
    if not models:
        raise ValueError("models must hold at least one network")
    if len({id(m) for m in models}) != len(models):
        raise ValueError("models must be distinct objects: the same network appears twice, "
                         "and its weights cannot be trained twice in place")
    specs = [_spec(m, i) for i, m in enumerate(models)]
    _check_same_family(specs)
    check_data(X, y)
    cfg = make_config(n=X.shape[0], members=len(models), optimizers=OPTIMIZERS, X_val=X_val,
                      y_val=y_val, callback=callback, **options)
    shared, generators = _generators(generator, len(models))
    member_masks = _member_masks(masks, models, specs[0].dtype)
    d_in, d_out = specs[0].sizes[0], specs[0].sizes[-1]
    sets = [("X", X, y)] + ([("X_val", X_val, y_val)] if X_val is not None else [])
    for name, A, b in sets:
        check_data(A, b, name, cfg.loss)
        if A.shape[1] != d_in:
            raise ValueError(f"{name} has {A.shape[1]} features but the models take {d_in}")
        if A.dtype != specs[0].dtype:
            raise ValueError(f"{name} has dtype {A.dtype} but the models' parameters are "
                             f"{specs[0].dtype}")
        _check_targets(b, cfg.loss, d_out, "y" + name[1:])
    return cfg, specs, shared, generators, member_masks


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


class _EnsembleRun:
    """One :func:`train_ensemble` call's state: the stack, its optimizer, the histories, the
    data as the steps use it, and an evaluation waiting for the next forward pass.

    Full batch (``reuse``): the forward pass of step t + 1 sees the same parameters and
    examples as the evaluation after step t, so that evaluation is read off it instead of
    computed again (``pending``); a network that reached its target then leaves before step
    t + 1. Every network's batch is then the whole set as it is: an order would only permute
    the sums over examples (the generators are still drawn from, as ``train`` draws them).
    Minibatches of their own (``own``): each network's examples are gathered into a
    ``(K, b, in)`` batch, rows in the stack's order.
    """

    def __init__(self, models, specs, cfg: TrainConfig, sets, callback, masks, generators):
        _, X, y = sets[0]
        self.models, self.cfg, self.sets, self.callback = models, cfg, sets, callback
        self.generators = generators
        plan = plan_groups([s.sizes for s in specs], batch_size=min(cfg.batch_size, cfg.n))
        self.stack = _Stack(models, specs[0], plan, masks)
        self.opt = _Optimizer(cfg.optimizer, self.stack, list(cfg.lr), list(cfg.weight_decay),
                              cfg.momentum)
        self.histories = [History() for _ in models]
        self.step, self.pending = 0, None
        self.steps_per_epoch, self.eval_at = cfg.steps_per_epoch, cfg.eval_at
        self.last_step = cfg.last_step
        self.reuse = cfg.full_batch
        self.own = generators is not None and not self.reuse
        self.keep_mask = self.stack.keep_mask
        # The inputs with the column of ones that the written-out backward pass needs, once.
        self.with_ones = self.stack.manual and self.stack.bias
        self.X_in = torch.cat([X, X.new_ones(cfg.n, 1)], dim=1) if self.with_ones else X
        self.y = y
        # Full batch: what the accuracy needs of the labels, computed once.
        self.after = (_after_true_class(y, specs[0].sizes[-1], X.dtype)
                      if self.reuse and cfg.loss != "logistic"
                      and y.dtype in (torch.int64, torch.int32) else None)
        self.record(0, 0)

    def record(self, epoch: float, step: int, train_metrics: tuple | None = None) -> list[dict]:
        """Evaluate every network still training, append its row, return rows in order.

        ``train_metrics`` (losses, accuracies), when given, are the training set's, already
        computed from the forward pass of the next step.
        """
        stack, loss = self.stack, self.cfg.loss
        rows = [{"epoch": epoch, "step": step} for _ in stack.members]
        with torch.no_grad():
            for prefix, A, b in self.sets:
                key = "train" if prefix == "X" else "val"
                if key == "train" and train_metrics is not None:
                    losses, accs = train_metrics
                else:
                    out = stack.forward(A)
                    losses = _member_losses(out, b, loss).tolist()
                    accs = _member_accuracies(out, b, loss).tolist()
                for row, loss_value, acc in zip(rows, losses, accs):
                    row[f"{key}_loss"], row[f"{key}_acc"] = loss_value, acc
        if self.callback is not None:
            for m, row in zip(stack.members, rows):
                stack.write_back(m, self.models[m])
                extra = self.callback(self.models[m])
                if extra is not None and not isinstance(extra, Mapping):
                    raise TypeError(f"callback must return a dict (merged into the row) or "
                                    f"None, got {type(extra).__name__}")
                row.update(extra or {})
        for m, row in zip(stack.members, rows):
            self.histories[m].rows.append(row)
        return rows

    def targets(self, rows: list[dict]) -> dict[int, str]:
        """The networks whose row reaches a target, with the target's name."""
        reasons = ((m, self.cfg.target_reached(row)) for m, row in zip(self.stack.members, rows))
        return {m: reason for m, reason in reasons if reason is not None}

    def stop(self, stopped: dict[int, str], also: Sequence[torch.Tensor] = ()) -> list:
        """Networks ``stopped`` (index -> reason) leave the batch, weights written back;
        returns ``also`` (tensors laid out like the parameters) without their entries."""
        for m, reason in stopped.items():
            self.stack.write_back(m, self.models[m])
            self.histories[m].stopped_because = reason
        remaining = set(self.stack.members) - set(stopped)
        if not remaining:
            self.stack.groups = []
            return list(also)
        also = self.opt.keep(self.stack, remaining, also)
        self.keep_mask = self.stack.keep_mask
        return also

    def draw_orders(self, shared: torch.Generator | None) -> torch.Tensor:
        """This epoch's order: one drawn as ``train`` draws it, or one per network still
        training, each from its own generator (as ``train`` would)."""
        if self.generators is None:
            return torch.randperm(self.cfg.n, generator=shared)
        orders = torch.zeros(len(self.models), self.cfg.n, dtype=torch.long)
        for m in sorted(self.stack.members):
            orders[m] = torch.randperm(self.cfg.n, generator=self.generators[m])
        return orders

    def batch(self, order: torch.Tensor, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``i``-th minibatch of this epoch (the whole set in full-batch training)."""
        if self.reuse:
            return self.X_in, self.y
        part = slice(i * self.cfg.batch_size, (i + 1) * self.cfg.batch_size)
        idx = order[self.stack.members, part] if self.own else order[part]
        return self.X_in[idx], self.y[idx]

    def gradient(self, Xb: torch.Tensor, yb: torch.Tensor) -> tuple:
        """Per-network losses, outputs, and the gradient of their sum (each network's
        gradient is that of its own loss), laid out like ``theta``."""
        stack = self.stack
        if stack.manual:
            losses, outputs = stack.loss_and_grad(Xb, yb, self.cfg.loss, self.own,
                                                  self.with_ones)
            return losses, outputs, stack.grad
        outputs = stack.forward(Xb)
        losses = _member_losses(outputs, yb, self.cfg.loss, own=self.own)
        return losses, outputs, stack.flat_grad(losses.sum())

    def record_pending(self, losses, outputs, yb, grad: torch.Tensor) -> torch.Tensor:
        """Record the evaluation read off this forward pass; networks reaching a target
        leave; return ``grad`` without their entries."""
        with torch.no_grad():
            accs = _member_accuracies(outputs, yb, self.cfg.loss, self.after).tolist()
        rows = self.record(*self.pending, train_metrics=(losses.tolist(), accs))
        self.pending = None
        stopped = self.targets(rows)
        if stopped:
            (grad,) = self.stop(stopped, [grad])
        return grad

    def update(self, grad: torch.Tensor) -> None:
        """One optimizer step; pruned weights get no gradient and are 0 after it."""
        self.step += 1
        if self.keep_mask is not None:
            grad.mul_(self.keep_mask)
            self.opt.step(self.stack.theta, grad, self.step)
            self.stack.theta.mul_(self.keep_mask)
        else:
            self.opt.step(self.stack.theta, grad, self.step)

    def after_step(self, epoch: int, i: int) -> bool:
        """Evaluate if due (or leave it pending), apply the stopping rules; True when every
        network has stopped."""
        step, stopped = self.step, {}
        at = epoch + (i + 1) / self.steps_per_epoch
        if (i + 1) in self.eval_at:
            if self.reuse and step < self.last_step:
                self.pending = (at, step)
                return False
            stopped = self.targets(self.record(at, step))
        if self.cfg.max_steps is not None and step >= self.cfg.max_steps:
            if stopped:
                self.stop(stopped)
                stopped = {}
            if self.stack.groups:
                if self.histories[self.stack.members[0]].rows[-1]["step"] != step:
                    self.record(at, step)
                stopped = {m: "max_steps" for m in self.stack.members}
        if stopped:
            self.stop(stopped)
        return not self.stack.groups


def _train_epoch(run: _EnsembleRun, epoch: int, order: torch.Tensor) -> bool:
    """One pass over the data; True when every network has stopped."""
    for i in range(run.steps_per_epoch):
        Xb, yb = run.batch(order, i)
        losses, outputs, grad = run.gradient(Xb, yb)
        if run.pending is not None:
            grad = run.record_pending(losses, outputs, yb, grad)
            if not run.stack.groups:
                return True
        run.update(grad)
        if run.after_step(epoch, i):
            return True
    return False
