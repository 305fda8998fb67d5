"""Lab 1 section 6b alone, for given seeds: the claims rows it adds, as JSON lines.

Runs the code of the lab's section 6b cell (same data, networks, generator and training) for
each seed given on the command line and prints one JSON line per seed with the rows that
cell feeds into the claims table. Used once (issue 29) to add these rows to the Lab 1
calibration record for the record's own 20 seeds, when the machine was too loaded to rerun
the whole lab 20 times; ``make calibrate`` replaces that record with a full run.

    PYTHONPATH=. python instructors/calibration/01_double_descent_rows_6b.py 0 1 2
"""
import json
import sys

import numpy as np
import torch

from utils.data import corrupt_labels, load_digits_split, to_tensors
from utils.ensembles import train_ensemble
from utils.models import count_parameters, mlp
from utils.reproducibility import seed_everything
from utils.sweeps import interpolation_width
from utils.training import evaluate

SQ2_TRAIN, SQ_NOISE, SQ_INITS, SQ2_STEPS, SQ_LR = 300, 0.4, 4, 2000, 1e-3
SQ2_WIDTHS = [20, 30, 40, 50, 60, 80, 120, 200]


def digits_with_noise(seed, n_train, noise):
    rng = np.random.default_rng(seed)
    split = load_digits_split(val_size=0.0, test_size=0.5, seed=seed, scale="unit")
    idx = rng.permutation(len(split.y_train))[:n_train]
    y_noisy, _ = corrupt_labels(split.y_train[idx], noise, 10, rng)
    return to_tensors(split.X_train[idx], y_noisy), split.tensors("test")


def rows(seed):
    seed_everything(seed)
    (X_2, y_2), (X_2_test, y_2_test) = digits_with_noise(seed, SQ2_TRAIN, SQ_NOISE)
    gen_2 = seed_everything(seed).torch
    nets_2 = [mlp(64, [width], 10, init="default", generator=gen_2)
              for _ in range(SQ_INITS) for width in SQ2_WIDTHS]
    hists_2 = train_ensemble(nets_2, X_2, y_2, loss="mse", optimizer="adam", lr=SQ_LR,
                             epochs=SQ2_STEPS, generator=gen_2)
    shape_2 = (SQ_INITS, len(SQ2_WIDTHS))
    scores_2 = [evaluate(net, X_2_test, y_2_test, loss="mse") for net in nets_2]
    loss_2 = np.reshape([s["loss"] for s in scores_2], shape_2)
    err_2 = np.reshape([1 - s["accuracy"] for s in scores_2], shape_2)
    train_loss_2 = np.reshape([h.final["train_loss"] for h in hists_2], shape_2)
    train_acc_2 = np.reshape([h.final["train_acc"] for h in hists_2], shape_2)
    fits_2 = {"99 % accuracy": interpolation_width(SQ2_WIDTHS, train_acc_2, eps=0.01),
              "loss <= 0.01": interpolation_width(SQ2_WIDTHS, 1 - train_loss_2, eps=0.01)}
    mean_2 = err_2.mean(axis=0)
    worst_2 = int(np.argmax(mean_2))
    ends_2 = max(mean_2[0], mean_2[-1])
    peak_2 = mean_2[worst_2] - ends_2 if 0 < worst_2 < len(SQ2_WIDTHS) - 1 else 0.0
    apart_2 = err_2[:, worst_2].min() - max(err_2[:, 0].max(), err_2[:, -1].max())
    loss_mean_2 = loss_2.mean(axis=0)
    worst_loss_2 = int(np.argmax(loss_mean_2))
    loss_peak_2 = (np.log2(loss_mean_2[worst_loss_2] / max(loss_mean_2[0], loss_mean_2[-1]))
                   if 0 < worst_loss_2 < len(SQ2_WIDTHS) - 1 else 0.0)
    out = {"n = 300: loss peak / worse end (log2)": float(loss_peak_2),
           "n = 300: 0-1 peak minus worse end": float(peak_2),
           "n = 300: 0-1 ranges apart (min - max)": float(apart_2)}
    for name, width in fits_2.items():
        out[f"n = 300: 0-1 peak after {name} fit"] = float(worst_2 - (
            len(SQ2_WIDTHS) if width is None else SQ2_WIDTHS.index(width)))
    out["_err_mean"] = mean_2.round(3).tolist()
    out["_params"] = [count_parameters(net) for net in nets_2[:len(SQ2_WIDTHS)]]
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    for arg in sys.argv[1:]:
        print(json.dumps({"seed": int(arg), **rows(int(arg))}), flush=True)
