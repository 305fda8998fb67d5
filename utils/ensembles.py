"""Ensembles: train many small, independent MLPs as one batched computation.

The labs' sweeps train dozens of tiny networks. One at a time, each step of each network
pays PyTorch's fixed cost per operation (tens of microseconds) many times over, and that
overhead, not arithmetic, sets the time. :func:`train_ensemble` trains K networks together:
every step is a handful of batched matrix products over all of them, and the result for
each network is what :func:`utils.training.train` would have given for it alone (same
losses, optimizers, evaluation rows and stopping rules), up to float rounding.

How (and why this way)
----------------------
Padded batched matrix products, not ``torch.vmap``. ``torch.func.stack_module_state`` with
``torch.vmap`` over ``functional_call`` needs identical shapes, so networks of different
widths must be zero-padded either way, and the optimizer must be written over stacked
tensors either way; explicit products make the padding, and what keeps it inert, visible,
and let the first layer be one matrix product for all networks (below). So: the first layers
of all networks are the rows of one weight matrix (their biases one more column, met by a
column of ones), and the shared input batch meets them all in one ``mm``; each later layer
is one ``baddbmm`` per group of networks (see ``_Stack``). For ReLU, tanh and linear models
the backward pass is written out (``_Stack.loss_and_grad``): the products autograd would
run, each written into its block of one gradient buffer, activations overwritten in place,
so a step costs a few dozen operations whatever K is (GELU goes through autograd). Why a
narrow network's trajectory stays its own:

- a padded hidden unit has zero incoming weights and bias and zero outgoing weights, so its
  pre-activation is 0, its output is act(0) = 0 for ReLU, tanh and GELU, and every gradient
  that reaches a padded weight is a product with a zero factor: exactly 0. SGD, Adam and
  AdamW then leave the padded weights at exactly 0 (zero gradient, zero moments, zero
  decay); the zeros add nothing to the real units' sums, so only float rounding (the order
  of the sums inside a matrix product) differs from training the network alone.
- padding a 4-unit network to 256 units would waste most of the arithmetic, so networks are
  sorted by size and split into groups, each padded only to its own widest member
  (:func:`plan_groups` picks the split that minimises an estimate of the time per step).
- data order: with one ``generator`` every network sees the minibatch order
  :func:`utils.training.train` draws from it; with a list, network k draws its own order
  from ``generator[k]``, its minibatch is gathered into a ``(K, b, in)`` batch and the
  first layer too becomes one batched product per group.
- masks (pruned weights) are one 0/1 tensor laid out like the parameters: the pruned
  weights start at 0, their gradient is multiplied by 0 and they are zeroed again after
  every step, so they stay exactly 0 whatever the optimizer.
- a ``callback`` sees each network as :func:`utils.training.train`'s does: its weights are
  written back into the model before the call.
- a network that reaches its stopping rule (target accuracy, target loss, step budget)
  leaves the batch: its weights are written back and no longer change, and its optimizer
  state goes with it, while the others go on.
- in full-batch training the batch is the training set as it is (an order would only
  permute the sums over examples; the generators are still drawn from as
  :func:`utils.training.train` draws them), and the evaluation after step t is read off the
  forward pass of step t + 1 (same parameters, same examples) instead of computed again.

The optimizers are written out on the stacked tensors, operation for operation as
``torch.optim.SGD``, ``torch.optim.Adam`` (coupled L2 ``weight_decay``, as
:func:`utils.training.train` uses it) and ``torch.optim.AdamW`` (decoupled weight decay)
compute them, with a learning rate and weight decay per network; when all networks share
them, Adam and AdamW run torch's fused kernel (what ``torch.optim.Adam(fused=True)`` runs:
one pass over the flat parameters), the same update up to float rounding.
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from utils.progress import progress_bar
from utils.training import LOSSES, History

from ._validation import check_choice, check_int, check_real

__all__ = ["train_ensemble", "plan_groups", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "adam", "adamw")
_ACTIVATIONS = (nn.ReLU, nn.Tanh, nn.GELU)  # each has act(0) = 0, which keeps padding inert
_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults, which utils.training.train uses
_EPS = 1e-8
# Fixed cost of one group per training step, in multiply-adds: four small products' overhead
# (tens of microseconds; the first layer is one product for all groups) at the rate a small
# matrix product reaches on one core. An estimate, and the split is not sensitive to it: on
# the benchmark's 32 networks, 5e5, 1e6, 2e6 and 4e6 give 20, 15, 10 and 8 groups and steps
# within 5 % of each other (measured 2026-12-02; the more groups, the less padding).
_GROUP_OVERHEAD_MACS = 1e6


# --------------------------------------------------------------------------------------------
# Reading the networks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    """The shape of one MLP: layer sizes [in, *hidden, out], activation type, bias."""

    sizes: tuple[int, ...]
    activation: type | None
    gelu_approximate: str | None
    bias: bool
    dtype: torch.dtype


def _spec(model, i: int) -> _Spec:
    """Check that ``model`` is an MLP as :func:`utils.models.mlp` builds it; return its shape."""
    where = f"models[{i}]"
    if not isinstance(model, nn.Sequential) or len(model) == 0:
        raise ValueError(f"{where} must be an MLP from utils.models.mlp (an nn.Sequential of "
                         f"Linear layers and activations), got {type(model).__name__}")
    layers = list(model)
    linears, activations = layers[0::2], layers[1::2]
    if (len(layers) % 2 != 1 or not all(isinstance(m, nn.Linear) for m in linears)
            or not all(isinstance(m, _ACTIVATIONS) for m in activations)):
        kinds = ", ".join(type(m).__name__ for m in layers)
        raise ValueError(f"{where} must alternate Linear layers and ReLU/Tanh/GELU "
                         f"activations, starting and ending with Linear; got {kinds}")
    if len({type(m) for m in activations}) > 1:
        raise ValueError(f"{where} mixes activations; every hidden layer must use the same one")
    biases = {m.bias is not None for m in linears}
    if len(biases) > 1:
        raise ValueError(f"{where} has bias in some layers only; use all or none")
    dtypes = {p.dtype for p in model.parameters()}
    if len(dtypes) > 1:
        raise ValueError(f"{where} mixes parameter dtypes {sorted(map(str, dtypes))}")
    for a, b in zip(linears[:-1], linears[1:]):
        if a.out_features != b.in_features:
            raise ValueError(f"{where}: a layer of {a.out_features} outputs feeds a layer of "
                             f"{b.in_features} inputs")
    sizes = (linears[0].in_features, *(m.out_features for m in linears))
    activation = type(activations[0]) if activations else None
    approx = activations[0].approximate if activation is nn.GELU else None
    return _Spec(sizes, activation, approx, biases.pop(), dtypes.pop())


def _check_same_family(specs: list[_Spec]) -> None:
    """Every network must have the same depth, input and output sizes, activation and bias."""
    first = specs[0]
    for i, s in enumerate(specs[1:], start=1):
        if len(s.sizes) != len(first.sizes):
            raise ValueError(
                f"all models must have the same depth: models[0] has {len(first.sizes) - 2} "
                f"hidden layer(s), models[{i}] has {len(s.sizes) - 2}")
        if s.sizes[0] != first.sizes[0] or s.sizes[-1] != first.sizes[-1]:
            raise ValueError(
                f"all models must have the same input and output sizes: models[0] maps "
                f"{first.sizes[0]} -> {first.sizes[-1]}, models[{i}] maps "
                f"{s.sizes[0]} -> {s.sizes[-1]}")
        if (s.activation, s.gelu_approximate) != (first.activation, first.gelu_approximate):
            raise ValueError(f"all models must use the same activation: models[0] uses "
                             f"{_name(first.activation)}, models[{i}] uses {_name(s.activation)}")
        if s.bias != first.bias:
            raise ValueError(f"models[0] and models[{i}] differ in having biases; all must agree")
        if s.dtype != first.dtype:
            raise ValueError(f"all models must have the same dtype: models[0] is {first.dtype}, "
                             f"models[{i}] is {s.dtype}")


def _name(activation: type | None) -> str:
    return "none (linear model)" if activation is None else activation.__name__


def _per_member(name: str, value, k: int, low: float, low_open: bool = False,
                high: float | None = None, high_open: bool = False) -> list[float]:
    """A float for every member, from one float or a list of ``k``; range-checked."""
    if isinstance(value, Real) and not isinstance(value, bool):
        values = [value] * k
    elif isinstance(value, (list, tuple, np.ndarray)) and not isinstance(value, str):
        values = list(value)
        if len(values) != k:
            raise ValueError(f"{name} must be a float or a list of {k} floats (one per model), "
                             f"got a list of {len(values)}")
    else:
        raise ValueError(f"{name} must be a float or a list of {k} floats, "
                         f"got {type(value).__name__}")
    return [check_real(f"{name}[{i}]" if len(set(map(float, values))) > 1 else name, v,
                       low, high, low_open=low_open, high_open=high_open)
            for i, v in enumerate(values)]


# --------------------------------------------------------------------------------------------
# Grouping networks by width
# --------------------------------------------------------------------------------------------


def _macs(sizes: Sequence[int]) -> int:
    """Multiply-adds per example of a forward pass through layers of these sizes."""
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def plan_groups(sizes: Sequence[Sequence[int]], batch_size: int = 1,
                overhead_macs: float = _GROUP_OVERHEAD_MACS) -> list[list[int]]:
    """Split networks into groups that are padded to a common width and trained together.

    A group of networks costs, per training step, a fixed overhead plus the arithmetic of
    all its members at the group's widest width in every layer. Networks are sorted by size
    and cut into consecutive runs; the cut minimising the estimated total is found exactly
    by dynamic programming.

    Parameters
    ----------
    sizes : sequence of sequences of int
        Layer sizes ``[in, *widths, out]`` of every network (all of the same length).
    batch_size : int
        Examples per step (more examples make padding dearer relative to the overhead).
    overhead_macs : float
        The fixed cost of one group per step, in multiply-adds.

    Returns
    -------
    list of lists of int
        Indices into ``sizes``, each group sorted by size, groups from narrow to wide.

    Example
    -------
    >>> plan_groups([[64, 4, 10], [64, 256, 10], [64, 5, 10], [64, 250, 10]], batch_size=300)
    [[0, 2], [3, 1]]
    >>> plan_groups([[64, 4, 10], [64, 256, 10]], batch_size=300, overhead_macs=1e12)
    [[0, 1]]
    """
    if not sizes:
        raise ValueError("sizes must hold at least one network")
    check_int("batch_size", batch_size, minimum=1)
    overhead_macs = check_real("overhead_macs", overhead_macs, 0.0)
    for i, size in enumerate(sizes):
        if isinstance(size, (str, bytes)) or not isinstance(size, Sequence):
            raise TypeError(f"sizes[{i}] must be a list of layer sizes [in, *widths, out], got "
                            f"{type(size).__name__}")
        if len(size) < 2 or len(size) != len(sizes[0]):
            raise ValueError(f"sizes[{i}] must list [in, *widths, out] like the others "
                             f"({len(sizes[0])} sizes), got {list(size)}")
        for j, width in enumerate(size):
            check_int(f"sizes[{i}][{j}]", width, minimum=1)
    order = sorted(range(len(sizes)), key=lambda i: (_macs(sizes[i]), tuple(sizes[i])))
    k = len(order)
    # best[j]: least cost of the first j networks (in sorted order); cut[j]: where the last
    # group of that best split starts.
    best = [0.0] + [float("inf")] * k
    cut = [0] * (k + 1)
    for j in range(1, k + 1):
        widest = list(sizes[order[j - 1]])
        for i in range(j - 1, -1, -1):  # group = order[i:j], grown leftwards
            widest = [max(a, b) for a, b in zip(widest, sizes[order[i]])]
            cost = best[i] + overhead_macs + 3 * batch_size * (j - i) * _macs(widest)
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups, j = [], k
    while j > 0:
        groups.append(order[cut[j]:j])
        j = cut[j]
    return groups[::-1]


# --------------------------------------------------------------------------------------------
# A group of networks as stacked tensors
# --------------------------------------------------------------------------------------------


class _Stack:
    """The parameters of all networks being trained, stacked and padded, in one flat tensor.

    Layout: activations are kept transposed, (units, examples), so that every product below
    reads and writes contiguous memory. The first layers of all networks are the rows of one
    ``(U, in + 1)`` matrix (the last column the biases; ``(U, in)`` without biases): each
    group takes ``K_g * w_g`` rows,
    ``w_g`` per member (the group's padded width), so the shared input batch meets every
    network's first layer in one matrix product, whose rows for group g are already the
    ``(K_g, w_g, n)`` batch of its members. Each later layer is, per group, a
    ``(K_g, out, in)`` weight (nn.Linear's layout) and a ``(K_g, out, 1)`` bias: one
    ``baddbmm``. All blocks are views into one flat tensor ``theta``, so the optimizer updates
    every network with a few whole-tensor operations; ``owner`` says which network each entry
    of ``theta`` belongs to.
    """

    def __init__(self, models: list[nn.Sequential], spec: _Spec, plan: list[list[int]],
                 masks: list[list[torch.Tensor | None]] | None = None):
        self.bias, self.dtype = spec.bias, spec.dtype
        self.activation = {nn.ReLU: torch.relu, nn.Tanh: torch.tanh}.get(
            spec.activation, lambda z: F.gelu(z, approximate=spec.gelu_approximate))
        self.depth = len(spec.sizes) - 1  # number of Linear layers
        # ReLU, tanh and linear models have their backward pass written out (loss_and_grad);
        # GELU goes through autograd (forward + flat_grad)
        self.manual = spec.activation in (None, nn.ReLU, nn.Tanh)
        self.groups = [list(g) for g in plan]
        sizes = [tuple(m[2 * l].in_features for l in range(self.depth)) +
                 (m[-1].out_features,) for m in models]
        self.widths = [[max(sizes[m][l] for m in g) for l in range(self.depth + 1)]
                       for g in self.groups]
        blocks, owners, keeps = [], [], []  # tensors, who owns each entry, the 0/1 mask
        for l in range(self.depth):
            for W, b, owner_W, owner_b, keep_W in self._layer(models, l, masks):
                blocks.append(W)
                owners.append(owner_W)
                keeps.append(keep_W)
                if b is not None:
                    blocks.append(b)
                    owners.append(owner_b)
                    keeps.append(torch.ones_like(b))
        self.theta = torch.cat([t.reshape(-1) for t in blocks])
        self.owner = torch.cat([o.reshape(-1) for o in owners])
        # With masks: 1 where a weight trains, 0 where it is pruned (and on the padding,
        # which is 0 anyway). The pruned weights start at 0, their gradient is zeroed and
        # they are zeroed again after every step (see train_ensemble).
        self.keep_mask = None
        if masks is not None:
            self.keep_mask = torch.cat([t.reshape(-1) for t in keeps])
            self.theta.mul_(self.keep_mask)
        self._make_views()

    def _layer(self, models, l: int, masks=None):
        """Layer ``l`` as blocks (weight, bias or None, owners of weight, owners of bias,
        0/1 mask of the weight: the member's mask, or ones, and 0 on the padding)."""
        pieces = []
        for g, w in zip(self.groups, self.widths):
            k, fan_in, fan_out = len(g), w[l], w[l + 1]
            W = torch.zeros(k, fan_out, fan_in, dtype=self.dtype)
            keep = torch.zeros(k, fan_out, fan_in, dtype=self.dtype)
            b = torch.zeros(k, fan_out, 1, dtype=self.dtype) if self.bias else None
            for j, m in enumerate(g):
                linear = models[m][2 * l]
                o, i = linear.weight.shape
                W[j, :o, :i] = linear.weight.detach()
                mask = masks[m][l] if masks is not None else None
                keep[j, :o, :i] = 1 if mask is None else mask
                if b is not None:
                    b[j, :o, 0] = linear.bias.detach()
            owner = torch.tensor(g, dtype=torch.long).view(k, 1, 1)
            pieces.append((W, b, owner.expand(W.shape),
                           owner.expand(b.shape) if b is not None else None, keep))
        if l > 0:
            return pieces
        # First layer: the groups' rows stacked, (sum_g K_g w_g, in), with the bias as one
        # more column (the inputs get a column of ones), so that one product gives both.
        def rows(tensors):
            return torch.cat([t.reshape(-1, t.shape[2]) for t in tensors])
        W, owner, keep = (rows([p[i] for p in pieces]) for i in (0, 2, 4))
        if self.bias:
            W = torch.cat([W, rows([p[1] for p in pieces])], dim=1)
            owner = torch.cat([owner, owner[:, :1]], dim=1)
            keep = torch.cat([keep, torch.ones_like(keep[:, :1])], dim=1)
        return [(W, None, owner, None, keep)]

    def _shapes(self) -> list[tuple[int, ...]]:
        """Shapes of the blocks in ``theta``, in order."""
        units = sum(len(g) * w[1] for g, w in zip(self.groups, self.widths))
        shapes = [(units, self.widths[0][0] + self.bias)]
        for l in range(1, self.depth):
            for g, w in zip(self.groups, self.widths):
                shapes.append((len(g), w[l + 1], w[l]))
                if self.bias:
                    shapes.append((len(g), w[l + 1], 1))
        return shapes

    def _make_views(self) -> None:
        """Leaf tensors that share ``theta``'s memory: what forward() differentiates; and the
        same blocks of a flat gradient buffer, per group, for :meth:`loss_and_grad`."""
        self.params, self.grad_views, offset = [], [], 0
        self.buffers: dict[str, torch.Tensor] = {}
        grad_views = self.grad_views
        self.grad = torch.empty_like(self.theta)
        for shape in self._shapes():
            size = int(np.prod(shape))
            view = self.theta[offset:offset + size].view(shape)
            self.params.append(view.detach().requires_grad_(True))
            grad_views.append(self.grad[offset:offset + size].view(shape))
            offset += size
        # Per group g and layer l: (weight, bias or None, weight's grad, bias's grad or None),
        # the first layer's as 2-D blocks of rows (K_g w_g, in) and (K_g w_g, 1).
        units = [len(g) * w[1] for g, w in zip(self.groups, self.widths)]
        self.blocks = [[] for _ in self.groups]
        first = [t.split(units) for t in (self.params[0], grad_views[0])]
        for gi in range(len(self.groups)):
            self.blocks[gi].append((first[0][gi], None, first[1][gi], None))  # bias: last column
            for l in range(1, self.depth):
                index = self._index(l, gi)
                b = index + 1 if self.bias else None
                self.blocks[gi].append((self.params[index], self.params[b] if b else None,
                                        grad_views[index], grad_views[b] if b else None))

    @torch.no_grad()
    def loss_and_grad(self, X: torch.Tensor, y: torch.Tensor, loss: str, own: bool,
                      with_ones: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-network losses ``(K,)`` and outputs ``(K, out, n)``; the gradient of the
        summed losses is written into ``self.grad`` (laid out like ``theta``).

        The backward pass written out (ReLU, tanh or none): the products autograd would
        run, without its bookkeeping, each result written into its block of a buffer (no
        concatenations), activations overwritten in place. The first layer is one product
        for all networks each way (with ``own`` inputs, one per group), and so are its
        activation and the activation's derivative. ``X`` is ``(n, in)``, or ``(K, n, in)``
        with ``own``: each network's own examples (``y`` then ``(K, n)``); ``with_ones``: ``X``
        already ends with the column of ones that meets the biases.
        """
        n = X.shape[-2]
        relu = self.activation is torch.relu
        sizes = [len(g) for g in self.groups]
        units = [len(g) * w[1] for g, w in zip(self.groups, self.widths)]
        W0 = self.params[0]
        if self.bias and not with_ones:  # a column of ones meets the first layer's biases
            X = torch.cat([X, X.new_ones(X.shape[:-1] + (1,))], dim=-1)
        Xs = X.transpose(1, 2).split(sizes) if own else None  # (K_g, in, n)
        # first layer of all networks: (U, n), rows group by group
        h1, h1s = self._buffer("h1", (sum(units), n))
        if own:
            for gi, (g, w) in enumerate(zip(self.groups, self.widths)):
                W = self.blocks[gi][0][0]
                torch.bmm(W.view(len(g), w[1], -1), Xs[gi], out=h1s[gi])
        else:
            torch.mm(W0, X.T, out=h1)
        if self.depth == 1:  # linear models: the first layer is the output
            out = h1.view(sum(sizes), -1, n)
            hidden = None
        else:
            h1 = h1.relu_() if relu else h1.tanh_()
            out, outs = self._buffer("out", (sum(sizes), self.widths[0][-1], n))
            hidden = []  # per group: the activations entering layers 1 .. depth - 1
            for gi in range(len(self.groups)):
                h, hs = h1s[gi], [h1s[gi]]
                for l in range(1, self.depth):
                    W, b, _, _ = self.blocks[gi][l]
                    target = outs[gi] if l == self.depth - 1 else None
                    h = (torch.bmm(W, h, out=target) if b is None else
                         torch.baddbmm(b, W, h, out=target))
                    if l < self.depth - 1:
                        h = h.relu_() if relu else h.tanh_()
                        hs.append(h)
                hidden.append(hs)
        losses, d_out = _member_losses_and_grads(out, y, loss, own)
        if self.depth == 1:
            dz1 = d_out.view(sum(units), n)
        else:
            dz1, dz1s = self._buffer("dz1", (sum(units), n))
            for gi, dz in enumerate(d_out.split(sizes)):
                hs = hidden[gi]
                for l in range(self.depth - 1, 0, -1):
                    W, _, gW, gb = self.blocks[gi][l]
                    h = hs[l - 1]
                    torch.bmm(dz, h.transpose(1, 2), out=gW)
                    if gb is not None:
                        torch.sum(dz, dim=2, keepdim=True, out=gb)
                    if l > 1:
                        dh = torch.bmm(W.transpose(1, 2), dz)
                        dz = (torch.ops.aten.threshold_backward(dh, h, 0) if relu else
                              torch.ops.aten.tanh_backward(dh, h))
                    else:  # into the first layer's buffer; its derivative comes below
                        torch.bmm(W.transpose(1, 2), dz, out=dz1s[gi])
            if relu:
                torch.ops.aten.threshold_backward.grad_input(dz1, h1, 0, grad_input=dz1)
            else:
                torch.ops.aten.tanh_backward.grad_input(dz1, h1, grad_input=dz1)
        gW0 = self.grad_views[0]
        if own:
            for gi, (g, w) in enumerate(zip(self.groups, self.widths)):
                _, _, gW, _ = self.blocks[gi][0]
                dz = dz1.split(units)[gi].view(len(g), w[1], n)
                torch.bmm(dz, Xs[gi].transpose(1, 2), out=gW.view(len(g), w[1], -1))
        else:
            torch.mm(dz1, X, out=gW0)  # with the bias's gradient: dz1 times the ones
        return losses, out

    def _buffer(self, name: str, shape: tuple[int, ...]) -> tuple[torch.Tensor, list]:
        """A work tensor kept from step to step (a fresh one per step costs more than the
        arithmetic in it: the memory is handed back and faulted in again), and its blocks
        per group: ``(K_g, w_g, n)`` for a first layer's ``(U, n)``, else ``(K_g, out, n)``."""
        cached = self.buffers.get(name)
        if cached is None or cached[0].shape != shape:
            buf = torch.empty(shape, dtype=self.dtype)
            if len(shape) == 2:
                units = [len(g) * w[1] for g, w in zip(self.groups, self.widths)]
                parts = [part.view(len(g), w[1], shape[1])
                         for g, w, part in zip(self.groups, self.widths, buf.split(units))]
            else:
                parts = list(buf.split([len(g) for g in self.groups]))
            cached = self.buffers[name] = (buf, parts)
        return cached

    def _index(self, l: int, gi: int) -> int:
        """Position in ``params`` of layer ``l``'s (>= 1) weight for group ``gi``."""
        return 1 + (2 if self.bias else 1) * ((l - 1) * len(self.groups) + gi)

    @property
    def members(self) -> list[int]:
        """Networks in the order of the output's first axis."""
        return [m for g in self.groups for m in g]

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Outputs ``(K, out, n)`` of every network, on the shared inputs ``X`` (n, in) or,
        when ``X`` is ``(K, n, in)``, each network on its own inputs (in ``members`` order)."""
        params = iter(self.params)
        W0 = next(params)
        W0, b0 = (W0[:, :-1], W0[:, -1:]) if self.bias else (W0, None)
        units = [len(g) * w[1] for g, w in zip(self.groups, self.widths)]
        n = X.shape[-2]
        last = self.depth == 1  # linear models: the first layer is the output
        if X.ndim == 2:
            h = W0 @ X.T if b0 is None else torch.addmm(b0, W0, X.T)  # (U, n)
            if not last:
                h = self.activation(h)
            # split (not slicing): its backward is one concatenation, not a zero-filled
            # full-size tensor per group
            parts = [p.view(len(g), w[1], n)  # (K_g, w, n), contiguous
                     for g, w, p in zip(self.groups, self.widths, h.split(units))]
        else:  # own inputs: the first layer too is one batched product per group
            Ws = W0.split(units)
            bs = b0.split(units) if b0 is not None else [None] * len(units)
            Xs = X.transpose(1, 2).split([len(g) for g in self.groups])  # (K_g, in, n)
            parts = []
            for g, w, Wg, bg, Xg in zip(self.groups, self.widths, Ws, bs, Xs):
                Wg = Wg.view(len(g), w[1], -1)
                hg = (torch.bmm(Wg, Xg) if bg is None else
                      torch.baddbmm(bg.view(len(g), w[1], 1), Wg, Xg))
                parts.append(hg if last else self.activation(hg))
        if last:
            return torch.cat(parts) if len(parts) > 1 else parts[0]
        later = [[(next(params), next(params) if self.bias else None) for _ in self.groups]
                 for _ in range(1, self.depth)]
        outputs = []
        for gi, hg in enumerate(parts):
            for l, layer in enumerate(later):
                W, b = layer[gi]
                hg = torch.bmm(W, hg) if b is None else torch.baddbmm(b, W, hg)
                if l < len(later) - 1:
                    hg = self.activation(hg)
            outputs.append(hg)
        return torch.cat(outputs) if len(outputs) > 1 else outputs[0]

    def flat_grad(self, total: torch.Tensor) -> torch.Tensor:
        """Gradient of ``total`` with respect to ``theta``, as one flat tensor."""
        grads = torch.autograd.grad(total, self.params)
        return torch.cat([g.reshape(-1) for g in grads])

    def keep(self, members: set[int], flats: list[torch.Tensor]) -> list[torch.Tensor]:
        """Drop every network not in ``members``; return ``flats`` (tensors laid out like
        ``theta``, e.g. optimizer state) with the same entries dropped."""
        mask = torch.isin(self.owner, torch.tensor(sorted(members), dtype=torch.long))
        # Each block keeps whole rows (first layer) or whole member slices (later layers),
        # so selecting entries of the flattened blocks leaves exactly the smaller blocks.
        self.theta, self.owner = self.theta[mask], self.owner[mask]
        if self.keep_mask is not None:
            self.keep_mask = self.keep_mask[mask]
        kept = [(g2, w) for g2, w in (([m for m in g if m in members], w)
                                      for g, w in zip(self.groups, self.widths)) if g2]
        self.groups, self.widths = [g for g, _ in kept], [w for _, w in kept]
        self._make_views()
        return [f[mask] for f in flats]

    @torch.no_grad()
    def write_back(self, member: int, model: nn.Sequential) -> None:
        """Copy network ``member``'s (unpadded) parameters into ``model``, in place."""
        gi = next(i for i, g in enumerate(self.groups) if member in g)
        j = self.groups[gi].index(member)
        start = sum(len(g) * w[1] for g, w in zip(self.groups[:gi], self.widths[:gi]))
        w1 = self.widths[gi][1]
        for l in range(self.depth):
            linear = model[2 * l]
            o, i = linear.weight.shape
            if l == 0:
                rows = slice(start + j * w1, start + j * w1 + o)
                linear.weight.copy_(self.params[0][rows, :i])
                if self.bias:
                    linear.bias.copy_(self.params[0][rows, -1])
            else:
                index = self._index(l, gi)
                linear.weight.copy_(self.params[index][j, :o, :i])
                if self.bias:
                    linear.bias.copy_(self.params[index + 1][j, :o, 0])


# --------------------------------------------------------------------------------------------
# Losses and optimizers on stacked members
# --------------------------------------------------------------------------------------------


def _member_losses(outputs: torch.Tensor, y: torch.Tensor, loss: str,
                   own: bool = False) -> torch.Tensor:
    """Per-network mean loss ``(K,)`` of outputs ``(K, c, n)``, as utils.training.loss_fn.

    ``y`` holds the labels (or targets) of the n examples, shared by all networks, or with
    ``own`` a leading axis of K: each network's own examples."""
    k, c, n = outputs.shape
    if loss == "cross_entropy":
        log_p = outputs.log_softmax(dim=1)
        index = y.view(k, 1, n) if own else y.view(1, 1, n).expand(k, 1, n)
        return -log_p.gather(1, index).view(k, n).mean(dim=1)
    if loss == "logistic":
        target = y.float().view(k, n) if own else y.float().expand(k, n)
        return F.binary_cross_entropy_with_logits(outputs.view(k, n), target,
                                                  reduction="none").mean(dim=1)
    if y.dtype in (torch.int64, torch.int32):
        target = F.one_hot(y, num_classes=c).to(outputs.dtype)  # (n, c) or (k, n, c)
    else:
        target = y.reshape(k, n, c) if own else y.reshape(n, c)
        target = target.to(outputs.dtype)
    return ((outputs - target.transpose(-1, -2)) ** 2).sum(dim=1).mean(dim=1)


def _member_losses_and_grads(outputs: torch.Tensor, y: torch.Tensor, loss: str,
                             own: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_member_losses` and its gradient with respect to ``outputs`` (each network's
    mean loss differentiated by hand: softmax minus one-hot, 2 (out - target), sigmoid
    minus label, each over n)."""
    k, c, n = outputs.shape
    if loss == "cross_entropy":
        index = y.view(k, 1, n) if own else y.view(1, 1, n).expand(k, 1, n)
        log_p = outputs.log_softmax(dim=1)
        losses = -log_p.gather(1, index).view(k, n).mean(dim=1)
        grad = log_p.exp_()
        grad.scatter_add_(1, index, torch.full((k, 1, n), -1.0, dtype=grad.dtype))
        return losses, grad.div_(n)
    if loss == "logistic":
        z = outputs.view(k, n)
        target = y.to(outputs.dtype).view(k, n) if own else y.to(outputs.dtype).expand(k, n)
        losses = F.binary_cross_entropy_with_logits(z, target, reduction="none").mean(dim=1)
        return losses, (torch.sigmoid(z) - target).div_(n).view(k, c, n)
    if y.dtype in (torch.int64, torch.int32):
        target = F.one_hot(y, num_classes=c).to(outputs.dtype)
    else:
        target = (y.reshape(k, n, c) if own else y.reshape(n, c)).to(outputs.dtype)
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
    k, _, n = outputs.shape
    if y.dtype not in (torch.int64, torch.int32):
        return torch.full((k,), float("nan"))
    if loss == "logistic":
        return ((outputs.view(k, n) > 0).long() == y).to(outputs.dtype).mean(dim=1)
    # argmax == y, computed without argmax (or max with indices), which is many times slower
    # across this strided axis: the true class's output is the largest, and no class before
    # it (argmax takes the first of equal outputs) reaches that value.
    c = outputs.shape[1]
    labels = y.view(k if y.ndim == 2 else 1, 1, n)
    top = outputs.amax(dim=1, keepdim=True)
    true = outputs.gather(1, labels.expand(k, 1, n))
    # -inf added to the classes from the true one on (an addition: torch.where with a mask
    # across this axis is many times slower)
    if after is None:
        after = _after_true_class(y, c, outputs.dtype)
    top_before = (outputs + after).amax(dim=1, keepdim=True)
    return ((true == top) & (top_before < top)).view(k, n).to(outputs.dtype).mean(dim=1)


class _Optimizer:
    """SGD, Adam or AdamW over the flat parameters of a :class:`_Stack`.

    The arithmetic follows torch.optim's single-tensor implementations (which
    :func:`utils.training.train` runs on CPU) operation for operation. A hyperparameter that
    all networks share is a Python float, as in torch; one that differs is a tensor with an
    entry per parameter, looked up from its owner. Step sizes are formed in double precision
    and then rounded, as torch does with its Python floats.
    """

    def __init__(self, kind: str, stack: _Stack, lr: list[float], weight_decay: list[float],
                 momentum: float):
        self.kind, self.momentum = kind, momentum
        self.uniform_lr = len(set(lr)) == 1
        self.has_wd = any(w != 0 for w in weight_decay)
        lr64 = torch.tensor(lr, dtype=torch.float64)
        wd64 = torch.tensor(weight_decay, dtype=torch.float64)
        # Per-entry tensors, kept in step with the stack when networks leave it.
        self.flats: dict[str, torch.Tensor | None] = {}
        self.lr = lr[0] if self.uniform_lr else None
        if not self.uniform_lr:
            self.flats["lr64"] = lr64[stack.owner]
        self.wd = weight_decay[0] if len(set(weight_decay)) == 1 else None
        if self.wd is None:
            self.flats["wd"] = wd64[stack.owner].to(stack.dtype)
        self.shrink = None
        if kind == "adamw" and self.has_wd:
            shrink = 1 - lr64 * wd64  # in double, as torch's 1 - lr * weight_decay
            if len(set(shrink.tolist())) == 1:
                self.shrink = float(shrink[0])
            else:
                self.flats["shrink"] = shrink[stack.owner].to(stack.dtype)
        # Adam and AdamW with one learning rate and weight decay for all: torch's fused
        # kernel (one pass over theta; torch.optim.Adam(fused=True)), the same update as the
        # single-tensor arithmetic below up to float rounding
        self.fused = (kind != "sgd" and self.uniform_lr and self.wd is not None
                      and hasattr(torch, "_fused_adam_"))
        self.step_tensor = torch.zeros((), dtype=torch.float32)
        if kind == "sgd":
            self.flats["momentum_buffer"] = None
        else:
            self.flats["exp_avg"] = torch.zeros_like(stack.theta)
            self.flats["exp_avg_sq"] = torch.zeros_like(stack.theta)

    def keep(self, stack: _Stack, members: set[int],
             also: list[torch.Tensor] = ()) -> list[torch.Tensor]:
        """Drop the networks not in ``members`` from ``stack`` and from the optimizer state;
        return the tensors ``also`` (laid out like the parameters) cut the same way."""
        names = [k for k, v in self.flats.items() if v is not None]
        kept = stack.keep(members, [self.flats[k] for k in names] + list(also))
        self.flats.update(zip(names, kept))
        return kept[len(names):]

    @torch.no_grad()
    def step(self, theta: torch.Tensor, grad: torch.Tensor, step: int) -> None:
        """Update ``theta`` in place given its gradient; ``step`` counts from 1."""
        f = self.flats
        if self.fused:
            self.step_tensor.fill_(step)
            fused = torch._fused_adamw_ if self.kind == "adamw" else torch._fused_adam_
            fused([theta], [grad], [f["exp_avg"]], [f["exp_avg_sq"]], [], [self.step_tensor],
                  lr=self.lr, beta1=_BETAS[0], beta2=_BETAS[1], weight_decay=self.wd,
                  eps=_EPS, amsgrad=False, maximize=False)
            return
        if self.has_wd and self.kind != "adamw":  # coupled: L2 added to the gradient
            grad = grad.add(theta, alpha=self.wd) if self.wd is not None else grad.add(
                theta * f["wd"])
        if self.kind == "sgd":
            if self.momentum != 0:
                if f["momentum_buffer"] is None:
                    f["momentum_buffer"] = grad.detach().clone()
                else:
                    f["momentum_buffer"].mul_(self.momentum).add_(grad)
                grad = f["momentum_buffer"]
            if self.uniform_lr:
                theta.add_(grad, alpha=-self.lr)
            else:
                theta.sub_(grad * f["lr64"].to(theta.dtype))
            return
        beta1, beta2 = _BETAS
        if self.has_wd and self.kind == "adamw":  # decoupled: the weights shrink
            theta.mul_(self.shrink if self.shrink is not None else f["shrink"])
        m, v = f["exp_avg"], f["exp_avg_sq"]
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        denom = (v.sqrt() / bias_correction2_sqrt).add_(_EPS)
        if self.uniform_lr:
            theta.addcdiv_(m, denom, value=-(self.lr / bias_correction1))
        else:
            neg_step = (f["lr64"] / -bias_correction1).to(theta.dtype)
            theta.addcmul_(m / denom, neg_step)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def _check_data(X, y, name: str = "X") -> None:
    yname = "y" + name[1:]
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ValueError(f"{name} and {yname} must be torch tensors (see utils.data.to_tensors), "
                         f"got {type(X).__name__} and {type(y).__name__}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples x features), got shape {tuple(X.shape)}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{name} and {yname} must have the same number of rows, got "
                         f"{X.shape[0]} and {y.shape[0]}")
    for tensor, label in ((X, name), (y, yname)):
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{label} holds NaN or infinite values; training on them gives "
                             "NaN losses (drop or impute those rows first)")


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


def _generators(generator, k: int) -> tuple[torch.Generator | None,
                                            list[torch.Generator] | None]:
    """(the shared generator or None, the list of K own generators or None)."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator, None
    if not isinstance(generator, (list, tuple)):
        raise ValueError(f"generator must be a torch.Generator (one order shared by all "
                         f"models) or a list of {k} (one per model), got "
                         f"{type(generator).__name__}")
    gens = list(generator)
    if len(gens) != k:
        raise ValueError(f"generator must be one torch.Generator or a list of {k} (one per "
                         f"model), got a list of {len(gens)}")
    for i, g in enumerate(gens):
        if not isinstance(g, torch.Generator):
            raise ValueError(f"generator[{i}] must be a torch.Generator, got "
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
    k = len(models)
    if not isinstance(masks, (list, tuple)):
        raise ValueError(f"masks must be a list of {k} entries, one per model (None, a dict "
                         f"of weight name -> 0/1 tensor as utils.pruning makes, or a list of "
                         f"one tensor or None per Linear layer), got {type(masks).__name__}")
    if len(masks) != k:
        raise ValueError(f"masks must hold one entry per model ({k}), got {len(masks)}")
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
            raise ValueError(f"masks[{i}] must be None, a dict of weight name -> tensor, or a "
                             f"list of one tensor (or None) per layer, got "
                             f"{type(entry).__name__}")
        for l, (mask, linear) in enumerate(zip(layers, linears)):
            if mask is None:
                continue
            where = f"masks[{i}][{names[l]!r}]"
            if not isinstance(mask, torch.Tensor):
                raise ValueError(f"{where} must be a torch tensor, got {type(mask).__name__}")
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
    if isinstance(models, nn.Sequential):
        raise ValueError("models must be a list of networks; for a single one pass [model] "
                         "or use utils.training.train")
    models = list(models)
    if not models:
        raise ValueError("models must hold at least one network")
    if len({id(m) for m in models}) != len(models):
        raise ValueError("models must be distinct objects: the same network appears twice, "
                         "and its weights cannot be trained twice in place")
    specs = [_spec(m, i) for i, m in enumerate(models)]
    _check_same_family(specs)
    k = len(models)
    _check_data(X, y)
    check_choice("loss", loss, LOSSES)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    lrs = _per_member("lr", lr, k, 0.0, low_open=True)
    wds = _per_member("weight_decay", weight_decay, k, 0.0)
    momentum = check_real("momentum", momentum, 0.0, 1.0, high_open=True)
    if momentum != 0 and optimizer != "sgd":
        raise ValueError(f"momentum applies to optimizer='sgd' only, got optimizer={optimizer!r}")
    n = X.shape[0]
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
        raise ValueError(f"callback must be callable (model -> dict or None), got "
                         f"{type(callback).__name__}")
    shared_generator, generators = _generators(generator, k)
    member_masks = _member_masks(masks, models, specs[0].dtype)
    d_in, d_out = specs[0].sizes[0], specs[0].sizes[-1]
    sets = [("X", X, y)] + ([("X_val", X_val, y_val)] if X_val is not None else [])
    for name, A, b in sets:
        _check_data(A, b, name)
        if A.shape[1] != d_in:
            raise ValueError(f"{name} has {A.shape[1]} features but the models take {d_in}")
        if A.dtype != specs[0].dtype:
            raise ValueError(f"{name} has dtype {A.dtype} but the models' parameters are "
                             f"{specs[0].dtype}")
        _check_targets(b, loss, d_out, "y" + name[1:])

    plan = plan_groups([s.sizes for s in specs], batch_size=min(batch_size, n))
    stack = _Stack(models, specs[0], plan, member_masks)
    opt = _Optimizer(optimizer, stack, lrs, wds, momentum)
    histories = [History() for _ in models]

    def record(epoch: float, step: int, train_metrics: tuple | None = None) -> list[dict]:
        """Evaluate every network still training, append its row, return rows in order.

        ``train_metrics`` (losses, accuracies), when given, are the training set's, already
        computed from the forward pass of the next step (see below).
        """
        rows = [{"epoch": epoch, "step": step} for _ in stack.members]
        with torch.no_grad():
            for prefix, A, b in sets:
                key = "train" if prefix == "X" else "val"
                if key == "train" and train_metrics is not None:
                    losses, accs = train_metrics
                else:
                    out = stack.forward(A)
                    losses = _member_losses(out, b, loss).tolist()
                    accs = _member_accuracies(out, b, loss).tolist()
                for row, loss_value, acc in zip(rows, losses, accs):
                    row[f"{key}_loss"], row[f"{key}_acc"] = loss_value, acc
        if callback is not None:
            for m, row in zip(stack.members, rows):
                stack.write_back(m, models[m])
                extra = callback(models[m])
                if extra is not None and not isinstance(extra, Mapping):
                    raise ValueError(f"callback must return a dict (merged into the row) or "
                                     f"None, got {type(extra).__name__}")
                row.update(extra or {})
        for m, row in zip(stack.members, rows):
            histories[m].rows.append(row)
        return rows

    def reached_target(rows: list[dict]) -> dict[int, str]:
        stopped = {}
        for m, row in zip(stack.members, rows):
            if target_accuracy is not None and row["train_acc"] >= target_accuracy:
                stopped[m] = "target_accuracy"
            elif target_loss is not None and row["train_loss"] <= target_loss:
                stopped[m] = "target_loss"
        return stopped

    def stop(stopped: dict[int, str], also: list[torch.Tensor] = ()) -> list[torch.Tensor]:
        """Networks ``stopped`` (index -> reason) leave the batch, weights written back;
        returns ``also`` (tensors laid out like the parameters) without their entries."""
        for m, reason in stopped.items():
            stack.write_back(m, models[m])
            histories[m].stopped_because = reason
        remaining = set(stack.members) - set(stopped)
        if not remaining:
            stack.groups = []
            return list(also)
        return opt.keep(stack, remaining, also)

    record(0, 0)
    step = 0
    steps_per_epoch = -(-n // batch_size)  # ceiling division
    eval_at = set(np.linspace(0, steps_per_epoch, evals_per_epoch + 1)[1:].round().astype(int))
    last_step = epochs * steps_per_epoch if max_steps is None else min(
        max_steps, epochs * steps_per_epoch)
    # Full batch: the forward pass of step t + 1 sees the same parameters and examples
    # as the evaluation after step t, so that evaluation is read off it instead
    # of computed again; a network that reached its target then leaves before step t + 1.
    reuse = batch_size >= n
    # Minibatches of their own: each network's examples are gathered into a (K, b, in)
    # batch, rows in the stack's order (see _Stack.forward).
    own = generators is not None and not reuse
    keep_mask = stack.keep_mask
    # The inputs with the column of ones that the written-out backward pass needs, once.
    with_ones = stack.manual and stack.bias
    X_in = torch.cat([X, X.new_ones(n, 1)], dim=1) if with_ones else X
    # Full batch: every network's batch is the whole set, and an order only permutes the
    # sums over examples, so the set is used as it is (the generators are still drawn from,
    # as train draws them); what the accuracy needs of the labels is then computed once.
    after = (_after_true_class(y, d_out, X.dtype) if reuse and loss != "logistic"
             and y.dtype in (torch.int64, torch.int32) else None)
    pending = None  # (epoch, step) of an evaluation waiting for the next forward pass
    with progress_bar(range(epochs), desc="training ensemble", disable=not progress) as bar:
        for epoch in bar:
            if generators is None:
                order = torch.randperm(n, generator=shared_generator)  # as train draws it
            else:  # each network still training draws its own, as train would
                orders = torch.zeros(k, n, dtype=torch.long)
                for m in sorted(stack.members):
                    orders[m] = torch.randperm(n, generator=generators[m])
            for i in range(steps_per_epoch):
                if reuse:
                    idx = None
                elif own:
                    idx = orders[stack.members, i * batch_size:(i + 1) * batch_size]
                else:
                    idx = order[i * batch_size:(i + 1) * batch_size]
                Xb, yb = (X_in, y) if idx is None else (X_in[idx], y[idx])
                # Summed over networks: each network's gradient is that of its own loss.
                if stack.manual:
                    losses, outputs = stack.loss_and_grad(Xb, yb, loss, own, with_ones)
                    grad = stack.grad
                else:
                    outputs = stack.forward(Xb)
                    losses = _member_losses(outputs, yb, loss, own=own)
                    grad = stack.flat_grad(losses.sum())
                if pending is not None:
                    with torch.no_grad():
                        accs = _member_accuracies(outputs, yb, loss, after).tolist()
                    rows = record(*pending, train_metrics=(losses.tolist(), accs))
                    pending = None
                    stopped = reached_target(rows)
                    if stopped:
                        (grad,) = stop(stopped, [grad])
                        keep_mask = stack.keep_mask
                        if not stack.groups:
                            return histories
                step += 1
                if keep_mask is not None:  # pruned weights: no gradient, and 0 after the step
                    grad.mul_(keep_mask)
                    opt.step(stack.theta, grad, step)
                    stack.theta.mul_(keep_mask)
                else:
                    opt.step(stack.theta, grad, step)
                stopped = {}
                at = epoch + (i + 1) / steps_per_epoch
                if (i + 1) in eval_at:
                    if reuse and step < last_step:
                        pending = (at, step)
                        continue
                    stopped = reached_target(record(at, step))
                if max_steps is not None and step >= max_steps:
                    if stopped:
                        stop(stopped)
                        stopped = {}
                    if stack.groups:
                        if histories[stack.members[0]].rows[-1]["step"] != step:
                            record(at, step)
                        stopped = {m: "max_steps" for m in stack.members}
                if stopped:
                    stop(stopped)
                    keep_mask = stack.keep_mask
                if not stack.groups:
                    return histories
            if progress:
                bar.set_postfix(training=f"{len(stack.members)}/{k}")
        stop({m: "epochs" for m in stack.members})
    return histories
