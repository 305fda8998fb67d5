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
    "group_centred_ranks",
    "spearman_brown",
    "censored_in_any_run",
    "knn_vote_margin",
    "knn_vote_margins",
    "rank_correlation_matrix",
    "one_factor_residuals",
    "one_order_surrogates",
]


def _check_runs(times: np.ndarray) -> None:
    """Runs x examples, at least 2 of each (the check pairwise_rank_correlations makes)."""
    if times.ndim != 2 or times.shape[0] < 2 or times.shape[1] < 2:
        raise ValueError(f"times must be 2-D with at least 2 rows (runs x examples) and 2 "
                         f"examples, got shape {times.shape}")


def learning_times(correct) -> np.ndarray:
    """For each example, the first checkpoint from which it stays correctly classified.

    Parameters
    ----------
    correct : array of bool, shape (T + 1, n)
        ``correct[t, i]`` says whether example i was classified correctly at checkpoint t,
        for checkpoints t = 0, ..., T (checkpoint 0 is the initialization).

    Returns
    -------
    ndarray of int, shape (n,)
        The smallest t such that ``correct[t:, i]`` is all True; T + 1 (one past the last
        checkpoint, the number of rows) for an example that is wrong at the last checkpoint
        (never learned "for good": a censored time).

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
    n_checkpoints = correct.shape[0]             # T + 1
    # stays[t, i]: correct at t and at every later checkpoint (a reversed running AND).
    stays = np.flip(np.logical_and.accumulate(np.flip(correct, axis=0), axis=0), axis=0)
    return np.where(stays.any(axis=0), stays.argmax(axis=0), n_checkpoints)


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


def group_centred_ranks(times, groups) -> np.ndarray:
    """Each run's ranks of the learning times minus that run's mean rank in each group.

    What is left is each run's order *inside* the groups (e.g. classes), with the order
    between the groups removed: the correlation matrix of the result asks whether runs agree
    in groups once the runs' disagreements about the order of whole classes are taken out.

    Parameters
    ----------
    times : array, shape (K, n)
        One row of learning times per run (ties get their average rank).
    groups : array, shape (n,)
        A group label per example (e.g. its class).

    Returns
    -------
    ndarray of float, shape (K, n)

    Example
    -------
    >>> group_centred_ranks([[1, 2, 3, 4], [4, 3, 2, 1]], [0, 0, 1, 1])
    array([[-0.5,  0.5, -0.5,  0.5],
           [ 0.5, -0.5,  0.5, -0.5]])
    """
    times = np.asarray(times)
    groups = np.asarray(groups)
    _check_runs(times)
    if groups.shape != (times.shape[1],):
        raise ValueError(f"groups must have one label per example, shape ({times.shape[1]},),"
                         f" got {groups.shape}")
    ranks = np.apply_along_axis(rankdata, 1, times.astype(float))
    centred = ranks.copy()
    for g in np.unique(groups):
        members = groups == g
        centred[:, members] -= ranks[:, members].mean(axis=1, keepdims=True)
    return centred


def spearman_brown(rho, m: int) -> float:
    """Predicted correlation between averages of ``m`` runs, from the single-run correlation.

    If every run is one shared order plus independent noise of the same size (exchangeable
    runs), averaging ``m`` runs divides the noise variance by ``m`` and the correlation of two
    disjoint averages is ``m rho / (1 + (m - 1) rho)`` (the Spearman-Brown formula of
    psychometrics; exact for Pearson correlations of a common score plus independent,
    equal-variance noise, approximate for rank correlations). A value well below it means the
    runs disagree in a structured
    way. The converse does not hold: runs from i.i.d. seeds are exchangeable, so the gain is
    expected whatever the structure of their disagreement (runs of two kinds included). Agreement
    with it checks that ranks, ties and censoring do not distort the formula; it is not evidence
    against groups of runs (test those on :func:`rank_correlation_matrix`).

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
        The censoring value: T + 1 for checkpoints 0, ..., T (the number of checkpoints).

    Returns
    -------
    ndarray of bool, shape (n,)

    Example
    -------
    >>> censored_in_any_run([[0, 3, 1], [3, 2, 0]], horizon=3)
    array([ True,  True, False])
    """
    times = np.asarray(times)
    _check_runs(times)
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
    k = check_int("k", k, minimum=1)
    return knn_vote_margins(X, y, [k])[k]


def knn_vote_margins(X, y, ks) -> dict:
    """:func:`knn_vote_margin` for several ``k`` at once (one distance sort for all of them).

    Returns a dict k -> margins, so a comparator can be reported as a curve over ``k`` instead
    of at one chosen ``k``.

    Example
    -------
    >>> X = [[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]]
    >>> knn_vote_margins(X, [0, 0, 1, 1, 1, 1], ks=[1, 2])[1]
    array([ 1.,  1., -1.,  1.,  1.,  1.])
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be 2-D (examples x features) with one label per row, got "
                         f"shapes {X.shape} and {y.shape}")
    n = X.shape[0]
    ks = [check_int("k", k, minimum=1, maximum=n - 1) for k in ks]
    if not ks:
        raise ValueError("ks must hold at least one k")
    sq = (X ** 2).sum(axis=1)
    dist = sq[:, None] + sq[None, :] - 2 * X @ X.T
    np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, :max(ks)]
    classes, codes = np.unique(y, return_inverse=True)
    neighbour_codes = codes[order]
    rows = np.arange(n)
    result = {}
    for k in ks:
        votes = np.zeros((n, classes.size))
        np.add.at(votes, (np.repeat(rows, k), neighbour_codes[:, :k].ravel()), 1.0 / k)
        own = votes[rows, codes].copy()
        votes[rows, codes] = -np.inf
        result[k] = own - votes.max(axis=1)
    return result


