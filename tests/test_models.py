import math

import numpy as np
import pytest
import torch
from torch import nn

from utils.models import count_parameters, mlp


def test_shapes_layers_and_no_final_activation():
    net = mlp(10, [20, 30], 4)
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert net(torch.zeros(7, 10)).shape == (7, 4)
    assert type(mlp(5, [], 2)[0]) is nn.Linear and len(mlp(5, [], 2)) == 1


def test_count_parameters_matches_the_formula():
    sizes = [10, 20, 30, 4]
    expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    assert count_parameters(mlp(10, [20, 30], 4)) == expected
    assert count_parameters(mlp(10, [20, 30], 4, bias=False)) == expected - (20 + 30 + 4)


@pytest.mark.parametrize("init, std", [("kaiming", lambda fi, fo: math.sqrt(2 / fi)),
                                       ("xavier", lambda fi, fo: math.sqrt(2 / (fi + fo)))])
def test_normal_inits_have_the_stated_std(init, std):
    net = mlp(400, [300], 10, init=init, generator=torch.Generator().manual_seed(0))
    w = net[0].weight.detach().numpy()
    assert w.std() == pytest.approx(std(400, 300), rel=0.02)
    assert abs(w.mean()) < 0.01 * std(400, 300) * 10
    assert torch.all(net[0].bias == 0)


def test_default_init_is_uniform_within_the_bound():
    net = mlp(400, [300], 10, init="default", generator=torch.Generator().manual_seed(0))
    w = net[0].weight.detach().numpy()
    bound = 1 / math.sqrt(400)
    assert np.abs(w).max() <= bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)  # std of U(-b, b)


def test_zeros_init_and_activations():
    net = mlp(3, [4], 2, init="zeros", activation="tanh")
    assert all(torch.all(p == 0) for p in net.parameters())
    assert isinstance(net[1], nn.Tanh)


def test_same_generator_state_same_network():
    a = mlp(8, [16], 3, generator=torch.Generator().manual_seed(5))
    b = mlp(8, [16], 3, generator=torch.Generator().manual_seed(5))
    c = mlp(8, [16], 3, generator=torch.Generator().manual_seed(6))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a[0].weight, c[0].weight)


@pytest.mark.parametrize("kwargs, match", [
    ({"widths": [8, -1]}, r"widths\[1\] must be at least 1"),
    ({"in_features": 0}, "in_features must be at least 1"),
    ({"init": "orthogonal"}, "init must be one of"),
    ({"activation": "sigmoid"}, "activation must be one of"),
])
def test_bad_arguments_are_rejected(kwargs, match):
    args = {"in_features": 4, "widths": [8], "out_features": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        mlp(**args)


def test_count_parameters_rejects_non_modules():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        count_parameters([1, 2])
