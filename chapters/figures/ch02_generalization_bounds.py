"""Figures of Chapter 2 (generalization bounds); running this file rewrites the PNGs beside it.

Both figures are pure computations with ``utils.bounds`` (no training), so they are fast and
deterministic.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from utils.bounds import kl_inverse, mcallester_bound, pac_bayes_kl_bound, \
    parameter_count_bound  # noqa: E402
from utils.plotting import PALETTE, save_figure, use_style  # noqa: E402


def _kl_versus_sqrt(path: Path) -> Path:
    """The kl-inverted PAC-Bayes bound and its square-root relaxation against training error."""
    n, delta = 1000, 0.025
    errors = np.linspace(0.0, 0.5, 101)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for k, kl in enumerate([10.0, 100.0, 300.0]):
        ax.plot(errors, [pac_bayes_kl_bound(e, kl, n, delta) for e in errors], color=PALETTE[k],
                label=f"kl form, KL = {kl:g}")
        ax.plot(errors, [mcallester_bound(e, kl, n, delta) for e in errors], color=PALETTE[k],
                linestyle="--", label=f"square-root form, KL = {kl:g}")
    ax.plot(errors, errors, color=PALETTE[7], linestyle=":", label="training error")
    ax.set(xlabel="training error of the stochastic classifier $\\hat e_S(Q)$",
           ylabel="bound on its true error $e(Q)$", ylim=(0, 1.25),
           title=f"The kl form is much tighter at small training error (n = {n})")
    ax.legend(fontsize=8, ncol=2, loc="upper left")
    fig.tight_layout()
    return save_figure(fig, path)


def _parameter_counting(path: Path) -> Path:
    """Parameter-counting bounds against the training-set size for a few network sizes."""
    ns = np.geomspace(1e2, 1e8, 200)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for k, (params, name) in enumerate([(2_113, "MLP of Lab 2, Part 4"),
                                        (9_610, "MLP of Lab 2, Part 1"),
                                        (1_000_000, "a 1M-parameter network")]):
        ax.plot(ns, [parameter_count_bound(0.0, params, int(n), 0.05) for n in ns],
                color=PALETTE[k], label=f"{name}: W = {params:,}")
    for n, label in [(1_078, "digits, Part 1"), (60_000, "MNIST")]:
        ax.axvline(n, color=PALETTE[7], linestyle=":", linewidth=1)
        ax.text(n * 1.15, 0.4, label, rotation=90, fontsize=8, color=PALETTE[7])
    ax.set(xscale="log", xlabel="training examples n",
           ylabel="bound on test error (training error 0)", ylim=(0, 1.05),
           title="Counting parameters (32 bits each) needs n far beyond W")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return save_figure(fig, path)


def make_figures(out_dir: Path) -> list[Path]:
    """Write the chapter's figures into ``out_dir`` and return their paths."""
    out_dir = Path(out_dir)
    use_style()
    return [_kl_versus_sqrt(out_dir / "ch02_pac_bayes_forms.png"),
            _parameter_counting(out_dir / "ch02_parameter_counting.png")]


if __name__ == "__main__":
    assert math.isclose(kl_inverse(0.0, math.log(2)), 0.5, abs_tol=1e-9)
    for written in make_figures(Path(__file__).resolve().parent):
        print(written)
