"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_``, as in PyTorch."""

from __future__ import annotations

import math
import numbers
import types
import warnings

import numpy as np

from ember import backend
from ember.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _as_list(parameters, op: str) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    is_generator = isinstance(parameters, types.GeneratorType)
    try:
        parameters = list(parameters)
    except TypeError:
        raise TypeError(
            f"{op}: expected a Tensor or an iterable of Tensors, received "
            f"{type(parameters).__name__}"
        ) from None
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(
                f"{op}: expected a Tensor or an iterable of Tensors, but one of them is a "
                f"{type(p).__name__}"
            )
    if is_generator and not parameters:
        warnings.warn(
            f"{op}: `parameters` is an empty generator, no gradient clipping will occur.",
            stacklevel=3,
        )
    return parameters


def _norm_type(norm_type, op: str) -> float:
    if isinstance(norm_type, str) and norm_type.lower() in ("inf", "-inf"):
        return float(norm_type)
    if not isinstance(norm_type, numbers.Real) or isinstance(norm_type, bool):
        raise TypeError(f"{op}: expected norm_type to be a number or 'inf', received {norm_type!r}")
    return float(norm_type)


def _vector_norm(a, p: float, xp, op: str):
    """The p-norm of all of array ``a``'s elements, as torch.linalg.vector_norm: a 0-d
    array of a's dtype."""
    if a.dtype.kind == "V":  # bfloat16: NumPy has no reductions for it; compute in float32
        return _vector_norm(a.astype(np.float32), p, xp, op).astype(a.dtype)
    flat = a.reshape(-1)
    if a.size == 0 and p in (math.inf, -math.inf):
        raise RuntimeError(
            f"{op}: cannot compute the {p} norm of an empty tensor (shape {tuple(a.shape)}): "
            "the max/min of no values is undefined; leave it out or use another norm_type"
        )
    if p == 2:
        y = xp.sqrt(xp.dot(flat, flat))
    elif p == 0:
        y = xp.count_nonzero(flat)
    else:
        mag = xp.abs(flat)
        if p == math.inf:
            y = mag.max()
        elif p == -math.inf:
            y = mag.min()
        elif p == 1:
            y = mag.sum()
        else:
            with np.errstate(divide="ignore"):  # |0| ** p = inf for p < 0, as in PyTorch
                y = xp.power(xp.power(mag, p).sum(), 1.0 / p)
    return xp.asarray(y, dtype=a.dtype)


def _total_norm(tensors: list, p: float, error_if_nonfinite: bool, op: str):
    """The norm of the tensors' norms, as a 0-d array of their common dtype."""
    if not tensors:
        return np.zeros((), np.float32)
    device = tensors[0].device
    norms = []
    for t in tensors:
        a = t._data
        if a.dtype.kind not in "fV":
            raise TypeError(f"{op}: expected floating-point tensors, received one of {t.dtype}")
        norms.append(backend.to_device(_vector_norm(a, p, backend.get_array_module(a), op), device))
    xp = backend.get_array_module(norms[0])
    dtype = np.result_type(*[n.dtype for n in norms])
    total = _vector_norm(xp.stack([n.astype(dtype, copy=False) for n in norms]), p, xp, op)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"{op}: The total norm of order {p} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return total


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:  # fmt: skip
    """The norm of ``tensors`` taken together, as if their elements were one vector (the
    norm of their norms): a 0-d tensor of their common dtype (float32 for none).

    Args:
        tensors: a Tensor or an iterable of Tensors. norm_type: the p of the p-norm
        (``float('inf')`` or ``'inf'`` for the largest magnitude). error_if_nonfinite:
        raise RuntimeError when the norm is nan or inf. foreach: accepted for PyTorch
        compatibility; ignored.

    Example: ``ember.nn.utils.get_total_norm([p.grad for p in model.parameters()])``
    """
    op = "get_total_norm"
    tensors = _as_list(tensors, op)
    return Tensor._make(_total_norm(tensors, _norm_type(norm_type, op), error_if_nonfinite, op))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:  # fmt: skip
    """Scale the gradients of ``parameters`` in place so that their total norm (as one
    vector) is at most ``max_norm``; gradients already within it are left as they are.

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` to clip (those
            without a gradient are skipped).
        max_norm: the largest norm allowed.
        norm_type: the p of the p-norm; ``float('inf')`` (or ``'inf'``) for the largest
            magnitude.
        error_if_nonfinite: raise RuntimeError when the total norm is nan or inf, instead
            of scaling the gradients by it.
        foreach: accepted for PyTorch compatibility; ignored.

    Returns the total norm of the gradients before clipping, a 0-d tensor.

    Example::

        loss.backward()
        ember.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step()
    """
    op = "clip_grad_norm_"
    parameters = _as_list(parameters, op)
    max_norm = _number(max_norm, "max_norm", op)
    p = _norm_type(norm_type, op)
    grads = [q.grad for q in parameters if q.grad is not None]
    total = _total_norm(grads, p, error_if_nonfinite, op)
    if grads:
        # As PyTorch: the coefficient is computed in the norm's dtype and capped at 1.
        xp = backend.get_array_module(total)
        coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
        with np.errstate(invalid="ignore"):  # a non-finite norm makes nan, silently as torch
            for g in grads:
                g._data *= backend.to_device(coef, g.device)
                g._vc[0] += 1
    return Tensor._make(total)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp the gradients of ``parameters`` in place to ``[-clip_value, clip_value]``.

    Args:
        parameters: a Tensor or an iterable of Tensors (those without a gradient are
            skipped). clip_value: the largest magnitude allowed. foreach: ignored.

    Example: ``ember.nn.utils.clip_grad_value_(model.parameters(), 0.5)``
    """
    op = "clip_grad_value_"
    parameters = _as_list(parameters, op)
    clip_value = _number(clip_value, "clip_value", op)
    for p in parameters:
        g = p.grad
        if g is None:
            continue
        xp = backend.get_array_module(g._data)
        xp.clip(g._data, -clip_value, clip_value, out=g._data)
        g._vc[0] += 1


def _number(value, what: str, op: str) -> float:
    if isinstance(value, Tensor) and value.numel() == 1:
        return float(value.item())
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{op}: expected {what} to be a number, received {value!r}")
    return float(value)
