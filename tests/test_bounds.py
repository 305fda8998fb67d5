"""Tests of utils.bounds, each against an independent computation."""
import math

import numpy as np
import pytest
import torch
from scipy.stats import entropy

from utils.bounds import (PRIOR_STDS, PacBayesResult, binary_kl, distance_from_init,
                          flatten_parameters, kl_diag_gaussians, kl_inverse, linear_layers,
                          margins, mcallester_bound, normalized_margins, optimize_posterior,
                          pac_bayes_certificate, pac_bayes_kl_bound, parameter_count_bound,
                          project_to_other_sphere, sample_convergence_bound, spectral_complexity,
                          spectral_product, stochastic_outputs, train_to_margin)
from utils.checks import CheckFailed, check_function
from utils.data import concentric_spheres
from utils.models import count_parameters, mlp


def test_binary_kl_matches_scipy_entropy():
    for q in (0.0, 0.1, 0.5, 0.93):
        for p in (0.01, 0.3, 0.5, 0.99):
            assert binary_kl(q, p) == pytest.approx(entropy([q, 1 - q], [p, 1 - p]), abs=1e-12)
    assert np.allclose(binary_kl(np.array([0.1, 0.2]), 0.3),
                       [entropy([0.1, 0.9], [0.3, 0.7]), entropy([0.2, 0.8], [0.3, 0.7])])
    assert binary_kl(0.2, 1.0) == math.inf
    with pytest.raises(ValueError, match="probabilities in"):
        binary_kl(1.2, 0.5)


def test_kl_inverse_matches_brute_force_search():
    grid = np.linspace(0, 1, 200_001)
    for q, c in [(0.0, 0.05), (0.03, 0.1), (0.2, 0.01), (0.5, 0.3), (0.9, 0.02)]:
        feasible = grid[(grid >= q) & (binary_kl(q, np.clip(grid, 0, 1)) <= c)]
        assert kl_inverse(q, c) == pytest.approx(feasible.max(), abs=1e-5)
    assert kl_inverse(0.0, math.log(2)) == pytest.approx(0.5, abs=1e-9)  # -ln(1 - p) = ln 2
    assert kl_inverse(0.3, 0.0) == 0.3
    assert kl_inverse(1.0, 0.1) == 1.0
    with pytest.raises(ValueError, match="c must be"):
        kl_inverse(0.1, -1.0)


def test_pac_bayes_kl_bound_inverts_maurer_form():
    b = pac_bayes_kl_bound(0.05, 100.0, 1000, 0.05)
    c = (100.0 + math.log(2 * math.sqrt(1000) / 0.05)) / 1000
    assert binary_kl(0.05, b) == pytest.approx(c, rel=1e-6)
    assert pac_bayes_kl_bound(0.05, 200.0, 1000, 0.05) > b           # more KL, weaker bound
    assert pac_bayes_kl_bound(0.05, 100.0, 10_000, 0.05) < b         # more data, tighter
    with pytest.raises(ValueError, match="delta"):
        pac_bayes_kl_bound(0.05, 1.0, 100, 1.5)


def test_mcallester_bound_is_pinsker_relaxation():
    for q, kl, n in [(0.0, 5.0, 1000), (0.1, 50.0, 2000), (0.3, 10.0, 500)]:
        expected = min(1.0, q + math.sqrt((kl + math.log(2 * math.sqrt(n) / 0.05)) / (2 * n)))
        assert mcallester_bound(q, kl, n, 0.05) == pytest.approx(expected)
        assert mcallester_bound(q, kl, n, 0.05) >= pac_bayes_kl_bound(q, kl, n, 0.05) - 1e-9
    with pytest.raises(ValueError, match="emp_risk"):
        mcallester_bound(-0.1, 1.0, 10, 0.1)


def test_sample_convergence_bound_covers_true_error():
    rng = np.random.default_rng(0)
    p, n_samples, delta = 0.1, 200, 0.05
    estimates = rng.binomial(n_samples, p, size=2000) / n_samples
    misses = np.mean([sample_convergence_bound(e, n_samples, delta) < p for e in estimates])
    assert misses <= delta            # the upper limit fails at most delta of the time
    assert sample_convergence_bound(0.1, 100, 0.01) == pytest.approx(
        kl_inverse(0.1, math.log(2 / 0.01) / 100))
    with pytest.raises(ValueError, match="n_samples"):
        sample_convergence_bound(0.1, 0, 0.01)


