"""Pruning: magnitude masks, masked training, iterative magnitude pruning, linear interpolation.

The tools of the lottery-ticket experiments (Frankle & Carbin, 2019; Frankle et al., 2020):

- a *mask* is a dict mapping a parameter name (``"0.weight"``) to a boolean tensor of the same
  shape, True where the weight is kept. Only the weights of ``nn.Linear`` layers are pruned;
  biases are never pruned, as in the lottery-ticket papers;
- :func:`magnitude_masks` keeps the largest weights (layer by layer, or globally), pruning a
  fraction of the weights that an earlier mask kept; :func:`random_masks` draws masks with the
  same number of kept weights per layer, the control;
- :func:`apply_masks` sets the pruned weights to zero and registers gradient hooks that zero
  their gradients, so they stay exactly zero through any training with SGD (with momentum and
  weight decay) or Adam;
- :func:`iterative_magnitude_pruning` trains, prunes and resets (to the initialization, or
  rewinds to an early checkpoint) for a number of rounds;
- :func:`magnitude_masks_like`, :func:`signed_reinit`, :func:`scale_matched_reinit` (with
  ``signs=True``: signs and scale together), :func:`reshuffled_reinit` (Zhou et al.'s
  reshuffle, unsigned and signed) and :func:`mask_overlap` build the controls that separate
  what a ticket's initial values carry (their signs, their scale, the magnitude at
  initialization) from the mask itself;
- :func:`interpolate_states`, :func:`interpolation_curve` and :func:`error_barrier` measure the
  error along the straight line between two trained networks (linear mode connectivity).
"""
from __future__ import annotations

import copy
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ._validation import check_int, check_option, check_real
from .training import evaluate

__all__ = [
    "prunable_names",
    "density",
    "magnitude_masks",
    "random_masks",
    "apply_masks",
    "iterative_magnitude_pruning",
    "magnitude_masks_like",
    "signed_reinit",
    "scale_matched_reinit",
    "reshuffled_reinit",
    "mask_overlap",
    "interpolate_states",
    "interpolation_curve",
    "error_barrier",
]

Masks = dict[str, torch.Tensor]
SCOPES = ("layerwise", "global")


