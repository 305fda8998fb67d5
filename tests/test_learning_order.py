import itertools

import numpy as np
import pytest
from scipy.stats import spearmanr

from scipy.optimize import least_squares

from utils.learning_order import (censored_in_any_run, group_centred_ranks, knn_vote_margin,
                                  knn_vote_margins,
                                  learning_times, one_factor_residuals, one_order_surrogates,
                                  pairwise_rank_correlations, permutation_control,
                                  rank_correlation, rank_correlation_matrix, spearman_brown,
                                  within_group_rank_correlation)


def brute_force_learning_times(correct):
    """The definition, literally: smallest t with correct[s] for every s >= t."""
    T, n = correct.shape
    out = []
    for i in range(n):
        candidates = [t for t in range(T) if correct[t:, i].all()]
        out.append(min(candidates) if candidates else T)
    return np.array(out)


def test_learning_times_match_the_definition_on_random_histories():
    rng = np.random.default_rng(0)
    for p in (0.3, 0.7, 0.95):
        correct = rng.random((15, 200)) < p
        assert np.array_equal(learning_times(correct), brute_force_learning_times(correct))


def test_learning_times_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        learning_times([1, 0, 1])
    with pytest.raises(ValueError, match="booleans"):
        learning_times([[0.5, 1.0]])


def test_rank_correlation_matches_scipy_with_ties():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 6, 300)          # many ties
    b = a + rng.integers(0, 4, 300)
    assert rank_correlation(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)


def test_rank_correlation_matches_the_closed_form_without_ties():
    rng = np.random.default_rng(2)
    a, b = rng.permutation(50), rng.permutation(50)
    d = a - b  # a permutation of 0..n-1 is its own rank vector (minus one)
    n = 50
    assert rank_correlation(a, b) == pytest.approx(1 - 6 * (d ** 2).sum() / (n * (n ** 2 - 1)))


