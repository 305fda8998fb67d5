"""Linear models for the double-descent chapter: min-norm and ridge fits, exact risks, features.

Everything is plain numpy. Fits go through ``numpy.linalg.lstsq`` or the SVD (never
``numpy.linalg.solve``), because the interesting case is exactly the one where the normal
equations are singular or nearly so: the interpolation threshold.

Conventions
-----------
Data ``X`` has one row per example (n x d). Ridge minimises ``||X w - y||^2 + lam ||w||^2``
(a sum over examples, not a mean, as in Nakkiran, Venkat, Kakade & Ma, 2021). For the
isotropic Gaussian model x ~ N(0, I_d), y = x . beta + eps with eps ~ N(0, sigma^2), the
*excess risk* of an estimate w is E[(x . w - x . beta)^2] = ||w - beta||^2; the test error
(mean squared error on a fresh example) is the excess risk plus sigma^2.
"""
from __future__ import annotations

import numpy as np

from ._validation import check_int, check_real, check_rng

__all__ = [
    "min_norm_fit",
    "ridge_fit",
    "min_norm_expected_risk",
    "optimal_ridge_lambda",
    "ridge_conditional_risk",
    "design_spectra",
    "risk_from_spectra",
    "simulate_min_norm_risk",
    "RandomFourierFeatures",
    "RandomReLUFeatures",
]


