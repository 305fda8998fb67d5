"""Tests of utils.ensembles: every network trained in the batch follows the trajectory it
would follow trained alone with utils.training.train (same start, data order, optimizer)."""
from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
import torch

from utils import training
from utils.ensembles import plan_groups, train_ensemble
from utils.models import mlp
from utils.training import train


def data(n=96, d=5, seed=0):
    """Three classes: two split by a line, the third a corner of them."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    y[(X[:, 0] > 0.5) & (X[:, 2] > 0.5)] = 2
    return X, y


def nets(widths, d=5, out=3, seed=0, **kw):
    return [mlp(d, w if isinstance(w, list) else [w], out,
                generator=torch.Generator().manual_seed(seed + i), **kw)
            for i, w in enumerate(widths)]


def solo(net, X, y, optimizer, monkeypatch, **kw):
    """utils.training.train on one network; 'adamw' runs train's loop with torch's AdamW."""
    if optimizer == "adamw":
        with monkeypatch.context() as m:
            m.setattr(torch.optim, "Adam", torch.optim.AdamW)
            return train(net, X, y, optimizer="adam", **kw)
    return train(net, X, y, optimizer=optimizer, **kw)


N_VAL = 40  # examples in every validation set here


def assert_same_trajectory(h_batch, h_solo, net_batch, net_solo, n):
    assert h_batch.stopped_because == h_solo.stopped_because
    assert len(h_batch.rows) == len(h_solo.rows)
    assert [list(r) for r in h_batch.rows] == [list(r) for r in h_solo.rows]  # same columns
    assert h_batch["step"].tolist() == h_solo["step"].tolist()
    np.testing.assert_allclose(h_batch["epoch"], h_solo["epoch"], rtol=0, atol=1e-12)
    for col in [c for c in h_solo.rows[0] if c.endswith("_loss")]:
        np.testing.assert_allclose(h_batch[col], h_solo[col], rtol=1e-4, atol=1e-6)
    for col in [c for c in h_solo.rows[0] if c.endswith("_acc")]:
        # Examples may sit on the decision boundary within rounding: near initialization an
        # MSE net's outputs are close to ties, and under ATEN_CPU_CAPABILITY=default two of 96
        # flipped at step 1 with the losses equal to 1e-6. A real divergence moves the losses.
        size = N_VAL if col.startswith("val") else n
        np.testing.assert_allclose(h_batch[col], h_solo[col], rtol=0, atol=2.01 / size)
    for p, q in zip(net_batch.parameters(), net_solo.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------------------------
# Equivalence with utils.training.train
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("batch_size", [None, 16])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_each_member_follows_its_solo_trajectory(optimizer, batch_size, loss, monkeypatch):
    X, y = data()
    X_val, y_val = data(N_VAL, seed=1)
    widths = [2, 7, 24]  # the 2-unit network is padded to 24 units (one group: see below)
    assert plan_groups([[5, w, 3] for w in widths], batch_size or len(y)) == [[0, 1, 2]]
    lrs = {"sgd": [0.3, 0.1, 0.001], "adam": [0.1, 0.03, 0.0003],
           "adamw": [0.1, 0.03, 0.0003]}[optimizer]
    wd = [0.01, 0.0, 0.05]
    kw = dict(loss=loss, batch_size=batch_size, epochs=12 if batch_size else 40,
              X_val=X_val, y_val=y_val, evals_per_epoch=2 if batch_size else 1)
    # A target just above what the slow last network (small learning rate) ever reaches, so
    # it trains to the end while a faster one reaches the target and stops early.
    probe = train_ensemble(nets(widths), X, y, optimizer=optimizer, lr=lrs, weight_decay=wd,
                           generator=torch.Generator().manual_seed(3), **kw)
    kw["target_accuracy"] = probe[2]["train_acc"].max() + 0.5 / len(y)
    batch = nets(widths)
    alone = copy.deepcopy(batch)
    hs = train_ensemble(batch, X, y, optimizer=optimizer, lr=lrs, weight_decay=wd,
                        generator=torch.Generator().manual_seed(3), **kw)
    reasons = [h.stopped_because for h in hs]
    assert "target_accuracy" in reasons and "epochs" in reasons, reasons
    assert len({len(h.rows) for h in hs}) > 1  # members stopped at different times
    for k, net in enumerate(alone):
        h = solo(net, X, y, optimizer, monkeypatch, lr=lrs[k], weight_decay=wd[k],
                 generator=torch.Generator().manual_seed(3), **kw)
        assert_same_trajectory(hs[k], h, batch[k], net, len(y))


def test_adamw_is_not_adam():
    """The AdamW comparison above can fail: with weight decay the two optimizers differ."""
    X, y = data()
    a, b = nets([8]), nets([8])
    train_ensemble(a, X, y, optimizer="adam", lr=0.05, weight_decay=0.1, epochs=20)
    train_ensemble(b, X, y, optimizer="adamw", lr=0.05, weight_decay=0.1, epochs=20)
    assert (a[0][0].weight - b[0][0].weight).abs().max() > 1e-3


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_groups_of_different_widths_deeper_nets_and_max_steps(optimizer, monkeypatch):
    """Two hidden layers, widths far apart (several groups), tanh, step budget, momentum."""
    X, y = data(120)
    widths = [[3, 2], [4, 9], [200, 150], [180, 5]]
    sizes = [[5, *w, 3] for w in widths]
    assert len(plan_groups(sizes, 32)) > 1
    kw = dict(loss="cross_entropy", lr=0.05 if optimizer == "sgd" else 0.01, batch_size=32,
              epochs=50, max_steps=23, evals_per_epoch=2)
    if optimizer == "sgd":
        kw["momentum"] = 0.9
    batch = nets(widths, activation="tanh")
    alone = copy.deepcopy(batch)
    hs = train_ensemble(batch, X, y, optimizer=optimizer,
                        generator=torch.Generator().manual_seed(5), **kw)
    assert all(h.stopped_because == "max_steps" and h.final["step"] == 23 for h in hs)
    for k, net in enumerate(alone):
        h = solo(net, X, y, optimizer, monkeypatch,
                 generator=torch.Generator().manual_seed(5), **kw)
        assert_same_trajectory(hs[k], h, batch[k], net, len(y))


def test_regression_logistic_gelu_and_no_bias(monkeypatch):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 4, generator=g)
    y_real = X[:, :2] @ torch.tensor([[1.0, -1.0], [0.5, 2.0]])
    y_bin = (X[:, 0] > 0).long()
    for y, out, loss in [(y_real, 2, "mse"), (y_bin, 1, "logistic")]:
        batch = nets([3, 10], d=4, out=out, activation="gelu", bias=False)
        alone = copy.deepcopy(batch)
        hs = train_ensemble(batch, X, y, loss=loss, optimizer="sgd", lr=0.05, epochs=15)
        for k, net in enumerate(alone):
            h = train(net, X, y, loss=loss, optimizer="sgd", lr=0.05, epochs=15)
            assert_same_trajectory(hs[k], h, batch[k], net, len(y))
        if loss == "mse":
            assert np.isnan(hs[0]["train_acc"]).all()


def test_linear_models_and_target_loss():
    X, y = data()
    batch = nets([[], []], out=3)
    batch[1] = mlp(5, [], 3, init="zeros")
    hs = train_ensemble(batch, X, y, optimizer="sgd", lr=[1.0, 0.01], epochs=40,
                        target_loss=0.6)
    assert hs[0].stopped_because == "target_loss" and hs[0].final["train_loss"] <= 0.6
    assert hs[1].stopped_because == "epochs" and hs[1].final["train_loss"] > 0.6
    assert len(hs[1].rows) == 41
    assert (hs[0]["train_loss"][:-1] > 0.6).all()  # it stopped at the first row below


def test_shares_the_generator_draws_of_train():
    """Every member sees the order train draws; the generator advances as for one train."""
    X, y = data()
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    train_ensemble(nets([4, 8]), X, y, batch_size=10, epochs=3, generator=g1)
    train(nets([4])[0], X, y, batch_size=10, epochs=3, generator=g2)
    assert torch.equal(g1.get_state(), g2.get_state())


def test_weights_are_written_back_and_progress_bar(capsys):
    X, y = data()
    batch = nets([4, 16])
    before = [p.detach().clone() for p in batch[1].parameters()]
    hs = train_ensemble(batch, X, y, epochs=5, progress=True)
    assert all(not torch.equal(p, q) for p, q in zip(batch[1].parameters(), before))
    assert hs[1].final["train_loss"] == pytest.approx(
        training.evaluate(batch[1], X, y)["loss"], rel=1e-5)
    assert "training ensemble" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Grouping
# --------------------------------------------------------------------------------------------


def _cost(groups, sizes, batch, overhead):
    total = 0.0
    for g in groups:
        widest = [max(sizes[i][l] for i in g) for l in range(len(sizes[0]))]
        total += overhead + 3 * batch * len(g) * sum(a * b for a, b in zip(widest, widest[1:]))
    return total


def _set_partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _set_partitions(rest):
        for i in range(len(part)):
            yield part[:i] + [[first] + part[i]] + part[i + 1:]
        yield [[first]] + part


@pytest.mark.parametrize("seed", range(4))
def test_plan_groups_is_optimal_against_every_partition(seed):
    rng = np.random.default_rng(seed)
    sizes = [[64, int(w), 10] for w in rng.integers(2, 300, size=6)]
    overhead = float(rng.choice([1e5, 1e6, 1e7]))
    plan = plan_groups(sizes, batch_size=100, overhead_macs=overhead)
    assert sorted(i for g in plan for i in g) == list(range(6))
    best = min(_cost(p, sizes, 100, overhead) for p in _set_partitions(list(range(6))))
    assert _cost(plan, sizes, 100, overhead) == pytest.approx(best)


def test_plan_groups_extremes():
    sizes = [[64, w, 10] for w in (4, 256, 8, 128)]
    assert plan_groups(sizes, 300, overhead_macs=0) == [[0], [2], [3], [1]]
    assert plan_groups(sizes, 300, overhead_macs=1e15) == [[0, 2, 3, 1]]
    with pytest.raises(ValueError, match="at least one network"):
        plan_groups([])


# --------------------------------------------------------------------------------------------
# Clear errors
# --------------------------------------------------------------------------------------------


# A wrong type raises TypeError, a wrong value ValueError (scikit-learn's rule).
_TYPE_ERRORS = {"must be a list of networks", "must be an MLP", "weight_decay must be a float",
                r"generator\[1\] must be a torch.Generator", "generator must be a torch.Generator",
                "masks must be a list of 2", "must be a torch tensor",
                r"masks\[0\] must be None, a dict", "callback must be callable",
                "callback must return a dict"}


@pytest.mark.parametrize("make, kwargs, message", [
    (lambda: [], {}, "at least one network"),
    (lambda: nets([4])[0], {}, "must be a list of networks"),
    (lambda: [torch.nn.Linear(5, 3)], {}, "must be an MLP"),
    (lambda: nets([4, [4, 4]]), {}, "same depth"),
    (lambda: nets([4]) + [mlp(6, [4], 3)], {}, "same input and output sizes"),
    (lambda: nets([4]) + [mlp(5, [4], 2)], {}, "same input and output sizes"),
    (lambda: nets([4]) + nets([4], activation="tanh"), {}, "same activation"),
    (lambda: nets([4]) + nets([4], bias=False), {}, "biases"),
    (lambda: nets([4, 8]), {"lr": [0.1, 0.2, 0.3]}, "list of 2 floats"),
    (lambda: nets([4, 8]), {"lr": [0.1, -0.2]}, r"lr\[1\] must be in"),
    (lambda: nets([4, 8]), {"weight_decay": "big"}, "weight_decay must be a float"),
    (lambda: nets([4]), {"optimizer": "rmsprop"}, "optimizer must be one of"),
    (lambda: nets([4]), {"loss": "hinge"}, "loss must be one of"),
    (lambda: nets([4]), {"momentum": 0.9}, "momentum applies to optimizer='sgd'"),
    (lambda: nets([4]), {"loss": "logistic"}, "1 output"),
    (lambda: nets([4]), {"target_loss": 0}, "target_loss must be in"),
    (lambda: nets([4]), {"X_val": torch.zeros(3, 5)}, "both X_val and y_val"),
    (lambda: nets([4]), {"X_val": torch.zeros(3, 6), "y_val": torch.zeros(3).long()},
     "X_val has 6 features"),
    (lambda: nets([4], out=2), {}, r"labels outside 0\.\.1"),
])
def test_bad_input_is_rejected(make, kwargs, message):
    X, y = data()
    error = TypeError if message in _TYPE_ERRORS else ValueError
    with pytest.raises(error, match=message):
        train_ensemble(make(), X, y, **kwargs)


def test_the_same_network_twice_and_wrong_data_are_rejected():
    X, y = data()
    net = nets([4])[0]
    with pytest.raises(ValueError, match="distinct"):
        train_ensemble([net, net], X, y)
    with pytest.raises(ValueError, match="3 features but the models take 5"):
        train_ensemble([net], X[:, :3], y)
    with pytest.raises(ValueError, match="dtype"):
        train_ensemble([net], X.double(), y)
    with pytest.raises(ValueError, match="same number of rows"):
        train_ensemble([net], X, y[:-1])


# --------------------------------------------------------------------------------------------
# A data order per network (generator=[g_0, ..., g_K-1])
# --------------------------------------------------------------------------------------------


def seeded(seeds):
    return [torch.Generator().manual_seed(s) for s in seeds]


def nets_from(gens, widths, d=5, out=3, **kw):
    """Each network initialised from its own generator, which then gives its data order
    (as Lab 0 does: one generator per run for both)."""
    return [mlp(d, w if isinstance(w, list) else [w], out, generator=g, **kw)
            for g, w in zip(gens, widths)]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_own_generators_each_member_follows_train_with_its_generator(optimizer, monkeypatch):
    X, y = data()
    X_val, y_val = data(N_VAL, seed=1)
    widths = [2, 7, 24]  # one group: the 2-unit network is padded to 24 units
    assert plan_groups([[5, w, 3] for w in widths], 16) == [[0, 1, 2]]
    lrs = {"sgd": [0.3, 0.1, 0.001], "adam": [0.1, 0.03, 0.0003]}[optimizer]
    seeds = [11, 12, 13]
    kw = dict(loss="cross_entropy", batch_size=16, epochs=12, X_val=X_val, y_val=y_val,
              evals_per_epoch=2, weight_decay=[0.01, 0.0, 0.05])
    probe = train_ensemble(nets_from(seeded(seeds), widths), X, y, optimizer=optimizer,
                           lr=lrs, generator=seeded(seeds), **kw)
    kw["target_accuracy"] = probe[2]["train_acc"].max() + 0.5 / len(y)
    gens = seeded(seeds)
    batch = nets_from(gens, widths)
    hs = train_ensemble(batch, X, y, optimizer=optimizer, lr=lrs, generator=gens, **kw)
    reasons = [h.stopped_because for h in hs]
    assert "target_accuracy" in reasons and "epochs" in reasons, reasons
    wd = kw.pop("weight_decay")
    for k, seed in enumerate(seeds):
        g = torch.Generator().manual_seed(seed)
        net = nets_from([g], [widths[k]])[0]
        h = solo(net, X, y, optimizer, monkeypatch, lr=lrs[k], weight_decay=wd[k],
                 generator=g, **kw)
        assert_same_trajectory(hs[k], h, batch[k], net, len(y))
        # each generator is left where training alone leaves it (stopped ones drew less)
        assert torch.equal(gens[k].get_state(), g.get_state())


def test_own_generators_really_give_different_orders():
    """Same initial weights, different generators: different trajectories; a shared
    generator (or ignoring the list) would make them identical."""
    X, y = data()
    start = nets([8])[0]
    pair = [copy.deepcopy(start), copy.deepcopy(start)]
    hs = train_ensemble(pair, X, y, optimizer="sgd", lr=0.1, batch_size=8, epochs=2,
                        generator=seeded([1, 2]))
    assert (pair[0][0].weight - pair[1][0].weight).abs().max() > 1e-3
    assert hs[0]["train_loss"][1] != hs[1]["train_loss"][1]
    same = [copy.deepcopy(start), copy.deepcopy(start)]  # equal seeds: equal orders
    train_ensemble(same, X, y, optimizer="sgd", lr=0.1, batch_size=8, epochs=2,
                   generator=seeded([1, 1]))
    torch.testing.assert_close(same[0][0].weight, same[1][0].weight, rtol=0, atol=1e-6)
    torch.testing.assert_close(same[0][0].weight, pair[0][0].weight, rtol=0, atol=1e-6)
    shared = [copy.deepcopy(start), copy.deepcopy(start)]  # one generator: one order
    train_ensemble(shared, X, y, optimizer="sgd", lr=0.1, batch_size=8, epochs=2,
                   generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(shared[1][0].weight, pair[0][0].weight, rtol=0, atol=1e-6)


def test_own_generators_with_groups_max_steps_and_full_batch(monkeypatch):
    """Several groups (own inputs per group), a step budget mid-epoch; and full batch,
    where the generators are drawn from as train draws them."""
    X, y = data(120)
    widths = [[3, 2], [4, 9], [200, 150], [180, 5]]
    assert len(plan_groups([[5, *w, 3] for w in widths], 32)) > 1
    seeds = [3, 4, 5, 6]
    kw = dict(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=32, epochs=50, max_steps=23,
              evals_per_epoch=2)
    gens = seeded(seeds)
    batch = nets_from(gens, widths, activation="tanh")
    hs = train_ensemble(batch, X, y, generator=gens, **kw)
    for k, seed in enumerate(seeds):
        g = torch.Generator().manual_seed(seed)
        net = nets_from([g], [widths[k]], activation="tanh")[0]
        h = solo(net, X, y, "sgd", monkeypatch, generator=g, **{
            key: v for key, v in kw.items() if key != "optimizer"})
        assert_same_trajectory(hs[k], h, batch[k], net, len(y))
        assert torch.equal(gens[k].get_state(), g.get_state())
    gens = seeded(seeds[:2])
    batch = nets_from(gens, [4, 16])
    hs = train_ensemble(batch, X, y, optimizer="adam", lr=0.01, epochs=15, generator=gens)
    for k, seed in enumerate(seeds[:2]):
        g = torch.Generator().manual_seed(seed)
        net = nets_from([g], [[4, 16][k]])[0]
        h = train(net, X, y, optimizer="adam", lr=0.01, epochs=15, generator=g)
        assert_same_trajectory(hs[k], h, batch[k], net, len(y))
        assert torch.equal(gens[k].get_state(), g.get_state())


def test_own_generators_regression_and_logistic(monkeypatch):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 4, generator=g)
    y_real = X[:, :2] @ torch.tensor([[1.0, -1.0], [0.5, 2.0]])
    y_bin = (X[:, 0] > 0).long()
    for y, out, loss in [(y_real, 2, "mse"), (y_bin, 1, "logistic"), (y_bin, 2, "mse")]:
        gens = seeded([7, 8])
        batch = nets_from(gens, [3, 10], d=4, out=out)
        hs = train_ensemble(batch, X, y, loss=loss, optimizer="sgd", lr=0.05, batch_size=10,
                            epochs=4, generator=gens)
        for k, seed in enumerate([7, 8]):
            g = torch.Generator().manual_seed(seed)
            net = nets_from([g], [[3, 10][k]], d=4, out=out)[0]
            h = train(net, X, y, loss=loss, optimizer="sgd", lr=0.05, batch_size=10,
                      epochs=4, generator=g)
            assert_same_trajectory(hs[k], h, batch[k], net, len(y))


# --------------------------------------------------------------------------------------------
# Callback at every evaluation
# --------------------------------------------------------------------------------------------


def correct_and_norm(X, y):
    def callback(model):
        with torch.no_grad():
            return {"correct": (model(X).argmax(1) == y).numpy(),
                    "norm": float(model[0].weight.norm())}
    return callback


@pytest.mark.parametrize("batch_size", [None, 16])
def test_callback_rows_equal_train_with_the_same_callback(batch_size):
    """Same columns and values as train(callback=...), for a member that stops early too
    (full batch exercises the evaluation read off the next step's forward pass)."""
    X, y = data()
    X_val, y_val = data(N_VAL, seed=1)
    widths, lrs = [3, 12], [0.5, 0.005]
    kw = dict(optimizer="sgd", batch_size=batch_size, epochs=10 if batch_size else 60,
              evals_per_epoch=2 if batch_size else 1,
              callback=correct_and_norm(X_val, y_val))
    probe = train_ensemble(nets_from(seeded([1, 2]), widths), X, y, lr=lrs,
                           generator=seeded([1, 2]), **kw)
    kw["target_accuracy"] = probe[1]["train_acc"].max() + 0.5 / len(y)
    gens = seeded([1, 2])
    batch = nets_from(gens, widths)
    calls = []
    inner = kw["callback"]
    kw["callback"] = lambda m: calls.append(next(i for i, b in enumerate(batch) if b is m)) or (
        inner(m))
    hs = train_ensemble(batch, X, y, lr=lrs, generator=gens, **kw)
    assert [h.stopped_because for h in hs] == ["target_accuracy", "epochs"]
    assert [calls.count(k) for k in range(2)] == [len(h.rows) for h in hs]
    kw["callback"] = inner
    for k, seed in enumerate([1, 2]):
        g = torch.Generator().manual_seed(seed)
        net = nets_from([g], [widths[k]])[0]
        h = train(net, X, y, lr=lrs[k], generator=g, **kw)
        assert_same_trajectory(hs[k], h, batch[k], net, len(y))
        np.testing.assert_allclose(hs[k]["norm"], h["norm"], rtol=1e-5)
        # per-example correctness: at most one example on the boundary within rounding
        assert (hs[k]["correct"] != h["correct"]).sum(axis=1).max() <= 1
        assert hs[k]["correct"].shape == (len(h.rows), len(y_val))


def test_callback_sees_the_weights_of_each_checkpoint():
    """Not a stale model: the norm the callback reads changes from row to row, and the last
    row's equals the trained network's."""
    X, y = data()
    batch = nets([4, 16])
    hs = train_ensemble(batch, X, y, optimizer="sgd", lr=0.3, epochs=5,
                        callback=lambda m: {"norm": float(m[0].weight.detach().norm())})
    for h, net in zip(hs, batch):
        assert len(set(h["norm"].tolist())) == len(h.rows) == 6
        assert h.final["norm"] == pytest.approx(float(net[0].weight.detach().norm()), rel=1e-6)


# --------------------------------------------------------------------------------------------
# Masks: pruned weights stay exactly zero
# --------------------------------------------------------------------------------------------


def random_mask(shape, density, seed):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) < density


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_masks_match_apply_masks_then_train(optimizer, monkeypatch):
    from utils.pruning import apply_masks
    X, y = data()
    widths = [[3, 6], [10, 4], [40, 30]]  # the first two are padded in their group
    gens = seeded([21, 22, 23])
    batch = nets_from(gens, widths)
    alone = copy.deepcopy(batch)
    masks = [{"0.weight": random_mask((3, 5), 0.5, 1), "4.weight": random_mask((3, 6), 0.6, 2)},
             None,
             [random_mask((40, 5), 0.3, 3), random_mask((30, 40), 0.2, 4).float(), None]]
    kw = dict(lr=0.05 if optimizer == "sgd" else 0.01, weight_decay=0.02, batch_size=16,
              epochs=6, evals_per_epoch=2)
    if optimizer == "sgd":
        kw["momentum"] = 0.9
    hs = train_ensemble(batch, X, y, optimizer=optimizer, masks=masks, generator=gens, **kw)
    solo_gens = seeded([21, 22, 23])
    for k, net in enumerate(alone):
        names = ["0.weight", "2.weight", "4.weight"]
        m = masks[k]
        if isinstance(m, list):
            m = {name: t.bool() for name, t in zip(names, m) if t is not None}
        if m:
            apply_masks(net, m)
        # the solo generators must be where the batch's were after initialisation
        nets_from([solo_gens[k]], [widths[k]])
        h = solo(net, X, y, optimizer, monkeypatch, generator=solo_gens[k], **kw)
        assert_same_trajectory(hs[k], h, batch[k], net, len(y))
        for name, keep in (m or {}).items():
            weight = dict(batch[k].named_parameters())[name]
            assert (weight[~keep] == 0).all()  # exactly zero
            assert (weight[keep] != 0).all()


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_a_masked_weight_that_would_move_stays_zero(optimizer):
    """Without the mask the pruned weights move far from 0 (and start away from it); with
    it they are exactly 0 at every checkpoint, the others train."""
    X, y = data()
    dense, pruned = nets([8]), nets([8])
    keep = random_mask((8, 5), 0.5, 0)
    before = pruned[0][0].weight.detach().clone()
    assert (before[~keep] != 0).all()
    kw = dict(optimizer=optimizer, lr=0.05, weight_decay=0.01, batch_size=16, epochs=4)
    train_ensemble(dense, X, y, generator=torch.Generator().manual_seed(0), **kw)
    moved = (dense[0][0].weight - before)[~keep].abs()
    assert moved.min() > 0 and moved.mean() > 1e-3
    hs = train_ensemble(pruned, X, y, masks=[{"0.weight": keep}], **kw,
                        generator=torch.Generator().manual_seed(0),
                        callback=lambda m: {"pruned": m[0].weight[~keep].detach().clone()})
    assert (hs[0]["pruned"] == 0).all() and len(hs[0].rows) == 5
    assert (pruned[0][0].weight[~keep] == 0).all()
    assert (pruned[0][0].weight - before)[keep].abs().min() > 0
    assert (pruned[0][2].weight != 0).all()  # an unmasked layer is dense


