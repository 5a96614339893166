"""Reductions: sum, mean, nansum/nanmean, prod, max/min, amax/amin/aminmax, argmax/argmin,
var/std (and var_mean/std_mean), logsumexp, norm, cumsum, logcumsumexp, all/any.

A reduction takes ``dim`` (an int, a tuple of ints, or None for every dim, where PyTorch
allows it) and ``keepdim``. The backward of each broadcasts the output's gradient back over
the reduced dims; max and min send it to the elements that were selected.
"""

from __future__ import annotations

import builtins
import math
import warnings
from collections import namedtuple

import numpy as np

from ember import dtypes
from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.errors import EmberIndexError
from ember.ops._util import check_tensor, quiet, tensor_method
from ember.tensor import Tensor, _wrap_dim, _wrap_dims

__all__ = [
    "all", "amax", "amin", "aminmax", "any", "argmax", "argmin", "cumsum", "logcumsumexp",
    "logsumexp", "max", "mean", "min", "nanmean", "nansum", "norm", "prod", "std", "std_mean",
    "sum", "var", "var_mean",
]  # fmt: skip

# What max(input, dim) and min(input, dim) return, as torch.return_types.max / .min do.
MaxResult = namedtuple("max", ("values", "indices"))
MinResult = namedtuple("min", ("values", "indices"))
AminmaxResult = namedtuple("aminmax", ("min", "max"))


# ---------------------------------------------------------------- helpers
def _dims(x: Tensor, dim, op: str, empty_is_all: bool = True) -> tuple:
    """The reduced dims as a sorted tuple of non-negative ints (``()`` for a 0-d tensor,
    whose only valid dims, 0 and -1, reduce nothing)."""
    if empty_is_all and isinstance(dim, (list, tuple)) and len(dim) == 0:
        dim = None  # PyTorch reads dim=() as "all dims" for most reductions
    dims = _wrap_dims(dim, x.ndim, op)
    return tuple(sorted(dims)) if x.ndim else ()


def _count(shape, dims) -> int:
    return math.prod(shape[d] for d in dims)


def _out_shape(shape, dims, keepdim) -> tuple:
    if keepdim:
        return tuple(1 if i in dims else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in dims)


def _expand_back(gy: Tensor, shape, dims, keepdim) -> Tensor:
    """Broadcast a reduced gradient (or output) back over the reduced dims of ``shape``."""
    if not keepdim:
        gy = gy.reshape(_out_shape(shape, dims, True))
    return gy.expand(shape)


def _const(arr) -> Tensor:
    """A constant (a mask, a weight) for use in a backward: no graph behind it."""
    return Tensor._make(_array(arr))


def _array(a):
    """NumPy hands back scalars, not 0-d arrays, from 0-d operations; a Tensor (and an
    array saved for backward) needs the array."""
    return np.asarray(a) if isinstance(a, np.generic) else a


def _wide(x):
    """16-bit floats are accumulated in float32, as PyTorch does; other arrays as they are."""
    if x.dtype.kind in "fV" and x.dtype.itemsize == 2:
        return x.astype("float32")
    return x


def _check_float(x: Tensor, op: str) -> None:
    if not x.is_floating_point():
        raise RuntimeError(
            f"{op}: expected a floating-point input, received {x.dtype}; "
            "call .float() (or .double()) first"
        )


def _check_nonempty(x: Tensor, dims, dim_given: bool, op: str) -> None:
    """max, min, amax, argmax … have no identity, so they cannot reduce over nothing."""
    if x._data.size:
        return
    if not dim_given:
        raise RuntimeError(
            f"{op}: cannot reduce the empty tensor of shape {tuple(x.shape)} over all its "
            f"dims ({op} of no elements is undefined); pass dim to reduce over a non-empty dim"
        )
    for d in dims:
        if x.shape[d] == 0:
            raise EmberIndexError(
                f"{op}: cannot reduce over dim {d}, which has size 0 in a tensor of shape "
                f"{tuple(x.shape)} ({op} of no elements is undefined)"
            )


def _int_dim(dim, op: str, hint: str = "") -> None:
    if isinstance(dim, (list, tuple)):
        raise TypeError(f"{op}: dim must be a single int, received {tuple(dim)}{hint}")


def _warn_dof(op: str) -> None:
    warnings.warn(
        f"{op}: degrees of freedom is <= 0 (correction is not smaller than the number of "
        "elements reduced), so the result is inf or nan",
        UserWarning,
        stacklevel=3,
    )


# ---------------------------------------------------------------- sum, mean
class Sum(Function):
    @staticmethod
    @quiet  # inf - inf and the like give nan silently, as in PyTorch
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return _wide(x).sum(axis=dims, keepdims=keepdim).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        return _expand_back(gy, ctx.shape, ctx.dims, ctx.keepdim)


