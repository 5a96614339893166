"""Shape ops: reshape, view, permute, transpose, expand, cat, stack, split, flip, roll …

Ops whose NumPy result is a view of the input (reshape and ravel when possible, view,
permute, transpose, expand, broadcast_tensors, meshgrid, atleast_nd, squeeze, unsqueeze,
narrow, split, tensor_split, chunk) return tensors that share memory and the version counter
with their input, as PyTorch's views do. Ops that PyTorch documents as copying (flip, roll,
rot90, repeat, repeat_interleave, tile, tril, triu, cat, stack) copy.
"""

from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from ember import dtypes
from ember.autograd.function import Function
from ember.autograd.grad_mode import no_grad
from ember.backend import get_array_module
from ember.errors import EmberIndexError
from ember.ops._util import check_tensor, tensor_method
from ember.ops.elementwise import broadcast_shape
from ember.ops.indexing import Index
from ember.tensor import Tensor, _wrap_dim

__all__ = [
    "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors",
    "broadcast_to", "cat", "chunk", "column_stack", "concat", "concatenate", "dstack", "expand",
    "flatten", "flip", "fliplr", "flipud", "hstack", "meshgrid", "moveaxis", "movedim", "narrow",
    "permute", "ravel", "repeat_interleave", "reshape", "roll", "rot90", "split", "squeeze",
    "stack", "swapaxes", "swapdims", "t", "tensor_split", "tile", "transpose", "tril", "triu",
    "unflatten", "unsqueeze", "vstack",
]  # fmt: skip


def _size_args(size, op):
    """Sizes given as ``f(2, 3)`` or ``f((2, 3))``, as a tuple of Python ints."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        if any(isinstance(n, (bool, float)) for n in size):
            raise TypeError
        return tuple(operator.index(n) for n in size)
    except TypeError:
        raise TypeError(f"{op}: sizes must be ints, received {size!r}") from None


def _infer_shape(shape, numel, old, op):
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be -1, received {shape}")
    if any(n < -1 for n in shape):
        raise RuntimeError(f"{op}: invalid negative size in shape {shape}")
    known = math.prod(n for n in shape if n != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(
                f"{op}: shape {shape} is invalid for a tensor of shape {old} ({numel} elements)"
            )
        shape = tuple(numel // known if n == -1 else n for n in shape)
    if math.prod(shape) != numel:
        raise RuntimeError(
            f"{op}: shape {shape} is invalid for a tensor of shape {old} ({numel} elements)"
        )
    return shape


# ---------------------------------------------------------------- reshape and views
class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, gy):
        return gy.reshape(ctx.shape)


class View(Function):
    """Reshape that must not copy: PyTorch's ``view``."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        y = x.reshape(shape)
        if x.size and not (y.base is not None and (y.base is x or y.base is x.base)):
            raise RuntimeError(
                f"view: a tensor of shape {x.shape} with strides "
                f"{tuple(s // x.itemsize for s in x.strides)} cannot be viewed as shape {shape} "
                "without copying (at least one dimension spans across two contiguous "
                "subspaces); use .reshape(...) instead"
            )
        return y

    @staticmethod
    def backward(ctx, gy):
        return gy.reshape(ctx.shape)


@tensor_method
def reshape(input, *shape) -> Tensor:
    """The same data with a new shape; one size may be -1 to be inferred. A view where the
    memory layout allows it, otherwise a copy.

    Example: ``ember.reshape(x, (2, -1))``, ``x.reshape(2, -1)``
    """
    check_tensor(input, "reshape")
    shape = _infer_shape(
        _size_args(shape, "reshape"), input._data.size, tuple(input.shape), "reshape"
    )
    return Reshape.apply(input, shape)


def view(self, *shape) -> Tensor:
    """A view of the same memory with a new shape; raises where that needs a copy (use
    ``reshape`` then). Example: ``x.view(-1)``"""
    check_tensor(self, "view")
    shape = _infer_shape(_size_args(shape, "view"), self._data.size, tuple(self.shape), "view")
    return View.apply(self, shape)


def view_as(self, other) -> Tensor:
    """``self.view(other.shape)``."""
    check_tensor(other, "view_as", "other")
    return view(self, tuple(other.shape))


def reshape_as(self, other) -> Tensor:
    """``self.reshape(other.shape)``."""
    check_tensor(other, "reshape_as", "other")
    return reshape(self, tuple(other.shape))