def test_kl_diag_gaussians_matches_monte_carlo():
    rng = np.random.default_rng(1)
    mu_q, s_q = rng.normal(size=3), rng.uniform(0.5, 1.5, size=3)
    mu_p, s_p = rng.normal(size=3), rng.uniform(0.5, 1.5, size=3)
    x = mu_q + s_q * rng.standard_normal((400_000, 3))
    log_q = -0.5 * ((x - mu_q) / s_q) ** 2 - np.log(s_q)
    log_p = -0.5 * ((x - mu_p) / s_p) ** 2 - np.log(s_p)
    log_ratio = (log_q - log_p).sum(axis=1)
    mc, standard_error = log_ratio.mean(), log_ratio.std() / math.sqrt(len(log_ratio))
    assert abs(kl_diag_gaussians(mu_q, s_q, mu_p, s_p) - mc) <= 4 * standard_error
    # torch in, differentiable tensor out
    mu = torch.zeros(3, requires_grad=True)
    kl = kl_diag_gaussians(mu, torch.ones(3), torch.ones(3), torch.tensor(1.0))
    kl.backward()
    assert kl.item() == pytest.approx(1.5) and torch.allclose(mu.grad, -torch.ones(3))
    with pytest.raises(ValueError, match="positive"):
        kl_diag_gaussians([0.0], [-1.0], [0.0], 1.0)


def test_parameter_count_bound_closed_form_and_cap():
    expected = math.sqrt((8 * 100 * math.log(2) + math.log(1 / 0.01)) / (2 * 1_000_000))
    assert parameter_count_bound(0.1, 100, 1_000_000, 0.01, bits=8) == pytest.approx(0.1 + expected)
    assert parameter_count_bound(0.0, 10_000, 1_000, 0.05) == 1.0
    with pytest.raises(ValueError, match="n_params"):
        parameter_count_bound(0.0, 0, 10, 0.05)


def test_margins_brute_force_and_binary():
    rng = np.random.default_rng(2)
    out, y = rng.normal(size=(30, 4)), rng.integers(0, 4, 30)
    brute = [out[i, y[i]] - max(out[i, j] for j in range(4) if j != y[i]) for i in range(30)]
    assert np.allclose(margins(out, y), brute)
    assert np.allclose(margins(torch.tensor(out), torch.tensor(y)), brute)
    assert margins(np.array([[2.0], [2.0]]), np.array([1, 0])).tolist() == [2.0, -2.0]
    with pytest.raises(ValueError, match="labels in 0..3"):
        margins(out, y + 4)


def test_spectral_complexity_against_explicit_formula():
    rng = np.random.default_rng(3)
    A = [rng.normal(size=(5, 4)), rng.normal(size=(3, 5))]
    spec = [np.linalg.svd(a, compute_uv=False)[0] for a in A]
    rows = [sum(np.sqrt((a[i] ** 2).sum()) for i in range(a.shape[0])) for a in A]
    expected = np.prod(spec) * sum((r / s) ** (2 / 3) for r, s in zip(rows, spec)) ** 1.5
    assert spectral_complexity(A) == pytest.approx(expected)
    assert spectral_complexity([2 * A[0], A[1]]) == pytest.approx(2 * expected)  # homogeneous
    assert spectral_complexity(A, reference=A) == 0.0                           # M_i = A_i
    net = mlp(4, [5], 3, generator=torch.Generator().manual_seed(0))
    mats = [l.weight.detach().numpy() for l in linear_layers(net)]
    assert spectral_complexity(net) == pytest.approx(spectral_complexity(mats), rel=1e-6)
    with pytest.raises(ValueError, match="reference"):
        spectral_complexity(A, reference=[A[0]])


def test_normalized_margins_definition_and_scale_invariance():
    g = torch.Generator().manual_seed(4)
    net = mlp(6, [8], 3, generator=g)
    X = torch.randn(20, 6, generator=g)
    y = torch.randint(0, 3, (20,), generator=g)
    with torch.no_grad():
        raw = margins(net(X), y)
    expected = raw / (spectral_complexity(net) * float(torch.linalg.norm(X)) / 20)
    assert np.allclose(normalized_margins(net, X, y), expected)
    with torch.no_grad():                      # scale the last layer: outputs and R_A scale
        net[-1].weight.mul_(3.0)
        net[-1].bias.mul_(3.0)
    assert np.allclose(normalized_margins(net, X, y), expected, rtol=1e-4)
    with pytest.raises(ValueError, match="2-D"):
        normalized_margins(net, X[0], y)


def test_linear_layers_and_spectral_product():
    net = mlp(4, [6, 5], 2, generator=torch.Generator().manual_seed(0))
    layers = linear_layers(net)
    assert [l.out_features for l in layers] == [6, 5, 2]
    expected = np.prod([np.linalg.svd(l.weight.detach().numpy(), compute_uv=False)[0]
                        for l in layers])
    assert spectral_product(net) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="no nn.Linear"):
        linear_layers(torch.nn.ReLU())


