"""Reproducibility: one call that makes a lab's randomness a function of its SEED."""
from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Generators", "seed_everything"]


@dataclass(frozen=True)
class Generators:
    """The random generators a lab passes on to data, model and training functions.

    Attributes
    ----------
    seed : int
        The seed they were made from.
    numpy : numpy.random.Generator
        For data sets, label noise, permutations.
    torch : torch.Generator
        For initialisation and minibatch order.

    Example
    -------
    >>> gens = seed_everything(3)
    >>> gens.seed
    3
    """

    seed: int
    numpy: np.random.Generator
    torch: torch.Generator


def seed_everything(seed: int, threads: int = 1, deterministic: bool = True) -> Generators:
    """Seed Python, numpy and torch, fix torch's threads and algorithms, return generators.

    Labs call this once, in the cell after the parameters cell. One thread by default:
    on a 2-core laptop it is about as fast as two for the small models of this course, and
    it makes floating-point reductions happen in the same order on every run, so stored
    notebook outputs can be compared exactly.

    Parameters
    ----------
    seed : int
        A non-negative integer below 2**32.
    threads : int, default 1
        Number of intra-op threads torch may use (at least 1).
    deterministic : bool, default True
        Ask torch for deterministic algorithms (an error is raised by torch if an operation
        has none, rather than silently giving run-to-run differences).

    Returns
    -------
    Generators
        A numpy ``Generator`` and a ``torch.Generator``, both seeded from ``seed``.

    Example
    -------
    >>> a = seed_everything(0).numpy.normal()
    >>> b = seed_everything(0).numpy.normal()
    >>> a == b
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__} {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"threads must be a positive integer, got {threads!r}")
    if threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(int(threads))
    # Needed by some BLAS kernels before torch.use_deterministic_algorithms takes effect.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(bool(deterministic))
    return Generators(
        seed=seed,
        numpy=np.random.default_rng(seed),
        torch=torch.Generator().manual_seed(seed),
    )