def test_rank_correlation_edge_cases():
    assert np.isnan(rank_correlation([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="same length"):
        rank_correlation([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 2"):
        rank_correlation([1], [1])


def test_pairwise_rank_correlations_order_and_values():
    rng = np.random.default_rng(3)
    times = rng.integers(0, 10, size=(4, 40))
    expected = [spearmanr(times[i], times[j]).statistic
                for i, j in itertools.combinations(range(4), 2)]
    assert np.allclose(pairwise_rank_correlations(times), expected)
    with pytest.raises(ValueError, match="at least 2 rows"):
        pairwise_rank_correlations([[1, 2, 3]])


def test_permutation_control_is_centred_with_the_right_spread():
    # Under shuffling, one pair's rho has mean 0 and variance 1/(n-1); the mean of the
    # K(K-1)/2 pairs has a smaller variance, at most 1/(n-1).
    rng = np.random.default_rng(4)
    n = 300
    times = np.tile(np.arange(n), (4, 1)) + rng.integers(0, 5, size=(4, n))
    null = permutation_control(times, n_permutations=400, rng=0)
    K = 4
    expected_sd = np.sqrt(2 / (K * (K - 1))) / np.sqrt(n - 1)   # the chapter's formula
    assert abs(null.mean()) < 3 * expected_sd / np.sqrt(400)
    # 400 draws estimate a standard deviation to about 3.5 %; allow 15 %.
    assert null.std() == pytest.approx(expected_sd, rel=0.15)
    assert pairwise_rank_correlations(times).mean() > 0.9   # the unshuffled order is shared


def test_permutation_control_rejects_bad_count():
    with pytest.raises(ValueError, match="n_permutations must be at least 1"):
        permutation_control([[1, 2], [2, 1]], n_permutations=0)


def test_within_group_rank_correlation():
    # Runs agree on the order of the groups but disagree inside each group.
    inside = np.array([0, 1, 2, 3])
    run_a = np.concatenate([inside, 10 + inside])
    run_b = np.concatenate([inside[::-1], 10 + inside[::-1]])
    groups = np.repeat([0, 1], 4)
    assert rank_correlation(run_a, run_b) > 0.5
    assert within_group_rank_correlation([run_a, run_b], groups) == {0: -1.0, 1: -1.0}
    # Groups smaller than 3 are skipped.
    assert within_group_rank_correlation([run_a, run_b], [0] * 7 + [1]) .keys() == {0}
    with pytest.raises(ValueError, match="one label per example"):
        within_group_rank_correlation([run_a, run_b], [0, 1])


def shared_order_runs(rng, k, n, noise):
    """K runs = one shared latent order + independent noise of the same size (exchangeable)."""
    latent = rng.normal(size=n)
    return latent + noise * rng.normal(size=(k, n))


def test_spearman_brown_matches_averaging_exchangeable_runs():
    rng = np.random.default_rng(7)
    runs = shared_order_runs(rng, 8, 20_000, noise=0.9)
    rho = pairwise_rank_correlations(runs).mean()
    observed = rank_correlation(runs[:4].mean(axis=0), runs[4:].mean(axis=0))
    assert observed == pytest.approx(spearman_brown(rho, 4), abs=0.01)
    assert spearman_brown(rho, 1) == pytest.approx(rho)
    assert spearman_brown(0.5, 4) == pytest.approx(0.8)


def test_spearman_brown_overpredicts_clustered_runs():
    """The null the lab's assertion is built against: two clusters with different orders."""
    rng = np.random.default_rng(8)
    runs = shared_order_runs(rng, 8, 5_000, noise=0.9)
    runs[4:] = runs[4:][:, rng.permutation(5_000)]     # the second half shares another order
    rho = pairwise_rank_correlations(runs).mean()
    observed = rank_correlation(runs[:4].mean(axis=0), runs[4:].mean(axis=0))
    assert spearman_brown(rho, 4) - observed > 0.3
    with pytest.raises(ValueError, match=r"rho must be a correlation in \(-1, 1\]"):
        spearman_brown(1.5, 2)


def test_censored_in_any_run():
    times = np.array([[0, 5, 2, 5], [1, 3, 5, 5]])
    assert np.array_equal(censored_in_any_run(times, 5), [False, True, True, True])
    with pytest.raises(ValueError, match="must lie in"):
        censored_in_any_run(times, 4)


def test_knn_vote_margin_against_a_brute_force_loop():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(120, 5))
    y = (X[:, 0] + 0.5 * rng.normal(size=120) > 0).astype(int) + (X[:, 1] > 1)
    got = knn_vote_margin(X, y, k=7)
    for i in range(len(y)):
        dist = np.linalg.norm(X - X[i], axis=1)
        dist[i] = np.inf
        nearest = np.argsort(dist, kind="stable")[:7]
        fractions = {c: np.mean(y[nearest] == c) for c in np.unique(y)}
        own = fractions.pop(y[i])
        assert got[i] == pytest.approx(own - max(fractions.values()), abs=1e-12)
    with pytest.raises(ValueError, match="k must be at most 119"):
        knn_vote_margin(X, y, k=120)


def test_knn_vote_margins_match_one_k_at_a_time():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(90, 4))
    y = rng.integers(0, 3, 90)
    curve = knn_vote_margins(X, y, ks=[1, 5, 20])
    for k in (1, 5, 20):
        assert np.allclose(curve[k], knn_vote_margin(X, y, k=k))
    with pytest.raises(ValueError, match="k must be at most 89"):
        knn_vote_margins(X, y, ks=[5, 90])


def test_rank_correlation_matrix_matches_the_pairs():
    rng = np.random.default_rng(11)
    times = rng.integers(0, 8, size=(5, 60))        # ties everywhere
    matrix = rank_correlation_matrix(times)
    assert np.allclose(matrix[np.triu_indices(5, 1)], pairwise_rank_correlations(times))
    assert np.allclose(matrix, matrix.T) and np.allclose(np.diag(matrix), 1)
    with pytest.raises(ValueError, match="constant row"):
        rank_correlation_matrix([[1, 2, 3], [2, 2, 2]])


def test_one_factor_residuals_against_a_direct_least_squares_fit():
    rng = np.random.default_rng(12)
    K = 7
    loadings = rng.uniform(0.5, 0.9, K)
    exact = np.outer(loadings, loadings)
    np.fill_diagonal(exact, 1.0)
    residuals, fitted = one_factor_residuals(exact)
    assert np.abs(residuals).max() < 1e-8 and np.allclose(fitted, loadings)
    # A matrix with structure: least squares on the off-diagonal, solved independently.
    noisy = exact + np.triu(rng.normal(scale=0.05, size=(K, K)), 1)
    noisy = np.triu(noisy, 1) + np.triu(noisy, 1).T + np.eye(K)
    upper = np.triu_indices(K, 1)
    direct = least_squares(lambda l: (noisy - np.outer(l, l))[upper], x0=np.full(K, 0.7))
    residuals, _ = one_factor_residuals(noisy)
    assert (residuals ** 2).sum() == pytest.approx((direct.fun ** 2).sum(), rel=1e-6)
    with pytest.raises(ValueError, match="at least 3 rows"):
        one_factor_residuals(np.eye(2))


def residual_rms(times):
    return np.sqrt(np.mean(one_factor_residuals(rank_correlation_matrix(times))[0] ** 2))


def test_one_order_surrogates_keep_each_run_and_the_mean_rho():
    rng = np.random.default_rng(13)
    n = 600
    latent = rng.normal(size=n)
    noise_level = np.linspace(0.6, 1.2, 6)[:, None]     # runs of different reliability
    times = np.clip(np.floor(3 * (latent + noise_level * rng.normal(size=(6, n))) + 6), 0, 12)
    times = times.astype(int)                                # a grid, ties, a censored value 12
    surrogates = one_order_surrogates(times, n_surrogates=20, rng=0)
    assert surrogates.shape == (20, 6, n)
    assert (np.sort(surrogates, axis=2) == np.sort(times, axis=1)).all()   # same times per run
    target = pairwise_rank_correlations(times).mean()
    means = [pairwise_rank_correlations(s).mean() for s in surrogates]
    assert np.mean(means) == pytest.approx(target, abs=0.03)   # calibrated on 3 draws
    # One order plus independent noise: the data's residual is inside the surrogates' range.
    null = [residual_rms(s) for s in surrogates]
    assert residual_rms(times) < 1.5 * max(null)
    # Two groups of runs with different orders: far outside it.
    grouped = times.copy()
    grouped[3:] = grouped[3:][:, rng.permutation(n)]
    grouped_null = [residual_rms(s) for s in one_order_surrogates(grouped, 20, rng=1)]
    assert residual_rms(grouped) > 4 * max(grouped_null)
    with pytest.raises(ValueError, match="must be positive"):
        one_order_surrogates(np.array([[1, 2, 3, 4], [4, 3, 2, 1]]))


def test_group_centred_ranks_against_a_loop_over_runs_and_groups():
    rng = np.random.default_rng(3)
    times = rng.integers(0, 6, size=(3, 40))            # many ties
    groups = rng.integers(0, 4, size=40)
    got = group_centred_ranks(times, groups)
    for k in range(3):
        # average ranks by hand: 1 + number below + (number equal - 1) / 2
        by_hand = np.array([1 + (times[k] < v).sum() + ((times[k] == v).sum() - 1) / 2
                            for v in times[k]])
        for g in range(4):
            m = groups == g
            np.testing.assert_allclose(got[k, m], by_hand[m] - by_hand[m].mean())
    # Runs that differ only in the order of whole groups become identical.
    a = np.array([[0, 1, 2, 10, 11, 12]])
    b = np.array([[10, 11, 12, 0, 1, 2]])
    both = group_centred_ranks(np.vstack([a, b]), [0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(both[0], both[1])


def test_group_centred_ranks_rejects_bad_groups():
    with pytest.raises(ValueError, match="one label per example"):
        group_centred_ranks([[1, 2, 3], [3, 2, 1]], [0, 1])
