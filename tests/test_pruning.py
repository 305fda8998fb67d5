"""Tests of utils.pruning: masks against brute force, masked training keeps zeros exactly zero,
IMP densities against the closed form, interpolation and barrier against direct computation."""
import copy

import numpy as np
import pytest
import torch
from torch import nn

from utils.checks import CheckFailed, check_function
from utils.models import mlp
from utils.pruning import (apply_masks, density, error_barrier, interpolate_states,
                           interpolation_curve, iterative_magnitude_pruning, magnitude_masks,
                           magnitude_masks_like, mask_overlap, prunable_names, random_masks,
                           reshuffled_reinit, scale_matched_reinit, signed_reinit)
from utils.training import train


def small_net(seed=0):
    return mlp(6, [8, 5], 3, generator=torch.Generator().manual_seed(seed))


def toy_data(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 6, generator=g)
    y = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()
    return X, y


# --- prunable_names ----------------------------------------------------------------------


def test_prunable_names_lists_linear_weights_only():
    assert prunable_names(small_net()) == ["0.weight", "2.weight", "4.weight"]
    assert prunable_names(nn.Linear(2, 2)) == ["weight"]


def test_prunable_names_rejects_bad_input():
    with pytest.raises(ValueError, match="no nn.Linear"):
        prunable_names(nn.ReLU())
    with pytest.raises(TypeError, match="torch.nn.Module"):
        prunable_names("net")


# --- density -------------------------------------------------------------------------------


def test_density_counts_kept_weights_over_all_layers():
    masks = {"a": torch.ones(2, 3, dtype=torch.bool), "b": torch.zeros(4, dtype=torch.bool)}
    assert density(masks) == pytest.approx(6 / 10)


def test_density_rejects_non_boolean_masks():
    with pytest.raises(ValueError, match="boolean"):
        density({"a": torch.ones(3)})
    with pytest.raises(ValueError, match="non-empty"):
        density({})


# --- magnitude_masks ----------------------------------------------------------------------


def brute_force_layer_mask(weight, previous, fraction):
    """Keep the kept-count-minus-round(fraction*kept) largest |w| among previously kept."""
    w = weight.abs().reshape(-1).numpy()
    prev = previous.reshape(-1).numpy()
    kept_idx = np.flatnonzero(prev)
    n_keep = len(kept_idx) - int(round(fraction * len(kept_idx)))
    best = kept_idx[np.argsort(-w[kept_idx], kind="stable")[:n_keep]]
    out = np.zeros(w.size, dtype=bool)
    out[best] = True
    return out.reshape(weight.shape)


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.5, 0.9, 1.0])
def test_magnitude_masks_layerwise_matches_brute_force(fraction):
    net = small_net(1)
    masks = magnitude_masks(net, 0.3)
    new = magnitude_masks(net, fraction, masks=masks)
    for name, w in dict(net.named_parameters()).items():
        if name in new:
            expected = brute_force_layer_mask(w.detach(), masks[name], fraction)
            assert np.array_equal(new[name].numpy(), expected)
            assert not (new[name] & ~masks[name]).any()  # never revives a pruned weight


def test_magnitude_masks_global_uses_one_threshold():
    state = {"a.weight": torch.tensor([[1.0, 2.0], [3.0, 4.0]]),
             "b.weight": torch.tensor([[10.0, 0.5]])}
    masks = magnitude_masks(state, 0.5, scope="global")
    kept = np.sort(np.concatenate([state[n][masks[n]].numpy() for n in state]))
    assert kept.tolist() == [3.0, 4.0, 10.0]
    assert masks["b.weight"].tolist() == [[True, False]]


def test_magnitude_masks_per_layer_fractions():
    net = small_net()
    masks = magnitude_masks(net, {"0.weight": 0.5, "4.weight": 0.25})
    assert int(masks["0.weight"].sum()) == 24       # 48 weights, half pruned
    assert int(masks["2.weight"].sum()) == 40       # not named: not pruned
    assert int(masks["4.weight"].sum()) == 11       # 15 - round(3.75)


