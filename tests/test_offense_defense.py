"""Tests of utils.offense_defense: closed forms against Monte Carlo, brute force, quadrature
and cases computed by hand."""
import itertools
import math

import numpy as np
import pytest
from scipy import integrate, stats

from utils.checks import CheckFailed, check_function, check_scalar
from utils.offense_defense import (best_response_success, equal_investment_peak,
                                   mc_sample_size, multi_vector_success,
                                   proportional_noise_success, ratio_contest,
                                   required_defense, required_defense_homogeneous,
                                   sector_breach_probability, simulate_multi_vector,
                                   simulate_success, stratified_log_rates, stream_floor,
                                   stream_required_ratio, stream_success_probability,
                                   success_probability)


# --------------------------------------------------------------------------------------------
# success_probability
# --------------------------------------------------------------------------------------------


def brute_force_success(a, d, rates):
    """Sum over all 2^N (attacker-found, defender-found) patterns, vulnerability by vulnerability."""
    total = 0.0
    for pattern in itertools.product([0, 1, 2, 3], repeat=len(rates)):
        # 0: neither finds, 1: attacker only, 2: defender only, 3: both
        prob, hole = 1.0, False
        for state, r in zip(pattern, rates):
            pa, pd = 1 - math.exp(-r * a), 1 - math.exp(-r * d)
            prob *= [(1 - pa) * (1 - pd), pa * (1 - pd), (1 - pa) * pd, pa * pd][state]
            hole |= state == 1
        total += prob * hole
    return total


def test_success_probability_hand_computed_cases():
    # One vulnerability: found by the attacker, not by the defender.
    assert success_probability(2.0, 1.0, [0.5]) == pytest.approx((1 - math.exp(-1)) * math.exp(-0.5))
    # No attack, no success; no defense: 1 - prod exp(-r a).
    assert success_probability(0.0, 3.0, [1.0, 2.0]) == 0.0
    assert success_probability(1.0, 0.0, [1.0, 2.0]) == pytest.approx(1 - math.exp(-3))
    # Two equal vulnerabilities at the peak: 1 - (3/4)^2.
    assert success_probability(math.log(2), math.log(2), [1.0, 1.0]) == pytest.approx(7 / 16)


def test_success_probability_against_brute_force_and_broadcasts():
    rates = [0.3, 1.0, 4.0]
    a = np.array([0.1, 1.0, 5.0])
    d = np.array([[0.0], [0.7], [10.0]])
    got = success_probability(a, d, rates)
    assert got.shape == (3, 3)
    for i, j in itertools.product(range(3), range(3)):
        assert got[i, j] == pytest.approx(brute_force_success(a[j], d[i, 0], rates), abs=1e-12)


def test_success_probability_monotone():
    rates = stratified_log_rates(8, 0.1, 10.0, rng=3)
    x = np.linspace(0, 5, 50)
    assert np.all(np.diff(success_probability(x, 1.0, rates)) >= 0)   # more attack helps
    assert np.all(np.diff(success_probability(1.0, x, rates)) <= 0)   # more defense hurts it


@pytest.mark.parametrize("bad, match", [
    (dict(rates=[]), "non-empty 1-D"),
    (dict(rates=[1.0, 0.0]), "finite and positive"),
    (dict(a=-1.0), "a must hold finite, non-negative"),
    (dict(d=np.nan), "d must hold finite, non-negative"),
])
def test_success_probability_rejects_bad_input(bad, match):
    args = dict(a=1.0, d=1.0, rates=[1.0]) | bad
    with pytest.raises(ValueError, match=match):
        success_probability(**args)


# --------------------------------------------------------------------------------------------
# simulate_success and mc_sample_size
# --------------------------------------------------------------------------------------------


def test_simulate_success_agrees_with_closed_form_across_a_grid():
    grid = np.logspace(-1.3, 1.3, 8)
    rates = stratified_log_rates(10, 10 ** -1.5, 10 ** 1.5, rng=0)
    n = mc_sample_size(0.01, n_points=grid.size ** 2, alpha=1e-3)
    est = simulate_success(grid, grid, rates, n_samples=n, rng=1, batch=7_000)
    exact = success_probability(grid[:, None], grid[None, :], rates)
    assert np.abs(est - exact).max() < 0.01