@tensor_method
def flatten(input, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim`` … ``end_dim`` into one; a 0-d tensor becomes shape (1,).

    Example: ``ember.flatten(x, 1)`` turns (N, C, H, W) into (N, C*H*W).
    """
    check_tensor(input, "flatten")
    n = input.ndim
    s, e = _wrap_dim(start_dim, n, "flatten"), _wrap_dim(end_dim, n, "flatten")
    if s > e:
        raise RuntimeError(
            f"flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim})"
        )
    if n == 0:
        return Reshape.apply(input, (1,))
    shape = input.shape
    return Reshape.apply(input, shape[:s] + (math.prod(shape[s : e + 1]),) + shape[e + 1 :])


@tensor_method
def ravel(input) -> Tensor:
    """The elements as a 1-D tensor, in row-major order: a view where the memory layout
    allows it, otherwise a copy. A 0-d tensor becomes shape (1,)."""
    check_tensor(input, "ravel")
    return Reshape.apply(input, (input._data.size,))


@tensor_method
def unflatten(input, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one may be -1). Example: ``x.unflatten(1, (2, -1))``."""
    check_tensor(input, "unflatten")
    if input.ndim == 0:
        raise RuntimeError("unflatten: cannot unflatten a 0-d tensor")
    d = _wrap_dim(dim, input.ndim, "unflatten")
    sizes = _size_args((sizes,), "unflatten")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = input.shape[d]
    try:
        sizes = _infer_shape(sizes, n, (n,), "unflatten")
    except RuntimeError:
        raise RuntimeError(
            f"unflatten: sizes {list(sizes)} don't multiply up to the size {n} of dim {d} of "
            f"the input of shape {tuple(input.shape)}"
        ) from None
    return Reshape.apply(input, input.shape[:d] + sizes + input.shape[d + 1 :])


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
        return Permute.apply(gy, tuple(inv))


@tensor_method
def permute(input, *dims) -> Tensor:
    """Reorder the dimensions (a view): ``x.permute(2, 0, 1)``."""
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


def _swap(input, dim0, dim1, op):
    check_tensor(input, op)
    n = input.ndim
    d0, d1 = _wrap_dim(dim0, n, op), _wrap_dim(dim1, n, op)
    dims = list(range(n))
    if n:
        dims[d0], dims[d1] = d1, d0
    return Permute.apply(input, tuple(dims))


@tensor_method
def transpose(input, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions (a view). Example: ``x.transpose(0, 1)``."""
    return _swap(input, dim0, dim1, "transpose")


@tensor_method
def swapaxes(input, axis0: int, axis1: int) -> Tensor:
    """Alias of ``transpose``."""
    return _swap(input, axis0, axis1, "swapaxes")


@tensor_method
def swapdims(input, dim0: int, dim1: int) -> Tensor:
    """Alias of ``transpose``."""
    return _swap(input, dim0, dim1, "swapdims")


@tensor_method
def t(input) -> Tensor:
    """Transpose a tensor of at most 2 dims (0-d and 1-d come back as they are)."""
    check_tensor(input, "t")
    if input.ndim > 2:
        raise RuntimeError(
            f"t: expects a tensor with <= 2 dimensions, received {input.ndim}-D of shape "
            f"{tuple(input.shape)}; use transpose(dim0, dim1) or .mT"
        )
    return Permute.apply(input, tuple(range(input.ndim))[::-1])


def _T(self) -> Tensor:
    """The tensor with all its dimensions reversed (a view)."""
    return Permute.apply(self, tuple(range(self.ndim))[::-1])


def _mT(self) -> Tensor:
    """A batch of matrices transposed: the last two dims swapped (a view)."""
    if self.ndim < 2:
        raise RuntimeError(
            f"mT: only supported on matrices or batches of matrices, received a {self.ndim}-D "
            "tensor"
        )
    return _swap(self, -2, -1, "mT")


@tensor_method
def movedim(input, source, destination) -> Tensor:
    """Move dims ``source`` (an int or a tuple) to positions ``destination``; the other dims
    keep their order. Example: ``x.movedim(1, -1)`` turns (N, C, H, W) into (N, H, W, C)."""
    check_tensor(input, "movedim")
    n = input.ndim
    src = source if isinstance(source, (tuple, list)) else (source,)
    dst = destination if isinstance(destination, (tuple, list)) else (destination,)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: source ({len(src)} dims) and destination ({len(dst)} dims) must have "
            "the same number of dims"
        )
    src = [_wrap_dim(d, n, "movedim") for d in src]
    dst = [_wrap_dim(d, n, "movedim") for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError(
            f"movedim: repeated dim in source {tuple(src)} or destination {tuple(dst)}"
        )
    order = [None] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(n) if d not in src)
    order = tuple(o if o is not None else next(rest) for o in order)
    return Permute.apply(input, order)


@tensor_method
def moveaxis(input, source, destination) -> Tensor:
    """Alias of ``movedim``."""
    return movedim(input, source, destination)


@tensor_method
def unsqueeze(input, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim`` (a view). Example: (3,) -> (1, 3) for dim 0."""
    check_tensor(input, "unsqueeze")
    d = _wrap_dim(dim, input.ndim + 1, "unsqueeze")
    return Reshape.apply(input, input.shape[:d] + (1,) + input.shape[d:])


@tensor_method
def squeeze(input, dim=None) -> Tensor:
    """Remove dimensions of size 1: all of them, or those of ``dim`` (an int or a tuple)
    that have size 1 (a view)."""
    check_tensor(input, "squeeze")
    if dim is None:
        dims = tuple(i for i, n in enumerate(input.shape) if n == 1)
    else:
        ds = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = tuple(_wrap_dim(d, input.ndim, "squeeze") for d in ds)
        dims = tuple(d for d in dims if input.ndim and input.shape[d] == 1)
    shape = tuple(n for i, n in enumerate(input.shape) if i not in dims)
    return Reshape.apply(input, shape)


def contiguous(self, memory_format=None) -> Tensor:
    """This tensor if its memory is C-contiguous, else a C-contiguous copy."""
    if self._data.flags.c_contiguous:
        return self
    return Contiguous.apply(self)


def is_contiguous(self, memory_format=None) -> bool:
    """Whether the memory is laid out in row-major (C) order without gaps."""
    return bool(self._data.flags.c_contiguous)


class Contiguous(Function):
    @staticmethod
    def forward(ctx, x):
        return x.copy()  # ndarray.copy is C-ordered (ascontiguousarray would make 0-d 1-d)

    @staticmethod
    def backward(ctx, gy):
        return gy


# ---------------------------------------------------------------- expand, repeat
class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        if math.prod(shape) == x.size:  # only dims of size 1 added: a plain, writable view
            return x.reshape(shape)
        return get_array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, gy):
        return gy  # the engine sums it back to the input's shape


@tensor_method
def expand(input, *sizes) -> Tensor:
    """A broadcast view of ``input`` with ``sizes`` (-1 keeps a size); no copy.

    Example: a (3, 1) tensor ``x.expand(3, 4)`` or ``x.expand(2, -1, 4)``.
    """
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
        elif n < 0:
            raise RuntimeError(f"expand: invalid size {n} for dim {i}")
        elif old is not None and old != 1 and old != n:
            raise RuntimeError(
                f"expand: size {old} of dim {i - lead} of a tensor of shape "
                f"{tuple(input.shape)} cannot be expanded to {n}; only sizes of 1 expand"
            )
        shape.append(n)
    return Expand.apply(input, tuple(shape))


def expand_as(self, other) -> Tensor:
    """``self.expand(other.shape)``."""
    check_tensor(other, "expand_as", "other")
    return expand(self, tuple(other.shape))


@tensor_method
def broadcast_to(input, size) -> Tensor:
    """Alias of ``expand``: ``ember.broadcast_to(x, (3, 4))``."""
    return expand(input, tuple(size))


class Repeat(Function):
    @staticmethod
    def forward(ctx, x, reps):
        ctx.shape = x.shape
        return get_array_module(x).tile(x, reps)

    @staticmethod
    def backward(ctx, gy):
        # View the output as (r0, s0, r1, s1, …) and sum the copies r_i of each block.
        shape = (1,) * (gy.ndim - len(ctx.shape)) + tuple(ctx.shape)
        if 0 in shape:  # the input is empty: no gradient to collect
            return None
        split = []
        for n, s in zip(gy.shape, shape):
            split += [n // s, s]
        g = gy.reshape(tuple(split)).sum(dim=tuple(range(0, len(split), 2)))
        return g.reshape(ctx.shape)


def repeat(self, *sizes) -> Tensor:
    """Repeat the tensor ``sizes[i]`` times along dim i (a copy); extra leading sizes add
    dims. Example: a (2, 3) tensor ``x.repeat(2, 1, 2)`` has shape (2, 2, 6)."""
    check_tensor(self, "repeat")
    sizes = _size_args(sizes, "repeat")
    if len(sizes) < self.ndim:
        raise RuntimeError(
            f"repeat: the number of repeats ({len(sizes)}) can not be smaller than the number of "
            f"dimensions of the tensor ({self.ndim}), shape {tuple(self.shape)}"
        )
    if any(n < 0 for n in sizes):
        raise RuntimeError(f"repeat: repeats must be non-negative, received {sizes}")
    return Repeat.apply(self, sizes)


@tensor_method
def tile(input, dims) -> Tensor:
    """Repeat ``input`` ``dims[i]`` times along each dim (a copy); fewer dims than the tensor
    has are padded with 1s in front. Example: ``ember.tile(x, (2, 2))``."""
    check_tensor(input, "tile")
    dims = _size_args((dims,), "tile")
    if any(n < 0 for n in dims):
        raise RuntimeError(f"tile: repeats must be non-negative, received {dims}")
    dims = (1,) * (input.ndim - len(dims)) + dims
    return Repeat.apply(input, dims)


def _repeats_tensor(repeats: Tensor, op: str):
    if repeats.dtype not in (dtypes.int64, dtypes.int32):
        raise RuntimeError(
            f"{op}: expected repeats of dtype int64 or int32, received {repeats.dtype.name}"
        )
    if repeats.ndim > 1:
        raise RuntimeError(
            f"{op}: expected repeats to be a 0-D or 1-D tensor, received shape "
            f"{tuple(repeats.shape)}"
        )
    r = repeats._data
    if r.size and int(r.min()) < 0:
        raise RuntimeError(f"{op}: repeats must be non-negative, received {r.tolist()}")
    return r


@tensor_method
def repeat_interleave(input, repeats=None, dim: int | None = None, *, output_size=None) -> Tensor:
    """Repeat each element (each slice along ``dim``) ``repeats`` times in place, next to
    itself: ``repeats`` is an int, or a tensor of one count per slice (or of a single count).
    With ``dim=None`` the input is flattened first. ``repeat_interleave(counts)`` alone gives
    the indices ``0, 1, …`` each repeated by its count.

    Example: ``ember.repeat_interleave(ember.tensor([1, 2]), 2)`` is ``tensor([1, 1, 2, 2])``.
    """
    op = "repeat_interleave"
    check_tensor(input, op)
    if repeats is None:  # the counts themselves: the index of each count, repeated
        if input.ndim != 1:
            raise RuntimeError(
                f"{op}: expected the repeats alone to be a 1-D tensor, received shape "
                f"{tuple(input.shape)}"
            )
        r = _repeats_tensor(input, op)
        xp = get_array_module(r)
        y = xp.repeat(xp.arange(r.size, dtype=r.dtype), r)
        return _check_output_size(Tensor._make(y), output_size, op)
    if dim is None:
        input, d = Reshape.apply(input, (input._data.size,)), 0
    elif input.ndim == 0:
        _wrap_dim(dim, 0, op)
        input, d = Reshape.apply(input, (1,)), 0
    else:
        d = _wrap_dim(dim, input.ndim, op)
    n = input.shape[d]
    if isinstance(repeats, Tensor):
        r = _repeats_tensor(repeats, op)
        if r.size == 1:
            repeats = int(r.reshape(()))
        elif r.shape[0] != n:
            raise RuntimeError(
                f"{op}: expected one repeat count for each of the {n} slices of dim {d}, "
                f"received {r.shape[0]} counts"
            )
        else:
            xp = get_array_module(r)
            idx = xp.repeat(xp.arange(n), r)
            y = Index.apply(input, (), (d,), bool((r > 1).any()), Tensor._make(idx))
            return _check_output_size(y, output_size, op, d)
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)):
        raise TypeError(f"{op}: repeats must be an int or an int tensor, received {repeats!r}")
    if repeats < 0:
        raise RuntimeError(f"{op}: repeats must be non-negative, received {repeats}")
    # (…, n, …) -> (…, n, repeats, …) -> (…, n * repeats, …): each slice next to its copies
    # (tiled, so that the result is a copy even for repeats=1)
    shape, r = input.shape, int(repeats)
    y = Repeat.apply(unsqueeze(input, d + 1), (1,) * (d + 1) + (r,) + (1,) * (len(shape) - d - 1))
    y = Reshape.apply(y, shape[:d] + (n * r,) + shape[d + 1 :])
    return _check_output_size(y, output_size, op, d)


