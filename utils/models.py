"""Models: a multilayer perceptron builder with explicit initialisation."""
from __future__ import annotations

import math

import torch
from torch import nn

from ._validation import check_int, check_option

__all__ = ["mlp", "count_parameters", "INITS", "ACTIVATIONS"]

INITS = ("default", "kaiming", "xavier", "zeros")
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


def mlp(in_features: int, widths, out_features: int, bias: bool = True,
        init: str = "kaiming", activation: str = "relu",
        generator: torch.Generator | None = None) -> nn.Sequential:
    """A fully connected network: Linear, activation, ..., Linear (no final activation).

    Parameters
    ----------
    in_features, out_features : int
        Input and output sizes (at least 1).
    widths : sequence of int
        Hidden layer widths, each at least 1; an empty sequence gives a linear model.
    bias : bool
        Whether every layer has a bias.
    init : {'default', 'kaiming', 'xavier', 'zeros'}
        'default': PyTorch's own scheme, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and
        biases; 'kaiming': He normal, std sqrt(2 / fan_in), zero biases (suits ReLU);
        'xavier': Glorot normal, std sqrt(2 / (fan_in + fan_out)), zero biases;
        'zeros': every parameter 0 (for linear models trained from the origin).
    activation : {'relu', 'tanh', 'gelu'}
    generator : torch.Generator, optional
        Source of the random initial weights; with the same generator state the network is
        the same. Without one, torch's global generator is used.

    Example
    -------
    >>> net = mlp(64, [32], 10, generator=torch.Generator().manual_seed(0))
    >>> net(torch.zeros(5, 64)).shape
    torch.Size([5, 10])
    """
    check_int("in_features", in_features, minimum=1)
    check_int("out_features", out_features, minimum=1)
    if isinstance(widths, (int, str, bytes)) or not hasattr(widths, "__iter__"):
        raise TypeError(f"widths must be a list of hidden-layer widths, e.g. [{widths}] for one "
                        f"hidden layer, got {type(widths).__name__} {widths!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator (e.g. "
                        f"torch.Generator().manual_seed({generator!r})) or None, got "
                        f"{type(generator).__name__}")
    widths = list(widths)
    for i, w in enumerate(widths):
        check_int(f"widths[{i}]", w, minimum=1)
    check_option("init", init, INITS)
    check_option("activation", activation, tuple(ACTIVATIONS))
    sizes = [in_features, *widths, out_features]
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(fan_in, fan_out, bias=bias)
        _initialise(linear, init, generator)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


@torch.no_grad()
def _initialise(linear: nn.Linear, init: str, generator: torch.Generator | None) -> None:
    """Fill one layer's parameters in place, drawing from ``generator``."""
    fan_out, fan_in = linear.weight.shape
    w = linear.weight
    if init == "default":
        bound = 1.0 / math.sqrt(fan_in)
        w.uniform_(-bound, bound, generator=generator)
        if linear.bias is not None:
            linear.bias.uniform_(-bound, bound, generator=generator)
        return
    if init == "kaiming":
        w.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
    elif init == "xavier":
        w.normal_(0.0, math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)
    else:  # zeros
        w.zero_()
    if linear.bias is not None:
        linear.bias.zero_()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars in ``model``.

    Example
    -------
    >>> count_parameters(mlp(3, [4], 2))  # (3*4 + 4) + (4*2 + 2)
    26
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
