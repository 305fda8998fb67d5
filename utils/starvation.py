"""Gradient starvation and simplicity bias: data, the spectral-decoupling penalty, measurements.

Used by Lab 4. The two-moons-with-a-gap data set lives in :mod:`utils.data`
(:func:`utils.data.two_moons_with_gap`); this module adds

- :func:`linear_slabs`: Shah et al.'s (2020) "linear + multi-slab" data, in which one
  linearly separable coordinate and several k-slab coordinates each predict the label fully;
- :func:`spectral_decoupling`: the penalty of Pezeshki et al. (2021) as a callable for the
  ``penalty`` hook of :func:`utils.training.train`;
- :func:`bisect_to_boundary`, :func:`distance_to_boundary` and :func:`margin`: how far the
  training points of a 2-D classifier sit from its decision boundary;
- :func:`randomize_coordinates` and :func:`randomization_test`: how much a trained model
  relies on a set of input coordinates, by breaking their link with the label at test time;
- :func:`agreement`, :func:`mutual_information` and :func:`explained_information`: how much
  of a network's behaviour a simpler (linear) classifier explains, after Kalimeris et al. (2019),
  and :func:`permute_within_class`, the null those measurements are read against;
- :func:`spectral_decoupling_margin`: the margin at which the penalty stops an example's
  logit, the root of sigma(-m) = lambda m;
- :func:`feature_responses`: the linearized model's response to each singular direction of
  the label-weighted feature matrix at the optimum, under spectral decoupling or weight decay,
  and :func:`feature_responses_gd`, the same responses after a finite number of gradient steps
  (with no penalty: plain training).
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import nn

from ._validation import check_int, check_real, check_rng
from .plotting import PALETTE

__all__ = [
    "linear_slabs",
    "spectral_decoupling",
    "score_function",
    "bisect_to_boundary",
    "distance_to_boundary",
    "margin",
    "plot_decision_boundary",
    "randomize_coordinates",
    "randomization_test",
    "agreement",
    "mutual_information",
    "explained_information",
    "permute_within_class",
    "spectral_decoupling_margin",
    "feature_responses",
    "feature_responses_gd",
]


# --- data ---------------------------------------------------------------------------------

def linear_slabs(n: int, n_slab_coords: int = 9, n_slabs: int = 5, linear_margin: float = 0.1,
                 slab_gap: float = 0.1, rng=0) -> tuple[np.ndarray, np.ndarray]:
    """Linear + multi-slab ("LMS") data: every coordinate alone predicts the label.

    After Shah et al. (2020). Labels are balanced coin flips, s = 2y - 1. Coordinate 0 is
    *linear*: s * U[linear_margin / 2, 1], so the sign of x_0 is the label and the classes are
    ``linear_margin`` apart. Each of the next ``n_slab_coords`` coordinates is a *k-slab*
    coordinate: [-1, 1] is cut into ``n_slabs`` slabs of width 2 / k, slab j (from the left,
    j = 0 .. k-1) belongs to class j mod 2, and a point is uniform in a randomly chosen slab
    of its class, keeping ``slab_gap / 2`` away from the slab's edges. A k-slab coordinate
    predicts the label perfectly too, but only through a piecewise (non-linear) rule.

    Parameters
    ----------
    n : int
        Number of points, at least 1.
    n_slab_coords : int
        Number of slab coordinates, at least 1 (the data has ``1 + n_slab_coords`` columns).
    n_slabs : int
        Slabs per slab coordinate, k >= 3 (k = 2 would be linear).
    linear_margin : float
        Gap between the classes on the linear coordinate, in [0, 2).
    slab_gap : float
        Empty space between neighbouring slabs, in [0, 2 / k).
    rng : numpy.random.Generator or int

    Returns
    -------
    X : ndarray, shape (n, 1 + n_slab_coords)
    y : ndarray of int64, shape (n,)

    Examples
    --------
    >>> X, y = linear_slabs(500, n_slab_coords=2, n_slabs=3, rng=0)
    >>> X.shape, bool(((X[:, 0] > 0) == (y == 1)).all())
    ((500, 3), True)
    >>> slab = np.floor((X[:, 1] + 1) / (2 / 3)).astype(int)   # which slab, 0..2
    >>> bool((slab % 2 == y).all())
    True
    """
    n = check_int("n", n, minimum=1)
    n_slab_coords = check_int("n_slab_coords", n_slab_coords, minimum=1)
    n_slabs = check_int("n_slabs", n_slabs, minimum=3)
    linear_margin = check_real("linear_margin", linear_margin, 0.0, 2.0, high_open=True)
    width = 2.0 / n_slabs
    slab_gap = check_real("slab_gap", slab_gap, 0.0, width, high_open=True)
    rng = check_rng(rng)
    y = rng.integers(0, 2, size=n).astype(np.int64)
    s = 2 * y - 1
    columns = [s * rng.uniform(linear_margin / 2, 1.0, size=n)]
    n_even = (n_slabs + 1) // 2   # slabs 0, 2, 4, ...: class 0
    n_odd = n_slabs // 2          # slabs 1, 3, ...: class 1
    for _ in range(n_slab_coords):
        slab = np.where(y == 0, 2 * rng.integers(0, n_even, size=n),
                        2 * rng.integers(0, n_odd, size=n) + 1)
        low = -1.0 + slab * width + slab_gap / 2
        columns.append(low + rng.uniform(0.0, width - slab_gap, size=n))
    return np.column_stack(columns), y


# --- spectral decoupling ------------------------------------------------------------------

def spectral_decoupling(lam: float, gamma: float = 0.0) -> Callable[[nn.Module, torch.Tensor],
                                                                     torch.Tensor]:
    """The spectral-decoupling penalty of Pezeshki et al. (2021), for ``train(penalty=...)``.

    Returns ``penalty(model, outputs) = lam / 2 * mean_i ||outputs_i - gamma||^2``: the
    squared logits (squared norm over output units, averaged over the examples of the batch,
    like the loss itself), pulled towards ``gamma``. ``gamma = 0`` is the plain form
    lambda/2 ||y_hat||^2; a non-zero ``gamma`` is the paper's variant lambda/2 ||y_hat - gamma||^2,
    here with one scalar target for every output (the paper also lets lambda and gamma depend
    on the class). The model argument is unused: the penalty acts on the outputs only, which
    is what distinguishes it from weight decay.

    Parameters
    ----------
    lam : float
        Strength lambda, at least 0 (0 gives a penalty that is always zero).
    gamma : float
        Target value of the logits.

    Returns
    -------
    callable
        ``penalty(model, outputs) -> scalar tensor``.

    Examples
    --------
    >>> pen = spectral_decoupling(0.5)
    >>> pen(None, torch.tensor([[2.0], [0.0]])).item()   # 0.5 / 2 * mean(4, 0)
    0.5
    >>> spectral_decoupling(1.0, gamma=1.0)(None, torch.tensor([[3.0, 1.0]])).item()
    2.0
    """
    lam = check_real("lam", lam, 0.0)
    gamma = check_real("gamma", gamma)

    def penalty(model: nn.Module, outputs: torch.Tensor) -> torch.Tensor:
        if not isinstance(outputs, torch.Tensor):
            raise TypeError(f"outputs must be a torch tensor, got {type(outputs).__name__}")
        out = outputs.reshape(outputs.shape[0], -1)
        return 0.5 * lam * ((out - gamma) ** 2).sum(dim=1).mean()

    penalty.__name__ = f"spectral_decoupling(lam={lam:g}, gamma={gamma:g})"
    return penalty


# --- margins of 2-D classifiers -----------------------------------------------------------

_CHUNK = 8192  # rows per forward pass when scoring many points

def score_function(model) -> Callable[[np.ndarray], np.ndarray]:
    """Turn a classifier into ``score(X) -> real array``, positive where it predicts class 1.

    A torch module with one output gives that output (a logit); with two outputs, the
    difference output[1] - output[0]. A plain callable is assumed to be a score already.

    Examples
    --------
    >>> net = torch.nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[1.0, 0.0]])); _ = net.bias.zero_()
    >>> score_function(net)(np.array([[2.0, 5.0], [-1.0, 0.0]]))
    array([ 2., -1.])
    """
    if isinstance(model, nn.Module):
        def score(X: np.ndarray) -> np.ndarray:
            was_training = model.training
            model.eval()
            X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
            with torch.no_grad():  # in chunks, so a fine grid through a wide net stays small
                out = torch.cat([model(X[i:i + _CHUNK]) for i in range(0, len(X), _CHUNK)]) \
                    if len(X) else model(X)
            model.train(was_training)
            if out.ndim == 1 or out.shape[1] == 1:
                return out.reshape(-1).double().numpy()
            if out.shape[1] == 2:
                return (out[:, 1] - out[:, 0]).double().numpy()
            raise ValueError(f"the model must have 1 or 2 outputs, got {out.shape[1]}")
        return score
    if callable(model):
        return lambda X: np.asarray(model(np.asarray(X)), dtype=float).reshape(-1)
    raise TypeError(f"model must be a torch module or a callable, got {type(model).__name__}")


def _check_points(X, name: str = "X") -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty array of 2-D points, shape (n, 2), "
                         f"got {X.shape}")
    return X


def bisect_to_boundary(score, X, targets, steps: int = 30) -> np.ndarray:
    """Where the segment from each point of ``X`` to its target first changes class.

    For each i, the predicted class at ``X[i]`` and at ``targets[i]`` must differ; bisection
    on t in [0, 1] keeps ``X[i] + t (targets[i] - X[i])`` in the class of ``X[i]`` at the
    lower end and in the other class at the upper end, and returns the upper end after
    ``steps`` halvings: a point of the other class within 2**-steps of the segment's length
    from the boundary.

    Parameters
    ----------
    score : torch module or callable
        See :func:`score_function`.
    X, targets : array, shape (n, 2)
    steps : int
        Number of halvings, at least 1.

    Returns
    -------
    ndarray, shape (n,)
        The crossing parameter t_i in (0, 1].

    Examples
    --------
    >>> t = bisect_to_boundary(lambda P: P[:, 0] - 0.25, [[0.0, 0.0]], [[1.0, 0.0]])
    >>> round(float(t[0]), 6)
    0.25
    """
    X = _check_points(X)
    targets = _check_points(targets, "targets")
    if targets.shape != X.shape:
        raise ValueError(f"targets must have the shape of X {X.shape}, got {targets.shape}")
    steps = check_int("steps", steps, minimum=1)
    score = score_function(score)
    side = score(X) > 0
    if ((score(targets) > 0) == side).any():
        raise ValueError("each target must be predicted in the other class than its point")
    low = np.zeros(len(X))
    high = np.ones(len(X))
    for _ in range(steps):
        mid = (low + high) / 2
        same = (score(X + mid[:, None] * (targets - X)) > 0) == side
        low = np.where(same, mid, low)
        high = np.where(same, high, mid)
    return high


def distance_to_boundary(score, X, resolution: int = 300, pad: float = 0.5,
                         steps: int = 30) -> np.ndarray:
    """Distance from each 2-D point to the decision boundary of ``score``.

    How: evaluate the classifier on a ``resolution`` x ``resolution`` grid over the points'
    bounding box widened by ``pad``; for each point, take the nearest grid point predicted in
    the other class (a k-d tree), and locate the class change on the segment between them by
    bisection (:func:`bisect_to_boundary`). The distance to that crossing is an upper bound
    on the true distance, and exceeds it by at most about one grid spacing where the boundary
    is smooth at the grid's scale (exact for a straight boundary up to the grid spacing).

    Parameters
    ----------
    score : torch module or callable
        See :func:`score_function`.
    X : array, shape (n, 2)
    resolution : int
        Grid points per axis, at least 10.
    pad : float
        How far the grid extends beyond the points, > 0.
    steps : int
        Bisection halvings, at least 1.

    Returns
    -------
    ndarray, shape (n,)
        Distances; ``inf`` for every point if the grid holds only one predicted class.

    Examples
    --------
    >>> d = distance_to_boundary(lambda P: P[:, 1] - 0.5, [[0.0, 0.0], [1.0, 2.0]])
    >>> np.round(d, 4)
    array([0.5, 1.5])
    """
    X = _check_points(X)
    resolution = check_int("resolution", resolution, minimum=10)
    pad = check_real("pad", pad, 0.0, low_open=True)
    fn = score_function(score)
    low, high = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx = np.linspace(low[0], high[0], resolution)
    gy = np.linspace(low[1], high[1], resolution)
    grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    grid_side = fn(grid) > 0
    side = fn(X) > 0
    if grid_side.all() or not grid_side.any():
        return np.full(len(X), np.inf)
    targets = np.empty_like(X)
    for cls in (False, True):
        mine = side == cls
        if mine.any():
            other = grid[grid_side != cls]
            _, idx = cKDTree(other).query(X[mine])
            targets[mine] = other[idx]
    t = bisect_to_boundary(fn, X, targets, steps=steps)
    return t * np.linalg.norm(targets - X, axis=1)


def margin(score, X, y, **kwargs) -> float:
    """The smallest signed distance from the points ``X`` to the decision boundary.

    Each point contributes its distance (:func:`distance_to_boundary`) if the classifier
    puts it in its class ``y`` (1 where the score is positive), minus that distance if not;
    the margin is the minimum, so it is negative as soon as one point is misclassified.

    Parameters
    ----------
    score : torch module or callable
    X : array, shape (n, 2)
    y : array of 0/1, shape (n,)
    **kwargs
        Passed on to :func:`distance_to_boundary` (resolution, pad, steps).

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [0.0, 2.0]])
    >>> round(margin(lambda P: P[:, 1] - 0.5, X, [0, 1]), 4)
    0.5
    >>> round(margin(lambda P: P[:, 1] - 0.5, X, [1, 1]), 4)
    -0.5
    """
    X = _check_points(X)
    y = np.asarray(y)
    if y.shape != (len(X),) or not np.isin(y, (0, 1)).all():
        raise ValueError(f"y must hold one 0/1 label per point ({len(X)}), got shape {y.shape}")
    fn = score_function(score)
    scores = np.asarray(fn(X))
    if scores.shape != (len(X),):
        raise ValueError(f"score must return one number per point ({len(X)}), got shape "
                         f"{scores.shape}")
    d = distance_to_boundary(fn, X, **kwargs)
    right = (scores > 0) == (y == 1)
    return float(np.where(right, d, -d).min())


def plot_decision_boundary(ax, score, X, y, resolution: int = 200, pad: float = 0.5,
                           show_margin: bool = True):
    """Draw a 2-D classifier's regions and boundary, the points, and (optionally) its margin.

    Regions are shaded in the palette's first two colours (class 0, class 1), the boundary is
    a black line, and with ``show_margin`` a dashed circle of radius :func:`margin` is drawn
    around the point closest to the boundary. Returns that margin (NaN without it).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> X = np.array([[0.0, 0.0], [0.0, 2.0]])
    >>> round(plot_decision_boundary(ax, lambda P: P[:, 1] - 0.5, X, [0, 1]), 3)
    0.5
    >>> plt.close(fig)
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Circle

    X = _check_points(X)
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise ValueError(f"y must hold one label per point ({len(X)}), got shape {y.shape}")
    resolution = check_int("resolution", resolution, minimum=10)
    fn = score_function(score)
    low, high = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx = np.linspace(low[0], high[0], resolution)
    gy = np.linspace(low[1], high[1], resolution)
    GX, GY = np.meshgrid(gx, gy)
    S = fn(np.column_stack([GX.ravel(), GY.ravel()])).reshape(GX.shape)
    ax.contourf(GX, GY, (S > 0).astype(float), levels=[-0.5, 0.5, 1.5],
                cmap=ListedColormap([PALETTE[0], PALETTE[1]]), alpha=0.18)
    if S.min() < 0 < S.max():
        ax.contour(GX, GY, S, levels=[0.0], colors="black", linewidths=1.2)
    for cls, marker in ((0, "o"), (1, "^")):
        pts = X[y == cls]
        ax.scatter(pts[:, 0], pts[:, 1], s=10, marker=marker, color=PALETTE[cls],
                   edgecolors="none", label=f"class {cls}")
    ax.set_aspect("equal")
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    if not show_margin:
        return float("nan")
    d = distance_to_boundary(fn, X, pad=pad)
    right = (fn(X) > 0) == (y == 1)
    signed = np.where(right, d, -d)
    i = int(np.argmin(signed))
    if np.isfinite(d[i]):
        ax.add_patch(Circle(tuple(X[i]), d[i], fill=False, linestyle="--", color="black",
                            linewidth=1.0))
    return float(signed[i])