def prunable_names(model: nn.Module) -> list[str]:
    """Names of the parameters that pruning acts on: the weights of every ``nn.Linear``.

    Example
    -------
    >>> from utils.models import mlp
    >>> prunable_names(mlp(4, [3], 2))
    ['0.weight', '2.weight']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    names = [f"{prefix}.weight" if prefix else "weight"
             for prefix, module in model.named_modules() if isinstance(module, nn.Linear)]
    if not names:
        raise ValueError("model has no nn.Linear layer to prune")
    return names


def _check_masks(masks, weights: Mapping[str, torch.Tensor] | None = None) -> Masks:
    if not isinstance(masks, Mapping) or not masks:
        error = ValueError if isinstance(masks, Mapping) else TypeError
        raise error("masks must be a non-empty dict of parameter name -> boolean tensor")
    for name, mask in masks.items():
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            error = ValueError if isinstance(mask, torch.Tensor) else TypeError
            raise error(f"mask {name!r} must be a boolean torch tensor, got "
                             f"{getattr(mask, 'dtype', type(mask).__name__)}")
        if weights is not None:
            if name not in weights:
                raise ValueError(f"mask {name!r} names no parameter of the model; "
                                 f"prunable parameters: {sorted(weights)}")
            if mask.shape != weights[name].shape:
                raise ValueError(f"mask {name!r} has shape {tuple(mask.shape)}, but the weight "
                                 f"has shape {tuple(weights[name].shape)}")
    return dict(masks)


def density(masks: Mapping[str, torch.Tensor]) -> float:
    """Fraction of the weights a mask keeps, over all its layers together.

    Example
    -------
    >>> density({"a": torch.tensor([True, False]), "b": torch.tensor([True, True])})
    0.75
    """
    masks = _check_masks(masks)
    kept = sum(int(m.sum()) for m in masks.values())
    return kept / sum(m.numel() for m in masks.values())


def _weights(model_or_state) -> dict[str, torch.Tensor]:
    """The prunable weights of a model, or of a state dict (every 2-D tensor named *weight)."""
    if isinstance(model_or_state, nn.Module):
        params = dict(model_or_state.named_parameters())
        return {name: params[name].detach() for name in prunable_names(model_or_state)}
    if isinstance(model_or_state, Mapping):
        weights = {k: v.detach() for k, v in model_or_state.items()
                   if k.endswith("weight") and isinstance(v, torch.Tensor) and v.ndim == 2}
        if not weights:
            raise ValueError("the state dict holds no 2-D weight tensor to prune")
        return weights
    raise ValueError("expected a torch.nn.Module or a state dict, got "
                     f"{type(model_or_state).__name__}")


def _keep_top(scores: torch.Tensor, n_keep: int) -> torch.Tensor:
    """Boolean mask keeping the ``n_keep`` largest entries of ``scores`` (ties: lowest index)."""
    flat = scores.reshape(-1)
    order = torch.argsort(flat, descending=True, stable=True)
    keep = torch.zeros(flat.numel(), dtype=torch.bool)
    keep[order[:n_keep]] = True
    return keep.reshape(scores.shape)


def magnitude_masks(model_or_state, fraction: float | Mapping[str, float],
                    masks: Mapping[str, torch.Tensor] | None = None,
                    scope: str = "layerwise") -> Masks:
    """Prune ``fraction`` of the still-kept weights with the smallest magnitude.

    Parameters
    ----------
    model_or_state : torch.nn.Module or dict
        The trained network (or its ``state_dict``) whose weight magnitudes decide.
    fraction : float or dict of name -> float
        Fraction in [0, 1] of the weights kept by ``masks`` to remove now. 'layerwise' scope
        accepts one fraction per layer (a dict; layers it does not name get 0), e.g. 0.2 for
        hidden layers and 0.1 for the output layer as in Frankle & Carbin (2019).
    masks : dict, optional
        The current masks; weights they prune stay pruned. None means nothing pruned yet.
    scope : {'layerwise', 'global'}
        'layerwise': each layer loses ``round(fraction * kept)`` of its own kept weights;
        'global': one threshold over all layers, so layers with larger weights keep more.

    Returns
    -------
    dict of name -> bool tensor
        The new masks (True = kept). Ties in magnitude are broken by position.

    Example
    -------
    >>> state = {"w.weight": torch.tensor([[0.1, -3.0], [2.0, 0.5]])}
    >>> magnitude_masks(state, 0.5)["w.weight"]
    tensor([[False,  True],
            [ True, False]])
    """
    weights = _weights(model_or_state)
    check_option("scope", scope, SCOPES)
    if masks is None:
        masks = {name: torch.ones_like(w, dtype=torch.bool) for name, w in weights.items()}
    masks = _check_masks(masks, weights)
    if isinstance(fraction, Mapping):
        if scope == "global":
            raise ValueError("scope='global' takes a single fraction, not one per layer")
        unknown = set(fraction) - set(masks)
        if unknown:
            raise ValueError(f"fraction names layers without a mask: {sorted(unknown)}; "
                             f"masked layers: {sorted(masks)}")
        fractions = {name: check_real(f"fraction[{name!r}]", fraction.get(name, 0.0), 0.0, 1.0)
                     for name in masks}
    else:
        fraction = check_real("fraction", fraction, 0.0, 1.0)
        fractions = {name: fraction for name in masks}

    if scope == "layerwise":
        new = {}
        for name, mask in masks.items():
            kept = int(mask.sum())
            n_keep = kept - int(round(fractions[name] * kept))
            scores = weights[name].abs().float().masked_fill(~mask, -1.0)
            new[name] = _keep_top(scores, n_keep) & mask
        return new
    names = list(masks)
    scores = torch.cat([weights[n].abs().float().masked_fill(~masks[n], -1.0).reshape(-1)
                        for n in names])
    kept = sum(int(masks[n].sum()) for n in names)
    keep = _keep_top(scores, kept - int(round(fraction * kept)))
    new, start = {}, 0
    for n in names:
        size = masks[n].numel()
        new[n] = keep[start:start + size].reshape(masks[n].shape) & masks[n]
        start += size
    return new


def random_masks(masks: Mapping[str, torch.Tensor],
                 generator: torch.Generator | None = None) -> Masks:
    """Masks keeping, in each layer, as many weights as ``masks`` does, chosen at random.

    The control of the lottery-ticket experiments: same sparsity per layer, no magnitude
    information.

    Example
    -------
    >>> m = {"w": torch.tensor([[True, False, False], [True, True, False]])}
    >>> r = random_masks(m, generator=torch.Generator().manual_seed(0))
    >>> int(r["w"].sum()), r["w"].shape
    (3, torch.Size([2, 3]))
    """
    masks = _check_masks(masks)
    new = {}
    for name, mask in masks.items():
        order = torch.randperm(mask.numel(), generator=generator)
        keep = torch.zeros(mask.numel(), dtype=torch.bool)
        keep[order[:int(mask.sum())]] = True
        new[name] = keep.reshape(mask.shape)
    return new


def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> list:
    """Zero the pruned weights of ``model`` in place and keep them zero during training.

    Each masked parameter gets a gradient hook that multiplies its gradient by the mask. A
    pruned weight then starts at 0 and receives a zero gradient, so SGD (with or without
    momentum and weight decay: every term of its update is a multiple of 0) and Adam leave it
    at exactly 0.

    Parameters
    ----------
    model : torch.nn.Module
    masks : dict of name -> bool tensor
        Keys are parameter names of ``model`` (see :func:`prunable_names`).

    Returns
    -------
    list of torch.utils.hooks.RemovableHandle
        Call ``handle.remove()`` on each to lift the constraint.

    Example
    -------
    >>> lin = nn.Linear(2, 2)
    >>> _ = apply_masks(lin, {"weight": torch.tensor([[True, False], [False, True]])})
    >>> lin(torch.ones(1, 2)).sum().backward()
    >>> lin.weight.grad
    tensor([[1., 0.],
            [0., 1.]])
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = dict(model.named_parameters())
    masks = _check_masks(masks, params)
    handles = []
    with torch.no_grad():
        for name, mask in masks.items():
            param = params[name]
            keep = mask.to(param.dtype)
            param.mul_(keep)
            handles.append(param.register_hook(lambda grad, keep=keep: grad * keep))
    return handles