def test_magnitude_masks_rejects_bad_arguments():
    net = small_net()
    with pytest.raises(ValueError, match="fraction must be in"):
        magnitude_masks(net, 1.5)
    with pytest.raises(ValueError, match="scope must be one of"):
        magnitude_masks(net, 0.5, scope="neuron")
    with pytest.raises(ValueError, match="single fraction"):
        magnitude_masks(net, {"0.weight": 0.5}, scope="global")
    with pytest.raises(ValueError, match="without a mask"):
        magnitude_masks(net, {"9.weight": 0.5})
    with pytest.raises(ValueError, match="has shape"):
        magnitude_masks(net, 0.5, masks={"0.weight": torch.ones(2, 2, dtype=torch.bool)})
    with pytest.raises(ValueError, match="no 2-D weight"):
        magnitude_masks({"bias": torch.zeros(3)}, 0.5)


# --- random_masks --------------------------------------------------------------------------


def test_random_masks_keep_the_count_per_layer_and_vary_with_the_generator():
    net = small_net()
    masks = magnitude_masks(net, 0.6)
    a = random_masks(masks, torch.Generator().manual_seed(0))
    b = random_masks(masks, torch.Generator().manual_seed(1))
    for name in masks:
        assert int(a[name].sum()) == int(masks[name].sum())
        assert a[name].shape == masks[name].shape
    assert any(not torch.equal(a[n], b[n]) for n in masks)


def test_random_masks_are_uniform_monte_carlo():
    # each position is kept with probability k / n
    masks = {"w": torch.tensor([True] * 3 + [False] * 7)}
    gen = torch.Generator().manual_seed(0)
    freq = torch.stack([random_masks(masks, gen)["w"] for _ in range(4000)]).float().mean(0)
    assert torch.allclose(freq, torch.full((10,), 0.3), atol=0.03)


def test_random_masks_reject_bad_masks():
    with pytest.raises(ValueError, match="boolean"):
        random_masks({"w": torch.ones(3, dtype=torch.int64)})


# --- apply_masks ---------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer, momentum, weight_decay",
                         [("sgd", 0.9, 0.0), ("sgd", 0.9, 0.01), ("sgd", 0.0, 0.1),
                          ("adam", 0.0, 0.01)])
def test_masked_weights_stay_exactly_zero_through_training(optimizer, momentum, weight_decay):
    net = small_net(2)
    masks = magnitude_masks(net, 0.7)
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    apply_masks(net, masks)
    X, y = toy_data()
    train(net, X, y, optimizer=optimizer, lr=0.05, momentum=momentum,
          weight_decay=weight_decay, batch_size=8, epochs=5,
          generator=torch.Generator().manual_seed(0))
    params = dict(net.named_parameters())
    for name, mask in masks.items():
        assert torch.all(params[name][~mask] == 0.0), f"{name}: a pruned weight moved"
        assert not torch.equal(params[name][mask], before[name][mask]), "kept weights trained"


def test_apply_masks_handles_can_be_removed():
    lin = nn.Linear(2, 2)
    handles = apply_masks(lin, {"weight": torch.tensor([[True, False], [False, True]])})
    assert lin.weight[0, 1] == 0 and lin.weight[1, 0] == 0
    for h in handles:
        h.remove()
    lin(torch.ones(1, 2)).sum().backward()
    assert torch.all(lin.weight.grad == 1.0)


def test_apply_masks_rejects_unknown_names_and_shapes():
    with pytest.raises(ValueError, match="names no parameter"):
        apply_masks(nn.Linear(2, 2), {"nope": torch.ones(2, 2, dtype=torch.bool)})
    with pytest.raises(ValueError, match="has shape"):
        apply_masks(nn.Linear(2, 2), {"weight": torch.ones(3, dtype=torch.bool)})
    with pytest.raises(TypeError, match="torch.nn.Module"):
        apply_masks({}, {"weight": torch.ones(3, dtype=torch.bool)})


