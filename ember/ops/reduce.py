"""Reductions: sum, mean, prod, max/min, var/std, logsumexp, norm, cumsum, all/any …"""

from __future__ import annotations

from ember import dtypes
from ember.autograd.function import Function
from ember.ops._util import check_tensor, tensor_method
from ember.tensor import Tensor, _wrap_dims

__all__ = ["sum", "mean"]


def _expand_back(gy: Tensor, shape, dims, keepdim) -> Tensor:
    """Broadcast a reduced gradient back over the reduced dims of ``shape``."""
    if not keepdim:
        kshape = tuple(1 if i in dims else n for i, n in enumerate(shape))
        gy = gy.reshape(kshape)
    return gy.expand(shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, npdtype):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return x.sum(axis=dims, keepdims=keepdim, dtype=npdtype)

    @staticmethod
    def backward(ctx, gy):
        return _expand_back(gy, ctx.shape, ctx.dims, ctx.keepdim)


@tensor_method
def sum(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (an int, a tuple, or None for all). Integers and bools sum to int64."""
    check_tensor(input, "sum")
    dims = _wrap_dims(dim, input.ndim, "sum")
    if dtype is not None:
        d = dtypes.as_dtype(dtype)
    elif input._data.dtype.kind in "biu":
        d = dtypes.int64
    else:
        d = input.dtype
    if d is not input.dtype:
        input = input.to(d)
    return Sum.apply(input, dims, keepdim, None)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        n = 1
        for d in dims:
            n *= x.shape[d]
        ctx.n = n
        return x.mean(axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, gy):
        return _expand_back(gy / ctx.n, ctx.shape, ctx.dims, ctx.keepdim)


@tensor_method
def mean(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``dim``; needs a floating-point input (or a dtype)."""
    check_tensor(input, "mean")
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        raise RuntimeError(
            f"mean: expected a floating-point input, received {input.dtype}; "
            "pass dtype=ember.float32 or call .float() first"
        )
    dims = _wrap_dims(dim, input.ndim, "mean")
    return Mean.apply(input, dims, keepdim)