def iterative_magnitude_pruning(model: nn.Module, train_fn: Callable[[nn.Module], dict | None],
                                rounds: int, fraction: float | Mapping[str, float],
                                reset_state: Mapping[str, torch.Tensor] | None = None,
                                scope: str = "layerwise",
                                masks: Mapping[str, torch.Tensor] | None = None) -> list[dict]:
    """Iterative magnitude pruning (IMP): train, prune the smallest weights, reset, repeat.

    Round r (r = 0 .. ``rounds``): set the network to ``reset_state`` (the initialization, or
    for *rewinding* the weights after k training steps), apply the current masks, train it
    with ``train_fn``, and record the result; then, unless it is the last round, prune
    ``fraction`` of the surviving weights by magnitude of the *trained* weights. Round 0 trains
    the unpruned network (with ``masks`` if given).

    Parameters
    ----------
    model : torch.nn.Module
        The network; it is not modified (each round trains a fresh copy).
    train_fn : callable
        ``train_fn(model)`` trains the masked copy in place and returns a dict of metrics
        (or None).
    rounds : int
        Number of pruning rounds, >= 0.
    fraction : float or dict
        Fraction of surviving weights pruned per round (see :func:`magnitude_masks`).
    reset_state : dict, optional
        The weights every round starts from; None means the weights ``model`` has now.
    scope : {'layerwise', 'global'}
    masks : dict, optional
        Initial masks (None: dense).

    Returns
    -------
    list of dict
        One entry per round with keys ``round``, ``density``, ``masks`` (those the network
        was trained with), ``state`` (its trained weights) and the metrics of ``train_fn``.

    Example
    -------
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> out = iterative_magnitude_pruning(net, lambda m: None, rounds=2, fraction=0.5)
    >>> [round(r["density"], 3) for r in out]
    [1.0, 0.5, 0.25]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(train_fn):
        raise TypeError(f"train_fn must be callable, got {type(train_fn).__name__}")
    rounds = check_int("rounds", rounds, minimum=0)
    check_option("scope", scope, SCOPES)
    start = copy.deepcopy(dict(reset_state if reset_state is not None else model.state_dict()))
    if masks is None:
        masks = {name: torch.ones_like(w, dtype=torch.bool)
                 for name, w in _weights(model).items()}
    masks = _check_masks(masks, _weights(model))
    # validate the fraction once, before any training
    magnitude_masks(start, fraction, masks=masks, scope=scope)
    results = []
    for r in range(rounds + 1):
        net = copy.deepcopy(model)
        net.load_state_dict(start)
        handles = apply_masks(net, masks)
        metrics = train_fn(net)
        if metrics is None:
            metrics = {}
        if not isinstance(metrics, Mapping):
            raise TypeError("train_fn must return a dict of metrics or None, got "
                             f"{type(metrics).__name__}")
        for h in handles:
            h.remove()
        state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        results.append({"round": r, "density": density(masks),
                        "masks": {k: v.clone() for k, v in masks.items()},
                        "state": state, **metrics})
        if r < rounds:
            masks = magnitude_masks(state, fraction, masks=masks, scope=scope)
    return results


# --- controls for what a ticket's initial values carry ------------------------------------

def magnitude_masks_like(model_or_state, masks: Mapping[str, torch.Tensor]) -> Masks:
    """Masks keeping, in each layer, as many weights as ``masks`` does: the largest in magnitude.

    With the *initial* weights this is the control "mask = largest |theta_0|, no training":
    if a lottery ticket's mask were only "the weights that were large at initialization",
    this mask would train as well as the ticket's.

    Example
    -------
    >>> state = {"w.weight": torch.tensor([[0.1, -3.0], [2.0, 0.5]])}
    >>> magnitude_masks_like(state, {"w.weight": torch.tensor([[True, False], [False, False]])})
    {'w.weight': tensor([[False,  True],
            [False, False]])}
    """
    weights = _weights(model_or_state)
    masks = _check_masks(masks, weights)
    return {name: _keep_top(weights[name].abs().float(), int(mask.sum()))
            for name, mask in masks.items()}


def _check_same_weights(init_state, fresh_state, masks):
    init_w, fresh_w = _weights(init_state), _weights(fresh_state)
    masks = _check_masks(masks, init_w)
    for name in masks:
        if name not in fresh_w or fresh_w[name].shape != init_w[name].shape:
            raise ValueError(f"fresh_state must hold {name!r} with shape "
                             f"{tuple(init_w[name].shape)}, like init_state")
    return init_w, fresh_w, masks


def signed_reinit(init_state: Mapping[str, torch.Tensor], fresh_state: Mapping[str, torch.Tensor],
                  masks: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A re-initialization that keeps the original *signs*: sign(theta_0) * |theta_0'|.

    For every masked weight, the magnitude comes from the fresh draw ``fresh_state`` (so it has
    the dense network's scale) and the sign from ``init_state``; biases and every other entry
    are taken from ``fresh_state``. The control of Zhou et al. (2019), who found that a
    re-initialized ticket trains well again when it keeps the original signs.

    Returns
    -------
    dict
        A full state dict (a copy of ``fresh_state`` with the masked weights' signs replaced).

    Example
    -------
    >>> init = {"w.weight": torch.tensor([[0.5, -2.0]])}
    >>> fresh = {"w.weight": torch.tensor([[-0.1, -0.3]])}
    >>> signed_reinit(init, fresh, {"w.weight": torch.tensor([[True, True]])})["w.weight"]
    tensor([[ 0.1000, -0.3000]])
    """
    init_w, fresh_w, masks = _check_same_weights(init_state, fresh_state, masks)
    out = {k: v.detach().clone() for k, v in fresh_state.items()}
    for name, mask in masks.items():
        signed = torch.sign(init_w[name]) * fresh_w[name].abs()
        out[name] = torch.where(mask, signed, fresh_w[name]).to(fresh_w[name].dtype)
    return out


