"""Figures of Chapter 1 (double descent), regenerated from utils.

``make_figures(out_dir)`` writes two PNGs:

- ``ch01_samplewise.png``: the exact expected test error of min-norm least squares against n
  for three noise levels, with optimally tuned ridge (Monte Carlo over designs, noise averaged
  exactly) for the largest one;
- ``ch01_random_features.png``: model-wise double descent of min-norm random Fourier
  features on 100 digit images.

Run ``python chapters/figures/ch01_double_descent.py`` to rewrite the committed PNGs.
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from utils.data import load_digits_split  # noqa: E402
from utils.linear import (RandomFourierFeatures, design_spectra, min_norm_expected_risk,  # noqa: E402
                          min_norm_fit, optimal_ridge_lambda, risk_from_spectra)
from utils.plotting import PALETTE, save_figure, use_style  # noqa: E402

D = 50


def samplewise(out_dir: Path) -> Path:
    n = np.arange(1, 3 * D + 1)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for sigma, color in [(0.0, PALETTE[7]), (0.25, PALETTE[5]), (0.5, PALETTE[0])]:
        test = min_norm_expected_risk(n, D, 1.0, sigma) + sigma ** 2
        ax.plot(n, test, color=color, label=f"min-norm, $\\sigma$ = {sigma:g}")
    sigma = 0.5
    lam = optimal_ridge_lambda(D, 1.0, sigma)
    rng = np.random.default_rng(0)
    beta = np.ones(D) / np.sqrt(D)
    n_grid = np.arange(2, 3 * D + 1, 4)
    risks = []
    for _ in range(30):
        X = rng.standard_normal((n_grid.max(), D))
        risks.append([risk_from_spectra(*design_spectra(X[:k], beta), sigma=sigma, lam=lam)
                      for k in n_grid])
    ax.plot(n_grid, np.mean(risks, axis=0) + sigma ** 2, color=PALETTE[2], linewidth=2,
            label=f"ridge, $\\lambda^\\star = d\\sigma^2$, $\\sigma$ = {sigma:g}")
    ax.axvline(D, color=PALETTE[3], linewidth=1)
    ax.set(yscale="log", ylim=(0.02, 30), xlabel="number of training examples n",
           ylabel="expected test error (incl. $\\sigma^2$)",
           title=f"Min-norm least squares in d = {D}: the peak at n = d needs noise")
    ax.legend(fontsize=8, loc="lower left")
    path = out_dir / "ch01_samplewise.png"
    return save_figure(fig, path, bbox_inches="tight")


def random_features(out_dir: Path) -> Path:
    split = load_digits_split(val_size=0.0, test_size=0.5, seed=0, scale="unit")
    n = 100
    X, y = split.X_train[:n], split.y_train[:n]
    Y = np.eye(10)[y]
    rng = np.random.default_rng(0)
    counts = np.array([5, 10, 20, 40, 60, 80, 90, 100, 110, 120, 150, 200, 300, 500, 1000, 2000])
    loss, err = [], []
    for N in counts:
        rff = RandomFourierFeatures(64, int(N), bandwidth=3.0, rng=rng)
        scores = rff.transform(split.X_test) @ min_norm_fit(rff.transform(X), Y)
        loss.append(((scores - np.eye(10)[split.y_test]) ** 2).sum(axis=1).mean())
        err.append((scores.argmax(axis=1) != split.y_test).mean())
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    ax1.plot(counts, loss, marker=".", color=PALETTE[0])
    ax1.set(yscale="log", ylabel="test squared loss")
    ax2.plot(counts, err, marker=".", color=PALETTE[0])
    ax2.set(ylabel="test 0-1 error", ylim=(0, 1))
    for ax in (ax1, ax2):
        ax.axvline(n, color=PALETTE[3], linewidth=1)
        ax.set(xscale="log", xlabel="number of random features N")
    fig.suptitle(f"Random Fourier features on n = {n} digits: the peak sits at N = n")
    fig.tight_layout()
    path = out_dir / "ch01_random_features.png"
    return save_figure(fig, path, bbox_inches="tight")


def make_figures(out_dir: Path) -> list[Path]:
    """Write the chapter's figures into ``out_dir`` and return their paths."""
    out_dir = Path(out_dir)
    use_style()
    return [samplewise(out_dir), random_features(out_dir)]


if __name__ == "__main__":
    for written in make_figures(Path(__file__).resolve().parent):
        print(written)
