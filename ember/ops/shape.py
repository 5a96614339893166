"""Shape ops: reshape, view, permute, transpose, expand, cat, stack, split …"""

from __future__ import annotations

import math

from ember.autograd.function import Function
from ember.ops._util import check_tensor, tensor_method
from ember.tensor import Tensor, _wrap_dim

__all__ = ["reshape", "expand", "permute", "transpose", "unsqueeze", "squeeze"]


def _size_args(size, op):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"{op}: sizes must be ints, received {size!r}")
    return tuple(size)


def _infer_shape(shape, numel, old, op):
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be -1, received {shape}")
    known = math.prod(n for n in shape if n != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape {shape} is invalid for a tensor of shape {old} ({numel} elements)")
        shape = tuple(numel // known if n == -1 else n for n in shape)
    if math.prod(shape) != numel or any(n < 0 for n in shape):
        raise RuntimeError(
            f"{op}: shape {shape} is invalid for a tensor of shape {old} ({numel} elements)"
        )
    return shape


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, gy):
        return gy.reshape(ctx.shape)


@tensor_method
def reshape(input, *shape) -> Tensor:
    """The same data with a new shape; one size may be -1 to be inferred."""
    check_tensor(input, "reshape")
    shape = _infer_shape(_size_args(shape, "reshape"), input._data.size, tuple(input.shape), "reshape")
    if shape == input._data.shape:
        return input
    return Reshape.apply(input, shape)


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        from ember.backend import get_array_module

        return get_array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, gy):
        return gy  # the engine sums it back to the input's shape


@tensor_method
def expand(input, *sizes) -> Tensor:
    """A broadcast view of ``input`` with ``sizes`` (-1 keeps a size); no copy."""
    check_tensor(input, "expand")
    sizes = _size_args(sizes, "expand")
    if len(sizes) < input.ndim:
        raise RuntimeError(
            f"expand: the number of sizes ({len(sizes)}) must be at least the number of "
            f"dimensions of the tensor ({input.ndim}), shape {tuple(input.shape)}"
        )
    lead = len(sizes) - input.ndim
    shape = []
    for i, n in enumerate(sizes):
        old = input.shape[i - lead] if i >= lead else None
        if n == -1:
            if old is None:
                raise RuntimeError(f"expand: -1 is not allowed for a new leading dimension {i}")
            n = old
        elif old is not None and old != 1 and old != n:
            raise RuntimeError(
                f"expand: size {old} of dim {i - lead} of a tensor of shape "
                f"{tuple(input.shape)} cannot be expanded to {n}; only sizes of 1 expand"
            )
        shape.append(n)
    shape = tuple(shape)
    if shape == input._data.shape:
        return input
    return Expand.apply(input, shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, gy):
        inv = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inv[d] = i
        return gy.permute(tuple(inv))


@tensor_method
def permute(input, *dims) -> Tensor:
    """Reorder the dimensions: ``x.permute(2, 0, 1)``."""
    check_tensor(input, "permute")
    dims = _size_args(dims, "permute")
    if len(dims) != input.ndim:
        raise RuntimeError(
            f"permute: expected {input.ndim} dims for a tensor of shape {tuple(input.shape)}, "
            f"received {dims}"
        )
    dims = tuple(_wrap_dim(d, input.ndim, "permute") for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"permute: dims {dims} repeat a dimension")
    return Permute.apply(input, dims)


@tensor_method
def transpose(input, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    check_tensor(input, "transpose")
    n = input.ndim
    d0, d1 = _wrap_dim(dim0, n, "transpose"), _wrap_dim(dim1, n, "transpose")
    if n < 2 or d0 == d1:
        return input
    dims = list(range(n))
    dims[d0], dims[d1] = d1, d0
    return Permute.apply(input, tuple(dims))


@tensor_method
def unsqueeze(input, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    check_tensor(input, "unsqueeze")
    d = _wrap_dim(dim, input.ndim + 1, "unsqueeze")
    shape = input.shape[:d] + (1,) + input.shape[d:]
    return Reshape.apply(input, shape)


@tensor_method
def squeeze(input, dim=None) -> Tensor:
    """Remove dimensions of size 1 (all of them, or those in ``dim``)."""
    check_tensor(input, "squeeze")
    if dim is None:
        dims = tuple(i for i, n in enumerate(input.shape) if n == 1)
    else:
        ds = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = tuple(_wrap_dim(d, input.ndim, "squeeze") for d in ds)
        dims = tuple(d for d in dims if input.ndim and input.shape[d] == 1)
    if not dims:
        return input
    shape = tuple(n for i, n in enumerate(input.shape) if i not in dims)
    return Reshape.apply(input, shape)
