import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from utils.data import (DataSplit, concentric_spheres, corrupt_labels,
                        gaussian_linear_regression, load_binary_digits, load_digits_split,
                        to_tensors, two_moons_with_gap)


# --- digits ---------------------------------------------------------------------------

def test_digits_split_keeps_every_image_exactly_once():
    s = load_digits_split(val_size=0.2, test_size=0.2, seed=0, scale="none")
    X_all, _ = load_digits(return_X_y=True)
    parts = np.vstack([s.X_train, s.X_val, s.X_test])
    assert parts.shape == X_all.shape
    # Same multiset of rows: sort rows lexicographically and compare.
    assert np.array_equal(parts[np.lexsort(parts.T)], X_all[np.lexsort(X_all.T)])
    assert len(s.y_val) == pytest.approx(0.2 * 1797, abs=2)
    assert len(s.y_test) == pytest.approx(0.2 * 1797, abs=2)


def test_digits_split_is_stratified_and_reproducible():
    a = load_digits_split(seed=3)
    b = load_digits_split(seed=3)
    assert np.array_equal(a.X_train, b.X_train)
    train_share = np.bincount(a.y_train) / len(a.y_train)
    test_share = np.bincount(a.y_test) / len(a.y_test)
    assert np.abs(train_share - test_share).max() < 0.01
    assert not np.array_equal(a.y_train, load_digits_split(seed=4).y_train)


def test_standard_scaling_uses_training_statistics_only():
    s = load_digits_split(seed=0, scale="standard")
    raw = load_digits_split(seed=0, scale="none")
    varying = raw.X_train.std(axis=0) > 0
    assert np.allclose(s.X_train[:, varying].mean(axis=0), 0, atol=1e-9)
    assert np.allclose(s.X_train[:, varying].std(axis=0), 1)
    # The test part is transformed with the training mean and std, not its own.
    mean, std = raw.X_train.mean(axis=0), raw.X_train.std(axis=0)
    assert np.allclose(s.X_test[:, varying], (raw.X_test[:, varying] - mean[varying]) / std[varying])


def test_unit_scaling_and_tensors():
    s = load_digits_split(seed=0, scale="unit")
    assert s.X_train.min() >= 0 and s.X_train.max() <= 1
    X, y = s.tensors("test")
    assert X.dtype == torch.float32 and y.dtype == torch.int64 and len(X) == len(s.y_test)
    assert s.n_classes == 10


def test_zero_validation_fraction_gives_empty_part():
    s = load_digits_split(val_size=0.0, test_size=0.3)
    assert len(s.y_val) == 0 and s.X_val.shape == (0, 64)


@pytest.mark.parametrize("kwargs, match", [
    ({"val_size": 0.6, "test_size": 0.5}, "below 1"),
    ({"val_size": -0.1}, r"val_size must be in \[0, 1\)"),
    ({"scale": "minmax"}, "scale must be one of"),
    ({"seed": -2}, "seed must be at least 0"),
])
def test_digits_split_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_digits_split(**kwargs)


def test_tensors_rejects_unknown_part():
    with pytest.raises(ValueError, match="part must be one of"):
        load_digits_split().tensors("validation")


def test_binary_digits_threshold():
    s = load_binary_digits(threshold=5, seed=0)
    full = load_digits_split(seed=0)
    assert np.array_equal(s.y_train, (full.y_train >= 5).astype(int))
    assert isinstance(s, DataSplit) and s.n_classes == 2
    with pytest.raises(ValueError, match="threshold must be at most 9"):
        load_binary_digits(threshold=10)


# --- label noise ----------------------------------------------------------------------

def test_corrupt_labels_never_keeps_a_flipped_label_and_is_uniform():
    y = np.repeat(np.arange(10), 5000)
    noisy, flipped = corrupt_labels(y, p=0.3, n_classes=10, rng=0)
    assert np.array_equal(noisy != y, flipped)           # flipped <=> changed
    assert flipped.mean() == pytest.approx(0.3, abs=0.01)
    # Among flipped labels of class 0, each of the 9 other labels is about equally likely.
    counts = np.bincount(noisy[(y == 0) & flipped], minlength=10)
    assert counts[0] == 0
    expected = counts[1:].sum() / 9
    assert np.all(np.abs(counts[1:] - expected) < 5 * np.sqrt(expected))