# --- randomization test -------------------------------------------------------------------

def randomize_coordinates(X, coords: Sequence[int], rng) -> np.ndarray:
    """A copy of ``X`` in which the columns ``coords`` are shuffled across examples.

    One permutation, ``rng.permutation(len(X))``, is applied to the rows of the block
    ``X[:, coords]`` (the same for every column of the block), so the block keeps its joint
    distribution but loses any link with the label and with the other coordinates.

    Parameters
    ----------
    X : array, shape (n, d)
    coords : sequence of int
        Distinct column indices in 0 .. d-1 (may be empty: then X is returned unchanged).
    rng : numpy.random.Generator or int

    Examples
    --------
    >>> X = np.arange(8.0).reshape(4, 2)
    >>> Z = randomize_coordinates(X, [1], rng=0)
    >>> bool((Z[:, 0] == X[:, 0]).all()), sorted(Z[:, 1]) == sorted(X[:, 1])
    (True, True)
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (examples x coordinates), got shape {X.shape}")
    coords = [check_int("each coordinate", c, minimum=0, maximum=X.shape[1] - 1)
              for c in coords]
    if len(set(coords)) != len(coords):
        raise ValueError(f"coords must be distinct, got {coords}")
    rng = check_rng(rng)
    Z = X.copy()
    perm = rng.permutation(len(X))
    Z[:, coords] = X[perm][:, coords]
    return Z


def randomization_test(model, X, y, groups: Mapping[str, Sequence[int]], rng,
                       n_repeats: int = 1) -> dict[str, float]:
    """Accuracy of ``model`` on ``(X, y)`` as is, and with each group of coordinates shuffled.

    Parameters
    ----------
    model : torch module or callable
        A torch module (classes by argmax of its outputs, or by the sign of a single output)
        or a callable returning predicted labels for a numpy array.
    X : array, shape (n, d)
    y : array of int, shape (n,)
    groups : dict of name -> sequence of int
        The coordinate sets to randomize, one at a time (see :func:`randomize_coordinates`).
    rng : numpy.random.Generator or int
    n_repeats : int
        Shuffles per group, at least 1; the accuracy is their mean.

    Returns
    -------
    dict
        ``{"none": accuracy on X, name: accuracy with that group shuffled, ...}``.

    Examples
    --------
    >>> X = np.column_stack([np.linspace(-1, 1, 200), np.zeros(200)]); y = (X[:, 0] > 0)
    >>> acc = randomization_test(lambda A: A[:, 0] > 0, X, y.astype(int),
    ...                          {"first": [0], "second": [1]}, rng=0)
    >>> acc["none"], acc["second"], acc["first"] < 0.7
    (1.0, 1.0, True)
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (len(X),):
        raise ValueError(f"X must be 2-D and y hold one label per row, got shapes {X.shape} "
                         f"and {y.shape}")
    if not isinstance(groups, Mapping) or not groups:
        error = ValueError if isinstance(groups, Mapping) else TypeError
        raise error("groups must be a non-empty dict of name -> coordinate indices")
    if "none" in groups:
        raise ValueError("'none' is reserved for the unshuffled accuracy; rename that group")
    n_repeats = check_int("n_repeats", n_repeats, minimum=1)
    rng = check_rng(rng)
    predict = _predict_function(model)
    result = {"none": float((predict(X) == y).mean())}
    for name, coords in groups.items():
        accs = [(predict(randomize_coordinates(X, coords, rng)) == y).mean()
                for _ in range(n_repeats)]
        result[name] = float(np.mean(accs))
    return result


