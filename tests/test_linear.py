"""Tests of utils.linear against numpy's own routines, brute force and simulation."""
import numpy as np
import pytest

from utils.data import gaussian_linear_regression
from utils.linear import (RandomFourierFeatures, design_spectra, min_norm_expected_risk,
                          min_norm_fit, optimal_ridge_lambda, ridge_conditional_risk, ridge_fit,
                          risk_from_spectra, simulate_min_norm_risk)


def test_min_norm_fit_matches_pinv_and_interpolates():
    rng = np.random.default_rng(0)
    for n, d in [(5, 12), (12, 5), (8, 8)]:
        X = rng.standard_normal((n, d))
        y = rng.standard_normal(n)
        w = min_norm_fit(X, y)
        np.testing.assert_allclose(w, np.linalg.pinv(X) @ y, atol=1e-10)
        if n <= d:
            np.testing.assert_allclose(X @ w, y, atol=1e-10)


def test_min_norm_fit_is_the_smallest_interpolant():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, 6))
    y = rng.standard_normal(3)
    w = min_norm_fit(X, y)
    # Any other interpolant is w plus a null-space vector, which can only add norm.
    null = np.linalg.svd(X)[2][3:]
    for _ in range(20):
        other = w + rng.standard_normal(3) @ null
        np.testing.assert_allclose(X @ other, y, atol=1e-10)
        assert np.linalg.norm(other) >= np.linalg.norm(w) - 1e-12


def test_min_norm_fit_seed_example():
    # The seed text's example: x = (-1, 3) -> 3 and x = (0, 1) -> 0 has the unique fit (-3, 0).
    np.testing.assert_allclose(min_norm_fit([[-1.0, 3.0], [0.0, 1.0]], [3.0, 0.0]), [-3.0, 0.0],
                               atol=1e-12)


def test_gradient_descent_from_zero_reaches_min_norm_fit():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((4, 10))
    y = rng.standard_normal(4)
    w = np.zeros(10)
    lr = 1.0 / np.linalg.norm(X, 2) ** 2
    for _ in range(5000):
        w -= lr * X.T @ (X @ w - y)
    np.testing.assert_allclose(w, min_norm_fit(X, y), atol=1e-8)


def test_min_norm_fit_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        min_norm_fit(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="one row per row"):
        min_norm_fit(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="finite"):
        min_norm_fit([[np.nan, 1.0]], [1.0])


def test_ridge_fit_matches_normal_equations_and_augmented_lstsq():
    rng = np.random.default_rng(3)
    for n, d in [(6, 15), (15, 6)]:
        X = rng.standard_normal((n, d))
        Y = rng.standard_normal((n, 3))
        lam = 0.7
        reference = np.linalg.inv(X.T @ X + lam * np.eye(d)) @ X.T @ Y
        np.testing.assert_allclose(ridge_fit(X, Y, lam), reference, atol=1e-10)
        augmented = np.linalg.lstsq(np.vstack([X, np.sqrt(lam) * np.eye(d)]),
                                    np.vstack([Y, np.zeros((d, 3))]), rcond=None)[0]
        np.testing.assert_allclose(ridge_fit(X, Y[:, 0], lam), augmented[:, 0], atol=1e-10)
        np.testing.assert_allclose(ridge_fit(X, Y, 0.0), min_norm_fit(X, Y), atol=1e-8)


def test_ridge_fit_rejects_negative_lambda():
    with pytest.raises(ValueError, match="lam"):
        ridge_fit(np.eye(2), np.ones(2), -1.0)


def test_min_norm_expected_risk_values_and_edges():
    d = 20
    n = np.array([1, 10, 18, 19, 20, 21, 22, 40])
    r = min_norm_expected_risk(n, d, beta_norm_sq=2.0, sigma=0.5)
    np.testing.assert_allclose(r[0], 2.0 * (1 - 1 / 20) + 0.25 * 1 / 18)
    np.testing.assert_allclose(r[1], 2.0 * 0.5 + 0.25 * 10 / 9)
    assert np.isinf(r[3:6]).all()
    np.testing.assert_allclose(r[6], 0.25 * 20 / 1)
    np.testing.assert_allclose(r[7], 0.25 * 20 / 19)
    # Without noise there is no divergence: only the bias of the unseen directions is left.
    r0 = min_norm_expected_risk(n, d, beta_norm_sq=2.0, sigma=0.0)
    assert np.isfinite(r0).all() and r0[4] == 0.0 and r0[7] == 0.0


