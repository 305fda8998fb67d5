"""Figures of Chapter 4 (gradient starvation): run this file to rewrite the PNGs beside it.

Figure 1 is computed in closed form and by a few thousand steps of gradient descent on a
two-parameter model (numpy); figure 2 trains two small networks on the moons with a gap
(full batch, one thread, seeded), as in Lab 4 but shorter; figure 3 is Pezeshki et al.'s
two-feature toy (the script of their Figure 6) with the solvers of ``utils.starvation``.
"""
from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from utils.data import to_tensors, two_moons_with_gap  # noqa: E402
from utils.models import mlp  # noqa: E402
from utils.plotting import PALETTE, save_figure, use_style  # noqa: E402
from utils.reproducibility import seed_everything  # noqa: E402
from utils.starvation import (feature_responses, feature_responses_gd,  # noqa: E402
                              plot_decision_boundary, spectral_decoupling)
from utils.training import train  # noqa: E402


def _margin_shares(s: np.ndarray, steps: int = 5000, lr: float = 0.5,
                   lam: float = 0.0) -> np.ndarray:
    """Gradient descent from w = 0 on log(1 + exp(-w . s)) + lam/2 (w . s)^2; w_j s_j per step.

    Every example is its label times s, so the mean loss is this one term (the label-weighted
    feature matrix has rank 1): coordinate j adds w_j s_j to every example's margin. ``lam``
    is the spectral-decoupling penalty on the logit, whose square is m^2.
    """
    w = np.zeros_like(s, dtype=float)
    out = np.empty((steps, s.size))
    for t in range(steps):
        m = w @ s
        w += lr * (1.0 / (1.0 + np.exp(m)) - lam * m) * s   # minus the gradient
        out[t] = w * s
    return out


def figure_starvation_dynamics(path: pathlib.Path) -> pathlib.Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    m = np.linspace(-4, 8, 400)
    axes[0].plot(m, 1 / (1 + np.exp(m)), color=PALETTE[0])
    axes[0].set(xlabel="margin of an example, $m = y\\,\\hat y$",
                ylabel="gradient weight $-\\ell'(m) = 1/(1+e^{m})$",
                title="The logistic loss stops pushing once $m$ is large")
    steps = np.arange(1, 5001)
    alone = _margin_shares(np.array([1.0]))[:, 0]
    both = _margin_shares(np.array([1.0, 2.0]))
    stronger = _margin_shares(np.array([1.0, 3.0]))
    axes[1].plot(steps, alone, color=PALETTE[2], label="weak coordinate, trained alone")
    axes[1].plot(steps, both[:, 0], color=PALETTE[0],
                 label="weak coordinate, next to a 2x stronger one")
    axes[1].plot(steps, stronger[:, 0], color=PALETTE[0], linestyle="--",
                 label="weak coordinate, next to a 3x stronger one")
    axes[1].plot(steps, both[:, 1], color=PALETTE[3], label="the 2x stronger coordinate")
    sd_alone = _margin_shares(np.array([1.0]), lam=0.01)[:, 0]
    sd_both = _margin_shares(np.array([1.0, 2.0]), lam=0.01)[:, 0]
    axes[1].plot(steps, sd_alone, color=PALETTE[2], linestyle=":",
                 label="weak, alone, with spectral decoupling ($\\lambda = 0.01$)")
    axes[1].plot(steps, sd_both, color=PALETTE[0], linestyle=":",
                 label="weak, next to the 2x one, with spectral decoupling")
    axes[1].set(xscale="log", xlabel="gradient-descent step",
                ylabel="contribution to the margin, $w_j s_j$",
                title="Coordinates share one margin; SD keeps the split")
    axes[1].legend(fontsize=7, loc="upper left")
    return save_figure(fig, path)


def figure_moons(path: pathlib.Path) -> pathlib.Path:
    X, y = two_moons_with_gap(300, gap=0.2, noise=0.05, rng=0)
    X_t, y_t = to_tensors(X, y)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for ax, lam, name in ((axes[0], 0.0, "Cross-entropy only"),
                          (axes[1], 0.01, "With spectral decoupling, $\\lambda = 0.01$")):
        gen = seed_everything(0).torch
        net = mlp(2, [200], 1, init="default", generator=gen)
        train(net, X_t, y_t, loss="logistic", lr=0.05, momentum=0.9, epochs=300,
              penalty=spectral_decoupling(lam) if lam else None, generator=gen)
        margin = plot_decision_boundary(ax, net, X, y)
        ax.set(title=f"{name}: margin {margin:.2f}", xlabel="$x_1$", ylabel="$x_2$")
    fig.suptitle("Two moons with a gap: the same network, two losses (dashed circle: margin)",
                 fontsize=11)
    return save_figure(fig, path)


def figure_pezeshki_toy(path: pathlib.Path, mix: float = 0.5, lam: float = 0.01,
                        steps: int = 5000) -> pathlib.Path:
    """The weak direction's response against the strong one's strength, relative to s1 = 2.

    Two examples, strengths (s1, 2), U a rotation with sin(delta) = ``mix`` (their script's
    0.5): plain training after ``steps`` gradient steps (lr 0.1 on the mean loss, their 0.05 on
    the summed one), the ridge fixed point and spectral decoupling's (both ``lam``), and plain
    training with the coupling of the opposite sign (U transposed).
    """
    U = np.array([[np.sqrt(1 - mix ** 2), -mix], [mix, np.sqrt(1 - mix ** 2)]])
    strong = np.array([2.0, 3.0, 4.0, 5.0, 6.0])
    arms = [("plain training, %d steps" % steps, PALETTE[0], "o-",
             lambda s: feature_responses_gd(U, s, steps)),
            ("ridge penalty, fixed point", PALETTE[1], "^-",
             lambda s: feature_responses(U, s, lam, "wd")),
            ("spectral decoupling, fixed point", PALETTE[2], "s--",
             lambda s: feature_responses(U, s, lam, "sd")),
            ("plain training, coupling of the opposite sign", PALETTE[3], "o:",
             lambda s: feature_responses_gd(U.T, s, steps))]
    fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
    for k, (label, color, style, solve) in enumerate(arms):
        weak = np.array([solve([s1, 2.0])[1] for s1 in strong])
        hollow = {"markerfacecolor": "none", "markersize": 11} if k == 3 else {}
        ax.plot(strong, weak / weak[0], style, color=color, label=label, **hollow)
    ax.set(xlabel="strength $s_1$ of the strong direction (the weak one: 2)",
           ylabel="response $z_2$ to the weak direction\n(relative to $s_1 = 2$)",
           ylim=(0, 1.15), title="The loss starves the weak direction, with or without ridge; SD does not")
    ax.legend(fontsize=8, loc="lower left")
    return save_figure(fig, path)


def make_figures(out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write the chapter's figures into ``out_dir`` and return their paths."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    use_style()
    return [figure_starvation_dynamics(out_dir / "ch04_starvation_dynamics.png"),
            figure_moons(out_dir / "ch04_moons.png"),
            figure_pezeshki_toy(out_dir / "ch04_pezeshki_toy.png")]


if __name__ == "__main__":
    for p in make_figures(pathlib.Path(__file__).resolve().parent):
        print(p)