def _check_output_size(y: Tensor, output_size, op: str, d: int = 0) -> Tensor:
    if output_size is not None and output_size != y.shape[d]:
        raise RuntimeError(
            f"{op}: output_size {output_size} does not match the size {y.shape[d]} of the result"
        )
    return y


# ---------------------------------------------------------------- cat, stack, split
class Cat(Function):
    """Concatenate along ``dim`` the inputs not marked in ``skip`` (PyTorch's legacy rule
    leaves out 1-D empty tensors; they still get their (empty) gradient)."""

    @staticmethod
    def forward(ctx, dim, skip, *xs):
        ctx.dim, ctx.skip = dim, skip
        ctx.sizes = [x.shape[dim] if not s else 0 for x, s in zip(xs, skip)]
        kept = [x for x, s in zip(xs, skip) if not s]
        return get_array_module(xs[0]).concatenate(kept, axis=dim)

    @staticmethod
    def backward(ctx, gy):
        grads, start = [None, None], 0
        lead = (slice(None),) * ctx.dim
        for n, s, need in zip(ctx.sizes, ctx.skip, ctx.needs_input_grad[2:]):
            if not need:
                grads.append(None)
            elif s:
                grads.append(Tensor._make(get_array_module(gy._data).zeros(0, gy._data.dtype)))
            else:
                grads.append(Index.apply(gy, lead + (slice(start, start + n),), (), False))
            start += n
        return tuple(grads)