def test_simulate_success_independent_bernoulli_draws():
    """A direct simulation with Bernoulli 'found' flags (not discovery times) agrees too."""
    rng = np.random.default_rng(5)
    rates = np.array([0.5, 2.0])
    a, d, n = 1.2, 0.8, 200_000
    found_a = rng.random((n, 2)) < 1 - np.exp(-rates * a)
    found_d = rng.random((n, 2)) < 1 - np.exp(-rates * d)
    direct = np.mean(np.any(found_a & ~found_d, axis=1))
    est = simulate_success([a], [d], rates, n_samples=n, rng=6)[0, 0]
    assert abs(direct - est) < 0.01
    assert abs(est - success_probability(a, d, rates)) < 0.01


def test_simulate_success_is_reproducible_and_validates():
    one = simulate_success([1.0], [1.0], [1.0], 1000, rng=np.random.default_rng(2))
    two = simulate_success([1.0], [1.0], [1.0], 1000, rng=2)
    assert np.array_equal(one, two)
    # batching does not change the estimate for a given seed in distribution; edge values exact
    assert simulate_success([0.0], [0.0], [1.0], 50, rng=0)[0, 0] == 0.0
    with pytest.raises(ValueError, match="n_samples must be at least 1"):
        simulate_success([1.0], [1.0], [1.0], 0)
    with pytest.raises(ValueError, match="a_grid must be a 1-D grid"):
        simulate_success(np.ones((2, 2)), [1.0], [1.0], 10)
    with pytest.raises(TypeError, match="rng must be"):
        simulate_success([1.0], [1.0], [1.0], 10, rng="seed")


def test_mc_sample_size_matches_the_normal_formula():
    assert mc_sample_size(0.01, 1, 0.05) == 9604  # the textbook 1.96^2 / (4 * 0.01^2)
    z = stats.norm.ppf(1 - 1e-3 / 128)
    assert mc_sample_size(0.01, 64, 1e-3) == math.ceil((0.5 * z / 0.01) ** 2)
    assert mc_sample_size(0.01, 64) > mc_sample_size(0.01, 1)
    with pytest.raises(ValueError, match=r"tol must be in \(0, 0.5\]"):
        mc_sample_size(0.0)
    with pytest.raises(ValueError, match="n_points must be at least 1"):
        mc_sample_size(0.01, 0)


# --------------------------------------------------------------------------------------------
# the peak of the equal-investment curve
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate, n", [(1.0, 1), (0.25, 10), (3.0, 50)])
def test_equal_investment_peak_against_numerical_maximum(rate, n):
    x = np.linspace(1e-4, 5 / rate, 200_001)
    p = success_probability(x, x, np.full(n, rate))
    assert equal_investment_peak(rate) == pytest.approx(x[p.argmax()], abs=1e-3 / rate)
    assert p.max() == pytest.approx(1 - 0.75 ** n, rel=1e-9)
    # unimodal: rises before the peak, falls after
    k = p.argmax()
    assert np.all(np.diff(p[:k + 1]) >= 0) and np.all(np.diff(p[k:]) <= 0)


def test_equal_investment_peak_rejects_bad_rate():
    with pytest.raises(ValueError, match=r"rate must be in \(0, inf\]"):
        equal_investment_peak(0.0)


# --------------------------------------------------------------------------------------------
# required defense
# --------------------------------------------------------------------------------------------


def test_required_defense_homogeneous_hits_the_target():
    a = np.logspace(-0.5, 2, 20)
    for n, target in [(1, 0.3), (10, 0.5), (40, 0.9)]:
        d = required_defense_homogeneous(a, 1.0, n, target)
        reached = success_probability(a, d, np.ones(n))
        active = d > 0
        assert np.allclose(reached[active], target, atol=1e-12)
        # where no defense is needed, the undefended attacker is at or below the target
        assert np.all(success_probability(a[~active], 0.0, np.ones(n)) <= target + 1e-12)


def test_required_defense_numerical_agrees_with_closed_form():
    a = np.logspace(-2, 2, 30)
    num = required_defense(a, np.full(10, 2.0), target=0.5)
    closed = required_defense_homogeneous(a, 2.0, 10, target=0.5)
    assert np.allclose(num, closed, atol=1e-8)