# --------------------------------------------------------------------------------------------
# Clear errors for the new arguments
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    ({"generator": seeded([1])}, "a list of 2 \\(one per model\\), got a list of 1"),
    ({"generator": [torch.Generator(), 3]}, r"generator\[1\] must be a torch.Generator"),
    ({"generator": 7}, "generator must be a torch.Generator"),
    ({"masks": [None]}, r"one entry per model \(2\), got 1"),
    ({"masks": {"0.weight": torch.ones(4, 5)}}, "masks must be a list of 2"),
    ({"masks": [{"0.weight": torch.ones(5, 4)}, None]},
     r"masks\[0\]\['0.weight'\] has shape \(5, 4\), but the weight 0.weight of models\[0\] "
     r"has shape \(4, 5\)"),
    ({"masks": [None, {"2.weight": torch.full((3, 8), 0.5)}]}, "only 0 and 1.*0.5"),
    ({"masks": [None, {"2.bias": torch.ones(3)}]}, "biases are never masked"),
    ({"masks": [[torch.ones(4, 5)], None]}, r"one mask \(or None\) per Linear layer"),
    ({"masks": [{"0.weight": [[1.0] * 5] * 4}, None]}, "must be a torch tensor"),
    ({"masks": ["dense", None]}, r"masks\[0\] must be None, a dict"),
    ({"callback": "print"}, "callback must be callable"),
    ({"callback": lambda m: 1.0}, "callback must return a dict"),
])
def test_bad_generators_masks_and_callbacks_are_rejected(kwargs, message):
    X, y = data()
    error = TypeError if message in _TYPE_ERRORS else ValueError
    with pytest.raises(error, match=message):
        train_ensemble(nets([4, 8]), X, y, **kwargs)


def test_the_same_generator_twice_is_rejected():
    X, y = data()
    g = torch.Generator()
    with pytest.raises(ValueError, match=r"generator\[0\] and generator\[1\] are the same"):
        train_ensemble(nets([4, 8]), X, y, generator=[g, g])


def test_member_accuracies_equal_argmax_with_ties():
    """The accuracy without argmax picks the first of equal outputs, as argmax does."""
    from utils.ensembles import _member_accuracies
    y = torch.randint(0, 4, (50,), generator=torch.Generator().manual_seed(0))
    for outputs in [torch.zeros(3, 4, 50),  # every class ties (a zero-initialised network)
                    torch.randint(0, 2, (3, 4, 50),
                                  generator=torch.Generator().manual_seed(1)).float(),
                    torch.randn(3, 4, 50, generator=torch.Generator().manual_seed(2))]:
        expected = (outputs.argmax(dim=1) == y).float().mean(dim=1)
        assert torch.equal(_member_accuracies(outputs, y, "cross_entropy"), expected)
        own = y.view(1, 50).expand(3, 50)
        assert torch.equal(_member_accuracies(outputs, own, "cross_entropy"), expected)
