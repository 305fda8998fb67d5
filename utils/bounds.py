"""Bounds: generalization bounds and the complexity measures they are built on.

Everything Chapter 2 computes: the binary kl divergence and its inverse, the PAC-Bayes-kl
bound (Seeger; Maurer) and its square-root relaxation (McAllester's form), KL between
diagonal Gaussians, a parameter-counting bound, Bartlett, Foster & Telgarsky's spectral
complexity and normalized margins, Nagarajan & Kolter's projected training set S', and the
pieces of Dziugaite & Roy's non-vacuous bound for a stochastic network (optimize a Gaussian
posterior, estimate its error by Monte Carlo, certify it).

Conventions: ``n`` is the number of training examples, ``delta`` the probability that a bound
fails, logarithms are natural, errors are 0-1 errors in [0, 1].
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validation import check_int, check_real, check_type
from .training import train

__all__ = [
    "binary_kl",
    "kl_inverse",
    "pac_bayes_kl_bound",
    "mcallester_bound",
    "sample_convergence_bound",
    "kl_diag_gaussians",
    "parameter_count_bound",
    "margins",
    "spectral_complexity",
    "normalized_margins",
    "bft_complexity_term",
    "linear_layers",
    "distance_from_init",
    "spectral_product",
    "project_to_other_sphere",
    "train_to_margin",
    "PRIOR_STDS",
    "PacBayesResult",
    "flatten_parameters",
    "stochastic_outputs",
    "optimize_posterior",
    "pac_bayes_certificate",
]

_EPS = 1e-12

#: The data-independent grid of prior standard deviations of :func:`pac_bayes_certificate`:
#: 121 values from 1e-3 to 1, evenly spaced on a log scale. A union bound over the grid
#: costs ln(121) ~ 4.8 nats in the bound's numerator.
PRIOR_STDS = np.geomspace(1e-3, 1.0, 121)


def _check_probability(name: str, value) -> float:
    return check_real(name, value, 0.0, 1.0)


def binary_kl(q, p):
    """The kl divergence between Bernoulli(q) and Bernoulli(p), in nats.

    ``kl(q || p) = q ln(q / p) + (1 - q) ln((1 - q) / (1 - p))``, with ``0 ln 0 = 0``;
    it is infinite when p is 0 or 1 and q differs from p. Works elementwise on arrays.

    Parameters
    ----------
    q, p : float or array of float
        Probabilities in [0, 1] (broadcast together).

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> round(binary_kl(0.5, 0.25), 6)   # 0.5 ln 2 + 0.5 ln(2/3)
    0.143841
    >>> binary_kl(0.3, 0.3)
    0.0
    """
    q_arr = np.asarray(q, dtype=float)
    p_arr = np.asarray(p, dtype=float)
    for name, arr in (("q", q_arr), ("p", p_arr)):
        if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
            raise ValueError(f"{name} must hold probabilities in [0, 1], got {arr!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(q_arr > 0, q_arr * np.log(q_arr / p_arr), 0.0)
        second = np.where(q_arr < 1, (1 - q_arr) * np.log((1 - q_arr) / (1 - p_arr)), 0.0)
    out = np.maximum(first + second, 0.0)
    return float(out) if out.ndim == 0 else out


def kl_inverse(q: float, c: float, tol: float = 1e-12) -> float:
    """The upper kl inverse: the largest p in [q, 1] with ``kl(q || p) <= c``, by bisection.

    This turns a bound on kl(empirical || true) into an upper bound on the true error.
    kl(q || p) increases in p on [q, 1], so bisection on that interval finds it.

    Parameters
    ----------
    q : float
        Empirical error in [0, 1].
    c : float
        The allowed divergence, at least 0.
    tol : float
        Width of the final bracket, > 0. A tol finer than the spacing of floats near the
        answer stops where the bracket is two neighbouring floats (it cannot shrink further).

    Returns
    -------
    float
        p with ``kl(q || p) <= c`` and within ``tol`` of the largest such p.

    Examples
    --------
    >>> round(kl_inverse(0.0, math.log(2)), 6)   # kl(0 || p) = -ln(1 - p) = ln 2
    0.5
    >>> kl_inverse(0.2, 0.0)
    0.2
    """
    q = _check_probability("q", q)
    c = check_real("c", c, 0.0)
    tol = check_real("tol", tol, 0.0, low_open=True)
    if c == 0.0:
        return q
    if q >= 1.0 or binary_kl(q, 1.0) <= c:
        return 1.0
    lo, hi = q, 1.0          # kl(q||lo) = 0 <= c < kl(q||hi)
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:    # lo and hi are neighbouring floats: as precise as it gets
            break
        if binary_kl(q, mid) <= c:
            lo = mid
        else:
            hi = mid
    return lo


def _check_bound_args(emp_risk, kl, n, delta):
    emp_risk = _check_probability("emp_risk", emp_risk)
    kl = check_real("kl", kl, 0.0)
    n = check_int("n", n, minimum=1)
    delta = check_real("delta", delta, 0.0, 1.0, low_open=True, high_open=True)
    return emp_risk, kl, n, delta


def pac_bayes_kl_bound(emp_risk: float, kl: float, n: int, delta: float) -> float:
    """The PAC-Bayes-kl bound (Seeger 2002, in Maurer's 2004 form) on a posterior's error.

    With probability at least 1 - delta over n i.i.d. examples, for every posterior Q,
    ``kl(emp_risk || risk) <= (KL(Q || P) + ln(2 sqrt(n) / delta)) / n`` (Maurer's form holds
    for n >= 8), so the risk is at most the kl inverse of that right-hand side.

    Parameters
    ----------
    emp_risk : float
        Empirical (training) error of the stochastic classifier Q, in [0, 1].
    kl : float
        KL(Q || P) in nats, >= 0. Add the log of a union bound's size here if the prior was
        chosen from a finite grid.
    n : int
        Number of training examples (>= 1; the theorem needs n >= 8).
    delta : float
        Failure probability in (0, 1).

    Examples
    --------
    >>> b = pac_bayes_kl_bound(0.05, kl=100.0, n=1000, delta=0.05)
    >>> 0.05 < b < 0.5
    True
    """
    emp_risk, kl, n, delta = _check_bound_args(emp_risk, kl, n, delta)
    return kl_inverse(emp_risk, (kl + math.log(2 * math.sqrt(n) / delta)) / n)


def mcallester_bound(emp_risk: float, kl: float, n: int, delta: float) -> float:
    """The square-root (McAllester-type) PAC-Bayes bound, capped at 1.

    ``emp_risk + sqrt((KL + ln(2 sqrt(n) / delta)) / (2 n))``: Pinsker's inequality
    (kl(q || p) >= 2 (p - q)^2) applied to :func:`pac_bayes_kl_bound`, so it is never
    tighter than that bound. McAllester's original theorem has this shape with a slightly
    different logarithmic term.

    Examples
    --------
    >>> mcallester_bound(0.05, 100.0, 1000, 0.05) >= pac_bayes_kl_bound(0.05, 100.0, 1000, 0.05)
    True
    """
    emp_risk, kl, n, delta = _check_bound_args(emp_risk, kl, n, delta)
    return min(1.0, emp_risk + math.sqrt((kl + math.log(2 * math.sqrt(n) / delta)) / (2 * n)))


def sample_convergence_bound(mc_error: float, n_samples: int, delta: float) -> float:
    """Upper bound on a stochastic classifier's error from a Monte Carlo estimate of it.

    If ``mc_error`` averages the errors of ``n_samples`` independent draws from Q (each
    error in [0, 1]), then with probability at least 1 - delta the exact expected error is
    at most ``kl_inverse(mc_error, ln(2 / delta) / n_samples)`` (the sample convergence
    bound of Langford & Caruana, used by Dziugaite & Roy).

    Examples
    --------
    >>> b = sample_convergence_bound(0.05, n_samples=1000, delta=0.01)
    >>> 0.05 < b < 0.08
    True
    """
    mc_error = _check_probability("mc_error", mc_error)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    delta = check_real("delta", delta, 0.0, 1.0, low_open=True, high_open=True)
    return kl_inverse(mc_error, math.log(2 / delta) / n_samples)


def kl_diag_gaussians(mu_q, sigma_q, mu_p, sigma_p):
    """KL(N(mu_q, diag sigma_q^2) || N(mu_p, diag sigma_p^2)), summed over coordinates.

    ``0.5 * sum(sigma_q^2 / sigma_p^2 + (mu_q - mu_p)^2 / sigma_p^2 - 1
    + 2 ln(sigma_p / sigma_q))``. Arguments broadcast together (a scalar ``sigma_p`` is an
    isotropic prior). Torch tensors in, a differentiable scalar tensor out; otherwise a float.

    Examples
    --------
    >>> kl_diag_gaussians([0.0, 0.0], [1.0, 1.0], [0.0, 0.0], 1.0)
    0.0
    >>> round(kl_diag_gaussians([1.0], [1.0], [0.0], 1.0), 6)   # (mu_q - mu_p)^2 / 2
    0.5
    """
    args = (mu_q, sigma_q, mu_p, sigma_p)
    as_tensor = any(isinstance(a, torch.Tensor) for a in args)
    t = [a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a, dtype=float))
         for a in args]
    if not as_tensor:
        t = [a.double() for a in t]
    mu_q, sigma_q, mu_p, sigma_p = t
    for name, s in (("sigma_q", sigma_q), ("sigma_p", sigma_p)):
        if not bool(torch.all(s.detach() > 0)):
            raise ValueError(f"{name} must be positive everywhere (standard deviations)")
    try:
        shape = torch.broadcast_shapes(mu_q.shape, sigma_q.shape, mu_p.shape, sigma_p.shape)
    except RuntimeError:
        raise ValueError("mu_q, sigma_q, mu_p and sigma_p must broadcast together, got shapes "
                         f"{[tuple(a.shape) for a in t]}") from None
    ratio = (sigma_q / sigma_p) ** 2
    terms = 0.5 * (ratio + ((mu_q - mu_p) / sigma_p) ** 2 - 1 - torch.log(ratio))
    total = terms.expand(shape).sum()
    return total if as_tensor else float(total)


def parameter_count_bound(train_error: float, n_params: int, n: int, delta: float,
                          bits: int = 32) -> float:
    """Occam bound for a network stored with ``bits`` bits per parameter, capped at 1.

    A network with ``n_params`` parameters of ``bits`` bits each is one of at most
    ``2 ** (bits * n_params)`` classifiers. Hoeffding's inequality and a union bound over
    them give, with probability at least 1 - delta, for every one of them,
    ``error <= train_error + sqrt((bits * n_params * ln 2 + ln(1 / delta)) / (2 n))``.

    Examples
    --------
    >>> round(parameter_count_bound(0.0, n_params=10, n=10_000, delta=0.05, bits=1), 4)
    0.0223
    >>> parameter_count_bound(0.0, n_params=50_000, n=1_000, delta=0.05)   # vacuous
    1.0
    """
    train_error = _check_probability("train_error", train_error)
    # (beyond 1e18 the formula's floats overflow; no network or data set is that large)
    n_params = check_int("n_params", n_params, minimum=1, maximum=10**18)
    n = check_int("n", n, minimum=1, maximum=10**18)
    delta = check_real("delta", delta, 0.0, 1.0, low_open=True, high_open=True)
    bits = check_int("bits", bits, minimum=1)
    slack = math.sqrt((bits * n_params * math.log(2) + math.log(1 / delta)) / (2 * n))
    return min(1.0, train_error + slack)


def margins(outputs, y) -> np.ndarray:
    """Multiclass margins: the true class's output minus the largest other output.

    Positive where the example is classified correctly. For a single output column (a
    binary classifier with labels 0/1 predicted by the sign), the margin is ``s * output``
    with s = +1 for label 1 and -1 for label 0.

    Examples
    --------
    >>> margins(np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 5.0]]), np.array([0, 1])).tolist()
    [2.0, -3.0]
    """
    out = outputs.detach().cpu().numpy() if isinstance(outputs, torch.Tensor) else outputs
    out = np.asarray(out, dtype=float)
    y = np.asarray(y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else y)
    if out.ndim != 2:
        raise ValueError(f"outputs must be 2-D (examples x outputs), got shape {out.shape}")
    if y.shape != (out.shape[0],):
        raise ValueError(f"y must have one label per row of outputs ({out.shape[0]}), got "
                         f"shape {y.shape}")
    k = out.shape[1]
    if k == 1:
        if not np.isin(y, (0, 1)).all():
            raise ValueError("with one output column, y must hold labels 0 and 1")
        return np.where(y == 1, 1.0, -1.0) * out[:, 0]
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= k:
        raise ValueError(f"y must hold integer labels in 0..{k - 1}")
    rows = np.arange(len(y))
    true = out[rows, y]
    others = out.copy()
    others[rows, y] = -np.inf
    return true - others.max(axis=1)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The ``nn.Linear`` layers of ``model``, in order (the weights a norm bound sees).

    Examples
    --------
    >>> from utils.models import mlp
    >>> [tuple(l.weight.shape) for l in linear_layers(mlp(3, [4], 2))]
    [(4, 3), (2, 4)]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError("model has no nn.Linear layer")
    return layers


def _weights(weights) -> list[np.ndarray]:
    if isinstance(weights, nn.Module):
        return [l.weight.detach().cpu().numpy().astype(float) for l in linear_layers(weights)]
    mats = [np.asarray(w.detach().cpu().numpy() if isinstance(w, torch.Tensor) else w,
                       dtype=float) for w in weights]
    if not mats or any(m.ndim != 2 for m in mats):
        raise ValueError("weights must be a non-empty list of 2-D matrices (or a model)")
    return mats


def spectral_complexity(weights, reference=None) -> float:
    """Bartlett, Foster & Telgarsky's spectral complexity R_A of a ReLU network.

    ``R_A = (prod_i ||A_i||_2) * (sum_i (||A_i^T - M_i^T||_{2,1} / ||A_i||_2)^(2/3))^(3/2)``
    where ``||A||_2`` is the spectral norm (largest singular value), ``||B||_{2,1}`` the sum
    of the Euclidean norms of the columns of B (so ``||A^T||_{2,1}`` sums the norms of the
    rows of A, one per unit), and M_i are fixed reference matrices (zero by default). The
    activation's Lipschitz constants are 1 (ReLU). Biases are ignored: Bartlett, Foster &
    Telgarsky's theorem is stated for networks without biases (a bias can be folded in as an
    extra constant input, which this function does not do), so for a network with biases the
    number is the complexity of its weight matrices only.

    Parameters
    ----------
    weights : torch.nn.Module or list of 2-D arrays
        A model (its ``nn.Linear`` weights, in order) or the matrices A_i (out x in).
    reference : list of 2-D arrays, optional
        The matrices M_i, same shapes as the weights; None means zeros.

    Examples
    --------
    >>> round(spectral_complexity([np.eye(2), 2 * np.eye(2)]), 4)  # 2 * (2^(2/3) * 2)^(3/2)
    11.3137
    """
    mats = _weights(weights)
    refs = [np.zeros_like(m) for m in mats] if reference is None else _weights(reference)
    if len(refs) != len(mats) or any(r.shape != m.shape for r, m in zip(refs, mats)):
        raise ValueError("reference must hold one matrix per weight matrix, of the same shape")
    spec = [np.linalg.norm(m, 2) for m in mats]
    if min(spec) == 0:
        raise ValueError("a weight matrix is zero: the spectral complexity is undefined")
    two_one = [np.linalg.norm(m - r, axis=1).sum() for m, r in zip(mats, refs)]
    correction = sum((a / s) ** (2 / 3) for a, s in zip(two_one, spec)) ** 1.5
    return float(np.prod(spec) * correction)


def normalized_margins(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                       reference=None) -> np.ndarray:
    """Margins divided by ``R_A * ||X||_F / n``, the scale at which they enter BFT's bound.

    Bartlett, Foster & Telgarsky's bound has the margin gamma only through
    ``R_A ||X||_F / (gamma n)`` (||X||_F: the Frobenius norm of the n x d data matrix), so
    ``gamma * n / (R_A ||X||_F)`` is the margin in the bound's own units: scale-free in the
    weights and in the inputs. Two networks compared on the same X differ only through R_A.

    Examples
    --------
    >>> from utils.models import mlp
    >>> net = mlp(4, [8], 3, generator=torch.Generator().manual_seed(0))
    >>> X = torch.randn(10, 4, generator=torch.Generator().manual_seed(1))
    >>> normalized_margins(net, X, torch.zeros(10, dtype=torch.long)).shape
    (10,)
    """
    if not isinstance(X, torch.Tensor) or X.ndim != 2:
        error = ValueError if isinstance(X, torch.Tensor) else TypeError
        raise error("X must be a 2-D torch tensor (examples x features)")
    with torch.no_grad():
        out = model(X)
    gamma = margins(out, y)
    scale = spectral_complexity(model, reference) * float(torch.linalg.norm(X)) / X.shape[0]
    return gamma / scale


def bft_complexity_term(model: nn.Module, X: torch.Tensor, gamma: float,
                        reference=None) -> float:
    """The complexity term ``R_A ||X||_F / (gamma n)`` of Bartlett, Foster & Telgarsky's bound.

    Their theorem bounds the test error by the fraction of training margins at most gamma
    plus this term times logarithmic factors and constants (plus a sqrt(ln(1/delta) / n)
    term). The term falls with n only if R_A grows more slowly than ``n / ||X||_F``, which
    is about sqrt(n) for inputs of bounded norm, so the direction in which the bound moves
    with n has to be computed, not read off R_A. The reference matrices M_i enter R_A: zero
    (the default) or, for the distance-from-initialization form, the initial weights.

    Parameters
    ----------
    model : torch.nn.Module
        The trained network (its ``nn.Linear`` weights; biases are ignored, see
        :func:`spectral_complexity`).
    X : torch.Tensor, shape (n, d)
        The training inputs.
    gamma : float
        The margin, > 0.
    reference : torch.nn.Module or list of 2-D arrays, optional
        The reference matrices M_i (for example a copy of the network at initialization).

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.eye(2))
    >>> X = torch.tensor([[3.0, 4.0], [0.0, 0.0]])      # ||X||_F = 5, n = 2
    >>> round(bft_complexity_term(net, X, gamma=0.5), 6)  # R_A = 1 * (2^(2/3))^(3/2) = 2
    10.0
    """
    check_type("model", model, nn.Module, "a torch.nn.Module (the trained network)")
    check_type("X", X, torch.Tensor, "a 2-D torch tensor (examples x features)")
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D torch tensor (examples x features), got shape "
                         f"{tuple(X.shape)}")
    layers = linear_layers(model)
    if layers and X.shape[1] != layers[0].in_features:
        raise ValueError(f"X has {X.shape[1]} features but the model's first layer takes "
                         f"{layers[0].in_features}: pass the model's own training inputs")
    gamma = check_real("gamma", gamma, 0.0, low_open=True)
    r_a = spectral_complexity(model, reference)
    return float(r_a * float(torch.linalg.norm(X)) / (gamma * X.shape[0]))


def distance_from_init(model: nn.Module, initial: list[torch.Tensor]) -> float:
    """Euclidean distance between ``model``'s parameters and ``initial`` (a saved copy).

    Examples
    --------
    >>> net = torch.nn.Linear(2, 1)
    >>> w0 = [p.detach().clone() for p in net.parameters()]
    >>> with torch.no_grad():
    ...     _ = net.bias.add_(3.0)
    >>> distance_from_init(net, w0)
    3.0
    """
    params = list(model.parameters())
    if len(params) != len(initial) or any(p.shape != q.shape for p, q in zip(params, initial)):
        raise ValueError("initial must hold one tensor per parameter of model, same shapes")
    return float(math.sqrt(sum(float(((p.detach() - q) ** 2).sum())
                               for p, q in zip(params, initial))))


def spectral_product(model: nn.Module) -> float:
    """Product of the spectral norms of the weight matrices (a Lipschitz constant of a ReLU net).

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.diag(torch.tensor([3.0, 1.0])))
    >>> spectral_product(net)
    3.0
    """
    check_type("model", model, (nn.Module, list, tuple),
               "a torch.nn.Module or a list of weight matrices")
    return float(np.prod([np.linalg.norm(m, 2) for m in _weights(model)]))


def project_to_other_sphere(X, y, r_inner: float = 1.0, r_outer: float = 1.1):
    """Nagarajan & Kolter's S': move every point to the other sphere and flip its label.

    A point of the inner sphere (label 0) is scaled by ``r_outer / r_inner`` and labelled 1;
    a point of the outer sphere (label 1) is scaled by ``r_inner / r_outer`` and labelled 0.
    S' is distributed like a fresh training set, yet it is made of the training points.

    Returns
    -------
    X_proj : ndarray, shape (n, d)
    y_proj : ndarray of int64, shape (n,)

    Examples
    --------
    >>> Xp, yp = project_to_other_sphere(np.array([[1.0, 0.0], [0.0, 1.1]]), np.array([0, 1]))
    >>> np.round(Xp, 6).tolist(), yp.tolist()
    ([[1.1, 0.0], [0.0, 1.0]], [1, 0])
    """
    r_inner = check_real("r_inner", r_inner, 0.0, low_open=True)
    r_outer = check_real("r_outer", r_outer, 0.0, low_open=True)
    if r_outer <= r_inner:
        raise ValueError(f"r_outer must exceed r_inner, got {r_outer} <= {r_inner}")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be 2-D with one label per row, got shapes {X.shape}, {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold labels 0 (inner sphere) and 1 (outer sphere)")
    if not np.isfinite(X).all():
        raise ValueError(f"X holds {int((~np.isfinite(X)).sum())} NaN or infinite value(s); "
                         "the points must be finite")
    # A point off its label's sphere (the origin, say) has no mirror image on the other one.
    norms = np.linalg.norm(X, axis=1)
    radius = np.where(y == 0, r_inner, r_outer)
    off = ~np.isclose(norms, radius, rtol=1e-4, atol=0.0)
    if off.any():
        i = int(np.argmax(off))
        raise ValueError(f"point {i} has norm {norms[i]:.6g} but label {int(y[i])} puts it on the "
                         f"sphere of radius {radius[i]:g}; {int(off.sum())} point(s) lie off their "
                         "sphere. S' is made from points on the two spheres (as "
                         "utils.data.concentric_spheres draws them)")
    scale = np.where(y == 0, r_outer / r_inner, r_inner / r_outer)
    return X * scale[:, None], (1 - y).astype(np.int64)


def train_to_margin(model: nn.Module, X: torch.Tensor, y: torch.Tensor, margin: float, *,
                    lr: float = 1.0, batch_size: int = 64, max_epochs: int = 200,
                    generator: torch.Generator | None = None) -> dict:
    """Train with SGD on the cross-entropy until every training margin is at least ``margin``.

    A stopping rule in the style of Nagarajan & Kolter's, who trained until (nearly) all
    training points had margin at least 10; we could not check their exact rule (which
    fraction of points, how often it was tested), and this one asks for every point. After
    each epoch (one call of :func:`utils.training.train`), stop when the smallest margin of
    :func:`margins` reaches ``margin`` or after ``max_epochs`` epochs.

    Returns
    -------
    dict
        ``epochs``, ``steps``, ``min_margin`` and ``reached`` (whether the margin was reached).

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(64, 2, generator=g); y = (X[:, 0] > 0).long()
    >>> X[:, 0] += 2 * y - 1                     # a gap of width 2 between the classes
    >>> out = train_to_margin(torch.nn.Linear(2, 2), X, y, margin=0.5, lr=1.0, generator=g)
    >>> out["reached"]
    True
    """
    margin = check_real("margin", margin, 0.0, low_open=True)
    max_epochs = check_int("max_epochs", max_epochs, minimum=1)
    steps = 0
    epoch = 0
    current = -math.inf
    while epoch < max_epochs:
        history = train(model, X, y, loss="cross_entropy", lr=lr, batch_size=batch_size,
                        epochs=1, generator=generator)
        steps += history.final["step"]
        epoch += 1
        with torch.no_grad():
            current = float(margins(model(X), y).min())
        if current >= margin:
            break
    return {"epochs": epoch, "steps": steps, "min_margin": current,
            "reached": bool(current >= margin)}


# --------------------------------------------------------------------------------------
# PAC-Bayes for a stochastic MLP (Dziugaite & Roy 2017, at laptop scale)
# --------------------------------------------------------------------------------------

def flatten_parameters(model: nn.Module) -> torch.Tensor:
    """All parameters of ``model`` as one detached vector (in ``model.parameters()`` order).

    Examples
    --------
    >>> flatten_parameters(torch.nn.Linear(3, 2)).shape
    torch.Size([8])
    """
    check_type("model", model, nn.Module, "a torch.nn.Module")
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()


def _mlp_layout(model: nn.Module) -> list[tuple[int, int]]:
    """(in, out) sizes of an nn.Sequential of Linear (with bias) and ReLU layers."""
    if not isinstance(model, nn.Sequential):
        raise TypeError("model must be an nn.Sequential of nn.Linear and nn.ReLU layers "
                         "(as built by utils.models.mlp)")
    layout = []
    for k, layer in enumerate(model):
        if isinstance(layer, nn.Linear):
            if layer.bias is None:
                raise ValueError("every nn.Linear layer must have a bias")
            layout.append((layer.in_features, layer.out_features))
        elif not isinstance(layer, nn.ReLU):
            raise ValueError(f"layer {k} is {type(layer).__name__}; only nn.Linear and nn.ReLU "
                             "are supported")
    if not layout or not isinstance(model[-1], nn.Linear) or layout[-1][1] != 1:
        raise ValueError("the last layer must be nn.Linear with one output (a binary classifier)")
    return layout


def stochastic_outputs(model: nn.Module, weights: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Outputs of ``model``'s architecture for a batch of flat weight vectors at once.

    Parameters
    ----------
    model : nn.Sequential
        Linear (with bias) and ReLU layers ending in one output; only its shape is used.
    weights : torch.Tensor, shape (S, P)
        S parameter vectors in the order of :func:`flatten_parameters`.
    X : torch.Tensor, shape (N, d)

    Returns
    -------
    torch.Tensor, shape (S, N)
        The single output of each of the S networks on each input.

    Examples
    --------
    >>> from utils.models import mlp
    >>> net = mlp(3, [4], 1, generator=torch.Generator().manual_seed(0))
    >>> X = torch.randn(5, 3)
    >>> w = flatten_parameters(net)[None]
    >>> bool(torch.allclose(stochastic_outputs(net, w, X)[0], net(X)[:, 0], atol=1e-6))
    True
    """
    layout = _mlp_layout(model)
    n_params = sum(i * o + o for i, o in layout)
    if weights.ndim != 2 or weights.shape[1] != n_params:
        raise ValueError(f"weights must have shape (S, {n_params}), got {tuple(weights.shape)}")
    h = X.unsqueeze(0).expand(weights.shape[0], -1, -1)
    start = 0
    for k, (fan_in, fan_out) in enumerate(layout):
        W = weights[:, start:start + fan_in * fan_out].reshape(-1, fan_out, fan_in)
        start += fan_in * fan_out
        b = weights[:, start:start + fan_out]
        start += fan_out
        h = torch.baddbmm(b.unsqueeze(1), h, W.transpose(1, 2))
        if k < len(layout) - 1:
            h = torch.relu(h)
    return h[..., 0]