def _predict_function(model) -> Callable[[np.ndarray], np.ndarray]:
    if isinstance(model, nn.Module):
        def predict(A):
            was_training = model.training
            model.eval()
            with torch.no_grad():
                out = model(torch.as_tensor(np.asarray(A), dtype=torch.float32))
            model.train(was_training)
            if out.ndim == 1 or out.shape[1] == 1:
                return (out.reshape(-1) > 0).long().numpy()
            return out.argmax(dim=1).numpy()
        return predict
    if callable(model):
        return lambda A: np.asarray(model(np.asarray(A))).astype(np.int64).reshape(-1)
    raise TypeError(f"model must be a torch module or a callable, got {type(model).__name__}")


# --- how much a simple classifier explains ------------------------------------------------

def _labels(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of labels, got shape {a.shape}")
    return a


def agreement(a, b, mask=None) -> float:
    """Fraction of examples on which two label vectors agree, optionally within ``mask``.

    Examples
    --------
    >>> agreement([0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    >>> agreement([0, 1, 1, 0], [0, 1, 0, 0], mask=[False, False, True, True])
    0.5
    """
    a = _labels("a", a)
    b = _labels("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")
    if mask is None:
        return float((a == b).mean())
    mask = np.asarray(mask)
    if mask.shape != a.shape or mask.dtype != bool:
        raise ValueError(f"mask must be a boolean array of length {a.size}")
    if not mask.any():
        raise ValueError("mask selects no example: agreement is undefined")
    return float((a[mask] == b[mask]).mean())


def mutual_information(a, b) -> float:
    """Plug-in mutual information I(A; B), in nats, of two discrete label vectors.

    I(A; B) = sum_{u,v} p(u,v) log(p(u,v) / (p(u) p(v))), with the empirical frequencies.

    Examples
    --------
    >>> round(mutual_information([0, 0, 1, 1], [0, 0, 1, 1]), 4)   # log 2
    0.6931
    >>> mutual_information([0, 1, 0, 1], [0, 0, 1, 1])
    0.0
    """
    a = _labels("a", a)
    b = _labels("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")
    for name, labels in (("a", a), ("b", b)):
        # np.unique would count every NaN as one more class, and the result would look fine.
        if labels.dtype.kind in "fc" and not np.isfinite(labels).all():
            raise ValueError(f"{name} holds {int((~np.isfinite(labels)).sum())} NaN or infinite "
                             "value(s); labels must be discrete values (integers or strings): "
                             "drop the examples whose label is missing")
        if labels.dtype.kind in "fc" and not np.all(labels == np.round(labels.real)):
            raise ValueError(f"{name} holds non-integer numbers (e.g. "
                             f"{labels[labels != np.round(labels.real)][0]!r}); labels must be "
                             "discrete values such as class indices or predicted classes")
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    joint = np.zeros((ia.max() + 1, ib.max() + 1))
    np.add.at(joint, (ia, ib), 1.0)
    joint /= a.size
    pa = joint.sum(axis=1, keepdims=True)
    pb = joint.sum(axis=0, keepdims=True)
    nz = joint > 0
    value = float((joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum())
    return max(value, 0.0)


def explained_information(f, l, y) -> float:
    """Kalimeris et al.'s mu_Y(F; L) = I(F; L) - I(F; L | Y): what L explains of F about Y.

    F and L are two classifiers' predictions and Y the true labels. I(F; L) counts all the
    ways F and L agree; I(F; L | Y) (the mean over classes y of I(F; L) among examples with
    Y = y) counts their agreement beyond the label, such as shared mistakes. The difference
    is the part of F's information about Y that L accounts for; it equals I(F; Y) when
    L = F, and is about 0 when L is independent of F and Y. All terms are plug-in
    estimates (nats).

    Examples
    --------
    >>> f = np.array([0, 1, 1, 0, 1, 0]); y = np.array([0, 1, 1, 0, 0, 0])
    >>> bool(np.isclose(explained_information(f, f, y), mutual_information(f, y)))
    True
    """
    f = _labels("f", f)
    l = _labels("l", l)  # noqa: E741 (the paper's name)
    y = _labels("y", y)
    if not f.shape == l.shape == y.shape:
        raise ValueError(f"f, l and y must have the same length, got {f.size}, {l.size}, "
                         f"{y.size}")
    conditional = 0.0
    for cls in np.unique(y):
        inside = y == cls
        conditional += inside.mean() * mutual_information(f[inside], l[inside])
    return mutual_information(f, l) - conditional


def permute_within_class(f, y, rng) -> np.ndarray:
    """A copy of the predictions ``f`` shuffled among the examples of each true class.

    The null for "how much does a classifier L explain of F": the shuffled predictions have
    exactly F's confusion table with the labels (so the same accuracy per class and the same
    I(F; Y)), but *which* examples of a class F gets wrong is now random, so any link between
    F and L beyond what the label explains is gone. :func:`explained_information` of the
    shuffled predictions is what mu_Y(F; L) would be by chance at F's accuracy.

    Parameters
    ----------
    f : array of labels, shape (n,)
        Predictions.
    y : array of labels, shape (n,)
        True labels.
    rng : numpy.random.Generator or int

    Examples
    --------
    >>> f = np.array([0, 0, 1, 1, 1, 0]); y = np.array([0, 0, 0, 1, 1, 1])
    >>> g = permute_within_class(f, y, rng=0)
    >>> [int((g[y == c] != c).sum()) for c in (0, 1)]   # errors per class are kept
    [1, 1]
    """
    f = _labels("f", f)
    y = _labels("y", y)
    if f.shape != y.shape:
        raise ValueError(f"f and y must have the same length, got {f.size} and {y.size}")
    rng = check_rng(rng)
    out = f.copy()
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        out[idx] = f[idx[rng.permutation(idx.size)]]
    return out


def spectral_decoupling_margin(lam: float) -> float:
    """The margin m* > 0 that minimizes log(1 + e^{-m}) + lam/2 m^2: the root of sigma(-m) = lam m.

    If a model could set one example's logit freely, spectral decoupling with strength ``lam``
    would stop it at margin m*; for a linear model on data whose label-weighted feature
    matrix has rank 1 (every example s (s_1, s_2)), gradient descent with the penalty
    converges to that common margin. Solved by bisection (the left side falls, the right
    rises, so the root is unique).

    Parameters
    ----------
    lam : float
        Strength lambda > 0.

    Examples
    --------
    >>> round(spectral_decoupling_margin(0.01), 2), round(spectral_decoupling_margin(0.1), 2)
    (3.36, 1.63)
    """
    lam = check_real("lam", lam, 0.0, low_open=True)
    low, high = 0.0, 1.0 / lam        # g(m) = sigma(-m) - lam m: g(0) = 1/2 > 0, g(1/lam) < 0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if 1.0 / (1.0 + np.exp(mid)) > lam * mid:
            low = mid
        else:
            high = mid
    return 0.5 * (low + high)


def _check_toy(U, strengths) -> tuple[np.ndarray, np.ndarray]:
    """The toy's directions and strengths as float arrays, checked: U an (n, r) array with
    orthonormal columns, one positive finite strength per column."""
    U = np.asarray(U, dtype=float)
    if U.ndim != 2 or U.shape[1] == 0 or U.shape[1] > U.shape[0]:
        raise ValueError(f"U must be an (n, r) array with 1 <= r <= n, got shape {U.shape}")
    if not np.allclose(U.T @ U, np.eye(U.shape[1]), atol=1e-8):
        raise ValueError("U must have orthonormal columns (U^T U = I)")
    s = np.asarray(strengths, dtype=float)
    if s.shape != (U.shape[1],) or not np.all(np.isfinite(s)) or (s <= 0).any():
        raise ValueError(f"strengths must be {U.shape[1]} positive numbers, one per column "
                         f"of U, got {strengths!r}")
    return U, s


def feature_responses(U, strengths, lam: float, penalty: str = "sd", tol: float = 1e-12,
                      max_iter: int = 200) -> np.ndarray:
    """Responses to each feature direction at the optimum of a penalized linear model.

    The linearized model of Pezeshki et al. (2021): outputs y_hat = Phi theta on fixed
    features, labels s_i = +-1, and the label-weighted feature matrix
    Y Phi = U diag(strengths) V^T (its singular value decomposition; V drops out). The
    margins are m = Y Phi theta = U z with z = diag(strengths) V^T theta, the *responses*
    to the feature directions. This function minimizes

        mean_i log(1 + exp(-m_i)) + lam / 2 * mean_i m_i^2     (``penalty="sd"``), or
        mean_i log(1 + exp(-m_i)) + lam / 2 * ||theta||^2      (``penalty="wd"``, ridge),

    over theta in the span of V (where gradient descent from 0 stays) by damped Newton steps,
    and returns z. When ``U`` is square (Y Phi has full row rank, n <= p, as in the NTK regime)
    every margin is free, so spectral decoupling sets each to m* (see
    :func:`spectral_decoupling_margin`) and z = m* U^T 1, whatever the strengths; under the
    ridge penalty the strengths couple the responses (gradient starvation).

    Parameters
    ----------
    U : array, shape (n, r)
        Orthonormal columns (U^T U = I), r <= n: how the examples load on the directions.
    strengths : array, shape (r,)
        Singular values, > 0.
    lam : float
        Penalty strength > 0.
    penalty : {"sd", "wd"}
    tol : float
        Stop when the gradient's largest entry is below this, > 0.
    max_iter : int
        At most this many Newton steps, at least 1.

    Returns
    -------
    ndarray, shape (r,)

    Examples
    --------
    >>> U = np.array([[np.sqrt(0.75), -0.5], [0.5, np.sqrt(0.75)]])
    >>> z = feature_responses(U, [4.0, 2.0], lam=0.01)
    >>> bool(np.allclose(z, spectral_decoupling_margin(0.01) * U.T @ np.ones(2)))
    True
    """
    U, s = _check_toy(U, strengths)
    lam = check_real("lam", lam, 0.0, low_open=True)
    if penalty not in ("sd", "wd"):
        raise ValueError(f"penalty must be 'sd' or 'wd', got {penalty!r}")
    # below 1e-15 float64 cannot see convergence; the cap on max_iter keeps a call bounded
    tol = check_real("tol", tol, 1e-15)
    max_iter = check_int("max_iter", max_iter, minimum=1, maximum=100_000)
    n = U.shape[0]
    A = U * s                                   # m = A w, with w = V^T theta

    def objective(w):
        m = A @ w
        pen = lam / 2 * (np.mean(m ** 2) if penalty == "sd" else w @ w)
        return np.mean(np.logaddexp(0.0, -m)) + pen

    w = np.zeros(len(s))
    for _ in range(max_iter):
        m = A @ w
        p = 1.0 / (1.0 + np.exp(m))             # sigma(-m)
        if penalty == "sd":
            grad = A.T @ (-p + lam * m) / n
            hess = A.T @ (A * (p * (1 - p) + lam)[:, None]) / n
        else:
            grad = A.T @ (-p) / n + lam * w
            hess = A.T @ (A * (p * (1 - p))[:, None]) / n + lam * np.eye(len(s))
        if np.abs(grad).max() < tol:
            break
        step = np.linalg.solve(hess, grad)
        t, f0 = 1.0, objective(w)
        while objective(w - t * step) > f0 - 1e-4 * t * grad @ step and t > 1e-10:
            t /= 2                              # backtracking (Armijo)
        w = w - t * step
    return s * w


def feature_responses_gd(U, strengths, steps: int, lr: float = 0.1, lam: float = 0.0,
                         penalty: str = "none") -> np.ndarray:
    """Responses to each feature direction after ``steps`` steps of full-batch gradient descent.

    The model of :func:`feature_responses` (margins m = U z, z = diag(strengths) V^T theta),
    trained from theta = 0 on mean_i log(1 + exp(-m_i)) plus, if asked, the same penalty:
    ``penalty="none"`` is plain training (no fixed point: the margins grow for ever, so the
    responses depend on ``steps``), ``"sd"`` and ``"wd"`` add spectral decoupling or the ridge
    term with strength ``lam``. Pezeshki et al.'s Figure-6 script sums the loss over its two
    examples with learning rate 0.05, which is ``lr=0.1`` here.

    Parameters
    ----------
    U : array, shape (n, r)
        Orthonormal columns (U^T U = I), r <= n.
    strengths : array, shape (r,)
        Singular values, > 0.
    steps : int
        Number of gradient steps, >= 0.
    lr : float
        Learning rate, > 0.
    lam : float
        Penalty strength, >= 0 (must be > 0 for "sd" and "wd", and 0 for "none").
    penalty : {"none", "sd", "wd"}

    Returns
    -------
    ndarray, shape (r,)

    Examples
    --------
    >>> U = np.array([[np.sqrt(0.75), -0.5], [0.5, np.sqrt(0.75)]])
    >>> weak = [feature_responses_gd(U, [s1, 2.0], steps=5000)[1] for s1 in (2.0, 6.0)]
    >>> bool(weak[1] < 0.7 * weak[0])      # the weak response falls as the strong one grows
    True
    """
    U, s = _check_toy(U, strengths)
    steps = check_int("steps", steps, minimum=0, maximum=1_000_000)
    lr = check_real("lr", lr, 0.0, low_open=True)
    lam = check_real("lam", lam, 0.0)
    if penalty not in ("none", "sd", "wd"):
        raise ValueError(f"penalty must be 'none', 'sd' or 'wd', got {penalty!r}")
    if (penalty == "none") != (lam == 0.0):
        raise ValueError(f"lam must be 0 exactly when penalty is 'none', got lam={lam} with "
                         f"penalty={penalty!r}")
    n = U.shape[0]
    A = U * s                                   # m = A w, with w = V^T theta
    w = np.zeros(len(s))
    for _ in range(steps):
        m = A @ w
        grad = A.T @ (-1.0 / (1.0 + np.exp(m))) / n
        if penalty == "sd":
            grad = grad + lam * A.T @ m / n
        elif penalty == "wd":
            grad = grad + lam * w
        w = w - lr * grad
    return s * w