def test_required_defense_heterogeneous_hits_the_target_and_limits():
    rates = stratified_log_rates(12, 0.05, 20.0, rng=4)
    a = np.logspace(-0.5, 2.5, 15)
    d = required_defense(a, rates, target=0.5)
    assert np.allclose(success_probability(a, d, rates), 0.5, atol=1e-8)
    # large-a limit: the defense needed for an attacker that has found everything
    limit = required_defense(1e6, rates, target=0.5)
    exact_limit = __import__("scipy").optimize.brentq(
        lambda x: 1 - np.prod(1 - np.exp(-rates * x)) - 0.5, 0, 1e3)
    assert float(limit) == pytest.approx(exact_limit, abs=1e-8)


def test_spending_ratio_asymptotics_homogeneous():
    """Between h* << r a << 1 the ratio is about ln(r a / h*) / (r a); at large a, d -> ln(1/h*)/r."""
    n, target = 1000, 0.5
    h = 1 - (1 - target) ** (1 / n)
    a = 30 * h  # r = 1
    d = float(required_defense_homogeneous(a, 1.0, n, target))
    assert d / a == pytest.approx(math.log(a / h) / a, rel=0.02)
    assert d / a > 50
    far = float(required_defense_homogeneous(60.0, 1.0, n, target))
    assert far == pytest.approx(math.log(1 / h), rel=1e-9)


def test_required_defense_validates():
    with pytest.raises(ValueError, match=r"target must be in \(0, 1\)"):
        required_defense(1.0, [1.0], target=1.0)
    with pytest.raises(ValueError, match="n_vulns must be at least 1"):
        required_defense_homogeneous(1.0, 1.0, 0)


# --------------------------------------------------------------------------------------------
# stratified_log_rates
# --------------------------------------------------------------------------------------------


def test_stratified_log_rates_one_per_slice():
    r = stratified_log_rates(50, 1e-3, 1e3, rng=9)
    slices = np.floor((np.log(r) - np.log(1e-3)) / (np.log(1e6) / 50)).astype(int)
    assert np.array_equal(slices, np.arange(50))
    assert not np.array_equal(r, stratified_log_rates(50, 1e-3, 1e3, rng=10))
    with pytest.raises(ValueError, match="high must be in"):
        stratified_log_rates(3, 1.0, 0.5)


# --------------------------------------------------------------------------------------------
# stream_success_probability
# --------------------------------------------------------------------------------------------


def test_stream_mean_holes_against_quadrature():
    alpha, beta, lam, r, t = 1.5, 0.7, 2.0, 0.8, 4.0
    integrand = lambda u: (1 - np.exp(-r * alpha * u)) * np.exp(-r * beta * u)  # noqa: E731
    mean = lam * integrate.quad(integrand, 0, t)[0]
    rates = [1.0, 3.0]
    expected = 1 - (1 - success_probability(alpha * t, beta * t, rates)) * np.exp(-mean)
    got = stream_success_probability(t, rates, alpha, beta, lam, r)
    assert float(got) == pytest.approx(expected, abs=1e-10)


def test_stream_against_monte_carlo_and_floor():
    rng = np.random.default_rng(11)
    t, alpha, beta, lam, r = 6.0, 1.0, 1.0, 1.5, 1.0
    n = 40_000
    births = rng.poisson(lam * t, size=n)
    wins = np.zeros(n, dtype=bool)
    for s in range(n):  # explicit loop: the simplest independent simulation
        k = births[s]
        if k:
            born = rng.uniform(0, t, size=k)
            age = t - born
            t_att = rng.exponential(size=k) / (r * alpha)
            t_def = rng.exponential(size=k) / (r * beta)
            wins[s] = np.any((t_att < age) & (t_def >= age))
    stock_rates = [2.0]
    p_stock = float(success_probability(alpha * t, beta * t, stock_rates))
    mc = 1 - (1 - p_stock) * (1 - wins.mean())
    assert mc == pytest.approx(float(stream_success_probability(t, stock_rates, alpha, beta, lam, r)),
                               abs=0.01)
    # the floor: alpha / (r beta (alpha + beta)) open holes on average
    floor = 1 - math.exp(-lam * alpha / (r * beta * (alpha + beta)))
    assert float(stream_success_probability(1e5, stock_rates, alpha, beta, lam, r)) == \
        pytest.approx(floor, rel=1e-9)