@dataclass(frozen=True)
class PacBayesResult:
    """A certified PAC-Bayes bound for a Gaussian posterior Q = N(mean, diag(std^2)).

    Attributes
    ----------
    bound : float
        Upper bound on Q's expected error, holding with probability >= 1 - delta - delta_mc.
    kl : float
        KL(Q || P) for the chosen prior standard deviation.
    prior_std : float
        The prior standard deviation picked from the grid (union bound paid).
    train_error_mc : float
        Monte Carlo estimate of Q's training error.
    train_error_bound : float
        Its upper confidence limit (:func:`sample_convergence_bound`).
    test_error_mc : float
        Monte Carlo estimate of Q's test error (NaN without test data).
    n : int
        Training examples.
    n_samples : int
        Monte Carlo draws from Q.
    """

    bound: float
    kl: float
    prior_std: float
    train_error_mc: float
    train_error_bound: float
    test_error_mc: float
    n: int
    n_samples: int


def _check_binary(X, y):
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor) or X.ndim != 2:
        error = ValueError if isinstance(X, torch.Tensor) and isinstance(y, torch.Tensor) \
            else TypeError
        raise error("X must be a 2-D torch tensor and y a torch tensor of labels")
    if y.shape != (X.shape[0],) or not bool(((y == 0) | (y == 1)).all()):
        raise ValueError("y must hold one label 0 or 1 per row of X")


