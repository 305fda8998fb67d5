"""A group of MLPs as stacked, padded tensors: one flat parameter vector, a batched
forward pass and, for ReLU, tanh and linear models, a backward pass written out.

Why this way
------------
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
  (:func:`utils.stack_plan.plan_groups` picks the split that minimises an estimate of the
  time per step).
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

The optimizers over ``theta`` are in :mod:`utils.stack_optim`, the per-network losses in
:mod:`utils.stack_losses`, the grouping in :mod:`utils.stack_plan`, and the training loop
that uses them all in :mod:`utils.ensembles`.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .stack_losses import _member_losses_and_grads
from .stack_plan import _Spec


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
            K_g, fan_in, fan_out = len(g), w[l], w[l + 1]
            W = torch.zeros(K_g, fan_out, fan_in, dtype=self.dtype)
            keep = torch.zeros(K_g, fan_out, fan_in, dtype=self.dtype)
            b = torch.zeros(K_g, fan_out, 1, dtype=self.dtype) if self.bias else None
            for j, m in enumerate(g):
                linear = models[m][2 * l]
                o, i = linear.weight.shape
                W[j, :o, :i] = linear.weight.detach()
                mask = masks[m][l] if masks is not None else None
                keep[j, :o, :i] = 1 if mask is None else mask
                if b is not None:
                    b[j, :o, 0] = linear.bias.detach()
            owner = torch.tensor(g, dtype=torch.long).view(K_g, 1, 1)
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
