"""RMSprop: divide the gradient by a running root mean square of its recent values."""

from __future__ import annotations

from ember.backend import get_array_module
from ember.optim.optimizer import (
    Optimizer,
    _check_nonnegative,
    _effective_grad,
    _lerp_,
    _zeros_state,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    With ``d = grad + weight_decay * param`` (``-grad`` when ``maximize``), each step does::

        square_avg = alpha * square_avg + (1 - alpha) * d * d
        grad_avg = alpha * grad_avg + (1 - alpha) * d                 (centered)
        avg = sqrt(square_avg - grad_avg**2 if centered else square_avg) + eps
        buf = momentum * buf + d / avg; param -= lr * buf             (momentum > 0)
        param -= lr * d / avg                                         (otherwise)

    Args:
        params: the parameters, or parameter groups (dicts), to optimize.
        lr: learning rate. alpha: smoothing constant. eps: added to the denominator.
        weight_decay: L2 penalty. momentum: momentum factor. centered: normalize by an
        estimate of the gradient's variance. maximize: maximize the objective.

    State per parameter: ``"step"``, ``"square_avg"``, ``"momentum_buffer"`` (momentum > 0)
    and ``"grad_avg"`` (centered).

    Example::

        opt = ember.optim.RMSprop(model.parameters(), lr=1e-3, momentum=0.9)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, group):
        _check_nonnegative("RMSprop", "lr", group["lr"], "learning rate")
        _check_nonnegative("RMSprop", "eps", group["eps"], "epsilon value")
        _check_nonnegative("RMSprop", "momentum", group["momentum"])
        _check_nonnegative("RMSprop", "weight_decay", group["weight_decay"])
        _check_nonnegative("RMSprop", "alpha", group["alpha"])

    def _update(self, x, g, state, group):
        xp = get_array_module(x)
        if not state:
            state["step"] = 0.0
            state["square_avg"] = _zeros_state(x)
            if group["momentum"] > 0:
                state["momentum_buffer"] = _zeros_state(x)
            if group["centered"]:
                state["grad_avg"] = _zeros_state(x)
        alpha, momentum = group["alpha"], group["momentum"]
        state["step"] += 1
        d = _effective_grad(x, g, group["weight_decay"], group["maximize"], xp)
        square_avg = state["square_avg"]._data

        t = xp.multiply(d, d)
        t *= 1 - alpha
        square_avg *= alpha
        square_avg += t
        if group["centered"]:
            grad_avg = state["grad_avg"]._data
            _lerp_(grad_avg, d, 1 - alpha, xp)
            xp.multiply(grad_avg, grad_avg, out=t)
            avg = xp.subtract(square_avg, t, out=t)
            xp.sqrt(avg, out=avg)
        else:
            avg = xp.sqrt(square_avg, out=t)
        avg += group["eps"]
        ratio = xp.divide(d, avg, out=avg)
        if momentum > 0:
            buf = state["momentum_buffer"]._data
            buf *= momentum
            buf += ratio
            x -= xp.multiply(buf, group["lr"], out=ratio)
        else:
            ratio *= group["lr"]
            x -= ratio