@tensor_method
def sum(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (an int, a tuple, or None for all). Integers and bools sum to int64
    unless ``dtype`` says otherwise; ``dtype`` casts the input first.

    Example::

        x = ember.ones(2, 3)
        x.sum()                      # tensor(6.)
        x.sum(dim=1, keepdim=True)   # shape (2, 1)
    """
    check_tensor(input, "sum")
    dims = _dims(input, dim, "sum")
    if dtype is not None:
        d = dtypes.as_dtype(dtype)
    elif input._data.dtype.kind in "biu":
        d = dtypes.int64
    else:
        d = input.dtype
    if d is not input.dtype:
        input = input.to(d)
    return Sum.apply(input, dims, keepdim)


class Mean(Function):
    @staticmethod
    @quiet  # inf - inf and the like give nan silently, as in PyTorch
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.n = n = _count(x.shape, dims)
        if n == 0:  # the mean of nothing is nan, as in PyTorch (without NumPy's warning)
            xp = get_array_module(x)
            return xp.full(_out_shape(x.shape, dims, keepdim), xp.nan, x.dtype)
        return (_wide(x).sum(axis=dims, keepdims=keepdim) / n).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        gy = gy / ctx.n if ctx.n else gy  # n == 0: the input is empty, so is its gradient
        return _expand_back(gy, ctx.shape, ctx.dims, ctx.keepdim)


@tensor_method
def mean(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``dim``; needs a floating-point input (or a floating ``dtype``, which casts
    the input first). The mean over zero elements is nan.

    Example::

        ember.tensor([[1., 2.], [3., 4.]]).mean(dim=0)   # tensor([2., 3.])
    """
    check_tensor(input, "mean")
    if dtype is not None:
        d = dtypes.as_dtype(dtype)
        if not d.is_floating_point:
            raise RuntimeError(f"mean: dtype must be a floating-point dtype, received {d}")
        input = input.to(d)
    if not input.is_floating_point():
        raise RuntimeError(
            f"mean: expected a floating-point input, received {input.dtype}; "
            "pass dtype=ember.float32 or call .float() first"
        )
    return Mean.apply(input, _dims(input, dim, "mean"), keepdim)


# ---------------------------------------------------------------- prod
def _zero_parts(x, dims):
    """For each slice along ``dims``: where x is zero, how many zeros there are, x with its
    zeros replaced by ones, and the product of the nonzero elements."""
    zero = x == 0
    z = zero.sum(axis=dims, keepdims=True)
    safe = get_array_module(x).where(zero, x.dtype.type(1), x)
    return zero, z, safe, safe.prod(axis=dims, keepdims=True)


def _prod_others(x, dims):
    """Each element replaced by the product of the *other* elements of its slice: no
    division by zero, so it is exact with zeros (one zero: only the zero's entry is
    nonzero; two or more: all are zero)."""
    xp = get_array_module(x)
    zero, z, safe, q = _zero_parts(x, dims)
    nil = x.dtype.type(0)
    return xp.where(z == 0, q / safe, xp.where(zero & (z == 1), q, nil))


def _prod_others_vjp(g, x, dims):
    """sum_i g_i * d(prod_others(x)_i)/dx_k = sum_{i != k} g_i * prod_{j not in {i, k}} x_j,
    by the number of zeros in the slice (its Jacobian is symmetric)."""
    xp = get_array_module(x)
    zero, z, safe, q = _zero_parts(x, dims)
    nil = x.dtype.type(0)
    r = g / safe
    s = xp.where(zero, nil, r).sum(axis=dims, keepdims=True)  # sum of g_i / x_i, x_i != 0
    gz = xp.where(zero, g, nil).sum(axis=dims, keepdims=True)  # sum of g at the zeros
    h0 = q / safe * (s - r)
    h1 = xp.where(zero, q * s, gz * q / safe)
    h2 = xp.where(zero, (gz - g) * q, nil)
    return xp.where(z == 0, h0, xp.where(z == 1, h1, xp.where(z == 2, h2, nil)))


class ProdOthers(Function):
    """prod's gradient when the input has zeros; its own backward gives the second order."""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        ctx.save_for_backward(x)
        return _prod_others(x, dims)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return ProdOthersVJP.apply(g, x, ctx.dims)


class ProdOthersVJP(Function):
    @staticmethod
    def forward(ctx, g, x, dims):
        ctx.dims = dims
        ctx.save_for_backward(x)
        return _prod_others_vjp(g, x, dims)

    @staticmethod
    def backward(ctx, gh):
        if ctx.needs_input_grad[1]:
            raise RuntimeError(
                "prod: the third derivative of prod at an input that contains zeros is not "
                "implemented"
            )
        (x,) = ctx.saved_tensors
        # Linear in g, with a symmetric Jacobian: the map is its own transpose.
        return ProdOthersVJP.apply(gh, x, ctx.dims), None


class Prod(Function):
    @staticmethod
    @quiet  # inf - inf and the like give nan silently, as in PyTorch
    def forward(ctx, x, dims, keepdim):
        ctx.dims, ctx.keepdim = dims, keepdim
        y = _array(_wide(x).prod(axis=dims, keepdims=keepdim).astype(x.dtype, copy=False))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        if not ctx.dims:  # a 0-d input: y = x
            return gy
        x, y = ctx.saved_tensors
        gy = _expand_back(gy, x.shape, ctx.dims, ctx.keepdim)
        if not bool((x._data == 0).any()):
            return gy * (_expand_back(y, x.shape, ctx.dims, ctx.keepdim) / x)
        return gy * ProdOthers.apply(x, ctx.dims)


@tensor_method
def prod(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product over one ``dim`` (an int) or over all elements (``dim=None``). Integers and
    bools multiply to int64 unless ``dtype`` says otherwise. The gradient is exact also
    where the input has zeros.

    Example::

        ember.tensor([[1., 2.], [3., 4.]]).prod(dim=1)   # tensor([ 2., 12.])
    """
    check_tensor(input, "prod")
    _int_dim(dim, "prod")
    dims = _dims(input, dim, "prod")
    if dtype is not None:
        d = dtypes.as_dtype(dtype)
    elif input._data.dtype.kind in "biu":
        d = dtypes.int64
    else:
        d = input.dtype
    if d is not input.dtype:
        input = input.to(d)
    return Prod.apply(input, dims, keepdim)


# ---------------------------------------------------------------- max, min, amax, amin
class Extreme(Function):
    """amax / amin: the gradient is shared evenly among the elements equal to the result."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, largest):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        y = x.max(axis=dims, keepdims=True) if largest else x.min(axis=dims, keepdims=True)
        if ctx.needs_input_grad[0]:
            hit = x == y
            share = hit / hit.sum(axis=dims, keepdims=True).astype(x.dtype)
            ctx.save_for_backward(_array(share))
        return y if keepdim else y.reshape(_out_shape(x.shape, dims, False))

    @staticmethod
    def backward(ctx, gy):
        (share,) = ctx.saved_tensors
        return _expand_back(gy, ctx.shape, ctx.dims, ctx.keepdim) * share


class ExtremeDim(Function):
    """max / min along one dim, with indices: the gradient goes to the selected element."""

    @staticmethod
    def forward(ctx, x, dim, keepdim, largest):
        xp = get_array_module(x)
        ctx.shape, ctx.dim = x.shape, dim
        flat = x.reshape(1) if x.ndim == 0 else x
        find = xp.argmax if largest else xp.argmin
        idx = find(flat, axis=dim, keepdims=True)
        values = xp.take_along_axis(flat, idx, axis=dim)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(idx)
        if not keepdim or x.ndim == 0:
            shape = _out_shape(x.shape, (dim,) if x.ndim else (), False)
            values, idx = values.reshape(shape), idx.reshape(shape)
        return values, idx.astype("int64", copy=False)

    @staticmethod
    def backward(ctx, gv, gi):
        (idx,) = ctx.saved_tensors
        if not ctx.shape:
            return gv
        xp = get_array_module(idx._data)
        dim, n = ctx.dim, ctx.shape[ctx.dim]
        pos = xp.arange(n).reshape((n,) + (1,) * (len(ctx.shape) - dim - 1))
        onehot = (pos == idx._data).astype(gv._data.dtype)
        return gv.reshape(idx.shape) * _const(onehot)


def _extreme(op, largest, input, dim, keepdim, other):
    check_tensor(input, op)
    if isinstance(dim, Tensor) or other is not None:
        from ember.ops import elementwise  # written alongside; imported when first needed

        fn = elementwise.maximum if largest else elementwise.minimum
        return fn(input, dim if other is None else other)
    if dim is None:
        _check_nonempty(input, (), False, op)
        return Extreme.apply(input, _dims(input, None, op), False, largest)
    _int_dim(dim, op, f"; use {'amax' if largest else 'amin'} to reduce over several dims")
    d = _wrap_dim(dim, input.ndim, op)
    _check_nonempty(input, (d,) if input.ndim else (), True, op)
    values, indices = ExtremeDim.apply(input, d, keepdim, largest)
    return (MaxResult if largest else MinResult)(values, indices)


@tensor_method
def max(input, dim=None, keepdim: bool = False, *, other=None):
    """The largest element; or, along ``dim``, a ``(values, indices)`` named tuple; or, given
    a tensor instead of a dim, the elementwise maximum of the two.

    ``max(x)`` shares the gradient evenly among tied largest elements; ``max(x, dim)`` sends
    it to the index it returns (the first of ties).

    Example::

        x = ember.tensor([[1., 5.], [7., 2.]])
        x.max()                      # tensor(7.)
        values, indices = x.max(dim=1)   # tensor([5., 7.]), tensor([1, 0])
    """
    return _extreme("max", True, input, dim, keepdim, other)


@tensor_method
def min(input, dim=None, keepdim: bool = False, *, other=None):
    """The smallest element; or, along ``dim``, a ``(values, indices)`` named tuple; or, given
    a tensor instead of a dim, the elementwise minimum. See ``max``."""
    return _extreme("min", False, input, dim, keepdim, other)


def _a_extreme(op, largest, input, dim, keepdim):
    check_tensor(input, op)
    dim_given = dim is not None and not (isinstance(dim, (list, tuple)) and len(dim) == 0)
    dims = _dims(input, dim, op)
    _check_nonempty(input, dims, dim_given, op)
    return Extreme.apply(input, dims, keepdim, largest)


@tensor_method
def amax(input, dim=(), keepdim: bool = False) -> Tensor:
    """The largest value over ``dim`` (an int or a tuple; ``()`` or None for all dims). The
    gradient is shared evenly among the elements equal to the maximum.

    Example::

        ember.tensor([[1., 5.], [7., 2.]]).amax(dim=0)   # tensor([7., 5.])
    """
    return _a_extreme("amax", True, input, dim, keepdim)


@tensor_method
def amin(input, dim=(), keepdim: bool = False) -> Tensor:
    """The smallest value over ``dim``; see ``amax``."""
    return _a_extreme("amin", False, input, dim, keepdim)


@tensor_method
def aminmax(input, *, dim=None, keepdim: bool = False) -> tuple:
    """``(min, max)`` as a named tuple, over one ``dim`` (an int) or all elements. The
    gradient of each is shared evenly among tied elements, as ``amin``/``amax`` share it.

    Example::

        lo, hi = ember.tensor([[1., 5.], [7., 2.]]).aminmax(dim=1)   # [1., 2.], [5., 7.]
    """
    check_tensor(input, "aminmax")
    _int_dim(dim, "aminmax")
    dims = _dims(input, dim, "aminmax")
    _check_nonempty(input, dims, dim is not None, "aminmax")
    return AminmaxResult(
        Extreme.apply(input, dims, keepdim, False), Extreme.apply(input, dims, keepdim, True)
    )


def _arg_extreme(op, largest, input, dim, keepdim):
    check_tensor(input, op)
    x = input._data
    xp = get_array_module(x)
    find = xp.argmax if largest else xp.argmin
    if dim is None:
        _check_nonempty(input, (), False, op)
        idx = find(x.reshape(-1))
        shape = (1,) * input.ndim if keepdim else ()
        return Tensor._make(xp.asarray(idx, dtype="int64").reshape(shape))
    _int_dim(dim, op)
    d = _wrap_dim(dim, input.ndim, op)
    if input.ndim == 0:
        return Tensor._make(xp.zeros((), dtype="int64"))
    _check_nonempty(input, (d,), True, op)
    return Tensor._make(find(x, axis=d, keepdims=keepdim).astype("int64", copy=False))


@tensor_method
def argmax(input, dim=None, keepdim: bool = False) -> Tensor:
    """The index of the largest element along ``dim`` (int64; the first of ties). With
    ``dim=None`` the index is into the flattened tensor.

    Example::

        ember.tensor([[1., 5.], [7., 2.]]).argmax()        # tensor(2)
        ember.tensor([[1., 5.], [7., 2.]]).argmax(dim=1)   # tensor([1, 0])
    """
    return _arg_extreme("argmax", True, input, dim, keepdim)


@tensor_method
def argmin(input, dim=None, keepdim: bool = False) -> Tensor:
    """The index of the smallest element along ``dim``; see ``argmax``."""
    return _arg_extreme("argmin", False, input, dim, keepdim)


# ---------------------------------------------------------------- var, std
def _var_forward(ctx, x, dims, correction, keepdim):
    xp = get_array_module(x)
    ctx.dims, ctx.keepdim, ctx.correction = dims, keepdim, correction
    n = _count(x.shape, dims)
    if n == 0:
        return xp.full(_out_shape(x.shape, dims, keepdim), xp.nan, x.dtype)
    w = _wide(x)
    d = w - w.sum(axis=dims, keepdims=True) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        y = (d * d).sum(axis=dims, keepdims=keepdim) / builtins.max(n - correction, 0)
    return _array(y.astype(x.dtype, copy=False))


def _var_backward(ctx, gy: Tensor, x: Tensor) -> Tensor:
    # PyTorch's formulas, including where N - correction <= 0 (an inf or nan variance).
    dims, keepdim = ctx.dims, ctx.keepdim
    n = _count(x.shape, dims)
    gy = _expand_back(gy, x.shape, dims, keepdim)
    if ctx.all_dims and n - ctx.correction <= 0:
        xp = get_array_module(x._data)
        with np.errstate(invalid="ignore"):
            at_mean = x._data == _wide(x._data).sum() / n
        return gy * _const(xp.where(at_mean, xp.nan, xp.inf).astype(x._data.dtype))
    scale = 2.0 / (n - ctx.correction) if n != ctx.correction else math.inf
    return gy * scale * (x - x.mean(dim=dims, keepdim=True))


class Var(Function):
    @staticmethod
    @quiet  # inf - inf and the like give nan silently, as in PyTorch
    def forward(ctx, x, dims, correction, keepdim, all_dims):
        ctx.all_dims = all_dims
        ctx.save_for_backward(x)
        return _var_forward(ctx, x, dims, correction, keepdim)

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return _var_backward(ctx, gy, x)


class Std(Function):
    @staticmethod
    @quiet  # inf - inf and the like give nan silently, as in PyTorch
    def forward(ctx, x, dims, correction, keepdim, all_dims):
        ctx.all_dims = all_dims
        v = _var_forward(ctx, x, dims, correction, keepdim)
        y = _array(get_array_module(v).sqrt(v))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        # d sqrt(v) = dv / (2 sqrt(v)); where the std is 0 PyTorch makes the gradient 0.
        zero = y._data == 0
        dt = y._data.dtype
        gv = gy / ((y + _const(zero.astype(dt))) * 2) * _const((~zero).astype(dt))
        return _var_backward(ctx, gv, x)


def _var_args(op, input, dim, unbiased, keepdim, correction):
    check_tensor(input, op)
    if isinstance(dim, bool):  # var(x, True): the old var(input, unbiased) form
        if unbiased is not None:
            raise TypeError(f"{op}: received unbiased twice ({dim!r} and {unbiased!r})")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}: pass either unbiased or correction, not both")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if isinstance(correction, bool) or not isinstance(correction, (int, float)):
        raise TypeError(f"{op}: correction must be a number, received {correction!r}")
    if not input.is_floating_point():
        raise RuntimeError(
            f"{op}: expected a floating-point input, received {input.dtype}; "
            "call .float() (or .double()) first"
        )
    dims = _dims(input, dim, op)
    if _count(input.shape, dims) - correction <= 0:
        _warn_dof(op)
    # PyTorch's backward differs where N - correction <= 0 between dim=None and a given dim.
    return dims, correction, dim is None or input.ndim == 0


@tensor_method
def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Variance over ``dim``: sum((x - mean)^2) / (N - correction), with ``correction=1``
    (Bessel's) by default; ``unbiased=False`` is ``correction=0``.

    Example::

        ember.tensor([1., 2., 3., 4.]).var()                 # tensor(1.6667)
        ember.tensor([1., 2., 3., 4.]).var(correction=0)     # tensor(1.2500)
    """
    dims, correction, all_dims = _var_args("var", input, dim, unbiased, keepdim, correction)
    return Var.apply(input, dims, correction, keepdim, all_dims)


@tensor_method
def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Standard deviation over ``dim``, the square root of ``var`` (same arguments)."""
    dims, correction, all_dims = _var_args("std", input, dim, unbiased, keepdim, correction)
    return Std.apply(input, dims, correction, keepdim, all_dims)


# ---------------------------------------------------------------- nansum, nanmean
class NanSum(Function):
    """sum with nan counted as zero; the gradient is zero at the nans."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        xp = get_array_module(x)
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        w = _wide(x)
        nan = xp.isnan(w)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward((~nan).astype(x.dtype))
        y = xp.where(nan, w.dtype.type(0), w).sum(axis=dims, keepdims=keepdim)
        return _array(y.astype(x.dtype, copy=False))

    @staticmethod
    def backward(ctx, gy):
        (keep,) = ctx.saved_tensors
        return _expand_back(gy, ctx.shape, ctx.dims, ctx.keepdim) * keep


@tensor_method
def nansum(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``sum`` that treats nan as zero (same arguments; integers sum to int64).

    Example::

        ember.tensor([1., float("nan"), 2.]).nansum()   # tensor(3.)
    """
    check_tensor(input, "nansum")
    dims = _dims(input, dim, "nansum")
    if dtype is not None and dtypes.as_dtype(dtype) is not input.dtype:
        input = input.to(dtypes.as_dtype(dtype))
    if not input.is_floating_point():  # no nans to skip
        return sum(input, dims, keepdim, dtype=dtype)
    return NanSum.apply(input, dims, keepdim)


@tensor_method
def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``mean`` over the elements that are not nan (same arguments); nan where all are.

    Example::

        ember.tensor([1., float("nan"), 2.]).nanmean()   # tensor(1.5000)
    """
    check_tensor(input, "nanmean")
    if dtype is not None:
        d = dtypes.as_dtype(dtype)
        if not d.is_floating_point:
            raise RuntimeError(f"nanmean: dtype must be a floating-point dtype, received {d}")
        if not input.is_floating_point():
            raise RuntimeError(
                f"nanmean: expected a floating-point input, received {input.dtype}; "
                "call .float() first"
            )
        input = input.to(d)
    if not input.is_floating_point():
        raise RuntimeError(
            f"nanmean: expected a floating-point input, received {input.dtype}; "
            "call .float() (or .double()) first"
        )
    dims = _dims(input, dim, "nanmean")
    x = input._data
    count = (~get_array_module(x).isnan(x)).sum(axis=dims, keepdims=keepdim)
    return NanSum.apply(input, dims, keepdim) / _const(_array(count).astype(x.dtype))


# ---------------------------------------------------------------- var_mean, std_mean
def var_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> tuple:
    """``(var(input, …), mean(input, …))`` over the same dims, with ``var``'s arguments.

    Example::

        v, m = ember.var_mean(ember.tensor([1., 2., 3., 4.]))   # tensor(1.6667), tensor(2.5000)
    """
    dims, correction, all_dims = _var_args("var_mean", input, dim, unbiased, keepdim, correction)
    return Var.apply(input, dims, correction, keepdim, all_dims), Mean.apply(input, dims, keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> tuple:
    """``(std(input, …), mean(input, …))`` over the same dims, with ``std``'s arguments."""
    dims, correction, all_dims = _var_args("std_mean", input, dim, unbiased, keepdim, correction)
    return Std.apply(input, dims, correction, keepdim, all_dims), Mean.apply(input, dims, keepdim)


# ---------------------------------------------------------------- logsumexp
class LogSumExp(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        xp = get_array_module(x)
        ctx.dims, ctx.keepdim = dims, keepdim
        if _count(x.shape, dims) == 0:
            y = xp.full(_out_shape(x.shape, dims, keepdim), -xp.inf, x.dtype)
        else:
            w = _wide(x)
            m = w.max(axis=dims, keepdims=True)
            # Shift by the max for stability; an infinite max (all -inf, or +inf) would make
            # x - m nan, so those slices are not shifted.
            m = xp.where(xp.isfinite(m), m, m.dtype.type(0))
            with np.errstate(divide="ignore"):
                s = xp.log(xp.exp(w - m).sum(axis=dims, keepdims=True)) + m
            y = s if keepdim else s.reshape(_out_shape(x.shape, dims, False))
            y = _array(y.astype(x.dtype, copy=False))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        y = _expand_back(y, x.shape, ctx.dims, ctx.keepdim)
        return _expand_back(gy, x.shape, ctx.dims, ctx.keepdim) * (x - y).exp()


@tensor_method
def logsumexp(input, dim=None, keepdim: bool = False) -> Tensor:
    """log(sum(exp(input))) over ``dim`` (required, as in PyTorch), computed without
    overflow. Integer inputs give the default floating dtype.

    Example::

        ember.tensor([[0., 0.], [1000., 1000.]]).logsumexp(dim=1)   # tensor([0.6931, 1000.6931])
    """
    check_tensor(input, "logsumexp")
    if dim is None:
        raise TypeError(
            "logsumexp: dim is required (an int or a tuple of ints), received None; "
            "to reduce over every dim pass dim=tuple(range(x.ndim))"
        )
    if isinstance(dim, (list, tuple)) and len(dim) == 0 and input.ndim:
        raise RuntimeError(
            "logsumexp: dim=() names no dimension; pass the dims to reduce, e.g. "
            "dim=tuple(range(x.ndim)) for all of them"
        )
    if not input.is_floating_point():
        input = input.to(dtypes.get_default_dtype())
    return LogSumExp.apply(input, _dims(input, dim, "logsumexp"), keepdim)


# ---------------------------------------------------------------- norm
class Norm(Function):
    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        xp = get_array_module(x)
        ctx.p, ctx.dims, ctx.keepdim = p, dims, keepdim
        w = _wide(x)
        a = xp.abs(w)
        with np.errstate(divide="ignore", over="ignore"):
            if p == 0:
                y = (w != 0).sum(axis=dims, keepdims=keepdim).astype(w.dtype)
            elif p == 1:
                y = a.sum(axis=dims, keepdims=keepdim)
            elif p == 2:
                y = xp.sqrt((w * w).sum(axis=dims, keepdims=keepdim))
            elif p == math.inf:
                y = a.max(axis=dims, keepdims=keepdim)
            elif p == -math.inf:
                y = a.min(axis=dims, keepdims=keepdim)
            else:
                y = (a**p).sum(axis=dims, keepdims=keepdim) ** (1.0 / p)
        y = _array(y.astype(x.dtype, copy=False))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        # PyTorch's formulas, in differentiable ops: masks and signs are constants.
        x, y = ctx.saved_tensors
        p, dims, keepdim = ctx.p, ctx.dims, ctx.keepdim
        if p == 0:
            return None
        xp = get_array_module(x._data)
        dt = x._data.dtype
        gy = _expand_back(gy, x.shape, dims, keepdim)
        y = _expand_back(y, x.shape, dims, keepdim)
        sign = _const(xp.sign(x._data))
        if p == 1:
            return gy * sign
        abs_x = x * sign
        y_zero = y._data == 0
        y_safe = y + _const(y_zero.astype(dt))  # y, with its zeros made 1, then masked
        y_nonzero = _const((~y_zero).astype(dt))
        if p == 2:
            return gy * (x / y_safe) * y_nonzero
        if p in (math.inf, -math.inf):
            a = xp.abs(x._data)
            hit = (a == y._data) | xp.isnan(a)
            count = hit.sum(axis=dims, keepdims=True)
            return sign * (gy * _const((hit / count).astype(dt)))
        if p < 1:
            x_zero = x._data == 0
            scaled = sign * (abs_x + _const(x_zero.astype(dt))) ** (p - 1) * _const(~x_zero)
            return scaled * gy * y ** (1 - p)
        if p < 2:
            scaled = sign * abs_x ** (p - 1)
        else:
            scaled = x * abs_x ** (p - 2)
        return scaled * (gy / y_safe ** (p - 1) * y_nonzero)


@tensor_method
def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The vector p-norm over ``dim`` (None: all elements, as one vector): ``p`` is a number
    (2, 1, inf, -inf, 0, any other real) or ``"fro"`` (the 2-norm). ``dtype`` casts the
    input first. At an all-zero input the 2-norm's gradient is zero, as in PyTorch.

    Example::

        ember.tensor([3., 4.]).norm()                     # tensor(5.)
        ember.tensor([[3., -4.]]).norm(p=1, dim=1)        # tensor([7.])
    """
    check_tensor(input, "norm")
    if p is None:
        p = 2
    if isinstance(p, str):
        if p == "fro" and (dim is None or not isinstance(dim, (list, tuple)) or len(dim) <= 2):
            p = 2
        elif p in ("fro", "nuc"):
            raise RuntimeError(
                f"norm: p={p!r} over dims {dim!r} is a matrix norm, which ember does not "
                "implement; p='fro' works over at most two dims (or dim=None)"
            )
        else:
            raise RuntimeError(f"norm: p must be a number, 'fro' or 'nuc', received {p!r}")
    elif isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"norm: p must be a number or 'fro', received {p!r}")
    if dtype is not None:
        d = dtypes.as_dtype(dtype)
        _check_float(input, "norm")
        if not d.is_floating_point:
            raise RuntimeError(f"norm: dtype must be a floating-point dtype, received {d}")
        input = input.to(d)
    _check_float(input, "norm")
    dims = _dims(input, dim, "norm")
    if (p < 0 or p == math.inf) and _count(input.shape, dims) == 0:
        raise RuntimeError(
            f"norm: cannot compute the {p} norm over zero elements (tensor of shape "
            f"{tuple(input.shape)}, dims {dims}): it has no value for an empty reduction"
        )
    return Norm.apply(input, float(p), dims, keepdim)


# ---------------------------------------------------------------- cumsum
class Cumsum(Function):
    @staticmethod
    @quiet  # inf - inf and the like give nan silently, as in PyTorch
    def forward(ctx, x, dim):
        ctx.dim = dim
        if x.ndim == 0:
            return x.copy()
        xp = get_array_module(x)
        return xp.cumsum(_wide(x), axis=dim).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        return ReverseCumsum.apply(gy, ctx.dim)


class ReverseCumsum(Function):
    """Sums from the end: y[i] = x[i] + x[i+1] + … (the adjoint of cumsum)."""

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        if x.ndim == 0:
            return x.copy()
        xp = get_array_module(x)
        flip = xp.flip(_wide(x), axis=dim)
        return xp.flip(xp.cumsum(flip, axis=dim), axis=dim).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        return Cumsum.apply(gy, ctx.dim)


@tensor_method
def cumsum(input, dim, *, dtype=None) -> Tensor:
    """Running sum along ``dim``; integers and bools sum to int64 unless ``dtype`` says
    otherwise (``dtype`` casts the input first).

    Example::

        ember.tensor([1., 2., 3.]).cumsum(dim=0)   # tensor([1., 3., 6.])
    """
    check_tensor(input, "cumsum")
    _int_dim(dim, "cumsum")
    d = _wrap_dim(dim, input.ndim, "cumsum")
    return Cumsum.apply(running_input(input, dtype), d)


def running_input(input: Tensor, dtype) -> Tensor:
    """The input of a running sum or product in the dtype it is computed in: ``dtype`` when
    given, int64 for integers and bools (as PyTorch), else the input's own."""
    if dtype is not None:
        t = dtypes.as_dtype(dtype)
    elif input._data.dtype.kind in "biu":
        t = dtypes.int64
    else:
        t = input.dtype
    return input if t is input.dtype else input.to(t)


def _cumsum_(self, dim, *, dtype=None) -> Tensor:
    """In-place ``cumsum``: the running sum written back into this tensor."""
    return self._inplace("cumsum_", cumsum, dim, dtype=dtype)


Tensor.cumsum_ = _cumsum_


# ---------------------------------------------------------------- logcumsumexp
class LogCumSumExp(Function):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        if x.ndim == 0:
            y = x.copy()
        else:
            xp = get_array_module(x)
            # logaddexp folds in one element at a time without overflow, however far apart
            # the elements are (a shift by the max would underflow the early sums to -inf).
            with np.errstate(invalid="ignore"):
                y = xp.logaddexp.accumulate(_wide(x), axis=dim).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        if x.ndim == 0:
            return gy
        return _logcumsumexp_backward(gy, x, y, ctx.dim)


def _logcumsumexp_backward(gy: Tensor, x: Tensor, y: Tensor, dim: int) -> Tensor:
    """gx_j = sum over i >= j of gy_i exp(x_j - y_i), summed in log space (PyTorch's formula):
    the positive and the negative parts of gy apart, so each has a logarithm. Written in
    differentiable ops, so it has a gradient too."""
    from ember.ops import elementwise  # written alongside; imported when first needed

    lowest = dtypes.finfo(gy.dtype).min  # log(0), kept finite so that lowest - y is not nan
    log_abs = gy.abs().log()
    pos = elementwise.where(gy > 0, log_abs, lowest)
    neg = elementwise.where(gy < 0, log_abs, lowest)

    def reverse_lcse(t):  # log sum_{i >= j} exp(t_i)
        return LogCumSumExp.apply(t.flip(dim), dim).flip(dim)

    return (reverse_lcse(pos - y) + x).exp() - (reverse_lcse(neg - y) + x).exp()


@tensor_method
def logcumsumexp(input, dim: int) -> Tensor:
    """Running ``log(sum(exp(input)))`` along ``dim``, without overflow: ``y_i = log(exp(x_0)
    + … + exp(x_i))``. Needs a floating-point input.

    Example::

        ember.tensor([0., 0., 0.]).logcumsumexp(0)   # tensor([0.0000, 0.6931, 1.0986])
    """
    check_tensor(input, "logcumsumexp")
    if dim is None:
        raise TypeError("logcumsumexp: dim is required (an int), received None")
    _int_dim(dim, "logcumsumexp")
    d = _wrap_dim(dim, input.ndim, "logcumsumexp")
    _check_float(input, "logcumsumexp")
    return LogCumSumExp.apply(input, d)


# ---------------------------------------------------------------- all, any
def _logical(op, input, dim, keepdim):
    check_tensor(input, op)
    x = input._data
    xp = get_array_module(x)
    # dim=() reduces nothing here, unlike sum's dim=(): PyTorch's own rule for all/any.
    dims = _dims(input, dim, op, empty_is_all=False)
    y = (xp.all if op == "all" else xp.any)(x, axis=dims, keepdims=keepdim)
    y = xp.asarray(y)
    if x.dtype == "uint8":  # PyTorch keeps uint8 for uint8 inputs, for old code's sake
        y = y.astype("uint8")
    return Tensor._make(y)


@tensor_method
def all(input, dim=None, keepdim: bool = False) -> Tensor:
    """Whether every element (over ``dim``, or all of them) is nonzero; a bool tensor.

    Example::

        ember.tensor([[1., 0.], [2., 3.]]).all(dim=1)   # tensor([False,  True])
    """
    return _logical("all", input, dim, keepdim)


@tensor_method
def any(input, dim=None, keepdim: bool = False) -> Tensor:
    """Whether any element (over ``dim``, or all of them) is nonzero; a bool tensor."""
    return _logical("any", input, dim, keepdim)