def test_stream_zero_defense_and_validation():
    # without defense every new vulnerability the attacker finds stays open
    got = stream_success_probability(2.0, [1.0], 1.0, 0.0, 1.0, 1.0)
    mean = 2.0 - (1 - math.exp(-2.0))
    assert float(got) == pytest.approx(1 - math.exp(-2.0) * math.exp(-mean))
    with pytest.raises(ValueError, match="birth_rate must be in"):
        stream_success_probability(1.0, [1.0], birth_rate=-1.0)
    with pytest.raises(ValueError, match="new_rate must be in"):
        stream_success_probability(1.0, [1.0], new_rate=0.0)


def quadrature_floor(alpha, beta, lam, r):
    """The floor from its definition: m_inf = lam * integral_0^inf (1 - e^{-r a u}) e^{-r b u} du."""
    integrand = lambda u: (1 - np.exp(-r * alpha * u)) * np.exp(-r * beta * u)  # noqa: E731
    return 1 - math.exp(-lam * integrate.quad(integrand, 0, np.inf, limit=500)[0])


@pytest.mark.parametrize("alpha, beta, lam, r", [(1.0, 1.0, 0.5, 1.0), (10.0, 3.0, 0.5, 1.0),
                                                 (100.0, 100.0, 2.0, 0.3), (0.2, 5.0, 1.0, 2.0)])
def test_stream_floor_against_quadrature_and_long_run(alpha, beta, lam, r):
    floor = float(stream_floor(alpha, beta, lam, r))
    assert floor == pytest.approx(quadrature_floor(alpha, beta, lam, r), rel=1e-7)
    t_far = 1e4 / (r * min(alpha, beta))
    assert float(stream_success_probability(t_far, [1.0], alpha, beta, lam, r)) == \
        pytest.approx(floor, rel=1e-6, abs=1e-12)


def test_stream_floor_depends_on_the_search_rate_not_only_on_the_ratio():
    """Equal rates x: the floor is 1 - exp(-lam / (2 r x)) and falls like 1 / x."""
    x = np.array([1.0, 10.0, 100.0])
    floor = stream_floor(x, x, 0.5, 1.0)
    assert np.allclose(floor, 1 - np.exp(-0.5 / (2 * x)), rtol=1e-12)
    assert np.allclose(np.round(floor, 4), [0.2212, 0.0247, 0.0025])
    # a fixed ratio beta / alpha = 0.3: the floor still falls with alpha
    f = stream_floor(x, 0.3 * x, 0.5, 1.0)
    assert f[0] > 5 * f[1] > 25 * f[2] > 0


def test_stream_required_ratio_against_root_finding():
    for alpha in (1.0, 10.0, 100.0):
        root = __import__("scipy").optimize.brentq(
            lambda k: quadrature_floor(alpha, k * alpha, 0.5, 1.0) - 0.5, 1e-3, 10.0, xtol=1e-12)
        assert float(stream_required_ratio(alpha, 0.5, 1.0, 0.5)) == pytest.approx(root, rel=1e-6)
    ratios = stream_required_ratio([1.0, 10.0, 100.0], 0.5)
    assert np.allclose(np.round(ratios, 4), [0.4856, 0.0676, 0.0072])
    # large alpha: kappa ~ lam / (r alpha ln 2)
    assert float(stream_required_ratio(1e6, 0.5)) == pytest.approx(0.5 / (1e6 * math.log(2)),
                                                                   rel=1e-5)


def test_stream_floor_and_ratio_validate():
    with pytest.raises(ValueError, match="defense_rate must be finite and positive"):
        stream_floor(1.0, 0.0, 0.5)
    with pytest.raises(ValueError, match="attack_rate must be finite and positive"):
        stream_required_ratio(0.0, 0.5)
    with pytest.raises(ValueError, match=r"target must be in \(0, 1\)"):
        stream_required_ratio(1.0, 0.5, target=1.0)


# --------------------------------------------------------------------------------------------
# sectors
# --------------------------------------------------------------------------------------------


def brute_sector(a, d, delta, n_max=200, frontage=math.inf):
    total = 0.0
    for nd in range(n_max):
        pd = stats.poisson.pmf(nd, d)
        for na in range(n_max):
            if min(na, frontage) > delta * nd:
                total += pd * stats.poisson.pmf(na, a)
    return total