def _tensor_list(tensors, op):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)):
        raise TypeError(
            f"{op}: expected a list or tuple of Tensors, received {type(tensors).__name__}"
        )
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty list of Tensors")
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"{op}: expected Tensors, received {type(x).__name__} at position {i}")
    return list(tensors)


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim ``dim``; all other sizes must match. The result
    has the promoted dtype of the inputs. 1-D empty tensors are skipped, as in PyTorch.

    Example: ``ember.cat([a, b], dim=1)`` joins (2, 3) and (2, 4) into (2, 7).
    """
    tensors = _tensor_list(tensors, "cat")
    for i, x in enumerate(tensors):
        if x.ndim == 0:
            raise RuntimeError(
                f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated"
            )
    dt = tensors[0].dtype
    for x in tensors[1:]:
        dt = dtypes.promote_types(dt, x.dtype)
    # PyTorch's legacy rule: a tensor of shape (0,) joins anything (it is left out).
    kept = [(i, x) for i, x in enumerate(tensors) if x.shape != (0,)] or [(0, tensors[0])]
    i0, first = kept[0]
    d = _wrap_dim(dim, first.ndim, "cat")
    for i, x in kept[1:]:
        if x.ndim != first.ndim:
            raise RuntimeError(
                f"cat: tensors must have the same number of dimensions: tensor {i0} has "
                f"{first.ndim} (shape {tuple(first.shape)}) and tensor {i} has {x.ndim} "
                f"(shape {tuple(x.shape)})"
            )
        for k in range(first.ndim):
            if k != d and x.shape[k] != first.shape[k]:
                raise RuntimeError(
                    f"cat: sizes of tensors must match except in dimension {d}: expected size "
                    f"{first.shape[k]} but got size {x.shape[k]} for tensor number {i} in the "
                    f"list (dim {k})"
                )
    kept_ids = {i for i, _ in kept}
    skip = tuple(i not in kept_ids for i in range(len(tensors)))
    xs = [x if x.dtype is dt else x.to(dt) for x in tensors]
    return Cat.apply(d, skip, *xs)


def concat(tensors, dim: int = 0) -> Tensor:
    """Alias of ``cat``."""
    return cat(tensors, dim)


def concatenate(tensors, axis: int = 0) -> Tensor:
    """Alias of ``cat``."""
    return cat(tensors, axis)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dim ``dim``.

    Example: ``ember.stack([a, b])`` makes (2, *a.shape).
    """
    tensors = _tensor_list(tensors, "stack")
    shape = tuple(tensors[0].shape)
    for i, x in enumerate(tensors[1:], 1):
        if tuple(x.shape) != shape:
            raise RuntimeError(
                f"stack: expects each tensor to be equal size, but got {shape} at entry 0 and "
                f"{tuple(x.shape)} at entry {i}"
            )
    d = _wrap_dim(dim, len(shape) + 1, "stack")
    return cat([unsqueeze(x, d) for x in tensors], d)