def _check_xy(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (examples x features), got shape {X.shape}")
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have one row per row of X ({X.shape[0]}), got shape {y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise ValueError("X and y must hold finite numbers (no NaN or inf)")
    return X, y


def _check_beta(beta) -> np.ndarray:
    beta = np.asarray(beta, dtype=np.float64)
    if beta.ndim != 1 or beta.size == 0 or not np.isfinite(beta).all():
        raise ValueError(f"beta must be a non-empty 1-D array of finite numbers, got shape "
                         f"{beta.shape}")
    return beta


def min_norm_fit(X, y) -> np.ndarray:
    """The least-squares solution of smallest Euclidean norm, ``pinv(X) @ y``.

    With more examples than features (and X of full column rank) it is ordinary least
    squares; with fewer, it is the interpolant (X w = y) of smallest norm, which is also
    where gradient descent on the squared loss started from w = 0 converges.

    Parameters
    ----------
    X : array, shape (n, d)
    y : array, shape (n,) or (n, k)
        One target, or k targets fitted at once (e.g. one-hot labels).

    Returns
    -------
    w : ndarray, shape (d,) or (d, k)

    Examples
    --------
    >>> min_norm_fit([[1.0, 1.0]], [2.0]).round(6).tolist()   # x1 + x2 = 2, smallest norm
    [1.0, 1.0]
    """
    X, y = _check_xy(X, y)
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    return w


def ridge_fit(X, y, lam: float) -> np.ndarray:
    """Ridge regression: the minimiser of ``||X w - y||^2 + lam ||w||^2``.

    Computed from the thin SVD X = U S V^T as ``V diag(s / (s^2 + lam)) U^T y``, which is
    stable at every ``lam`` and equals :func:`min_norm_fit` at ``lam = 0``.

    Parameters
    ----------
    X : array, shape (n, d)
    y : array, shape (n,) or (n, k)
    lam : float
        Penalty strength, at least 0 (the penalty is not divided by n).

    Returns
    -------
    w : ndarray, shape (d,) or (d, k)

    Examples
    --------
    >>> ridge_fit([[1.0], [1.0]], [1.0, 1.0], lam=2.0).round(6).tolist()   # 2 / (2 + 2)
    [0.5]
    """
    X, y = _check_xy(X, y)
    lam = check_real("lam", lam, 0.0)
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    keep = s > s.max(initial=0.0) * max(X.shape) * np.finfo(float).eps
    U, s, Vt = U[:, keep], s[keep], Vt[keep]
    shrink = s / (s ** 2 + lam)
    w = Vt.T @ (shrink[:, None] * (U.T @ y.reshape(len(y), -1)))
    return w.reshape((X.shape[1],) + y.shape[1:])


def min_norm_expected_risk(n, d: int, beta_norm_sq: float, sigma: float) -> np.ndarray:
    """Expected excess risk E||w - beta||^2 of the min-norm fit, isotropic Gaussian design.

    For x ~ N(0, I_d), y = x . beta + N(0, sigma^2) and n training examples:

    - n <= d - 2 (interpolating): ``beta_norm_sq * (1 - n / d) + sigma^2 * n / (d - n - 1)``;
    - n >= d + 2 (least squares): ``sigma^2 * d / (n - d - 1)``;
    - |n - d| <= 1: infinite (the inverse-Wishart mean does not exist), unless sigma = 0,
      where the noise term vanishes.

    The test error on a fresh example is this plus sigma^2.

    Parameters
    ----------
    n : int or array of int
        Training-set sizes, each at least 1.
    d : int
        Dimension, at least 1.
    beta_norm_sq : float
        ||beta||^2, at least 0.
    sigma : float
        Noise standard deviation, at least 0.

    Returns
    -------
    ndarray of float, same shape as ``n``

    Examples
    --------
    >>> min_norm_expected_risk([10, 50, 100], d=50, beta_norm_sq=1.0, sigma=1.0).round(3)
    array([1.056,   inf, 1.02 ])
    """
    d = check_int("d", d, minimum=1)
    beta_norm_sq = check_real("beta_norm_sq", beta_norm_sq, 0.0)
    sigma = check_real("sigma", sigma, 0.0)
    n_arr = np.asarray(n)
    if not np.issubdtype(n_arr.dtype, np.integer) or (n_arr < 1).any():
        raise ValueError(f"n must hold integers of at least 1, got {n!r}")
    n_f = n_arr.astype(np.float64)
    noise = sigma ** 2
    risk = np.full(n_f.shape, np.inf)
    under = n_f <= d - 2
    over = n_f >= d + 2
    risk[under] = beta_norm_sq * (1 - n_f[under] / d) + noise * n_f[under] / (d - n_f[under] - 1)
    risk[over] = noise * d / (n_f[over] - d - 1)
    if noise == 0:  # no noise: the variance term is 0 even where its coefficient diverges
        near = ~(under | over)
        risk[near] = beta_norm_sq * np.clip(1 - n_f[near] / d, 0.0, None)
    return risk


def optimal_ridge_lambda(d: int, beta_norm_sq: float, sigma: float) -> float:
    """The ridge strength minimising the expected risk for isotropic Gaussian data.

    ``lam* = d * sigma^2 / ||beta||^2`` for the penalty ``lam ||w||^2`` added to the *summed*
    squared error (Nakkiran, Venkat, Kakade & Ma, 2021). It does not depend on n: the
    expected risk depends on beta only through ||beta||^2, so it equals the Bayes risk under
    the prior beta ~ N(0, ||beta||^2 / d I), whose Bayes estimator is this ridge.

    Examples
    --------
    >>> optimal_ridge_lambda(d=100, beta_norm_sq=1.0, sigma=0.5)
    25.0
    """
    d = check_int("d", d, minimum=1)
    beta_norm_sq = check_real("beta_norm_sq", beta_norm_sq, 0.0, low_open=True)
    sigma = check_real("sigma", sigma, 0.0)
    return d * sigma ** 2 / beta_norm_sq


def design_spectra(X, beta) -> tuple[np.ndarray, np.ndarray, float]:
    """What the risk of a ridge fit on design X depends on: the spectrum and beta's projections.

    Parameters
    ----------
    X : array, shape (n, d)
    beta : array, shape (d,)

    Returns
    -------
    s2 : ndarray, shape (r,)
        Squared non-zero singular values of X (r = rank).
    c2 : ndarray, shape (r,)
        Squared components of beta along the matching right singular vectors.
    null_sq : float
        ||beta||^2 outside the row space of X (what no fit on X can see).

    Examples
    --------
    >>> s2, c2, null_sq = design_spectra([[2.0, 0.0]], [1.0, 3.0])
    >>> s2.tolist(), c2.tolist(), null_sq
    ([4.0], [1.0], 9.0)
    """
    X = np.asarray(X, dtype=np.float64)
    beta = _check_beta(beta)
    if X.ndim != 2 or X.shape[1] != beta.size:
        raise ValueError(f"X must be 2-D with {beta.size} columns (the length of beta), got "
                         f"shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X holds NaN or infinite values; its singular values are undefined")
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    keep = s > s.max(initial=0.0) * max(X.shape) * np.finfo(float).eps
    s2 = s[keep] ** 2
    c2 = (Vt[keep] @ beta) ** 2
    null_sq = float(max(beta @ beta - c2.sum(), 0.0))
    return s2, c2, null_sq


def risk_from_spectra(s2, c2, null_sq: float, sigma: float, lam: float) -> float:
    """Exact E_eps ||w_lam - beta||^2 of the ridge fit, given the design's spectra.

    With X = U S V^T and c = V^T beta: ``sum_i [lam^2 c_i^2 + sigma^2 s_i^2] / (s_i^2 + lam)^2
    + null_sq``; ``lam = 0`` gives the min-norm fit. Averaging over the noise is done exactly,
    so a Monte Carlo average over designs has much less variance than one over (X, eps).

    Parameters
    ----------
    s2, c2 : arrays of the same shape
        As returned by :func:`design_spectra`.
    null_sq : float
    sigma, lam : float
        Noise standard deviation and ridge strength, both at least 0.

    Examples
    --------
    >>> risk_from_spectra([4.0], [1.0], 9.0, sigma=1.0, lam=0.0)   # 1 / 4 + 9
    9.25
    """
    s2 = np.asarray(s2, dtype=np.float64)
    c2 = np.asarray(c2, dtype=np.float64)
    if s2.shape != c2.shape or s2.ndim != 1:
        raise ValueError(f"s2 and c2 must be 1-D of the same shape, got {s2.shape} and {c2.shape}")
    if (s2 <= 0).any() or (c2 < 0).any():
        raise ValueError("s2 must be positive and c2 non-negative")
    null_sq = check_real("null_sq", null_sq, 0.0)
    sigma = check_real("sigma", sigma, 0.0)
    lam = check_real("lam", lam, 0.0)
    terms = (lam ** 2 * c2 + sigma ** 2 * s2) / (s2 + lam) ** 2
    return float(terms.sum() + null_sq)


def ridge_conditional_risk(X, beta, sigma: float, lam: float) -> float:
    """Exact expected excess risk of the ridge fit on design X, averaged over the noise only.

    Shorthand for ``risk_from_spectra(*design_spectra(X, beta), sigma, lam)``.

    Examples
    --------
    >>> ridge_conditional_risk([[1.0, 0.0], [0.0, 1.0]], [1.0, 1.0], sigma=1.0, lam=0.0)
    2.0
    """
    s2, c2, null_sq = design_spectra(X, beta)
    return risk_from_spectra(s2, c2, null_sq, sigma, lam)


def simulate_min_norm_risk(n_values, beta, sigma: float, n_draws: int, rng) -> np.ndarray:
    """Monte Carlo excess risk ||w - beta||^2 of min-norm fits to fresh Gaussian data.

    For each draw and each n, draws n examples with
    :func:`utils.data.gaussian_linear_regression`, fits :func:`min_norm_fit`, and records
    ||w - beta||^2 (the excess test error, exactly, for isotropic x).

    Parameters
    ----------
    n_values : sequence of int
        Training-set sizes, each at least 1.
    beta : array, shape (d,)
    sigma : float
        Noise standard deviation, at least 0.
    n_draws : int
        Independent data sets per n, at least 1.
    rng : numpy.random.Generator or int

    Returns
    -------
    ndarray, shape (n_draws, len(n_values))

    Examples
    --------
    >>> r = simulate_min_norm_risk([5, 40], beta=np.ones(10) / np.sqrt(10), sigma=0.0,
    ...                            n_draws=3, rng=0)
    >>> r.shape, bool(np.allclose(r[:, 1], 0.0))
    ((3, 2), True)
    """
    from .data import gaussian_linear_regression  # torch-free at import time of this module

    beta = _check_beta(beta)
    sigma = check_real("sigma", sigma, 0.0)
    n_draws = check_int("n_draws", n_draws, minimum=1)
    rng = check_rng(rng)
    n_values = [check_int("each n", n, minimum=1) for n in n_values]
    if not n_values:
        raise ValueError("n_values must hold at least one training-set size")
    risks = np.empty((n_draws, len(n_values)))
    for k in range(n_draws):
        for j, n in enumerate(n_values):
            X, y = gaussian_linear_regression(n, beta, sigma, rng)
            w = min_norm_fit(X, y)
            risks[k, j] = np.sum((w - beta) ** 2)
    return risks


class RandomFourierFeatures:
    """Random Fourier features ``phi(x) = sqrt(2 / N) cos(W x / bandwidth + b)``.

    Rows of W are standard Gaussian and the phases b are uniform on [0, 2 pi) (Rahimi &
    Recht, 2007), so ``phi(x) . phi(x')`` approximates the Gaussian kernel
    ``exp(-||x - x'||^2 / (2 bandwidth^2))`` as N grows. Belkin et al. (2019) fit min-norm
    linear predictors on such features to show model-wise double descent.

    Parameters
    ----------
    in_features : int
        Input dimension, at least 1.
    n_features : int
        Number of features N, at least 1.
    bandwidth : float
        Kernel width, > 0.
    rng : numpy.random.Generator or int

    Examples
    --------
    >>> rff = RandomFourierFeatures(in_features=3, n_features=20000, bandwidth=1.0, rng=0)
    >>> x = np.zeros((1, 3)); z = np.full((1, 3), 0.5)
    >>> round(float((rff.transform(x) @ rff.transform(z).T)[0, 0]), 2)   # exp(-0.375) = 0.69
    0.69
    """

    def __init__(self, in_features: int, n_features: int, bandwidth: float, rng) -> None:
        self.in_features = check_int("in_features", in_features, minimum=1)
        self.n_features = check_int("n_features", n_features, minimum=1)
        self.bandwidth = check_real("bandwidth", bandwidth, 0.0, low_open=True)
        rng = check_rng(rng)
        self.weights = rng.standard_normal((self.n_features, self.in_features))
        self.phases = rng.uniform(0.0, 2 * np.pi, self.n_features)

    def transform(self, X) -> np.ndarray:
        """Features of the rows of X, shape (n, n_features).

        Examples
        --------
        >>> RandomFourierFeatures(2, 5, 1.0, rng=0).transform(np.zeros((4, 2))).shape
        (4, 5)
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.in_features:
            raise ValueError(f"X must be 2-D with {self.in_features} columns, got shape {X.shape}")
        z = X @ self.weights.T / self.bandwidth + self.phases
        return np.sqrt(2.0 / self.n_features) * np.cos(z)


class RandomReLUFeatures:
    """Random ReLU features ``phi(x) = relu(W x + b)``: a network's first layer, frozen.

    W (N x d) and b (N) are drawn as PyTorch initializes an ``nn.Linear(d, N)`` layer, both
    uniform on [-1/sqrt(d), 1/sqrt(d)], so that fitting the output layer on these features
    by min-norm least squares is a one-hidden-layer network of width N whose first layer is
    never trained (the random-features regime). The min-norm fit's predictions do not
    change if every feature is multiplied by the same constant, so no 1/sqrt(N) factor is
    applied.

    Parameters
    ----------
    in_features : int
        Input dimension d, at least 1.
    n_features : int
        Number of features (hidden units) N, at least 1.
    rng : numpy.random.Generator or int

    Examples
    --------
    >>> relu = RandomReLUFeatures(in_features=3, n_features=4, rng=0)
    >>> phi = relu.transform(np.ones((2, 3)))
    >>> phi.shape, bool((phi >= 0).all())
    ((2, 4), True)
    """

    def __init__(self, in_features: int, n_features: int, rng) -> None:
        self.in_features = check_int("in_features", in_features, minimum=1)
        self.n_features = check_int("n_features", n_features, minimum=1)
        rng = check_rng(rng)
        bound = 1.0 / np.sqrt(self.in_features)
        self.weights = rng.uniform(-bound, bound, (self.n_features, self.in_features))
        self.bias = rng.uniform(-bound, bound, self.n_features)

    def transform(self, X) -> np.ndarray:
        """Features of the rows of X, shape (n, n_features).

        Examples
        --------
        >>> RandomReLUFeatures(2, 5, rng=0).transform(np.zeros((4, 2))).shape
        (4, 5)
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.in_features:
            raise ValueError(f"X must be 2-D with {self.in_features} columns, got shape {X.shape}")
        return np.maximum(X @ self.weights.T + self.bias, 0.0)
