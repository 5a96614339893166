"""Neural-network ops: linear, softmax, losses, dropout, embedding, normalisation, attention.

These are the functions of ``ember.nn.functional``. The heavy ones (softmax, the gather of
the negative log-likelihood, normalisation) are fused Functions whose forward runs on raw
arrays and whose backward is written in ember's differentiable ops, so second derivatives
work; the rest are compositions of ops.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ember import backend, dtypes, kernels, random
from ember.amp import autocast_args, autocast_norm
from ember.amp import state as _amp
from ember.autograd import grad_mode
from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.errors import EmberIndexError
from ember.kernels import gemm
from ember.kernels import nn as knn
from ember.ops._util import check_tensor, tensor_method
from ember.ops.linalg import _same_dtype, matmul
from ember.tensor import Tensor, _wrap_dim

__all__ = [
    "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "dropout", "embedding", "group_norm", "kl_div", "l1_loss", "layer_norm", "linear",
    "log_softmax", "mse_loss", "nll_loss", "one_hot", "scaled_dot_product_attention",
    "smooth_l1_loss", "softmax",
]  # fmt: skip


def _const(arr) -> Tensor:
    """A tensor outside the graph (masks, one-hots): constants of a backward formula."""
    if isinstance(arr, np.generic):  # NumPy turns 0-d results into scalars
        arr = np.asarray(arr)
    return Tensor._make(arr)


def _shape(t: Tensor) -> tuple:
    return tuple(t.shape)


def _float_input(x: Tensor, op: str, arg: str = "input") -> None:
    if not x.is_floating_point():
        raise RuntimeError(
            f"{op}: expected a floating-point {arg}, received {x.dtype.name}; convert it with "
            ".float()"
        )


def _no_grad_arg(t, op: str, arg: str) -> None:
    # As in PyTorch, these arguments are not differentiable; say so instead of silently
    # giving them no gradient.
    if t is not None and t.requires_grad and grad_mode.state.enabled:
        raise RuntimeError(
            f"{op}: {arg} is not differentiable and cannot require grad; pass {arg}.detach()"
        )


# ---------------------------------------------------------------- reductions of losses
def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    return len(shape) <= len(target) and all(
        a in (b, 1) for a, b in zip(reversed(shape), reversed(target))
    )


def _reduction(op: str, reduction, size_average=None, reduce=None, extra=()) -> str:
    if size_average is not None or reduce is not None:
        warnings.warn(
            f"{op}: size_average and reduce are deprecated, use reduction= instead",
            stacklevel=3,
        )
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        return ("mean" if size_average else "sum") if reduce else "none"
    allowed = ("none", "mean", "sum") + tuple(extra)
    if reduction not in allowed:
        raise ValueError(
            f"{op}: reduction must be one of {', '.join(repr(a) for a in allowed)}, "
            f"received {reduction!r}"
        )
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# ---------------------------------------------------------------- linear
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``.

    input: (*, in_features); weight: (out_features, in_features) (or (in_features,) for a
    single output, dropping the last dim); bias: (out_features,). Result: (*, out_features).

    Example::

        y = F.linear(ember.randn(8, 3), ember.randn(4, 3), ember.zeros(4))  # (8, 4)
    """
    if _lean_linear(input, weight, bias):  # the common case, checked in a few comparisons
        kernels.taken["linear"] += 1
        return Linear.apply(input, weight, bias)
    if _amp.on:
        input, weight, bias = autocast_args("linear", input, weight, bias)
    check_tensor(input, "linear")
    check_tensor(weight, "linear", "weight")
    if weight.ndim not in (1, 2):
        raise RuntimeError(
            f"linear: expected weight of shape (out_features, in_features), received "
            f"{_shape(weight)}"
        )
    n_in = weight.shape[-1]
    if input.ndim == 0 or input.shape[-1] != n_in:
        raise RuntimeError(
            f"linear: input of shape {_shape(input)} must have {n_in} features in its last "
            f"dim to match weight of shape {_shape(weight)} (out_features, in_features)"
        )
    _same_dtype("linear", input, weight)
    if bias is not None:
        check_tensor(bias, "linear", "bias")
    if (
        kernels.enabled()
        and weight.ndim == 2
        and _fusable(input)
        and (bias is None or bias._data.dtype == input._data.dtype)
    ):
        kernels.taken["linear"] += 1
        return Linear.apply(input, weight, bias)
    w = weight.transpose(0, 1) if weight.ndim == 2 else weight
    if input.ndim > 2:  # one large product instead of a batch of small ones
        lead = input.shape[:-1]
        y = matmul(input.reshape(math.prod(lead), n_in), w)
        y = y.reshape(*lead, *y.shape[1:])
    else:
        y = matmul(input, w)
    if bias is not None:
        y = y + bias
    return y


def _lean_linear(x, w, b) -> bool:
    """True when linear's arguments are the common case, which passes all its checks and
    takes the fused op: NumPy float tensors of one dtype, a 2-D weight of x's features, the
    fused kernels on, no autocast. Anything else goes through the checks one by one."""
    d = x._data if isinstance(x, Tensor) else None
    wd = w._data if isinstance(w, Tensor) else None
    return (
        type(d) is np.ndarray
        and type(wd) is np.ndarray
        and d.dtype is wd.dtype
        and (d.dtype == np.float32 or d.dtype == np.float64)
        and wd.ndim == 2
        and d.ndim >= 1
        and d.shape[-1] == wd.shape[1]
        and (b is None or isinstance(b, Tensor) and b._data.dtype is d.dtype)
        and kernels.state.fast
        and not _amp.on
    )


def _fusable(x: Tensor) -> bool:
    """Whether the fused kernels (ember.kernels.nn) can take x's array."""
    d = x._data
    return type(d) is np.ndarray and (d.dtype == np.float32 or d.dtype == np.float64)


class Linear(Function):
    """``x @ w.T + b`` over the last dim of x as one matrix product of the rows, with the bias
    added in place (the fast path of linear). Backward: two products and a column sum, in
    ember's ops, so it can be differentiated again."""

    @staticmethod
    def forward(ctx, x, w, b):
        n_out = w.shape[0]
        n = math.prod(x.shape[:-1])  # the rows, explicitly: -1 fails for size 0
        # x (N, T, F) that is a (T, N, F) array's transpose (a batch-first RNN's output):
        # its rows in their memory order, the output transposed back, so that neither is
        # copied (only the narrower gradient of the output is, in backward)
        ctx.swap = swap = (
            x.ndim == 3 and not x.flags.c_contiguous and x.transpose(1, 0, 2).flags.c_contiguous
        )
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None,
                              w if ctx.needs_input_grad[0] else None)  # fmt: skip
        if swap:
            x = x.transpose(1, 0, 2)
        ctx.x_shape, ctx.rows = x.shape, n
        y = np.empty(x.shape[:-1] + (n_out,), x.dtype)
        gemm.matmul(x.reshape(n, x.shape[-1]), w.T, out=y.reshape(n, n_out))
        if b is not None:
            y += b
        return y.transpose(1, 0, 2) if swap else y

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        n = ctx.rows
        if ctx.swap:  # the rows in x's memory order, as forward took them
            gy = gy.transpose(0, 1)
            x = None if x is None else x.transpose(0, 1)
        g = gy.reshape(n, gy.shape[-1])
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = matmul(g, w).reshape(ctx.x_shape)
            if ctx.swap:
                gx = gx.transpose(0, 1)
        if ctx.needs_input_grad[1]:
            gw = matmul(g.transpose(0, 1), x.reshape(n, x.shape[-1]))
        if ctx.needs_input_grad[2]:
            gb = g.sum(0)
        return gx, gw, gb


