import random

import numpy as np
import pytest
import torch

from utils.reproducibility import Generators, seed_everything


def draws(gens):
    return (random.random(), np.random.rand(), torch.rand(1).item(),
            gens.numpy.random(), torch.rand(1, generator=gens.torch).item())


def test_same_seed_gives_same_draws_everywhere():
    assert draws(seed_everything(7)) == draws(seed_everything(7))


def test_different_seeds_give_different_draws():
    a, b = draws(seed_everything(7)), draws(seed_everything(8))
    assert all(x != y for x, y in zip(a, b))


def test_threads_and_determinism_are_set():
    gens = seed_everything(0, threads=1, deterministic=True)
    assert isinstance(gens, Generators) and gens.seed == 0
    assert torch.get_num_threads() == 1
    assert torch.are_deterministic_algorithms_enabled()
    seed_everything(0, deterministic=False)
    assert not torch.are_deterministic_algorithms_enabled()
    seed_everything(0)  # leave the default state for other tests


@pytest.mark.parametrize("seed, error, match", [
    (-1, ValueError, r"\[0, 2\*\*32\)"), (2**32, ValueError, r"\[0, 2\*\*32\)"),
    (1.5, TypeError, "integer"), ("3", TypeError, "integer"), (True, TypeError, "integer")])
def test_bad_seed_is_rejected(seed, error, match):
    with pytest.raises(error, match=match):
        seed_everything(seed)


def test_bad_threads_is_rejected():
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        seed_everything(0, threads=0)