def test_corrupt_labels_extremes():
    y = np.array([0, 1, 2, 1])
    assert np.array_equal(corrupt_labels(y, 0.0, 3, rng=1)[0], y)
    assert np.all(corrupt_labels(y, 1.0, 3, rng=1)[0] != y)


@pytest.mark.parametrize("args, match", [
    (([0, 1], 1.5, 2), r"p must be in \[0, 1\]"),
    (([0, 1], 0.1, 1), "n_classes must be at least 2"),
    (([0, 5], 0.1, 3), "labels in 0..2"),
    (([[0, 1]], 0.1, 2), "one-dimensional"),
])
def test_corrupt_labels_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        corrupt_labels(*args, rng=0)


def test_corrupt_labels_rejects_bad_rng():
    with pytest.raises(TypeError, match="rng must be"):
        corrupt_labels([0, 1], 0.1, 2, rng="seed")


# --- synthetic generators -------------------------------------------------------------

def test_gaussian_linear_regression_statistics():
    beta = np.array([1.0, -2.0, 0.5])
    X, y = gaussian_linear_regression(20000, beta, sigma=0.3, rng=0)
    assert np.allclose(np.cov(X.T), np.eye(3), atol=0.03)
    beta_hat = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.allclose(beta_hat, beta, atol=0.01)
    assert np.std(y - X @ beta) == pytest.approx(0.3, rel=0.03)


def test_gaussian_linear_regression_rejects_bad_arguments():
    with pytest.raises(ValueError, match="sigma must be in"):
        gaussian_linear_regression(5, [1.0], sigma=-1, rng=0)
    with pytest.raises(ValueError, match="beta must be a non-empty 1-D array"):
        gaussian_linear_regression(5, [[1.0]], sigma=0, rng=0)
    with pytest.raises(ValueError, match="n must be at least 1"):
        gaussian_linear_regression(0, [1.0], sigma=0, rng=0)


def test_two_moons_lie_on_the_shifted_half_circles():
    gap = 0.3
    X, y = two_moons_with_gap(400, gap=gap, noise=0.0, rng=0)
    s = 0.25 + gap / 2
    up, low = X[y == 0], X[y == 1]
    assert np.allclose(up[:, 0] ** 2 + (up[:, 1] - s) ** 2, 1)
    assert np.allclose((1 - low[:, 0]) ** 2 + (0.5 - low[:, 1] - s) ** 2, 1)
    assert np.bincount(y).tolist() == [200, 200]


def test_two_moons_linear_separability_depends_on_the_gap():
    X, y = two_moons_with_gap(400, gap=0.2, noise=0.0, rng=0)
    assert LogisticRegression(C=1e4, max_iter=5000).fit(X, y).score(X, y) == 1.0
    X, y = two_moons_with_gap(400, gap=-0.5, noise=0.0, rng=0)  # scikit-learn's moons
    assert LogisticRegression(C=1e4, max_iter=5000).fit(X, y).score(X, y) < 0.95


def test_two_moons_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"gap must be in \[-0.5, inf\]"):
        two_moons_with_gap(10, gap=-1)
    with pytest.raises(ValueError, match="noise must be in"):
        two_moons_with_gap(10, noise=-0.1)


def test_concentric_spheres_radii_and_uniform_directions():
    X, y = concentric_spheres(20000, d=5, r_inner=1.0, r_outer=1.1, rng=0)
    r = np.linalg.norm(X, axis=1)
    assert np.allclose(r[y == 0], 1.0) and np.allclose(r[y == 1], 1.1)
    u = X / r[:, None]
    assert np.allclose(u.mean(axis=0), 0, atol=0.02)
    assert np.allclose(u.T @ u / len(u), np.eye(5) / 5, atol=0.01)   # E[uu^T] = I/d
    assert y.mean() == pytest.approx(0.5, abs=0.02)


def test_concentric_spheres_rejects_bad_radii():
    with pytest.raises(ValueError, match="r_outer must exceed r_inner"):
        concentric_spheres(10, d=3, r_inner=1.0, r_outer=1.0)
    with pytest.raises(ValueError, match="d must be at least 2"):
        concentric_spheres(10, d=1)


def test_to_tensors_dtypes_and_errors():
    X, y = to_tensors(np.ones((3, 2)), np.array([0.5, 1.0, 2.0]))
    assert X.dtype == torch.float32 and y.dtype == torch.float32
    with pytest.raises(ValueError, match="same number of rows"):
        to_tensors(np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="X must be 2-D"):
        to_tensors(np.ones(3), np.ones(3))
