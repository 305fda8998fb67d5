"""Which MLPs can be trained as one stack, and how to group them by width.

:func:`plan_groups` splits networks of different widths into groups, each padded only to its
widest member (see :mod:`utils.stack` for why padding keeps every network's trajectory its
own); ``_spec`` reads one network's shape and ``_check_same_family`` checks that all can
share one stack.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ._validation import check_int, check_real

__all__ = ["plan_groups"]

_ACTIVATIONS = (nn.ReLU, nn.Tanh, nn.GELU)  # each has act(0) = 0, which keeps padding inert
# Fixed cost of one group per training step, in multiply-adds: four small products' overhead
# (the first layer is one product for all groups) at the rate a small matrix product reaches
# on one core. An estimate, and the split is not sensitive to it (see plan_groups' tests).
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
        error = ValueError if isinstance(model, nn.Sequential) else TypeError
        raise error(f"{where} must be an MLP from utils.models.mlp (an nn.Sequential of "
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
    K = len(order)
    # best[j]: least cost of the first j networks (in sorted order); cut[j]: where the last
    # group of that best split starts.
    best = [0.0] + [float("inf")] * K
    cut = [0] * (K + 1)
    for j in range(1, K + 1):
        widest = list(sizes[order[j - 1]])
        for i in range(j - 1, -1, -1):  # group = order[i:j], grown leftwards
            widest = [max(a, b) for a, b in zip(widest, sizes[order[i]])]
            cost = best[i] + overhead_macs + 3 * batch_size * (j - i) * _macs(widest)
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups, j = [], K
    while j > 0:
        groups.append(order[cut[j]:j])
        j = cut[j]
    return groups[::-1]