def scale_matched_reinit(init_state: Mapping[str, torch.Tensor],
                         fresh_state: Mapping[str, torch.Tensor],
                         masks: Mapping[str, torch.Tensor],
                         signs: bool = False) -> dict[str, torch.Tensor]:
    """A re-initialization rescaled, layer by layer, to the scale of the ticket's kept weights.

    In each masked layer the fresh weights are multiplied by one factor, so that the root mean
    square of the *kept* fresh weights equals that of the kept initial weights of
    ``init_state``. Signs and relative sizes stay random; only the scale is the ticket's. If a
    ticket beat random re-initialization only because its kept weights are larger (magnitude
    pruning keeps weights that were large at initialization), this control would match it.

    With ``signs=True`` the kept weights also take the signs of ``init_state`` (as in
    :func:`signed_reinit`): the joint control, the ticket's signs *and* its scale with fresh
    magnitudes. If signs and scale together were all that a ticket's initial values carry, this
    control would match the ticket.

    Parameters
    ----------
    init_state, fresh_state : dict
        State dicts of the same network: the original initialization and a fresh draw.
    masks : dict of name -> bool tensor
        The ticket's masks (keys are weight names of both states).
    signs : bool, default False
        Also give the kept weights the signs of ``init_state``.

    Returns
    -------
    dict
        A full state dict (a copy of ``fresh_state`` with the masked layers rescaled).

    Example
    -------
    >>> init = {"w.weight": torch.tensor([[3.0, 0.1, -4.0]])}
    >>> fresh = {"w.weight": torch.tensor([[-1.0, 2.0, -1.0]])}
    >>> mask = {"w.weight": torch.tensor([[True, False, True]])}
    >>> scale_matched_reinit(init, fresh, mask)["w.weight"]    # rms of kept 1 -> 3.5355
    tensor([[-3.5355,  7.0711, -3.5355]])
    >>> scale_matched_reinit(init, fresh, mask, signs=True)["w.weight"]   # kept: signs of init
    tensor([[ 3.5355,  7.0711, -3.5355]])
    """
    if not isinstance(signs, bool):
        raise TypeError(f"signs must be True or False, got {signs!r}")
    init_w, fresh_w, masks = _check_same_weights(init_state, fresh_state, masks)
    if signs:   # the signs change no magnitude, so the rescaling below is the same
        fresh_state = signed_reinit(init_state, fresh_state, masks)
        fresh_w = _weights(fresh_state)
    out = {k: v.detach().clone() for k, v in fresh_state.items()}
    for name, mask in masks.items():
        if not mask.any():
            continue
        target = init_w[name][mask].double().pow(2).mean().sqrt()
        current = fresh_w[name][mask].double().pow(2).mean().sqrt()
        if current == 0:
            raise ValueError(f"the fresh weights kept by the mask of {name!r} are all zero: "
                             "nothing to rescale")
        out[name] = (fresh_w[name].double() * (target / current)).to(fresh_w[name].dtype)
    return out


