"""Data: digits splits, label noise, and the synthetic data sets the chapters use.

Everything here is either shipped with scikit-learn (``load_digits``) or generated, so the
labs run offline. Generators take an ``rng`` (a ``numpy.random.Generator`` or an int seed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from ._validation import check_int, check_option, check_real, check_rng

__all__ = [
    "DataSplit",
    "load_digits_split",
    "load_binary_digits",
    "corrupt_labels",
    "gaussian_linear_regression",
    "two_moons_with_gap",
    "concentric_spheres",
    "to_tensors",
]

N_DIGIT_CLASSES = 10


@dataclass(frozen=True)
class DataSplit:
    """A train/validation/test split of features ``X_*`` and labels ``y_*`` (numpy arrays).

    Example
    -------
    >>> split = load_digits_split(seed=0)
    >>> split.X_train.shape[1], split.n_classes
    (64, 10)
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_classes(self) -> int:
        """Number of distinct labels over the three parts."""
        return int(np.unique(np.concatenate([self.y_train, self.y_val, self.y_test])).size)

    def tensors(self, part: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(X, y)`` of ``part`` ('train', 'val' or 'test') as torch tensors.

        Example
        -------
        >>> X, y = load_digits_split(seed=0).tensors("train")
        >>> X.dtype, y.dtype
        (torch.float32, torch.int64)
        """
        check_option("part", part, ("train", "val", "test"))
        return to_tensors(getattr(self, f"X_{part}"), getattr(self, f"y_{part}"))


def load_digits_split(val_size: float = 0.2, test_size: float = 0.2, seed: int = 0,
                      scale: str = "standard") -> DataSplit:
    """The 1,797 8x8 digit images of scikit-learn, split (stratified) and scaled.

    Parameters
    ----------
    val_size, test_size : float
        Fractions of the whole set for validation and test; each in [0, 1) and summing
        to less than 1. A fraction of 0 gives an empty part.
    seed : int
        Seed of the split (the split is the same for every run with this seed).
    scale : {'standard', 'unit', 'none'}
        'standard': zero mean and unit variance per pixel, with statistics from the training
        part only (so nothing leaks from test to train); 'unit': pixel values / 16 in [0, 1];
        'none': raw values 0..16.

    Example
    -------
    >>> s = load_digits_split(val_size=0.1, test_size=0.3, seed=1)
    >>> len(s.y_train) + len(s.y_val) + len(s.y_test)
    1797
    """
    val_size = check_real("val_size", val_size, 0.0, 1.0, high_open=True)
    test_size = check_real("test_size", test_size, 0.0, 1.0, high_open=True)
    if val_size + test_size >= 1.0:
        raise ValueError(f"val_size + test_size must be below 1, got {val_size + test_size:g}")
    check_int("seed", seed, minimum=0)
    check_option("scale", scale, ("standard", "unit", "none"))
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float64)
    X_train, X_val, X_test, y_train, y_val, y_test = _three_way_split(
        X, y, val_size, test_size, seed)
    if scale == "unit":
        X_train, X_val, X_test = X_train / 16.0, X_val / 16.0, X_test / 16.0
    elif scale == "standard":
        mean = X_train.mean(axis=0)
        std = X_train.std(axis=0)
        std[std == 0] = 1.0  # corner pixels are always blank: leave them at zero
        X_train, X_val, X_test = ((A - mean) / std for A in (X_train, X_val, X_test))
    return DataSplit(X_train, y_train, X_val, y_val, X_test, y_test)


def _three_way_split(X, y, val_size, test_size, seed):
    """Stratified train/val/test split; an empty part when its fraction is 0."""
    def split(X, y, frac, seed):
        if frac == 0:
            return X, X[:0], y, y[:0]
        return train_test_split(X, y, test_size=frac, random_state=seed, stratify=y)

    X_rest, X_test, y_rest, y_test = split(X, y, test_size, seed)
    X_train, X_val, y_train, y_val = split(X_rest, y_rest, val_size / (1 - test_size), seed + 1)
    return X_train, X_val, X_test, y_train, y_val, y_test


def load_binary_digits(threshold: int = 5, val_size: float = 0.2, test_size: float = 0.2,
                       seed: int = 0, scale: str = "standard") -> DataSplit:
    """Digits with binary labels: 1 if the digit is at least ``threshold``, else 0.

    With the default threshold this is the small-scale analogue of the "binary MNIST" task
    (digits 0-4 against 5-9) used by Dziugaite & Roy (2017) for non-vacuous PAC-Bayes bounds.

    Example
    -------
    >>> s = load_binary_digits(seed=0)
    >>> sorted(set(s.y_train.tolist()))
    [0, 1]
    """
    check_int("threshold", threshold, minimum=1, maximum=N_DIGIT_CLASSES - 1)
    split = load_digits_split(val_size=val_size, test_size=test_size, seed=seed, scale=scale)
    binary = {f"y_{p}": (getattr(split, f"y_{p}") >= threshold).astype(np.int64)
              for p in ("train", "val", "test")}
    return DataSplit(split.X_train, binary["y_train"], split.X_val, binary["y_val"],
                     split.X_test, binary["y_test"])


def corrupt_labels(y, p: float, n_classes: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Replace each label, with probability ``p``, by a uniformly random *incorrect* label.

    A corrupted label is never the true one, so exactly the flipped fraction is wrong
    (about ``p``) -- unlike "replace by a uniform label", which leaves 1/K of the draws right.

    Parameters
    ----------
    y : array of int, shape (n,)
        Labels in 0 .. n_classes - 1.
    p : float
        Corruption probability in [0, 1].
    n_classes : int
        Number of classes, at least 2.
    rng : numpy.random.Generator or int

    Returns
    -------
    y_noisy : ndarray of int64, shape (n,)
    flipped : ndarray of bool, shape (n,)
        Which labels were replaced.

    Example
    -------
    >>> y_noisy, flipped = corrupt_labels([0, 1, 2, 3], p=1.0, n_classes=4, rng=0)
    >>> bool((y_noisy != [0, 1, 2, 3]).all()), int(flipped.sum())
    (True, 4)
    """
    p = check_real("p", p, 0.0, 1.0)
    n_classes = check_int("n_classes", n_classes, minimum=2)
    rng = check_rng(rng)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {y.shape}")
    if y.size and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"y must hold integer labels in 0..{n_classes - 1}")
    flipped = rng.random(y.size) < p
    # An offset in 1..K-1 added modulo K gives each wrong label with probability 1/(K-1).
    offsets = rng.integers(1, n_classes, size=y.size)
    y_noisy = np.where(flipped, (y + offsets) % n_classes, y).astype(np.int64)
    return y_noisy, flipped