def test_distance_from_init_manual():
    net = mlp(3, [4], 2, generator=torch.Generator().manual_seed(0))
    w0 = [p.detach().clone() for p in net.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.5)
    assert distance_from_init(net, w0) == pytest.approx(0.5 * math.sqrt(count_parameters(net)))
    with pytest.raises(ValueError, match="one tensor per parameter"):
        distance_from_init(net, w0[:1])


def test_project_to_other_sphere_swaps_radii_and_is_an_involution():
    X, y = concentric_spheres(50, d=7, rng=0)
    Xp, yp = project_to_other_sphere(X, y)
    assert np.allclose(np.linalg.norm(Xp, axis=1), np.where(yp == 0, 1.0, 1.1))
    assert (yp == 1 - y).all()
    cos = (X * Xp).sum(1) / np.linalg.norm(X, axis=1) / np.linalg.norm(Xp, axis=1)
    assert np.allclose(cos, 1.0)                              # same directions
    X2, y2 = project_to_other_sphere(Xp, yp)
    assert np.allclose(X2, X) and (y2 == y).all()
    with pytest.raises(ValueError, match="labels 0"):
        project_to_other_sphere(X, y + 2)


def test_train_to_margin_reaches_margin_or_stops():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 2, generator=g)
    y = (X[:, 0] > 0).long()
    X[:, 0] += 2 * y - 1
    net = torch.nn.Linear(2, 2)
    out = train_to_margin(net, X, y, margin=1.0, lr=1.0, generator=g)
    with torch.no_grad():
        assert out["reached"] and margins(net(X), y).min() >= 1.0
    out = train_to_margin(torch.nn.Linear(2, 2), X, y, margin=1e6, max_epochs=2, generator=g)
    assert out["epochs"] == 2 and not out["reached"]
    with pytest.raises(ValueError, match="margin"):
        train_to_margin(net, X, y, margin=0.0)


def test_flatten_parameters_and_stochastic_outputs_match_the_model():
    g = torch.Generator().manual_seed(5)
    net = mlp(5, [7, 4], 1, generator=g)
    w = flatten_parameters(net)
    assert w.numel() == count_parameters(net)
    X = torch.randn(9, 5, generator=g)
    weights = w + 0.1 * torch.randn(3, w.numel(), generator=g)
    out = stochastic_outputs(net, weights, X)
    for k in range(3):                         # load each vector into a copy and compare
        copy = mlp(5, [7, 4], 1)
        torch.nn.utils.vector_to_parameters(weights[k], copy.parameters())
        with torch.no_grad():
            assert torch.allclose(out[k], copy(X)[:, 0], atol=1e-5)
    with pytest.raises(ValueError, match="one output"):
        stochastic_outputs(mlp(5, [3], 2), weights, X)


