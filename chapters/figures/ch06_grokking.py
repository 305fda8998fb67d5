"""Figure of Chapter 6 (grokking): a network built by hand that adds mod p with Fourier features.

Run ``python chapters/figures/ch06_grokking.py`` to rewrite the PNG next to this file. The
network is a closed-form construction in the spirit of Gromov (2023): one hidden layer,
quadratic activation, each unit one frequency with random phases (drawn with a fixed seed),
so the figure is deterministic; nothing is trained.
"""
from __future__ import annotations

import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from utils.plotting import PALETTE, save_figure, use_style  # noqa: E402

P = 47


def fourier_network(p: int, n_units: int, rng: np.random.Generator):
    """Input and output weights of the construction: unit h has frequency k_h, phases phi, psi.

    Unit h computes (cos(w a + phi) + cos(w b + psi))^2, whose cross term is
    cos(w (a + b) + phi + psi) + cos(w (a - b) + phi - psi); the output weight
    cos(w c + phi + psi) turns the first into cos(w (a + b - c)) on average over the phases,
    and the random phases make the other terms cancel as units are added.
    """
    k = rng.integers(1, p // 2 + 1, size=n_units)
    phi, psi = rng.uniform(0, 2 * np.pi, size=(2, n_units))
    n = np.arange(p)
    w = 2 * np.pi * k[:, None] * n[None, :] / p            # (units, p)
    w_a = np.cos(w + phi[:, None])
    w_b = np.cos(w + psi[:, None])
    w_out = np.cos(w + (phi + psi)[:, None])                # (units, p): one row per unit
    return w_a, w_b, w_out


def logits(w_a, w_b, w_out, a, b):
    hidden = (w_a[:, a] + w_b[:, b]) ** 2                   # (units, pairs)
    return hidden.T @ w_out                                 # (pairs, p)


def accuracy(p: int, n_units: int, seed: int) -> float:
    w_a, w_b, w_out = fourier_network(p, n_units, np.random.default_rng(seed))
    a, b = np.divmod(np.arange(p * p), p)
    return float(np.mean(logits(w_a, w_b, w_out, a, b).argmax(axis=1) == (a + b) % p))


def fourier_network_figure(path: pathlib.Path) -> pathlib.Path:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    w_a, w_b, w_out = fourier_network(P, 512, np.random.default_rng(0))
    a, b = 20, 40
    z = logits(w_a, w_b, w_out, np.array([a]), np.array([b]))[0]
    ax1.bar(np.arange(P), z / np.abs(z).max(), color=PALETTE[0], width=0.8)
    ax1.axvline((a + b) % P, color=PALETTE[3], linestyle=":", label=f"c = (a + b) mod {P} = {(a + b) % P}")
    ax1.set(xlabel="output class c", ylabel="logit (scaled to max 1)",
            title=f"512 Fourier units, input (a, b) = ({a}, {b})")
    ax1.legend(fontsize=8, loc="lower right")

    widths = [8, 16, 32, 64, 128, 256, 512, 1024]
    seeds = range(5)
    accs = np.array([[accuracy(P, n, s) for n in widths] for s in seeds])
    ax2.plot(widths, accs.mean(axis=0), "o-", color=PALETTE[0], label="mean of 5 phase draws")
    ax2.fill_between(widths, accs.min(axis=0), accs.max(axis=0), color=PALETTE[0], alpha=0.2,
                     linewidth=0, label="min to max")
    ax2.axhline(1 / P, color="grey", linewidth=0.8, label="chance 1/47")
    ax2.set(xscale="log", xlabel="hidden units", ylabel=f"accuracy on all {P * P} pairs",
            ylim=(0, 1.02), title="Adding more random-phase units cancels the noise")
    ax2.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path)


def make_figures(out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Draw the chapter's figures into ``out_dir`` and return their paths."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    use_style()
    return [fourier_network_figure(out_dir / "ch06_fourier_network.png")]


if __name__ == "__main__":
    for written in make_figures(pathlib.Path(__file__).resolve().parent):
        print(written)