# ---------------------------------------------------------------- softmax
def _shifted(x, dim):
    """``x`` minus its max along ``dim`` (a new array, 1-D for a 0-d ``x``), so that exp
    cannot overflow."""
    x = x.reshape(1) if x.ndim == 0 else x
    with np.errstate(invalid="ignore"):  # a row of -inf (all masked) gives NaN, as in PyTorch
        return x - x.max(axis=dim, keepdims=True)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        xp = get_array_module(x)
        ctx.dim, ctx.scalar = dim, x.ndim == 0
        if x.size == 0:
            y = xp.empty_like(x)
        else:
            y = _shifted(x, dim)
            xp.exp(y, out=y)
            y /= y.sum(axis=dim, keepdims=True)
            y = y.reshape(x.shape)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        gyy = gy * y
        return gyy - y * (gyy if ctx.scalar else gyy.sum(ctx.dim, keepdim=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        xp = get_array_module(x)
        ctx.dim, ctx.scalar = dim, x.ndim == 0
        if x.size == 0:
            y = xp.empty_like(x)
        else:
            y = _shifted(x, dim)
            y -= xp.log(xp.exp(y).sum(axis=dim, keepdims=True))
            y = y.reshape(x.shape)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy - y.exp() * (gy if ctx.scalar else gy.sum(ctx.dim, keepdim=True))


class SoftmaxFused(Softmax):
    """softmax over the last dim by one compiled loop; Softmax's backward."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim, ctx.scalar = dim, False
        y = knn.softmax_last(x)
        ctx.save_for_backward(y)
        return y


class LogSoftmaxFused(LogSoftmax):
    """log_softmax over the last dim by one compiled loop; LogSoftmax's backward."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim, ctx.scalar = dim, False
        y = knn.log_softmax_last(x)
        ctx.save_for_backward(y)
        return y


def _softmax_args(op, input, dim, dtype):
    check_tensor(input, op)
    if dtype is not None:
        input = input.to(dtypes.as_dtype(dtype))
    _float_input(input, op)
    if dim is None:
        # PyTorch's legacy rule for a missing dim, with its warning.
        warnings.warn(
            f"{op}: implicit choice of dim is deprecated; pass dim= explicitly", stacklevel=3
        )
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return input, _wrap_dim(dim, input.ndim, op)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / exp(x).sum(dim)``, computed stably (the max along ``dim`` is subtracted
    first). ``dtype``: cast the input to it first.

    Example::

        p = F.softmax(logits, dim=-1)
    """
    if _amp.on:
        (input,) = autocast_args("softmax", input)
    input, dim = _softmax_args("softmax", input, dim, dtype)
    if kernels.enabled() and dim == input.ndim - 1 and _fusable(input):
        kernels.taken["softmax"] += 1
        return SoftmaxFused.apply(input, dim)
    return Softmax.apply(input, dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``log(softmax(x, dim))``, computed stably as ``x - logsumexp(x, dim)``."""
    if _amp.on:
        (input,) = autocast_args("log_softmax", input)
    input, dim = _softmax_args("log_softmax", input, dim, dtype)
    if kernels.enabled() and dim == input.ndim - 1 and _fusable(input):
        kernels.taken["log_softmax"] += 1
        return LogSoftmaxFused.apply(input, dim)
    return LogSoftmax.apply(input, dim)


# The Tensor methods take (dim, dtype), as PyTorch's do, without the functional's _stacklevel.
@tensor_method(name="softmax")
def _softmax_method(self: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """``softmax(self, dim, dtype=dtype)``."""
    return softmax(self, dim, dtype=dtype)


@tensor_method(name="log_softmax")
def _log_softmax_method(self: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """``log_softmax(self, dim, dtype=dtype)``."""
    return log_softmax(self, dim, dtype=dtype)


# ---------------------------------------------------------------- negative log-likelihood
class NLLLoss(Function):
    """The loss of (N, C, *) log-probabilities at (N, *) class indices. ``coef`` is each
    sample's factor in the result (minus its class weight, over the weight total for
    'mean'; 0 where ignored), so the gradient is ``coef`` placed at the target class."""

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        xp = get_array_module(x)
        valid = target != ignore_index
        t = xp.where(valid, target, 0).astype(xp.int64)
        if weight is None:
            wt = valid.astype(x.dtype)
        else:
            wt = xp.where(valid, weight[t], 0).astype(x.dtype)
        picked = xp.take_along_axis(x, t[:, None], axis=1)[:, 0]
        wx = wt * picked
        if reduction == "none":
            y, coef = -wx, -wt
        else:
            total = wt.sum()
            y = -wx.sum()
            coef = -wt
            if reduction == "mean":
                with np.errstate(divide="ignore", invalid="ignore"):  # all ignored: nan
                    y = y / total
                    coef = coef / total
        ctx.save_for_backward(t, coef)
        ctx.n_class = x.shape[1]
        return y

    @staticmethod
    def backward(ctx, gy):
        t, coef = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None
        xp = get_array_module(t._data)
        shape = (1, ctx.n_class) + (1,) * (t.ndim - 1)
        onehot = _const(
            (t._data[:, None] == xp.arange(ctx.n_class).reshape(shape)).astype(coef._data.dtype)
        )
        return onehot * (coef * gy).unsqueeze(1), None, None, None, None


def _class_targets(op, input, target, weight, ignore_index):
    """Check class-index targets against an input of shape (C,), (N, C) or (N, C, d1, ...)."""
    check_tensor(target, op, "target")
    if input.ndim == 0:
        raise ValueError(
            f"{op}: expected an input of shape (C,), (N, C) or (N, C, d1, ...), received a 0-d tensor"
        )
    _float_input(input, op)
    if target.dtype.name not in ("int64", "uint8"):
        raise RuntimeError(
            f"{op}: expected class-index targets of dtype int64 (or uint8), received "
            f"{target.dtype.name}"
        )
    ishape, tshape = _shape(input), _shape(target)
    want = () if input.ndim == 1 else (ishape[0],) + ishape[2:]
    if tshape != want:
        raise ValueError(
            f"{op}: expected target of shape {want} for input of shape {ishape} (input (N, C, "
            f"d1, ...) takes target (N, d1, ...)), received {tshape}"
        )
    n_class = ishape[0] if input.ndim == 1 else ishape[1]
    if weight is not None:
        check_tensor(weight, op, "weight")
        if _shape(weight) != (n_class,):
            raise RuntimeError(
                f"{op}: weight must have one element per class, shape ({n_class},), received "
                f"{_shape(weight)}"
            )
        _no_grad_arg(weight, op, "weight")
    t = target._data
    if t.size:
        bad = ((t < 0) | (t >= n_class)) & (t != ignore_index)
        if bool(bad.any()):
            v = int(t[bad].reshape(-1)[0])
            raise EmberIndexError(
                f"{op}: target {v} is out of bounds for an input with {n_class} classes "
                f"(expected a class index in [0, {n_class - 1}], or ignore_index={ignore_index})"
            )
    return n_class


def _nll(input, target, weight, ignore_index, reduction):
    if input.ndim == 1:
        y = NLLLoss.apply(input.unsqueeze(0), target.reshape(1), weight, ignore_index, reduction)
        return y.reshape(()) if reduction == "none" else y
    return NLLLoss.apply(input, target, weight, ignore_index, reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:  # fmt: skip
    """Negative log-likelihood of log-probabilities ``input`` at the classes ``target``.

    input: (C,), (N, C) or (N, C, d1, ...) log-probabilities; target: (), (N,) or
    (N, d1, ...) int64 class indices; weight: (C,), a factor per class (not
    differentiable). Targets equal to ``ignore_index`` add nothing. 'mean' divides by the
    sum of the weights of the targets that are not ignored.
    """
    if _amp.on:
        input, weight = autocast_args("nll_loss", input, weight)
    check_tensor(input, "nll_loss")
    reduction = _reduction("nll_loss", reduction, size_average, reduce)
    _class_targets("nll_loss", input, target, weight, ignore_index)
    return _nll(input, target, weight, ignore_index, reduction)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:  # fmt: skip
    """Cross-entropy between the softmax of ``input`` (logits) and ``target``.

    input: (C,), (N, C) or (N, C, d1, ...) logits. target: class indices (int64) of shape
    (), (N,) or (N, d1, ...), or class probabilities (floating) of the input's shape.
    weight: (C,), a factor per class. ``label_smoothing`` mixes the target with the uniform
    distribution over the C classes. 'mean' divides by the summed weight of the targets
    that are not ignored (class indices), or by the number of samples (probabilities).

    Example::

        loss = F.cross_entropy(logits, labels)                 # (N, C), (N,)
        loss = F.cross_entropy(logits, labels, label_smoothing=0.1)
    """
    if _amp.on:
        input, target, weight = autocast_args("cross_entropy", input, target, weight)
    op = "cross_entropy"
    check_tensor(input, op)
    check_tensor(target, op, "target")
    reduction = _reduction(op, reduction, size_average, reduce)
    if not isinstance(label_smoothing, numbers.Real) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], received {label_smoothing!r}")
    if target.is_floating_point():
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    n_class = _class_targets(op, input, target, weight, ignore_index)
    if (kernels.enabled() and input.ndim == 2 and weight is None and label_smoothing == 0
            and _fusable(input)):  # fmt: skip
        kernels.taken["cross_entropy"] += 1
        return CrossEntropy.apply(input, target, ignore_index, reduction)
    class_dim = 0 if input.ndim == 1 else 1
    logp = log_softmax(input, class_dim)
    loss = _nll(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return loss
    # The smoothing term: minus the (weighted) sum of all log-probabilities per sample.
    xp = get_array_module(target._data)
    if weight is not None:
        wshape = (n_class,) + (1,) * (input.ndim - class_dim - 1)
        smooth = -(logp * weight.reshape(wshape)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    valid = target._data != ignore_index
    smooth = smooth * _const(valid.astype(logp._data.dtype))
    if reduction == "sum":
        smooth = smooth.sum()
    elif reduction == "mean":
        if weight is not None:
            t = xp.where(valid, target._data, 0)
            total = (weight._data[t] * valid).sum()
        else:
            total = valid.sum()
        smooth = smooth.sum() / _const(xp.asarray(total, dtype=logp._data.dtype))
    return (1 - label_smoothing) * loss + smooth * (label_smoothing / n_class)


class CrossEntropy(Function):
    """Cross-entropy of (N, C) logits at class indices, log-softmax and the negative
    log-likelihood in one (the fast path of cross_entropy, without weight or smoothing).
    Saves the logits and each row's logsumexp; the gradient is
    ``coef * (softmax(x) - onehot(t))``, coef being gy (over the count for 'mean', 0 at
    ignored targets)."""

    @staticmethod
    def forward(ctx, x, t, ignore_index, reduction):
        loss, lse = knn.cross_entropy(x, t, ignore_index)
        ctx.ignore_index, ctx.reduction = ignore_index, reduction
        ctx.save_for_backward(x, t, lse)
        if reduction == "none":
            return loss
        y = loss.sum(dtype=x.dtype)
        if reduction == "mean":
            count = np.count_nonzero(t != ignore_index)
            with np.errstate(divide="ignore", invalid="ignore"):  # all ignored: nan
                y = y / x.dtype.type(count)
        return np.asarray(y, dtype=x.dtype)

    @staticmethod
    def backward(ctx, gy):
        x, t, lse = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None
        td = t._data
        valid = td != ctx.ignore_index
        scale = valid.astype(x._data.dtype)
        if ctx.reduction == "mean":
            with np.errstate(divide="ignore", invalid="ignore"):
                scale /= x._data.dtype.type(np.count_nonzero(valid))
        if grad_mode.state.enabled:  # a graph of the gradient: in differentiable ops
            coef = (gy * _const(scale)).unsqueeze(1)
            onehot = _const((td[:, None] == np.arange(x.shape[1])).astype(scale.dtype))
            return (softmax(x, 1) - onehot) * coef, None, None, None
        coef = scale * gy._data
        gx = knn.cross_entropy_backward(x._data, td, lse._data, coef, ctx.ignore_index)
        return gx, None, None, None


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing):
    op = "cross_entropy"
    if input.ndim == 0 or _shape(target) != _shape(input):
        raise ValueError(
            f"{op}: class-probability targets (floating point) must have the input's shape "
            f"{_shape(input)}, received {_shape(target)}; class-index targets must be int64"
        )
    _float_input(input, op)
    class_dim = 0 if input.ndim == 1 else 1
    n_class = input.shape[class_dim]
    logp = log_softmax(input, class_dim)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / n_class
    prod = logp * target
    if weight is not None:
        check_tensor(weight, op, "weight")
        if _shape(weight) != (n_class,):
            raise RuntimeError(
                f"{op}: weight must have one element per class, shape ({n_class},), received "
                f"{_shape(weight)}"
            )
        prod = prod * weight.reshape((n_class,) + (1,) * (input.ndim - class_dim - 1))
    if reduction == "none":
        return -prod.sum(class_dim)
    total = -prod.sum()
    if reduction == "mean":
        n = input.numel() // n_class if n_class else 0
        return total / n if n else total * math.nan
    return total


# ---------------------------------------------------------------- regression losses
def _size_warning(op, input, target):
    if _shape(input) != _shape(target):
        warnings.warn(
            f"{op}: the target's shape {_shape(target)} differs from the input's shape "
            f"{_shape(input)}; they will be broadcast, which is likely not what you want",
            stacklevel=3,
        )


def _weighted(op, loss, input, weight, reduction):
    if weight is None:
        return _reduce(loss, reduction)
    check_tensor(weight, op, "weight")
    if _shape(weight) != _shape(input):
        raise ValueError(
            f"{op}: weight must have the input's shape {_shape(input)}, received {_shape(weight)}"
        )
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:  # fmt: skip
    """Mean squared error ``(input - target) ** 2``, reduced. With ``weight`` (the input's
    shape), each error is weighted and 'mean' divides by ``weight.sum()``."""
    if _amp.on:
        input, target, weight = autocast_args("mse_loss", input, target, weight)
    check_tensor(input, "mse_loss")
    check_tensor(target, "mse_loss", "target")
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    _size_warning("mse_loss", input, target)
    d = input - target
    return _weighted("mse_loss", d * d, input, weight, reduction)


class L1Loss(Function):
    @staticmethod
    def forward(ctx, x, t):
        xp = get_array_module(x)
        d = x - t
        ctx.save_for_backward(xp.sign(d))
        return xp.abs(d)

    @staticmethod
    def backward(ctx, gy):
        (sign,) = ctx.saved_tensors
        g = gy * sign
        return g, -g


class SmoothL1Loss(Function):
    @staticmethod
    def forward(ctx, x, t, beta):
        xp = get_array_module(x)
        d = x - t
        ad = xp.abs(d)
        small = ad < beta
        # In backward, d(loss)/dx = d * inner + outer: inner is 1/beta in the quadratic zone,
        # outer the sign of d in the linear one. Keeping x and t (not d) keeps it
        # differentiable for a second derivative.
        inner = small.astype(x.dtype) / beta
        outer = xp.where(small, 0, xp.sign(d)).astype(x.dtype)
        ctx.save_for_backward(x, t, inner, outer)
        return xp.where(small, 0.5 * d * d / beta, ad - 0.5 * beta).astype(x.dtype)

    @staticmethod
    def backward(ctx, gy):
        x, t, inner, outer = ctx.saved_tensors
        g = gy * ((x - t) * inner + outer)
        return g, -g, None


def _pointwise_pair(op, input, target):
    check_tensor(input, op)
    check_tensor(target, op, "target")
    _float_input(input, op)
    _size_warning(op, input, target)
    dt = dtypes.result_type(input, target)
    return input.to(dt), target.to(dt)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:  # fmt: skip
    """Mean absolute error ``|input - target|``, reduced (the gradient at 0 is 0)."""
    if _amp.on:
        input, target, weight = autocast_args("l1_loss", input, target, weight)
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    x, t = _pointwise_pair("l1_loss", input, target)
    return _weighted("l1_loss", L1Loss.apply(x, t), input, weight, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:  # fmt: skip
    """Huber-like loss: ``0.5 * d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta``
    (``d = input - target``); ``beta=0`` is the L1 loss."""
    if _amp.on:
        input, target = autocast_args("smooth_l1_loss", input, target)
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be non-negative, received {beta}")
    x, t = _pointwise_pair("smooth_l1_loss", input, target)
    loss = L1Loss.apply(x, t) if beta == 0 else SmoothL1Loss.apply(x, t, float(beta))
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- binary cross-entropy
_BCE_EPS = 1e-12


class BinaryCrossEntropy(Function):
    @staticmethod
    def forward(ctx, x, t):
        xp = get_array_module(x)
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped to -100 as in PyTorch
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        ctx.save_for_backward(x, t)
        return -(t * log_x + (1 - t) * log_1mx)

    @staticmethod
    def backward(ctx, gy):
        x, t = ctx.saved_tensors
        gx = gt = None
        if ctx.needs_input_grad[0]:
            # (x - t) / (x (1 - x)), the denominator clamped to eps as PyTorch does, by a
            # constant mask that keeps it differentiable.
            den = x * (1 - x)
            ok = (den._data >= _BCE_EPS).astype(den._data.dtype)
            den = den * _const(ok) + _const(_BCE_EPS * (1 - ok))
            gx = gy * (x - t) / den
        if ctx.needs_input_grad[1]:
            gt = gy * ((1 - x).log() - x.log())
        return gx, gt


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:  # fmt: skip
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against ``target`` (same
    shape): ``-(t log x + (1 - t) log(1 - x))`` with each log clamped to >= -100.
    ``weight`` broadcasts to the input's shape (not differentiable)."""
    if _amp.on:
        input, target, weight = autocast_args("binary_cross_entropy", input, target, weight)
    op = "binary_cross_entropy"
    check_tensor(input, op)
    check_tensor(target, op, "target")
    reduction = _reduction(op, reduction, size_average, reduce)
    if _shape(target) != _shape(input):
        raise ValueError(
            f"{op}: target of shape {_shape(target)} must have the input's shape {_shape(input)}"
        )
    _float_input(input, op)
    x = input._data
    if x.size and not bool(((x >= 0) & (x <= 1)).all()):
        raise RuntimeError(f"{op}: all elements of input must be probabilities in [0, 1]")
    target = target.to(input.dtype)
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        check_tensor(weight, op, "weight")
        _no_grad_arg(weight, op, "weight")
        if not _broadcasts_to(_shape(weight), _shape(input)):
            raise RuntimeError(
                f"{op}: weight of shape {_shape(weight)} does not broadcast to the input's shape "
                f"{_shape(input)}"
            )
        loss = loss * weight
    return _reduce(loss, reduction)


class SoftplusNeg(Function):
    """``log(1 + exp(-x))``, stably; its derivative ``-sigmoid(-x)`` is ``exp(-y) - 1``."""

    @staticmethod
    def forward(ctx, x):
        xp = get_array_module(x)
        y = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * ((-y).exp() - 1)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:  # fmt: skip
    """Binary cross-entropy of ``sigmoid(input)`` against ``target``, computed stably from
    the logits: ``(1 - t) x + (1 + (pos_weight - 1) t) log(1 + exp(-x))``.
    ``weight`` broadcasts to the input; ``pos_weight`` (e.g. shape (C,)) weighs the
    positive class. Neither is differentiable."""
    if _amp.on:
        input, target, weight, pos_weight = autocast_args(
            "binary_cross_entropy_with_logits", input, target, weight, pos_weight
        )
    op = "binary_cross_entropy_with_logits"
    check_tensor(input, op)
    check_tensor(target, op, "target")
    reduction = _reduction(op, reduction, size_average, reduce)
    if _shape(target) != _shape(input):
        raise ValueError(
            f"{op}: target of shape {_shape(target)} must have the input's shape {_shape(input)}"
        )
    _float_input(input, op)
    for name, w in (("weight", weight), ("pos_weight", pos_weight)):
        if w is not None:
            check_tensor(w, op, name)
            _no_grad_arg(w, op, name)
    sp = SoftplusNeg.apply(input)
    if pos_weight is not None:
        sp = sp * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- KL divergence
class XLogX(Function):
    """``x * log(x)``, 0 at ``x = 0``."""

    @staticmethod
    def forward(ctx, x):
        xp = get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = xp.where(x == 0, 0, x * xp.log(x)).astype(x.dtype)
        ctx.save_for_backward(x)
        return y

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * (x.log() + 1)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:  # fmt: skip
    """Kullback-Leibler divergence with ``input`` as log-probabilities: pointwise
    ``target * (log(target) - input)`` (``exp(target) * (target - input)`` when
    ``log_target``). 'batchmean' divides the sum by the batch size (the true KL
    divergence); 'mean' divides by the number of elements."""
    if _amp.on:
        input, target = autocast_args("kl_div", input, target)
    op = "kl_div"
    check_tensor(input, op)
    check_tensor(target, op, "target")
    _float_input(input, op)
    legacy = size_average is not None or reduce is not None
    reduction = _reduction(op, reduction, size_average, reduce, extra=("batchmean",))
    if reduction == "mean" and not legacy:
        warnings.warn(
            "kl_div: reduction='mean' divides the total loss by both the batch size and the "
            "support size; 'batchmean' divides only by the batch size, as the KL divergence "
            "is defined",
            stacklevel=2,
        )
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = XLogX.apply(target.to(input.dtype) if not target.is_floating_point() else target)
        loss = loss - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- dropout
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the others by ``1 / (1 - p)``.
    The mask comes from ember's default generator (``ember.manual_seed`` makes it
    repeatable). With ``training=False`` or ``p=0`` the input is returned as it is."""
    check_tensor(input, "dropout")
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], received {p!r}")
    if not training or p == 0 or input.numel() == 0:
        return input
    _float_input(input, "dropout")
    npd = input._data.dtype
    if p == 1:
        mask = np.zeros(input.shape, dtype=npd)
    else:
        keep = random._rng(None).random(input.shape, dtype=np.float32) >= p
        mask = keep.astype(npd) * np.asarray(1.0 / (1.0 - p), dtype=npd)
    m = _const(backend.to_device(mask, input.device))
    if inplace:
        return input._inplace("dropout_", lambda x: x * m)
    return input * m


# ---------------------------------------------------------------- embedding
class Embedding(Function):
    @staticmethod
    def forward(ctx, weight, idx, padding_idx, scale_grad_by_freq):
        ctx.n_rows = weight.shape[0]
        ctx.padding_idx, ctx.scale = padding_idx, scale_grad_by_freq
        ctx.save_for_backward(idx)
        return get_array_module(weight).take(weight, idx, axis=0)

    @staticmethod
    def backward(ctx, gy):
        (idx,) = ctx.saved_tensors
        gw = EmbeddingBackward.apply(gy, idx, ctx.n_rows, ctx.padding_idx, ctx.scale)
        return gw, None, None, None


class EmbeddingBackward(Function):
    """Adds each row of the gradient into the weight row it was read from; its own
    backward reads the rows again (an embedding), so second derivatives work."""

    @staticmethod
    def forward(ctx, gy, idx, n_rows, padding_idx, scale_grad_by_freq):
        xp = get_array_module(gy)
        flat = idx.reshape(-1)
        g = gy.reshape(flat.size, gy.shape[-1])
        row_scale = None
        if scale_grad_by_freq:
            row_scale = (1.0 / xp.bincount(flat, minlength=n_rows)[flat]).astype(gy.dtype)
            g = g * row_scale[:, None]
        if padding_idx is not None:
            keep = (flat != padding_idx).astype(gy.dtype)
            row_scale = keep if row_scale is None else row_scale * keep
        gw = xp.zeros((n_rows, g.shape[1]), dtype=gy.dtype)
        if kernels.enabled() and xp is np:
            kernels.taken["embedding_backward"] += 1
            knn.add_rows(gw, flat, g)
        else:
            xp.add.at(gw, flat, g)  # a repeated index collects the gradient of each use
        if padding_idx is not None:
            gw[padding_idx] = 0
        ctx.save_for_backward(
            idx, None if row_scale is None else row_scale.reshape(idx.shape + (1,))
        )
        return gw

    @staticmethod
    def backward(ctx, ggw):
        idx, row_scale = ctx.saved_tensors
        gg = Embedding.apply(ggw, idx, None, False)
        if row_scale is not None:
            gg = gg * row_scale
        return gg, None, None, None, None


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:  # fmt: skip
    """Look up rows of ``weight`` (num_embeddings, embedding_dim) at the integer indices
    ``input`` (any shape); the result has shape ``input.shape + (embedding_dim,)``.

    padding_idx: that row gets no gradient. max_norm: rows read whose ``norm_type``-norm
    exceeds it are rescaled in place to that norm. scale_grad_by_freq: divide each
    gradient by how often its index appears in ``input``.

    Example::

        vectors = F.embedding(ember.tensor([[0, 2], [1, 1]]), ember.randn(10, 4))  # (2, 2, 4)
    """
    op = "embedding"
    check_tensor(input, op)
    check_tensor(weight, op, "weight")
    if input.dtype.name not in ("int64", "int32"):
        raise RuntimeError(f"{op}: expected int64 or int32 indices, received {input.dtype.name}")
    if weight.ndim != 2:
        raise RuntimeError(
            f"{op}: expected weight of shape (num_embeddings, embedding_dim), received "
            f"{_shape(weight)}"
        )
    if sparse:
        raise NotImplementedError(f"{op}: sparse gradients are not supported; use sparse=False")
    n = weight.shape[0]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(
                f"{op}: padding_idx must be within [-{n}, {n - 1}] for {n} embeddings, "
                f"received {padding_idx}"
            )
        padding_idx %= n
    idx = input._data
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= n:
            raise EmberIndexError(
                f"{op}: index {lo if lo < 0 else hi} is out of range for a weight with {n} rows "
                f"(expected indices in [0, {n - 1}])"
            )
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    return Embedding.apply(weight, input, padding_idx, bool(scale_grad_by_freq))


def _renorm_rows(weight, idx, max_norm, norm_type):
    """Rescale in place the rows of ``weight`` read by ``idx`` whose norm exceeds max_norm."""
    xp = get_array_module(weight._data)
    rows = xp.unique(idx.reshape(-1))
    w = weight._data[rows]
    norms = xp.linalg.norm(w.astype(np.float64), ord=norm_type, axis=1)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    weight._data[rows] = (w * scale[:, None]).astype(w.dtype)
    weight._vc[0] += 1


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding: shape ``tensor.shape + (num_classes,)``; ``num_classes=-1``
    uses the largest value plus one."""
    op = "one_hot"
    check_tensor(tensor, op, "tensor")
    if tensor.dtype.name != "int64":
        raise RuntimeError(
            f"{op}: expected an int64 tensor of class indices, received {tensor.dtype.name}"
        )
    x = tensor._data
    xp = get_array_module(x)
    if num_classes == -1:
        if x.size == 0:
            raise RuntimeError(
                f"{op}: cannot infer the number of classes from an empty tensor; pass num_classes"
            )
        num_classes = int(x.max()) + 1
    elif num_classes < 0:
        raise RuntimeError(f"{op}: num_classes must be -1 or non-negative, received {num_classes}")
    if x.size:
        lo, hi = int(x.min()), int(x.max())
        if lo < 0:
            raise RuntimeError(f"{op}: class values must be non-negative, received {lo}")
        if hi >= num_classes:
            raise RuntimeError(
                f"{op}: class value {hi} is out of range for num_classes={num_classes}"
            )
    return _const((x[..., None] == xp.arange(num_classes)).astype(xp.int64))


# ---------------------------------------------------------------- normalisation
class Normalize(Function):
    """``(x - mean) / sqrt(var + eps)`` over ``dims`` (biased variance). Outputs the
    normalised x, the inverse std (both differentiable, so backward can be written in
    them and still be differentiated again), and the mean and variance (not
    differentiable, for running statistics)."""

    @staticmethod
    def forward(ctx, x, dims, eps):
        xp = get_array_module(x)
        n = 1
        for d in dims:
            n *= x.shape[d]
        mean = x.mean(axis=dims, keepdims=True)
        xhat = x - mean
        var = xp.square(xhat).mean(axis=dims, keepdims=True)
        invstd = (1 / xp.sqrt(var + eps)).astype(x.dtype)
        xhat *= invstd
        ctx.dims, ctx.n = dims, n
        ctx.save_for_backward(xhat, invstd)
        ctx.mark_non_differentiable(mean, var)
        return xhat, invstd, mean, var

    @staticmethod
    def backward(ctx, g, g_invstd, g_mean, g_var):
        xhat, invstd = ctx.saved_tensors
        dims = ctx.dims
        inner = (g * xhat).mean(dims, keepdim=True)
        if g_invstd is not None:  # d invstd / dx = -invstd**2 * xhat / n
            inner = inner + g_invstd * invstd / ctx.n
        return invstd * (g - g.mean(dims, keepdim=True) - xhat * inner), None, None


def _check_param(op, name, t, shape):
    if t is None:
        return
    check_tensor(t, op, name)
    if _shape(t) != tuple(shape):
        raise RuntimeError(f"{op}: expected {name} of shape {tuple(shape)}, received {_shape(t)}")


def _affine(y, weight, bias, shape):
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:  # fmt: skip
    """Normalise each channel (dim 1) of an (N, C) or (N, C, *) input.

    training=True: with the batch's mean and biased variance over all dims but 1; the
    running statistics (C,), when given, are updated in place:
    ``running = (1 - momentum) * running + momentum * batch`` (unbiased variance).
    training=False: with ``running_mean`` and ``running_var``. weight, bias: (C,).

    Example::

        y = F.batch_norm(x, rm, rv, w, b, training=True)  # x: (N, C, H, W)
    """
    if _amp.on:
        args = (running_mean, running_var, weight, bias, training, momentum, eps)
        return autocast_norm("batch_norm", batch_norm, input, *args)
    op = "batch_norm"
    check_tensor(input, op)
    if input.ndim < 2:
        raise ValueError(
            f"{op}: expected an input of shape (N, C) or (N, C, *), received {_shape(input)}"
        )
    _float_input(input, op)
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):  # fmt: skip
        _check_param(op, name, t, (c,))
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        _no_grad_arg(t, op, name)
    shape = (1, c) + (1,) * (input.ndim - 2)
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError(f"{op}: running_mean and running_var are needed when training=False")
        scale = (running_var + eps) ** -0.5
        if weight is not None:
            scale = scale * weight
        shift = -running_mean * scale
        if bias is not None:
            shift = shift + bias
        return input * scale.reshape(shape) + shift.reshape(shape)
    n = input.numel() // c if c else 0
    if n == 1:
        raise ValueError(
            f"{op}: expected more than 1 value per channel when training, received an input of "
            f"shape {_shape(input)}"
        )
    if input.numel() == 0:  # nothing to normalise; PyTorch leaves the statistics alone
        return _affine(input * 0, weight, bias, shape)
    if (
        kernels.enabled()
        and _fusable(input)
        and all(p is None or p._data.dtype == input._data.dtype for p in (weight, bias))
    ):
        kernels.taken["batch_norm"] += 1
        y, mean, var = BatchNorm.apply(input, weight, bias, float(eps))
    else:
        dims = (0,) + tuple(range(2, input.ndim))
        xhat, _, mean, var = Normalize.apply(input, dims, eps)
        y = None
    for running, batch in ((running_mean, mean._data), (running_var, var._data * (n / (n - 1)))):
        if running is not None:
            r = running._data
            r[...] = ((1 - momentum) * r + momentum * batch.reshape(c)).astype(r.dtype)
            running._vc[0] += 1
    return _affine(xhat, weight, bias, shape) if y is None else y


class BatchNorm(Function):
    """Batch norm in training with its affine weight and bias (the fast path of batch_norm):
    forward and backward each a compiled loop over the (N, C, L) view of the input. Outputs
    y and the batch's mean and biased variance (C,) (not differentiable: for the running
    statistics). Saves the input, the weight and each channel's mean and 1 / std. When a
    graph of the gradient is being built, backward is the same formula in ember's ops."""

    @staticmethod
    def forward(ctx, x, w, b, eps):
        y, mean, var, rstd = knn.batch_norm(x.reshape(x.shape[0], x.shape[1], -1), w, b, eps)
        ctx.eps = eps
        ctx.save_for_backward(x, w, mean, rstd)
        ctx.mark_non_differentiable(mean, var)
        return y.reshape(x.shape), mean, var

    @staticmethod
    def backward(ctx, gy, g_mean, g_var):
        x, w, mean, rstd = ctx.saved_tensors
        need = ctx.needs_input_grad
        c = x.shape[1]
        if grad_mode.state.enabled:  # a graph of the gradient: in differentiable ops
            dims = (0,) + tuple(range(2, x.ndim))
            shape = (1, c) + (1,) * (x.ndim - 2)
            xc = x - x.mean(dims, keepdim=True)
            r = ((xc * xc).mean(dims, keepdim=True) + ctx.eps).rsqrt()
            xhat = xc * r
            gx = None
            if need[0]:
                g = gy if w is None else gy * w.reshape(shape)
                mg, mgx = g.mean(dims, keepdim=True), (g * xhat).mean(dims, keepdim=True)
                gx = r * (g - mg - xhat * mgx)
            gw = (gy * xhat).sum(dims) if need[1] else None
            gb = gy.sum(dims) if need[2] else None
            return gx, gw, gb, None
        xd = x._data
        x3 = xd.reshape(xd.shape[0], c, -1)
        gx, gw, gb = knn.batch_norm_backward(
            gy._data.reshape(x3.shape), x3, mean._data, rstd._data,
            None if w is None else w._data,
        )  # fmt: skip
        return (
            gx.reshape(xd.shape) if need[0] else None,
            gw if need[1] else None,
            gb if need[2] else None,
            None,
        )


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:  # fmt: skip
    """Normalise over the last ``len(normalized_shape)`` dims, which must equal
    ``normalized_shape``; weight and bias have that shape.

    Example::

        y = F.layer_norm(x, (512,), w, b)  # x: (B, T, 512)
    """
    if _amp.on:
        return autocast_norm("layer_norm", layer_norm, input, normalized_shape, weight, bias, eps)
    op = "layer_norm"
    check_tensor(input, op)
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(ns)
    if k == 0 or input.ndim < k or _shape(input)[input.ndim - k :] != ns:
        raise RuntimeError(
            f"{op}: normalized_shape={ns} needs an input of shape (*, "
            f"{', '.join(map(str, ns))}), received {_shape(input)}"
        )
    _float_input(input, op)
    _check_param(op, "weight", weight, ns)
    _check_param(op, "bias", bias, ns)
    if (
        kernels.enabled()
        and _fusable(input)
        and all(p is None or p._data.dtype == input._data.dtype for p in (weight, bias))
    ):
        kernels.taken["layer_norm"] += 1
        return LayerNorm.apply(input, weight, bias, k, float(eps))
    xhat = Normalize.apply(input, tuple(range(input.ndim - k, input.ndim)), eps)[0]
    return _affine(xhat, weight, bias, ns)


def _sum_lead(t: Tensor, lead: tuple) -> Tensor:
    return t.sum(lead) if lead else t


class LayerNorm(Function):
    """Layer norm over the last ``k`` dims with its affine weight and bias, forward and
    backward each one compiled loop over the rows (the fast path of layer_norm). Saves the
    input (kept anyway by the op before it), each row's mean and 1 / std, and the weight.
    When a graph of the gradient is being built, backward is the same formula in ember's
    ops, the statistics recomputed from the input so that they are differentiated too."""

    @staticmethod
    def forward(ctx, x, w, b, k, eps):
        d = math.prod(x.shape[x.ndim - k :])
        n = math.prod(x.shape[: x.ndim - k])
        w1, b1 = (None if p is None else p.reshape(d) for p in (w, b))
        y, mean, rstd = knn.layer_norm(x.reshape(n, d), w1, b1, eps)
        ctx.k, ctx.eps = k, eps
        ctx.save_for_backward(x, w, mean, rstd)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, gy):
        x, w, mean, rstd = ctx.saved_tensors
        k = ctx.k
        ns = tuple(x.shape[x.ndim - k :])
        lead = tuple(range(x.ndim - k))
        need = ctx.needs_input_grad
        if grad_mode.state.enabled:  # a graph of the gradient: in differentiable ops
            dims = tuple(range(x.ndim - k, x.ndim))
            xc = x - x.mean(dims, keepdim=True)
            r = ((xc * xc).mean(dims, keepdim=True) + ctx.eps).rsqrt()
            xhat = xc * r
            gx = None
            if need[0]:
                g = gy if w is None else gy * w
                mg, mgx = g.mean(dims, keepdim=True), (g * xhat).mean(dims, keepdim=True)
                gx = r * (g - mg - xhat * mgx)
            gw = _sum_lead(gy * xhat, lead) if need[1] else None
            gb = _sum_lead(gy, lead) if need[2] else None
            return gx, gw, gb, None, None
        d, n = math.prod(ns), math.prod(x.shape[: x.ndim - k])
        wd = None if w is None else w._data.reshape(d)
        gx, gw, gb = knn.layer_norm_backward(
            gy._data.reshape(n, d), x._data.reshape(n, d), mean._data, rstd._data, wd
        )
        return (
            gx.reshape(x.shape) if need[0] else None,
            gw.reshape(ns) if need[1] else None,
            gb.reshape(ns) if need[2] else None,
            None,
            None,
        )


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:  # fmt: skip
    """Split the channels (dim 1) of an (N, C, *) input into ``num_groups`` groups and
    normalise each group of each sample; weight and bias: (C,)."""
    if _amp.on:
        return autocast_norm("group_norm", group_norm, input, num_groups, weight, bias, eps)
    op = "group_norm"
    check_tensor(input, op)
    if input.ndim < 2:
        raise RuntimeError(f"{op}: expected an input of shape (N, C, *), received {_shape(input)}")
    c = input.shape[1]
    if not isinstance(num_groups, int) or num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            f"{op}: the number of channels ({c}, dim 1 of input of shape {_shape(input)}) must "
            f"be divisible by num_groups, received num_groups={num_groups}"
        )
    _float_input(input, op)
    _check_param(op, "weight", weight, (c,))
    _check_param(op, "bias", bias, (c,))
    per_group = (c // num_groups) * math.prod(input.shape[2:])
    grouped = input.reshape(input.shape[0], num_groups, per_group)
    xhat = Normalize.apply(grouped, (2,), eps)[0].reshape(_shape(input))
    return _affine(xhat, weight, bias, (c,) + (1,) * (input.ndim - 2))


# ---------------------------------------------------------------- attention
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:  # fmt: skip
    """``softmax(query @ key.T * scale + mask) @ value``.

    query: (..., L, E); key: (..., S, E); value: (..., S, Ev); leading dims broadcast.
    attn_mask: broadcast to (..., L, S); bool (True = may attend) or float (added to the
    scores). is_causal: query i attends to keys 0..i (no attn_mask then). scale: defaults
    to 1/sqrt(E). enable_gqa: key and value may have fewer heads (dim -3) than query.

    Example::

        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, L, Ev)
    """
    if _amp.on:
        query, key, value, attn_mask = autocast_args(
            "scaled_dot_product_attention", query, key, value, attn_mask
        )
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        check_tensor(t, op, name)
        if t.ndim < 2:
            raise RuntimeError(f"{op}: expected {name} with at least 2 dims, received {_shape(t)}")
    if not (query.dtype is key.dtype is value.dtype):
        raise RuntimeError(
            f"{op}: expected query, key and value of the same dtype, received "
            f"{query.dtype.name}, {key.dtype.name} and {value.dtype.name}"
        )
    _float_input(query, op, "query")
    if key.shape[-1] != query.shape[-1]:
        raise RuntimeError(
            f"{op}: key of shape {_shape(key)} must have the query's last size "
            f"{query.shape[-1]} (query {_shape(query)})"
        )
    if value.shape[-2] != key.shape[-2]:
        raise RuntimeError(
            f"{op}: value of shape {_shape(value)} must have as many positions (dim -2) as key "
            f"of shape {_shape(key)}"
        )
    if not isinstance(dropout_p, numbers.Real) or not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(
            f"{op}: dropout_p must be a probability in [0, 1], received {dropout_p!r}"
        )
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{op}: attn_mask must be None when is_causal=True")
    if enable_gqa and query.ndim >= 3:
        key, value = _repeat_heads(op, query, key), _repeat_heads(op, query, value)
    L, S = query.shape[-2], key.shape[-2]
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1]) if query.shape[-1] else 1.0
    if (kernels.enabled() and attn_mask is None and dropout_p == 0 and _fusable(query)
            and query.shape[:-2] == key.shape[:-2] == value.shape[:-2]):  # fmt: skip
        kernels.taken["scaled_dot_product_attention"] += 1
        return Attention.apply(query, key, value, float(scale), bool(is_causal))
    scores = matmul(query, key.transpose(-2, -1)) * scale
    xp = get_array_module(query._data)
    dead = None
    if is_causal:
        keep = xp.tril(xp.ones((L, S), dtype=bool))
        scores = scores + _const(xp.where(keep, 0, -xp.inf).astype(query._data.dtype))
    elif attn_mask is not None:
        check_tensor(attn_mask, op, "attn_mask")
        want = _shape(scores)[-2:]
        ms = _shape(attn_mask)
        if not _broadcasts_to(ms, _shape(scores)):
            raise RuntimeError(
                f"{op}: attn_mask of shape {ms} does not broadcast to the attention scores' "
                f"shape {_shape(scores)} (..., L, S) = (..., {want[0]}, {want[1]})"
            )
        if attn_mask.dtype.name == "bool":
            bias = xp.where(attn_mask._data, 0, -xp.inf).astype(query._data.dtype)
            if not bool(attn_mask._data.any(-1).all()):  # a query that may attend to nothing
                none = ~attn_mask._data.any(-1, keepdims=True)
                bias = xp.where(none, 0, bias)  # finite scores there; zeroed after softmax
                dead = _const(none)
            scores = scores + _const(bias)
        elif attn_mask.dtype is query.dtype:
            scores = scores + attn_mask
        else:
            raise RuntimeError(
                f"{op}: attn_mask must be bool or of the query's dtype {query.dtype.name}, "
                f"received {attn_mask.dtype.name}"
            )
    attn = softmax(scores, -1)
    if dead is not None:  # PyTorch gives such rows zeros rather than softmax's NaN
        attn = attn.masked_fill(dead, 0.0)
    if dropout_p > 0:
        attn = dropout(attn, dropout_p)
    return matmul(attn, value)


class Attention(Function):
    """``softmax(q @ k.T * scale (+ causal mask)) @ v`` with the softmax as one compiled loop
    that skips the masked keys (no mask is built), written in place over the scores (the
    fast path of scaled_dot_product_attention, without attn_mask or dropout). Saves q, k, v
    and the attention weights; backward is four products and one fused softmax gradient.
    When a graph of the gradient is being built, backward is the same formula in ember's
    ops, the weights recomputed from q and k so that they are differentiated too."""

    @staticmethod
    def forward(ctx, q, k, v, scale, causal):
        scores = gemm.matmul(q, np.swapaxes(k, -1, -2))
        attn = knn.softmax_last(scores, scale, causal, out=scores)
        ctx.scale, ctx.causal = scale, causal
        ctx.save_for_backward(q, k, v, attn)
        return gemm.matmul(attn, v)

    @staticmethod
    def backward(ctx, gy):
        q, k, v, attn = ctx.saved_tensors
        need = ctx.needs_input_grad
        scale = ctx.scale
        if grad_mode.state.enabled:  # a graph of the gradient: in differentiable ops
            scores = matmul(q, k.transpose(-2, -1)) * scale
            if ctx.causal:
                L, S = scores.shape[-2:]
                keep = np.tril(np.ones((L, S), dtype=bool))
                scores = scores + _const(np.where(keep, 0, -np.inf).astype(q._data.dtype))
            a = softmax(scores, -1)
            ga = matmul(gy, v.transpose(-2, -1))
            gs = a * (ga - (ga * a).sum(-1, keepdim=True)) * scale
            return (
                matmul(gs, k) if need[0] else None,
                matmul(gs.transpose(-2, -1), q) if need[1] else None,
                matmul(a.transpose(-2, -1), gy) if need[2] else None,
                None,
                None,
            )
        g, a = gy._data, attn._data
        gv = gemm.matmul(np.swapaxes(a, -1, -2), g) if need[2] else None
        gs = knn.softmax_backward_last(gemm.matmul(g, np.swapaxes(v._data, -1, -2)), a, scale)
        gq = gemm.matmul(gs, k._data) if need[0] else None
        gk = gemm.matmul(np.swapaxes(gs, -1, -2), q._data) if need[1] else None
        return gq, gk, gv, None, None


def _repeat_heads(op, query, t):
    """Repeat each head of ``t`` (dim -3) so it has as many heads as ``query``."""
    hq, hk = query.shape[-3], t.shape[-3]
    if hk == hq:
        return t
    if hk == 0 or hq % hk:
        raise RuntimeError(
            f"{op}: the number of heads of key and value ({hk}) must divide that of query ({hq})"
        )
    lead, (s, e) = _shape(t)[:-3], _shape(t)[-2:]
    t = t.unsqueeze(-3).expand(*lead, hk, hq // hk, s, e)
    return t.reshape(*lead, hq, s, e)