def _binary_problem():
    g = torch.Generator().manual_seed(6)
    X = torch.randn(200, 3, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return X, y, g


def test_optimize_posterior_lowers_its_objective():
    X, y, g = _binary_problem()
    net = mlp(3, [8], 1, generator=g)
    w0 = flatten_parameters(net)
    mean, std, prior_std = optimize_posterior(net, w0, X, y, steps=0, generator=g)
    assert torch.equal(mean, w0) and torch.allclose(std, torch.full_like(w0, 0.1))
    before = pac_bayes_certificate(net, mean, std, w0, X, y, n_samples=200, generator=g).bound
    mean, std, prior_std = optimize_posterior(net, w0, X, y, steps=150, generator=g)
    after = pac_bayes_certificate(net, mean, std, w0, X, y, n_samples=200, generator=g).bound
    assert after < before and (std > 0).all() and prior_std > 0
    with pytest.raises(ValueError, match="prior_mean"):
        optimize_posterior(net, w0[:3], X, y, steps=1)


def test_pac_bayes_certificate_recomputes_from_its_parts():
    X, y, g = _binary_problem()
    net = mlp(3, [8], 1, generator=g)
    w0 = flatten_parameters(net)
    s = float(PRIOR_STDS[60])
    r = pac_bayes_certificate(net, w0, torch.full_like(w0, s), w0, X, y, n_samples=300,
                              X_test=X, y_test=y, generator=g)
    assert isinstance(r, PacBayesResult)
    assert r.kl == pytest.approx(0.0, abs=1e-6) and r.prior_std == pytest.approx(s)  # Q = P
    assert r.train_error_bound == pytest.approx(
        sample_convergence_bound(r.train_error_mc, 300, 0.01))
    assert r.bound == pytest.approx(pac_bayes_kl_bound(
        r.train_error_bound, r.kl + math.log(len(PRIOR_STDS)), 200, 0.025))
    assert 0.0 <= r.test_error_mc <= 1.0 and r.n == 200
    with pytest.raises(ValueError, match="both X_test and y_test"):
        pac_bayes_certificate(net, w0, torch.ones_like(w0), w0, X, y, X_test=X)


def test_checks_reject_a_wrong_kl_inverse():
    def wrong(q, c):  # the Pinsker relaxation instead of the kl inverse
        return min(1.0, q + math.sqrt(c / 2))
    with pytest.raises(CheckFailed):
        check_function(wrong, kl_inverse, cases=[(0.05, 0.1), (0.3, 0.01)], atol=1e-6)


def test_bft_complexity_term_against_explicit_formula_and_reference():
    import copy

    from utils.bounds import bft_complexity_term
    g = torch.Generator().manual_seed(7)
    net = mlp(5, [6], 2, generator=g)
    init = copy.deepcopy(net)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g))
    X = torch.randn(11, 5, generator=g)
    A = [net[0].weight.detach().double().numpy(), net[2].weight.detach().double().numpy()]
    M = [init[0].weight.detach().double().numpy(), init[2].weight.detach().double().numpy()]

    def explicit(refs):   # R_A from singular values and row norms, written out by hand
        spec = [np.linalg.svd(a, compute_uv=False)[0] for a in A]
        two_one = [sum(math.sqrt(((a[i] - r[i]) ** 2).sum()) for i in range(a.shape[0]))
                   for a, r in zip(A, refs)]
        r_a = spec[0] * spec[1] * sum((t / s) ** (2 / 3) for t, s in zip(two_one, spec)) ** 1.5
        return r_a * math.sqrt(float((X.double() ** 2).sum())) / (0.5 * 11)

    zeros = [np.zeros_like(a) for a in A]
    assert bft_complexity_term(net, X, 0.5) == pytest.approx(explicit(zeros), rel=1e-5)
    assert bft_complexity_term(net, X, 0.5, reference=init) == pytest.approx(explicit(M), rel=1e-5)
    assert bft_complexity_term(net, X, 1.0) == pytest.approx(explicit(zeros) / 2, rel=1e-5)
    with pytest.raises(ValueError, match="gamma"):
        bft_complexity_term(net, X, 0.0)
    with pytest.raises(ValueError, match="2-D"):
        bft_complexity_term(net, X[0], 1.0)


def test_pac_bayes_certificate_union_bound_over_prior_scales_independently():
    # Rebuild the certificate with numpy/scipy only: the grid of prior scales by hand, the
    # Gaussian KL in closed form at every scale, the smallest one plus ln(grid size), and both
    # kl inversions by root finding. Q differs from P so that the best scale is interior.
    from scipy.optimize import brentq
    from scipy.special import rel_entr

    def kl_bern(q, p):
        return float(rel_entr(q, p) + rel_entr(1 - q, 1 - p))

    def kl_inv(q, c):  # largest p in [q, 1) with kl(q || p) <= c
        return brentq(lambda p: kl_bern(q, p) - c, q, 1 - 1e-15, xtol=1e-14)

    X, y, g = _binary_problem()
    net = mlp(3, [8], 1, generator=g)
    w0 = flatten_parameters(net)
    mean = w0 + 0.05 * torch.randn(w0.shape, generator=g)
    std = 0.02 + 0.1 * torch.rand(w0.shape, generator=g)
    r = pac_bayes_certificate(net, mean, std, w0, X, y, n_samples=200, delta=0.025,
                              delta_mc=0.01, generator=g)
    grid = np.exp(np.linspace(np.log(1e-3), np.log(1.0), 121))
    np.testing.assert_allclose(PRIOR_STDS, grid, rtol=1e-12)
    mu, sig, m0 = mean.double().numpy(), std.double().numpy(), w0.double().numpy()
    kls = [0.5 * np.sum(sig ** 2 / s ** 2 + (mu - m0) ** 2 / s ** 2 - 1 + np.log(s ** 2 / sig ** 2))
           for s in grid]
    best = int(np.argmin(kls))
    assert 0 < best < len(grid) - 1
    assert r.prior_std == pytest.approx(grid[best]) and r.kl == pytest.approx(kls[best], rel=1e-9)
    n = 200
    train_up = kl_inv(r.train_error_mc, math.log(2 / 0.01) / 200)
    assert r.train_error_bound == pytest.approx(train_up, abs=1e-9)
    c = (kls[best] + math.log(121) + math.log(2 * math.sqrt(n) / 0.025)) / n
    assert r.bound == pytest.approx(kl_inv(train_up, c), abs=1e-9)
    # The union bound is paid: without ln 121 the bound would be smaller.
    assert r.bound > kl_inv(train_up, c - math.log(121) / n) + 1e-4