def optimize_posterior(model: nn.Module, prior_mean: torch.Tensor, X: torch.Tensor,
                       y: torch.Tensor, *, delta: float = 0.025, steps: int = 300,
                       lr: float = 0.02, mean_lr_factor: float = 0.1, init_std: float = 0.1,
                       init_prior_std: float = 0.2, n_draws: int = 2,
                       generator: torch.Generator | None = None):
    """Optimize a Gaussian posterior around ``model``'s weights (Dziugaite & Roy's recipe).

    The posterior N(mean, diag(std^2)) starts at the trained weights with every std equal to
    ``init_std``; the prior is N(prior_mean, prior_std^2 I) with prior_std learned too. Adam
    minimizes the differentiable objective
    ``surrogate + sqrt((KL(Q||P) + ln(2 sqrt(n) / delta) + ln(len(PRIOR_STDS))) / (2 n))``,
    where the surrogate is the logistic loss divided by ln 2 (an upper bound on the 0-1
    error) averaged over ``n_draws`` reparametrized draws of the weights. It is the
    square-root form of the bound; the final certificate uses the kl form.

    Returns
    -------
    mean, std : torch.Tensor
        The posterior's parameters (flat, detached).
    prior_std : float
        The learned (continuous) prior std; :func:`pac_bayes_certificate` rounds it to the grid.

    Examples
    --------
    >>> from utils.models import mlp
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(40, 2, generator=g); y = (X[:, 0] > 0).long()
    >>> net = mlp(2, [4], 1, generator=g)
    >>> mean, std, s = optimize_posterior(net, flatten_parameters(net), X, y, steps=5, generator=g)
    >>> mean.shape == std.shape == (17,)
    True
    """
    _mlp_layout(model)
    _check_binary(X, y)
    delta = check_real("delta", delta, 0.0, 1.0, low_open=True, high_open=True)
    steps = check_int("steps", steps, minimum=0)
    lr = check_real("lr", lr, 0.0, low_open=True)
    mean_lr_factor = check_real("mean_lr_factor", mean_lr_factor, 0.0)
    init_std = check_real("init_std", init_std, 0.0, low_open=True)
    init_prior_std = check_real("init_prior_std", init_prior_std, 0.0, low_open=True)
    n_draws = check_int("n_draws", n_draws, minimum=1)
    w = flatten_parameters(model)
    if prior_mean.shape != w.shape:
        raise ValueError(f"prior_mean must have shape {tuple(w.shape)}, got "
                         f"{tuple(prior_mean.shape)}")
    n = X.shape[0]
    mean = w.clone().requires_grad_(True)
    log_std = torch.full_like(w, math.log(init_std)).requires_grad_(True)
    log_prior_std = torch.tensor(math.log(init_prior_std)).requires_grad_(True)
    opt = torch.optim.Adam([{"params": [mean], "lr": lr * mean_lr_factor},
                            {"params": [log_std, log_prior_std], "lr": lr}])
    sign = (2 * y - 1).float()
    log_terms = math.log(2 * math.sqrt(n) / delta) + math.log(len(PRIOR_STDS))
    for _ in range(steps):
        noise = torch.randn(n_draws, w.numel(), generator=generator)
        out = stochastic_outputs(model, mean + torch.exp(log_std) * noise, X)
        surrogate = F.softplus(-sign * out).mean() / math.log(2)
        kl = kl_diag_gaussians(mean, torch.exp(log_std), prior_mean, torch.exp(log_prior_std))
        objective = surrogate + torch.sqrt((kl + log_terms) / (2 * n))
        opt.zero_grad()
        objective.backward()
        opt.step()
    return mean.detach(), torch.exp(log_std).detach(), float(torch.exp(log_prior_std.detach()))


