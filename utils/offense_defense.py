"""Offense-defense scaling: toy models of how an attack's success changes as both sides invest.

Three models, in the spirit of Garfinkel & Dafoe, "How does the offense-defense balance
scale?" (2019). They are this course's own constructions, not the paper's.

**Vulnerabilities** (:func:`success_probability`, :func:`simulate_success`,
:func:`required_defense`). A system has ``N`` vulnerabilities with discoverability rates
``r_i``. An attacker who invests ``a`` finds vulnerability ``i`` with probability
``1 - exp(-r_i a)``; a defender who invests ``d`` finds it with probability
``1 - exp(-r_i d)``, independently, and patches what it finds. The attack succeeds when the
attacker holds at least one vulnerability the defender has not patched::

    P(a, d) = 1 - prod_i (1 - (1 - exp(-r_i a)) * exp(-r_i d)).

Equivalently, each side draws a discovery time ``T_i ~ Exponential(r_i)`` per vulnerability
and finds it when its investment exceeds that time; the Monte Carlo samples these times.

**A stream of new vulnerabilities** (:func:`stream_success_probability`,
:func:`stream_floor`, :func:`stream_required_ratio`): both sides keep investing at constant
rates while new vulnerabilities appear as a Poisson process. The long-run floor depends on
the birth rate relative to the search rates, ``lambda / (r alpha)``, not only on the ratio
of the two search rates.

**Sectors with local defense superiority** (:func:`sector_breach_probability`,
:func:`multi_vector_success`, :func:`best_response_success`, :func:`simulate_multi_vector`).
A border of ``K`` sectors. The defender spreads its forces evenly; the attacker spreads its
forces evenly over ``attacked`` of the sectors (all of them by default, or the number that
serves it best). The forces that actually arrive in a sector are Poisson counts of units;
the attacker breaks through a sector when its units outnumber the defender's by more than
the factor ``superiority``, and wins when it breaks through in at least one sector. An
optional ``frontage`` caps how many attacking units can engage one sector at once, which
makes local defensive superiority saturate: a sector with enough defenders holds against
any number of attackers. The control is Tullock's ratio-form contest (:func:`ratio_contest`),
which depends on the ratio of the investments only and so cannot change with scale.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from ._validation import check_int, check_option, check_real, check_rng

__all__ = [
    "success_probability",
    "simulate_success",
    "mc_sample_size",
    "equal_investment_peak",
    "required_defense",
    "required_defense_homogeneous",
    "stratified_log_rates",
    "stream_success_probability",
    "stream_floor",
    "stream_required_ratio",
    "sector_breach_probability",
    "multi_vector_success",
    "best_response_success",
    "proportional_noise_success",
    "simulate_multi_vector",
    "ratio_contest",
]


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _rates(rates) -> np.ndarray:
    r = np.atleast_1d(np.asarray(rates, dtype=float))
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"rates must be a non-empty 1-D array of discoverability rates, got "
                         f"shape {r.shape}")
    if not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ValueError("rates must be finite and positive (one rate per vulnerability), got "
                         f"min {np.nanmin(r)!r}")
    return r


def _investment(name: str, value) -> np.ndarray:
    try:
        x = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got "
                        f"{type(value).__name__} {value!r}"[:200]) from None
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError(f"{name} must hold finite, non-negative investments, got {value!r}")
    return x


def _grid(name: str, value) -> np.ndarray:
    x = np.atleast_1d(_investment(name, value))
    if x.ndim != 1:
        raise ValueError(f"{name} must be a 1-D grid of investments, got shape {x.shape}")
    return x


# --------------------------------------------------------------------------------------------
# Model 1: vulnerabilities found independently by both sides
# --------------------------------------------------------------------------------------------


def success_probability(a, d, rates) -> np.ndarray:
    """Closed-form probability that the attacker holds an unpatched vulnerability.

    ``P(a, d) = 1 - prod_i (1 - (1 - exp(-r_i a)) exp(-r_i d))``.

    Parameters
    ----------
    a, d : float or array
        Attacker's and defender's investments (non-negative; broadcast against each other).
    rates : array, shape (N,)
        Positive discoverability rate of each vulnerability.

    Returns
    -------
    numpy.ndarray
        The success probability, with the broadcast shape of ``a`` and ``d``.

    Examples
    --------
    >>> float(success_probability(1.0, 0.0, [1.0]))  # undefended: 1 - e^-1
    0.6321...
    >>> round(float(success_probability(np.log(2), np.log(2), [1.0])), 12)  # peak, N = 1
    0.25
    """
    r = _rates(rates)
    a = _investment("a", a)
    d = _investment("d", d)
    try:
        a, d = np.broadcast_arrays(a, d)
    except ValueError:
        raise ValueError(f"a and d must have the same shape (or one be a single number), got "
                         f"shapes {a.shape} and {d.shape}") from None
    found = -np.expm1(-r * a[..., None])          # attacker finds vulnerability i
    open_ = np.exp(-r * d[..., None])              # defender has not found (patched) it
    with np.errstate(divide="ignore"):  # a hole found surely and never patched: log(0)
        log_safe = np.log1p(-found * open_).sum(axis=-1)
    return 0.0 - np.expm1(log_safe)  # 0.0 - : no negative zeros


def simulate_success(a_grid, d_grid, rates, n_samples: int, rng=0,
                     batch: int = 20_000) -> np.ndarray:
    """Monte Carlo estimate of the attack's success on a grid of investments.

    Each sample draws, for every vulnerability, the investment at which the attacker finds it
    and the one at which the defender finds it (independent exponentials with rate ``r_i``).
    The attack with investments ``(a, d)`` succeeds when some vulnerability has attacker
    time ``< a`` and defender time ``>= d``. One draw serves the whole grid, so the estimates
    at different grid points are correlated, but each is unbiased with binomial variance
    ``P(1 - P) / n_samples``.

    Parameters
    ----------
    a_grid, d_grid : array, shape (Ga,) and (Gd,)
        Non-negative investments.
    rates : array, shape (N,)
        Positive discoverability rates.
    n_samples : int
        Number of simulated systems (at least 1).
    rng : numpy.random.Generator or int
        Random generator or seed.
    batch : int
        Samples processed at a time (bounds the memory).

    Returns
    -------
    numpy.ndarray, shape (Ga, Gd)
        Fraction of samples in which the attack succeeds.

    Examples
    --------
    >>> est = simulate_success([1.0], [0.0, 1.0], [1.0], n_samples=20_000, rng=0)
    >>> est.shape
    (1, 2)
    >>> bool(abs(est[0, 0] - (1 - np.exp(-1))) < 0.02)
    True
    """
    a_grid = _grid("a_grid", a_grid)
    d_grid = _grid("d_grid", d_grid)
    r = _rates(rates)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    batch = check_int("batch", batch, minimum=1)
    rng = check_rng(rng)
    wins = np.zeros((a_grid.size, d_grid.size))
    done = 0
    while done < n_samples:
        m = min(batch, n_samples - done)
        t_att = rng.exponential(size=(m, r.size)) / r
        t_def = rng.exponential(size=(m, r.size)) / r
        # For each sample and attacker investment: the latest defender time among the
        # vulnerabilities the attacker found (-inf if it found none).
        found = t_att[:, :, None] < a_grid[None, None, :]
        latest = np.where(found, t_def[:, :, None], -np.inf).max(axis=1)   # (m, Ga)
        wins += (latest[:, :, None] >= d_grid[None, None, :]).sum(axis=0)
        done += m
    return wins / n_samples


def mc_sample_size(tol: float, n_points: int = 1, alpha: float = 1e-3) -> int:
    """Samples needed so that every one of ``n_points`` Monte Carlo estimates is within ``tol``.

    Uses the worst-case binomial standard error ``0.5 / sqrt(n)`` (at P = 1/2), the normal
    approximation, and a Bonferroni correction over the grid: with
    ``z = Phi^-1(1 - alpha / (2 n_points))`` the answer is ``ceil((0.5 z / tol)^2)``, so all
    estimates are within ``tol`` with probability at least ``1 - alpha``.

    Parameters
    ----------
    tol : float
        Allowed absolute error, in (0, 0.5].
    n_points : int
        Number of estimates that must all be within ``tol`` (at least 1).
    alpha : float
        Allowed probability that at least one is not, in (0, 1).

    Returns
    -------
    int

    Examples
    --------
    >>> mc_sample_size(0.01, n_points=1, alpha=0.05)  # z = 1.96
    9604
    """
    tol = check_real("tol", tol, 0.0, 0.5, low_open=True)
    n_points = check_int("n_points", n_points, minimum=1)
    alpha = check_real("alpha", alpha, 0.0, 1.0, low_open=True, high_open=True)
    z = stats.norm.ppf(1 - alpha / (2 * n_points))
    with np.errstate(over="ignore"):  # a tiny tol overflows to inf, refused just below
        samples = (0.5 * z / tol) ** 2
    if not samples <= 1e12:
        raise ValueError(f"tol={tol:g} needs more than 10^12 samples; use tol >= "
                         f"{0.5 * z / 1e6:.2g}")
    return int(math.ceil(round(samples, 6)))


def equal_investment_peak(rate: float) -> float:
    """Investment ``x*`` at which equal spending ``a = d = x`` maximizes success (same rates).

    With one rate ``r`` for all vulnerabilities, each factor of the closed form involves
    ``h(x) = (1 - e^{-rx}) e^{-rx}``, which is largest where ``e^{-rx} = 1/2``; so
    ``x* = ln 2 / r`` for any number of vulnerabilities.

    Parameters
    ----------
    rate : float
        The common discoverability rate (positive).

    Returns
    -------
    float

    Examples
    --------
    >>> round(equal_investment_peak(1.0), 6)
    0.693147
    """
    rate = check_real("rate", rate, 0.0, None, low_open=True)
    return math.log(2.0) / rate


def required_defense_homogeneous(a, rate: float, n_vulns: int, target: float = 0.5) -> np.ndarray:
    """Closed-form defender investment that holds the success probability at ``target``.

    With ``N`` vulnerabilities of equal rate ``r``, ``P(a, d) = target`` when
    ``(1 - e^{-ra}) e^{-rd} = h* = 1 - (1 - target)^{1/N}``, so
    ``d = ln((1 - e^{-ra}) / h*) / r``. If the undefended attacker does not reach ``target``
    (``1 - e^{-ra} <= h*``) no defense is needed and the answer is 0.

    Parameters
    ----------
    a : float or array
        Attacker's investment (non-negative).
    rate : float
        Common discoverability rate (positive).
    n_vulns : int
        Number of vulnerabilities (at least 1).
    target : float
        Success probability to hold, in (0, 1).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> round(float(required_defense_homogeneous(np.log(2), 1.0, 1, target=0.25)), 6)
    0.693147
    >>> float(required_defense_homogeneous(0.01, 1.0, 10))  # attacker too weak anyway
    0.0
    """
    a = _investment("a", a)
    rate = check_real("rate", rate, 0.0, None, low_open=True)
    n_vulns = check_int("n_vulns", n_vulns, minimum=1)
    target = check_real("target", target, 0.0, 1.0, low_open=True, high_open=True)
    h_star = -np.expm1(np.log1p(-target) / n_vulns)
    found = -np.expm1(-rate * a)
    with np.errstate(divide="ignore"):
        d = np.log(found / h_star) / rate
    return np.maximum(d, 0.0)


def required_defense(a, rates, target: float = 0.5, xtol: float = 1e-10) -> np.ndarray:
    """Defender investment ``d`` with ``P(a, d) = target``, found numerically (any rates).

    ``P(a, d)`` falls strictly in ``d`` for ``a > 0``, so the root is unique; it is bracketed
    by ``[0, ln(N / target) / min(r)]`` (where ``P <= N e^{-min(r) d} = target``) and found by
    Brent's method. Where ``P(a, 0) <= target`` the answer is 0.

    Parameters
    ----------
    a : float or array
        Attacker's investments (non-negative).
    rates : array, shape (N,)
        Positive discoverability rates.
    target : float
        Success probability to hold, in (0, 1).
    xtol : float
        Absolute tolerance of the root (positive).

    Returns
    -------
    numpy.ndarray
        Same shape as ``a``.

    Examples
    --------
    >>> d = required_defense([0.01, 2.0], [1.0] * 10)
    >>> float(d[0]), round(float(d[1]), 4)
    (0.0, 2.5581)
    """
    a = _investment("a", a)
    r = _rates(rates)
    target = check_real("target", target, 0.0, 1.0, low_open=True, high_open=True)
    xtol = check_real("xtol", xtol, 0.0, None, low_open=True)
    hi = math.log(r.size / target) / r.min()
    out = np.zeros(a.shape)
    for idx, ai in np.ndenumerate(a):
        if success_probability(ai, 0.0, r) <= target:
            continue
        out[idx] = optimize.brentq(lambda d: float(success_probability(ai, d, r)) - target,
                                   0.0, hi, xtol=xtol)
    return out


def stratified_log_rates(n: int, low: float, high: float, rng=0) -> np.ndarray:
    """Heterogeneous discoverability rates: one log-uniform draw in each of ``n`` equal slices.

    The log range ``[log low, log high]`` is cut into ``n`` equal slices and one rate is drawn
    uniformly (in log scale) inside each, so every seed spreads the rates over the whole
    range while the exact values still vary.

    Parameters
    ----------
    n : int
        Number of rates (at least 1).
    low, high : float
        Range of the rates, ``0 < low < high``.
    rng : numpy.random.Generator or int

    Returns
    -------
    numpy.ndarray, shape (n,)
        Increasing rates.

    Examples
    --------
    >>> r = stratified_log_rates(3, 0.01, 1.0, rng=0)
    >>> bool(np.all(np.diff(r) > 0)), bool(0.01 <= r[0] and r[-1] <= 1.0)
    (True, True)
    """
    n = check_int("n", n, minimum=1)
    low = check_real("low", low, 0.0, None, low_open=True)
    high = check_real("high", high, low, None, low_open=True)
    rng = check_rng(rng)
    u = (np.arange(n) + rng.random(n)) / n
    return np.exp(np.log(low) + u * (np.log(high) - np.log(low)))


# --------------------------------------------------------------------------------------------
# Breaking the tail: a stream of new vulnerabilities
# --------------------------------------------------------------------------------------------


def _exposure(c, t):
    """(1 - exp(-c t)) / c, with the limit t at c = 0."""
    c = np.asarray(c, dtype=float)
    safe = np.where(c > 0, c, 1.0)
    return np.where(c > 0, -np.expm1(-safe * t) / safe, t)


def stream_success_probability(t, rates, attack_rate: float = 1.0, defense_rate: float = 1.0,
                               birth_rate: float = 0.0, new_rate: float = 1.0) -> np.ndarray:
    """Success probability at time ``t`` when new vulnerabilities keep appearing.

    Both sides invest at constant rates, so by time ``t`` the attacker has invested
    ``a = attack_rate * t`` and the defender ``d = defense_rate * t``. The initial stock is
    the vulnerability model with ``rates``. New vulnerabilities appear as a Poisson process
    with ``birth_rate`` per unit time, each with discoverability ``new_rate``; one born ``u``
    ago is an open hole with probability ``(1 - e^{-r alpha u}) e^{-r beta u}``. The number
    of open new holes is Poisson with mean
    ``m(t) = E_beta(t) - E_{alpha+beta}(t)``, ``E_c(t) = (1 - e^{-r c t}) / (r c)``, so

    ``P(t) = 1 - (1 - P_stock(alpha t, beta t)) exp(-birth_rate m(t))``.

    As ``t`` grows, ``m(t)`` tends to ``alpha / (r beta (alpha + beta))``: the success
    probability levels off at a floor instead of falling to zero.

    Parameters
    ----------
    t : float or array
        Time (non-negative).
    rates : array, shape (N,)
        Discoverability rates of the initial stock.
    attack_rate, defense_rate : float
        Investment per unit time (non-negative).
    birth_rate : float
        New vulnerabilities per unit time (non-negative; 0 recovers the fixed stock).
    new_rate : float
        Discoverability rate of each new vulnerability (positive).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> p0 = stream_success_probability(3.0, [1.0], birth_rate=0.0)
    >>> bool(np.isclose(p0, success_probability(3.0, 3.0, [1.0])))
    True
    >>> far = stream_success_probability(1e4, [1.0], birth_rate=1.0)  # floor 1 - e^{-1/2}
    >>> round(float(far), 4)
    0.3935
    """
    t = _investment("t", t)
    alpha = check_real("attack_rate", attack_rate, 0.0)
    beta = check_real("defense_rate", defense_rate, 0.0)
    lam = check_real("birth_rate", birth_rate, 0.0)
    r_new = check_real("new_rate", new_rate, 0.0, None, low_open=True)
    p_stock = success_probability(alpha * t, beta * t, rates)
    mean_new = _exposure(r_new * beta, t) - _exposure(r_new * (alpha + beta), t)
    return 1.0 - (1.0 - p_stock) * np.exp(-lam * mean_new)


def stream_floor(attack_rate, defense_rate, birth_rate: float, new_rate: float = 1.0) -> np.ndarray:
    """Long-run success probability of the stream model: ``1 - exp(-m_inf)``.

    With search rates ``alpha`` (attacker) and ``beta`` (defender), new vulnerabilities born
    at ``birth_rate`` ``lambda`` per unit time with discoverability ``r``, the mean number
    of open new holes tends to ``m_inf = lambda alpha / (r beta (alpha + beta))``. Writing
    ``beta = kappa alpha`` gives ``m_inf = (lambda / (r alpha)) / (kappa (1 + kappa))``: at a
    fixed spending ratio ``kappa`` the floor still falls as both search rates grow, like
    ``1 / alpha``. (The initial stock contributes nothing in the long run.)

    Parameters
    ----------
    attack_rate : float or array
        Attacker's investment per unit time ``alpha`` (non-negative).
    defense_rate : float or array
        Defender's investment per unit time ``beta`` (positive; broadcast with
        ``attack_rate``).
    birth_rate : float
        New vulnerabilities per unit time (non-negative).
    new_rate : float
        Discoverability rate of each new vulnerability (positive).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> np.round(stream_floor([1.0, 10.0, 100.0], [1.0, 10.0, 100.0], 0.5), 4)  # equal rates
    array([0.2212, 0.0247, 0.0025])
    """
    alpha = _investment("attack_rate", attack_rate)
    beta = np.asarray(defense_rate, dtype=float)
    if not np.all(np.isfinite(beta)) or np.any(beta <= 0):
        raise ValueError(f"defense_rate must be finite and positive (with no defense there is "
                         f"no floor: every found vulnerability stays open), got {defense_rate!r}")
    lam = check_real("birth_rate", birth_rate, 0.0)
    r_new = check_real("new_rate", new_rate, 0.0, None, low_open=True)
    m_inf = lam * alpha / (r_new * beta * (alpha + beta))
    return -np.expm1(-m_inf)


def stream_required_ratio(attack_rate, birth_rate: float, new_rate: float = 1.0,
                          target: float = 0.5) -> np.ndarray:
    """Smallest spending ratio ``kappa = beta / alpha`` that holds the stream's floor at ``target``.

    Solves ``m_inf = -ln(1 - target)``, i.e. ``kappa (1 + kappa) = q`` with
    ``q = lambda / (r alpha c)`` and ``c = -ln(1 - target)``:
    ``kappa = (sqrt(1 + 4 q) - 1) / 2``. For large ``alpha``, ``kappa ~ q``: the ratio the
    defender must keep falls to zero as both search rates grow faster than new
    vulnerabilities appear.

    Parameters
    ----------
    attack_rate : float or array
        Attacker's investment per unit time (positive).
    birth_rate : float
        New vulnerabilities per unit time (non-negative).
    new_rate : float
        Discoverability rate of each new vulnerability (positive).
    target : float
        Long-run success probability to hold, in (0, 1).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> np.round(stream_required_ratio([1.0, 10.0, 100.0], 0.5), 4)
    array([0.4856, 0.0676, 0.0072])
    """
    alpha = np.asarray(attack_rate, dtype=float)
    if not np.all(np.isfinite(alpha)) or np.any(alpha <= 0):
        raise ValueError(f"attack_rate must be finite and positive, got {attack_rate!r}")
    lam = check_real("birth_rate", birth_rate, 0.0)
    r_new = check_real("new_rate", new_rate, 0.0, None, low_open=True)
    target = check_real("target", target, 0.0, 1.0, low_open=True, high_open=True)
    q = lam / (r_new * alpha * -math.log1p(-target))
    # (sqrt(1 + 4q) - 1) / 2 written as 2q / (sqrt(1 + 4q) + 1): no cancellation for small q
    return 2 * q / (np.sqrt(1 + 4 * q) + 1)


# --------------------------------------------------------------------------------------------
# Model 2: sectors with local defense superiority, and the proportional control
# --------------------------------------------------------------------------------------------


def _frontage(frontage):
    if frontage is None:
        return math.inf
    return check_real("frontage", frontage, 0.0, None, low_open=True)


def sector_breach_probability(a, d, superiority: float = 2.0, frontage=None) -> np.ndarray:
    """Probability that the attacker breaks through one sector.

    The units that arrive are Poisson counts, ``A ~ Poisson(a)`` and ``D ~ Poisson(d)``;
    the attacker breaks through when ``min(A, c) > superiority * D``, where the *frontage*
    ``c`` is the largest number of attacking units that can engage one sector at once
    (``None``: no limit). An undefended sector falls to any attacking unit. With a frontage,
    a sector with ``D >= c / superiority`` defenders holds against any number of attackers:
    local defensive superiority saturates. Computed as
    ``sum_{n : superiority n < c} P(D = n) P(A > floor(superiority n))``, truncated where the
    Poisson tail of ``D`` is below 1e-15.

    Parameters
    ----------
    a, d : float or array
        Mean attacking and defending units in the sector (non-negative; broadcast).
    superiority : float
        Local defense superiority ``delta > 0``: the attacker must outnumber the defender by
        more than this factor. ``delta > 1`` favours the defender at equal forces.
    frontage : float or None
        Most attacking units that can engage the sector at once (positive), or None.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> float(sector_breach_probability(1.0, 0.0))  # P(A >= 1)
    0.6321...
    >>> float(sector_breach_probability(0.0, 1.0))
    0.0
    >>> float(sector_breach_probability(1e4, 1e3, frontage=10.0))  # many defenders: holds
    0.0
    """
    a = _investment("a", a)
    d = _investment("d", d)
    delta = check_real("superiority", superiority, 0.0, None, low_open=True)
    cap = _frontage(frontage)
    a, d = np.broadcast_arrays(a, d)
    d_max = float(d.max()) if d.size else 0.0
    n_max = int(stats.poisson.isf(1e-15, d_max)) + 2 if d_max > 0 else 1
    n = np.arange(n_max + 1)
    weights = stats.poisson.pmf(n, d[..., None])                          # P(D = n)
    beat = stats.poisson.sf(np.floor(delta * n), a[..., None])            # P(A > delta n)
    beat = np.where(delta * n < cap, beat, 0.0)                           # min(A, c) > delta n
    return np.clip((weights * beat).sum(axis=-1), 0.0, 1.0)


def multi_vector_success(a_total, d_total, n_sectors: int, superiority: float = 2.0,
                         attacked=None, frontage=None) -> np.ndarray:
    """Probability that the attacker breaks through at least one of ``n_sectors`` sectors.

    The defender spreads its investment evenly over all ``K`` sectors (``d_total / K`` mean
    units each); the attacker spreads its investment evenly over ``attacked = j`` of them
    (``a_total / j`` each; default ``j = K``, an attacker that spreads evenly). Sectors are
    independent: ``P = 1 - (1 - p_sector)^j``.

    Parameters
    ----------
    a_total, d_total : float or array
        Total investments (non-negative; broadcast).
    n_sectors : int
        Number of sectors ``K`` (attack vectors, at least 1).
    superiority : float
        Local defense superiority (see :func:`sector_breach_probability`).
    attacked : int or None
        Number of sectors the attacker concentrates on, between 1 and ``K`` (None: ``K``).
    frontage : float or None
        Attacking units that can engage one sector at once (see
        :func:`sector_breach_probability`).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> p1 = float(sector_breach_probability(1.0, 1.0))
    >>> bool(np.isclose(multi_vector_success(3.0, 3.0, 3), 1 - (1 - p1) ** 3))
    True
    >>> bool(np.isclose(multi_vector_success(3.0, 3.0, 3, attacked=1),
    ...                 sector_breach_probability(3.0, 1.0)))
    True
    """
    k = check_int("n_sectors", n_sectors, minimum=1)
    j = k if attacked is None else check_int("attacked", attacked, minimum=1)
    if j > k:
        raise ValueError(f"attacked must be between 1 and n_sectors = {k}, got {j}")
    a_total = _investment("a_total", a_total)
    d_total = _investment("d_total", d_total)
    p = sector_breach_probability(a_total / j, d_total / k, superiority, frontage)
    return 0.0 - np.expm1(j * np.log1p(-np.minimum(p, 1.0 - 1e-16)))


def best_response_success(a_total, d_total, n_sectors: int, superiority: float = 2.0,
                          frontage=None) -> tuple[np.ndarray, np.ndarray]:
    """Success of an attacker that picks how many sectors to concentrate on.

    Against a defender that spreads evenly, the attacker chooses ``j`` in ``1, ..., K``
    (attack ``j`` sectors with ``a_total / j`` units each) to maximize
    :func:`multi_vector_success`. This is a best response within that family, not the
    solution of the full allocation game: the defender does not adapt.

    Parameters
    ----------
    a_total, d_total : float or array
        Total investments (non-negative; broadcast).
    n_sectors : int
        Number of sectors ``K`` (at least 1).
    superiority : float
        Local defense superiority (positive).
    frontage : float or None
        Attacking units that can engage one sector at once (see
        :func:`sector_breach_probability`).

    Returns
    -------
    success : numpy.ndarray
        The attacker's best success probability.
    attacked : numpy.ndarray of int
        The number of sectors that achieves it (the smallest, on ties).

    Examples
    --------
    >>> p, j = best_response_success(100.0, 100.0, 5, superiority=2.0)
    >>> round(float(p), 3), int(j)   # all-in-one beats spreading (0.08) when K > delta
    (1.0, 1)
    """
    k = check_int("n_sectors", n_sectors, minimum=1)
    table = np.stack([multi_vector_success(a_total, d_total, k, superiority, attacked=j,
                                           frontage=frontage) for j in range(1, k + 1)])
    best = table.argmax(axis=0)
    return table.max(axis=0), best + 1


def proportional_noise_success(a_total, d_total, n_sectors: int, superiority: float = 2.0,
                               shape: float = 1.0) -> np.ndarray:
    """The sector model's matched control: the same sectors and rule, noise that scales with the mean.

    Each sector receives ``A = (a/K) G_A`` attacking and ``D = (d/K) G_D`` defending units,
    with ``G_A, G_D ~ Gamma(shape, 1)`` independent; the attacker breaks a sector when
    ``A > superiority * D`` and wins when it breaks at least one of the ``K``. Unlike Poisson
    counts, whose spread is absolute (about the square root of the mean), this noise is a
    fixed fraction of the mean, so the model depends on ``a / d`` only. Since
    ``G_A / (G_A + G_D) ~ Beta(shape, shape)``, a sector falls with probability
    ``1 - I_t(shape, shape)``, ``t = delta d / (a + delta d)``.

    Parameters
    ----------
    a_total, d_total : float or array
        Total investments (non-negative; broadcast; ``a_total = 0`` never succeeds).
    n_sectors : int
        Number of sectors (at least 1).
    superiority : float
        Local defense superiority (positive).
    shape : float
        Gamma shape (positive); the relative spread of the forces is ``1 / sqrt(shape)``.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> round(float(proportional_noise_success(7.0, 7.0, 5, 2.0)), 4)  # 1 - (2/3)^5
    0.8683
    """
    k = check_int("n_sectors", n_sectors, minimum=1)
    a_total = _investment("a_total", a_total)
    d_total = _investment("d_total", d_total)
    delta = check_real("superiority", superiority, 0.0, None, low_open=True)
    shape = check_real("shape", shape, 0.0, None, low_open=True)
    a_total, d_total = np.broadcast_arrays(a_total, d_total)
    safe = np.where(a_total + d_total > 0, a_total + delta * d_total, 1.0)
    t = np.where(a_total > 0, delta * d_total / safe, 1.0)
    p = stats.beta.sf(t, shape, shape)
    return 0.0 - np.expm1(k * np.log1p(-np.minimum(p, 1.0 - 1e-16)))


def simulate_multi_vector(a_total: float, d_total: float, n_sectors: int,
                          superiority: float = 2.0, n_samples: int = 10_000,
                          rng=0, attacked=None, frontage=None, noise: str = "poisson",
                          shape: float = 1.0) -> float:
    """Monte Carlo estimate of :func:`multi_vector_success` by drawing the units per sector.

    Parameters
    ----------
    a_total, d_total : float
        Total investments (non-negative).
    n_sectors : int
        Number of sectors (at least 1).
    superiority : float
        Local defense superiority (positive).
    n_samples : int
        Number of simulated battles (at least 1).
    rng : numpy.random.Generator or int
    attacked : int or None
        Sectors the attacker concentrates on (1 to ``n_sectors``; None: all).
    frontage : float or None
        Attacking units that can engage one sector at once (None: no limit).
    noise : {"poisson", "proportional"}
        Poisson counts (the model), or ``mean * Gamma(shape, 1)`` forces (the matched control
        of :func:`proportional_noise_success`).
    shape : float
        Gamma shape for ``noise="proportional"`` (positive).

    Returns
    -------
    float

    Examples
    --------
    >>> est = simulate_multi_vector(4.0, 4.0, 4, n_samples=20_000, rng=1)
    >>> bool(abs(est - float(multi_vector_success(4.0, 4.0, 4))) < 0.02)
    True
    """
    a_total = check_real("a_total", a_total, 0.0)
    d_total = check_real("d_total", d_total, 0.0)
    k = check_int("n_sectors", n_sectors, minimum=1)
    j = k if attacked is None else check_int("attacked", attacked, minimum=1)
    if j > k:
        raise ValueError(f"attacked must be between 1 and n_sectors = {k}, got {j}")
    delta = check_real("superiority", superiority, 0.0, None, low_open=True)
    cap = _frontage(frontage)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    rng = check_rng(rng)
    noise = check_option("noise", noise, ("poisson", "proportional"))
    if noise == "poisson":
        att = rng.poisson(a_total / j, size=(n_samples, j))
        dfn = rng.poisson(d_total / k, size=(n_samples, j))   # defenders of the attacked sectors
    else:
        shape = check_real("shape", shape, 0.0, None, low_open=True)
        att = a_total / j * rng.gamma(shape, size=(n_samples, j))
        dfn = d_total / k * rng.gamma(shape, size=(n_samples, j))
    return float(np.mean(np.any(np.minimum(att, cap) > delta * dfn, axis=1)))


def ratio_contest(a, d, superiority: float = 2.0, decisiveness: float = 2.0) -> np.ndarray:
    """Tullock's ratio-form contest: ``p = a^m / (a^m + (delta d)^m)``.

    It depends on ``a / d`` only, so multiplying both investments by the same factor leaves
    it unchanged: a purely proportional contest has no offense-defense scaling. By
    convention no attack (``a = 0``) never succeeds.

    Parameters
    ----------
    a, d : float or array
        Investments (non-negative; broadcast).
    superiority : float
        Defender's efficiency factor ``delta`` (positive).
    decisiveness : float
        Exponent ``m`` (positive): large ``m`` makes the larger side win almost surely.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> float(ratio_contest(1.0, 1.0, superiority=1.0))
    0.5
    >>> bool(np.isclose(ratio_contest(3.0, 5.0), ratio_contest(300.0, 500.0)))
    True
    """
    a = _investment("a", a)
    d = _investment("d", d)
    delta = check_real("superiority", superiority, 0.0, None, low_open=True)
    m = check_real("decisiveness", decisiveness, 0.0, None, low_open=True)
    a, d = np.broadcast_arrays(a, d)
    safe_a = np.where(a > 0, a, 1.0)
    ratio = (delta * d / safe_a) ** m
    return np.where(a > 0, 1.0 / (1.0 + ratio), 0.0)