def test_min_norm_expected_risk_rejects_bad_input():
    with pytest.raises(ValueError, match="n must hold integers"):
        min_norm_expected_risk([0, 3], d=5, beta_norm_sq=1.0, sigma=1.0)
    with pytest.raises(ValueError, match="n must hold integers"):
        min_norm_expected_risk([2.5], d=5, beta_norm_sq=1.0, sigma=1.0)
    with pytest.raises(ValueError, match="sigma"):
        min_norm_expected_risk([3], d=5, beta_norm_sq=1.0, sigma=-1.0)


def test_simulate_min_norm_risk_agrees_with_the_closed_form():
    # Independent check of the formula: Monte Carlo over (X, eps) with plain numpy fits.
    d = 30
    beta = np.ones(d) / np.sqrt(d)
    n_values = [5, 15, 22, 40, 60]
    sim = simulate_min_norm_risk(n_values, beta, sigma=0.5, n_draws=1500, rng=0).mean(axis=0)
    exact = min_norm_expected_risk(np.array(n_values), d, beta_norm_sq=1.0, sigma=0.5)
    np.testing.assert_allclose(sim, exact, rtol=0.06)


def test_simulate_min_norm_risk_rejects_bad_input():
    with pytest.raises(ValueError, match="n_draws"):
        simulate_min_norm_risk([3], np.ones(3), 0.1, n_draws=0, rng=0)
    with pytest.raises(ValueError, match="at least one"):
        simulate_min_norm_risk([], np.ones(3), 0.1, n_draws=2, rng=0)


def test_design_spectra_and_risk_from_spectra_against_monte_carlo_over_noise():
    rng = np.random.default_rng(4)
    d, sigma = 12, 0.8
    beta = rng.standard_normal(d)
    for n, lam in [(7, 0.0), (7, 2.0), (20, 0.0), (20, 5.0)]:
        X = rng.standard_normal((n, d))
        s2, c2, null_sq = design_spectra(X, beta)
        assert len(s2) == min(n, d)
        np.testing.assert_allclose(c2.sum() + null_sq, beta @ beta)
        exact = risk_from_spectra(s2, c2, null_sq, sigma, lam)
        assert exact == pytest.approx(ridge_conditional_risk(X, beta, sigma, lam))
        noise = sigma * rng.standard_normal((20000, n))
        fits = ridge_fit(X, (X @ beta)[:, None] + noise.T, lam)   # one column per noise draw
        mc = np.mean(np.sum((fits - beta[:, None]) ** 2, axis=0))
        assert exact == pytest.approx(mc, rel=0.03)


def test_risk_from_spectra_rejects_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        risk_from_spectra([1.0, 2.0], [1.0], 0.0, sigma=1.0, lam=0.0)
    with pytest.raises(ValueError, match="positive"):
        risk_from_spectra([0.0], [1.0], 0.0, sigma=1.0, lam=0.0)
    with pytest.raises(ValueError, match="columns"):
        design_spectra(np.ones((3, 4)), np.ones(5))
    with pytest.raises(ValueError, match="lam"):
        ridge_conditional_risk(np.eye(2), np.ones(2), sigma=1.0, lam=-0.1)


def test_optimal_ridge_lambda_beats_a_grid():
    d, sigma = 20, 0.5
    beta = np.ones(d) / np.sqrt(d)
    lam_star = optimal_ridge_lambda(d, 1.0, sigma)
    assert lam_star == pytest.approx(d * sigma ** 2)
    rng = np.random.default_rng(5)
    for n in (10, 20, 35):
        spectra = [design_spectra(gaussian_linear_regression(n, beta, 0.0, rng)[0], beta)
                   for _ in range(400)]
        def mean_risk(lam):
            return np.mean([risk_from_spectra(*s, sigma=sigma, lam=lam) for s in spectra])
        best = min(mean_risk(lam) for lam in lam_star * np.array([0.25, 0.5, 2.0, 4.0]))
        assert mean_risk(lam_star) <= best * 1.01