@torch.no_grad()
def _mc_error(model, mean, std, X, y, n_samples, chunk, generator):
    errors = []
    for start in range(0, n_samples, chunk):
        k = min(chunk, n_samples - start)
        w = mean + std * torch.randn(k, mean.numel(), generator=generator)
        errors.append(((stochastic_outputs(model, w, X) > 0).long() != y).float().mean(dim=1))
    return float(torch.cat(errors).mean())


def pac_bayes_certificate(model: nn.Module, mean: torch.Tensor, std: torch.Tensor,
                          prior_mean: torch.Tensor, X: torch.Tensor, y: torch.Tensor, *,
                          delta: float = 0.025, delta_mc: float = 0.01,
                          n_samples: int = 1000, X_test: torch.Tensor | None = None,
                          y_test: torch.Tensor | None = None,
                          generator: torch.Generator | None = None,
                          chunk: int = 100) -> PacBayesResult:
    """Certify the error of Q = N(mean, diag(std^2)) with the PAC-Bayes-kl bound.

    The prior is N(prior_mean, s^2 I) with s any value of the fixed grid
    :data:`PRIOR_STDS`; a union bound over the grid (ln of its size added to KL) lets us
    pick the s with the smallest KL after seeing the data. Q's training error is estimated
    from ``n_samples`` draws and replaced by its upper confidence limit
    (:func:`sample_convergence_bound` at ``delta_mc``); then
    ``bound = kl_inverse(that, (KL + ln(len(PRIOR_STDS)) + ln(2 sqrt(n) / delta)) / n)``,
    valid with probability at least 1 - delta - delta_mc.

    Examples
    --------
    >>> from utils.models import mlp
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(40, 2, generator=g); y = (X[:, 0] > 0).long()
    >>> net = mlp(2, [4], 1, generator=g)
    >>> w = flatten_parameters(net)
    >>> r = pac_bayes_certificate(net, w, torch.full_like(w, 0.1), w, X, y, n_samples=50,
    ...                           generator=g)
    >>> r.train_error_mc <= r.train_error_bound <= r.bound <= 1
    True
    """
    _mlp_layout(model)
    _check_binary(X, y)
    if (X_test is None) != (y_test is None):
        raise ValueError("give both X_test and y_test, or neither")
    if X_test is not None:
        _check_binary(X_test, y_test)
    if not (mean.shape == std.shape == prior_mean.shape) or mean.ndim != 1:
        raise ValueError("mean, std and prior_mean must be flat vectors of the same length")
    if not bool((std > 0).all()):
        raise ValueError("std must be positive everywhere")
    n_samples = check_int("n_samples", n_samples, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1)
    n = X.shape[0]
    kls = [kl_diag_gaussians(mean.double(), std.double(), prior_mean.double(),
                             torch.tensor(float(s), dtype=torch.float64)).item()
           for s in PRIOR_STDS]
    best = int(np.argmin(kls))
    kl = float(kls[best])
    train_mc = _mc_error(model, mean, std, X, y, n_samples, chunk, generator)
    train_up = sample_convergence_bound(train_mc, n_samples, delta_mc)
    bound = pac_bayes_kl_bound(train_up, kl + math.log(len(PRIOR_STDS)), n, delta)
    test_mc = (float("nan") if X_test is None else
               _mc_error(model, mean, std, X_test, y_test, n_samples, chunk, generator))
    return PacBayesResult(bound=bound, kl=kl, prior_std=float(PRIOR_STDS[best]),
                          train_error_mc=train_mc, train_error_bound=train_up,
                          test_error_mc=test_mc, n=n, n_samples=n_samples)