def gaussian_linear_regression(n: int, beta, sigma: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` pairs with x ~ N(0, I_d) and y = x . beta + sigma * noise, noise ~ N(0, 1).

    Parameters
    ----------
    n : int
        Number of samples (at least 1).
    beta : array of float, shape (d,)
        True coefficients; d is its length.
    sigma : float
        Noise standard deviation, at least 0.
    rng : numpy.random.Generator or int

    Example
    -------
    >>> X, y = gaussian_linear_regression(5, beta=[1.0, 1.0], sigma=0.0, rng=0)
    >>> X.shape, bool(np.allclose(y, X.sum(axis=1)))
    ((5, 2), True)
    """
    n = check_int("n", n, minimum=1)
    sigma = check_real("sigma", sigma, 0.0)
    rng = check_rng(rng)
    beta = np.asarray(beta, dtype=np.float64)
    if beta.ndim != 1 or beta.size == 0:
        raise ValueError(f"beta must be a non-empty 1-D array, got shape {beta.shape}")
    if not np.isfinite(beta).all():
        raise ValueError(f"beta must hold finite numbers, got {int((~np.isfinite(beta)).sum())} "
                         f"NaN or infinite value(s) in {beta!r}")
    X = rng.standard_normal((n, beta.size))
    y = X @ beta + sigma * rng.standard_normal(n)
    return X, y


def two_moons_with_gap(n: int, gap: float = 0.5, noise: float = 0.05,
                       rng=0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half-circles pulled apart vertically, leaving a straight gap.

    The toy of Pezeshki et al. (2021): the classes are separable by a curve that follows the
    moons and, because of the vertical shift, also by a horizontal line. Class 0 is the
    upper moon (cos t, sin t + s), class 1 the lower one (1 - cos t, 0.5 - sin t - s),
    t uniform in [0, pi], with s = 0.25 + gap / 2, plus Gaussian noise. Without noise the
    horizontal band between the moons has height ``gap``; ``gap = -0.5`` gives the usual
    overlapping moons (scikit-learn's ``make_moons``), which no line separates.

    Parameters
    ----------
    n : int
        Number of points, at least 2; classes get n // 2 and n - n // 2.
    gap : float
        Height of the empty horizontal band, at least -0.5.
    noise : float
        Standard deviation of the Gaussian noise, at least 0.
    rng : numpy.random.Generator or int

    Example
    -------
    >>> X, y = two_moons_with_gap(200, gap=0.4, noise=0.0, rng=0)
    >>> bool(X[y == 0, 1].min() - X[y == 1, 1].max() >= 0.4 - 1e-9)
    True
    """
    n = check_int("n", n, minimum=2)
    gap = check_real("gap", gap, -0.5)
    noise = check_real("noise", noise, 0.0)
    rng = check_rng(rng)
    n0 = n // 2
    n1 = n - n0
    shift = 0.25 + gap / 2
    t0 = rng.uniform(0, np.pi, n0)
    t1 = rng.uniform(0, np.pi, n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0) + shift])
    lower = np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1) - shift])
    X = np.vstack([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n0, dtype=np.int64), np.ones(n1, dtype=np.int64)])
    order = rng.permutation(n)
    return X[order], y[order]


def concentric_spheres(n: int, d: int, r_inner: float = 1.0, r_outer: float = 1.1,
                       rng=0) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform on one of two concentric spheres in R^d; the label says which.

    The task of Nagarajan & Kolter (2019): label 0 on the sphere of radius ``r_inner``,
    label 1 on radius ``r_outer``, each with probability 1/2. A direction uniform on the
    sphere is a standard Gaussian vector divided by its norm.

    Example
    -------
    >>> X, y = concentric_spheres(6, d=3, rng=0)
    >>> radii = np.linalg.norm(X, axis=1)
    >>> bool(np.allclose(radii, np.where(y == 0, 1.0, 1.1)))
    True
    """
    n = check_int("n", n, minimum=1)
    d = check_int("d", d, minimum=2)
    r_inner = check_real("r_inner", r_inner, 0.0, low_open=True)
    r_outer = check_real("r_outer", r_outer, 0.0, low_open=True)
    if r_outer <= r_inner:
        raise ValueError(f"r_outer must exceed r_inner, got {r_outer} <= {r_inner}")
    rng = check_rng(rng)
    directions = rng.standard_normal((n, d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    y = rng.integers(0, 2, size=n).astype(np.int64)
    radii = np.where(y == 0, r_inner, r_outer)
    return directions * radii[:, None], y


def to_tensors(X, y) -> tuple[torch.Tensor, torch.Tensor]:
    """Features as float32 and labels as int64 (integer labels) or float32 (real targets).

    Example
    -------
    >>> X, y = to_tensors(np.zeros((2, 3)), np.array([0, 1]))
    >>> tuple(X.shape), y.dtype
    ((2, 3), torch.int64)
    """
    X = np.asarray(X)
    y = np.asarray(y)
    for name, arr in (("X", X), ("y", y)):
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers, got values of dtype {arr.dtype} "
                            "(encode text labels as integers first, e.g. with np.unique(..., "
                            "return_inverse=True))")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (samples x features), got shape {X.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y must have the same number of rows, got {X.shape[0]} "
                         f"and {y.shape[0]}")
    y_dtype = torch.int64 if np.issubdtype(y.dtype, np.integer) else torch.float32
    return torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=y_dtype)