def test_optimal_ridge_lambda_rejects_zero_signal():
    with pytest.raises(ValueError, match="beta_norm_sq"):
        optimal_ridge_lambda(10, 0.0, 1.0)


def test_random_fourier_features_approximate_the_gaussian_kernel():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((6, 4))
    bandwidth = 1.5
    rff = RandomFourierFeatures(4, 40000, bandwidth, rng=7)
    Phi = rff.transform(X)
    sq = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(Phi @ Phi.T, np.exp(-sq / (2 * bandwidth ** 2)), atol=0.02)
    # Same seed, same features; each feature is sqrt(2/N) cos(. + b), so bounded by that.
    again = RandomFourierFeatures(4, 40000, bandwidth, rng=7).transform(X)
    np.testing.assert_array_equal(Phi, again)
    assert np.abs(Phi).max() <= np.sqrt(2 / 40000) + 1e-15


def test_random_fourier_features_reject_bad_input():
    with pytest.raises(ValueError, match="bandwidth"):
        RandomFourierFeatures(2, 10, 0.0, rng=0)
    with pytest.raises(ValueError, match="n_features"):
        RandomFourierFeatures(2, 0, 1.0, rng=0)
    with pytest.raises(ValueError, match="columns"):
        RandomFourierFeatures(2, 10, 1.0, rng=0).transform(np.ones((3, 3)))


def test_lab_checks_reject_typical_wrong_answers():
    # Lab 1's checks compare against these functions; common mistakes must not pass.
    from utils.checks import CheckFailed, check_array, check_function

    def excess_only(n, d, sigma):     # forgets the irreducible sigma^2 in the test error
        return float(min_norm_expected_risk(n, d, beta_norm_sq=1.0, sigma=sigma))

    def test_error(n, d, sigma):
        return excess_only(n, d, sigma) + sigma ** 2

    with pytest.raises(CheckFailed):
        check_function(excess_only, test_error, cases=[(10, 50, 0.5), (150, 50, 0.5)])
    # Gradient descent started away from zero interpolates but is not the min-norm fit.
    X, y = np.array([[-1.0, 3.0]]), np.array([3.0])
    b = np.array([1.0, 1.0])
    for _ in range(2000):
        b -= 0.05 * X.T @ (X @ b - y)
    np.testing.assert_allclose(X @ b, y, atol=1e-8)
    with pytest.raises(CheckFailed):
        check_array(b, min_norm_fit(X, y), rtol=1e-4, atol=1e-6)


def test_random_relu_features_match_a_frozen_torch_layer_and_interpolate():
    import torch

    from utils.linear import RandomReLUFeatures, min_norm_fit
    relu = RandomReLUFeatures(5, 30, rng=3)
    X = np.random.default_rng(4).standard_normal((12, 5))
    layer = torch.nn.Linear(5, 30).double()          # the same map, written as a torch layer
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(relu.weights))
        layer.bias.copy_(torch.from_numpy(relu.bias))
        expected = torch.relu(layer(torch.from_numpy(X))).numpy()
    assert np.allclose(relu.transform(X), expected)
    bound = 1 / np.sqrt(5)                           # PyTorch's default nn.Linear range
    assert np.abs(relu.weights).max() <= bound and np.abs(relu.bias).max() <= bound
    assert np.allclose(RandomReLUFeatures(5, 30, rng=3).weights, relu.weights)
    Y = np.eye(3)[np.arange(12) % 3]                 # N = 30 > n = 12: the fit interpolates
    phi = relu.transform(X)
    assert np.allclose(phi @ min_norm_fit(phi, Y), Y, atol=1e-8)
    with pytest.raises(ValueError, match="n_features"):
        RandomReLUFeatures(5, 0, rng=0)
    with pytest.raises(ValueError, match="columns"):
        relu.transform(np.ones((3, 4)))
