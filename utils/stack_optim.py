"""SGD, Adam and AdamW over the flat parameters of many networks at once.

:class:`_Optimizer` updates a :class:`utils.stack._Stack`'s flat ``theta`` with a learning
rate and weight decay per network; :func:`adamw_step` is AdamW over stacked per-member
tensors (what :func:`utils.grokking.train_pair_mlps` uses).
"""
from __future__ import annotations

import torch
from torch.optim.adam import adam as _adam_functional

__all__ = ["adamw_step"]

_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults, which utils.training.train uses
_EPS = 1e-8

class _Optimizer:
    """SGD, Adam or AdamW over the flat parameters of a :class:`_Stack`.

    The arithmetic follows torch.optim's single-tensor implementations (which
    :func:`utils.training.train` runs on CPU) operation for operation. A hyperparameter that
    all networks share is a Python float, as in torch; one that differs is a tensor with an
    entry per parameter, looked up from its owner. Step sizes are formed in double precision
    and then rounded, as torch does with its Python floats.
    """

    def __init__(self, kind: str, stack, lr: list[float], weight_decay: list[float],
                 momentum: float):
        self.kind, self.momentum = kind, momentum
        self.uniform_lr = len(set(lr)) == 1
        self.has_wd = any(w != 0 for w in weight_decay)
        lr64 = torch.tensor(lr, dtype=torch.float64)
        wd64 = torch.tensor(weight_decay, dtype=torch.float64)
        # Per-entry tensors, kept in step with the stack when networks leave it.
        self.flats: dict[str, torch.Tensor | None] = {}
        self.lr = lr[0] if self.uniform_lr else None
        if not self.uniform_lr:
            self.flats["lr64"] = lr64[stack.owner]
        self.wd = weight_decay[0] if len(set(weight_decay)) == 1 else None
        if self.wd is None:
            self.flats["wd"] = wd64[stack.owner].to(stack.dtype)
        self.shrink = None
        if kind == "adamw" and self.has_wd:
            shrink = 1 - lr64 * wd64  # in double, as torch's 1 - lr * weight_decay
            if len(set(shrink.tolist())) == 1:
                self.shrink = float(shrink[0])
            else:
                self.flats["shrink"] = shrink[stack.owner].to(stack.dtype)
        # Adam and AdamW with one learning rate and weight decay for all: torch's fused
        # kernel through the public functional torch.optim.adam.adam(fused=True) (one pass
        # over theta; what torch.optim.Adam(fused=True) runs, the same numbers, without the
        # optimizer object's per-step bookkeeping), the same update as the single-tensor
        # arithmetic below up to float rounding. It counts the steps in step_tensor.
        self.fused = kind != "sgd" and self.uniform_lr and self.wd is not None
        self.step_tensor = torch.zeros((), dtype=torch.float32)
        if kind == "sgd":
            self.flats["momentum_buffer"] = None
        else:
            self.flats["exp_avg"] = torch.zeros_like(stack.theta)
            self.flats["exp_avg_sq"] = torch.zeros_like(stack.theta)

    def keep(self, stack, members: set[int],
             also: list[torch.Tensor] = ()) -> list[torch.Tensor]:
        """Drop the networks not in ``members`` from ``stack`` and from the optimizer state;
        return the tensors ``also`` (laid out like the parameters) cut the same way."""
        names = [k for k, v in self.flats.items() if v is not None]
        kept = stack.keep(members, [self.flats[k] for k in names] + list(also))
        self.flats.update(zip(names, kept))
        return kept[len(names):]

    @torch.no_grad()
    def step(self, theta: torch.Tensor, grad: torch.Tensor, step: int) -> None:
        """Update ``theta`` in place given its gradient; ``step`` counts from 1."""
        f = self.flats
        if self.fused:
            _adam_functional([theta], [grad], [f["exp_avg"]], [f["exp_avg_sq"]], [],
                             [self.step_tensor], fused=True,
                             decoupled_weight_decay=self.kind == "adamw", amsgrad=False,
                             beta1=_BETAS[0], beta2=_BETAS[1], lr=self.lr,
                             weight_decay=self.wd, eps=_EPS, maximize=False)
            return
        if self.has_wd and self.kind != "adamw":  # coupled: L2 added to the gradient
            grad = grad.add(theta, alpha=self.wd) if self.wd is not None else grad.add(
                theta * f["wd"])
        if self.kind == "sgd":
            if self.momentum != 0:
                if f["momentum_buffer"] is None:
                    f["momentum_buffer"] = grad.detach().clone()
                else:
                    f["momentum_buffer"].mul_(self.momentum).add_(grad)
                grad = f["momentum_buffer"]
            if self.uniform_lr:
                theta.add_(grad, alpha=-self.lr)
            else:
                theta.sub_(grad * f["lr64"].to(theta.dtype))
            return
        beta1, beta2 = _BETAS
        if self.has_wd and self.kind == "adamw":  # decoupled: the weights shrink
            theta.mul_(self.shrink if self.shrink is not None else f["shrink"])
        m, v = f["exp_avg"], f["exp_avg_sq"]
        m.lerp_(grad, 1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        denom = (v.sqrt() / bias_correction2_sqrt).add_(_EPS)
        if self.uniform_lr:
            theta.addcdiv_(m, denom, value=-(self.lr / bias_correction1))
        else:
            neg_step = (f["lr64"] / -bias_correction1).to(theta.dtype)
            theta.addcmul_(m / denom, neg_step)


@torch.no_grad()
def adamw_step(params: list[torch.Tensor], exp_avgs: list[torch.Tensor],
               exp_avg_sqs: list[torch.Tensor], step: int, lr: torch.Tensor,
               weight_decay: torch.Tensor, betas: tuple[float, float], eps: float) -> None:
    """One AdamW step, as ``torch.optim.AdamW`` computes it, on stacked per-member tensors.

    Every tensor in ``params`` has the members on its first axis (and its gradient in
    ``.grad``); ``lr`` and ``weight_decay`` hold one value per member. Decoupled decay
    (``w *= 1 - lr * weight_decay``), then Adam's moments and bias-corrected update;
    ``step`` counts from 1.

    Example
    -------
    >>> w = torch.ones(2, 3, requires_grad=True); w.grad = torch.ones(2, 3)
    >>> m, v = [torch.zeros(2, 3)], [torch.zeros(2, 3)]
    >>> adamw_step([w], m, v, 1, torch.tensor([0.1, 0.0]), torch.zeros(2), (0.9, 0.999), 1e-8)
    >>> [round(x, 4) for x in w[:, 0].tolist()]  # first Adam step: lr times the sign
    [0.9, 1.0]
    """
    beta1, beta2 = betas
    bias1, bias2 = 1 - beta1 ** step, 1 - beta2 ** step
    shrink, step_size = 1 - lr * weight_decay, lr / bias1
    for t, m, v in zip(params, exp_avgs, exp_avg_sqs):
        shape = (t.shape[0],) + (1,) * (t.ndim - 1)  # a per-member value against t
        t.mul_(shrink.view(shape))
        m.lerp_(t.grad, 1 - beta1)
        v.mul_(beta2).addcmul_(t.grad, t.grad, value=1 - beta2)
        denom = (v.sqrt() / bias2 ** 0.5).add_(eps)
        t.sub_(m / denom * step_size.view(shape))
