"""Figures of Chapter 5 (offense-defense scaling), drawn from utils.offense_defense.

Run ``python chapters/figures/ch05_offense_defense.py`` to rewrite the PNGs next to this file.
Everything is a closed form (no sampling), except the heterogeneous rates, drawn with a fixed
seed, so the figures are deterministic.
"""
from __future__ import annotations

import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from utils.offense_defense import (best_response_success,  # noqa: E402
                                   multi_vector_success, proportional_noise_success,
                                   required_defense,
                                   required_defense_homogeneous, stratified_log_rates,
                                   stream_success_probability, success_probability)
from utils.plotting import PALETTE, save_figure, use_style  # noqa: E402

N_VULNS = 10
RATES_EQUAL = np.ones(N_VULNS)
RATES_SPREAD = stratified_log_rates(N_VULNS, 0.0316, 31.6, rng=0)


def vulnerability_figure(path: pathlib.Path) -> pathlib.Path:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    x = np.logspace(-4, 4, 801)
    ax1.plot(x, success_probability(x, x, RATES_EQUAL), label="10 vulnerabilities, rate 1")
    ax1.plot(x, success_probability(x, x, RATES_SPREAD),
             label="10 vulnerabilities, rates spread over 3 decades")
    ax1.axvline(np.log(2), color="grey", linestyle=":", label="x* = ln 2")
    ax1.set(xscale="log", xlabel="equal investment a = d = x (units of 1/r)",
            ylabel="attack success probability P(x, x)",
            title="Equal investment: offense first, then defense")
    ax1.legend(fontsize=8, loc="upper right")

    h_star = 1 - 0.5 ** (1 / N_VULNS)
    a_weak = -np.log1p(-h_star)
    a = np.logspace(np.log10(a_weak) + 1e-6, 3, 400)
    ax2.plot(a, required_defense_homogeneous(a, 1.0, N_VULNS) / a, label="rate 1")
    a_spread = np.logspace(-1, 3, 81)
    ax2.plot(a_spread, required_defense(a_spread, RATES_SPREAD) / a_spread,
             label="rates spread over 3 decades")
    ax2.axhline(1, color="grey", linewidth=0.8)
    ax2.axvspan(a[0] / 2, a_weak, color="grey", alpha=0.2,
                label="attacker below 1/2 even undefended")
    ax2.set(xscale="log", yscale="log", ylim=(1e-3, 20), xlim=(a[0] / 2, 1e3),
            xlabel="attacker's investment a (units of 1/r)",
            ylabel="defender / attacker spending d/a",
            title="Spending ratio that holds success at 1/2")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def sectors_figure(path: pathlib.Path) -> pathlib.Path:
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 4))
    s = np.logspace(-1, 3, 161)
    ax1.plot(s, multi_vector_success(s, s, 5, 2.0), label="5 sectors, δ = 2")
    ax1.plot(s, multi_vector_success(s, s, 5, 1.0), "--", label="5 sectors, δ = 1")
    ax1.plot(s, multi_vector_success(s, s, 1, 2.0), "-.", label="1 sector, δ = 2")
    ax1.plot(s, proportional_noise_success(s, s, 5, 2.0), ":", color=PALETTE[7],
             label="matched control: noise ∝ mean")
    ax1.set(xscale="log", ylim=(0, 1.02), xlabel="equal total investment per side (mean units)",
            ylabel="attack success probability",
            title="Attacker spreads evenly: OD-scaling")
    ax1.legend(fontsize=8)

    ax2.plot(s, multi_vector_success(s, s, 5, 2.0), label="spreads evenly")
    ax2.plot(s, best_response_success(s, s, 5, 2.0)[0], "--", label="best response")
    ax2.plot(s, best_response_success(s, s, 5, 2.0, frontage=10.0)[0], "-.",
             label="best response, frontage 10")
    ax2.set(xscale="log", ylim=(0, 1.02), xlabel="equal total investment per side (mean units)",
            title="Attacker chooses: 5 sectors, δ = 2")
    ax2.legend(fontsize=8)

    x = np.logspace(-2, 4, 241)
    ax3.plot(x, success_probability(x, x, RATES_EQUAL), color=PALETTE[0],
             label="fixed stock")
    for k, rate in enumerate([1.0, 10.0, 100.0]):
        ax3.plot(x, stream_success_probability(x / rate, RATES_EQUAL, rate, rate, 0.5, 1.0),
                 color=PALETTE[k + 3], label=f"0.5 new per unit time, search rate {rate:g}")
    ax3.set(xscale="log", ylim=(0, 1.02),
            xlabel="each side's cumulative investment (units of 1/r)",
            title="New vulnerabilities: a floor set by λ/(rα)")
    ax3.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def make_figures(out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Draw the chapter's figures into ``out_dir`` and return their paths."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    use_style()
    return [vulnerability_figure(out_dir / "ch05_vulnerability.png"),
            sectors_figure(out_dir / "ch05_sectors_stream.png")]


if __name__ == "__main__":
    for written in make_figures(pathlib.Path(__file__).resolve().parent):
        print(written)