# --- iterative_magnitude_pruning -----------------------------------------------------------


def test_iterative_magnitude_pruning_densities_follow_the_closed_form():
    net = mlp(20, [50], 10, generator=torch.Generator().manual_seed(0))
    out = iterative_magnitude_pruning(net, lambda m: None, rounds=4, fraction=0.2)
    for r in out:
        # layer sizes 1000 and 500, each keeps ~0.8^r (rounding per round)
        assert r["density"] == pytest.approx(0.8 ** r["round"], abs=2e-3)
    assert [r["round"] for r in out] == [0, 1, 2, 3, 4]


def test_iterative_magnitude_pruning_resets_and_trains_masked_copies():
    net = small_net(3)
    init = copy.deepcopy(net.state_dict())
    X, y = toy_data()
    seen = []

    def train_fn(model):
        # every round starts from the reset state, with pruned weights zero
        params = dict(model.named_parameters())
        for name in prunable_names(model):
            w = params[name].detach()
            nonzero = w != 0
            assert torch.equal(w[nonzero], init[name][nonzero])
        seen.append(density({n: params[n].detach() != 0 for n in prunable_names(model)}))
        h = train(model, X, y, lr=0.1, momentum=0.9, batch_size=16, epochs=3,
                  generator=torch.Generator().manual_seed(0))
        return {"acc": h.final["train_acc"]}

    out = iterative_magnitude_pruning(net, train_fn, rounds=3, fraction=0.5)
    assert [round(d, 6) for d in seen] == [round(r["density"], 6) for r in out]
    assert all("acc" in r for r in out)
    for r in out:  # the recorded trained state respects the round's mask
        for name, mask in r["masks"].items():
            assert torch.all(r["state"][name][~mask] == 0)
    for name, w in net.state_dict().items():  # the model passed in is untouched
        assert torch.equal(w, init[name])


def test_iterative_magnitude_pruning_with_rewinding_state():
    net = small_net(4)
    rewind = {k: v + 1.0 for k, v in net.state_dict().items()}
    starts = []
    iterative_magnitude_pruning(net, lambda m: starts.append(m[0].bias.detach().clone()),
                                rounds=1, fraction=0.5, reset_state=rewind)
    assert all(torch.equal(s, rewind["0.bias"]) for s in starts)


def test_iterative_magnitude_pruning_rejects_bad_arguments():
    net = small_net()
    with pytest.raises(ValueError, match="rounds must be at least 0"):
        iterative_magnitude_pruning(net, lambda m: None, rounds=-1, fraction=0.2)
    with pytest.raises(TypeError, match="train_fn must be callable"):
        iterative_magnitude_pruning(net, None, rounds=1, fraction=0.2)
    with pytest.raises(ValueError, match="fraction must be in"):
        iterative_magnitude_pruning(net, lambda m: None, rounds=1, fraction=2.0)
    with pytest.raises(TypeError, match="dict of metrics"):
        iterative_magnitude_pruning(net, lambda m: m, rounds=1, fraction=0.2)


# --- interpolate_states, interpolation_curve, error_barrier --------------------------------


def test_interpolate_states_matches_numpy():
    a = {"w": torch.randn(3, 4), "step": torch.tensor(3)}
    b = {"w": torch.randn(3, 4), "step": torch.tensor(5)}
    out = interpolate_states(a, b, 0.3)
    expected = 0.7 * a["w"].numpy() + 0.3 * b["w"].numpy()
    assert np.allclose(out["w"].numpy(), expected, atol=1e-6)
    assert out["step"].item() == 3  # integer buffers are not interpolated