def reshuffled_reinit(init_state: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor],
                      signs: bool = False,
                      generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Zhou et al.'s (2019) *reshuffle*: the kept initial values, permuted within each layer.

    In every masked layer the initial values of the kept weights are permuted at random among
    the kept positions, so the kept weights have exactly the ticket's distribution of initial
    values (scale, tails and all) but at random places. With ``signs=True`` (their *signed
    reshuffle*) the permuted values lose their own signs and take the original sign of the
    position they land on: the ticket's signs and its exact distribution of magnitudes, with
    the magnitudes at random places. Pruned entries and biases are those of ``init_state``
    (``apply_masks`` zeroes the pruned ones). This follows ``random_reshuffle`` and
    ``signed_reshuffle`` in the authors' released code (``train_lottery.py``).

    Parameters
    ----------
    init_state : dict
        The ticket's initial state dict.
    masks : dict of name -> bool tensor
        The ticket's masks (keys are weight names of ``init_state``).
    signs : bool, default False
        Put the original signs back on the permuted magnitudes.
    generator : torch.Generator, optional
        Source of the permutations (one ``torch.randperm`` per layer, in the order of
        ``masks``).

    Returns
    -------
    dict
        A full state dict (a copy of ``init_state`` with the kept weights reshuffled).

    Example
    -------
    >>> init = {"w.weight": torch.tensor([[3.0, 0.1, -4.0, 0.5]])}
    >>> mask = {"w.weight": torch.tensor([[True, False, True, True]])}
    >>> out = reshuffled_reinit(init, mask, generator=torch.Generator().manual_seed(1))
    >>> sorted(out["w.weight"][mask["w.weight"]].tolist()), out["w.weight"][0, 1].item()
    ([-4.0, 0.5, 3.0], 0.10000000149011612)
    >>> out = reshuffled_reinit(init, mask, signs=True, generator=torch.Generator().manual_seed(1))
    >>> torch.sign(out["w.weight"]).tolist()                # the original signs
    [[1.0, 1.0, -1.0, 1.0]]
    """
    if not isinstance(signs, bool):
        raise TypeError(f"signs must be True or False, got {signs!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got "
                         f"{type(generator).__name__}")
    init_w = _weights(init_state)
    masks = _check_masks(masks, init_w)
    out = {k: v.detach().clone() for k, v in init_state.items()}
    for name, mask in masks.items():
        w = init_w[name]
        kept = w[mask]
        shuffled = kept[torch.randperm(kept.numel(), generator=generator)]
        if signs:
            shuffled = shuffled.abs() * torch.sign(kept)
        new = w.clone()
        new[mask] = shuffled
        out[name] = new
    return out


def mask_overlap(masks_a: Mapping[str, torch.Tensor],
                 masks_b: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """Per layer, the fraction of the weights kept by ``masks_a`` that ``masks_b`` keeps too.

    For two masks with the same count per layer this is symmetric; a random mask of density
    p overlaps about p with any fixed mask, so compare with the layer's density.

    Example
    -------
    >>> a = {"w": torch.tensor([True, True, False, False])}
    >>> b = {"w": torch.tensor([True, False, True, False])}
    >>> mask_overlap(a, b)
    {'w': 0.5}
    """
    masks_a, masks_b = _check_masks(masks_a), _check_masks(masks_b)
    out = {}
    for name, a, b in _paired(masks_a, masks_b, "masks", "name the same layers", "mask "):
        if not a.any():
            raise ValueError(f"masks_a keeps no weight of {name!r}: overlap undefined")
        out[name] = float((a & b).sum()) / float(a.sum())
    return out


def _paired(a: Mapping, b: Mapping, kind: str, same: str, label: str = ""):
    """(name, a[name], b[name]) for two dicts of tensors with the same names and shapes.

    ``kind`` names the arguments (``masks`` -> masks_a, masks_b) in the error messages.
    """
    if set(a) != set(b):
        raise ValueError(f"{kind}_a and {kind}_b must {same}; they differ in "
                         f"{sorted(set(a) ^ set(b))}")
    for name, x in a.items():
        y = b[name]
        if x.shape != y.shape:
            raise ValueError(f"{label}{name!r} has shape {tuple(x.shape)} in {kind}_a and "
                             f"{tuple(y.shape)} in {kind}_b")
        yield name, x, y


def interpolate_states(state_a: Mapping[str, torch.Tensor], state_b: Mapping[str, torch.Tensor],
                       alpha: float) -> dict[str, torch.Tensor]:
    """The weights ``(1 - alpha) * state_a + alpha * state_b``, entry by entry.

    Example
    -------
    >>> interpolate_states({"w": torch.tensor([0.0, 2.0])}, {"w": torch.tensor([4.0, 2.0])}, 0.25)
    {'w': tensor([1., 2.])}
    """
    alpha = check_real("alpha", alpha)
    if not isinstance(state_a, Mapping) or not isinstance(state_b, Mapping):
        raise TypeError("state_a and state_b must be state dicts (name -> tensor)")
    out = {}
    for name, a, b in _paired(state_a, state_b, "state", "hold the same parameters"):
        out[name] = torch.lerp(a.float(), b.float(), alpha).to(a.dtype) \
            if a.is_floating_point() else a.clone()
    return out


def interpolation_curve(model: nn.Module, state_a: Mapping[str, torch.Tensor],
                        state_b: Mapping[str, torch.Tensor], X: torch.Tensor, y: torch.Tensor,
                        alphas: Sequence[float] | int = 11,
                        loss: str = "cross_entropy") -> dict[str, np.ndarray]:
    """Loss and error of the networks on the straight line between two weight vectors.

    Parameters
    ----------
    model : torch.nn.Module
        The architecture (its own weights are left unchanged: a copy is evaluated).
    state_a, state_b : dict
        The two endpoints (state dicts of ``model``'s architecture).
    X, y : torch.Tensor
        Evaluation data.
    alphas : sequence of float or int
        Where to evaluate (0 is ``state_a``, 1 is ``state_b``), or a number >= 2 of evenly
        spaced points from 0 to 1.

    Returns
    -------
    dict with arrays ``alpha``, ``loss``, ``error`` (fraction misclassified)

    Example
    -------
    >>> net = nn.Linear(2, 2); s = net.state_dict()
    >>> X, y = torch.randn(8, 2), torch.randint(0, 2, (8,))
    >>> c = interpolation_curve(net, s, s, X, y, alphas=3)
    >>> c["alpha"].tolist(), bool(np.ptp(c["error"]) == 0)
    ([0.0, 0.5, 1.0], True)
    """
    if isinstance(alphas, (int, np.integer)) and not isinstance(alphas, bool):
        alphas = np.linspace(0.0, 1.0, check_int("alphas", alphas, minimum=2))
    alphas = np.asarray(alphas, dtype=float)
    if alphas.ndim != 1 or alphas.size == 0 or not np.isfinite(alphas).all():
        raise ValueError("alphas must be a number of points (>= 2) or a 1-D sequence of "
                         "finite numbers")
    net = copy.deepcopy(model)
    losses, errors = [], []
    for alpha in alphas:
        net.load_state_dict(interpolate_states(state_a, state_b, float(alpha)))
        metrics = evaluate(net, X, y, loss)
        losses.append(metrics["loss"])
        errors.append(1.0 - metrics["accuracy"])
    return {"alpha": alphas, "loss": np.array(losses), "error": np.array(errors)}


def error_barrier(errors, alphas=None) -> float:
    """Height of the error barrier along a path: max error minus the mean of the endpoints.

    Frankle et al. (2020) call two networks *linearly mode connected* when this is about 0,
    i.e. no point on the line between them is worse than the average of the two ends.

    Parameters
    ----------
    errors : array of float
        Errors at the points of the path, in order; the first and last are the endpoints.
    alphas : array of float, optional
        Their positions; only checked (same length, increasing, from 0 to 1).

    Example
    -------
    >>> round(error_barrier([0.02, 0.10, 0.04]), 6)
    0.07
    """
    errors = np.asarray(errors, dtype=float)
    if errors.ndim != 1 or errors.size < 2 or not np.isfinite(errors).all():
        raise ValueError("errors must be a 1-D array of at least 2 finite numbers (the "
                         "endpoints first and last)")
    if alphas is not None:
        alphas = np.asarray(alphas, dtype=float)
        if alphas.shape != errors.shape:
            raise ValueError(f"alphas must have one value per error ({errors.size}), got "
                             f"shape {alphas.shape}")
        if alphas[0] != 0 or alphas[-1] != 1 or np.any(np.diff(alphas) <= 0):
            raise ValueError("alphas must increase from 0 to 1")
    return float(errors.max() - 0.5 * (errors[0] + errors[-1]))
