"""Figures of Chapter 3 (lottery tickets): linear interpolation between trained networks, and
how the weights magnitude pruning keeps relate to their initial values.

Run ``python chapters/figures/ch03_lottery_tickets.py`` to rewrite the PNGs next to this file.
Three short trainings of the lab's LeNet-300-100-like MLP on the digits; a few seconds on CPU.
"""
from __future__ import annotations

import copy
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from utils.data import load_digits_split  # noqa: E402
from utils.models import mlp  # noqa: E402
from utils.plotting import PALETTE, save_figure, use_style  # noqa: E402
from utils.pruning import (interpolation_curve, magnitude_masks,  # noqa: E402
                           mask_overlap)
from utils.reproducibility import seed_everything  # noqa: E402
from utils.training import train  # noqa: E402

STEPS = 120
N_ALPHAS = 21


def _trained(init_seed: int, order_seed: int, X, y):
    net = mlp(64, [300, 100], 10, init="kaiming",
              generator=torch.Generator().manual_seed(init_seed))
    init = copy.deepcopy(net.state_dict())
    train(net, X, y, lr=0.07, momentum=0.9, batch_size=64, epochs=10_000, max_steps=STEPS,
          generator=torch.Generator().manual_seed(order_seed))
    return init, net


def make_figures(out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write the chapter's figures into ``out_dir`` and return their paths."""
    out_dir = pathlib.Path(out_dir)
    seed_everything(0)
    use_style()
    split = load_digits_split(val_size=0.3, test_size=0.1, seed=0)
    X, y = split.tensors("train")
    X_val, y_val = split.tensors("val")
    init_a, net_a = _trained(0, 1, X, y)
    _, net_b = _trained(0, 2, X, y)      # same initialization, other minibatch order
    _, net_c = _trained(7, 1, X, y)      # other initialization, same minibatch order
    paths = []

    # Figure 1: error along the line between two trained networks.
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for other, label, color in [(net_b, "same initialization, different data order", PALETTE[0]),
                                (net_c, "different initialization, same data order", PALETTE[3])]:
        curve = interpolation_curve(net_a, net_a.state_dict(), other.state_dict(), X_val, y_val,
                                    alphas=N_ALPHAS)
        # The barrier is read off the curve, not printed: a printed tenth of a point moves
        # with another CPU's rounding (one validation image is 0.2 points here).
        ax.plot(curve["alpha"], 100 * curve["error"], "o-", color=color, markersize=3,
                label=label)
    ax.set(xlabel=r"interpolation coefficient $\alpha$ in $(1-\alpha)\theta_A + \alpha\theta_B$",
           ylabel="validation error (%)",
           title="Copies from one initialization are linearly connected")
    # A fixed axis: the curves come from training, so an autoscaled axis would redraw every
    # tick when another CPU moves the peak by a tenth of a point (the figure test compares images).
    ax.set_ylim(0, 20)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path = out_dir / "ch03_interpolation.png"
    paths.append(save_figure(fig, path))

    # Figure 2: the weights that survive pruning by trained magnitude were large at init.
    name = "0.weight"
    mask = magnitude_masks(net_a, {name: 0.9})[name]
    w0 = init_a[name].abs()
    at_init = magnitude_masks(init_a, {name: 0.9})[name]    # the 10% largest at init
    overlap = 100 * mask_overlap({name: mask}, {name: at_init})[name]
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    bins = np.linspace(0, float(w0.max()), 40)
    ax.hist(w0[~mask].numpy(), bins=bins, density=True, alpha=0.6, color=PALETTE[7],
            label="pruned (90% smallest after training)")
    ax.hist(w0[mask].numpy(), bins=bins, density=True, alpha=0.6, color=PALETTE[0],
            label="kept (10% largest after training)")
    ax.set(xlabel=r"magnitude of the weight at initialization, $|\theta_0|$",
           ylabel="density",
           title=f"Kept weights were mostly large at init ({overlap:.0f}% of them in the top 10%)")
    ax.set_ylim(0, 8)   # fixed, like the first figure: heights come from training
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out_dir / "ch03_kept_weights_at_init.png"
    paths.append(save_figure(fig, path))
    return paths


if __name__ == "__main__":
    for p in make_figures(pathlib.Path(__file__).resolve().parent):
        print(p)