def test_interpolate_states_rejects_mismatches():
    with pytest.raises(ValueError, match="same parameters"):
        interpolate_states({"a": torch.zeros(1)}, {"b": torch.zeros(1)}, 0.5)
    with pytest.raises(ValueError, match="has shape"):
        interpolate_states({"a": torch.zeros(1)}, {"a": torch.zeros(2)}, 0.5)
    with pytest.raises(ValueError, match="alpha must be a finite number"):
        interpolate_states({"a": torch.zeros(1)}, {"a": torch.zeros(1)}, float("nan"))


def test_interpolation_curve_endpoints_and_direct_computation():
    X, y = toy_data()
    net_a, net_b = small_net(5), small_net(6)
    curve = interpolation_curve(net_a, net_a.state_dict(), net_b.state_dict(), X, y, alphas=5)
    assert curve["alpha"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    for alpha, err in zip(curve["alpha"], curve["error"]):
        mid = copy.deepcopy(net_a)
        with torch.no_grad():
            for p, pa, pb in zip(mid.parameters(), net_a.parameters(), net_b.parameters()):
                p.copy_((1 - alpha) * pa + alpha * pb)
            direct = (mid(X).argmax(1) != y).float().mean().item()
        assert err == pytest.approx(direct)
    with pytest.raises(ValueError, match="alphas"):
        interpolation_curve(net_a, net_a.state_dict(), net_b.state_dict(), X, y, alphas=[])


def test_error_barrier_matches_definition():
    errors = np.array([0.1, 0.3, 0.25, 0.05])
    assert error_barrier(errors) == pytest.approx(0.3 - 0.075)
    assert error_barrier([0.2, 0.1, 0.2]) == pytest.approx(0.0)   # max is an endpoint
    assert error_barrier([0.1, 0.0, 0.3], alphas=[0.0, 0.5, 1.0]) == pytest.approx(0.1)


def test_error_barrier_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        error_barrier([0.1])
    with pytest.raises(ValueError, match="increase from 0 to 1"):
        error_barrier([0.1, 0.2], alphas=[0.0, 0.5])
    with pytest.raises(ValueError, match="one value per error"):
        error_barrier([0.1, 0.2], alphas=[0.0, 0.5, 1.0])


# --- the lab's checks fail on wrong answers ------------------------------------------------


def test_lab_checks_reject_wrong_answers():
    w = torch.tensor([[0.1, -3.0], [2.0, 0.5]])

    def reference(w, f):
        return magnitude_masks({"w.weight": w}, f)["w.weight"]

    def signed_instead_of_abs(w, f):  # a typical mistake: prunes the most negative weights
        order = torch.argsort(w.reshape(-1))
        keep = torch.ones(w.numel(), dtype=torch.bool)
        keep[order[:int(round(f * w.numel()))]] = False
        return keep.reshape(w.shape)

    with pytest.raises(CheckFailed):
        check_function(signed_instead_of_abs, reference, cases=[(w, 0.5)])

    def barrier_from_first_endpoint(errors):  # forgets to average the two endpoints
        return float(np.max(errors) - errors[0])

    with pytest.raises(CheckFailed):
        check_function(barrier_from_first_endpoint, error_barrier,
                       cases=[(np.array([0.02, 0.10, 0.04]),)])


# --- controls: largest-at-init masks, signed and scale-matched re-initialization -----------


def test_magnitude_masks_like_keeps_the_same_count_of_largest_weights():
    init, fresh = small_net(0).state_dict(), small_net(1).state_dict()
    masks = random_masks(magnitude_masks(init, 0.7), torch.Generator().manual_seed(0))
    like = magnitude_masks_like(init, masks)
    for name, mask in masks.items():
        w = init[name].abs().reshape(-1).numpy()
        k = int(mask.sum())
        brute = np.zeros(w.size, dtype=bool)
        brute[np.argsort(-w, kind="stable")[:k]] = True
        assert np.array_equal(like[name].reshape(-1).numpy(), brute)
    with pytest.raises(ValueError, match="shape"):
        magnitude_masks_like(init, {"0.weight": torch.ones(2, 2, dtype=torch.bool)})
    del fresh


def test_signed_reinit_takes_signs_from_init_and_magnitudes_from_the_fresh_draw():
    init, fresh = small_net(0).state_dict(), small_net(1).state_dict()
    masks = magnitude_masks(init, 0.5)
    out = signed_reinit(init, fresh, masks)
    for name, mask in masks.items():
        kept = mask
        assert torch.equal(torch.sign(out[name][kept]), torch.sign(init[name][kept]))
        assert torch.equal(out[name].abs(), fresh[name].abs())
        assert torch.equal(out[name][~kept], fresh[name][~kept])
    assert torch.equal(out["0.bias"], fresh["0.bias"])          # biases come from the fresh draw
    assert not torch.equal(fresh["0.weight"], init["0.weight"])  # the inputs were not modified
    with pytest.raises(ValueError, match="like init_state"):
        signed_reinit(init, {"0.weight": torch.ones(3, 3)}, masks)


def test_scale_matched_reinit_matches_the_rms_of_the_kept_initial_weights():
    init, fresh = small_net(0).state_dict(), small_net(1).state_dict()
    masks = magnitude_masks(init, 0.8)           # kept initial weights are the large ones
    out = scale_matched_reinit(init, fresh, masks)
    for name, mask in masks.items():
        rms = lambda t: float(t[mask].double().pow(2).mean().sqrt())  # noqa: E731
        assert rms(out[name]) == pytest.approx(rms(init[name]), rel=1e-6)
        assert rms(init[name]) > 1.2 * rms(fresh[name])   # so the rescaling did something
        ratio = (out[name] / fresh[name]).reshape(-1)     # one factor per layer
        assert torch.allclose(ratio, ratio[0].expand_as(ratio), rtol=1e-5)
        assert torch.equal(torch.sign(out[name]), torch.sign(fresh[name]))
    zero = {k: torch.zeros_like(v) for k, v in fresh.items()}
    with pytest.raises(ValueError, match="all zero"):
        scale_matched_reinit(init, zero, masks)


def test_mask_overlap_brute_force_and_random_masks_overlap_at_their_density():
    a = {"w": torch.tensor([[True, True, False], [False, True, False]])}
    b = {"w": torch.tensor([[True, False, False], [False, True, True]])}
    assert mask_overlap(a, b) == {"w": pytest.approx(2 / 3)}
    base = {"w": torch.zeros(100, 100, dtype=torch.bool)}
    base["w"][:, :10] = True                       # density 0.1
    gen = torch.Generator().manual_seed(0)
    values = [mask_overlap(base, random_masks(base, gen))["w"] for _ in range(20)]
    assert np.mean(values) == pytest.approx(0.1, abs=0.01)
    with pytest.raises(ValueError, match="same layers"):
        mask_overlap(a, {"v": b["w"]})
    with pytest.raises(ValueError, match="keeps no weight"):
        mask_overlap({"w": torch.zeros(2, 3, dtype=torch.bool)}, b)


def test_scale_matched_reinit_with_signs_is_the_joint_control_checked_entry_by_entry():
    init, fresh = small_net(0).state_dict(), small_net(1).state_dict()
    masks = magnitude_masks(init, 0.8)
    out = scale_matched_reinit(init, fresh, masks, signs=True)
    for name, mask in masks.items():
        # an independent computation, weight by weight, in numpy
        w0, w1 = init[name].double().numpy(), fresh[name].double().numpy()
        keep = mask.numpy()
        factor = np.sqrt(np.mean(w0[keep] ** 2) / np.mean(w1[keep] ** 2))
        expected = np.where(keep, np.sign(w0) * np.abs(w1), w1) * factor
        np.testing.assert_allclose(out[name].double().numpy(), expected, rtol=1e-6)
        kept = out[name][mask]
        assert torch.equal(torch.sign(kept), torch.sign(init[name][mask]))   # the ticket's signs
        assert float(kept.double().pow(2).mean().sqrt()) == pytest.approx(
            float(init[name][mask].double().pow(2).mean().sqrt()), rel=1e-6)  # and its scale
    for key in fresh:                                 # biases come from the fresh draw
        if key not in masks:
            assert torch.equal(out[key], fresh[key])
    # without signs the kept signs are the fresh draw's (so the option did something), and
    # the joint control is the signs control rescaled
    plain = scale_matched_reinit(init, fresh, masks)
    assert any(not torch.equal(torch.sign(plain[n][m]), torch.sign(out[n][m]))
               for n, m in masks.items())
    composed = scale_matched_reinit(init, signed_reinit(init, fresh, masks), masks)
    for name in masks:
        assert torch.allclose(composed[name], out[name], rtol=1e-6)
    with pytest.raises(TypeError, match="True or False"):
        scale_matched_reinit(init, fresh, masks, signs="yes")


@pytest.mark.parametrize("signs", [False, True])
def test_reshuffled_reinit_matches_a_brute_force_numpy_loop(signs):
    init = small_net(0).state_dict()
    masks = magnitude_masks(init, 0.7)
    out = reshuffled_reinit(init, masks, signs=signs, generator=torch.Generator().manual_seed(5))
    perms = torch.Generator().manual_seed(5)          # the same permutations, drawn again
    for name, mask in masks.items():
        w0, keep = init[name].double().numpy(), mask.numpy()
        positions = [idx for idx in np.ndindex(w0.shape) if keep[idx]]  # row-major, like w[mask]
        perm = torch.randperm(len(positions), generator=perms).numpy()
        expected = w0.copy()
        for slot, idx in enumerate(positions):        # slot-th kept position gets value perm[slot]
            value = w0[positions[perm[slot]]]
            expected[idx] = abs(value) * np.sign(w0[idx]) if signs else value
        np.testing.assert_array_equal(out[name].double().numpy(), expected)
        kept, kept0 = out[name][mask], init[name][mask]
        if signs:   # the original signs, the kept magnitudes' exact distribution
            assert torch.equal(torch.sign(kept), torch.sign(kept0))
            assert torch.equal(torch.sort(kept.abs()).values, torch.sort(kept0.abs()).values)
        else:       # the kept values' exact distribution, signs included
            assert torch.equal(torch.sort(kept).values, torch.sort(kept0).values)
        assert not torch.equal(kept, kept0)           # the values did move
        assert torch.equal(out[name][~mask], init[name][~mask])
    for key in init:                                  # biases are the initial ones
        if key not in masks:
            assert torch.equal(out[key], init[key])
    assert not torch.equal(init["0.weight"], out["0.weight"])   # the input was not modified


def test_reshuffled_reinit_is_a_uniform_permutation_monte_carlo():
    # each kept value lands on each kept position with probability 1 / (number kept)
    init = {"w.weight": torch.arange(1.0, 7.0).reshape(2, 3)}
    mask = {"w.weight": torch.tensor([[True, False, True], [True, True, False]])}
    gen = torch.Generator().manual_seed(0)
    hits = np.zeros(4)
    for _ in range(4000):
        out = reshuffled_reinit(init, mask, generator=gen)["w.weight"][mask["w.weight"]]
        hits += (out.numpy() == 1.0)                  # where the value 1 went
    np.testing.assert_allclose(hits / 4000, 0.25, atol=0.03)


def test_reshuffled_reinit_rejects_bad_arguments():
    init = small_net(0).state_dict()
    masks = magnitude_masks(init, 0.5)
    with pytest.raises(TypeError, match="True or False"):
        reshuffled_reinit(init, masks, signs=1)
    with pytest.raises(TypeError, match="torch.Generator"):
        reshuffled_reinit(init, masks, generator=0)
    with pytest.raises(ValueError, match="names no parameter"):
        reshuffled_reinit(init, {"9.weight": masks["0.weight"]})
