"""Sorting and searching: sort, argsort, msort, topk, kthvalue, median, nanmedian, unique,
unique_consecutive, nonzero, argwhere, count_nonzero, searchsorted, bucketize, and the
running ops cumprod, cummax, cummin, and diff.

The ops that pick elements (sort, topk, kthvalue, median and nanmedian along a dim, cummax,
cummin) find their indices on the raw arrays, then gather the values with them: the
gradient flows back through the indices (gather's backward, a scatter-add), to any order.
Orders follow PyTorch: NaN sorts after every number (last ascending, first descending), and
sorts here are always stable, which is one valid result of PyTorch's unstable ones.
"""

from __future__ import annotations

import builtins
import math
import numbers
from collections import namedtuple

from ember import dtypes
from ember.autograd.function import Function
from ember.autograd.grad_mode import is_grad_enabled
from ember.backend import get_array_module
from ember.errors import EmberIndexError
from ember.ops._util import check_tensor, tensor_method
from ember.ops.indexing import gather
from ember.ops.reduce import ReverseCumsum, _wide, running_input
from ember.ops.shape import cat
from ember.tensor import Tensor, _wrap_dim, _wrap_dims

__all__ = [
    "argsort", "argwhere", "bucketize", "count_nonzero", "cummax", "cummin", "cumprod", "diff",
    "kthvalue", "median", "msort", "nanmedian", "nonzero", "searchsorted", "sort", "topk",
    "unique", "unique_consecutive",
]  # fmt: skip

# What the (values, indices) ops return, as torch.return_types.sort, .topk … do.
SortResult = namedtuple("sort", ("values", "indices"))
TopkResult = namedtuple("topk", ("values", "indices"))
KthvalueResult = namedtuple("kthvalue", ("values", "indices"))
MedianResult = namedtuple("median", ("values", "indices"))
NanmedianResult = namedtuple("nanmedian", ("values", "indices"))
CummaxResult = namedtuple("cummax", ("values", "indices"))
CumminResult = namedtuple("cummin", ("values", "indices"))


# ---------------------------------------------------------------- helpers
def _const(arr) -> Tensor:
    """A constant (a mask, an index) made into a Tensor with no graph behind it."""
    return Tensor._make(arr)


def _is_float(x) -> bool:
    return x.dtype.kind in "fcV"


def _isnan(x):
    """Where ``x`` is NaN (nowhere, for integers and bools)."""
    xp = get_array_module(x)
    return xp.isnan(x) if _is_float(x) else xp.zeros(x.shape, bool)


def _order(x, dim: int, descending: bool):
    """The stable sorting permutation of array ``x`` (at least 1-d) along ``dim``, NaN after
    every number: ties keep their order in both directions, as PyTorch's stable sort does."""
    xp = get_array_module(x)
    if not descending:
        return xp.argsort(x, axis=dim, kind="stable")
    # The ascending sort of the reversed array, reversed: equal elements come out in
    # their original order, and NaN (last ascending) first.
    n = x.shape[dim]
    up = xp.argsort(xp.flip(x, axis=dim), axis=dim, kind="stable")
    return xp.flip(n - 1 - up, axis=dim)


def _slice(dim: int, s: slice) -> tuple:
    return (slice(None),) * dim + (s,)


def _pick(input: Tensor, dim: int, idx) -> Tensor:
    """The values of ``input`` at index array ``idx`` along ``dim`` (both of input's ndim);
    differentiable, through gather."""
    return gather(input, dim, _const(idx))


def _check_k(k, op: str) -> None:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"{op}: k must be an int, received {k!r}")


def _check_not_bool(x: Tensor, op: str) -> None:
    if x.dtype is dtypes.bool_:
        raise RuntimeError(
            f"{op}: expected a numeric input, received a bool tensor; call .int() or .float() first"
        )


def _check_reduced_dim(x: Tensor, d: int, op: str) -> None:
    if x.ndim and x.shape[d] == 0:
        raise EmberIndexError(
            f"{op}: cannot reduce over dim {d}, which has size 0 in a tensor of shape "
            f"{tuple(x.shape)} ({op} of no elements is undefined)"
        )