def hstack(tensors) -> Tensor:
    """Join along dim 1 (dim 0 for 1-D tensors); 0-d tensors count as 1-D."""
    tensors = [x.reshape(1) if x.ndim == 0 else x for x in _tensor_list(tensors, "hstack")]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Join along dim 0, after making 0-d and 1-d tensors rows (1, n)."""
    tensors = [x.reshape(1, -1) if x.ndim < 2 else x for x in _tensor_list(tensors, "vstack")]
    return cat(tensors, 0)


# ---------------------------------------------------------------- broadcasting, grids
def broadcast_shapes(*shapes) -> tuple:
    """The shape that tensors of ``shapes`` broadcast to; a shape may be an int (a 1-D shape).

    Example: ``ember.broadcast_shapes((2, 1), (3,))`` is ``(2, 3)``.
    """
    shapes = [(s,) if not isinstance(s, (tuple, list)) else s for s in shapes]
    shapes = [_size_args((s,), "broadcast_shapes") for s in shapes]
    for s in shapes:
        if any(n < 0 for n in s):
            raise RuntimeError(f"broadcast_shapes: sizes must be non-negative, received {s}")
    return broadcast_shape("broadcast_shapes", *shapes) if shapes else ()


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded to their common broadcast shape (views).

    Example: ``a, b = ember.broadcast_tensors(ember.ones(2, 1), ember.ones(3))`` gives two
    tensors of shape (2, 3).
    """
    for i, x in enumerate(tensors):
        check_tensor(x, "broadcast_tensors", f"tensor {i}")
    if not tensors:
        return ()
    shape = broadcast_shape("broadcast_tensors", *(tuple(x.shape) for x in tensors))
    return tuple(expand(x, shape) for x in tensors)


