"""Adagrad: per-coordinate learning rates from the sum of squared gradients (Duchi et al.)."""

from __future__ import annotations

from ember.backend import get_array_module
from ember.optim.optimizer import Optimizer, _check_nonnegative, _effective_grad
from ember.tensor import Tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad, as ``torch.optim.Adagrad``.

    With ``d = grad + weight_decay * param`` (``-grad`` when ``maximize``), step ``t``
    does::

        sum += d * d
        param -= lr / (1 + (t - 1) * lr_decay) * d / (sqrt(sum) + eps)

    Args:
        params: the parameters, or parameter groups (dicts), to optimize.
        lr: learning rate. lr_decay: learning-rate decay. weight_decay: L2 penalty.
        initial_accumulator_value: the starting value of ``sum``. eps: added to the
        denominator. maximize: maximize the objective.

    State per parameter (created with the optimizer, as in PyTorch): ``"step"`` and
    ``"sum"``. (Unlike PyTorch, a group's own ``initial_accumulator_value`` is used for its
    parameters' sums, and groups added later get their state too.)

    Example::

        opt = ember.optim.Adagrad(model.parameters(), lr=0.1)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
        }
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, group):
        _check_nonnegative("Adagrad", "lr", group["lr"], "learning rate")
        _check_nonnegative("Adagrad", "lr_decay", group["lr_decay"])
        _check_nonnegative("Adagrad", "weight_decay", group["weight_decay"])
        _check_nonnegative(
            "Adagrad", "initial_accumulator_value", group["initial_accumulator_value"]
        )
        _check_nonnegative("Adagrad", "eps", group["eps"], "epsilon value")

    def _init_state(self, group):
        for p in group["params"]:
            _start(self.state[p], p._data, group)

    def _update(self, x, g, state, group):
        xp = get_array_module(x)
        _start(state, x, group)
        state["step"] = step = state["step"] + 1
        d = _effective_grad(x, g, group["weight_decay"], group["maximize"], xp)
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        state_sum = state["sum"]._data
        t = xp.multiply(d, d)
        state_sum += t
        std = xp.sqrt(state_sum, out=t)
        std += group["eps"]
        ratio = xp.divide(d, std, out=std)
        ratio *= clr
        x -= ratio


def _start(state, x, group):
    if not state:
        state["step"] = 0.0
        xp = get_array_module(x)
        state["sum"] = Tensor._make(xp.full_like(x, group["initial_accumulator_value"]))
