"""Adam: adaptive moment estimation (Kingma & Ba), with optional AMSGrad."""

from __future__ import annotations

import numbers

from ember import kernels
from ember.backend import get_array_module
from ember.kernels import optim as koptim
from ember.optim.optimizer import (
    Optimizer,
    _check_nonnegative,
    _check_number,
    _effective_grad,
    _lerp_,
    _zeros_state,
)

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``.

    With ``d = grad + weight_decay * param`` (``-grad`` when ``maximize``; with
    ``decoupled_weight_decay`` the parameter is instead scaled by ``1 - lr * weight_decay``
    first, as AdamW does), step ``t`` does::

        exp_avg    = beta1 * exp_avg    + (1 - beta1) * d
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * d * d
        v = max(max_exp_avg_sq, exp_avg_sq) if amsgrad else exp_avg_sq
        param -= lr / (1 - beta1**t) * exp_avg / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Args:
        params: the parameters, or parameter groups (dicts), to optimize.
        lr: learning rate. betas: the decay rates of the two moving averages, each in
        [0, 1). eps: added to the denominator. weight_decay: L2 penalty. amsgrad: use the
        running maximum of ``exp_avg_sq``. maximize: maximize the objective.
        decoupled_weight_decay: decay the weights directly (AdamW) instead of through the
        gradient.

    State per parameter: ``"step"``, ``"exp_avg"``, ``"exp_avg_sq"`` and, with amsgrad,
    ``"max_exp_avg_sq"``.

    Example::

        opt = ember.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98))
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ):
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, group):
        name = type(self).__name__
        _check_nonnegative(name, "lr", group["lr"], "learning rate")
        _check_nonnegative(name, "eps", group["eps"], "epsilon value")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), received {betas!r}")
        for i, beta in enumerate(betas):
            _check_number(name, f"betas[{i}]", beta)
            if not 0.0 <= beta < 1.0:
                raise ValueError(
                    f"{name}: Invalid beta parameter at index {i}: {beta} (expected "
                    f"0 <= betas[{i}] < 1)"
                )
        group["betas"] = tuple(float(b) if isinstance(b, numbers.Real) else b for b in betas)
        _check_nonnegative(name, "weight_decay", group["weight_decay"])

    def _update(self, x, g, state, group):
        xp = get_array_module(x)
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = _zeros_state(x)
            state["exp_avg_sq"] = _zeros_state(x)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _zeros_state(x)
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay = group["weight_decay"]
        state["step"] = step = state["step"] + 1
        if weight_decay != 0 and group["decoupled_weight_decay"]:
            x *= 1 - lr * weight_decay
            weight_decay = 0
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        if (
            kernels.enabled()
            and not group["amsgrad"]
            and isinstance(lr, numbers.Real)
            and koptim.usable(x, g, exp_avg, exp_avg_sq)
        ):  # the fused update: one pass
            kernels.taken["adam"] += 1
            koptim.adam(
                x, g, exp_avg, exp_avg_sq, beta1=beta1, beta2=beta2, eps=eps,
                weight_decay=weight_decay, maximize=group["maximize"],
                step_size=lr / (1 - beta1**step), bc2_sqrt=(1 - beta2**step) ** 0.5,
            )  # fmt: skip
            return
        d = _effective_grad(x, g, weight_decay, group["maximize"], xp)

        _lerp_(exp_avg, d, 1 - beta1, xp)
        t = xp.multiply(d, d, out=d if d is not g else None)
        t *= 1 - beta2
        exp_avg_sq *= beta2
        exp_avg_sq += t

        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        v = exp_avg_sq
        if group["amsgrad"]:
            v = state["max_exp_avg_sq"]._data
            xp.maximum(v, exp_avg_sq, out=v)
        denom = xp.sqrt(v, out=t)
        denom /= bias_correction2_sqrt
        denom += eps
        update = xp.divide(exp_avg, denom, out=denom)
        update *= step_size
        x -= update