@pytest.mark.parametrize("a, d, delta", [(0.5, 0.5, 2.0), (3.0, 1.0, 1.5), (8.0, 4.0, 1.0),
                                         (2.0, 0.0, 2.0), (20.0, 12.0, 2.0)])
def test_sector_breach_against_double_sum(a, d, delta):
    assert float(sector_breach_probability(a, d, delta)) == pytest.approx(
        brute_sector(a, d, delta), abs=1e-10)


def test_sector_breach_hand_cases_and_limits():
    # tiny forces: breach ~ P(A >= 1) P(D = 0)
    a = d = 1e-3
    assert float(sector_breach_probability(a, d)) == pytest.approx(
        (1 - math.exp(-a)) * math.exp(-d) + a * d * 0, rel=1e-3)
    # delta = 1 and huge equal forces: about 1/2 (Skellam symmetric, ties go to defense)
    assert float(sector_breach_probability(400.0, 400.0, 1.0)) == pytest.approx(0.5, abs=0.02)
    # local defense superiority and huge equal forces: hopeless
    assert float(sector_breach_probability(400.0, 400.0, 2.0)) < 1e-12
    with pytest.raises(ValueError, match=r"superiority must be in \(0, inf\]"):
        sector_breach_probability(1.0, 1.0, 0.0)


def test_multi_vector_success_against_simulation():
    for a, d, k in [(4.0, 4.0, 4), (20.0, 10.0, 5), (1.0, 3.0, 2)]:
        exact = float(multi_vector_success(a, d, k, 2.0))
        est = simulate_multi_vector(a, d, k, 2.0, n_samples=60_000, rng=k)
        assert est == pytest.approx(exact, abs=0.01)


def test_multi_vector_offense_then_defense_and_ablation():
    s = np.logspace(-1, 3, 200)
    p = multi_vector_success(s, s, 5, 2.0)
    k = p.argmax()
    assert 0 < k < s.size - 1 and p[k] > 0.7 and p[0] < 0.15 and p[-1] < 1e-3
    # without local defense superiority the defensive tail is gone
    p1 = multi_vector_success(s, s, 5, 1.0)
    assert p1[-1] > 0.9
    with pytest.raises(ValueError, match="n_sectors must be at least 1"):
        multi_vector_success(1.0, 1.0, 0)


@pytest.mark.parametrize("a, d, delta, c", [(3.0, 1.0, 2.0, 4.0), (30.0, 8.0, 2.0, 10.0),
                                            (8.0, 4.0, 1.0, 2.5), (50.0, 0.5, 2.0, 1.0)])
def test_sector_breach_with_frontage_against_double_sum(a, d, delta, c):
    assert float(sector_breach_probability(a, d, delta, frontage=c)) == pytest.approx(
        brute_sector(a, d, delta, frontage=c), abs=1e-10)


def test_attacker_allocation_and_frontage_against_simulation():
    for a, d, k, j, c in [(20.0, 20.0, 5, 1, None), (20.0, 20.0, 5, 2, 10.0),
                          (60.0, 30.0, 4, 4, 10.0)]:
        exact = float(multi_vector_success(a, d, k, 2.0, attacked=j, frontage=c))
        est = simulate_multi_vector(a, d, k, 2.0, n_samples=60_000, rng=j, attacked=j,
                                    frontage=c)
        assert est == pytest.approx(exact, abs=0.01)


def test_best_response_is_the_maximum_over_allocations():
    s = np.logspace(-1, 2.5, 15)
    p, j = best_response_success(s, s, 5, 2.0, frontage=10.0)
    loop = np.array([[float(multi_vector_success(x, x, 5, 2.0, attacked=m, frontage=10.0))
                      for m in range(1, 6)] for x in s])
    assert np.allclose(p, loop.max(axis=1), atol=1e-14)
    assert np.array_equal(j, loop.argmax(axis=1) + 1)