def _check_vectors(op: str, tensors, expected: str, ndims: tuple) -> None:
    """The tensors of meshgrid and cartesian_prod: each of a dim count in ``ndims``, all of
    one dtype."""
    for i, x in enumerate(tensors):
        if x.ndim not in ndims:
            raise RuntimeError(
                f"{op}: expected {expected} tensors, received shape {tuple(x.shape)} at "
                f"position {i}"
            )
        if x.dtype is not tensors[0].dtype:
            raise RuntimeError(
                f"{op}: expected all tensors to have the same dtype, received "
                f"{tensors[0].dtype.name} at position 0 and {x.dtype.name} at position {i}"
            )


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-D (or 0-D) tensors: output ``i`` has tensor ``i`` running along
    dim ``i`` and is constant along the others. ``indexing="ij"`` gives shape (n0, n1, …);
    ``"xy"`` (Cartesian) swaps the first two dims, giving (n1, n0, …). The outputs are
    expanded views. Leaving out ``indexing`` warns, as in PyTorch, and means ``"ij"``.

    Example: ``xs, ys = ember.meshgrid(x, y, indexing="xy")``
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    tensors = _tensor_list(list(tensors), "meshgrid")
    if indexing is None:
        warnings.warn(
            "meshgrid: in an upcoming release it will be required to pass the indexing "
            "argument, as in PyTorch; pass indexing='ij' (the default now) or indexing='xy'",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', received {indexing!r}")
    _check_vectors("meshgrid", tensors, "0-D or 1-D", (0, 1))
    n = len(tensors)
    dims = list(range(n))
    if indexing == "xy" and n > 1:  # the first two tensors run along each other's dim
        dims[0], dims[1] = 1, 0
    shape = [0] * n
    for x, d in zip(tensors, dims):
        shape[d] = x._data.size
    grids = []
    for x, d in zip(tensors, dims):
        view = [1] * n
        view[d] = shape[d]
        grids.append(expand(Reshape.apply(x, tuple(view)), tuple(shape)))
    return tuple(grids)


# ---------------------------------------------------------------- atleast_nd, stacks
def _atleast(tensors, op: str, shape_of):
    one = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    out = []
    for i, x in enumerate(tensors):
        check_tensor(x, op, f"tensor {i}")
        shape = shape_of(tuple(x.shape))
        out.append(x if shape == x.shape else Reshape.apply(x, shape))
    return out[0] if one else tuple(out)


def atleast_1d(*tensors) -> Tensor | tuple:
    """Each tensor with at least 1 dim (a 0-d one becomes shape (1,)); one tensor in, one
    out, else a tuple. Views."""
    return _atleast(tensors, "atleast_1d", lambda s: s or (1,))


def atleast_2d(*tensors) -> Tensor | tuple:
    """Each tensor with at least 2 dims: () -> (1, 1), (n,) -> (1, n). Views."""
    return _atleast(tensors, "atleast_2d", lambda s: (1,) * (2 - len(s)) + s if len(s) < 2 else s)


def _3d(s):
    if len(s) == 0:
        return (1, 1, 1)
    if len(s) == 1:
        return (1, s[0], 1)
    return s + (1,) if len(s) == 2 else s


def atleast_3d(*tensors) -> Tensor | tuple:
    """Each tensor with at least 3 dims: () -> (1, 1, 1), (n,) -> (1, n, 1),
    (m, n) -> (m, n, 1). Views."""
    return _atleast(tensors, "atleast_3d", _3d)


def column_stack(tensors) -> Tensor:
    """Join along dim 1, after making 0-d and 1-d tensors columns (n, 1).

    Example: ``ember.column_stack([x, y])`` of two (n,) tensors has shape (n, 2).
    """
    tensors = _tensor_list(tensors, "column_stack")
    return cat([x.reshape(-1, 1) if x.ndim < 2 else x for x in tensors], 1)


def dstack(tensors) -> Tensor:
    """Join along dim 2 (depth), after ``atleast_3d``."""
    return cat(list(atleast_3d(_tensor_list(tensors, "dstack"))), 2)


def _slices(input, d, sizes):
    lead = (slice(None),) * d
    out, start = [], 0
    for n in sizes:
        out.append(Index.apply(input, lead + (slice(start, start + n),), (), False))
        start += n
    return tuple(out)


@tensor_method
def split(tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Split into pieces along ``dim`` (views): of ``split_size_or_sections`` each (the last
    may be smaller), or of the sizes in a list.

    Example: ``ember.split(x, [1, 2])`` of a (3, 4) tensor gives (1, 4) and (2, 4).
    """
    check_tensor(tensor, "split")
    if tensor.ndim == 0:
        raise RuntimeError("split: cannot split a 0-d tensor")
    d = _wrap_dim(dim, tensor.ndim, "split")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (tuple, list)):
        sizes = _size_args((split_size_or_sections,), "split")
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise RuntimeError(
                f"split: split sizes {list(sizes)} must be non-negative and sum exactly to {n}, "
                f"the size of dim {d} of the tensor of shape {tuple(tensor.shape)}"
            )
        return _slices(tensor, d, sizes)
    size = _size_args((split_size_or_sections,), "split")[0]
    if size < 0 or (size == 0 and n != 0):
        raise RuntimeError(
            f"split: split_size must be positive (0 only for an empty dim), received {size} "
            f"for dim {d} of size {n}"
        )
    if n == 0:
        return _slices(tensor, d, [0])
    return _slices(tensor, d, [min(size, n - s) for s in range(0, n, size)])


@tensor_method
def chunk(input, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces of equal size along ``dim`` (views); the last may be
    smaller, and there may be fewer pieces when the size does not divide evenly."""
    check_tensor(input, "chunk")
    chunks = operator.index(chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk: expects `chunks` to be greater than 0, received {chunks}")
    if input.ndim == 0:
        raise RuntimeError("chunk: cannot chunk a 0-d tensor")
    d = _wrap_dim(dim, input.ndim, "chunk")
    n = input.shape[d]
    if n == 0:
        return _slices(input, d, [0] * chunks)
    return split(input, -(-n // chunks), d)


@tensor_method
def tensor_split(input, indices_or_sections, dim: int = 0) -> tuple:
    """Split into views along ``dim``: into ``sections`` (an int) pieces of near-equal size
    (the first ``size % sections`` one larger), or at ``indices`` (a list), as
    ``x[:i0], x[i0:i1], …, x[ik:]`` with Python's slicing rules. A 0-d int64 tensor counts
    as sections, a 1-D one as indices.

    Example: ``ember.tensor_split(ember.arange(7), 3)`` gives sizes 3, 2, 2.
    """
    check_tensor(input, "tensor_split")
    if isinstance(indices_or_sections, Tensor):
        t = indices_or_sections
        if t.dtype is not dtypes.int64:
            raise RuntimeError(
                "tensor_split: expected indices_or_sections to be an int64 tensor, received "
                f"{t.dtype.name}"
            )
        if t.ndim > 1:
            raise RuntimeError(
                "tensor_split: expected indices_or_sections to be a 0-D or 1-D tensor, received "
                f"shape {tuple(t.shape)}"
            )
        indices_or_sections = t.tolist()
    if input.ndim == 0:
        raise RuntimeError("tensor_split: expected at least a 1-D tensor, received a 0-d tensor")
    d = _wrap_dim(dim, input.ndim, "tensor_split")
    if isinstance(indices_or_sections, (tuple, list)):
        cuts = list(_size_args((indices_or_sections,), "tensor_split"))
        lead = (slice(None),) * d
        bounds = zip([0] + cuts, cuts + [None])
        return tuple(Index.apply(input, lead + (slice(a, b),), (), False) for a, b in bounds)
    if isinstance(indices_or_sections, bool):
        raise TypeError("tensor_split: expected an int or a list of ints, received a bool")
    try:
        sections = operator.index(indices_or_sections)
    except TypeError:
        raise TypeError(
            "tensor_split: expected indices_or_sections to be an int, a list of ints or an int64 "
            f"tensor, received {type(indices_or_sections).__name__}"
        ) from None
    if sections <= 0:
        raise RuntimeError(
            f"tensor_split: number of sections must be greater than 0, received {sections}"
        )
    q, r = divmod(input.shape[d], sections)
    return _slices(input, d, [q + 1] * r + [q] * (sections - r))


@tensor_method
def narrow(input, dim: int, start, length: int) -> Tensor:
    """The slice ``start:start+length`` of dim ``dim`` (a view). ``start`` may be negative."""
    check_tensor(input, "narrow")
    if input.ndim == 0:
        raise RuntimeError("narrow: cannot narrow a 0-d tensor")
    d = _wrap_dim(dim, input.ndim, "narrow")
    n = input.shape[d]
    start, length = operator.index(start), operator.index(length)
    if not -n <= start <= n:
        raise EmberIndexError(
            f"narrow: start {start} is out of range for dim {d} of size {n} "
            f"(expected a start in [{-n}, {n}])"
        )
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise RuntimeError(
            f"narrow: start ({start}) + length ({length}) exceeds the size ({n}) of dim {d}"
        )
    return Index.apply(input, (slice(None),) * d + (slice(start, start + length),), (), False)


# ---------------------------------------------------------------- flip, roll, tril, triu
class Flip(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        # NumPy's flip is a view with negative strides; PyTorch's is a copy.
        return get_array_module(x).flip(x, axis=dims).copy()

    @staticmethod
    def backward(ctx, gy):
        return Flip.apply(gy, ctx.dims)


@tensor_method
def flip(input, *dims) -> Tensor:
    """Reverse the order of entries along ``dims`` (a copy). Example: ``x.flip(0, 1)``."""
    check_tensor(input, "flip")
    dims = tuple(_wrap_dim(d, input.ndim, "flip") for d in _size_args(dims, "flip"))
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"flip: dims {dims} repeat a dimension")
    return Flip.apply(input, dims if input.ndim else ())


@tensor_method
def fliplr(input) -> Tensor:
    """Flip dim 1 (left/right); needs at least 2 dims."""
    check_tensor(input, "fliplr")
    if input.ndim < 2:
        raise RuntimeError(
            f"fliplr: input must have at least 2 dims, received shape {tuple(input.shape)}"
        )
    return flip(input, 1)


@tensor_method
def flipud(input) -> Tensor:
    """Flip dim 0 (up/down); needs at least 1 dim."""
    check_tensor(input, "flipud")
    if input.ndim < 1:
        raise RuntimeError("flipud: input must have at least 1 dim, received a 0-d tensor")
    return flip(input, 0)


@tensor_method
def rot90(input, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by ``k`` quarter turns in the plane of ``dims``, from the first dim towards
    the second (a copy).

    Example: ``ember.rot90(ember.tensor([[1, 2], [3, 4]]))`` is ``tensor([[2, 4], [1, 3]])``.
    """
    check_tensor(input, "rot90")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"rot90: k must be an int, received {k!r}")
    dims = _size_args((dims,), "rot90")
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected 2 rotation dims, received dims={dims}")
    if input.ndim < 2:
        raise RuntimeError(
            f"rot90: expected a tensor with at least 2 dims, received shape {tuple(input.shape)}"
        )
    d0, d1 = (_wrap_dim(d, input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(
            f"rot90: expected two different rotation dims, received dim0={dims[0]} and "
            f"dim1={dims[1]}"
        )
    k %= 4
    if k == 1:
        return transpose(Flip.apply(input, (d1,)), d0, d1)
    if k == 2:
        return Flip.apply(input, (d0, d1))
    if k == 3:
        return transpose(Flip.apply(input, (d0,)), d0, d1)
    return Flip.apply(input, ())  # a copy, as in PyTorch


class Roll(Function):
    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return get_array_module(x).roll(x, shifts, axis=dims)

    @staticmethod
    def backward(ctx, gy):
        back = -ctx.shifts if isinstance(ctx.shifts, int) else tuple(-s for s in ctx.shifts)
        return Roll.apply(gy, back, ctx.dims)


@tensor_method
def roll(input, shifts, dims=None) -> Tensor:
    """Shift entries along ``dims`` by ``shifts``, wrapping around (a copy). With
    ``dims=None`` the tensor is rolled as if flattened. Example: ``x.roll(1, 0)``."""
    check_tensor(input, "roll")
    shifts = _size_args((shifts,), "roll")
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: with dims=None, expected one shift, received {shifts}")
        return Roll.apply(input, shifts[0], None)
    dims = _size_args((dims,), "roll")
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"roll: shifts and dims must align: received {len(shifts)} shifts {shifts} and "
            f"{len(dims)} dims {dims}"
        )
    dims = tuple(_wrap_dim(d, input.ndim, "roll") for d in dims)
    if input.ndim == 0:
        return Roll.apply(input, 0, None)
    return Roll.apply(input, shifts, dims)


class Tri(Function):
    """tril (``upper=False``) or triu of the last two dims."""

    @staticmethod
    def forward(ctx, x, diagonal, upper):
        ctx.diagonal, ctx.upper = diagonal, upper
        xp = get_array_module(x)
        return xp.triu(x, diagonal) if upper else xp.tril(x, diagonal)

    @staticmethod
    def backward(ctx, gy):
        return Tri.apply(gy, ctx.diagonal, ctx.upper)


def _tri(input, diagonal, upper, op):
    check_tensor(input, op)
    if input.ndim < 2:
        raise RuntimeError(
            f"{op}: input tensor must have at least 2 dimensions, received shape "
            f"{tuple(input.shape)}"
        )
    return Tri.apply(input, operator.index(diagonal), upper)


@tensor_method
def tril(input, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (entries above ``diagonal`` set to 0)."""
    return _tri(input, diagonal, False, "tril")


@tensor_method
def triu(input, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (entries below ``diagonal`` set to 0)."""
    return _tri(input, diagonal, True, "triu")


# Tensor-only methods (PyTorch has no function of these names) and properties.
for _f in (view, view_as, reshape_as, expand_as, repeat, contiguous, is_contiguous):
    setattr(Tensor, _f.__name__, _f)
Tensor.T = property(_T)
Tensor.mT = property(_mT)
Tensor.mH = property(_mT)  # real tensors only: the conjugate transpose is the transpose


class ViewWrite(Function):
    """The base with the region that a view covers replaced by ``v``: how an in-place change
    to a view reaches its base under autograd. ``view_fn`` makes the view from a base."""

    @staticmethod
    def forward(ctx, base, v, view_fn, inplace=True):
        ctx.view_fn = view_fn
        y = base if inplace else base.copy()
        with no_grad():
            region = view_fn(Tensor._make(y))._data
        region[...] = v
        return y

    @staticmethod
    def backward(ctx, gy):
        gbase = gv = None
        if ctx.needs_input_grad[0]:  # the overwritten region did not reach the output
            gbase = ViewWrite.apply(gy, 0, ctx.view_fn, False)
        if ctx.needs_input_grad[1]:
            gv = ctx.view_fn(gy)
        return gbase, gv