def _squeeze(t: Tensor, d: int, keepdim: bool, ndim: int) -> Tensor:
    """Drop reduced dim ``d`` unless ``keepdim`` (a 0-d input gives a 0-d result)."""
    if ndim == 0:
        return t.reshape(())
    return t if keepdim else t.squeeze(d)


def _as_1d(x: Tensor) -> Tensor:
    return x.reshape(1) if x.ndim == 0 else x


# ---------------------------------------------------------------- sort, argsort, msort
@tensor_method
def sort(input, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """Sort along ``dim``: a ``(values, indices)`` named tuple, with ``input.gather(dim,
    indices) == values``. NaN sorts after every number. The sort is always stable (ties keep
    their order), which is also a valid result when ``stable=False``. Differentiable in
    ``values``: the gradient goes back to the places the values came from.

    Example::

        values, indices = ember.tensor([3., 1., 2.]).sort()   # [1., 2., 3.], [1, 2, 0]
    """
    check_tensor(input, "sort")
    d = _wrap_dim(dim, input.ndim, "sort")
    x = _as_1d(input)
    idx = _order(x._data, d, descending)
    values, indices = _pick(x, d, idx), _const(idx.astype("int64", copy=False))
    if input.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return SortResult(values, indices)


@tensor_method
def argsort(input, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (int64); see ``sort``.

    Example::

        ember.tensor([3., 1., 2.]).argsort(descending=True)   # tensor([0, 2, 1])
    """
    check_tensor(input, "argsort")
    d = _wrap_dim(dim, input.ndim, "argsort")
    idx = _order(_as_1d(input)._data, d, descending).astype("int64", copy=False)
    return _const(idx.reshape(()) if input.ndim == 0 else idx)


@tensor_method
def msort(input) -> Tensor:
    """The values of ``input`` sorted along its first dim: ``sort(input, dim=0).values``."""
    check_tensor(input, "msort")
    return sort(input, 0).values


# ---------------------------------------------------------------- topk, kthvalue
def _selection_args(op: str, input, k, dim, least: int, what: str):
    """(dim wrapped, input as at least 1-D) for topk and kthvalue, k (the selected ``what``)
    checked to be in [least, the size of dim]."""
    check_tensor(input, op)
    _check_k(k, op)
    _check_not_bool(input, op)
    d = _wrap_dim(dim, input.ndim, op)
    x = _as_1d(input)
    size = x.shape[d]
    if not least <= k <= size:
        raise RuntimeError(
            f"{op}: selected {what} k out of range: expected k in [{least}, {size}] (the size of "
            f"dim {d} of a tensor of shape {tuple(input.shape)}), received k={k}"
        )
    return d, x


@tensor_method
def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim``, as a
    ``(values, indices)`` named tuple; NaN counts as larger than every number. The result is
    sorted (largest first, or smallest first) also when ``sorted=False``. Differentiable in
    ``values``.

    Example::

        ember.tensor([1., 5., 3., 4.]).topk(2)   # values [5., 4.], indices [1, 3]
    """
    d, x = _selection_args("topk", input, k, dim, 0, "index")
    if input.ndim == 0:
        k = 1  # PyTorch gives the element itself for k = 0 as well
    idx = _order(x._data, d, descending=largest)[_slice(d, slice(0, k))]
    values, indices = _pick(x, d, idx), _const(idx.astype("int64", copy=False))
    if input.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return TopkResult(values, indices)


@tensor_method
def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element (``k`` counts from 1) along ``dim``, as a
    ``(values, indices)`` named tuple; NaN counts as larger than every number.
    Differentiable in ``values``.

    Example::

        ember.tensor([[3., 1., 2.]]).kthvalue(2, dim=1)   # values [2.], indices [2]
    """
    d, x = _selection_args("kthvalue", input, k, dim, 1, "number")
    idx = _order(x._data, d, False)[_slice(d, slice(k - 1, k))]
    values, indices = _pick(x, d, idx), _const(idx.astype("int64", copy=False))
    return KthvalueResult(
        _squeeze(values, d, keepdim, input.ndim), _squeeze(indices, d, keepdim, input.ndim)
    )


# ---------------------------------------------------------------- median, nanmedian
def _lower_median(flat, ignore_nan: bool):
    """The lower median of a 1-d array, as a 0-d array: NaN if it holds a NaN (unless
    ``ignore_nan``) or no number."""
    xp = get_array_module(flat)
    if _is_float(flat):
        nan = xp.isnan(flat)
        if ignore_nan:
            flat = flat[~nan]
        elif bool(nan.any()):
            return xp.asarray(xp.nan, dtype=flat.dtype)
    n = flat.size
    if n == 0:
        return xp.asarray(xp.nan, dtype=flat.dtype)
    k = (n - 1) // 2
    return xp.asarray(xp.partition(flat, k)[k])


class MedianAll(Function):
    """median(x) / nanmedian(x) of every element. As in PyTorch, the gradient is shared
    evenly among the elements equal to the result (among the NaNs, if it is NaN), so it
    does not depend on how ties are broken."""

    @staticmethod
    def forward(ctx, x, ignore_nan):
        y = _lower_median(x.reshape(-1), ignore_nan)
        if ctx.needs_input_grad[0]:
            xp = get_array_module(x)
            hit = xp.isnan(x) if bool(xp.isnan(y)) else x == y
            ctx.save_for_backward(hit / hit.sum().astype(x.dtype))
        return y

    @staticmethod
    def backward(ctx, gy):
        (share,) = ctx.saved_tensors
        return gy * share


def _median(op, result, ignore_nan, input, dim, keepdim):
    check_tensor(input, op)
    _check_not_bool(input, op)
    if dim is None:
        if input.numel() == 0 and not input.is_floating_point():
            raise RuntimeError(
                f"{op}: the median of an empty {input.dtype.name} tensor is undefined (it would be "
                "NaN, which an integer cannot hold)"
            )
        return MedianAll.apply(input, ignore_nan)
    if isinstance(dim, (list, tuple)):
        raise TypeError(f"{op}: dim must be a single int, received {tuple(dim)}")
    d = _wrap_dim(dim, input.ndim, op)
    _check_reduced_dim(input, d, op)
    x = _as_1d(input)
    xp = get_array_module(x._data)
    nan = _isnan(x._data)
    order = _order(x._data, d, False)  # NaN last
    n = x.shape[d]
    if ignore_nan:  # the lower median of the numbers; of all-NaN slices, the first NaN
        count = n - nan.sum(axis=d, keepdims=True)
        idx = xp.take_along_axis(order, xp.maximum((count - 1) // 2, 0), axis=d)
    else:  # the lower median; of slices that hold a NaN, the first NaN
        idx = order[_slice(d, slice((n - 1) // 2, (n - 1) // 2 + 1))]
        idx = xp.where(nan.any(axis=d, keepdims=True), nan.argmax(axis=d, keepdims=True), idx)
    values, indices = _pick(x, d, idx), _const(idx.astype("int64", copy=False))
    return result(
        _squeeze(values, d, keepdim, input.ndim), _squeeze(indices, d, keepdim, input.ndim)
    )


@tensor_method
def median(input, dim=None, keepdim: bool = False):
    """The lower median (the smaller of the two middle values for an even count): of every
    element (``dim=None``, a 0-d tensor; NaN if there is a NaN, or no element), or along
    ``dim`` as a ``(values, indices)`` named tuple (a slice that holds a NaN gives its first
    NaN). Differentiable: ``median(x)`` shares the gradient among the elements equal to
    the median, ``median(x, dim)`` sends it to the index it returns.

    Example::

        ember.tensor([4., 1., 3., 2.]).median()   # tensor(2.)
    """
    return _median("median", MedianResult, False, input, dim, keepdim)


@tensor_method
def nanmedian(input, dim=None, keepdim: bool = False):
    """``median`` ignoring NaNs: the lower median of the numbers (NaN where there are none).

    Example::

        ember.tensor([4., float("nan"), 1., 3.]).nanmedian()   # tensor(3.)
    """
    return _median("nanmedian", NanmedianResult, True, input, dim, keepdim)


# ---------------------------------------------------------------- unique, unique_consecutive
def _rows(x, d):
    """Array ``x`` with dim ``d`` moved first and the rest flattened: one row per slice."""
    xp = get_array_module(x)
    moved = xp.moveaxis(x, d, 0)
    return moved, moved.reshape(moved.shape[0], math.prod(moved.shape[1:]))


def _groups(rows, order, xp):
    """Given rows (2-d) and the order to visit them in: where each new run of equal rows
    starts (NaN equals nothing, so each NaN is its own run), and the run of each row."""
    s = rows[order]
    new = xp.ones(len(order), bool)
    if len(order) > 1:
        new[1:] = (s[1:] != s[:-1]).any(axis=1)
    run = xp.cumsum(new) - 1
    inverse = xp.empty(len(order), "int64")
    inverse[order] = run
    starts = xp.flatnonzero(new)
    counts = xp.diff(xp.append(starts, len(order))).astype("int64", copy=False)
    return starts, inverse, counts


def _unique(op, input, sort_rows, return_inverse, return_counts, dim):
    check_tensor(input, op)
    x = input._data
    xp = get_array_module(x)
    if dim is None:
        rows = x.reshape(-1, 1)
        order = xp.argsort(rows[:, 0], kind="stable") if sort_rows else xp.arange(len(rows))
        starts, inverse, counts = _groups(rows, order, xp)
        values = rows[order][starts, 0]
        inverse = inverse.reshape(x.shape)
    else:
        if input.ndim == 0:
            raise EmberIndexError(
                f"{op}: dim must be None for a 0-d tensor (it has no dimensions), received "
                f"dim={dim!r}"
            )
        d = _wrap_dim(dim, input.ndim, op)
        moved, rows = _rows(x, d)
        if rows.shape[0] and not rows.shape[1]:
            raise RuntimeError(
                f"{op}: cannot compare the slices along dim {d} of a tensor of shape "
                f"{tuple(input.shape)}: another dim has size 0"
            )
        if sort_rows and len(rows):  # lexicographic: the first column is the primary key
            order = xp.lexsort(rows.T[::-1]) if rows.shape[1] else xp.arange(len(rows))
        else:
            order = xp.arange(len(rows))
        starts, inverse, counts = _groups(rows, order, xp)
        values = xp.moveaxis(moved[order][starts], 0, d)
    out = (_const(xp.ascontiguousarray(values)),)
    if return_inverse:
        out += (_const(inverse),)
    if return_counts:
        out += (_const(counts),)
    return out[0] if len(out) == 1 else out


@tensor_method
def unique(input, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim=None):  # fmt: skip
    """The distinct elements of ``input`` (flattened), or with ``dim`` its distinct slices
    along ``dim``, in ascending (lexicographic) order, also when ``sorted=False``. With
    ``return_inverse``, also where each element (slice) went (``values[inverse]`` is the
    input); with ``return_counts``, how often each occurs. Each NaN is distinct. Not
    differentiable.

    Example::

        ember.tensor([3, 1, 3]).unique(return_counts=True)   # (tensor([1, 3]), tensor([1, 2]))
    """
    return _unique("unique", input, True, return_inverse, return_counts, dim)


@tensor_method
def unique_consecutive(input, return_inverse: bool = False, return_counts: bool = False,
                       dim=None):  # fmt: skip
    """``unique`` of each run of equal consecutive elements (slices along ``dim``): keeps
    the first of each run, in order.

    Example::

        ember.tensor([1, 1, 2, 1]).unique_consecutive()   # tensor([1, 2, 1])
    """
    return _unique("unique_consecutive", input, False, return_inverse, return_counts, dim)


# ---------------------------------------------------------------- nonzero, argwhere, count
@tensor_method
def nonzero(input, *, as_tuple: bool = False):
    """The indices of the nonzero elements (NaN is nonzero), in row-major order: an int64
    tensor of shape (count, ndim), or with ``as_tuple`` one 1-d tensor per dim (a 0-d input
    counts as 1-d there).

    Example::

        ember.tensor([[0, 1], [2, 0]]).nonzero()   # tensor([[0, 1], [1, 0]])
    """
    check_tensor(input, "nonzero")
    x = input._data
    xp = get_array_module(x)
    where = xp.nonzero(x.reshape(1) if x.ndim == 0 else x)
    where = tuple(w.astype("int64", copy=False) for w in where)
    if as_tuple:
        return tuple(_const(w) for w in where)
    if x.ndim == 0:
        return _const(xp.zeros((len(where[0]), 0), "int64"))
    return _const(xp.stack(where, axis=1))


@tensor_method
def argwhere(input) -> Tensor:
    """The indices of the nonzero elements, shape (count, ndim): ``nonzero(input)``."""
    check_tensor(input, "argwhere")
    return nonzero(input)


@tensor_method
def count_nonzero(input, dim=None) -> Tensor:
    """The number of nonzero elements over ``dim`` (an int, a tuple, or None for all), int64.

    Example::

        ember.tensor([[0, 1], [2, 3]]).count_nonzero(dim=1)   # tensor([1, 2])
    """
    check_tensor(input, "count_nonzero")
    x = input._data
    xp = get_array_module(x)
    if isinstance(dim, (list, tuple)) and len(dim) == 0:
        dim = None
    dims = _wrap_dims(dim, input.ndim, "count_nonzero")
    y = xp.asarray((x != 0).sum(axis=dims if input.ndim else None)).astype("int64", copy=False)
    return _const(y)


# ---------------------------------------------------------------- searchsorted, bucketize
def _side(right: bool, side, op: str) -> str:
    if side is None:
        return "right" if right else "left"
    if side not in ("left", "right"):
        raise RuntimeError(f"{op}: side must be 'left' or 'right', received {side!r}")
    if right and side == "left":
        raise RuntimeError(
            f"{op}: side and right contradict each other: received side='left' and right=True"
        )
    return side


def searchsorted(sorted_sequence, input, *, out_int32: bool = False, right: bool = False,
                 side=None, sorter=None) -> Tensor:  # fmt: skip
    """Where each value of ``input`` would go in ``sorted_sequence`` (sorted along its last
    dim) to keep it sorted: the first such place (``side='left'``), or the last
    (``side='right'`` or ``right=True``). A 1-d sequence serves every value; otherwise its
    leading dims match ``input``'s and each row serves its own. ``input`` may be a number.
    ``sorter`` (int64, the sequence's shape) sorts an unsorted sequence. int64 indices
    (int32 with ``out_int32``). NaN is not supported (PyTorch and NumPy disagree on it).

    Example::

        ember.searchsorted(ember.tensor([1., 2., 3.]), ember.tensor([2., 5.]))   # [1, 3]
    """
    check_tensor(sorted_sequence, "searchsorted", "sorted_sequence")
    how = _side(right, side, "searchsorted")
    seq = sorted_sequence._data
    xp = get_array_module(seq)
    scalar = not isinstance(input, Tensor)
    if scalar:
        if isinstance(input, bool) or not isinstance(input, numbers.Number):
            raise TypeError(
                f"searchsorted: expected input to be a Tensor or a number, received "
                f"{type(input).__name__}"
            )
        values = xp.asarray(input)
    else:
        values = input._data
    if seq.ndim == 0:
        raise RuntimeError(
            "searchsorted: expected sorted_sequence with at least one dimension, received a "
            "0-d tensor"
        )
    if seq.ndim > 1 and (scalar or seq.shape[:-1] != values.shape[:-1]):
        got = "a number" if scalar else f"input of shape {tuple(values.shape)}"
        raise RuntimeError(
            f"searchsorted: sorted_sequence must be 1-d or share all but its last dim with "
            f"input: received sorted_sequence of shape {tuple(seq.shape)} and {got}"
        )
    if sorter is not None:
        if not isinstance(sorter, Tensor) or sorter.dtype is not dtypes.int64:
            raise TypeError(
                f"searchsorted: expected sorter to be an int64 Tensor, received "
                f"{getattr(sorter, 'dtype', type(sorter).__name__)}"
            )
        if tuple(sorter.shape) != tuple(seq.shape):
            raise RuntimeError(
                f"searchsorted: sorter must have the shape of sorted_sequence "
                f"{tuple(seq.shape)}, received {tuple(sorter.shape)}"
            )
        s = sorter._data
        if s.size and (int(s.min()) < 0 or int(s.max()) >= seq.shape[-1]):
            raise RuntimeError(
                f"searchsorted: sorter indices must be in [0, {seq.shape[-1] - 1}], received "
                f"values in [{int(s.min())}, {int(s.max())}]"
            )
        seq = xp.take_along_axis(seq, s, axis=-1)
    if seq.ndim == 1:
        out = xp.searchsorted(seq, values, side=how)
    else:
        m = math.prod(seq.shape[:-1])
        rows, vals = seq.reshape(m, seq.shape[-1]), values.reshape(m, values.shape[-1])
        out = xp.empty(vals.shape, "int64")
        for r in range(len(rows)):
            out[r] = xp.searchsorted(rows[r], vals[r], side=how)
        out = out.reshape(values.shape)
    return _const(xp.asarray(out).astype("int32" if out_int32 else "int64", copy=False))


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each value of ``input`` (a Tensor or a number) among the 1-d sorted
    ``boundaries``: i with ``boundaries[i-1] < x <= boundaries[i]`` (``right=True``:
    ``boundaries[i-1] <= x < boundaries[i]``). int64 (int32 with ``out_int32``).

    Example::

        ember.bucketize(ember.tensor([1., 2.5]), ember.tensor([1., 2., 3.]))   # [0, 2]
    """
    check_tensor(boundaries, "bucketize", "boundaries")
    if boundaries.ndim != 1:
        raise RuntimeError(
            f"bucketize: expected 1-d boundaries, received shape {tuple(boundaries.shape)}"
        )
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


# ---------------------------------------------------------------- cumprod
class Cumprod(Function):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        if x.ndim == 0:
            y = x.copy()
        else:
            y = get_array_module(x).cumprod(_wide(x), axis=dim).astype(x.dtype, copy=False)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, y = ctx.saved_tensors
        return gy if x.ndim == 0 else _cumprod_grad(gy, x, y, ctx.dim)


def _cumprod_grad(gy: Tensor, x: Tensor, y: Tensor, dim: int) -> Tensor:
    """gx_i = sum_{k >= i} gy_k * prod_{j <= k, j != i} x_j, exact where x has zeros.

    Without zeros it is reverse_cumsum(gy * y) / x. With them, per slice, z its first zero:
    for i < z the terms with k < z are that formula, and every term with k >= z holds the
    factor x_z (or, for i = z, nothing in its place). So with x' = x with x_z made 1, the
    terms with k >= z are (1 if i == z else x_z) times the same gradient at x' (one zero
    fewer, a recursion). x_z is 0, which zeroes all of them but i = z's; in the graph of a
    higher derivative they are kept, as the product of x_z and the rest.
    """
    xd = x._data
    xp = get_array_module(xd)
    zero = xd == 0
    if not bool(zero.any()):
        return ReverseCumsum.apply(gy * y, dim) / x
    dt = xd.dtype
    seen = xp.cumsum(zero, axis=dim)
    before = seen == 0  # before the first zero of its slice
    first = zero & (seen == 1)  # the first zero
    lo = ReverseCumsum.apply(gy * _const(before.astype(dt)) * y, dim)
    lo = lo / (x * _const(before.astype(dt)) + _const((~before).astype(dt)))
    x1 = x * _const((~first).astype(dt)) + _const(first.astype(dt))  # 1 there, not x_z + 1
    y1 = Cumprod.apply(x1, dim)
    g_hi = gy * _const((~before).astype(dt))
    if is_grad_enabled():  # building the graph of a higher derivative: keep every term
        c = (x * _const(first.astype(dt))).sum(dim=dim, keepdim=True)  # x_z, as a function
        scale = _const(first.astype(dt)) + _const((~first).astype(dt)) * c
        return lo + scale * _cumprod_grad(g_hi, x1, y1, dim)
    return lo + _const(first.astype(dt)) * ReverseCumsum.apply(g_hi * y1, dim)


@tensor_method
def cumprod(input, dim: int, *, dtype=None) -> Tensor:
    """Running product along ``dim``; integers and bools multiply to int64 unless ``dtype``
    says otherwise (``dtype`` casts the input first). The gradient is exact also where the
    input has zeros, to any order.

    Example::

        ember.tensor([1., 2., 3.]).cumprod(dim=0)   # tensor([1., 2., 6.])
    """
    check_tensor(input, "cumprod")
    if isinstance(dim, (list, tuple)):
        raise TypeError(f"cumprod: dim must be a single int, received {tuple(dim)}")
    d = _wrap_dim(dim, input.ndim, "cumprod")
    return Cumprod.apply(running_input(input, dtype), d)


# ---------------------------------------------------------------- cummax, cummin
def _cumextreme(op, largest, result, input, dim):
    check_tensor(input, op)
    if isinstance(dim, (list, tuple)):
        raise TypeError(f"{op}: dim must be a single int, received {tuple(dim)}")
    d = _wrap_dim(dim, input.ndim, op)
    x = _as_1d(input)
    a = x._data
    xp = get_array_module(a)
    ufunc = xp.maximum if largest else xp.minimum  # both carry a NaN on
    running = ufunc.accumulate(a, axis=d)
    # The index of the latest element equal to the running extreme (ties go to the later
    # one, as in PyTorch); once it is NaN, of the latest NaN.
    hit = (a == running) | _isnan(a)
    n = a.shape[d]
    pos = xp.arange(n).reshape((n,) + (1,) * (a.ndim - d - 1))
    idx = xp.where(hit, pos, 0)
    idx = xp.maximum.accumulate(idx, axis=d)
    values, indices = _pick(x, d, idx), _const(idx.astype("int64", copy=False))
    if input.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return result(values, indices)


@tensor_method
def cummax(input, dim: int):
    """Running maximum along ``dim`` and where it was found, as a ``(values, indices)`` named
    tuple (ties: the latest index; NaN carries on). Differentiable in ``values``.

    Example::

        ember.tensor([1., 3., 2., 3.]).cummax(0)   # values [1., 3., 3., 3.], indices [0, 1, 1, 3]
    """
    return _cumextreme("cummax", True, CummaxResult, input, dim)


@tensor_method
def cummin(input, dim: int):
    """Running minimum along ``dim`` and where it was found; see ``cummax``."""
    return _cumextreme("cummin", False, CumminResult, input, dim)


# ---------------------------------------------------------------- diff
@tensor_method
def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference along ``dim``: ``out[i] = x[i + 1] - x[i]``, applied
    ``n`` times, after joining ``prepend`` and ``append`` (tensors of the input's shape but
    along ``dim``) to the ends. Bools give ``x[i + 1] != x[i]``. Differentiable.

    Example::

        ember.tensor([1., 4., 9.]).diff()   # tensor([3., 5.])
    """
    check_tensor(input, "diff")
    if input.ndim == 0:
        raise RuntimeError("diff: expected a tensor with at least one dimension, received a 0-d")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"diff: n must be an int, received {n!r}")
    if n < 0:
        raise RuntimeError(f"diff: order n must be non-negative, received n={n}")
    d = _wrap_dim(dim, input.ndim, "diff")
    parts = []
    for name, t in (("prepend", prepend), ("input", input), ("append", append)):
        if t is None:
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"diff: expected {name} to be a Tensor, received {type(t).__name__}")
        if t.ndim != input.ndim:
            raise RuntimeError(
                f"diff: expected {name} to have as many dims as input ({input.ndim}), received "
                f"shape {tuple(t.shape)}"
            )
        for k in range(input.ndim):
            if k != d and t.shape[k] != input.shape[k]:
                raise RuntimeError(
                    f"diff: expected {name} of input's shape {tuple(input.shape)} except along "
                    f"dim {d}, received shape {tuple(t.shape)}"
                )
        parts.append(t)
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(builtins.min(n, x.shape[d])):
        hi, lo = x[_slice(d, slice(1, None))], x[_slice(d, slice(None, -1))]
        x = hi != lo if x.dtype is dtypes.bool_ else hi - lo
    return x
