"""Grokking: modular-arithmetic tables, a batched one-hidden-layer MLP, and Fourier tools.

The setting of Chapter 6, simplified from the papers' transformers to an MLP on one-hot
pairs: a network sees ``(a, b)`` with ``a, b`` in ``0 .. p-1``, each as a one-hot vector
(concatenated, ``2p`` inputs), and must output ``c = a o b`` (mod ``p``) among ``p``
classes. Half of the ``p**2`` pairs (or another fraction) are for training; the rest
measure generalization.

**Data** (:func:`operation_table`, :func:`split_pairs`, :func:`one_hot_pairs`). A table is a
``(p, p)`` integer array; pair ``(a, b)`` has the flat index ``a * p + b`` everywhere in
this module.

**Networks and training** (:class:`PairMLPs`, :func:`init_pair_mlps`,
:func:`train_pair_mlps`). ``K`` independent networks are stored stacked and trained as one
batched computation with full-batch AdamW, each on its own table, training pairs, learning
rate and weight decay. The first layer of an MLP on one-hot pairs is a lookup: its
pre-activation is ``W[:, a] + W[:, p + b] + bias``, which is what :class:`PairMLPs`
computes (one gather instead of a product with a mostly-zero input). Every member is
exactly :func:`utils.models.mlp` with ``init='kaiming'`` trained alone by
``torch.optim.AdamW`` (checked in the tests). This module trains its own networks instead
of calling :func:`utils.ensembles.train_ensemble` because the lab needs what that helper
(one shared data set, no snapshots) does not offer: a different table and training set per
member, weights saved during training for the progress measures, and a run whose weight
norm is held equal to another run's.

**Fourier tools** (:func:`fourier_energy`, :func:`fourier_concentration`,
:func:`dominant_frequencies`, :func:`project_frequencies`, :func:`ablate_frequencies`,
:func:`discrete_log_order`). A hidden unit's input weights from ``a`` are a function on
``Z_p``; its discrete Fourier transform says which frequencies it uses. After grokking,
each unit is close to a single frequency, the same for ``a`` and ``b`` (Nanda et al. 2023
for a transformer; Gromov 2023 for an MLP). Ablations project each unit's weights on its
own dominant frequency (the Fourier part alone, in the spirit of Nanda et al.'s restricted
loss) or remove that frequency (their excluded loss), and measure what is left.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from utils.models import mlp
from utils.progress import progress_bar

from ._validation import check_int, check_option, check_real, check_rng
from .engine import make_config
from .stack_optim import adamw_step

__all__ = [
    "OPERATIONS",
    "operation_table",
    "split_pairs",
    "one_hot_pairs",
    "PairMLPs",
    "init_pair_mlps",
    "GrokRun",
    "train_pair_mlps",
    "fourier_energy",
    "fourier_concentration",
    "dominant_frequencies",
    "project_frequencies",
    "ablate_frequencies",
    "energy_matched_shrink",
    "scramble_phases",
    "phase_relation",
    "pair_metrics",
    "first_crossing",
    "discrete_log_order",
]

OPERATIONS = ("add", "sub", "mul", "random")


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def _check_p(p) -> int:
    return check_int("p", p, minimum=2)


def operation_table(p: int, operation: str = "add", rng=None) -> np.ndarray:
    """The ``(p, p)`` table of ``c = a o b``: entry ``[a, b]`` is the label of pair ``(a, b)``.

    Parameters
    ----------
    p : int
        The modulus (number of symbols), at least 2.
    operation : {'add', 'sub', 'mul', 'random'}
        ``(a + b) mod p``, ``(a - b) mod p``, ``(a * b) mod p``, or a table of labels drawn
        uniformly at random (a task with no rule to find: the control that cannot grok).
    rng : numpy Generator or int, optional
        Source of the random table (required for 'random', ignored otherwise).

    Returns
    -------
    numpy.ndarray of int64, shape (p, p)

    Example
    -------
    >>> operation_table(5)[3, 4], operation_table(5, "sub")[1, 3], operation_table(5, "mul")[3, 4]
    (np.int64(2), np.int64(3), np.int64(2))
    """
    p = _check_p(p)
    check_option("operation", operation, OPERATIONS)
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    if operation == "add":
        return (a + b) % p
    if operation == "sub":
        return (a - b) % p
    if operation == "mul":
        return (a * b) % p
    if rng is None:
        raise ValueError("operation='random' needs rng (a numpy Generator or an int seed)")
    return check_rng(rng).integers(0, p, size=(p, p)).astype(np.int64)


def split_pairs(p: int, train_fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """A random split of the ``p**2`` pairs into training and test pairs (flat indices).

    The number of training pairs is ``round(train_fraction * p**2)``; pair ``(a, b)`` has
    index ``a * p + b``. Both index arrays are sorted.

    Example
    -------
    >>> train, test = split_pairs(5, 0.4, rng=0)
    >>> len(train), len(test), sorted(set(train) | set(test)) == list(range(25))
    (10, 15, True)
    """
    p = _check_p(p)
    train_fraction = check_real("train_fraction", train_fraction, 0.0, 1.0, low_open=True,
                                high_open=True)
    n_train = int(round(train_fraction * p * p))
    if not 1 <= n_train < p * p:
        raise ValueError(f"train_fraction={train_fraction} leaves {n_train} of {p * p} pairs "
                         "for training; at least one must be in each part")
    order = check_rng(rng).permutation(p * p)
    return np.sort(order[:n_train]), np.sort(order[n_train:])


def one_hot_pairs(p: int) -> np.ndarray:
    """Every pair as the concatenation of two one-hot vectors, shape ``(p**2, 2p)``, float32.

    Row ``a * p + b`` has ones in columns ``a`` and ``p + b``: the input the MLP of
    :func:`utils.models.mlp` would see.

    Example
    -------
    >>> one_hot_pairs(3)[1 * 3 + 2].tolist()
    [0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    """
    p = _check_p(p)
    a, b = np.divmod(np.arange(p * p), p)
    X = np.zeros((p * p, 2 * p), dtype=np.float32)
    X[np.arange(p * p), a] = 1.0
    X[np.arange(p * p), p + b] = 1.0
    return X


def discrete_log_order(p: int) -> np.ndarray:
    """The nonzero residues mod a prime ``p`` in the order ``g^0, g^1, ..., g^(p-2)``.

    ``g`` is the smallest primitive root. Multiplication of nonzero residues is addition of
    their exponents mod ``p - 1``, so re-indexing a function of ``a`` in this order turns
    the multiplicative structure into the additive one (the zero residue is left out).

    Example
    -------
    >>> discrete_log_order(7).tolist()  # 3 is the smallest primitive root mod 7
    [1, 3, 2, 6, 4, 5]
    """
    p = check_int("p", p, minimum=3)
    if any(p % d == 0 for d in range(2, int(p ** 0.5) + 1)):
        raise ValueError(f"p must be prime for the residues to form a cyclic group, got {p}")
    for g in range(2, p):
        powers = [pow(g, k, p) for k in range(p - 1)]
        if len(set(powers)) == p - 1:
            return np.array(powers)
    raise AssertionError("unreachable: every prime has a primitive root")


# --------------------------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------------------------


@dataclass
class PairMLPs:
    """``K`` one-hidden-layer ReLU networks on one-hot pairs, stored stacked.

    Member ``k`` maps pair ``(a, b)`` to the logits
    ``relu(w_in[k, a] + w_in[k, p + b] + b_in[k]) @ w_out[k] + b_out[k]``, which is
    ``mlp(2p, [H], p)`` applied to the concatenated one-hot vectors, with
    ``w_in[k] = net[0].weight.T``, ``w_out[k] = net[2].weight.T``.

    Attributes
    ----------
    w_in : torch.Tensor, shape (K, 2p, H)
        Row ``a`` holds what input ``a`` adds to the hidden pre-activations, row ``p + b``
        what ``b`` adds.
    b_in : torch.Tensor, shape (K, H)
    w_out : torch.Tensor, shape (K, H, p)
    b_out : torch.Tensor, shape (K, p)

    Example
    -------
    >>> nets = init_pair_mlps(5, hidden=8, seeds=[0, 1])
    >>> nets.n_members, nets.p, nets.hidden, tuple(nets.logits().shape)
    (2, 5, 8, (2, 25, 5))
    """

    w_in: torch.Tensor
    b_in: torch.Tensor
    w_out: torch.Tensor
    b_out: torch.Tensor

    def __post_init__(self):
        K, two_p, H = self.w_in.shape
        p = two_p // 2
        expected = {"b_in": (K, H), "w_out": (K, H, p), "b_out": (K, p)}
        for name, shape in expected.items():
            if tuple(getattr(self, name).shape) != shape or two_p != 2 * p:
                raise ValueError(f"inconsistent shapes: w_in {tuple(self.w_in.shape)} needs "
                                 f"{name} of shape {shape}, got "
                                 f"{tuple(getattr(self, name).shape)}")

    @property
    def n_members(self) -> int:
        return self.w_in.shape[0]

    @property
    def p(self) -> int:
        return self.w_in.shape[1] // 2

    @property
    def hidden(self) -> int:
        return self.w_in.shape[2]

    def parameters(self) -> list[torch.Tensor]:
        return [self.w_in, self.b_in, self.w_out, self.b_out]

    def _pairs(self, pairs) -> tuple[torch.Tensor, torch.Tensor]:
        """Flat pair indices (one array for all members, or one row per member) -> a, b."""
        p = self.p
        idx = torch.arange(p * p) if pairs is None else torch.as_tensor(np.asarray(pairs))
        if idx.ndim == 1:
            idx = idx.expand(self.n_members, -1)
        if idx.ndim != 2 or idx.shape[0] != self.n_members:
            raise ValueError(f"pairs must be 1-D or have one row per member ({self.n_members}), "
                             f"got shape {tuple(idx.shape)}")
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= p * p):
            raise ValueError(f"pair indices must lie in [0, {p * p}), got {int(idx.min())} to "
                             f"{int(idx.max())}")
        return torch.div(idx, p, rounding_mode="floor"), idx % p

    def hidden_activations(self, pairs=None) -> torch.Tensor:
        """Post-ReLU activations, shape (K, n, H), for flat pair indices (default: all)."""
        a, b = self._pairs(pairs)
        members = torch.arange(self.n_members)[:, None]
        pre = self.w_in[members, a] + self.w_in[members, self.p + b] + self.b_in[:, None]
        return torch.relu(pre)

    def logits(self, pairs=None) -> torch.Tensor:
        """Logits, shape (K, n, p), for flat pair indices (default: all ``p**2`` pairs)."""
        return torch.baddbmm(self.b_out[:, None], self.hidden_activations(pairs), self.w_out)

    def input_weights(self, member: int, part: str = "a") -> np.ndarray:
        """Member's first-layer weights from ``a`` (or ``b``) as a numpy array (H, p).

        Row ``h`` is hidden unit ``h``'s weight on each value of ``a``: a function on
        ``Z_p`` whose Fourier spectrum :func:`fourier_energy` computes.
        """
        check_option("part", part, ("a", "b"))
        k = check_int("member", member, 0, self.n_members - 1)
        rows = slice(0, self.p) if part == "a" else slice(self.p, 2 * self.p)
        return self.w_in[k, rows].detach().numpy().T.copy()

    def norm(self) -> np.ndarray:
        """The L2 norm of each member's parameters (all four tensors), shape (K,)."""
        with torch.no_grad():
            return torch.sqrt(sum((t.reshape(self.n_members, -1) ** 2).sum(1)
                                  for t in self.parameters())).numpy()

    def select(self, members) -> "PairMLPs":
        """A detached copy holding only the given members (a list of indices, or one)."""
        idx = [members] if isinstance(members, Integral) else list(members)
        return PairMLPs(*(t.detach()[idx].clone() for t in self.parameters()))

    def scaled(self, factors) -> "PairMLPs":
        """A copy with member ``k``'s parameters (all of them) multiplied by ``factors[k]``."""
        f = torch.as_tensor(np.broadcast_to(np.asarray(factors, dtype=np.float32),
                                            (self.n_members,)).copy())
        return PairMLPs(*(t.detach() * f.view(-1, *([1] * (t.ndim - 1)))
                          for t in self.parameters()))

    def to_mlp(self, member: int) -> nn.Sequential:
        """Member ``member`` as an ``nn.Sequential`` from :func:`utils.models.mlp`."""
        k = check_int("member", member, 0, self.n_members - 1)
        net = mlp(2 * self.p, [self.hidden], self.p)
        with torch.no_grad():
            net[0].weight.copy_(self.w_in[k].T)
            net[0].bias.copy_(self.b_in[k])
            net[2].weight.copy_(self.w_out[k].T)
            net[2].bias.copy_(self.b_out[k])
        return net


def init_pair_mlps(p: int, hidden: int, seeds: Sequence[int]) -> PairMLPs:
    """One network per seed, each exactly ``utils.models.mlp(2p, [hidden], p)`` (Kaiming).

    He-normal weights (std ``sqrt(2 / fan_in)``) and zero biases, drawn from
    ``torch.Generator().manual_seed(seed)``, so member ``k`` does not depend on the others.

    Example
    -------
    >>> nets = init_pair_mlps(7, hidden=16, seeds=[3])
    >>> ref = mlp(14, [16], 7, generator=torch.Generator().manual_seed(3))
    >>> bool(torch.equal(nets.w_in[0], ref[0].weight.T))
    True
    """
    p = _check_p(p)
    hidden = check_int("hidden", hidden, minimum=1)
    seeds = [check_int("seed", s, minimum=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed (one network per seed)")
    nets = [mlp(2 * p, [hidden], p, init="kaiming", generator=torch.Generator().manual_seed(s))
            for s in seeds]
    with torch.no_grad():
        return PairMLPs(torch.stack([n[0].weight.T for n in nets]).contiguous(),
                        torch.stack([n[0].bias for n in nets]),
                        torch.stack([n[2].weight.T for n in nets]).contiguous(),
                        torch.stack([n[2].bias for n in nets]))


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@dataclass
class GrokRun:
    """What :func:`train_pair_mlps` recorded, member by member.

    Attributes
    ----------
    steps : numpy.ndarray, shape (T,)
        The steps at which the metrics were measured (0 is the initial state).
    train_acc, test_acc, train_loss, test_loss, norm : numpy.ndarray, shape (K, T)
        Accuracy and mean cross-entropy on each member's training and test pairs, and the
        L2 norm of its parameters.
    snapshots : dict[int, PairMLPs]
        The K networks at each saved step.
    nets : PairMLPs
        The K trained networks.
    tables : numpy.ndarray, shape (K, p, p)
    train_pairs, test_pairs : list of numpy.ndarray
        Each member's flat pair indices.
    """

    steps: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    norm: np.ndarray
    snapshots: dict = field(repr=False)
    nets: PairMLPs = field(repr=False)
    tables: np.ndarray = field(repr=False)
    train_pairs: list = field(repr=False)
    test_pairs: list = field(repr=False)

    def first_step(self, metric: str, threshold: float, member: int) -> int | None:
        """The first measured step at which ``metric`` reaches ``threshold`` (None if never).

        Accuracies must rise to the threshold, losses fall to it.

        Example
        -------
        >>> run = GrokRun(np.array([0, 10, 20]), np.array([[0.1, 0.99, 1.0]]), None, None,
        ...               None, None, {}, None, None, [], [])
        >>> run.first_step("train_acc", 0.99, member=0)
        10
        """
        check_option("metric", metric, ("train_acc", "test_acc", "train_loss", "test_loss"))
        values = getattr(self, metric)[member]
        reached = values >= threshold if metric.endswith("acc") else values <= threshold
        hits = np.flatnonzero(reached)
        return int(self.steps[hits[0]]) if hits.size else None


def _check_tables(tables) -> np.ndarray:
    tables = np.asarray(tables)
    if tables.ndim == 2:
        tables = tables[None]
    if tables.ndim != 3 or tables.shape[1] != tables.shape[2] or tables.shape[1] < 2:
        raise ValueError(f"tables must be (K, p, p) (or one (p, p) table), got {tables.shape}")
    p = tables.shape[1]
    if not np.issubdtype(tables.dtype, np.integer) or tables.min() < 0 or tables.max() >= p:
        raise ValueError(f"table entries must be integers in [0, {p}) (labels mod p)")
    return tables.astype(np.int64)


def _check_pair_sets(train_pairs, K: int, p: int) -> list[np.ndarray]:
    if len(train_pairs) != K:
        raise ValueError(f"give one array of training pairs per member ({K}), got "
                         f"{len(train_pairs)}")
    out = []
    for k, idx in enumerate(train_pairs):
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"train_pairs[{k}] must be a non-empty 1-D array of pair indices")
        if idx.min() < 0 or idx.max() >= p * p or np.unique(idx).size != idx.size:
            raise ValueError(f"train_pairs[{k}] must hold distinct indices in [0, {p * p})")
        out.append(np.sort(idx))
    return out


@torch.no_grad()
def pair_metrics(nets: PairMLPs, tables, pairs) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and mean cross-entropy of each member on its own pairs.

    Parameters
    ----------
    nets : PairMLPs
    tables : array, shape (K, p, p) or (p, p)
        Each member's labels (one table is shared by all members).
    pairs : list of K arrays, or one array
        Flat pair indices for each member (one array is shared).

    Returns
    -------
    accuracy, loss : numpy.ndarray, shape (K,)

    Example
    -------
    >>> nets = init_pair_mlps(5, hidden=8, seeds=[0])
    >>> acc, loss = pair_metrics(nets, operation_table(5), np.arange(25))
    >>> acc.shape, bool(loss[0] > 0)
    ((1,), True)
    """
    return _score(nets.logits(), tables, pairs, nets.n_members, nets.p)


def train_pair_mlps(tables, train_pairs, *, hidden: int = 256, seeds: Sequence[int],
                    lr: float | Sequence[float] = 3e-3,
                    weight_decay: float | Sequence[float] = 1.0, steps: int = 2000,
                    eval_every: int = 10, snapshot_steps: Sequence[int] = (),
                    match_norm_of: Sequence[int | None] | None = None,
                    betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                    progress: bool = False) -> GrokRun:
    """Train K networks on pairs with full-batch AdamW, as one batched computation.

    Member ``k`` is :func:`utils.models.mlp` ``(2p, [hidden], p)`` initialized from
    ``seeds[k]`` and trained alone on ``tables[k]`` restricted to ``train_pairs[k]``, with
    the mean cross-entropy and ``torch.optim.AdamW(lr=lr[k], weight_decay=weight_decay[k],
    betas=betas, eps=eps)``; the members never interact, except through ``match_norm_of``.

    Parameters
    ----------
    tables : array, shape (K, p, p)
        Each member's labels (see :func:`operation_table`).
    train_pairs : list of K arrays
        Each member's training pairs (flat indices, see :func:`split_pairs`); the other
        pairs are its test pairs.
    hidden : int
        Hidden units per network.
    seeds : list of K ints
        Initialization seeds.
    lr, weight_decay : float or list of K floats
        AdamW's learning rate (> 0) and decoupled weight decay (>= 0).
    steps : int
        Full-batch steps.
    eval_every : int
        Measure the metrics every this many steps (and at step 0).
    snapshot_steps : sequence of int
        Steps (0 to ``steps``) at which to save a copy of all K networks.
    match_norm_of : list of K (int or None), optional
        ``match_norm_of[k] = j`` rescales member ``k``'s parameters after every step so that
        their L2 norm equals member ``j``'s (a run whose norm is held to another's without
        weight decay; Liu, Michaud & Tegmark's constrained-norm experiments in spirit).
        Member ``j`` must not itself be matched.
    betas, eps : AdamW's moment decay rates and denominator constant.
    progress : bool
        Show a progress bar over steps.

    Returns
    -------
    GrokRun

    Example
    -------
    >>> p = 7
    >>> train, _ = split_pairs(p, 0.6, rng=0)
    >>> run = train_pair_mlps([operation_table(p)], [train], hidden=32, seeds=[0], lr=1e-2,
    ...                       steps=100, eval_every=50)
    >>> run.steps.tolist(), float(run.train_acc[0, -1])
    ([0, 50, 100], 1.0)
    """
    tables = _check_tables(tables)
    K, p = tables.shape[0], tables.shape[1]
    train_pairs = _check_pair_sets(train_pairs, K, p)
    seeds = list(seeds)
    if len(seeds) != K:
        raise ValueError(f"give one seed per member ({K}), got {len(seeds)}")
    steps = check_int("steps", steps, minimum=1)
    # Full batch (one step per epoch); the engine's checks of the per-member settings.
    cfg = make_config(n=1, members=K, loss="cross_entropy", optimizer="adamw",
                      optimizers=("adamw",), lr=lr, weight_decay=weight_decay, epochs=steps)
    lr_t, wd_t = (torch.tensor(v, dtype=torch.float32) for v in (cfg.lr, cfg.weight_decay))
    eval_every = check_int("eval_every", eval_every, minimum=1)
    snapshot_steps = sorted({check_int("snapshot step", s, 0, steps) for s in snapshot_steps})
    betas = (check_real("betas[0]", betas[0], 0.0, 1.0, high_open=True),
             check_real("betas[1]", betas[1], 0.0, 1.0, high_open=True))
    eps = check_real("eps", eps, 0.0, low_open=True)
    match = _check_match(match_norm_of, K)

    nets = init_pair_mlps(p, hidden, seeds)
    params = [t.requires_grad_() for t in nets.parameters()]
    exp_avg = [torch.zeros_like(t) for t in params]
    exp_avg_sq = [torch.zeros_like(t) for t in params]
    padded, weights, labels = _padded_training_set(tables, train_pairs)
    test_pairs = [np.setdiff1d(np.arange(p * p), idx) for idx in train_pairs]
    recorder = _Recorder(nets, tables, train_pairs, test_pairs, snapshot_steps)
    recorder.record(0)
    with progress_bar(range(1, steps + 1), desc="training", disable=not progress) as bar:
        for step in bar:
            logits = nets.logits(padded)
            ce = F.cross_entropy(logits.transpose(1, 2), labels, reduction="none")
            loss = (ce * weights).sum()     # the sum of the members' mean losses
            for t in params:
                t.grad = None
            loss.backward()
            adamw_step(params, exp_avg, exp_avg_sq, step, lr_t, wd_t, betas, eps)
            _match_norms(nets, match)
            recorder.record(step, measure=step % eval_every == 0 or step == steps)
    for t in params:
        t.requires_grad_(False)
    return GrokRun(**recorder.arrays(), snapshots=recorder.snapshots, nets=nets, tables=tables,
                   train_pairs=train_pairs, test_pairs=test_pairs)


def _check_match(match_norm_of, K: int) -> list:
    """``match_norm_of`` checked: one entry (None or another, unmatched member) per member."""
    match = [None] * K if match_norm_of is None else list(match_norm_of)
    if len(match) != K:
        raise ValueError(f"match_norm_of must have one entry per member ({K}), got {len(match)}")
    for k, j in enumerate(match):
        if j is None:
            continue
        check_int(f"match_norm_of[{k}]", j, 0, K - 1)
        if j == k or match[j] is not None:
            raise ValueError(f"match_norm_of[{k}] = {j}: a member cannot follow itself or a "
                             "member that is itself matched")
    return match


@torch.no_grad()
def _match_norms(nets: PairMLPs, match: list) -> None:
    """Rescale each matched member's parameters to its reference member's L2 norm."""
    matched = [k for k, j in enumerate(match) if j is not None]
    if not matched:
        return
    norms = torch.as_tensor(nets.norm())
    factor = torch.ones(nets.n_members)
    factor[matched] = norms[[match[k] for k in matched]] / norms[matched]
    for t in nets.parameters():
        t.mul_(factor.view((nets.n_members,) + (1,) * (t.ndim - 1)))


def _padded_training_set(tables: np.ndarray, train_pairs: list) -> tuple[torch.Tensor, ...]:
    """Training sets of different sizes as one gather: each member's indices padded to the
    longest, with weight 0 on the padding (1/n_k elsewhere, so each member's weighted sum is
    its own mean loss); returns (indices, weights, labels), each (K, n_max)."""
    K, n_max = len(train_pairs), max(len(idx) for idx in train_pairs)
    padded = np.zeros((K, n_max), dtype=np.int64)
    weights = np.zeros((K, n_max), dtype=np.float32)
    for k, idx in enumerate(train_pairs):
        padded[k, :len(idx)] = idx
        weights[k, :len(idx)] = 1.0 / len(idx)
    labels = torch.as_tensor(np.take_along_axis(tables.reshape(K, -1), padded, axis=1))
    return torch.as_tensor(padded), torch.as_tensor(weights), labels


class _Recorder:
    """The metrics of :class:`GrokRun`, measured at the steps asked, and the snapshots."""

    KEYS = ("steps", "train_acc", "test_acc", "train_loss", "test_loss", "norm")

    def __init__(self, nets, tables, train_pairs, test_pairs, snapshot_steps):
        self.nets, self.tables, self.snapshot_steps = nets, tables, set(snapshot_steps)
        self.splits = (("train", train_pairs), ("test", test_pairs))
        self.records: dict[str, list] = {key: [] for key in self.KEYS}
        self.snapshots: dict[int, PairMLPs] = {}

    def record(self, step: int, measure: bool = True) -> None:
        nets = self.nets
        if measure:
            self.records["steps"].append(step)
            with torch.no_grad():
                logits = nets.logits()
            for split, pairs in self.splits:
                acc, loss = _score(logits, self.tables, pairs, nets.n_members, nets.p)
                self.records[f"{split}_acc"].append(acc)
                self.records[f"{split}_loss"].append(loss)
            self.records["norm"].append(nets.norm())
        if step in self.snapshot_steps:
            self.snapshots[step] = nets.select(range(nets.n_members))

    def arrays(self) -> dict[str, np.ndarray]:
        return {key: np.stack(val, axis=1) if key != "steps" else np.array(val)
                for key, val in self.records.items()}


# --------------------------------------------------------------------------------------------
# Fourier tools
# --------------------------------------------------------------------------------------------


def _check_signal(x, name: str = "x") -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 0 or x.shape[-1] < 2:
        raise ValueError(f"{name} must have functions on Z_p along its last axis (p >= 2), "
                         f"got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return x


def fourier_energy(x) -> np.ndarray:
    """Energy of real functions on ``Z_p`` in each frequency ``k = 0 .. p // 2``.

    For ``x`` of length ``p`` along the last axis, with ``X = fft(x)``: frequency 0 has
    ``|X_0|^2 / p`` (the mean's share), frequency ``0 < k < p/2`` has
    ``2 |X_k|^2 / p`` (``X_k`` and its conjugate ``X_{p-k}`` together) and, for even ``p``,
    ``k = p/2`` has ``|X_{p/2}|^2 / p``. The energies add up to ``sum(x**2)`` (Parseval),
    and the energy in frequency ``k`` is the squared length of the projection of ``x`` on
    ``cos(2 pi k a / p)`` and ``sin(2 pi k a / p)``.

    Parameters
    ----------
    x : array, shape (..., p)

    Returns
    -------
    numpy.ndarray, shape (..., p // 2 + 1)

    Example
    -------
    >>> a = np.arange(7)
    >>> np.round(fourier_energy(3 * np.cos(2 * np.pi * 2 * a / 7)), 6).tolist()
    [0.0, 0.0, 31.5, 0.0]
    """
    x = _check_signal(x)
    p = x.shape[-1]
    energy = np.abs(np.fft.rfft(x, axis=-1)) ** 2 / p
    energy[..., 1:(p + 1) // 2] *= 2   # X_k and X_{p-k}; k = p/2 (even p) has no partner
    return energy


def fourier_concentration(x) -> np.ndarray:
    """Share of each function's non-constant energy in its strongest frequency.

    ``max_{k >= 1} E_k / sum_{k >= 1} E_k`` with ``E`` from :func:`fourier_energy`: 1 for a
    single sinusoid, about ``H_m / m`` (``m = p // 2`` frequencies, ``H_m`` the harmonic
    number) for white noise. The constant (frequency 0) is left out: it shifts a unit's
    input equally for every ``a`` and so carries no information about ``a``. A function
    with no non-constant energy gets NaN.

    Parameters
    ----------
    x : array, shape (..., p)
        E.g. :meth:`PairMLPs.input_weights`, one row per hidden unit.

    Returns
    -------
    numpy.ndarray, shape (...)

    Example
    -------
    >>> a = np.arange(11)
    >>> fourier_concentration([np.cos(2 * np.pi * 3 * a / 11) + 0.5, a == 0]).round(3).tolist()
    [1.0, 0.2]
    """
    full = fourier_energy(x)
    energy = full[..., 1:]
    total = energy.sum(axis=-1)
    # rounding leaves ~1e-32 of "energy" in a constant function: treat that as none
    has_signal = total > 1e-12 * full.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(has_signal, energy.max(axis=-1) / total, np.nan)


def dominant_frequencies(x, rank: int = 1) -> np.ndarray:
    """Each function's ``rank``-th strongest non-constant frequency (1 = the strongest).

    Parameters
    ----------
    x : array, shape (..., p)
    rank : int
        1 for the dominant frequency, 2 for the runner-up, and so on (at most ``p // 2``).

    Returns
    -------
    numpy.ndarray of int, shape (...)
        Frequencies in ``1 .. p // 2`` (ties go to the lower frequency).

    Example
    -------
    >>> a = np.arange(11)
    >>> x = 2 * np.cos(2 * np.pi * 3 * a / 11) + np.sin(2 * np.pi * 5 * a / 11)
    >>> int(dominant_frequencies(x)), int(dominant_frequencies(x, rank=2))
    (3, 5)
    """
    energy = fourier_energy(x)[..., 1:]
    rank = check_int("rank", rank, 1, energy.shape[-1])
    order = np.argsort(-energy, axis=-1, kind="stable")
    return order[..., rank - 1] + 1


def _frequency_list(freqs, p: int) -> np.ndarray:
    freqs = np.atleast_1d(np.asarray(freqs))
    if freqs.size == 0:
        return np.zeros(0, dtype=np.int64)
    if freqs.ndim != 1 or not np.issubdtype(freqs.dtype, np.integer):
        raise ValueError(f"freqs must be a 1-D list of integer frequencies, got {freqs!r}")
    if freqs.min() < 1 or freqs.max() > p // 2:
        raise ValueError(f"frequencies must lie in 1 .. {p // 2} (0 is the constant, which is "
                         f"always kept), got {freqs.tolist()}")
    return np.unique(freqs)


def project_frequencies(x, freqs, keep: bool = True) -> np.ndarray:
    """Keep only (or remove only) some frequencies of real functions on ``Z_p``.

    The constant component is kept in both cases. With ``keep=True`` the result is the
    least-squares projection of each function (last axis) on the constant and on ``cos``
    and ``sin`` of the chosen frequencies; with ``keep=False`` it is the function minus its
    projection on the chosen frequencies.

    Parameters
    ----------
    x : array, shape (..., p)
    freqs : list of int, or int array of shape ``x.shape[:-1]``
        The same frequencies for every function, or one frequency per function.
    keep : bool

    Example
    -------
    >>> a = np.arange(7)
    >>> x = 1 + np.cos(2 * np.pi * a / 7) + np.sin(2 * np.pi * 3 * a / 7)
    >>> np.allclose(project_frequencies(x, [3], keep=True), 1 + np.sin(2 * np.pi * 3 * a / 7))
    True
    >>> np.allclose(project_frequencies(x, [3], keep=False), 1 + np.cos(2 * np.pi * a / 7))
    True
    """
    x = _check_signal(x)
    p = x.shape[-1]
    spectrum = np.fft.rfft(x, axis=-1)
    chosen = np.zeros(spectrum.shape, dtype=bool)
    freqs = np.asarray(freqs)
    if freqs.shape == x.shape[:-1] and freqs.ndim > 0 and np.issubdtype(freqs.dtype, np.integer):
        if freqs.min() < 1 or freqs.max() > p // 2:
            raise ValueError(f"frequencies must lie in 1 .. {p // 2}, got {freqs.min()} to "
                             f"{freqs.max()}")
        np.put_along_axis(chosen, freqs[..., None], True, axis=-1)
    else:
        chosen[..., _frequency_list(freqs, p)] = True
    mask = chosen if keep else ~chosen
    mask[..., 0] = True
    return np.fft.irfft(spectrum * mask, n=p, axis=-1)


def ablate_frequencies(nets: PairMLPs, keep: bool = True, rank: int = 1,
                       freqs=None) -> PairMLPs:
    """A copy of ``nets`` whose first-layer weights keep only (or lose) some frequencies.

    Each hidden unit's weights from ``a``, and separately its weights from ``b``, are a
    function on ``Z_p``. By default each of these functions keeps (``keep=True``) or loses
    (``keep=False``) its own ``rank``-th strongest frequency (:func:`dominant_frequencies`);
    with ``freqs`` the same frequencies are kept or removed for every unit. The constant
    component, the biases and the output layer are unchanged.

    Parameters
    ----------
    nets : PairMLPs
    keep : bool
    rank : int
        Which of each function's frequencies: 1 its strongest, 2 the runner-up, ...
    freqs : list of int, optional
        Global frequencies instead of each unit's own.

    Example
    -------
    >>> nets = init_pair_mlps(7, hidden=4, seeds=[0])
    >>> same = ablate_frequencies(nets, freqs=[1, 2, 3])   # every frequency kept
    >>> bool(torch.allclose(same.w_in, nets.w_in, atol=1e-6))
    True
    """
    if not isinstance(nets, PairMLPs):
        raise TypeError(f"nets must be the PairMLPs of a run (e.g. run.nets), got "
                        f"{type(nets).__name__}")
    p = nets.p
    w = nets.w_in.detach().numpy()
    parts = []
    for rows in (slice(0, p), slice(p, 2 * p)):
        functions = np.swapaxes(w[:, rows], 1, 2)            # (K, H, p): one per unit
        chosen = dominant_frequencies(functions, rank) if freqs is None else freqs
        parts.append(np.swapaxes(project_frequencies(functions, chosen, keep=keep), 1, 2))
    w_in = torch.as_tensor(np.concatenate(parts, axis=1), dtype=nets.w_in.dtype)
    return PairMLPs(w_in, nets.b_in.detach().clone(), nets.w_out.detach().clone(),
                    nets.b_out.detach().clone())


def energy_matched_shrink(nets: PairMLPs, rank: int = 1) -> PairMLPs:
    """A copy of ``nets`` whose first-layer functions lose as much energy as an ablation would,
    but spread over every frequency: the control for :func:`ablate_frequencies`.

    Each hidden unit's weights from ``a``, and separately from ``b``, are split into their
    mean (the constant component) and the varying rest. The rest is multiplied by
    ``sqrt(1 - E_r / E)``, where ``E`` is its energy and ``E_r`` the energy of its own
    ``rank``-th strongest frequency, so it keeps exactly the energy that
    ``ablate_frequencies(nets, keep=False, rank=rank)`` leaves, with its shape unchanged.
    Biases and the output layer are unchanged. If the ablation's damage were only a loss of
    energy, this copy would be damaged as much.

    Parameters
    ----------
    nets : PairMLPs
    rank : int
        Whose energy is matched: 1 each function's strongest frequency, 2 the runner-up, ...

    Example
    -------
    >>> nets = init_pair_mlps(7, hidden=4, seeds=[0])
    >>> shrunk, removed = energy_matched_shrink(nets), ablate_frequencies(nets, keep=False)
    >>> def varying(n):  # energy of the non-constant part of the a-weights, per unit
    ...     return fourier_energy(n.input_weights(0, "a"))[:, 1:].sum(axis=1)
    >>> bool(np.allclose(varying(shrunk), varying(removed), rtol=1e-4))
    True
    """
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)):
        raise TypeError(f"rank must be a positive integer, got {rank!r}")
    if rank < 1:
        raise ValueError(f"rank must be a positive integer, got {rank!r}")
    p = nets.p
    w = nets.w_in.detach().numpy().astype(np.float64)
    parts = []
    for rows in (slice(0, p), slice(p, 2 * p)):
        functions = np.swapaxes(w[:, rows], 1, 2)            # (K, H, p): one per unit
        mean = functions.mean(axis=-1, keepdims=True)
        energy = fourier_energy(functions)[..., 1:]
        total = energy.sum(axis=-1)
        matched = -np.sort(-energy, axis=-1)[..., rank - 1]   # energy the ablation removes
        factor = np.sqrt(np.clip(1 - matched / np.where(total > 0, total, 1), 0, 1))
        parts.append(np.swapaxes(mean + factor[..., None] * (functions - mean), 1, 2))
    w_in = torch.as_tensor(np.concatenate(parts, axis=1), dtype=nets.w_in.dtype)
    return PairMLPs(w_in, nets.b_in.detach().clone(), nets.w_out.detach().clone(),
                    nets.b_out.detach().clone())


def scramble_phases(nets: PairMLPs, rng, rank: int = 1) -> PairMLPs:
    """A copy of ``nets`` whose first-layer functions keep every frequency's energy but have
    the phase of their own ``rank``-th strongest frequency rotated at random.

    Each hidden unit's weights from ``a``, and separately from ``b``, are a function on
    ``Z_p``; the Fourier coefficient of its own frequency is multiplied by ``exp(i theta)``
    with ``theta`` drawn uniformly in ``[0, 2 pi)``, independently for ``a`` and ``b``. The
    energy in every frequency (so the concentration and the dominant frequency) is unchanged;
    only the phases, and so their alignment with the other layer, are lost. Biases and the
    output layer are unchanged. The control that keeps the spectrum exactly, where
    :func:`energy_matched_shrink` keeps only the energy.

    Parameters
    ----------
    nets : PairMLPs
    rng : numpy.random.Generator
        Draws the phases (one per member, unit and part).
    rank : int
        1 rotates each function's strongest frequency, 2 the runner-up, ...

    Example
    -------
    >>> nets = init_pair_mlps(7, hidden=4, seeds=[0])
    >>> mixed = scramble_phases(nets, np.random.default_rng(0))
    >>> bool(np.allclose(fourier_energy(mixed.input_weights(0, "b")),
    ...                  fourier_energy(nets.input_weights(0, "b")), rtol=1e-4))
    True
    """
    rng = check_rng(rng)
    p = nets.p
    w = nets.w_in.detach().numpy().astype(np.float64)
    parts = []
    for rows in (slice(0, p), slice(p, 2 * p)):
        functions = np.swapaxes(w[:, rows], 1, 2)            # (K, H, p): one per unit
        own = dominant_frequencies(functions, rank)[..., None]
        spectrum = np.fft.rfft(functions, axis=-1)
        turn = np.exp(1j * rng.uniform(0, 2 * np.pi, size=own.shape))
        np.put_along_axis(spectrum, own, np.take_along_axis(spectrum, own, axis=-1) * turn,
                          axis=-1)
        parts.append(np.swapaxes(np.fft.irfft(spectrum, n=p, axis=-1), 1, 2))
    w_in = torch.as_tensor(np.concatenate(parts, axis=1), dtype=nets.w_in.dtype)
    return PairMLPs(w_in, nets.b_in.detach().clone(), nets.w_out.detach().clone(),
                    nets.b_out.detach().clone())


def phase_relation(nets: PairMLPs, member: int) -> float:
    """How closely a member's hidden units obey the phase relation of the analytic solution.

    Unit ``h`` reads ``a`` and ``b`` through its input weights and writes to the output
    ``c`` through row ``h`` of ``w_out``: three functions on ``Z_p``. With ``k`` the
    strongest frequency of its ``a``-weights, let ``phi``, ``psi`` and ``chi`` be the phases
    of their discrete Fourier coefficients at ``k`` (``angle(rfft(x)[k])``). In Gromov's
    construction for modular addition, ``w_a = cos(2 pi k a / p + phi)``,
    ``w_b = cos(2 pi k b / p + psi)`` and ``w_out = cos(2 pi k c / p + phi + psi)``, so the
    unit's product term peaks at ``c = a + b``. Returns the circular resultant
    ``|mean_h exp(i (chi - phi - psi))|``: 1 when every unit obeys ``chi = phi + psi``, about
    ``1 / sqrt(H)`` for unrelated phases.

    Example
    -------
    >>> p, k, H = 11, 3, 6
    >>> rng = np.random.default_rng(0)
    >>> phi, psi = rng.uniform(0, 2 * np.pi, (2, H, 1))
    >>> x = 2 * np.pi * k * np.arange(p) / p
    >>> w_in = torch.tensor(np.concatenate([np.cos(x + phi), np.cos(x + psi)], 1).T[None])
    >>> w_out = torch.tensor(np.cos(x + phi + psi)[None])
    >>> nets = PairMLPs(w_in, torch.zeros(1, H), w_out, torch.zeros(1, p))
    >>> round(phase_relation(nets, 0), 6)
    1.0
    """
    k = check_int("member", member, 0, nets.n_members - 1)
    wa, wb = nets.input_weights(k, "a"), nets.input_weights(k, "b")
    wo = nets.w_out[k].detach().numpy().astype(np.float64)           # (H, p): one per unit
    own = dominant_frequencies(wa)[:, None]
    phase = [np.angle(np.take_along_axis(np.fft.rfft(x, axis=-1), own, axis=-1))[:, 0]
             for x in (wa, wb, wo)]
    return float(np.abs(np.mean(np.exp(1j * (phase[2] - phase[0] - phase[1])))))


def _score(logits: torch.Tensor, tables, pairs, K: int, p: int):
    """Accuracy and mean cross-entropy of logits (K, p*p, p) on each member's pairs."""
    tables = _check_tables(tables)
    if tables.shape[0] == 1:
        tables = np.repeat(tables, K, axis=0)
    if tables.shape != (K, p, p):
        raise ValueError(f"tables must be ({K}, {p}, {p}) for these networks, got {tables.shape}")
    if isinstance(pairs, np.ndarray) and pairs.ndim == 1 or not isinstance(pairs, (list, tuple)):
        pairs = [np.asarray(pairs)] * K
    pairs = _check_pair_sets(pairs, K, p)
    labels = torch.as_tensor(tables.reshape(K, -1))
    ce = F.cross_entropy(logits.transpose(1, 2), labels, reduction="none")
    correct = (logits.argmax(-1) == labels).float()
    acc = np.array([correct[k, idx].mean().item() for k, idx in enumerate(pairs)])
    loss = np.array([ce[k, idx].mean().item() for k, idx in enumerate(pairs)])
    return acc, loss


def first_crossing(values, steps, threshold: float) -> int:
    """The first step at which ``values`` reaches ``threshold`` (``>=``), or -1 if never.

    Example
    -------
    >>> first_crossing([0.1, 0.5, 0.99, 1.0], [0, 10, 20, 30], 0.99)
    20
    >>> first_crossing([0.1, 0.5], [0, 10], 0.99)
    -1
    """
    threshold = check_real("threshold", threshold)  # NaN would never be reached: -1
    values, steps = np.asarray(values, dtype=float), np.asarray(steps)
    if values.shape != steps.shape or values.ndim != 1:
        raise ValueError(f"values and steps must be 1-D of the same length, got {values.shape} "
                         f"and {steps.shape}")
    hits = np.flatnonzero(values >= threshold)
    return int(steps[hits[0]]) if hits.size else -1
