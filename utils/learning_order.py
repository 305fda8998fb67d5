"""Learning order: when each example is learned, and how much two orders agree.

Used by Lab 0 ("do networks learn the examples in the same order?", after Hacohen, Choshen
& Weinshall, 2020) and by later labs that track what a network learns first.
"""
from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import rankdata

from ._validation import check_int, check_rng

__all__ = [
    "learning_times",
    "rank_correlation",
    "pairwise_rank_correlations",
    "permutation_control",
    "within_group_rank_correlation",
    "spearman_brown",
    "censored_in_any_run",
    "knn_vote_margin",
]


def learning_times(correct) -> np.ndarray:
    """For each example, the first checkpoint from which it stays correctly classified.

    Parameters
    ----------
    correct : array of bool, shape (T, n)
        ``correct[t, i]`` says whether example i was classified correctly at checkpoint t.

    Returns
    -------
    ndarray of int, shape (n,)
        The smallest t such that ``correct[t:, i]`` is all True; T for an example that is
        wrong at the last checkpoint (never learned "for good": a censored time).

    Example
    -------
    >>> learning_times([[0, 1, 0], [1, 0, 0], [1, 1, 0]])
    array([1, 2, 3])
    """
    correct = np.asarray(correct)
    if correct.ndim != 2 or correct.shape[0] == 0:
        raise ValueError(f"correct must be 2-D (checkpoints x examples), got shape {correct.shape}")
    if not np.isin(correct, (0, 1)).all():
        raise ValueError("correct must hold booleans (or 0/1)")
    correct = correct.astype(bool)
    T = correct.shape[0]
    # stays[t, i]: correct at t and at every later checkpoint (a reversed running AND).
    stays = np.flip(np.logical_and.accumulate(np.flip(correct, axis=0), axis=0), axis=0)
    return np.where(stays.any(axis=0), stays.argmax(axis=0), T)


