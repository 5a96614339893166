"""SGD: stochastic gradient descent, with optional momentum (heavy-ball or Nesterov)."""

from __future__ import annotations

import numbers

from ember import kernels
from ember.backend import get_array_module
from ember.kernels import optim as koptim
from ember.optim.optimizer import Optimizer, _check_nonnegative, _effective_grad
from ember.tensor import Tensor

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``.

    With ``d = grad + weight_decay * param`` (``-grad`` when ``maximize``), each step does::

        buf = d                                          (first step)
        buf = momentum * buf + (1 - dampening) * d       (later steps)
        d = d + momentum * buf if nesterov else buf      (when momentum != 0)
        param -= lr * d

    Args:
        params: the parameters, or parameter groups (dicts), to optimize.
        lr: learning rate. momentum: momentum factor. dampening: dampening of the momentum.
        weight_decay: L2 penalty. nesterov: use Nesterov momentum (needs momentum > 0 and
        dampening == 0). maximize: maximize the objective instead of minimizing it.

    State per parameter: ``"momentum_buffer"`` (when momentum != 0).

    Example::

        opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, group):
        _check_nonnegative("SGD", "lr", group["lr"], "learning rate")
        _check_nonnegative("SGD", "momentum", group["momentum"])
        _check_nonnegative("SGD", "weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "SGD: Nesterov momentum requires a momentum and zero dampening, received "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def _update(self, x, g, state, group):
        xp = get_array_module(x)
        momentum = group["momentum"]
        buf_t = state.get("momentum_buffer")
        if (
            kernels.enabled()
            and (momentum == 0 or buf_t is not None)
            and isinstance(group["lr"], numbers.Real)
            and koptim.usable(x, g, x if buf_t is None else buf_t._data)
        ):  # the fused update: one pass (the first step with momentum makes the buffer below)
            kernels.taken["sgd"] += 1
            koptim.sgd(
                x, g, x if buf_t is None else buf_t._data, lr=group["lr"], momentum=momentum,
                dampening=group["dampening"], weight_decay=group["weight_decay"],
                nesterov=group["nesterov"], maximize=group["maximize"],
            )  # fmt: skip
            return
        d = _effective_grad(x, g, group["weight_decay"], group["maximize"], xp)
        own = d is not g  # d is a temporary of ours, free to overwrite
        if momentum != 0:
            if buf_t is None:
                buf = d.copy()
                state["momentum_buffer"] = Tensor._make(buf)
            else:
                buf = buf_t._data
                buf *= momentum
                dampening = group["dampening"]
                buf += d if dampening == 0 else d * (1 - dampening)
            if group["nesterov"]:
                nd = xp.multiply(buf, momentum)
                nd += d
                d, own = nd, True
            else:
                d, own = buf, False
        x -= xp.multiply(d, group["lr"], out=d if own else None)