def rank_correlation_matrix(times) -> np.ndarray:
    """The K x K matrix of Spearman correlations between the rows of ``times`` (ties averaged).

    Same values as :func:`pairwise_rank_correlations`, arranged as a symmetric matrix with ones
    on the diagonal (computed in one product, which makes bootstraps and surrogates cheap).

    Example
    -------
    >>> rank_correlation_matrix([[1, 2, 3], [1, 2, 3], [3, 2, 1]])
    array([[ 1.,  1., -1.],
           [ 1.,  1., -1.],
           [-1., -1.,  1.]])
    """
    times = np.asarray(times, dtype=float)
    _check_runs(times)
    ranks = np.array([rankdata(row) for row in times])
    ranks -= ranks.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(ranks, axis=1)
    if (norms == 0).any():
        raise ValueError("every run needs at least two distinct times (a constant row has no "
                         "order)")
    ranks /= norms[:, None]
    matrix = ranks @ ranks.T
    np.fill_diagonal(matrix, 1.0)
    return matrix


def one_factor_residuals(matrix, iterations: int = 500):
    """Fit ``matrix[a, b] ~ l[a] * l[b]`` off the diagonal; return residuals and loadings.

    "One shared order plus independent noise" allows each run its own noise level, which makes
    the correlation matrix one-factor: each run has a loading ``l[a]`` (its agreement with the
    shared order) and the correlation of two runs is the product of their loadings. Runs that
    come in groups, or pairs that share something the others do not, leave residuals. The fit
    is least squares on the off-diagonal entries (iterated principal factors: the diagonal is
    replaced by the fitted communalities until it stops changing).

    Parameters
    ----------
    matrix : array, shape (K, K)
        A symmetric correlation matrix, K >= 3.
    iterations : int
        At most this many fixed-point iterations (it stops when the loadings change by less
        than 1e-9; a few dozen for these matrices).

    Returns
    -------
    residuals : ndarray, shape (K (K - 1) / 2,)
        ``matrix[a, b] - l[a] l[b]`` for the pairs (0, 1), (0, 2), ..., like
        :func:`pairwise_rank_correlations`.
    loadings : ndarray, shape (K,)

    Example
    -------
    >>> l = np.array([0.9, 0.8, 0.7, 0.6])
    >>> R = np.outer(l, l); np.fill_diagonal(R, 1.0)
    >>> residuals, loadings = one_factor_residuals(R)
    >>> bool(np.abs(residuals).max() < 1e-6), np.round(loadings, 3)
    (True, array([0.9, 0.8, 0.7, 0.6]))
    """
    matrix = np.array(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 3:
        raise ValueError(f"matrix must be square with at least 3 rows, got shape {matrix.shape}")
    if not np.allclose(matrix, matrix.T):
        raise ValueError("matrix must be symmetric")
    iterations = check_int("iterations", iterations, minimum=1)
    work = matrix.copy()
    np.fill_diagonal(work, 0.0)
    loadings = np.zeros(matrix.shape[0])
    for _ in range(iterations):
        values, vectors = np.linalg.eigh(work)
        new = vectors[:, -1] * np.sqrt(max(values[-1], 0.0))
        new = new if new.sum() >= 0 else -new
        converged = np.abs(new - loadings).max() < 1e-9
        loadings = new
        np.fill_diagonal(work, loadings ** 2)
        if converged:
            break
    if loadings.sum() < 0:
        loadings = -loadings
    upper = np.triu_indices(matrix.shape[0], 1)
    return (matrix - np.outer(loadings, loadings))[upper], loadings


def _copula_times(times, signal, latent, noise):
    """Runs sharing one latent order (weight ``signal``), each mapped onto its own times."""
    scores = np.sqrt(signal) * latent + np.sqrt(1 - signal) * noise
    out = np.empty_like(times)
    for k in range(times.shape[0]):
        out[k, np.argsort(scores[k], kind="stable")] = np.sort(times[k])
    return out


def one_order_surrogates(times, n_surrogates: int = 50, rng=0) -> np.ndarray:
    """Surrogate learning times from "one shared order plus independent noise", matched to data.

    Each surrogate run ranks the examples by ``sqrt(r) z + sqrt(1 - r) e_k``, with one latent
    score ``z`` per example shared by all runs and independent Gaussian noise ``e_k`` per run,
    and then receives exactly the observed run's multiset of times in that order: its ties, its
    examples right at initialization and its censored values are kept. The weight ``r`` is
    calibrated (bisection, common random numbers) so that the surrogates' mean pairwise rank
    correlation matches the data's. What the surrogates lack by construction is any agreement
    beyond one order: no groups of runs, no extra agreement in the tail. They are the null for
    statistics such as the one-factor residual and the effect of dropping censored examples.

    Parameters
    ----------
    times : array of int, shape (K, n)
        Observed learning times; their mean pairwise rank correlation must be positive.
    n_surrogates : int
    rng : numpy Generator or int seed

    Returns
    -------
    ndarray, shape (n_surrogates, K, n)

    Example
    -------
    >>> t = np.array([[0, 1, 2, 3, 4, 5, 5], [0, 2, 1, 3, 5, 4, 5], [1, 0, 2, 4, 3, 5, 5]])
    >>> s = one_order_surrogates(t, n_surrogates=3, rng=0)
    >>> s.shape, bool((np.sort(s[0], axis=1) == np.sort(t, axis=1)).all())
    ((3, 3, 7), True)
    """
    times = np.asarray(times)
    n_surrogates = check_int("n_surrogates", n_surrogates, minimum=1)
    rng = check_rng(rng)
    target = float(np.mean(pairwise_rank_correlations(times)))
    if not target > 0:
        raise ValueError(f"the runs' mean pairwise rank correlation must be positive to fit one "
                         f"shared order, got {target:.3f}")
    K, n = times.shape
    upper = np.triu_indices(K, 1)
    calibration = [(rng.normal(size=n), rng.normal(size=(K, n))) for _ in range(3)]

    def mean_rho(signal):
        return np.mean([rank_correlation_matrix(_copula_times(times, signal, z, e))[upper].mean()
                        for z, e in calibration])

    low, high = 0.0, 1.0
    for _ in range(16):  # the surrogates' mean rho grows with the signal weight
        middle = (low + high) / 2
        low, high = (middle, high) if mean_rho(middle) < target else (low, middle)
    signal = (low + high) / 2
    return np.stack([_copula_times(times, signal, rng.normal(size=n), rng.normal(size=(K, n)))
                     for _ in range(n_surrogates)])