def rank_correlation(a, b) -> float:
    """Spearman's rank correlation: the Pearson correlation of the ranks (ties averaged).

    Returns NaN when either input is constant (no order to compare).

    Example
    -------
    >>> rank_correlation([1, 2, 3, 4], [10, 20, 30, 25])
    0.8
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"a and b must be 1-D of the same length, got shapes {a.shape} "
                         f"and {b.shape}")
    if a.size < 2:
        raise ValueError(f"need at least 2 examples to correlate, got {a.size}")
    ra = rankdata(a) - (a.size + 1) / 2
    rb = rankdata(b) - (b.size + 1) / 2
    denom = np.sqrt((ra ** 2).sum() * (rb ** 2).sum())
    return float((ra * rb).sum() / denom) if denom > 0 else float("nan")


def pairwise_rank_correlations(times) -> np.ndarray:
    """Spearman correlation between every pair of rows of ``times`` (K runs x n examples).

    Returns the K(K-1)/2 values for the pairs (0, 1), (0, 2), ..., (K-2, K-1).

    Example
    -------
    >>> pairwise_rank_correlations([[1, 2, 3], [1, 2, 3], [3, 2, 1]])
    array([ 1., -1., -1.])
    """
    times = np.asarray(times)
    if times.ndim != 2 or times.shape[0] < 2:
        raise ValueError(f"times must be 2-D with at least 2 rows (runs x examples), got "
                         f"shape {times.shape}")
    return np.array([rank_correlation(times[i], times[j])
                     for i, j in itertools.combinations(range(times.shape[0]), 2)])


def permutation_control(times, n_permutations: int = 200, rng=0) -> np.ndarray:
    """Mean pairwise rank correlation when each run's times are shuffled across examples.

    Shuffling breaks any link between an example and its learning time while keeping each
    run's distribution of times (how many examples were learned when): it is what the
    statistic looks like if the runs shared no order. Returns one mean per permutation.

    Example
    -------
    >>> null = permutation_control([[1, 2, 3, 4, 5]] * 3, n_permutations=50, rng=0)
    >>> null.shape, bool(abs(null.mean()) < 0.3)
    ((50,), True)
    """
    times = np.asarray(times)
    n_permutations = check_int("n_permutations", n_permutations, minimum=1)
    rng = check_rng(rng)
    pairwise_rank_correlations(times)  # validates the shape
    means = np.empty(n_permutations)
    for k in range(n_permutations):
        shuffled = np.array([rng.permutation(row) for row in times])
        means[k] = np.nanmean(pairwise_rank_correlations(shuffled))
    return means


def within_group_rank_correlation(times, groups) -> dict:
    """Mean pairwise rank correlation computed separately inside each group of examples.

    If runs agree only because whole classes are learned earlier or later, the correlation
    inside a class falls to about 0; if they also agree on which examples of a class come
    first, it stays positive. Groups with fewer than 3 examples are skipped.

    Parameters
    ----------
    times : array, shape (K, n)
    groups : array, shape (n,)
        A group label per example (e.g. its class).

    Returns
    -------
    dict of group -> mean pairwise rank correlation within that group

    Example
    -------
    >>> t = [[1, 2, 3, 7, 8, 9], [1, 2, 3, 9, 8, 7]]
    >>> within_group_rank_correlation(t, [0, 0, 0, 1, 1, 1])
    {0: 1.0, 1: -1.0}
    """
    times = np.asarray(times)
    groups = np.asarray(groups)
    pairwise_rank_correlations(times)  # validates the shape
    if groups.shape != (times.shape[1],):
        raise ValueError(f"groups must have one label per example, shape ({times.shape[1]},),"
                         f" got {groups.shape}")
    result = {}
    for g in np.unique(groups):
        members = groups == g
        if members.sum() >= 3:
            values = pairwise_rank_correlations(times[:, members])
            result[g.item()] = float(np.nanmean(values)) if np.isfinite(values).any() \
                else float("nan")
    return result


def spearman_brown(rho, m: int) -> float:
    """Predicted correlation between averages of ``m`` runs, from the single-run correlation.

    If every run is one shared order plus independent noise of the same size (exchangeable
    runs), averaging ``m`` runs divides the noise variance by ``m`` and the correlation of two
    disjoint averages is ``m rho / (1 + (m - 1) rho)`` (the Spearman-Brown formula of
    psychometrics). A measured value well below it means the runs disagree in a structured
    way, e.g. in clusters.

    Parameters
    ----------
    rho : float
        Correlation between two single runs, in (-1, 1].
    m : int
        Runs per average (at least 1).

    Returns
    -------
    float

    Example
    -------
    >>> round(spearman_brown(0.5, 4), 4)
    0.8
    """
    m = check_int("m", m, minimum=1)
    rho = float(rho)
    if not -1.0 < rho <= 1.0:
        raise ValueError(f"rho must be a correlation in (-1, 1], got {rho!r}")
    return m * rho / (1 + (m - 1) * rho)


def censored_in_any_run(times, horizon: int) -> np.ndarray:
    """Which examples are not learned for good in at least one run (time equal to ``horizon``).

    Parameters
    ----------
    times : array of int, shape (K, n)
        Learning times as returned by :func:`learning_times` for each of K runs.
    horizon : int
        The censoring value: the number of checkpoints T.

    Returns
    -------
    ndarray of bool, shape (n,)

    Example
    -------
    >>> censored_in_any_run([[0, 3, 1], [3, 2, 0]], horizon=3)
    array([ True,  True, False])
    """
    times = np.asarray(times)
    pairwise_rank_correlations(times)  # validates the shape
    horizon = check_int("horizon", horizon, minimum=1)
    if times.min() < 0 or times.max() > horizon:
        raise ValueError(f"times must lie in [0, horizon = {horizon}], got range "
                         f"[{times.min()}, {times.max()}]")
    return (times == horizon).any(axis=0)


def knn_vote_margin(X, y, k: int = 10) -> np.ndarray:
    """Leave-one-out k-nearest-neighbour vote margin of every example.

    For each example, its ``k`` nearest other examples (Euclidean distance; the example itself
    is left out) vote with their labels; the margin is the fraction voting for the example's
    own label minus the largest fraction voting for any other label, in [-1, 1]. A learner-
    agnostic, non-linear measure of how easy an example is.

    Parameters
    ----------
    X : array, shape (n, p)
    y : array of int, shape (n,)
    k : int
        Neighbours per vote, between 1 and n - 1.

    Returns
    -------
    ndarray, shape (n,)

    Example
    -------
    >>> X = [[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]]
    >>> knn_vote_margin(X, [0, 0, 1, 1, 1, 1], k=2)  # the third point sits among zeros
    array([ 0.,  0., -1.,  1.,  1.,  1.])
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be 2-D (examples x features) with one label per row, got "
                         f"shapes {X.shape} and {y.shape}")
    n = X.shape[0]
    k = check_int("k", k, minimum=1, maximum=n - 1)
    sq = (X ** 2).sum(axis=1)
    dist = sq[:, None] + sq[None, :] - 2 * X @ X.T
    np.fill_diagonal(dist, np.inf)                      # leave the example itself out
    neighbours = np.argsort(dist, axis=1, kind="stable")[:, :k]
    classes, codes = np.unique(y, return_inverse=True)
    votes = np.zeros((n, classes.size))
    np.add.at(votes, (np.repeat(np.arange(n), k), codes[neighbours].ravel()), 1.0)
    votes /= k
    own = votes[np.arange(n), codes]
    votes[np.arange(n), codes] = -np.inf
    return own - votes.max(axis=1)
