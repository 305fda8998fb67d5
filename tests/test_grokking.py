"""Tests of utils.grokking: tables against brute force, the batched networks and their AdamW
against utils.models.mlp trained alone by torch.optim.AdamW, and the Fourier tools against
explicit projections on cosines and sines."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils.grokking import (PairMLPs, ablate_frequencies, discrete_log_order,
                            dominant_frequencies, energy_matched_shrink, fourier_concentration, fourier_energy,
                            init_pair_mlps, one_hot_pairs, operation_table, pair_metrics,
                            phase_relation, project_frequencies, scramble_phases, split_pairs,
                            train_pair_mlps)
from utils.models import mlp

# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation, rule", [("add", lambda a, b, p: (a + b) % p),
                                             ("sub", lambda a, b, p: (a - b) % p),
                                             ("mul", lambda a, b, p: (a * b) % p)])
def test_operation_table_against_brute_force(operation, rule):
    p = 11
    table = operation_table(p, operation)
    assert table.shape == (p, p) and table.dtype == np.int64
    for a in range(p):
        for b in range(p):
            assert table[a, b] == rule(a, b, p)


def test_random_table_is_seeded_and_in_range():
    t1, t2 = operation_table(13, "random", rng=5), operation_table(13, "random", rng=5)
    assert np.array_equal(t1, t2) and t1.min() >= 0 and t1.max() < 13
    assert not np.array_equal(t1, operation_table(13, "random", rng=6))
    # a random table is not a function of a + b: labels on one anti-diagonal disagree
    sums = (np.arange(13)[:, None] + np.arange(13)[None, :]) % 13
    assert any(len(set(t1[sums == s])) > 1 for s in range(13))


def test_operation_table_rejects_bad_input():
    with pytest.raises(ValueError, match="operation"):
        operation_table(5, "div")
    with pytest.raises(ValueError, match="rng"):
        operation_table(5, "random")
    with pytest.raises(ValueError, match="p must be"):
        operation_table(1)


def test_split_pairs_partitions_and_is_reproducible():
    train, test = split_pairs(9, 0.3, rng=2)
    assert len(train) == round(0.3 * 81) and len(train) + len(test) == 81
    assert not set(train) & set(test)
    assert np.array_equal(train, split_pairs(9, 0.3, rng=2)[0])
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="train_fraction"):
            split_pairs(9, bad, rng=0)
    with pytest.raises(ValueError, match="at least one"):
        split_pairs(3, 0.01, rng=0)


def test_one_hot_pairs_by_hand():
    X = one_hot_pairs(4)
    assert X.shape == (16, 8)
    for a in range(4):
        for b in range(4):
            expected = np.zeros(8)
            expected[a] = expected[4 + b] = 1
            assert np.array_equal(X[a * 4 + b], expected)


def test_discrete_log_order_turns_multiplication_into_addition():
    p = 13
    order = discrete_log_order(p)
    assert sorted(order) == list(range(1, p))
    for i in range(p - 1):
        for j in range(p - 1):
            assert order[i] * order[j] % p == order[(i + j) % (p - 1)]
    with pytest.raises(ValueError, match="prime"):
        discrete_log_order(15)


# --------------------------------------------------------------------------------------------
# Networks and training
# --------------------------------------------------------------------------------------------


def test_pair_mlps_match_utils_models_mlp_on_one_hot_inputs():
    p, H = 7, 12
    nets = init_pair_mlps(p, H, seeds=[4, 9])
    X = torch.as_tensor(one_hot_pairs(p))
    for k, seed in enumerate([4, 9]):
        ref = mlp(2 * p, [H], p, init="kaiming", generator=torch.Generator().manual_seed(seed))
        assert torch.allclose(nets.logits()[k], ref(X), atol=1e-5)
        assert torch.allclose(nets.to_mlp(k)(X), ref(X), atol=1e-5)
    pairs = np.array([[3, 10, 48], [0, 1, 2]])          # one row of pairs per member
    assert torch.allclose(nets.logits(pairs)[0], ref_logits(nets, 0, X)[[3, 10, 48]], atol=1e-6)
    assert nets.input_weights(1, "b").shape == (H, p)
    assert np.allclose(nets.input_weights(1, "b"), nets.w_in[1, p:].numpy().T)


def ref_logits(nets, k, X):
    return nets.to_mlp(k)(X)


def test_pair_mlps_helpers():
    nets = init_pair_mlps(5, 6, seeds=[0, 1, 2])
    norms = nets.norm()
    by_hand = [math.sqrt(sum(float((t[k] ** 2).sum()) for t in nets.parameters()))
               for k in range(3)]
    assert np.allclose(norms, by_hand, rtol=1e-5)
    half = nets.scaled([0.5, 1.0, 2.0])
    assert np.allclose(half.norm(), norms * [0.5, 1.0, 2.0], rtol=1e-5)
    one = nets.select(2)
    assert one.n_members == 1 and torch.equal(one.w_out[0], nets.w_out[2])
    with pytest.raises(ValueError, match="inconsistent"):
        PairMLPs(nets.w_in, nets.b_in[:, :3], nets.w_out, nets.b_out)
    with pytest.raises(ValueError, match="pair indices"):
        nets.logits(np.array([25]))


def alone_with_torch_adamw(p, H, seed, table, train, lr, wd, steps, betas):
    """The reference: utils.models.mlp on one-hot pairs, trained by torch.optim.AdamW."""
    net = mlp(2 * p, [H], p, init="kaiming", generator=torch.Generator().manual_seed(seed))
    X = torch.as_tensor(one_hot_pairs(p))[train]
    y = torch.as_tensor(table.reshape(-1)[train])
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=wd, betas=betas)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(net(X), y).backward()
        opt.step()
    return net


def test_batched_training_equals_each_member_trained_alone_by_torch_adamw():
    p, H, steps, betas = 7, 16, 25, (0.9, 0.98)
    tables = [operation_table(p, "add"), operation_table(p, "random", rng=1)]
    trains = [split_pairs(p, 0.6, rng=0)[0], split_pairs(p, 0.3, rng=1)[0]]   # sizes differ
    lrs, wds = [1e-2, 3e-3], [1.0, 0.0]
    run = train_pair_mlps(tables, trains, hidden=H, seeds=[3, 8], lr=lrs, weight_decay=wds,
                          steps=steps, eval_every=5, snapshot_steps=[0, 10], betas=betas)
    X = torch.as_tensor(one_hot_pairs(p))
    for k in range(2):
        ref = alone_with_torch_adamw(p, H, [3, 8][k], tables[k], trains[k], lrs[k], wds[k],
                                     steps, betas)
        assert torch.allclose(run.nets.to_mlp(k)(X), ref(X), atol=1e-4), f"member {k}"
    assert run.steps.tolist() == [0, 5, 10, 15, 20, 25]
    assert run.train_acc.shape == run.test_loss.shape == (2, 6)
    assert sorted(run.snapshots) == [0, 10]
    assert torch.equal(run.snapshots[0].w_in, init_pair_mlps(p, H, [3, 8]).w_in)
    # the recorded metrics are those of the final networks, computed independently
    acc, loss = pair_metrics(run.nets, run.tables, run.test_pairs)
    assert np.allclose(run.test_acc[:, -1], acc) and np.allclose(run.test_loss[:, -1], loss)
    assert np.allclose(run.norm[:, -1], run.nets.norm())


def test_match_norm_of_holds_one_member_at_another_members_norm():
    p = 7
    table, (train, _) = operation_table(p), split_pairs(p, 0.5, rng=0)
    run = train_pair_mlps([table] * 2, [train] * 2, hidden=16, seeds=[0, 1], lr=1e-2,
                          weight_decay=[1.0, 0.0], steps=30, eval_every=10,
                          match_norm_of=[None, 0])
    assert np.allclose(run.norm[1, 1:], run.norm[0, 1:], rtol=1e-5)
    assert not np.isclose(run.norm[1, 0], 2 * run.norm[0, 0])  # step 0 is before matching
    with pytest.raises(ValueError, match="cannot follow"):
        train_pair_mlps([table] * 2, [train] * 2, hidden=4, seeds=[0, 1], steps=1,
                        match_norm_of=[1, 0])


def test_train_pair_mlps_rejects_bad_input():
    p = 5
    table, (train, _) = operation_table(p), split_pairs(p, 0.5, rng=0)
    with pytest.raises(ValueError, match="one seed per member"):
        train_pair_mlps([table], [train], hidden=4, seeds=[0, 1], steps=1)
    with pytest.raises(ValueError, match="lr"):
        train_pair_mlps([table], [train], hidden=4, seeds=[0], lr=-1.0, steps=1)
    with pytest.raises(ValueError, match="one number per member|list of 1"):
        train_pair_mlps([table], [train], hidden=4, seeds=[0], weight_decay=[1.0, 2.0],
                        steps=1)
    with pytest.raises(ValueError, match="distinct indices"):
        train_pair_mlps([table], [np.array([0, 0, 1])], hidden=4, seeds=[0], steps=1)
    with pytest.raises(ValueError, match="table entries"):
        train_pair_mlps([table + p], [train], hidden=4, seeds=[0], steps=1)


def test_first_step():
    p = 7
    table, (train, _) = operation_table(p), split_pairs(p, 0.6, rng=0)
    run = train_pair_mlps([table], [train], hidden=32, seeds=[0], lr=1e-2, steps=60,
                          eval_every=10)
    hit = run.first_step("train_acc", 1.0, member=0)
    assert hit == run.steps[np.argmax(run.train_acc[0] >= 1.0)]
    assert run.first_step("train_loss", -1.0, member=0) is None
    with pytest.raises(ValueError, match="metric"):
        run.first_step("accuracy", 0.5, member=0)


def test_pair_metrics_by_hand():
    p = 5
    nets = init_pair_mlps(p, 8, seeds=[2])
    table = operation_table(p, "mul")
    pairs = np.array([0, 3, 7, 24])
    acc, loss = pair_metrics(nets, table, pairs)
    logits = nets.to_mlp(0)(torch.as_tensor(one_hot_pairs(p)))[pairs]
    labels = torch.as_tensor(table.reshape(-1)[pairs])
    assert acc[0] == pytest.approx((logits.argmax(1) == labels).float().mean().item())
    assert loss[0] == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-5)


# --------------------------------------------------------------------------------------------
# Fourier tools
# --------------------------------------------------------------------------------------------


def projection_energy(x, k):
    """Squared length of the projection of x on span{cos(2 pi k a / p), sin(2 pi k a / p)}."""
    p = len(x)
    a = np.arange(p)
    basis = [np.ones(p)] if k == 0 else [np.cos(2 * np.pi * k * a / p),
                                         np.sin(2 * np.pi * k * a / p)]
    basis = [v for v in basis if np.linalg.norm(v) > 1e-9]      # sin vanishes at k = p/2
    B = np.stack(basis, axis=1)
    coef, *_ = np.linalg.lstsq(B, x, rcond=None)
    return float(np.sum((B @ coef) ** 2))


@pytest.mark.parametrize("p", [7, 8, 13])
def test_fourier_energy_equals_projection_on_cosines_and_sines(p):
    rng = np.random.default_rng(p)
    x = rng.normal(size=(3, p))
    energy = fourier_energy(x)
    assert energy.shape == (3, p // 2 + 1)
    for row in range(3):
        for k in range(p // 2 + 1):
            assert energy[row, k] == pytest.approx(projection_energy(x[row], k), rel=1e-9)
    assert np.allclose(energy.sum(axis=1), (x ** 2).sum(axis=1))     # Parseval


def test_fourier_concentration_cases():
    p = 11
    a = np.arange(p)
    assert fourier_concentration(2 + np.sin(2 * np.pi * 4 * a / p + 0.3)) == pytest.approx(1.0)
    delta = (a == 3).astype(float)          # equal energy in every frequency
    assert fourier_concentration(delta) == pytest.approx(1 / (p // 2))
    assert np.isnan(fourier_concentration(np.ones(p)))
    # white noise: the largest of m equal chi-square(2) shares has mean H_m / m
    m = p // 2
    noise = np.random.default_rng(0).normal(size=(40_000, p))
    harmonic = sum(1 / j for j in range(1, m + 1))
    assert fourier_concentration(noise).mean() == pytest.approx(harmonic / m, abs=0.005)


def test_dominant_frequencies_against_projections():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 13))
    energies = np.array([[projection_energy(row, k) for k in range(1, 7)] for row in x])
    assert np.array_equal(dominant_frequencies(x), np.argsort(-energies, axis=1)[:, 0] + 1)
    assert np.array_equal(dominant_frequencies(x, rank=2),
                          np.argsort(-energies, axis=1)[:, 1] + 1)
    with pytest.raises(ValueError, match="rank"):
        dominant_frequencies(x, rank=7)


def least_squares_projection(x, freqs):
    p = len(x)
    a = np.arange(p)
    cols = [np.ones(p)] + [f(2 * np.pi * k * a / p) for k in freqs for f in (np.cos, np.sin)]
    B = np.stack(cols, axis=1)
    coef, *_ = np.linalg.lstsq(B, x, rcond=None)
    return B @ coef


def test_project_frequencies_against_least_squares():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 11))
    kept = project_frequencies(x, [2, 5], keep=True)
    removed = project_frequencies(x, [2, 5], keep=False)
    for row in range(4):
        assert np.allclose(kept[row], least_squares_projection(x[row], [2, 5]))
    # keeping and removing split x into two parts that share only the mean
    assert np.allclose(kept + removed - x.mean(axis=1, keepdims=True), x)
    # one frequency per function
    own = dominant_frequencies(x)
    per_row = project_frequencies(x, own, keep=True)
    for row in range(4):
        assert np.allclose(per_row[row], least_squares_projection(x[row], [own[row]]))
    with pytest.raises(ValueError, match="1 .. 5"):
        project_frequencies(x, [0])
    with pytest.raises(ValueError, match="1 .. 5"):
        project_frequencies(x, np.full(4, 6))


def test_ablate_frequencies_acts_on_each_units_own_weights():
    p, H = 11, 6
    nets = init_pair_mlps(p, H, seeds=[5, 6])
    kept = ablate_frequencies(nets, keep=True)
    removed = ablate_frequencies(nets, keep=False, rank=2)
    for k in range(2):
        for part in ("a", "b"):
            w = nets.input_weights(k, part)
            own, second = dominant_frequencies(w), dominant_frequencies(w, rank=2)
            for h in range(H):
                assert np.allclose(kept.input_weights(k, part)[h],
                                   least_squares_projection(w[h], [own[h]]), atol=1e-5)
                assert np.allclose(removed.input_weights(k, part)[h],
                                   w[h] - least_squares_projection(w[h], [second[h]])
                                   + w[h].mean(), atol=1e-5)
    assert torch.equal(kept.w_out, nets.w_out) and torch.equal(kept.b_in, nets.b_in)
    # a network whose units are exact single sinusoids is unchanged by keeping them
    a = np.arange(p)
    w_in = np.concatenate([np.cos(2 * np.pi * 3 * a / p + 0.4)[:, None] * np.ones((1, H))] * 2)
    pure = PairMLPs(torch.as_tensor(w_in[None], dtype=torch.float32), nets.b_in[:1],
                    nets.w_out[:1], nets.b_out[:1])
    assert torch.allclose(ablate_frequencies(pure, keep=True).w_in, pure.w_in, atol=1e-5)
    assert torch.allclose(ablate_frequencies(pure, keep=False).w_in, torch.zeros(1, 2 * p, H),
                          atol=1e-5)


def test_energy_matched_shrink_against_explicit_projections():
    p, H = 11, 6
    nets = init_pair_mlps(p, H, seeds=[3, 4])
    for rank in (1, 2):
        shrunk = energy_matched_shrink(nets, rank=rank)
        for k in range(2):
            for part in ("a", "b"):
                w = nets.input_weights(k, part).astype(np.float64)
                chosen = dominant_frequencies(w, rank=rank)
                for h in range(H):
                    dev = w[h] - w[h].mean()
                    removed = least_squares_projection(w[h], [chosen[h]]) - w[h].mean()
                    scale = math.sqrt(1 - np.sum(removed ** 2) / np.sum(dev ** 2))
                    expected = w[h].mean() + scale * dev
                    assert np.allclose(shrunk.input_weights(k, part)[h], expected, atol=1e-5)
                    # same remaining varying energy as removing that frequency
                    left = shrunk.input_weights(k, part)[h]
                    assert np.isclose(np.sum((left - left.mean()) ** 2),
                                      np.sum((dev - removed) ** 2), rtol=1e-4)
        assert torch.equal(shrunk.w_out, nets.w_out) and torch.equal(shrunk.b_in, nets.b_in)
    with pytest.raises(ValueError, match="rank"):
        energy_matched_shrink(nets, rank=0)


def test_scramble_phases_keeps_every_energy_and_rotates_only_the_own_frequency():
    p, H = 11, 6
    nets = init_pair_mlps(p, H, seeds=[3, 4])
    mixed = scramble_phases(nets, np.random.default_rng(0))
    again = scramble_phases(nets, np.random.default_rng(0))
    assert torch.equal(mixed.w_in, again.w_in)                       # seeded
    for k in range(2):
        for part in ("a", "b"):
            w, m = nets.input_weights(k, part), mixed.input_weights(k, part)
            assert np.allclose(fourier_energy(m), fourier_energy(w), rtol=1e-4, atol=1e-7)
            own = dominant_frequencies(w)
            X, Y = np.fft.rfft(w, axis=-1), np.fft.rfft(m, axis=-1)
            for h in range(H):
                others = np.arange(p // 2 + 1) != own[h]
                assert np.allclose(X[h, others], Y[h, others], atol=1e-5)
                assert not np.isclose(np.angle(X[h, own[h]]), np.angle(Y[h, own[h]]))
    assert torch.equal(mixed.w_out, nets.w_out) and torch.equal(mixed.b_in, nets.b_in)


def test_phase_relation_is_one_for_gromovs_construction_and_small_for_random_phases():
    p, k, H = 13, 4, 64
    rng = np.random.default_rng(1)
    phi, psi = rng.uniform(0, 2 * np.pi, (2, H, 1))
    x = 2 * np.pi * k * np.arange(p) / p
    w_in = torch.tensor(np.concatenate([np.cos(x + phi), np.cos(x + psi)], 1).T[None],
                        dtype=torch.float32)
    for chi, expected in [(phi + psi, 1.0), (phi - psi, None), (rng.uniform(0, 7, (H, 1)), None)]:
        w_out = torch.tensor(np.cos(x + chi)[None], dtype=torch.float32)
        nets = PairMLPs(w_in, torch.zeros(1, H), w_out, torch.zeros(1, p))
        r = phase_relation(nets, 0)
        if expected is None:
            assert r < 0.4                      # about 1 / sqrt(64) for unrelated phases
        else:
            assert abs(r - expected) < 1e-5
    # scrambling the input phases of a network that obeys the relation breaks it
    nets = PairMLPs(w_in, torch.zeros(1, H), torch.tensor(np.cos(x + phi + psi)[None],
                                                          dtype=torch.float32), torch.zeros(1, p))
    assert phase_relation(scramble_phases(nets, np.random.default_rng(2)), 0) < 0.4


def test_first_crossing_against_a_loop():
    from utils.grokking import first_crossing
    rng = np.random.default_rng(0)
    for _ in range(50):
        values = np.sort(rng.random(12)) if rng.random() < 0.5 else rng.random(12)
        steps = np.cumsum(rng.integers(1, 20, 12))
        threshold = rng.random()
        expected = next((int(s) for v, s in zip(values, steps) if v >= threshold), -1)
        assert first_crossing(values, steps, threshold) == expected
    with pytest.raises(ValueError, match="same length"):
        first_crossing([0.1, 0.2], [0], 0.5)



def test_grok_run_first_step_matches_first_crossing_and_falls_for_losses():
    from utils.grokking import GrokRun, first_crossing
    rng = np.random.default_rng(1)
    steps = np.arange(0, 120, 10)
    acc, loss = rng.random((3, 12)), rng.random((3, 12))
    run = GrokRun(steps, acc, acc, loss, loss, None, {}, None, None, [], [])
    for member in range(3):
        for threshold in (0.2, 0.5, 0.95):
            expected = first_crossing(acc[member], steps, threshold)
            assert run.first_step("test_acc", threshold, member) == (None if expected < 0 else expected)
            below = next((int(s) for v, s in zip(loss[member], steps) if v <= threshold), None)
            assert run.first_step("train_loss", threshold, member) == below
    with pytest.raises(ValueError):
        run.first_step("norm", 0.5, member=0)


def test_adamw_step_is_torch_adamw_for_each_member():
    """The shared stacked AdamW step against torch.optim.AdamW run on each member alone."""
    from utils.stack_optim import adamw_step
    g = torch.Generator().manual_seed(0)
    w0 = torch.randn(3, 4, 5, generator=g)
    grads = [torch.randn(3, 4, 5, generator=g) for _ in range(4)]
    lr, wd = torch.tensor([1e-2, 3e-3, 5e-2]), torch.tensor([1.0, 0.0, 0.1])
    w = w0.clone().requires_grad_()
    m, v = [torch.zeros_like(w)], [torch.zeros_like(w)]
    for step, grad in enumerate(grads, start=1):
        w.grad = grad
        adamw_step([w], m, v, step, lr, wd, (0.9, 0.98), 1e-7)
    for k in range(3):
        alone = w0[k].clone().requires_grad_()
        opt = torch.optim.AdamW([alone], lr=float(lr[k]), weight_decay=float(wd[k]),
                                betas=(0.9, 0.98), eps=1e-7)
        for grad in grads:
            alone.grad = grad[k].clone()
            opt.step()
        assert torch.allclose(w[k], alone, rtol=1e-6, atol=1e-7)
