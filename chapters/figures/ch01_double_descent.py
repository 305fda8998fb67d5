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


def replications(seeds=(0, 1, 2)) -> str:
    """Runs of Lab 1's section 6 outside the lab's budget, quoted in Chapter 1.

    Same data, networks and training as the lab's section 6 (one-hidden-layer ReLU MLPs,
    squared loss on one-hot targets, 5,000 full-batch Adam steps at 1e-3, 4 initialisations
    per width, 40 % label noise on 150 digits), with one change each: (a) clean labels;
    (b) half the training set, n = 75 (n K = 750). Returns the text written to
    ``ch01_replications.txt`` by ``python chapters/figures/ch01_double_descent.py
    --replications`` (about 35 s of CPU).
    """
    import torch

    from utils.data import corrupt_labels, to_tensors
    from utils.ensembles import train_ensemble
    from utils.models import count_parameters, mlp
    from utils.reproducibility import seed_everything
    from utils.training import evaluate

    def run(seed, n_train, noise, widths, inits=4):
        rng = np.random.default_rng(seed)       # as the lab's digits_with_noise
        split = load_digits_split(val_size=0.0, test_size=0.5, seed=seed, scale="unit")
        idx = rng.permutation(len(split.y_train))[:n_train]
        y_noisy, _ = corrupt_labels(split.y_train[idx], noise, 10, rng)
        (X, y), (X_test, y_test) = to_tensors(split.X_train[idx], y_noisy), split.tensors("test")
        gen = seed_everything(seed).torch
        nets = [mlp(64, [w], 10, init="default", generator=gen) for _ in range(inits)
                for w in widths]
        hists = train_ensemble(nets, X, y, loss="mse", optimizer="adam", lr=1e-3, epochs=5000,
                               generator=gen)
        shape = (inits, len(widths))
        acc = np.reshape([h.final["train_acc"] for h in hists], shape)
        scores = [evaluate(net, X_test, y_test, loss="mse") for net in nets]
        loss = np.reshape([s["loss"] for s in scores], shape).mean(axis=0)
        err = 1 - np.reshape([s["accuracy"] for s in scores], shape).mean(axis=0)
        fits = (acc >= 0.99).all(axis=0)
        first = next((j for j in range(len(widths)) if fits[j:].all()), None)
        params = [count_parameters(net) for net in nets[:len(widths)]]
        worst = int(np.argmax(loss))
        return (f"  params {params}\n  train acc (mean) {np.round(acc.mean(axis=0), 3).tolist()}"
                f"\n  test sq. loss {np.round(loss, 2).tolist()}\n  test 0-1 error "
                f"{np.round(err, 3).tolist()}\n  first width that fits (every init >= 0.99): "
                f"{params[first] if first is not None else None} parameters; worst width "
                f"{params[worst]} parameters; n K = {10 * n_train}\n")

    torch.set_num_threads(1)
    out = [replications.__doc__.split("\n\n")[1].strip().replace("\n    ", "\n") + "\n"]
    for seed in seeds:
        out.append(f"(a) clean labels, n = 150, SEED = {seed}\n"
                   + run(seed, 150, 0.0, [6, 10, 14, 20, 27, 40, 60, 100]))
        out.append(f"(b) 40 % noise, n = 75, SEED = {seed}\n"
                   + run(seed, 75, 0.4, [3, 5, 7, 10, 14, 20, 27, 40, 60, 100]))
    return "\n".join(out)


if __name__ == "__main__":
    if "--replications" in sys.argv:
        text = replications()
        (Path(__file__).resolve().parent / "ch01_replications.txt").write_text(text)
        print(text)
    else:
        for written in make_figures(Path(__file__).resolve().parent):
            print(written)
