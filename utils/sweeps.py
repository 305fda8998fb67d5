"""Sweeps: run one function over a grid of settings and seeds, and get a tidy table back.

Labs never hand-write nested loops over settings and seeds: they call :func:`sweep`. It runs
through joblib, so a user with a cluster can pick another backend (Dask, Ray) with
``joblib.parallel_config`` or the ``backend`` argument, without touching the lab.
"""
from __future__ import annotations

import itertools
from numbers import Real
from typing import Callable, Mapping, Sequence

import joblib
import numpy as np
import pandas as pd
from utils.progress import progress_bar

from ._validation import check_int

__all__ = ["grid_settings", "sweep", "interpolation_width"]


def grid_settings(grid: Mapping[str, Sequence]) -> list[dict]:
    """Every combination of the values in ``grid``, as a list of dicts (last key fastest).

    Example
    -------
    >>> grid_settings({"width": [8, 16], "lr": [0.1]})
    [{'width': 8, 'lr': 0.1}, {'width': 16, 'lr': 0.1}]
    """
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid must be a dict of name -> list of values, got {type(grid).__name__}")
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            error = TypeError if isinstance(values, (str, bytes)) or not isinstance(
                values, Sequence) else ValueError
            raise error(f"grid[{name!r}] must be a non-empty list of values, got {values!r}")
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*grid.values())]


def sweep(fn: Callable[..., Mapping | float], grid: Mapping[str, Sequence] | None = None,
          seeds: Sequence[int] = (0,), n_jobs: int = 1, backend: str | None = None,
          progress: bool = False) -> pd.DataFrame:
    """Call ``fn(**settings, seed=seed)`` for every setting of ``grid`` and every seed.

    Parameters
    ----------
    fn : callable
        Takes the grid's names and ``seed`` as keyword arguments and returns a dict of
        results (one column each) or a single number (column ``value``). It should seed
        itself from ``seed`` (e.g. with :func:`utils.reproducibility.seed_everything`), so
        results do not depend on the order or the process the call runs in.
    grid : dict of name -> list of values, optional
        The settings; None or {} runs ``fn`` over the seeds alone.
    seeds : sequence of int
        Non-empty; each a non-negative integer.
    n_jobs : int
        Parallel jobs (joblib); 1 runs in this process, -1 uses every core.
    backend : str, optional
        A joblib backend name ('loky', 'threading', or one registered by Dask or Ray).
    progress : bool
        Show a progress bar over the calls.

    Returns
    -------
    pandas.DataFrame
        One row per (setting, seed): the settings, ``seed``, then the results.

    Example
    -------
    >>> sweep(lambda a, seed: {"b": a * 10 + seed}, {"a": [1, 2]}, seeds=[0, 1])
       a  seed   b
    0  1     0  10
    1  1     1  11
    2  2     0  20
    3  2     1  21
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    settings = grid_settings(grid) if grid else [{}]
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    for s in seeds:
        check_int("each seed", s, minimum=0)
    if n_jobs != -1:
        check_int("n_jobs", n_jobs, minimum=1)
    for setting in settings:
        if "seed" in setting:
            raise ValueError("the grid must not contain 'seed': pass seeds=... instead")
    calls = [(setting, seed) for setting in settings for seed in seeds]
    tasks = (joblib.delayed(fn)(**setting, seed=seed) for setting, seed in calls)
    # backend=None defers to an enclosing ``joblib.parallel_config`` (e.g. a Dask cluster).
    results = joblib.Parallel(n_jobs=n_jobs, backend=backend, return_as="generator")(tasks)
    results = list(progress_bar(results, total=len(calls), desc="sweep", disable=not progress))
    rows = []
    for (setting, seed), result in zip(calls, results):
        rows.append({**setting, "seed": seed, **_result_columns(result, setting, seed)})
    return pd.DataFrame(rows)


def _result_columns(result, setting: dict, seed: int) -> Mapping:
    """What one call of ``fn`` returned, as columns: a dict, or a number in ``value``."""
    call = f"fn({', '.join(f'{k}={v!r}' for k, v in {**setting, 'seed': seed}.items())})"
    if isinstance(result, Mapping):
        clash = sorted(set(result) & ({*setting, "seed"}))
        if clash:
            raise ValueError(f"{call} returned results named {clash}, which are already columns "
                             "of the table (the settings and 'seed'): rename those results")
        return result
    if isinstance(result, Real) or (isinstance(result, np.ndarray) and result.ndim == 0
                                    and np.issubdtype(result.dtype, np.number)):
        return {"value": result}
    raise TypeError(f"{call} returned {result!r} ({type(result).__name__}); fn must return a "
                    "dict of results (one column each) or a single number")


def interpolation_width(widths: Sequence, train_acc, eps: float):
    """The smallest width from which on every seed fits the training set, or None.

    "Fits" means a training accuracy of at least ``1 - eps``; the width returned is the first
    one after the last width where some seed does not fit (Lab 1's interpolation threshold,
    the reference its check compares against).

    Parameters
    ----------
    widths : sequence of numbers
        Increasing widths.
    train_acc : array-like of shape (n_seeds, len(widths))
        Training accuracies in [0, 1].
    eps : float
        Tolerance, in [0, 1).

    Returns
    -------
    The width (an element of ``widths``), or None if the largest width does not fit.

    Examples
    --------
    >>> interpolation_width([2, 4, 8, 16], [[0.5, 1.0, 0.98, 1.0], [0.6, 1.0, 1.0, 1.0]], 0.01)
    16
    >>> interpolation_width([2, 4], [[0.5, 0.7]], 0.01) is None
    True
    """
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or not widths:
        raise TypeError(f"widths must be a non-empty list of widths, got {widths!r}")
    acc = np.asarray(train_acc, dtype=float)
    if acc.ndim != 2 or acc.shape[1] != len(widths):
        raise ValueError(f"train_acc must have shape (n_seeds, {len(widths)}): one row per seed "
                         f"and one column per width; got shape {acc.shape}")
    if np.isnan(acc).any():
        raise ValueError("train_acc contains NaN")
    if not isinstance(eps, Real):
        raise TypeError(f"eps must be a number in [0, 1), got {eps!r}")
    if not 0 <= eps < 1:
        raise ValueError(f"eps must be a number in [0, 1), got {eps!r}")
    fits = (acc >= 1 - eps).all(axis=0)
    bad = np.flatnonzero(~fits)
    start = 0 if bad.size == 0 else int(bad[-1]) + 1
    return widths[start] if start < len(widths) else None