def test_concentration_removes_the_tail_unless_superiority_exceeds_k_or_saturates():
    """Issue 17's numbers; the tail survives a strategic attacker only if delta > K (so even
    all-in-one loses at scale) or a frontage caps the attack."""
    x = np.array([10.0, 50.0, 100.0, 200.0])
    even = multi_vector_success(x, x, 5, 2.0)
    assert np.allclose(np.round(even, 3), [0.711, 0.276, 0.079, 0.007], atol=1e-3)
    one = multi_vector_success(x, x, 5, 2.0, attacked=1)
    assert one[0] == pytest.approx(0.903, abs=1e-3) and one[1] > 0.998 and one[2] > 0.9999
    s = np.logspace(-1, 3, 81)
    best, _ = best_response_success(s, s, 5, 2.0)
    assert best[-1] > 0.999                                  # no defensive tail
    best_strong, _ = best_response_success(s, s, 5, 10.0)    # delta > K
    assert best_strong[-1] < 1e-6
    best_front, _ = best_response_success(s, s, 5, 2.0, frontage=10.0)
    k = best_front.argmax()
    assert 0 < k < s.size - 1 and best_front[k] > 0.8 and best_front[-1] < 1e-9


def test_proportional_noise_control_against_simulation_and_hand_case():
    # shape 1: exponential forces, P(E_A > delta E_D) = 1 / (1 + delta) per sector
    assert float(proportional_noise_success(3.0, 3.0, 5, 2.0)) == pytest.approx(
        1 - (2 / 3) ** 5, rel=1e-12)
    for a, d, shape in [(0.5, 0.5, 1.0), (500.0, 500.0, 1.0), (20.0, 10.0, 4.0)]:
        exact = float(proportional_noise_success(a, d, 5, 2.0, shape=shape))
        est = simulate_multi_vector(a, d, 5, 2.0, n_samples=60_000, rng=3, noise="proportional",
                                    shape=shape)
        assert est == pytest.approx(exact, abs=0.01)
    assert float(proportional_noise_success(0.0, 1.0, 5)) == 0.0
    with pytest.raises(ValueError, match="noise must be one of"):
        simulate_multi_vector(1.0, 1.0, 2, noise="gauss")


def test_allocation_validates():
    with pytest.raises(ValueError, match="attacked must be between 1 and n_sectors = 3"):
        multi_vector_success(1.0, 1.0, 3, attacked=4)
    with pytest.raises(ValueError, match="attacked must be at least 1"):
        simulate_multi_vector(1.0, 1.0, 3, attacked=0)
    with pytest.raises(ValueError, match=r"frontage must be in \(0, inf\]"):
        sector_breach_probability(1.0, 1.0, frontage=0.0)


def test_simulate_multi_vector_validates():
    with pytest.raises(ValueError, match="n_samples must be at least 1"):
        simulate_multi_vector(1.0, 1.0, 2, n_samples=0)


def test_ratio_contest_is_scale_invariant():
    scales = np.logspace(-3, 3, 13)
    p = ratio_contest(scales, scales, superiority=2.0, decisiveness=3.0)
    assert np.allclose(p, 1 / (1 + 2.0 ** 3), atol=1e-14)
    assert float(ratio_contest(0.0, 0.0)) == 0.0 and float(ratio_contest(1.0, 0.0)) == 1.0
    with pytest.raises(ValueError, match=r"decisiveness must be in \(0, inf\]"):
        ratio_contest(1.0, 1.0, decisiveness=-1.0)


# --------------------------------------------------------------------------------------------
# the lab's checks fail on wrong answers
# --------------------------------------------------------------------------------------------


def test_checks_reject_wrong_student_answers():
    rates = np.array([0.5, 1.0, 2.0])
    cases = [(1.0, 0.5, rates), (np.array([0.1, 3.0]), 2.0, rates)]
    # forgetting the defender's patching
    with pytest.raises(CheckFailed):
        check_function(lambda a, d, r: 1 - np.prod(np.exp(-np.asarray(r) * np.asarray(a)[..., None]),
                                                    axis=-1),
                       success_probability, cases=cases, name="wrong closed form")
    # the peak at 1 / r instead of ln 2 / r
    with pytest.raises(CheckFailed):
        check_scalar(1 / 2.0, equal_investment_peak(2.0), name="x_star", rtol=1e-3)
    # a required defense that ignores the 'attacker too weak' case (negative d)
    wrong = lambda a, r, n, t: np.log(-np.expm1(-r * np.asarray(a)) / (1 - (1 - t) ** (1 / n))) / r  # noqa: E731
    with pytest.raises(CheckFailed):
        check_function(wrong, required_defense_homogeneous,
                       cases=[(np.array([0.01, 1.0]), 1.0, 10, 0.5)], name="wrong d")
